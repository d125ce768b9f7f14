//! Reading goal indicators' actuals from the other services (§3.5): social-assistance's
//! `SummarizeAssistance` and land-supervision's `SummarizePerMu`, called on the caller's behalf
//! (the other service applies the caller's own role and region), with the request id, trace
//! context and what is left of the deadline; one retry when the call did not reach it. What was
//! read is kept with its provenance and never read again for the same record.

use chrono::{Datelike, NaiveDate};
use civic_proto::{
    assistance::v1::{social_assistance_service_client::SocialAssistanceServiceClient, SummarizeAssistanceRequest},
    land::v1::{
        campaign_service_client::CampaignServiceClient, per_mu_evaluation_service_client::PerMuEvaluationServiceClient,
        GetCampaignProgressRequest, SummarizePerMuRequest,
    },
};
use civic_runtime::{
    identity::Caller,
    outgoing::{self, PeerFailure},
    server::RETRY_BACKOFF,
    ApiError, ApiResult,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use crate::rules::{
    actuals::{self, ActualService, ActualSource, AssistanceMonth, CampaignFigures, Measure},
    goals::GoalIndicator,
};

const DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// The other services budget-performance reads from, connected on first use.
#[derive(Clone)]
pub struct Peers {
    pub assistance: Channel,
    pub land: Channel,
}

/// An actual as it was read (kept with the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub value: String,
    pub unit: String,
    pub service: String,
    pub rpc: String,
    pub request_id: String,
    pub fetched_at: String,
    pub as_of: String,
}

impl Provenance {
    pub fn to_pb(&self) -> civic_proto::budget::v1::ActualProvenance {
        civic_proto::budget::v1::ActualProvenance {
            value: self.value.clone(),
            unit: self.unit.clone(),
            service: self.service.clone(),
            rpc: self.rpc.clone(),
            request_id: self.request_id.clone(),
            fetched_at: self.fetched_at.clone(),
            as_of: self.as_of.clone(),
        }
    }
}

fn failed(goal: &GoalIndicator, service: ActualService, f: PeerFailure) -> ApiError {
    match f {
        PeerFailure::Unreachable(_) => ApiError::Unavailable(service.name().into()),
        PeerFailure::Refused(s) => ApiError::precondition(
            "ACTUAL_UNAVAILABLE",
            format!("'{}': {} answered {:?}: {}", goal.name, service.name(), s.code(), s.message()),
        ),
    }
}

