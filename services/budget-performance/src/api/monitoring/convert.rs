//! Requests to the rules' inputs, stored rows and outcomes to protobuf, and one checkpoint
//! judged, for the monitoring service.

use civic_domain::{Fen, RegionCode};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::Role,
    mapping,
    request::{self},
    storage::Database,
    ApiError, ApiResult,
};
use serde::{Deserialize, Serialize};

use crate::{
    rules::{
        goals::{GoalDirection, Goals},
        monitoring::{self, shown, Figures, Progress, RequestedRules},
    },
    store::{
        holds::HoldRow,
        monitoring::{self as store, Raised, RecordRow, WarningRow},
        programmes::ProgrammeRow,
    },
};

pub(super) const FINANCE: &[Role] = &[Role::Finance];

/// One indicator's recorded progress, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredProgress {
    pub(super) name: String,
    pub(super) progress: String,
    pub(super) likelihood: String,
    pub(super) cause: String,
    pub(super) measures: String,
    /// Set when the progress was read from another service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) actual: Option<crate::api::actuals::Provenance>,
}

/// Every bureau monitors its own programmes, finance all of them.
pub(super) const MONITORING: &[Role] = &Role::ALL;

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

pub(super) fn warning_pb(w: &WarningRow) -> pb::Warning {
    pb::Warning {
        id: w.id.clone(),
        programme_id: w.programme_id.clone(),
        region_code: w.region_code.clone(),
        as_of: w.as_of.clone(),
        rule_id: w.rule_id.clone(),
        subject: w.subject.clone(),
        message: w.message.clone(),
        figure: w.figure.clone(),
        threshold: w.threshold.clone(),
        status: pb::WarningStatus::from_str_name(&format!("WARNING_STATUS_{}", w.status)).unwrap_or_default() as i32,
        note: w.note.clone(),
        updated_by: w.updated_by.clone(),
        updated_at: w.updated_at.clone(),
        version: w.version,
    }
}

pub(super) fn hold_pb(h: &HoldRow) -> pb::PaymentHold {
    pb::PaymentHold {
        id: h.id.clone(),
        programme_id: h.programme_id.clone(),
        region_code: h.region_code.clone(),
        kind: pb::HoldKind::from_str_name(&format!("HOLD_KIND_{}", h.kind)).unwrap_or_default() as i32,
        reason: h.reason.clone(),
        warning_ids: h.warning_ids.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        placed_by: h.placed_by.clone(),
        placed_on: h.placed_on.clone(),
        lifted_by: h.lifted_by.clone(),
        lifted_on: h.lifted_on.clone(),
        lift_reason: h.lift_reason.clone(),
        open: h.is_open,
    }
}

pub(super) fn record_pb(
    r: &RecordRow,
    warnings: &[WarningRow],
    evaluation: pb::EvaluateMonitoringResponse,
) -> ApiResult<pb::RecordMonitoringResponse> {
    let stored: Vec<StoredProgress> = serde_json::from_str(&r.indicators_json)
        .map_err(|e| ApiError::Internal(format!("monitoring record indicators: {e}")))?;
    Ok(pb::RecordMonitoringResponse {
        programme_id: r.programme_id.clone(),
        as_of: r.as_of.clone(),
        version: r.version,
        goal_version: r.goal_version,
        figures: Some(pb::MonitoringFigures {
            budget_fen: r.budget_fen,
            arrived_fen: r.arrived_fen,
            paid_fen: r.paid_fen,
            spent_fen: r.spent_fen,
            expected_carryover_fen: r.expected_carryover_fen,
        }),
        indicators: stored
            .iter()
            .map(|p| pb::RecordedProgress {
                name: p.name.clone(),
                progress: p.progress.clone(),
                likelihood: pb::Likelihood::from_str_name(&p.likelihood).unwrap_or_default() as i32,
                cause: pb::DeviationCause::from_str_name(&p.cause).unwrap_or_default() as i32,
                measures: p.measures.clone(),
                actual: p.actual.as_ref().map(crate::api::actuals::Provenance::to_pb),
            })
            .collect(),
        evaluation: Some(evaluation),
        warnings: warnings.iter().map(warning_pb).collect(),
        correction_reason: r.correction_reason.clone(),
        recorded_by: r.recorded_by.clone(),
        recorded_at: r.recorded_at.clone(),
    })
}

pub(super) fn note(field: &str, s: &str, required: bool) -> ApiResult<String> {
    crate::api::text(field, s, required, 500)
}

