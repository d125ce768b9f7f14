//! `civic.land.v1.CampaignService`: the "危污乱散低" campaign.

use civic_proto::land::v1::{self as pb, campaign_service_server::CampaignService};
use civic_runtime::request::caller;
use tonic::{Request, Response, Status};

use super::{respond, LandApi};

#[tonic::async_trait]
impl CampaignService for LandApi {
    #[tracing::instrument(skip_all)]
    async fn check_campaign_list(
        &self,
        req: Request<pb::CheckCampaignListRequest>,
    ) -> Result<Response<pb::CheckCampaignListResponse>, Status> {
        let who = caller(&req)?;
        respond(self.campaign_list(&who, req.get_ref()))
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
}
