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
    assistance::v1::{social_assistance_service_client::SocialAssistanceServiceClient, WhatIfRequest},
    budget::v1 as pb,
};
use civic_runtime::{
    identity::{Caller, Role},
    mapping, outgoing,
    request::{self},
    server::RETRY_BACKOFF,
    ApiError, ApiResult,
};
use tonic::{transport::Channel, Status};

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
        let channel: Channel = self.assistance.clone();
        let message = WhatIfRequest {
            region_code: r.region_code.clone(),
            on_date: r.on_date.clone(),
            proposed: r.proposed.clone(),
        };
        let call = || {
            let mut client = SocialAssistanceServiceClient::new(channel.clone());
            let request = outgoing::on_behalf_of(who, request_id, message.clone(), DEADLINE);
            async move { client.what_if(request).await }
        };
        let response = match outgoing::call_with_one_retry(
            "social-assistance",
            "civic.assistance.v1.SocialAssistanceService/WhatIf",
            RETRY_BACKOFF,
            call,
        )
        .await
        {
            Ok(r) => r,
            Err(outgoing::PeerFailure::Unreachable(_)) => {
                return Err(ApiError::Unavailable("social-assistance".into()).into())
            }
            // The other service's verdict on the caller's own request: passed on as it is.
            Err(outgoing::PeerFailure::Refused(s)) => {
                return Err(Status::with_details(
                    s.code(),
                    format!("social-assistance: {}", s.message()),
                    s.details().to_vec().into(),
                ))
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

fn dimension(i: usize, d: i32) -> ApiResult<crate::rules::ex_ante::Dimension> {
    use crate::rules::ex_ante::Dimension as X;
    Ok(match pb::ExAnteDimension::try_from(d) {
        Ok(pb::ExAnteDimension::Necessity) => X::Necessity,
        Ok(pb::ExAnteDimension::Economy) => X::Economy,
        Ok(pb::ExAnteDimension::Goals) => X::Goals,
        Ok(pb::ExAnteDimension::Feasibility) => X::Feasibility,
        Ok(pb::ExAnteDimension::FundingCompliance) => X::FundingCompliance,
        Ok(pb::ExAnteDimension::SupportMode) => X::SupportMode,
        Ok(pb::ExAnteDimension::Budgeting) => X::Budgeting,
        _ => return Err(ApiError::invalid(format!("scores[{i}].dimension"), "one of the seven points of 三(六)")),
    })
}

fn conclusion_pb(c: Option<crate::rules::ex_ante::Conclusion>) -> pb::ExAnteConclusion {
    use crate::rules::ex_ante::Conclusion as C;
    match c {
        Some(C::Support) => pb::ExAnteConclusion::Support,
        Some(C::SupportAfterRevision) => pb::ExAnteConclusion::SupportAfterRevision,
        Some(C::NotSupported) => pb::ExAnteConclusion::NotSupported,
        None => pb::ExAnteConclusion::Unspecified,
    }
}

/// Bureaus and finance assess their new policies and projects.
fn assessors() -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| super::programmes::may_own(*r)).collect()
}

impl BudgetApi {
    /// Score an ex-ante assessment for `region` (already authorized).
    pub(super) async fn score_ex_ante_in(
        &self,
        who: &Caller,
        request_id: &str,
        region: civic_domain::RegionCode,
        r: &pb::ScoreExAnteRequest,
    ) -> Result<pb::ScoreExAnteResponse, Status> {
        use crate::rules::ex_ante::{self, Input, Score};
        let book = self.book.current();
        let date = request::date_or_today("on_date", &r.on_date)?;
        request::served_date("on_date", &date.to_string())?;
        let mut scores = Vec::with_capacity(r.scores.len());
        for (i, s) in r.scores.iter().enumerate() {
            scores.push(Score {
                dimension: dimension(i, s.dimension)?,
                weight: request::opt_decimal(&format!("scores[{i}].weight"), &s.weight)?,
                points: request::decimal(&format!("scores[{i}].points"), &s.points)?,
            });
        }
        let bands = match &r.bands {
            None => None,
            Some(b) => Some((
                request::decimal("bands.support_min", &b.support_min)?,
                request::decimal("bands.revise_min", &b.revise_min)?,
            )),
        };
        // The estimate: social-assistance's what-if for a standard change, or as given.
        let mut upstream = None;
        let estimate = match (&r.standard_change, r.estimated_fen) {
            (Some(_), e) if e != 0 => {
                return Err(ApiError::invalid("estimated_fen", "give an estimate or a standard change, not both").into())
            }
            (Some(change), _) => {
                if change.region_code != r.region_code {
                    return Err(ApiError::invalid("standard_change.region_code", "the assessment's region").into());
                }
                let cost = self.assess_standard_cost(who, request_id, change).await?;
                let est = civic_domain::Fen::new(cost.extra_annual_fen);
                upstream = Some(cost);
                Some((est, "社会救助服务提标测算(全年)".to_string()))
            }
            (None, 0) => None,
            (None, e) if e < 0 => return Err(ApiError::invalid("estimated_fen", "must not be negative").into()),
            (None, e) => {
                let source = r.estimate_source.trim();
                if source.is_empty() || source.chars().count() > 200 {
                    return Err(ApiError::invalid(
                        "estimate_source",
                        "where the estimate comes from (at most 200 characters)",
                    )
                    .into());
                }
                Some((civic_domain::Fen::new(e), source.to_string()))
            }
        };
        let input = Input {
            scores,
            bands,
            rules_document: r.rules_document.clone(),
            requested: civic_domain::Fen::new(r.requested_fen),
            estimate,
        };
        let o = ex_ante::score(&book, region, date, &input).map_err(ApiError::from)?;
        let mut explanation = mapping::explanation(&o.trace);
        let mut assistance_request_id = String::new();
        if let Some(cost) = upstream {
            assistance_request_id = cost.assistance_request_id.clone();
            if let Some(e) = cost.explanation {
                let mut steps = e.steps;
                steps.append(&mut explanation.steps);
                explanation.steps = steps;
            }
        }
        Ok(pb::ScoreExAnteResponse {
            total: crate::rules::two_places(o.total),
            conclusion: conclusion_pb(o.conclusion) as i32,
            conclusion_text: o.conclusion.map(|c| c.chinese().to_string()).unwrap_or_default(),
            requested_fen: r.requested_fen,
            estimated_fen: input.estimate.as_ref().map(|(f, _)| f.get()).unwrap_or(0),
            budget_ratio_percent: o.ratio_percent.map(crate::rules::two_places).unwrap_or_default(),
            findings: o.findings,
            assistance_request_id,
            explanation: Some(explanation),
        })
    }

