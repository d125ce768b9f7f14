//! Self-evaluation scoring: the spec's §4.1 (西平县 2023 城乡低保资金 → 90.16 优) and its
//! boundaries.
//!
//! (About 870 lines: one module of the api test binary per area; the stored evaluations' scenario
//! builds on its programmes, goals and evaluations step by step and reads in that order.)

use civic_proto::budget::v1::{self as pb, evaluation_service_client::EvaluationServiceClient};
use civic_runtime::identity::Role;
use civic_testing::{authed, token, violated_fields};
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
        ..Default::default()
    }
}

#[tokio::test]
async fn xiping_self_evaluation_scores_90_16_excellent_with_every_step_explained() {
    let (ch, server) = super::start_sqlite().await;
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
    server.stop().await;
}

/// The basic view: the same scores and grade, every rule with its formula and result, every
/// parameter with its value and citation (document, clause, dates in force), without the words;
/// a view the contract does not define is refused naming the field.
#[tokio::test]
async fn the_basic_view_keeps_every_rule_figure_and_citation_without_the_words() {
    use civic_proto::common::v1::ExplanationView;
    use prost::Message;
    let (ch, server) = super::start_sqlite().await;
    let mut c = EvaluationServiceClient::new(ch);
    let tok = token(Role::CivilAffairs, "411721");
    let full = c.score_self_evaluation(authed(&tok, xiping_dibao_2023())).await.unwrap().into_inner();
    let explicit =
        pb::ScoreSelfEvaluationRequest { explanation_view: ExplanationView::Full as i32, ..xiping_dibao_2023() };
    assert_eq!(c.score_self_evaluation(authed(&tok, explicit)).await.unwrap().into_inner(), full);
    let basic_request =
        pb::ScoreSelfEvaluationRequest { explanation_view: ExplanationView::Basic as i32, ..xiping_dibao_2023() };
    let basic = c.score_self_evaluation(authed(&tok, basic_request)).await.unwrap().into_inner();
    assert_eq!(
        pb::ScoreSelfEvaluationResponse { explanation: None, ..basic.clone() },
        pb::ScoreSelfEvaluationResponse { explanation: None, ..full.clone() }
    );
    let (f, b) = (full.explanation.as_ref().unwrap(), basic.explanation.as_ref().unwrap());
    assert_eq!(f.steps.len(), b.steps.len());
    for (f, b) in f.steps.iter().zip(&b.steps) {
        assert_eq!((&b.rule_id, &b.formula, &b.result), (&f.rule_id, &f.formula, &f.result));
        assert!(!f.description.is_empty() && b.description.is_empty(), "{}", f.rule_id);
        let cited = |s: &civic_proto::common::v1::Source| {
            (s.document.clone(), s.clause.clone(), s.effective_from.clone(), s.effective_to.clone())
        };
        assert_eq!(b.source.as_ref().map(cited), f.source.as_ref().map(cited));
        assert_eq!(b.parameters.len(), f.parameters.len());
        for (fp, bp) in f.parameters.iter().zip(&b.parameters) {
            assert_eq!((&bp.key, &bp.region_code, &bp.value), (&fp.key, &fp.region_code, &fp.value));
            assert_eq!(cited(bp.source.as_ref().unwrap()), cited(fp.source.as_ref().unwrap()));
            assert!(!bp.source.as_ref().unwrap().document.is_empty(), "{} is cited", bp.key);
            assert!(bp.name.is_empty() && bp.unit.is_empty() && bp.source.as_ref().unwrap().title.is_empty());
        }
    }
    assert!(
        basic.encoded_len() * 2 < full.encoded_len(),
        "basic {} bytes, full {}",
        basic.encoded_len(),
        full.encoded_len()
    );
    let unknown = pb::ScoreSelfEvaluationRequest { explanation_view: 7, ..xiping_dibao_2023() };
    let e = c.score_self_evaluation(authed(&tok, unknown)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&e), ["explanation_view"]);
    server.stop().await;
}

#[tokio::test]
async fn self_evaluation_boundaries_and_refusals() {
    let (ch, server) = super::start_sqlite().await;
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
    server.stop().await;
}

