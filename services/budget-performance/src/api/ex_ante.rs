//! Ex-ante assessment of a social-assistance standard (事前绩效评估, 驻政〔2020〕37号 附件2 三(六)):
//! the cost comes from the social-assistance service's what-if over the roll, called on behalf
//! of the original caller (their token and request id travel with the call), with a deadline and
//! one retry when the other side is unavailable (the call reads only, so a retry is safe).

use std::time::Duration;

use civic_domain::{
    explanation::{Step, Trace},
    Fen,
};
use civic_proto::{
    assistance::v1::{social_assistance_client::SocialAssistanceClient, WhatIfRequest},
    budget::v1 as pb,
};
use civic_runtime::{
    identity::Caller,
    mapping, outgoing,
    request::{self},
    server::RETRY_BACKOFF,
    ApiError,
};
use tonic::{transport::Channel, Code, Status};

use super::service::BudgetApi;

/// How long the what-if may take, end to end.
const DEADLINE: Duration = Duration::from_secs(10);

impl BudgetApi {
    pub(super) async fn assess_standard_cost(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::AssessStandardCostRequest,
    ) -> Result<pb::AssessStandardCostResponse, Status> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(
            &book.regions,
            civic_runtime::identity::Access::Read,
            super::service::EVALUATORS,
            "assess new policies",
            region,
        )
        .map_err(ApiError::from)?;
        if r.proposed.is_empty() {
            return Err(ApiError::invalid("proposed", "at least one proposed standard").into());
        }
        let channel: Channel = self
            .assistance
            .clone()
            .ok_or_else(|| ApiError::Unavailable("social-assistance (not configured)".into()))?;
        let message = WhatIfRequest {
            region_code: r.region_code.clone(),
            on_date: r.on_date.clone(),
            proposed: r.proposed.clone(),
        };
        let mut attempt = 0;
        let response = loop {
            attempt += 1;
            let mut client = SocialAssistanceClient::new(channel.clone());
            match client.what_if(outgoing::on_behalf_of(who, request_id, message.clone(), DEADLINE)).await {
                Ok(resp) => break resp,
                Err(s) if s.code() == Code::Unavailable && attempt < 2 => {
                    tracing::warn!(error = %s.message(), "social-assistance unavailable; retrying once");
                    tokio::time::sleep(RETRY_BACKOFF).await;
                }
                Err(s) if matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled) => {
                    tracing::warn!(code = ?s.code(), error = %s.message(), "social-assistance did not answer");
                    return Err(ApiError::Unavailable("social-assistance".into()).into());
                }
                // The other service's verdict on the caller's own request: passed on as it is.
                Err(s) => {
                    return Err(Status::with_details(
                        s.code(),
                        format!("social-assistance: {}", s.message()),
                        s.details().to_vec().into(),
                    ))
                }
            }
        };
        let upstream_id =
            response.metadata().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let w = response.into_inner();
        let total = w.total.unwrap_or_default();
        let extra = total.difference_monthly_fen;
        let annual = extra.checked_mul(12).ok_or_else(|| ApiError::Internal("overflow".into()))?;
        let mut trace = Trace::default();
        trace.push(Step {
            rule_id: "budget.ex_ante.cost".into(),
            description: format!(
                "提标测算:社会救助服务对 {} 户在册及低收入家庭按拟议标准重新计算",
                w.households_computed
            ),
            formula: format!(
                "现行 {} /月 → 拟议 {} /月;每月增加 {},全年 {}",
                Fen::new(total.current_monthly_fen).yuan_text(),
                Fen::new(total.proposed_monthly_fen).yuan_text(),
                Fen::new(extra).yuan_text(),
                Fen::new(annual).yuan_text()
            ),
            result: format!("受益增加 {} 户,新增符合条件 {} 户", total.gaining, total.newly_eligible),
            parameters: vec![],
            source: Some(
                book.rule_source("budget.ex_ante.cost", region, request::china_today())
                    .map_err(|e| ApiError::domain("region_code", e))?,
            ),
        });
        Ok(pb::AssessStandardCostResponse {
            households: total.households,
            current_monthly_fen: total.current_monthly_fen,
            proposed_monthly_fen: total.proposed_monthly_fen,
            extra_monthly_fen: extra,
            extra_annual_fen: annual,
            gaining: total.gaining,
            newly_eligible: total.newly_eligible,
            assistance_request_id: upstream_id,
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}
