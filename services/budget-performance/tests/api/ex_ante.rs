//! Ex-ante assessment with the seed's seven points (the spec's §4.9: weights and bands brought
//! with their document, 83 → 予以支持, 111.11 % of the estimate), and a recorded conclusion
//! feeding the budget precondition of a new major programme, on both backends.

use civic_proto::budget::v1::{
    self as pb, budget_performance_service_client::BudgetPerformanceServiceClient,
    programme_service_client::ProgrammeServiceClient,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::both_backends;
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::Code;

use crate::programmes::dibao;

fn seven(points: [&str; 7], weights: Option<[&str; 7]>) -> Vec<pb::ExAnteScore> {
    use pb::ExAnteDimension as X;
    [X::Necessity, X::Economy, X::Goals, X::Feasibility, X::FundingCompliance, X::SupportMode, X::Budgeting]
        .iter()
        .enumerate()
        .map(|(i, d)| pb::ExAnteScore {
            dimension: *d as i32,
            weight: weights.map(|w| w[i].to_string()).unwrap_or_default(),
            points: points[i].into(),
            opinion: String::new(),
        })
        .collect()
}

const WEIGHTS: [&str; 7] = ["20", "15", "15", "15", "10", "10", "15"];

pub(crate) fn section_4_9(last: &str) -> pb::ScoreExAnteRequest {
    pb::ScoreExAnteRequest {
        region_code: "411721".into(),
        on_date: "2024-10-15".into(),
        scores: seven(["18", "12", "13", "12", "9", "8", last], Some(WEIGHTS)),
        bands: Some(pb::ExAnteBands { support_min: "80".into(), revise_min: "60".into() }),
        rules_document: "西平县事前绩效评估评分办法(示例)".into(),
        requested_fen: 360_000_000,
        estimated_fen: 324_000_000,
        estimate_source: "民政局提标测算".into(),
        standard_change: None,
    }
}

#[tokio::test]
async fn seven_points_bands_and_the_budget_check() {
    let (ch, server) = crate::start_sqlite().await;
    let mut c = BudgetPerformanceServiceClient::new(ch);
    let tok = token(Role::CivilAffairs, "411721");
    let r = c.score_ex_ante(authed(&tok, section_4_9("11"))).await.unwrap().into_inner();
    assert_eq!((r.total.as_str(), r.conclusion_text.as_str()), ("83.00", "予以支持"));
    assert_eq!(r.budget_ratio_percent, "111.11");
    assert_eq!(r.findings, ["申请额高于测算 11.11 %"]);
    let steps = r.explanation.unwrap().steps;
    assert_eq!(steps[0].source.as_ref().unwrap().clause, "附件2 三(六)");
    assert_eq!(steps[0].parameters[0].source.as_ref().unwrap().document, "西平县事前绩效评估评分办法(示例)");
    assert_eq!(steps[2].source.as_ref().unwrap().document, "civic");
    // Exactly 80 supports; 79.99 is revised first.
    let at = |last: &str| {
        let mut c = c.clone();
        let (tok, req) = (tok.clone(), section_4_9(last));
        async move { c.score_ex_ante(authed(&tok, req)).await.unwrap().into_inner() }
    };
    assert_eq!(at("8").await.conclusion, pb::ExAnteConclusion::Support as i32);
    assert_eq!(at("7.99").await.conclusion, pb::ExAnteConclusion::SupportAfterRevision as i32);
    // No bands: a score without a conclusion.
    let mut no_bands = section_4_9("11");
    no_bands.bands = None;
    let r = c.score_ex_ante(authed(&tok, no_bands)).await.unwrap().into_inner();
    assert_eq!((r.conclusion, r.conclusion_text.as_str()), (pb::ExAnteConclusion::Unspecified as i32, ""));
    // No weights anywhere: no number is invented.
    let mut none = section_4_9("11");
    none.scores = seven(["18", "12", "13", "12", "9", "8", "11"], None);
    let e = c.score_ex_ante(authed(&tok, none)).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "NO_EX_ANTE_WEIGHTS"));
    type Edit = Box<dyn Fn(&mut pb::ScoreExAnteRequest)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|r| r.rules_document = String::new()), "rules_document"),
        (Box::new(|r| r.scores[0].weight = "19".into()), "scores"),
        (Box::new(|r| r.scores[1].points = "16".into()), "scores[1].points"),
        (
            Box::new(|r| {
                r.scores.pop();
            }),
            "scores",
        ),
        (Box::new(|r| r.scores[6].dimension = 0), "scores[6].dimension"),
        (Box::new(|r| r.requested_fen = 0), "requested_fen"),
        (Box::new(|r| r.estimate_source = String::new()), "estimate_source"),
    ];
    for (edit, field) in cases {
        let mut r = section_4_9("11");
        edit(&mut r);
        let e = c.score_ex_ante(authed(&tok, r)).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec![field]);
    }
    server.stop().await;
}

