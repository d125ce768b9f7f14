//! The tonic face of `civic.budget.v1.FiscalRulesService`: each RPC reads its caller and
//! hands the request to the fiscal API.

use civic_proto::budget::v1::{self as pb, fiscal_rules_service_server::FiscalRulesService};
use civic_runtime::request::{self, caller};
use tonic::{Request, Response, Status};

use crate::api::respond;

use super::*;

#[tonic::async_trait]
impl FiscalRulesService for FiscalApi {
    #[tracing::instrument(skip_all)]
    async fn check_lottery_share(
        &self,
        req: Request<pb::CheckLotteryShareRequest>,
    ) -> Result<Response<pb::CheckLotteryShareResponse>, Status> {
        let who = caller(&req)?;
        respond(self.lottery(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn compute_closure_reward(
        &self,
        req: Request<pb::ComputeClosureRewardRequest>,
    ) -> Result<Response<pb::ComputeClosureRewardResponse>, Status> {
        let who = caller(&req)?;
        respond(self.closure(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn open_debt_event(
        &self,
        req: Request<pb::OpenDebtEventRequest>,
    ) -> Result<Response<pb::OpenDebtEventResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.open_event(&who, &request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::OpenDebtEventResponse { event: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn advance_debt_event(
        &self,
        req: Request<pb::AdvanceDebtEventRequest>,
    ) -> Result<Response<pb::AdvanceDebtEventResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.advance_event(&who, &request::request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::AdvanceDebtEventResponse { event: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_debt_event(
        &self,
        req: Request<pb::GetDebtEventRequest>,
    ) -> Result<Response<pb::GetDebtEventResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.get_event(&who, req.get_ref()).await;
        respond(answer.map(|v| pb::GetDebtEventResponse { event: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn check_new_investment(
        &self,
        req: Request<pb::CheckNewInvestmentRequest>,
    ) -> Result<Response<pb::CheckNewInvestmentResponse>, Status> {
        let who = caller(&req)?;
        respond(self.new_investment(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_restructuring_budget(
        &self,
        req: Request<pb::CheckRestructuringBudgetRequest>,
    ) -> Result<Response<pb::CheckRestructuringBudgetResponse>, Status> {
        let who = caller(&req)?;
        respond(self.restructuring_budget(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn split_cost_share(
        &self,
        req: Request<pb::SplitCostShareRequest>,
    ) -> Result<Response<pb::SplitCostShareResponse>, Status> {
        let who = caller(&req)?;
        respond(self.cost_share(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn assess_debt_risk(
        &self,
        req: Request<pb::AssessDebtRiskRequest>,
    ) -> Result<Response<pb::AssessDebtRiskResponse>, Status> {
        let who = caller(&req)?;
        respond(self.debt_risk(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_pooled_funds(
        &self,
        req: Request<pb::CheckPooledFundsRequest>,
    ) -> Result<Response<pb::CheckPooledFundsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.pooled(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn pooled_fund_deadlines(
        &self,
        req: Request<pb::PooledFundDeadlinesRequest>,
    ) -> Result<Response<pb::PooledFundDeadlinesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.pooled_deadlines(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn settle_zone_revenue(
        &self,
        req: Request<pb::SettleZoneRevenueRequest>,
    ) -> Result<Response<pb::SettleZoneRevenueResponse>, Status> {
        let who = caller(&req)?;
        respond(self.settle(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn zone_spending_ledger(
        &self,
        req: Request<pb::ZoneSpendingLedgerRequest>,
    ) -> Result<Response<pb::ZoneSpendingLedgerResponse>, Status> {
        let who = caller(&req)?;
        respond(self.ledger(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_restructuring_trigger(
        &self,
        req: Request<pb::CheckRestructuringTriggerRequest>,
    ) -> Result<Response<pb::CheckRestructuringTriggerResponse>, Status> {
        let who = caller(&req)?;
        respond(self.restructuring(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn compute_guarantee_cap(
        &self,
        req: Request<pb::ComputeGuaranteeCapRequest>,
    ) -> Result<Response<pb::ComputeGuaranteeCapResponse>, Status> {
        let who = caller(&req)?;
        respond(self.guarantee(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn debt_report_deadline(
        &self,
        req: Request<pb::DebtReportDeadlineRequest>,
    ) -> Result<Response<pb::DebtReportDeadlineResponse>, Status> {
        let who = caller(&req)?;
        respond(self.report(&who, req.get_ref()))
    }
}
