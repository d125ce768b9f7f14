//! The tonic face of `civic.budget.v1.MonitoringService`: each RPC reads its caller and
//! hands the request to the monitoring API.

use civic_proto::budget::v1::{self as pb, monitoring_service_server::MonitoringService};
use civic_runtime::request::{caller, request_id};
use tonic::{Request, Response, Status};

use super::MonitoringApi;
use crate::api::respond;

#[tonic::async_trait]
impl MonitoringService for MonitoringApi {
    #[tracing::instrument(skip_all)]
    async fn evaluate_monitoring(
        &self,
        req: Request<pb::EvaluateMonitoringRequest>,
    ) -> Result<Response<pb::EvaluateMonitoringResponse>, Status> {
        let who = caller(&req)?;
        respond(self.evaluate(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn record_monitoring(
        &self,
        req: Request<pb::RecordMonitoringRequest>,
    ) -> Result<Response<pb::RecordMonitoringResponse>, Status> {
        let who = caller(&req)?;
        respond(self.record(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_warnings(
        &self,
        req: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_warnings(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn acknowledge_warning(
        &self,
        req: Request<pb::AcknowledgeWarningRequest>,
    ) -> Result<Response<pb::AcknowledgeWarningResponse>, Status> {
        let who = caller(&req)?;
        let answer =
            self.update_warning(&who, &request_id(&req), req.get_ref().into(), &["OPEN"], "ACKNOWLEDGED").await;
        respond(answer.map(|w| pb::AcknowledgeWarningResponse { warning: Some(w) }))
    }

    #[tracing::instrument(skip_all)]
    async fn resolve_warning(
        &self,
        req: Request<pb::ResolveWarningRequest>,
    ) -> Result<Response<pb::ResolveWarningResponse>, Status> {
        let who = caller(&req)?;
        let from = &["OPEN", "ACKNOWLEDGED", "ESCALATED"];
        let answer = self.update_warning(&who, &request_id(&req), req.get_ref().into(), from, "RESOLVED").await;
        respond(answer.map(|w| pb::ResolveWarningResponse { warning: Some(w) }))
    }

    #[tracing::instrument(skip_all)]
    async fn escalate_warning(
        &self,
        req: Request<pb::EscalateWarningRequest>,
    ) -> Result<Response<pb::EscalateWarningResponse>, Status> {
        let who = caller(&req)?;
        let from = &["OPEN", "ACKNOWLEDGED"];
        let answer = self.update_warning(&who, &request_id(&req), req.get_ref().into(), from, "ESCALATED").await;
        respond(answer.map(|w| pb::EscalateWarningResponse { warning: Some(w) }))
    }

    #[tracing::instrument(skip_all)]
    async fn place_payment_hold(
        &self,
        req: Request<pb::PlacePaymentHoldRequest>,
    ) -> Result<Response<pb::PlacePaymentHoldResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.place_hold(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::PlacePaymentHoldResponse { hold: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn lift_payment_hold(
        &self,
        req: Request<pb::LiftPaymentHoldRequest>,
    ) -> Result<Response<pb::LiftPaymentHoldResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.lift_hold(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::LiftPaymentHoldResponse { hold: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn import_monitoring(
        &self,
        req: Request<pb::ImportMonitoringRequest>,
    ) -> Result<Response<pb::ImportMonitoringResponse>, Status> {
        let who = caller(&req)?;
        respond(self.import(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn export_monitoring_table(
        &self,
        req: Request<pb::ExportMonitoringTableRequest>,
    ) -> Result<Response<pb::ExportMonitoringTableResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.export_table(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::ExportMonitoringTableResponse { table: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn check_payment(
        &self,
        req: Request<pb::CheckPaymentRequest>,
    ) -> Result<Response<pb::CheckPaymentResponse>, Status> {
        let who = caller(&req)?;
        respond(self.check_payment(&who, req.get_ref()).await)
    }
}