    pub(super) async fn score_ex_ante(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::ScoreExAnteRequest,
    ) -> Result<pb::ScoreExAnteResponse, Status> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(
            &book.regions,
            civic_runtime::identity::Access::Read,
            &assessors(),
            "assess new policies",
            region,
        )
        .map_err(ApiError::from)?;
        self.score_ex_ante_in(who, request_id, region, r).await
    }

    pub(super) async fn record_ex_ante(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::RecordExAnteRequest,
    ) -> Result<pb::RecordExAnteResponse, Status> {
        use crate::store::{ex_ante as store, programmes as programme_store};
        use base64::Engine;
        use prost::Message;
        let book = self.book.current();
        let id = r.programme_id.trim();
        if id.is_empty() || id.len() > 64 {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned").into());
        }
        let p = programme_store::get(&self.db, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found(format!("programme {id}")))?;
        let region = civic_domain::RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(
            &book.regions,
            civic_runtime::identity::Access::Write,
            super::service::EVALUATORS,
            "conclude ex-ante assessments",
            region,
        )
        .map_err(ApiError::from)?;
        let mut a = r.assessment.clone().ok_or_else(|| ApiError::invalid("assessment", "required"))?;
        if a.region_code.trim().is_empty() {
            a.region_code = p.region_code.clone();
        } else if a.region_code.trim() != p.region_code {
            return Err(ApiError::invalid("assessment.region_code", "the programme's region").into());
        }
        let result = self.score_ex_ante_in(who, request_id, region, &a).await?;
        let conclusion = match pb::ExAnteConclusion::try_from(result.conclusion) {
            Ok(c) if c != pb::ExAnteConclusion::Unspecified => c,
            _ => {
                return Err(ApiError::precondition(
                    "NO_EX_ANTE_BANDS",
                    "a recorded assessment needs its conclusion: the region has no conclusion bands and the request brings none",
                )
                .into())
            }
        };
        let text = |field: &str, s: &str| -> ApiResult<String> {
            let t = s.trim();
            if t.is_empty() || t.chars().count() > 200 {
                return Err(ApiError::invalid(field, "required, at most 200 characters"));
            }
            Ok(t.to_string())
        };
        let row = store::ExAnteRow {
            id: uuid::Uuid::new_v4().to_string(),
            programme_id: p.id.clone(),
            region_code: p.region_code.clone(),
            conclusion: conclusion.as_str_name().trim_start_matches("EX_ANTE_CONCLUSION_").into(),
            total: result.total.clone(),
            result: base64::engine::general_purpose::STANDARD.encode(result.encode_to_vec()),
            assessor: text("assessor", &r.assessor)?,
            report_ref: text("report_ref", &r.report_ref)?,
            recorded_by: String::new(),
            recorded_at: String::new(),
        };
        let row = store::insert(&self.db, who, request_id, &row).await.map_err(ApiError::from)?;
        Ok(pb::RecordExAnteResponse {
            id: row.id,
            programme_id: row.programme_id,
            result: Some(result),
            assessor: row.assessor,
            report_ref: row.report_ref,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
        })
    }
}