async fn recorded_conclusion_feeds_the_precondition(backend: Backend) {
    let (ch, server) = crate::start_on(backend).await;
    let mut programmes = ProgrammeServiceClient::new(ch.clone());
    let c = BudgetPerformanceServiceClient::new(ch);
    let fin = token(Role::Finance, "411721");
    let mut prog = dibao("411721", "411721-2025-009", 360_000_000);
    prog.budget_year = 2025;
    prog.is_new = true;
    prog.is_major = true;
    let p = programmes
        .upsert_programme(authed(
            &fin,
            pb::UpsertProgrammeRequest { programme: Some(prog), expected_version: 0, reason: String::new() },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap();
    let codes = |c: &mut ProgrammeServiceClient<tonic::transport::Channel>| {
        let mut c = c.clone();
        let (fin, id) = (fin.clone(), p.id.clone());
        async move {
            c.check_budget_precondition(authed(&fin, pb::CheckBudgetPreconditionRequest { programme_ids: vec![id] }))
                .await
                .unwrap()
                .into_inner()
                .results[0]
                .reasons
                .iter()
                .map(|r| r.code.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(codes(&mut programmes).await, ["NO_APPROVED_GOALS", "EX_ANTE_REQUIRED"]);
    let record = |assessment: pb::ScoreExAnteRequest, tok: String| {
        let mut c = c.clone();
        let id = p.id.clone();
        async move {
            c.record_ex_ante(authed(
                &tok,
                pb::RecordExAnteRequest {
                    programme_id: id,
                    assessment: Some(assessment),
                    assessor: "西平县财政局".into(),
                    report_ref: "西财评〔2024〕5号".into(),
                },
            ))
            .await
        }
    };
    let mut mine = section_4_9("11");
    mine.region_code = String::new();
    assert_eq!(
        record(mine.clone(), token(Role::CivilAffairs, "411721")).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let mut no_bands = mine.clone();
    no_bands.bands = None;
    assert_eq!(error_reason(&record(no_bands, fin.clone()).await.unwrap_err()), "NO_EX_ANTE_BANDS");
    let a = record(mine.clone(), fin.clone()).await.unwrap().into_inner();
    assert_eq!(a.result.unwrap().conclusion_text, "予以支持");
    assert_eq!(codes(&mut programmes).await, ["NO_APPROVED_GOALS"]);
    // A later assessment that does not support it stops the budget again.
    let mut poor = mine;
    poor.scores = seven(["8", "5", "6", "5", "4", "3", "5"], Some(WEIGHTS));
    let a = record(poor, fin.clone()).await.unwrap().into_inner();
    assert_eq!(a.result.unwrap().conclusion_text, "不予支持");
    assert_eq!(codes(&mut programmes).await, ["NO_APPROVED_GOALS", "EX_ANTE_NOT_SUPPORTED"]);
    server.stop().await;
}
both_backends!(recorded_conclusion_feeds_the_precondition_on, super::recorded_conclusion_feeds_the_precondition);