/// Stored evaluations on both backends: submission by the right hands, review, re-evaluation
/// superseding (the original kept), region scores with their precedence (§4.7) and what the
/// results mean for next year's budget.
mod stored {
    use civic_proto::budget::v1::{
        self as pb, evaluation_service_client::EvaluationServiceClient,
        indicator_library_service_client::IndicatorLibraryServiceClient,
        programme_service_client::ProgrammeServiceClient,
    };
    use civic_runtime::{identity::Role, storage::Backend};
    use civic_testing::both_backends;
    use civic_testing::{authed, error_reason, token, violated_fields};
    use tonic::{transport::Channel, Code};

    use super::{qual, quant, B, D, G};
    use crate::programmes::dibao;

    /// A self-evaluation of 50 + benefit share × 30 + satisfaction/100 × 10 + 10 points.
    fn self_eval(benefit_share: &str, satisfaction: &str) -> pb::ScoreSelfEvaluationRequest {
        pb::ScoreSelfEvaluationRequest {
            indicators: vec![
                quant(G::Output, ["数量指标", "保障人数", "人"], D::AtLeast, ["100", "100", "50"]),
                qual(
                    G::Benefit,
                    "困难群众基本生活得到保障",
                    if benefit_share == "100" { B::Achieved } else { B::Partial },
                    benefit_share,
                    "30",
                ),
                quant(G::Satisfaction, ["满意度指标", "受助对象满意度", "%"], D::AtLeast, ["100", satisfaction, "10"]),
            ],
            executed_fen: 100_000_000,
            ..Default::default()
        }
    }

    fn parts(scores: [&str; 4], weights: [&str; 4]) -> Vec<pb::FrameworkPart> {
        use pb::FrameworkDimension as F;
        [(F::Decision, "决策"), (F::Process, "过程"), (F::Output, "产出"), (F::Benefit, "效益")]
            .iter()
            .zip(scores.iter().zip(weights))
            .map(|((d, n), (s, w))| pb::FrameworkPart {
                dimension: *d as i32,
                name: (*n).into(),
                weight: w.into(),
                score: (*s).into(),
                ..Default::default()
            })
            .collect()
    }

    const WEIGHTS: [&str; 4] = ["15", "20", "35", "30"];

    struct Ctx {
        p: ProgrammeServiceClient<Channel>,
        e: EvaluationServiceClient<Channel>,
    }

    impl Ctx {
        async fn programme(&mut self, region: &str, year: i32) -> String {
            let mut prog = dibao(region, &format!("{region}-{year}-001"), 100_000_000);
            prog.budget_year = year;
            self.p
                .upsert_programme(authed(
                    &token(Role::Finance, region),
                    pb::UpsertProgrammeRequest { programme: Some(prog), expected_version: 0, reason: String::new() },
                ))
                .await
                .unwrap()
                .into_inner()
                .programme
                .unwrap()
                .id
        }

        async fn submit(&mut self, tok: &str, r: pb::SubmitEvaluationRequest) -> Result<pb::Evaluation, tonic::Status> {
            self.e.submit_evaluation(authed(tok, r)).await.map(|r| r.into_inner().evaluation.unwrap())
        }

        async fn review(
            &mut self,
            tok: &str,
            e: &pb::Evaluation,
            d: pb::ReviewDecision,
            notes: &str,
        ) -> Result<pb::Evaluation, tonic::Status> {
            self.e
                .review_evaluation(authed(
                    tok,
                    pb::ReviewEvaluationRequest {
                        evaluation_id: e.id.clone(),
                        expected_version: e.version,
                        decision: d as i32,
                        notes: notes.into(),
                    },
                ))
                .await
                .map(|r| r.into_inner().evaluation.unwrap())
        }
    }

    fn self_request(programme_id: &str, s: pb::ScoreSelfEvaluationRequest) -> pb::SubmitEvaluationRequest {
        pb::SubmitEvaluationRequest {
            programme_id: programme_id.into(),
            kind: pb::EvaluationKind::Self_ as i32,
            category: "assistance".into(),
            evaluator: "民政局".into(),
            self_evaluation: Some(s),
            evaluated_on: "2024-03-31".into(),
            ..Default::default()
        }
    }

