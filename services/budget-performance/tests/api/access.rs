//! Who may do what (spec §3.6), as a matrix of role × region × RPC on both backends: finance
//! of the county and the city, the owning bureau, another bureau, another county, auditors in
//! and out of scope, and a third-party evaluator nothing was assigned to. An allowed caller
//! passes authorization (it then meets whatever the request itself gets: a stale version, a bad
//! field); a refused one gets PERMISSION_DENIED.
//!
//! (About 460 lines: the matrix of roles, regions and RPCs is one table read as a whole.)

use std::{future::Future, pin::Pin};

use civic_proto::budget::v1::{
    self as pb, budget_performance_service_client::BudgetPerformanceServiceClient,
    evaluation_service_client::EvaluationServiceClient,
    indicator_library_service_client::IndicatorLibraryServiceClient,
    monitoring_service_client::MonitoringServiceClient, programme_service_client::ProgrammeServiceClient,
    rectification_service_client::RectificationServiceClient,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::both_backends;
use civic_testing::{authed, token};
use tonic::{Code, Status};

use crate::programmes::{dibao, dibao_goals};

pub(crate) type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;
/// An RPC, the callers allowed through (by label), and how to call it with a token.
pub(crate) type Cell = (&'static str, &'static [&'static str], Box<dyn Fn(String) -> Call>);

/// Calls every cell as every caller (label, role, region); panics listing the cells where an
/// allowed caller was refused or a refused one got through.
pub(crate) async fn check_cells(cells: &[Cell], callers: &[(&str, Role, &str)]) {
    let mut wrong = Vec::new();
    for (rpc, allowed, call) in cells {
        for (label, role, region) in callers {
            let result = call(token(*role, region)).await;
            let denied = matches!(&result, Err(s) if s.code() == Code::PermissionDenied);
            if denied == allowed.contains(label) {
                wrong.push(format!("{rpc} by {label}: {result:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// The callers, by label.
const CALLERS: [(&str, Role, &str); 9] = [
    ("finance-county", Role::Finance, "411721"),
    ("finance-city", Role::Finance, "411700"),
    ("finance-other-county", Role::Finance, "411722"),
    ("owner", Role::CivilAffairs, "411721"),
    ("owner-role-other-county", Role::CivilAffairs, "411722"),
    ("other-bureau", Role::NaturalResources, "411721"),
    ("auditor", Role::Auditor, "411700"),
    ("auditor-other-city", Role::Auditor, "411200"),
    // A third-party evaluator with no assignment reaches nothing.
    ("evaluator-unassigned", Role::Evaluator, "411700"),
];

async fn matrix(backend: Backend) {
    let (ch, server) = crate::start_on(backend).await;
    let fin = token(Role::Finance, "411721");
    let mz = token(Role::CivilAffairs, "411721");
    let mut p = ProgrammeServiceClient::new(ch.clone());
    let prog = p
        .upsert_programme(authed(
            &mz,
            pb::UpsertProgrammeRequest {
                programme: Some(dibao("411721", "411721-2024-001", 500_000_000)),
                expected_version: 0,
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap();
    p.submit_goals(authed(
        &mz,
        pb::SubmitGoalsRequest { programme_id: prog.id.clone(), expected_version: 0, goals: Some(dibao_goals()) },
    ))
    .await
    .unwrap();
    p.review_goals(authed(
        &fin,
        pb::ReviewGoalsRequest {
            programme_id: prog.id.clone(),
            version: 1,
            grade: pb::GoalReviewGrade::Excellent as i32,
            opinion: String::new(),
        },
    ))
    .await
    .unwrap();
    let mut xp = crate::evaluation::xiping_dibao_2023();
    xp.region_code = String::new();
    xp.on_date = String::new();
    xp.budget_fen = 0;
    xp.executed_fen = 478_125_000;
    let ev = EvaluationServiceClient::new(ch.clone())
        .submit_evaluation(authed(
            &mz,
            pb::SubmitEvaluationRequest {
                programme_id: prog.id.clone(),
                kind: pb::EvaluationKind::Self_ as i32,
                self_evaluation: Some(xp),
                evaluated_on: "2025-03-31".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();

    // Each RPC with the callers allowed through (by label).
    let id = prog.id.clone();
    let rpcs: Vec<Cell> = vec![
        (
            "GetProgramme",
            &["finance-county", "finance-city", "owner", "auditor"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (ProgrammeServiceClient::new(ch.clone()), id.clone());
                    Box::pin(
                        async move { c.get_programme(authed(&t, pb::GetProgrammeRequest { id })).await.map(|_| ()) },
                    )
                }
            }),
        ),
        (
            "UpsertProgramme",
            &["finance-county", "finance-city", "owner"],
            Box::new({
                let (ch, prog) = (ch.clone(), prog.clone());
                move |t| {
                    let (mut c, prog) = (ProgrammeServiceClient::new(ch.clone()), prog.clone());
                    Box::pin(async move {
                        c.upsert_programme(authed(
                            &t,
                            pb::UpsertProgrammeRequest {
                                programme: Some(prog),
                                expected_version: 999,
                                reason: String::new(),
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "SubmitGoals",
            &["finance-county", "finance-city", "owner"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (ProgrammeServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.submit_goals(authed(
                            &t,
                            pb::SubmitGoalsRequest {
                                programme_id: id,
                                expected_version: 999,
                                goals: Some(dibao_goals()),
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "ReviewGoals",
            &["finance-county", "finance-city"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (ProgrammeServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.review_goals(authed(
                            &t,
                            pb::ReviewGoalsRequest {
                                programme_id: id,
                                version: 999,
                                grade: pb::GoalReviewGrade::Good as i32,
                                opinion: "x".into(),
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "GoalCoverage",
            &["finance-county", "finance-city", "auditor"],
            Box::new({
                let ch = ch.clone();
                move |t| {
                    let mut c = ProgrammeServiceClient::new(ch.clone());
                    Box::pin(async move {
                        c.goal_coverage(authed(
                            &t,
                            pb::GoalCoverageRequest { region_code: "411721".into(), budget_year: 2024 },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "ImportProgrammes",
            &["finance-county", "finance-city", "owner", "other-bureau"],
            Box::new({
                let ch = ch.clone();
                move |t| {
                    let mut c = ProgrammeServiceClient::new(ch.clone());
                    Box::pin(async move {
                        c.import_programmes(authed(
                            &t,
                            pb::ImportProgrammesRequest {
                                region_code: "411721".into(),
                                format: "csv".into(),
                                content: vec![],
                                reason: String::new(),
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "RecordMonitoring",
            &["finance-county", "finance-city", "owner"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (MonitoringServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.record_monitoring(authed(
                            &t,
                            pb::RecordMonitoringRequest {
                                programme_id: id,
                                as_of: "2024-06-29".into(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "PlacePaymentHold",
            &["finance-county", "finance-city"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (MonitoringServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.place_payment_hold(authed(
                            &t,
                            pb::PlacePaymentHoldRequest { programme_id: id, kind: 0, ..Default::default() },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "CheckPayment",
            &["finance-county", "finance-city", "auditor"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (MonitoringServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.check_payment(authed(
                            &t,
                            pb::CheckPaymentRequest { programme_id: id, amount_fen: 0, ..Default::default() },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "SubmitEvaluation(SELF)",
            &["owner"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (EvaluationServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.submit_evaluation(authed(
                            &t,
                            pb::SubmitEvaluationRequest {
                                programme_id: id,
                                kind: pb::EvaluationKind::Self_ as i32,
                                year: 1999,
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "SubmitEvaluation(FINANCE_KEY)",
            &["finance-county", "finance-city"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (EvaluationServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.submit_evaluation(authed(
                            &t,
                            pb::SubmitEvaluationRequest {
                                programme_id: id,
                                kind: pb::EvaluationKind::FinanceKey as i32,
                                year: 1999,
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "ReviewEvaluation",
            &["finance-county", "finance-city"],
            Box::new({
                let (ch, eid) = (ch.clone(), ev.id.clone());
                move |t| {
                    let (mut c, eid) = (EvaluationServiceClient::new(ch.clone()), eid.clone());
                    Box::pin(async move {
                        c.review_evaluation(authed(
                            &t,
                            pb::ReviewEvaluationRequest {
                                evaluation_id: eid,
                                expected_version: 999,
                                decision: pb::ReviewDecision::Accept as i32,
                                notes: String::new(),
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "GetEvaluation",
            &["finance-county", "finance-city", "owner", "auditor"],
            Box::new({
                let (ch, eid) = (ch.clone(), ev.id.clone());
                move |t| {
                    let (mut c, eid) = (EvaluationServiceClient::new(ch.clone()), eid.clone());
                    Box::pin(async move {
                        c.get_evaluation(authed(&t, pb::GetEvaluationRequest { evaluation_id: eid })).await.map(|_| ())
                    })
                }
            }),
        ),
        (
            "ListRegionScores(411700)",
            &["finance-city", "auditor"],
            Box::new({
                let ch = ch.clone();
                move |t| {
                    let mut c = EvaluationServiceClient::new(ch.clone());
                    Box::pin(async move {
                        c.list_region_scores(authed(
                            &t,
                            pb::ListRegionScoresRequest {
                                city_code: "411700".into(),
                                category: "assistance".into(),
                                year: 2024,
                                allow_missing: true,
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "IssueRectification",
            &["finance-county", "finance-city"],
            Box::new({
                let ch = ch.clone();
                move |t| {
                    let mut c = RectificationServiceClient::new(ch.clone());
                    Box::pin(async move {
                        c.issue_rectification(authed(
                            &t,
                            pb::IssueRectificationRequest { region_code: "411721".into(), ..Default::default() },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "UpsertIndicatorTemplate(411700)",
            &["finance-city"],
            Box::new({
                let ch = ch.clone();
                move |t| {
                    let mut c = IndicatorLibraryServiceClient::new(ch.clone());
                    Box::pin(async move {
                        c.upsert_indicator_template(authed(
                            &t,
                            pb::UpsertIndicatorTemplateRequest {
                                template: Some(pb::IndicatorTemplate {
                                    region_code: "411700".into(),
                                    ..Default::default()
                                }),
                                expected_version: 0,
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }
            }),
        ),
        (
            "RecordExAnte",
            &["finance-county", "finance-city"],
            Box::new({
                let (ch, id) = (ch.clone(), id.clone());
                move |t| {
                    let (mut c, id) = (BudgetPerformanceServiceClient::new(ch.clone()), id.clone());
                    Box::pin(async move {
                        c.record_ex_ante(authed(&t, pb::RecordExAnteRequest { programme_id: id, ..Default::default() }))
                            .await
                            .map(|_| ())
                    })
                }
            }),
        ),
    ];
    check_cells(&rpcs, &CALLERS).await;
    server.stop().await;
}
both_backends!(matrix_on, super::matrix);
