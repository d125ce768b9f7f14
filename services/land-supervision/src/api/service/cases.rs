//! `civic.land.v1.LandCaseService`: the two case procedures.

use civic_proto::land::v1::{self as pb, land_case_service_server::LandCaseService};
use civic_runtime::request::caller;
use tonic::{Request, Response, Status};

use super::{respond, LandApi};

#[tonic::async_trait]
impl LandCaseService for LandApi {
    #[tracing::instrument(skip_all)]
    async fn open_case(&self, req: Request<pb::OpenCaseRequest>) -> Result<Response<pb::OpenCaseResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.open_case(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::OpenCaseResponse { land_case: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn advance_case(
        &self,
        req: Request<pb::AdvanceCaseRequest>,
    ) -> Result<Response<pb::AdvanceCaseResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.advance_case(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::AdvanceCaseResponse { land_case: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_case(&self, req: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.get_case(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::GetCaseResponse { land_case: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_cases(&self, req: Request<pb::ListCasesRequest>) -> Result<Response<pb::ListCasesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_cases(&who, req.get_ref()).await)
    }
}
