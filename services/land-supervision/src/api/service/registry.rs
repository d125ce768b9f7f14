//! `civic.land.v1.LandRegistryService`: clusters, parcels, dated limits and enterprise flags.

use civic_proto::land::v1::{self as pb, land_registry_service_server::LandRegistryService};
use civic_runtime::request::caller;
use tonic::{Request, Response, Status};

use super::{respond, LandApi};

#[tonic::async_trait]
impl LandRegistryService for LandApi {
    #[tracing::instrument(skip_all)]
    async fn publish_limits(
        &self,
        req: Request<pb::PublishLimitsRequest>,
    ) -> Result<Response<pb::PublishLimitsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.publish_limits(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_cluster(
        &self,
        req: Request<pb::UpsertClusterRequest>,
    ) -> Result<Response<pb::UpsertClusterResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.upsert_cluster(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::UpsertClusterResponse { cluster: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_cluster(
        &self,
        req: Request<pb::GetClusterRequest>,
    ) -> Result<Response<pb::GetClusterResponse>, Status> {
        let who = caller(&req)?;
        respond(self.get_cluster(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_parcel(
        &self,
        req: Request<pb::UpsertParcelRequest>,
    ) -> Result<Response<pb::UpsertParcelResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.upsert_parcel(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::UpsertParcelResponse { parcel: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_parcel(&self, req: Request<pb::GetParcelRequest>) -> Result<Response<pb::GetParcelResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.get_parcel(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::GetParcelResponse { parcel: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_parcels(
        &self,
        req: Request<pb::ListParcelsRequest>,
    ) -> Result<Response<pb::ListParcelsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_parcels(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn set_enterprise_flag(
        &self,
        req: Request<pb::SetEnterpriseFlagRequest>,
    ) -> Result<Response<pb::SetEnterpriseFlagResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.set_enterprise_flag(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::SetEnterpriseFlagResponse { flag: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_enterprise_flags(
        &self,
        req: Request<pb::ListEnterpriseFlagsRequest>,
    ) -> Result<Response<pb::ListEnterpriseFlagsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_enterprise_flags(&who, req.get_ref()).await)
    }
}