fn upstream_id<T>(r: &tonic::Response<T>) -> String {
    r.metadata().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Read `goal`'s actual for a checkpoint on `as_of` of a programme of `region` and
/// `budget_year`.
pub async fn fetch(
    peers: &Peers,
    who: &Caller,
    request_id: &str,
    (region, budget_year): (&str, i64),
    as_of: NaiveDate,
    goal: &GoalIndicator,
    source: &ActualSource,
) -> ApiResult<(Decimal, Provenance)> {
    let measure = actuals::measure(source, &goal.unit).map_err(|m| ApiError::Internal(format!("kept goals: {m}")))?;
    let service = source.service;
    let now = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let rpc = match service {
        ActualService::Assistance => service.rpc(),
        ActualService::Land => actuals::land_rpc(&measure),
    };
    let (value, upstream, period) = match service {
        ActualService::Assistance => {
            let from = format!("{budget_year}-01");
            let to = format!("{:04}-{:02}", as_of.year(), as_of.month());
            let message = SummarizeAssistanceRequest {
                region_code: region.into(),
                from_month: from.clone(),
                to_month: to.clone(),
            };
            let call = || {
                let mut client = SocialAssistanceServiceClient::new(peers.assistance.clone());
                let request = outgoing::on_behalf_of(who, request_id, message.clone(), DEADLINE);
                async move { client.summarize_assistance(request).await }
            };
            let response = outgoing::call_with_one_retry(service.name(), rpc, RETRY_BACKOFF, call)
                .await
                .map_err(|f| failed(goal, service, f))?;
            let id = upstream_id(&response);
            let r = response.into_inner();
            let months: Vec<AssistanceMonth<'_>> = r
                .months
                .iter()
                .map(|m| AssistanceMonth {
                    month: &m.month,
                    category: &m.category,
                    households: m.households,
                    persons: m.persons,
                    paid_fen: m.paid_fen,
                })
                .collect();
            let value = actuals::assistance_value(&measure, &goal.unit, &months, &to, source.filter.trim())
                .map_err(|m| ApiError::precondition("ACTUAL_UNAVAILABLE", format!("'{}': {m}", goal.name)))?;
            (value, id, format!("{from}..{to}"))
        }
        ActualService::Land
            if matches!(measure, Measure::CampaignArea | Measure::CampaignProgress | Measure::CampaignParks) =>
        {
            let year = if source.year == 0 { budget_year as i32 } else { source.year };
            let town = source.filter.trim().to_string();
            let message = GetCampaignProgressRequest {
                region_code: region.into(),
                year,
                on_date: as_of.to_string(),
                town: town.clone(),
            };
            let call = || {
                let mut client = CampaignServiceClient::new(peers.land.clone());
                let request = outgoing::on_behalf_of(who, request_id, message.clone(), DEADLINE);
                async move { client.get_campaign_progress(request).await }
            };
            let response = outgoing::call_with_one_retry(service.name(), rpc, RETRY_BACKOFF, call)
                .await
                .map_err(|f| failed(goal, service, f))?;
            let id = upstream_id(&response);
            let r = response.into_inner();
            let figures = if town.is_empty() {
                CampaignFigures {
                    verified_area_mu: &r.verified_area_mu,
                    progress_percent: &r.progress_percent,
                    verified_parks: r.verified_parks,
                }
            } else {
                let t =
                    r.towns.iter().find(|t| t.target.as_ref().is_some_and(|x| x.town == town)).ok_or_else(|| {
                        ApiError::precondition(
                            "ACTUAL_UNAVAILABLE",
                            format!("'{}': the campaign of {year} has no target for {town}", goal.name),
                        )
                    })?;
                CampaignFigures {
                    verified_area_mu: &t.verified_area_mu,
                    progress_percent: &t.progress_percent,
                    verified_parks: t.verified_parks,
                }
            };
            let value = actuals::campaign_value(&measure, &figures)
                .map_err(|m| ApiError::precondition("ACTUAL_UNAVAILABLE", format!("'{}': {m}", goal.name)))?;
            let whom = if town.is_empty() { region.to_string() } else { town.clone() };
            (value, id, format!("{year} 危污乱散低 {whom} as of {as_of}"))
        }
        ActualService::Land => {
            let year = if source.year == 0 { budget_year as i32 } else { source.year };
            let message =
                SummarizePerMuRequest { region_code: region.into(), year, scheme_name: source.filter.trim().into() };
            let call = || {
                let mut client = PerMuEvaluationServiceClient::new(peers.land.clone());
                let request = outgoing::on_behalf_of(who, request_id, message.clone(), DEADLINE);
                async move { client.summarize_per_mu(request).await }
            };
            let response = outgoing::call_with_one_retry(service.name(), rpc, RETRY_BACKOFF, call)
                .await
                .map_err(|f| failed(goal, service, f))?;
            let id = upstream_id(&response);
            let r = response.into_inner();
            let means: Vec<(String, String)> = r.measures.iter().map(|m| (m.name.clone(), m.mean.clone())).collect();
            let value = actuals::land_value(&measure, r.enterprises_evaluated, &r.by_class, &means)
                .map_err(|m| ApiError::precondition("ACTUAL_UNAVAILABLE", format!("'{}': {m}", goal.name)))?;
            (value, id, format!("{year} ({})", source.filter.trim()))
        }
    };
    Ok((
        value,
        Provenance {
            value: value.to_string(),
            unit: goal.unit.clone(),
            service: service.name().into(),
            rpc: rpc.into(),
            request_id: upstream,
            fetched_at: now(),
            as_of: period,
        },
    ))
}

/// The explanation step of an actual read from another service.
pub fn step(
    book: &civic_domain::policy::PolicyBook,
    region: civic_domain::RegionCode,
    on: NaiveDate,
    name: &str,
    p: &Provenance,
) -> ApiResult<civic_proto::common::v1::TraceStep> {
    let source =
        book.rule_source("budget.actual_source", region, on).map_err(|e| ApiError::domain("region_code", e))?;
    Ok(civic_proto::common::v1::TraceStep {
        rule_id: "budget.actual_source".into(),
        description: format!(
            "“{name}”实际值取自 {} {}({}),对方请求号 {},读取于 {}",
            p.service, p.rpc, p.as_of, p.request_id, p.fetched_at
        ),
        formula: String::new(),
        result: format!("{} {}", p.value, p.unit),
        parameters: vec![],
        source: Some(civic_runtime::mapping::into_source(source)),
    })
}
