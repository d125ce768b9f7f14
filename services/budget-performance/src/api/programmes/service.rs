//! The tonic face of `civic.budget.v1.ProgrammeService`: each RPC reads its caller and
//! hands the request to the programme API.

use civic_proto::budget::v1::{self as pb, programme_service_server::ProgrammeService};
use civic_runtime::{
    identity::Access,
    request::{caller, request_id},
};
use tonic::{Request, Response, Status};

use super::{convert::*, ProgrammeApi};
use crate::api::respond;

#[tonic::async_trait]
impl ProgrammeService for ProgrammeApi {
    #[tracing::instrument(skip_all)]
    async fn upsert_programme(
        &self,
        req: Request<pb::UpsertProgrammeRequest>,
    ) -> Result<Response<pb::UpsertProgrammeResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.upsert(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::UpsertProgrammeResponse { programme: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_programme(
        &self,
        req: Request<pb::GetProgrammeRequest>,
    ) -> Result<Response<pb::GetProgrammeResponse>, Status> {
        let who = caller(&req)?;
        let book = self.book.current();
        let answer = async {
            let p = self.programme(&req.get_ref().id).await?;
            check_programme(&book, &who, Access::Read, &p, "read programmes")?;
            Ok(programme_pb(&p))
        }
        .await;
        respond(answer.map(|v| pb::GetProgrammeResponse { programme: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_programmes(
        &self,
        req: Request<pb::ListProgrammesRequest>,
    ) -> Result<Response<pb::ListProgrammesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_goals(
        &self,
        req: Request<pb::CheckGoalsRequest>,
    ) -> Result<Response<pb::CheckGoalsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.check(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_goals(
        &self,
        req: Request<pb::SubmitGoalsRequest>,
    ) -> Result<Response<pb::SubmitGoalsResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.submit(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::SubmitGoalsResponse { goal_set: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn review_goals(
        &self,
        req: Request<pb::ReviewGoalsRequest>,
    ) -> Result<Response<pb::ReviewGoalsResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.review(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::ReviewGoalsResponse { goal_set: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn amend_goals(
        &self,
        req: Request<pb::AmendGoalsRequest>,
    ) -> Result<Response<pb::AmendGoalsResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.amend(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::AmendGoalsResponse { goal_set: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_goals(&self, req: Request<pb::GetGoalsRequest>) -> Result<Response<pb::GetGoalsResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.get_goals(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::GetGoalsResponse { goal_set: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn check_budget_precondition(
        &self,
        req: Request<pb::CheckBudgetPreconditionRequest>,
    ) -> Result<Response<pb::CheckBudgetPreconditionResponse>, Status> {
        let who = caller(&req)?;
        respond(self.precondition(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn import_programmes(
        &self,
        req: Request<pb::ImportProgrammesRequest>,
    ) -> Result<Response<pb::ImportProgrammesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.import(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn export_programmes(
        &self,
        req: Request<pb::ExportProgrammesRequest>,
    ) -> Result<Response<pb::ExportProgrammesResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.export(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::ExportProgrammesResponse { table: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn goal_coverage(
        &self,
        req: Request<pb::GoalCoverageRequest>,
    ) -> Result<Response<pb::GoalCoverageResponse>, Status> {
        let who = caller(&req)?;
        respond(self.coverage(&who, req.get_ref()).await)
    }
}
