//! budget-performance over real gRPC: grades on both sides of every boundary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use civic_proto::budget::v1::{
    budget_performance_service_client::BudgetPerformanceServiceClient, GradeEvaluationRequest,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, token, violated_fields, Server};
use tonic::Code;

#[tokio::test]
async fn grades_follow_caiyu_2020_10_on_both_sides_of_each_boundary() {
    let (ch, server) = start_sqlite().await;
    let mut c = BudgetPerformanceServiceClient::new(ch);
    let tok = token(Role::Finance, "411700");
    let ask = |score: &str, date: &str| GradeEvaluationRequest {
        region_code: "411702".into(),
        on_date: date.into(),
        total_score: score.into(),
    };
    for (score, grade) in [
        ("100", "优"),
        ("90", "优"),
        ("89.99", "良"),
        ("80", "良"),
        ("79.999", "中"),
        ("60", "中"),
        ("59.99", "差"),
        ("0", "差"),
    ] {
        let r = c.grade_evaluation(authed(&tok, ask(score, "2024-12-31"))).await.unwrap().into_inner();
        assert_eq!(r.grade, grade, "{score}");
        let step = &r.explanation.unwrap().steps[0];
        assert_eq!(step.source.as_ref().unwrap().document, "财预〔2020〕10号");
        assert_eq!(step.parameters.len(), 3);
    }
    for bad in ["100.01", "-1", "abc", ""] {
        let e = c.grade_evaluation(authed(&tok, ask(bad, "2024-12-31"))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["total_score"], "{bad}");
    }
    // Before the scale existed.
    assert_eq!(
        c.grade_evaluation(authed(&tok, ask("95", "2019-12-31"))).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    // Other bureaus and other regions.
    assert_eq!(
        c.grade_evaluation(authed(&token(Role::NaturalResources, "411700"), ask("95", ""))).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        c.grade_evaluation(authed(&token(Role::Finance, "411100"), ask("95", ""))).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    server.stop().await;
}

mod access;
mod evaluation;
mod ex_ante;
mod fiscal;
mod followup;
mod indicators;
mod monitoring;
mod programmes;
mod tables;

/// A budget-performance server on a fresh SQLite database and a channel to it.
pub(crate) async fn start_sqlite() -> (tonic::transport::Channel, Server) {
    start_on(Backend::Sqlite).await
}

/// The same on either backend.
pub(crate) async fn start_on(backend: Backend) -> (tonic::transport::Channel, Server) {
    let server = Server::on(backend, budget_performance::start).await;
    (server.channel().await, server)
}