    fn framework_request(
        programme_id: &str,
        kind: pb::EvaluationKind,
        scores: [&str; 4],
        supersedes: &str,
    ) -> pb::SubmitEvaluationRequest {
        pb::SubmitEvaluationRequest {
            programme_id: programme_id.into(),
            kind: kind as i32,
            category: "assistance".into(),
            evaluator: "本溪市财政局".into(),
            parts: parts(scores, WEIGHTS),
            evaluated_on: "2024-05-31".into(),
            supersedes: supersedes.into(),
            report_ref: "本财绩〔2024〕3号".into(),
            ..Default::default()
        }
    }

    async fn evaluations_scores_and_results(backend: Backend) {
        let (ch, server) = crate::start_on(backend).await;
        let mut c = Ctx { p: ProgrammeServiceClient::new(ch.clone()), e: EvaluationServiceClient::new(ch) };
        let fin = token(Role::Finance, "210500");
        let accept = pb::ReviewDecision::Accept;

        // 210502: a finance key evaluation 92.50, and a higher self-evaluation that it outranks.
        let p502 = c.programme("210502", 2023).await;
        let key = c
            .submit(&fin, framework_request(&p502, pb::EvaluationKind::FinanceKey, ["14", "18.5", "33", "27"], ""))
            .await
            .unwrap();
        assert_eq!(
            (key.total.as_str(), key.grade.as_str(), key.status),
            ("92.50", "优", pb::EvaluationStatus::Submitted as i32)
        );
        c.review(&fin, &key, accept, "").await.unwrap();
        let mz502 = token(Role::CivilAffairs, "210502");
        let s502 = c.submit(&mz502, self_request(&p502, self_eval("100", "100"))).await.unwrap();
        assert_eq!(s502.total, "100.00");
        c.review(&fin, &s502, accept, "").await.unwrap();

        // 210503: a self-evaluation 85.00, reviewed.
        let p503 = c.programme("210503", 2023).await;
        let mz503 = token(Role::CivilAffairs, "210503");
        let s503 = c.submit(&mz503, self_request(&p503, self_eval("70", "40"))).await.unwrap();
        assert_eq!((s503.total.as_str(), s503.grade.as_str()), ("85.00", "良"));
        let e = c.review(&mz503, &s503, accept, "").await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        let e = c.review(&fin, &s503, pb::ReviewDecision::Publish, "").await.unwrap_err();
        assert_eq!(error_reason(&e), "STEP_OUT_OF_ORDER");
        let e = c.review(&fin, &s503, pb::ReviewDecision::Return, "").await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["notes"]);
        let s503 = c.review(&fin, &s503, accept, "").await.unwrap();
        let mut stale = s503.clone();
        stale.version = 1;
        assert_eq!(c.review(&fin, &stale, pb::ReviewDecision::Publish, "").await.unwrap_err().code(), Code::Aborted);
        let published = c.review(&fin, &s503, pb::ReviewDecision::Publish, "").await.unwrap();
        assert_eq!(published.status, pb::EvaluationStatus::Published as i32);

        // 210504: a self-evaluation 83.00, re-evaluated by finance at 78.25.
        let p504 = c.programme("210504", 2023).await;
        let mz504 = token(Role::CivilAffairs, "210504");
        let s504 = c.submit(&mz504, self_request(&p504, self_eval("60", "50"))).await.unwrap();
        assert_eq!(s504.total, "83.00");
        let s504 = c.review(&fin, &s504, accept, "").await.unwrap();

