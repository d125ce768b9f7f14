//! The tonic face of land-supervision's gRPC services: each RPC reads its caller and hands the
//! request to its area's API (one file per area in `api/`). `civic.land.v1.LandSupervisionService`
//! (the checks and assessments) is here; the other services of `civic.land.v1`, one per area, are
//! in the files beside this one.

mod campaign;
mod cases;
mod per_mu;
mod registry;
mod sanluanwu;

use civic_domain::area::Mu;
use civic_proto::land::v1::{self as pb, land_supervision_service_server::LandSupervisionService};
use civic_runtime::{
    identity::{Access, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller},
    ApiError,
};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use crate::rules::farmland::{self};

#[derive(Clone)]
pub struct LandApi {
    pub book: BookHandle,
    pub db: civic_runtime::storage::Database,
}

const LAND_ROLES: &[Role] = &[Role::NaturalResources];
/// Who assesses parcels and enterprises: the natural-resources bureau and cluster administrations.
pub const ASSESSORS: &[Role] = &[Role::NaturalResources, Role::ClusterAdmin];

impl LandApi {
    pub(super) fn check(
        &self,
        who: &civic_runtime::identity::Caller,
        book: &civic_domain::policy::PolicyBook,
        region: civic_domain::RegionCode,
        action: &'static str,
    ) -> Result<(), ApiError> {
        who.authorize(&book.regions, Access::Read, ASSESSORS, action, region).map_err(ApiError::from)
    }
}

fn respond<T>(r: Result<T, ApiError>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

fn mu(field: &str, s: &str) -> Result<Mu, ApiError> {
    if s.trim().is_empty() {
        return Err(ApiError::invalid(field, "required: an area in 亩 such as 120.5"));
    }
    Mu::parse(s).map_err(|e| ApiError::domain(field, e))
}

#[tonic::async_trait]
impl LandSupervisionService for LandApi {
    #[tracing::instrument(skip_all)]
    async fn check_standard_land(
        &self,
        req: Request<pb::CheckStandardLandRequest>,
    ) -> Result<Response<pb::CheckStandardLandResponse>, Status> {
        let who = caller(&req)?;
        respond(self.standard_land(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_extension(
        &self,
        req: Request<pb::CheckExtensionRequest>,
    ) -> Result<Response<pb::CheckExtensionResponse>, Status> {
        let who = caller(&req)?;
        respond(self.extension(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_cluster(
        &self,
        req: Request<pb::CheckClusterRequest>,
    ) -> Result<Response<pb::CheckClusterResponse>, Status> {
        let who = caller(&req)?;
        respond(self.cluster(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn evaluate_clusters(
        &self,
        req: Request<pb::EvaluateClustersRequest>,
    ) -> Result<Response<pb::EvaluateClustersResponse>, Status> {
        let who = caller(&req)?;
        respond(self.evaluate_clusters(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn classify_low_efficiency(
        &self,
        req: Request<pb::ClassifyLowEfficiencyRequest>,
    ) -> Result<Response<pb::ClassifyLowEfficiencyResponse>, Status> {
        let who = caller(&req)?;
        respond(self.classify_with_flags(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn assess_idle_land(
        &self,
        req: Request<pb::AssessIdleLandRequest>,
    ) -> Result<Response<pb::AssessIdleLandResponse>, Status> {
        let who = caller(&req)?;
        respond(self.idle(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_redevelopment(
        &self,
        req: Request<pb::CheckRedevelopmentRequest>,
    ) -> Result<Response<pb::CheckRedevelopmentResponse>, Status> {
        let who = caller(&req)?;
        respond(self.redevelopment(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn assess_farmland_occupation(
        &self,
        req: Request<pb::AssessFarmlandOccupationRequest>,
    ) -> Result<Response<pb::AssessFarmlandOccupationResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, LAND_ROLES, "assess farmland occupation", region)
            .map_err(ApiError::from)?;
        super::mapping::year("year", r.year)?;
        let illegal = mu("illegal_occupation_mu", &r.illegal_occupation_mu)?;
        let total = mu("new_construction_occupation_mu", &r.new_construction_occupation_mu)?;
        let a = farmland::assess(&book, region, r.year, illegal, total).map_err(ApiError::from)?;
        Ok(Response::new(pb::AssessFarmlandOccupationResponse {
            ratio: a.ratio.round_dp(6).normalize().to_string(),
            ratio_percent: format!("{:.2}", (a.ratio * Decimal::ONE_HUNDRED).round_dp(2)),
            outcome: a.outcome.code().into(),
            outcome_name: a.outcome.chinese().into(),
            explanation: Some(mapping::explanation(&a.trace)),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn check_farmland_balance(
        &self,
        req: Request<pb::CheckFarmlandBalanceRequest>,
    ) -> Result<Response<pb::CheckFarmlandBalanceResponse>, Status> {
        let who = caller(&req)?;
        respond(self.farmland_balance(&who, req.get_ref()))
    }
}
