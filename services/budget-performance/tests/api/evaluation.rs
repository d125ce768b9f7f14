//! Self-evaluation scoring: the spec's §4.1 (西平县 2023 城乡低保资金 → 90.16 优) and its
//! boundaries.

use civic_proto::budget::v1::{self as pb, evaluation_service_client::EvaluationServiceClient};
use civic_runtime::{
    identity::Role,
    testing::{authed, token, violated_fields},
};
use tonic::Code;

use pb::{IndicatorDirection as D, IndicatorGroup as G, QualitativeBand as B};

/// A quantitative indicator: `[level2, name, unit]`, direction, `[target, actual, points]`.
fn quant(g: G, what: [&str; 3], d: D, figures: [&str; 3]) -> pb::SelfEvaluationIndicator {
    let [level2, name, unit] = what;
    let [target, actual, points] = figures;
    pb::SelfEvaluationIndicator {
        group: g as i32,
        level2: level2.into(),
        name: name.into(),
        unit: unit.into(),
        direction: d as i32,
        target: target.into(),
        actual: actual.into(),
        points: points.into(),
        ..Default::default()
    }
}

fn qual(g: G, name: &str, band: B, share: &str, points: &str) -> pb::SelfEvaluationIndicator {
    pb::SelfEvaluationIndicator {
        group: g as i32,
        level2: "社会效益指标".into(),
        name: name.into(),
        direction: D::Qualitative as i32,
        target: "达成".into(),
        band: band as i32,
        share_percent: share.into(),
        points: points.into(),
        ..Default::default()
    }
}

/// §4.1: six indicators and the execution rate.
pub(crate) fn xiping_dibao_2023() -> pb::ScoreSelfEvaluationRequest {
    pb::ScoreSelfEvaluationRequest {
        region_code: "411721".into(),
        on_date: "2024-03-31".into(),
        indicators: vec![
            quant(G::Output, ["数量指标", "保障人数", "人"], D::AtLeast, ["12000", "11400", "20"]),
            quant(G::Output, ["时效指标", "按月足额发放月数", "月"], D::AtLeast, ["12", "11", "15"]),
            quant(G::Output, ["成本指标", "人均年补助支出", "元"], D::AtMost, ["6900", "7245", "15"]),
            qual(G::Benefit, "困难群众基本生活得到保障", B::Partial, "70", "20"),
            quant(G::Benefit, ["可持续影响指标", "动态管理率", "%"], D::AtLeast, ["95", "97", "10"]),
            quant(G::Satisfaction, ["服务对象满意度指标", "受助对象满意度", "%"], D::AtLeast, ["90", "86", "10"]),
        ],
        budget_fen: 800_000_000,
        executed_fen: 765_000_000,
        weights: None,
        deviation_reason: String::new(),
    }
}

#[tokio::test]
async fn xiping_self_evaluation_scores_90_16_excellent_with_every_step_explained() {
    let (ch, running, tx) = super::start_sqlite().await;
    let mut c = EvaluationServiceClient::new(ch);
    let tok = token(Role::CivilAffairs, "411721");
    let r = c.score_self_evaluation(authed(&tok, xiping_dibao_2023())).await.unwrap().into_inner();
    let scores: Vec<&str> = r.indicators.iter().map(|i| i.score.as_str()).collect();
    assert_eq!(scores, ["19.00", "13.75", "14.29", "14.00", "10.00", "9.56"]);
    assert_eq!((r.output.as_str(), r.benefit.as_str(), r.satisfaction.as_str()), ("47.04", "24.00", "9.56"));
    assert_eq!((r.execution_rate_percent.as_str(), r.execution.as_str()), ("95.63", "9.56"));
    // Each indicator rounded, then summed (civic's pinned rule): 90.16, not the exact sum's 90.15.
    assert_eq!(r.total, "90.16");
    assert!(r.exact_total.starts_with("90.15376984"), "{}", r.exact_total);
    assert_eq!((r.grade.as_str(), r.grade_code.as_str()), ("优", "EXCELLENT"));
    let steps = r.explanation.unwrap().steps;
    let rule = |id: &str| steps.iter().find(|s| s.rule_id == id).unwrap_or_else(|| panic!("no step {id}"));
    assert_eq!(rule("civic.self_eval.le_mirror").result, "14.29");
    assert_eq!(rule("civic.self_eval.le_mirror").source.as_ref().unwrap().document, "civic");
    assert!(rule("civic.self_eval.le_mirror").formula.contains("15 × 6900 ÷ 7245"));
    assert_eq!(rule("budget.self_eval.qualitative").result, "14.00");
    assert_eq!(rule("budget.self_eval.quantitative").source.as_ref().unwrap().document, "财预〔2020〕10号");
    assert!(
        rule("budget.self_eval.execution_rate").formula.contains("95.625%"),
        "{}",
        rule("budget.self_eval.execution_rate").formula
    );
    assert!(rule("civic.score.rounding")
        .formula
        .starts_with("19.00 + 13.75 + 14.29 + 14.00 + 10.00 + 9.56 + 9.56 = 90.16"));
    assert_eq!(rule("budget.grade").result, "优");
    let weights = rule("budget.self_eval.weights");
    assert_eq!(weights.parameters.len(), 5);
    assert!(weights.parameters.iter().all(|p| p.source.as_ref().unwrap().document == "财预〔2020〕10号"));
    let _ = tx.send(());
    running.wait().await;
}