        // Who may submit what.
        assert_eq!(
            c.submit(&fin, self_request(&p504, self_eval("60", "50"))).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        let by_bureau = framework_request(&p504, pb::EvaluationKind::FinanceKey, ["12", "15.25", "28", "23"], "");
        assert_eq!(c.submit(&mz504, by_bureau).await.unwrap_err().code(), Code::PermissionDenied);
        let e = c
            .submit(&fin, framework_request(&p504, pb::EvaluationKind::ReEvaluation, ["12", "15.25", "28", "23"], ""))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec!["supersedes"]);
        // 产出 + 效益 below 60 % of the weight, "原则上": only with a reason.
        let mut light = framework_request(&p504, pb::EvaluationKind::FinanceKey, ["20", "25", "20", "20"], "");
        light.parts = parts(["20", "25", "20", "20"], ["20", "25", "25", "30"]);
        assert_eq!(violated_fields(&c.submit(&fin, light.clone()).await.unwrap_err()), vec!["deviation_reason"]);
        // Exactly 60 % passes ("不低于").
        light.parts = parts(["15", "25", "20", "20"], ["15", "25", "30", "30"]);
        assert!(c.submit(&fin, light.clone()).await.is_ok());
        let mut over = framework_request(&p504, pb::EvaluationKind::FinanceKey, ["16", "18", "33", "27"], "");
        over.parts[0].score = "16".into();
        assert_eq!(violated_fields(&c.submit(&fin, over).await.unwrap_err()), vec!["parts[0].score"]);

        let re = c
            .submit(
                &fin,
                framework_request(&p504, pb::EvaluationKind::ReEvaluation, ["12", "15.25", "28", "23"], &s504.id),
            )
            .await
            .unwrap();
        assert_eq!((re.total.as_str(), re.gap.as_str()), ("78.25", "-4.75"));
        // A second re-evaluation of the same evaluation while one is under way.
        let twice = c
            .submit(
                &fin,
                framework_request(&p504, pb::EvaluationKind::ReEvaluation, ["12", "15", "28", "23"], &s504.id),
            )
            .await
            .unwrap_err();
        assert_eq!(twice.code(), Code::AlreadyExists);