/// A programme's checkpoint evaluated against its approved goals: the record to store and the
/// warnings it raises. Field names are those of a RecordMonitoring request.
#[allow(clippy::too_many_arguments)]
pub(super) fn checkpoint(
    book: &civic_domain::policy::PolicyBook,
    region: RegionCode,
    as_of: chrono::NaiveDate,
    p: &ProgrammeRow,
    goals_row: &crate::store::goals::GoalSetRow,
    f: &pb::MonitoringFigures,
    indicators: &[pb::RecordedProgress],
    rules: &monitoring::RuleSet,
    correction: &str,
) -> ApiResult<(RecordRow, Vec<Raised>, monitoring::Outcome)> {
    let r = pb::RecordMonitoringRequest { indicators: indicators.to_vec(), ..Default::default() };
    let correction = correction.to_string();
    let goals: Goals = serde_json::from_str(&goals_row.goals_json)
        .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", p.id, goals_row.version)))?;
    let mut progress = Vec::with_capacity(r.indicators.len());
    let mut stored = Vec::with_capacity(r.indicators.len());
    for (i, x) in r.indicators.iter().enumerate() {
        let f = |name: &str| format!("indicators[{i}].{name}");
        let name = x.name.trim();
        let goal = goals.indicators.iter().find(|g| g.name == name).ok_or_else(|| {
            ApiError::invalid(
                f("name"),
                format!("'{name}' is not an indicator of the approved goals (version {})", goals_row.version),
            )
        })?;
        if r.indicators[..i].iter().any(|y| y.name.trim() == name) {
            return Err(ApiError::invalid(f("name"), format!("'{name}' is given twice")));
        }
        if goal.direction == GoalDirection::Qualitative {
            return Err(ApiError::invalid(
                f("name"),
                format!("'{name}' is qualitative: its progress is judged at evaluation"),
            ));
        }
        let target = request::decimal(&f("target"), &goal.target)?;
        let value = request::decimal(&f("progress"), &x.progress)?;
        progress.push(Progress {
            name: name.to_string(),
            unit: goal.unit.clone(),
            target,
            progress: value,
            progress_unit: goal.unit.clone(),
        });
        stored.push(StoredProgress {
            name: name.to_string(),
            progress: value.normalize().to_string(),
            likelihood: pb::Likelihood::try_from(x.likelihood).unwrap_or_default().as_str_name().into(),
            cause: pb::DeviationCause::try_from(x.cause).unwrap_or_default().as_str_name().into(),
            measures: note(&f("measures"), &x.measures, false)?,
            actual: None,
        });
    }
    if f.budget_fen != 0 && f.budget_fen != p.adjusted_budget_fen {
        return Err(ApiError::invalid("figures.budget_fen", "the programme's 全年预算数 applies: leave it out"));
    }
    let figures = Figures {
        budget: Fen::new(p.adjusted_budget_fen),
        arrived: Fen::new(f.arrived_fen),
        paid: Fen::new(f.paid_fen),
        spent: Fen::new(f.spent_fen),
        expected_carryover: Fen::new(f.expected_carryover_fen),
        indicators: progress,
    };
    let outcome = monitoring::evaluate(book, region, as_of, &figures, rules)?;
    let row = RecordRow {
        programme_id: p.id.clone(),
        as_of: as_of.to_string(),
        version: 0,
        goal_version: goals_row.version,
        budget_fen: figures.budget.get(),
        arrived_fen: figures.arrived.get(),
        paid_fen: figures.paid.get(),
        spent_fen: figures.spent.get(),
        expected_carryover_fen: figures.expected_carryover.get(),
        indicators_json: serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?,
        rule_set_id: String::new(),
        import_id: String::new(),
        correction_reason: correction.clone(),
        recorded_by: String::new(),
        recorded_at: String::new(),
    };
    let raised: Vec<Raised> = outcome
        .warnings
        .iter()
        .map(|w| Raised {
            rule_id: w.rule_id.into(),
            subject: w.subject.clone(),
            message: w.message.clone(),
            figure: shown(w.figure),
            threshold: w.threshold.normalize().to_string(),
        })
        .collect();
    Ok((row, raised, outcome))
}

/// A stored checkpoint's evaluation, computed again from its figures, the goals it was
/// measured against (`goals_row`, the version the record names) and the thresholds it was
/// judged by (as stored with it).
pub(super) async fn reevaluate(
    db: &Database,
    book: &civic_domain::policy::PolicyBook,
    p: &ProgrammeRow,
    rec: &RecordRow,
    goals_row: &crate::store::goals::GoalSetRow,
) -> ApiResult<pb::EvaluateMonitoringResponse> {
    let rules = monitoring::RuleSet::from_json(&store::rule_set(db, &rec.rule_set_id).await?)
        .map_err(|e| ApiError::Internal(format!("monitoring rule set {}: {e}", rec.rule_set_id)))?;
    let stored: Vec<StoredProgress> = serde_json::from_str(&rec.indicators_json)
        .map_err(|e| ApiError::Internal(format!("monitoring record indicators: {e}")))?;
    let indicators: Vec<pb::RecordedProgress> = stored
        .iter()
        .map(|x| pb::RecordedProgress { name: x.name.clone(), progress: x.progress.clone(), ..Default::default() })
        .collect();
    let figures = pb::MonitoringFigures {
        budget_fen: 0,
        arrived_fen: rec.arrived_fen,
        paid_fen: rec.paid_fen,
        spent_fen: rec.spent_fen,
        expected_carryover_fen: rec.expected_carryover_fen,
    };
    let as_of = request::served_date("as_of", &rec.as_of)?;
    let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut budgeted = p.clone();
    budgeted.adjusted_budget_fen = rec.budget_fen;
    Ok(outcome_pb(&checkpoint(book, region, as_of, &budgeted, goals_row, &figures, &indicators, &rules, "")?.2))
}
