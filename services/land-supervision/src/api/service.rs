//! The tonic face of `civic.land.v1.LandSupervisionService`: each RPC reads its caller and hands the
//! request to its area's API (one file per area beside this one). About 400 lines because the
//! service has 37 RPCs; one gRPC service per area would shorten it and is a contract change of
//! its own.

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
    async fn evaluate_per_mu(
        &self,
        req: Request<pb::EvaluatePerMuRequest>,
    ) -> Result<Response<pb::EvaluatePerMuResponse>, Status> {
        let who = caller(&req)?;
        respond(self.per_mu(&who, req.get_ref()))
    }

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

    #[tracing::instrument(skip_all)]
    async fn check_farmland_balance(
        &self,
        req: Request<pb::CheckFarmlandBalanceRequest>,
    ) -> Result<Response<pb::CheckFarmlandBalanceResponse>, Status> {
        let who = caller(&req)?;
        respond(self.farmland_balance(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_campaign_list(
        &self,
        req: Request<pb::CheckCampaignListRequest>,
    ) -> Result<Response<pb::CheckCampaignListResponse>, Status> {
        let who = caller(&req)?;
        respond(self.campaign_list(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn import_enterprise_figures(
        &self,
        req: Request<pb::ImportEnterpriseFiguresRequest>,
    ) -> Result<Response<pb::ImportEnterpriseFiguresResponse>, Status> {
        let who = caller(&req)?;
        respond(self.import_figures(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn evaluate_stored_per_mu(
        &self,
        req: Request<pb::EvaluateStoredPerMuRequest>,
    ) -> Result<Response<pb::EvaluateStoredPerMuResponse>, Status> {
        let who = caller(&req)?;
        respond(self.evaluate_stored(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn summarize_per_mu(
        &self,
        req: Request<pb::SummarizePerMuRequest>,
    ) -> Result<Response<pb::SummarizePerMuResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let answer = self.summarize_per_mu(&who, r).await;
        respond(
            civic_runtime::audit::read_on_behalf(
                &self.db,
                &who,
                &civic_runtime::request::request_id(&req),
                || {
                    civic_runtime::audit::Change::read(
                        "land.per_mu_summary.read_on_behalf",
                        "per_mu_summary",
                        format!("{} {}", r.year, r.scheme_name),
                        r.region_code.clone(),
                        serde_json::json!({"year": r.year, "scheme": r.scheme_name}),
                    )
                },
                answer,
            )
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn seed_rectification(
        &self,
        req: Request<pb::SeedRectificationRequest>,
    ) -> Result<Response<pb::SeedRectificationResponse>, Status> {
        let who = caller(&req)?;
        respond(self.seed_rectification(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }

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

    #[tracing::instrument(skip_all)]
    async fn export_per_mu_results(
        &self,
        req: Request<pb::ExportPerMuResultsRequest>,
    ) -> Result<Response<pb::ExportPerMuResultsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.export_results(&who, req.get_ref()).await)
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
    async fn publish_limits(
        &self,
        req: Request<pb::PublishLimitsRequest>,
    ) -> Result<Response<pb::PublishLimitsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.publish_limits(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn set_campaign_targets(
        &self,
        req: Request<pb::SetCampaignTargetsRequest>,
    ) -> Result<Response<pb::SetCampaignTargetsResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.set_campaign_targets(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::SetCampaignTargetsResponse { targets: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_campaign_targets(
        &self,
        req: Request<pb::GetCampaignTargetsRequest>,
    ) -> Result<Response<pb::GetCampaignTargetsResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.get_campaign_targets(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::GetCampaignTargetsResponse { targets: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn report_campaign_progress(
        &self,
        req: Request<pb::ReportCampaignProgressRequest>,
    ) -> Result<Response<pb::ReportCampaignProgressResponse>, Status> {
        let who = caller(&req)?;
        let answer =
            self.report_campaign_progress(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::ReportCampaignProgressResponse { report: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_campaign_report(
        &self,
        req: Request<pb::VerifyCampaignReportRequest>,
    ) -> Result<Response<pb::VerifyCampaignReportResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.verify_campaign_report(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::VerifyCampaignReportResponse { report: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_campaign_progress(
        &self,
        req: Request<pb::GetCampaignProgressRequest>,
    ) -> Result<Response<pb::GetCampaignProgressResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let answer = self.get_campaign_progress(&who, r).await;
        respond(
            civic_runtime::audit::read_on_behalf(
                &self.db,
                &who,
                &civic_runtime::request::request_id(&req),
                || {
                    civic_runtime::audit::Change::read(
                        "land.campaign_progress.read_on_behalf",
                        "campaign_progress",
                        format!("{} {}", r.year, r.town),
                        r.region_code.clone(),
                        serde_json::json!({"year": r.year, "town": r.town, "on_date": r.on_date}),
                    )
                },
                answer,
            )
            .await,
        )
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
