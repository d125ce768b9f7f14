//! `civic.land.v1.SanluanwuService`: the "散乱污" registry.

use civic_proto::land::v1::{self as pb, sanluanwu_service_server::SanluanwuService};
use civic_runtime::request::caller;
use tonic::{Request, Response, Status};

use super::{respond, LandApi};

#[tonic::async_trait]
impl SanluanwuService for LandApi {
    #[tracing::instrument(skip_all)]
    async fn register_sanluanwu(
        &self,
        req: Request<pb::RegisterSanluanwuRequest>,
    ) -> Result<Response<pb::RegisterSanluanwuResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.register_sanluanwu(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::RegisterSanluanwuResponse { entry: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn update_sanluanwu(
        &self,
        req: Request<pb::UpdateSanluanwuRequest>,
    ) -> Result<Response<pb::UpdateSanluanwuResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.update_sanluanwu(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::UpdateSanluanwuResponse { entry: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_sanluanwu(
        &self,
        req: Request<pb::ListSanluanwuRequest>,
    ) -> Result<Response<pb::ListSanluanwuResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_sanluanwu(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn sanluanwu_tally(
        &self,
        req: Request<pb::SanluanwuTallyRequest>,
    ) -> Result<Response<pb::SanluanwuTallyResponse>, Status> {
        let who = caller(&req)?;
        respond(self.tally_sanluanwu(&who, req.get_ref()).await)
    }
}