        let (ec, finc) = (c.e.clone(), fin.clone());
        let scores = move |allow: bool| {
            let mut e = ec.clone();
            let fin = finc.clone();
            async move {
                e.list_region_scores(authed(
                    &fin,
                    pb::ListRegionScoresRequest {
                        city_code: "210500".into(),
                        category: "assistance".into(),
                        year: 2023,
                        allow_missing: allow,
                    },
                ))
                .await
            }
        };
        // Until finance accepts the re-evaluation, 210504's self-evaluation counts.
        let r = scores(true).await.unwrap().into_inner();
        let got: Vec<(&str, &str)> = r.scores.iter().map(|s| (s.region_code.as_str(), s.score.as_str())).collect();
        assert_eq!(got, [("210502", "92.50"), ("210503", "85.00"), ("210504", "83.00")]);
        c.review(&fin, &re, accept, "复核确认").await.unwrap();
        let r = scores(true).await.unwrap().into_inner();
        let got: Vec<(&str, &str, i32)> =
            r.scores.iter().map(|s| (s.region_code.as_str(), s.score.as_str(), s.kind)).collect();
        assert_eq!(
            got,
            [
                ("210502", "92.50", pb::EvaluationKind::FinanceKey as i32),
                ("210503", "85.00", pb::EvaluationKind::Self_ as i32),
                ("210504", "78.25", pb::EvaluationKind::ReEvaluation as i32),
            ]
        );
        assert_eq!(r.missing, ["210505", "210521", "210522"]);
        // A county without a FINAL evaluation is an error naming it, never a 0.
        let e = scores(false).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "MISSING_SCORES"));
        assert!(e.message().contains("210521 本溪满族自治县"), "{}", e.message());
        // The original is kept, marked superseded, and can no longer be re-evaluated or applied.
        let original =
            c.e.get_evaluation(authed(&fin, pb::GetEvaluationRequest { evaluation_id: s504.id.clone() }))
                .await
                .unwrap()
                .into_inner()
                .evaluation
                .unwrap();
        assert_eq!((original.total.as_str(), original.superseded_by.as_str()), ("83.00", re.id.as_str()));
        let again = c
            .submit(
                &fin,
                framework_request(&p504, pb::EvaluationKind::ReEvaluation, ["12", "15", "28", "23"], &s504.id),
            )
            .await
            .unwrap_err();
        assert_eq!(error_reason(&again), "NOT_FINAL");

        // Results: 优 in 本溪 follows the national rule and has no rate; superseded or unfinished
        // evaluations are not applied.
        let ec = c.e.clone();
        let propose = move |ids: Vec<String>, tok: String| {
            let mut e = ec.clone();
            async move {
                e.propose_budget_adjustment(authed(
                    &tok,
                    pb::ProposeBudgetAdjustmentRequest { evaluation_ids: ids, base_fen: 100_000_000 },
                ))
                .await
            }
        };
        let r = propose(vec![key.id.clone()], fin.clone()).await.unwrap().into_inner();
        assert_eq!((r.proposals[0].has_rate, r.proposals[0].amount_fen), (false, 0));
        assert_eq!(r.explanation.unwrap().steps[0].source.as_ref().unwrap().document, "财预〔2020〕10号");
        assert_eq!(error_reason(&propose(vec![s504.id.clone()], fin.clone()).await.unwrap_err()), "SUPERSEDED");
        let list = |page_size: i32, page_token: String| {
            let mut e = c.e.clone();
            let fin = fin.clone();
            let programme_id = p504.clone();
            async move {
                e.list_evaluations(authed(&fin, pb::ListEvaluationsRequest { programme_id, page_size, page_token }))
                    .await
            }
        };
        let light = list(0, String::new()).await.unwrap().into_inner();
        assert!(light.evaluations.len() >= 3 && light.next_page_token.is_empty());
        // One at a time, the latest submitted first: the same evaluations in the same order.
        let (mut paged, mut next) = (Vec::new(), String::new());
        loop {
            let page = list(1, next).await.unwrap().into_inner();
            assert!(page.evaluations.len() <= 1);
            paged.extend(page.evaluations.into_iter().map(|e| e.id));
            next = page.next_page_token;
            if next.is_empty() {
                break;
            }
        }
        assert_eq!(paged, light.evaluations.iter().map(|e| e.id.clone()).collect::<Vec<_>>());
        assert_eq!(violated_fields(&list(1, "nonsense token".into()).await.unwrap_err()), vec!["page_token"]);
        let submitted = light.evaluations.iter().find(|e| e.status == pb::EvaluationStatus::Submitted as i32).unwrap();
        assert_eq!(error_reason(&propose(vec![submitted.id.clone()], fin.clone()).await.unwrap_err()), "NOT_FINAL");

        // 驻马店: 西平县's §4.1 self-evaluation stored as scored (90.16 → 优): 通报表扬, 优先安排预算;
        // a finance key evaluation of 55.00 → 差: 扣减下年度预算, 公开曝光, 约谈 (三(十)).
        let p721 = c.programme("411721", 2023).await;
        let mut xp = super::xiping_dibao_2023();
        xp.budget_fen = 0;
        xp.region_code = String::new();
        xp.on_date = String::new();
        let mut p =
            c.p.get_programme(authed(&token(Role::Finance, "411721"), pb::GetProgrammeRequest { id: p721.clone() }))
                .await
                .unwrap()
                .into_inner()
                .programme
                .unwrap();
        p.adjusted_budget_fen = 800_000_000;
        c.p.upsert_programme(authed(
            &token(Role::Finance, "411721"),
            pb::UpsertProgrammeRequest { programme: Some(p), expected_version: 1, reason: "调整".into() },
        ))
        .await
        .unwrap();
        let mz721 = token(Role::CivilAffairs, "411721");
        let fin721 = token(Role::Finance, "411721");
        let s721 = c.submit(&mz721, self_request(&p721, xp)).await.unwrap();
        assert_eq!((s721.total.as_str(), s721.grade.as_str()), ("90.16", "优"));
        assert_eq!(s721.self_evaluation.as_ref().unwrap().indicators[2].score, "14.29");
        let s721 = c.review(&fin721, &s721, accept, "").await.unwrap();
        let r = propose(vec![s721.id.clone()], fin721.clone()).await.unwrap().into_inner();
        assert_eq!(r.proposals[0].measures, ["通报表扬", "优先安排预算"]);
        assert_eq!(r.explanation.unwrap().steps[0].source.as_ref().unwrap().clause, "附件2 三(十)");
        let poor = c
            .submit(&fin721, framework_request(&p721, pb::EvaluationKind::FinanceKey, ["5", "10", "20", "20"], ""))
            .await
            .unwrap();
        assert_eq!((poor.total.as_str(), poor.grade.as_str()), ("55.00", "差"));
        let poor = c.review(&fin721, &poor, accept, "").await.unwrap();
        let r = propose(vec![poor.id.clone()], fin721.clone()).await.unwrap().into_inner();
        assert_eq!(r.proposals[0].measures, ["扣减下年度预算", "公开曝光", "约谈"]);
        assert!(!r.proposals[0].has_rate);
        // A third-party evaluator reaches only what finance assigned to it.
        let evaluator = |subject: &str| {
            civic_runtime::identity::TokenKey::new(civic_testing::TEST_SIGNING_KEY).mint(
                subject,
                Role::Evaluator,
                civic_domain::RegionCode::parse("411700").unwrap(),
                chrono::Duration::hours(1),
            )
        };
        let assign = pb::AssignEvaluatorRequest {
            programme_id: p721.clone(),
            kind: pb::EvaluationKind::FinanceKey as i32,
            evaluator_subject: "pingjia".into(),
            evaluator_name: "河南某绩效评价有限公司".into(),
            evaluator_credit_code: "91410100MA44XXXX0X".into(),
        };
        assert_eq!(
            c.e.assign_evaluator(authed(&mz721, assign.clone())).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        c.e.assign_evaluator(authed(&fin721, assign.clone())).await.unwrap();
        assert_eq!(c.e.assign_evaluator(authed(&fin721, assign)).await.unwrap_err().code(), Code::AlreadyExists);
        let third = c
            .submit(
                &evaluator("pingjia"),
                framework_request(&p721, pb::EvaluationKind::FinanceKey, ["14", "18.5", "33", "27"], ""),
            )
            .await
            .unwrap();
        assert_eq!((third.total.as_str(), third.evaluator.as_str()), ("92.50", "河南某绩效评价有限公司"));
        for (who, kind) in [("pingjia", pb::EvaluationKind::Department), ("other-firm", pb::EvaluationKind::FinanceKey)]
        {
            let e = c
                .submit(&evaluator(who), framework_request(&p721, kind, ["14", "18.5", "33", "27"], ""))
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{who}");
        }
        let mine =
            c.e.list_evaluations(authed(
                &evaluator("pingjia"),
                pb::ListEvaluationsRequest { programme_id: p721.clone(), ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            mine.evaluations.iter().all(|e| e.kind == pb::EvaluationKind::FinanceKey as i32)
                && mine.evaluations.len() == 2
        );
        let e = c
            .e
            .get_evaluation(authed(&evaluator("pingjia"), pb::GetEvaluationRequest { evaluation_id: s721.id.clone() }))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);
        // The decision is finance's and is recorded apart from the proposal, once per year.
        let decide = |tok: String, evaluation: String, year: i32| {
            let mut e = c.e.clone();
            async move {
                e.record_budget_decision(authed(
                    &tok,
                    pb::RecordBudgetDecisionRequest {
                        evaluation_id: evaluation,
                        next_year: year,
                        measures: vec!["通报表扬".into(), "优先安排预算".into()],
                        amount_fen: 0,
                        document: "西财预〔2024〕1号".into(),
                        reason: "2023年度评价为优".into(),
                        decided_on: "2024-01-20".into(),
                    },
                ))
                .await
            }
        };
        assert_eq!(decide(mz721.clone(), s721.id.clone(), 2024).await.unwrap_err().code(), Code::PermissionDenied);
        assert_eq!(
            violated_fields(&decide(fin721.clone(), s721.id.clone(), 2023).await.unwrap_err()),
            vec!["next_year"]
        );
        let d = decide(fin721.clone(), s721.id.clone(), 2024).await.unwrap().into_inner().decision.unwrap();
        assert_eq!((d.grade.as_str(), d.proposed_measures.len(), d.has_proposed_amount), ("优", 2, false));
        assert_eq!(decide(fin721.clone(), s721.id.clone(), 2024).await.unwrap_err().code(), Code::AlreadyExists);
        assert_eq!(error_reason(&decide(fin.clone(), s504.id.clone(), 2024).await.unwrap_err()), "SUPERSEDED");
        decide(fin721.clone(), s721.id.clone(), 2025).await.unwrap();
        let decisions = |page_size: i32, page_token: String| {
            let mut e = c.e.clone();
            let mz721 = mz721.clone();
            let programme_id = p721.clone();
            async move {
                e.list_budget_decisions(authed(
                    &mz721,
                    pb::ListBudgetDecisionsRequest { programme_id, page_size, page_token },
                ))
                .await
                .map(|r| r.into_inner())
            }
        };
        let listed = decisions(0, String::new()).await.unwrap();
        let years = |d: &[pb::BudgetDecision]| d.iter().map(|d| d.next_year).collect::<Vec<_>>();
        assert_eq!((years(&listed.decisions), listed.next_page_token.as_str()), (vec![2024, 2025], ""));
        // A page at a time, by the year they are for.
        let first = decisions(1, String::new()).await.unwrap();
        assert_eq!(years(&first.decisions), vec![2024]);
        let second = decisions(1, first.next_page_token).await.unwrap();
        assert_eq!((years(&second.decisions), second.next_page_token.as_str()), (vec![2025], ""));
        assert_eq!(violated_fields(&decisions(1, "x/y".into()).await.unwrap_err()), vec!["page_token"]);
        // Another county's finance does not reach them.
        assert_eq!(
            propose(vec![poor.id], token(Role::Finance, "411722")).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        server.stop().await;
    }
    both_backends!(evaluations_scores_and_results_on, super::evaluations_scores_and_results);

    /// A deduction-type template of the city's library (扣分型: full while kept, `step` off per
    /// unit beyond, never below `floor`).
    fn deduction_template(code: &str, name: &str, direction: D, step: &str, floor: &str) -> pb::IndicatorTemplate {
        pb::IndicatorTemplate {
            code: code.into(),
            region_code: "210500".into(),
            level1: "运行成本".into(),
            level2: "经济成本指标".into(),
            level3: name.into(),
            unit: "%".into(),
            direction: direction as i32,
            deduction: true,
            deduction_step: step.into(),
            deduction_floor: floor.into(),
            source: "本溪市部门整体绩效评价共性指标".into(),
            effective_from: "2023-01-01".into(),
            ..Default::default()
        }
    }

    fn measured(name: &str, weight: &str, code: &str, target: &str, actual: &str) -> pb::FrameworkPart {
        pb::FrameworkPart {
            dimension: pb::FrameworkDimension::Other as i32,
            name: name.into(),
            weight: weight.into(),
            template_code: code.into(),
            target: target.into(),
            actual: actual.into(),
            ..Default::default()
        }
    }

    /// A department-whole evaluation with deduction-type indicators: the score of each is
    /// computed from its template and explained; bad parts are refused naming the field.
    async fn department_whole_deductions(backend: Backend) {
        let (ch, server) = crate::start_on(backend).await;
        let mut c = Ctx { p: ProgrammeServiceClient::new(ch.clone()), e: EvaluationServiceClient::new(ch.clone()) };
        let mut lib = IndicatorLibraryServiceClient::new(ch);
        let fin = token(Role::Finance, "210500");
        for t in [
            deduction_template("bm01", "在职人员控制率", D::AtMost, "0.1", "0"),
            deduction_template("bm02", "\"三公经费\"变动率", D::AtMost, "0.3", "0"),
            deduction_template("bm03", "预算执行率", D::AtLeast, "0.5", "2"),
            pb::IndicatorTemplate {
                deduction: false,
                deduction_step: String::new(),
                deduction_floor: String::new(),
                ..deduction_template("bm04", "公用经费控制率", D::AtMost, "", "")
            },
        ] {
            lib.upsert_indicator_template(authed(
                &fin,
                pb::UpsertIndicatorTemplateRequest { template: Some(t), expected_version: 0 },
            ))
            .await
            .unwrap();
        }
        // A judged indicator cannot be a deduction-type one.
        let e = lib
            .upsert_indicator_template(authed(
                &fin,
                pb::UpsertIndicatorTemplateRequest {
                    template: Some(deduction_template("bm05", "服务对象满意度", D::Qualitative, "1", "0")),
                    expected_version: 0,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec!["template.deduction"]);

        let p502 = c.programme("210502", 2023).await;
        let whole = |measures: Vec<pb::FrameworkPart>| {
            let mut parts = parts(["18", "17", "27", "24"], ["20", "20", "30", "26"]);
            parts.extend(measures);
            pb::SubmitEvaluationRequest {
                programme_id: p502.clone(),
                kind: pb::EvaluationKind::DepartmentWhole as i32,
                category: "assistance".into(),
                evaluator: "本溪市财政局".into(),
                parts,
                evaluated_on: "2024-05-31".into(),
                ..Default::default()
            }
        };
        // 103 % against ≤ 100 %: 3 points over, 1 − 0.1 × 3 = 0.7; spending 2 % less keeps the
        // 三公经费 target in full: 18 + 17 + 27 + 24 + 0.70 + 3 = 89.70.
        let e = c
            .submit(
                &fin,
                whole(vec![
                    measured("在职人员控制率", "1", "bm01", "100", "103"),
                    measured("\"三公经费\"变动率", "3", "bm02", "0", "-2"),
                ]),
            )
            .await
            .unwrap();
        assert_eq!((e.total.as_str(), e.grade.as_str()), ("89.70", "良"));
        let scores: Vec<(&str, &str, &str, &str)> = e.parts[4..]
            .iter()
            .map(|p| (p.score.as_str(), p.template_code.as_str(), p.target.as_str(), p.actual.as_str()))
            .collect();
        assert_eq!(scores, [("0.70", "bm01", "100", "103"), ("3.00", "bm02", "0", "-2")]);
        let steps = &e.explanation.as_ref().unwrap().steps;
        let deductions: Vec<(&str, &str)> = steps
            .iter()
            .filter(|s| s.rule_id == "civic.evaluation.deduction")
            .map(|s| (s.formula.as_str(), s.result.as_str()))
            .collect();
        assert_eq!(
            deductions,
            [("103% ≤ 100% 未做到,相差 3%;max(0, 1 − 0.1 × 3) = 0.7", "0.7"), ("-2% ≤ 0%:得满分 3", "3"),]
        );
        let first = steps.iter().find(|s| s.rule_id == "civic.evaluation.deduction").unwrap();
        assert!(
            first.description.contains("bm01(210500)") && first.description.contains("本溪市部门整体绩效评价共性指标")
        );
        assert_eq!(first.source.as_ref().unwrap().document, "civic");

        // Far beyond: the template's floor, never below it (0 here, 2 for bm03 at ≥ 95 %).
        let e = c
            .submit(
                &fin,
                whole(vec![
                    measured("在职人员控制率", "1", "bm01", "100", "150"),
                    measured("预算执行率", "3", "bm03", "95", "80"),
                ]),
            )
            .await
            .unwrap();
        let scores: Vec<&str> = e.parts[4..].iter().map(|p| p.score.as_str()).collect();
        assert_eq!((scores, e.total.as_str()), (vec!["0.00", "2.00"], "88.00"));

        // Refused, naming the part's field.
        let cases: Vec<(pb::FrameworkPart, &str)> = vec![
            (
                pb::FrameworkPart { score: "1".into(), ..measured("在职人员控制率", "1", "bm01", "100", "103") },
                "parts[4].score",
            ),
            (measured("在职人员控制率", "1", "zz99", "100", "103"), "parts[4].template_code"),
            (measured("公用经费控制率", "1", "bm04", "100", "103"), "parts[4].template_code"),
            (measured("在职人员控制率", "1", "bm01", "", "103"), "parts[4].target"),
            (measured("在职人员控制率", "1", "bm01", "100", "x"), "parts[4].actual"),
            // bm03's floor 2 is above a weight of 1.
            (measured("预算执行率", "1", "bm03", "95", "80"), "parts[4].weight"),
            (
                pb::FrameworkPart {
                    template_code: String::new(),
                    score: "1".into(),
                    ..measured("x", "1", "", "100", "")
                },
                "parts[4].template_code",
            ),
        ];
        for (part, field) in cases {
            let e = c
                .submit(&fin, whole(vec![part, measured("\"三公经费\"变动率", "3", "bm02", "0", "-2")]))
                .await
                .unwrap_err();
            assert_eq!(violated_fields(&e), vec![field]);
        }
        server.stop().await;
    }
    both_backends!(department_whole_deductions_on, super::department_whole_deductions);
}
