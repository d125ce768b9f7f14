//! The tonic face of `civic.budget.v1.EvaluationService`: each RPC reads its caller and
//! hands the request to the evaluation API.

use civic_proto::budget::v1::{self as pb, evaluation_service_server::EvaluationService};
use civic_runtime::request::{caller, request_id};
use tonic::{Request, Response, Status};

use super::EvaluationApi;
use crate::api::respond;

#[tonic::async_trait]
impl EvaluationService for EvaluationApi {
    #[tracing::instrument(skip_all)]
    async fn score_self_evaluation(
        &self,
        req: Request<pb::ScoreSelfEvaluationRequest>,
    ) -> Result<Response<pb::ScoreSelfEvaluationResponse>, Status> {
        let who = caller(&req)?;
        respond(self.score(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_evaluation(
        &self,
        req: Request<pb::SubmitEvaluationRequest>,
    ) -> Result<Response<pb::SubmitEvaluationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.submit(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::SubmitEvaluationResponse { evaluation: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn review_evaluation(
        &self,
        req: Request<pb::ReviewEvaluationRequest>,
    ) -> Result<Response<pb::ReviewEvaluationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.review(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::ReviewEvaluationResponse { evaluation: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_evaluation(
        &self,
        req: Request<pb::GetEvaluationRequest>,
    ) -> Result<Response<pb::GetEvaluationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.get(&who, &req.get_ref().evaluation_id).await;
        respond(answer.map(|v| pb::GetEvaluationResponse { evaluation: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_evaluations(
        &self,
        req: Request<pb::ListEvaluationsRequest>,
    ) -> Result<Response<pb::ListEvaluationsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_region_scores(
        &self,
        req: Request<pb::ListRegionScoresRequest>,
    ) -> Result<Response<pb::ListRegionScoresResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let answer = self.region_scores(&who, r).await;
        respond(
            civic_runtime::audit::read_on_behalf(
                &self.db,
                &who,
                &request_id(&req),
                || {
                    civic_runtime::audit::Change::read(
                        "budget.region_scores.read_on_behalf",
                        "region_scores",
                        format!("{} {}", r.category, r.year),
                        r.city_code.clone(),
                        serde_json::json!({"category": r.category, "year": r.year}),
                    )
                },
                answer,
            )
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn assign_evaluator(
        &self,
        req: Request<pb::AssignEvaluatorRequest>,
    ) -> Result<Response<pb::AssignEvaluatorResponse>, Status> {
        let who = caller(&req)?;
        respond(self.assign(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn record_budget_decision(
        &self,
        req: Request<pb::RecordBudgetDecisionRequest>,
    ) -> Result<Response<pb::RecordBudgetDecisionResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.decide(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::RecordBudgetDecisionResponse { decision: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_budget_decisions(
        &self,
        req: Request<pb::ListBudgetDecisionsRequest>,
    ) -> Result<Response<pb::ListBudgetDecisionsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.decisions(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn export_self_evaluation_table(
        &self,
        req: Request<pb::ExportSelfEvaluationTableRequest>,
    ) -> Result<Response<pb::ExportSelfEvaluationTableResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.export_table(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::ExportSelfEvaluationTableResponse { table: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn propose_budget_adjustment(
        &self,
        req: Request<pb::ProposeBudgetAdjustmentRequest>,
    ) -> Result<Response<pb::ProposeBudgetAdjustmentResponse>, Status> {
        let who = caller(&req)?;
        respond(self.propose(&who, req.get_ref()).await)
    }
}
