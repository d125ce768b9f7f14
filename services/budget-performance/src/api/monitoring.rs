//! `civic.budget.v1.MonitoringService`: dual monitoring of programmes. The bureau that spends
//! monitors (谁支出、谁负责); finance reviews; auditors read.

use civic_domain::Fen;
use civic_proto::budget::v1::{self as pb, monitoring_service_server::MonitoringService};
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller},
    ApiError, ApiResult,
};
use tonic::{Request, Response, Status};

use super::respond;
use crate::rules::monitoring::{self, shown, Figures, Progress, RequestedRules};

#[derive(Clone)]
pub struct MonitoringApi {
    pub book: BookHandle,
}

/// Every bureau monitors its own programmes, finance all of them.
const MONITORING: &[Role] = &Role::ALL;

pub(crate) fn requested_rules(r: Option<&pb::MonitoringRules>) -> ApiResult<RequestedRules> {
    let Some(r) = r else { return Ok(RequestedRules::default()) };
    Ok(RequestedRules {
        lag_tolerance: request::opt_decimal("rules.lag_tolerance_points", &r.lag_tolerance_points)?,
        schedule: r
            .schedule
            .iter()
            .enumerate()
            .map(|(i, m)| Ok((m.month, request::decimal(&format!("rules.schedule[{i}].min_percent"), &m.min_percent)?)))
            .collect::<ApiResult<Vec<_>>>()?,
        divergence: request::opt_decimal("rules.divergence_points", &r.divergence_points)?,
        document: r.document.clone(),
        clause: r.clause.clone(),
    })
}

pub(crate) fn figures(f: Option<&pb::MonitoringFigures>, indicators: &[pb::IndicatorProgress]) -> ApiResult<Figures> {
    let f = f.ok_or_else(|| ApiError::invalid("figures", "the checkpoint's money is required"))?;
    Ok(Figures {
        budget: Fen::new(f.budget_fen),
        arrived: Fen::new(f.arrived_fen),
        paid: Fen::new(f.paid_fen),
        spent: Fen::new(f.spent_fen),
        expected_carryover: Fen::new(f.expected_carryover_fen),
        indicators: indicators
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(Progress {
                    name: p.name.trim().to_string(),
                    unit: p.unit.trim().to_string(),
                    target: request::decimal(&format!("indicators[{i}].target"), &p.target)?,
                    progress: request::decimal(&format!("indicators[{i}].progress"), &p.progress)?,
                    progress_unit: p.progress_unit.trim().to_string(),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?,
    })
}

pub(crate) fn outcome_pb(o: &monitoring::Outcome) -> pb::EvaluateMonitoringResponse {
    pb::EvaluateMonitoringResponse {
        execution_percent: shown(o.execution_percent),
        time_percent: shown(o.time_percent),
        lag_points: shown(o.lag_points),
        goals: o.goal_percent.iter().map(|(n, p)| pb::GoalProgress { name: n.clone(), percent: shown(*p) }).collect(),
        warnings: o
            .warnings
            .iter()
            .map(|w| pb::MonitoringWarning {
                rule_id: w.rule_id.into(),
                subject: w.subject.clone(),
                message: w.message.clone(),
                figure: shown(w.figure),
                threshold: w.threshold.normalize().to_string(),
            })
            .collect(),
        explanation: Some(mapping::explanation(&o.trace)),
    }
}

impl MonitoringApi {
    fn evaluate(&self, who: &Caller, r: &pb::EvaluateMonitoringRequest) -> ApiResult<pb::EvaluateMonitoringResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, MONITORING, "evaluate monitoring", region)
            .map_err(ApiError::from)?;
        let as_of = request::served_date("as_of", &r.as_of)?;
        let figures = figures(r.figures.as_ref(), &r.indicators)?;
        let rules = monitoring::rule_set(&book, region, as_of, &requested_rules(r.rules.as_ref())?)?;
        let o = monitoring::evaluate(&book, region, as_of, &figures, &rules)?;
        Ok(outcome_pb(&o))
    }
}

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
}
