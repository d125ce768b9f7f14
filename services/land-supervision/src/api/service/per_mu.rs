//! `civic.land.v1.PerMuEvaluationService`: per-mu evaluation of sent and stored figures.

use civic_proto::land::v1::{self as pb, per_mu_evaluation_service_server::PerMuEvaluationService};
use civic_runtime::request::caller;
use tonic::{Request, Response, Status};

use super::{respond, LandApi};

#[tonic::async_trait]
impl PerMuEvaluationService for LandApi {
    #[tracing::instrument(skip_all)]
    async fn evaluate_per_mu(
        &self,
        req: Request<pb::EvaluatePerMuRequest>,
    ) -> Result<Response<pb::EvaluatePerMuResponse>, Status> {
        let who = caller(&req)?;
        respond(self.per_mu(&who, req.get_ref()))
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
    async fn export_per_mu_results(
        &self,
        req: Request<pb::ExportPerMuResultsRequest>,
    ) -> Result<Response<pb::ExportPerMuResultsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.export_results(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn seed_rectification(
        &self,
        req: Request<pb::SeedRectificationRequest>,
    ) -> Result<Response<pb::SeedRectificationResponse>, Status> {
        let who = caller(&req)?;
        respond(self.seed_rectification(&who, &civic_runtime::request::request_id(&req), req.get_ref()).await)
    }
}