#[tokio::test]
async fn self_evaluation_boundaries_and_refusals() {
    let (ch, running, tx) = super::start_sqlite().await;
    let mut c = EvaluationServiceClient::new(ch);
    let tok = token(Role::CivilAffairs, "411721");
    let base = xiping_dibao_2023();
    let with = |edit: &dyn Fn(&mut pb::ScoreSelfEvaluationRequest)| {
        let mut r = base.clone();
        edit(&mut r);
        r
    };

    // Exactly 90.00 is 优; every point but the satisfaction indicator's is earned.
    let full = with(&|r| {
        r.indicators[0].actual = "12000".into();
        r.indicators[1].actual = "12".into();
        r.indicators[2].actual = "6900".into();
        r.indicators[3].band = B::Achieved as i32;
        r.indicators[3].share_percent = "100".into();
        r.indicators[5].actual = "0".into();
        r.executed_fen = r.budget_fen;
    });
    let r = c.score_self_evaluation(authed(&tok, full.clone())).await.unwrap().into_inner();
    assert_eq!((r.total.as_str(), r.grade.as_str()), ("90.00", "优"));
    // 0.0625 % less executed: 10 × 0.999375 = 9.99375 → 9.99, total 89.99, 良.
    let less = with(&|r| {
        *r = full.clone();
        r.executed_fen = r.budget_fen - 500_000;
    });
    let r = c.score_self_evaluation(authed(&tok, less)).await.unwrap().into_inner();
    assert_eq!((r.total.as_str(), r.grade.as_str()), ("89.99", "良"));

    // Exactly 80 % belongs to "achieved", not "partial".
    let at80 = |band: B| {
        with(&|r| {
            r.indicators[3].band = band as i32;
            r.indicators[3].share_percent = "80".into();
        })
    };
    let e = c.score_self_evaluation(authed(&tok, at80(B::Partial))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["indicators[3].share_percent"]);
    let r = c.score_self_evaluation(authed(&tok, at80(B::Achieved))).await.unwrap().into_inner();
    assert_eq!(r.indicators[3].score, "16.00");
    // 60 % is partial (included), 59.99 is not.
    let r = c
        .score_self_evaluation(authed(&tok, with(&|r| r.indicators[3].share_percent = "60".into())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.indicators[3].score, "12.00");
    let e = c
        .score_self_evaluation(authed(&tok, with(&|r| r.indicators[3].share_percent = "59.99".into())))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["indicators[3].share_percent"]);

    // A target of 0 for a ratio rule; executed above budget; negative actual.
    for (edit, field) in [
        (
            Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.indicators[2].target = "0".into())
                as Box<dyn Fn(&mut pb::ScoreSelfEvaluationRequest)>,
            "indicators[2].target",
        ),
        (Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.executed_fen = 800_000_001), "executed_fen"),
        (
            Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.indicators[0].actual = "-1".into()),
            "indicators[0].actual",
        ),
        (Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.indicators[0].unit = String::new()), "indicators[0].unit"),
        (Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.indicators[0].points = "21".into()), "indicators"),
        (
            Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.indicators[3].target = "80".into()),
            "indicators[3].target",
        ),
        (
            Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.indicators[4].deduction = "2".into()),
            "indicators[4].deduction_reason",
        ),
        (Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.budget_fen = 0), "budget_fen"),
        (Box::new(|r: &mut pb::ScoreSelfEvaluationRequest| r.on_date = "1999-12-31".into()), "on_date"),
    ] {
        let e = c.score_self_evaluation(authed(&tok, with(&*edit))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert_eq!(violated_fields(&e), vec![field]);
    }

    // A deduction on a met, too-low target, with its reason.
    let r = c
        .score_self_evaluation(authed(
            &tok,
            with(&|r| {
                r.indicators[4].deduction = "2".into();
                r.indicators[4].deduction_reason = "指标值低于上年实际 98%".into();
            }),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.indicators[4].score, "8.00");
    assert_eq!(r.total, "88.16");

    // 55/25/10/10 only with a reason.
    let shifted = |reason: &str| {
        let reason = reason.to_string();
        with(&move |r| {
            r.weights = Some(pb::SelfEvaluationWeights {
                output: "55".into(),
                benefit: "25".into(),
                satisfaction: "10".into(),
                execution: "10".into(),
            });
            r.indicators[0].points = "25".into();
            r.indicators[3].points = "15".into();
            r.deviation_reason = reason.clone();
        })
    };
    let e = c.score_self_evaluation(authed(&tok, shifted(""))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["deviation_reason"]);
    let r = c.score_self_evaluation(authed(&tok, shifted("项目以产出为主，经财政局同意"))).await.unwrap().into_inner();
    assert_eq!(r.weights.unwrap().output, "55");
    // 25 × 0.95 = 23.75; 15 × 0.7 = 10.50.
    assert_eq!(r.output, "51.79");
    assert_eq!(r.benefit, "20.50");

    // Another county's bureau may not.
    let e =
        c.score_self_evaluation(authed(&token(Role::CivilAffairs, "411722"), xiping_dibao_2023())).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let _ = tx.send(());
    running.wait().await;
}
