use civic_proto::budget::v1::{self as pb, budget_performance_service_server::BudgetPerformanceService};
use civic_runtime::{
    identity::{Access, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller},
    ApiError,
};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use crate::rules::grades;

#[derive(Clone)]
pub struct BudgetApi {
    pub book: BookHandle,
    /// A lazily connected channel to social-assistance, for ex-ante assessments.
    pub assistance: tonic::transport::Channel,
    pub db: civic_runtime::storage::Database,
}

/// Roles that evaluate budget performance.
pub(super) const EVALUATORS: &[Role] = &[Role::Finance];

#[tonic::async_trait]
impl BudgetPerformanceService for BudgetApi {
    #[tracing::instrument(skip_all)]
    async fn grade_evaluation(
        &self,
        req: Request<pb::GradeEvaluationRequest>,
    ) -> Result<Response<pb::GradeEvaluationResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, EVALUATORS, "grade evaluations", region).map_err(ApiError::from)?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        let score: Decimal = request::decimal("total_score", &r.total_score)?;
        if score < Decimal::ZERO || score > Decimal::ONE_HUNDRED {
            return Err(ApiError::invalid("total_score", "must be between 0 and 100").into());
        }
        let (grade, trace) = grades::grade(&book, region, date, score).map_err(|e| ApiError::domain("on_date", e))?;
        Ok(Response::new(pb::GradeEvaluationResponse {
            grade: grade.chinese().into(),
            grade_code: grade.code().into(),
            explanation: Some(mapping::explanation(&trace)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn assess_standard_cost(
        &self,
        req: Request<pb::AssessStandardCostRequest>,
    ) -> Result<Response<pb::AssessStandardCostResponse>, Status> {
        let who = caller(&req)?;
        let rid = civic_runtime::request::request_id(&req);
        self.assess_standard_cost(&who, &rid, req.get_ref()).await.map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn score_ex_ante(
        &self,
        req: Request<pb::ScoreExAnteRequest>,
    ) -> Result<Response<pb::ScoreExAnteResponse>, Status> {
        let who = caller(&req)?;
        let rid = civic_runtime::request::request_id(&req);
        self.score_ex_ante(&who, &rid, req.get_ref()).await.map(Response::new)
    }

    #[tracing::instrument(skip_all)]
    async fn record_ex_ante(
        &self,
        req: Request<pb::RecordExAnteRequest>,
    ) -> Result<Response<pb::RecordExAnteResponse>, Status> {
        let who = caller(&req)?;
        let rid = civic_runtime::request::request_id(&req);
        self.record_ex_ante(&who, &rid, req.get_ref()).await.map(Response::new)
    }
}
