//! `civic.budget.v1.MonitoringService`: dual monitoring of programmes. The bureau that spends
//! monitors (谁支出、谁负责); finance reviews; auditors read.

use chrono::Datelike;
use civic_domain::{
    explanation::{Step, Trace},
    Fen, RegionCode,
};
use civic_proto::budget::v1::{self as pb, monitoring_service_server::MonitoringService};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller, request_id},
    storage::Database,
    ApiError, ApiResult,
};
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};

use super::{
    is_id,
    programmes::{check_programme, may_own},
    respond,
};
use crate::{
    rules::{
        goals::{GoalDirection, Goals},
        monitoring::{self, shown, Figures, Progress, RequestedRules},
    },
    store::{
        goals as goal_store,
        holds::{self, HoldRow},
        monitoring::{self as store, Raised, RecordRow, Transition, WarningFilter, WarningRow},
        programmes::{self as programme_store, ProgrammeRow},
    },
};

#[derive(Clone)]
pub struct MonitoringApi {
    pub book: BookHandle,
    pub db: Database,
    /// Where goal indicators' actuals are read.
    pub peers: super::actuals::Peers,
}

const FINANCE: &[Role] = &[Role::Finance];

/// One indicator's recorded progress, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredProgress {
    name: String,
    progress: String,
    likelihood: String,
    cause: String,
    measures: String,
    /// Set when the progress was read from another service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actual: Option<super::actuals::Provenance>,
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

fn warning_pb(w: &WarningRow) -> pb::Warning {
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

fn hold_pb(h: &HoldRow) -> pb::PaymentHold {
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

fn record_pb(
    r: &RecordRow,
    warnings: &[WarningRow],
    evaluation: pb::EvaluateMonitoringResponse,
) -> ApiResult<pb::MonitoringRecord> {
    let stored: Vec<StoredProgress> = serde_json::from_str(&r.indicators_json)
        .map_err(|e| ApiError::Internal(format!("monitoring record indicators: {e}")))?;
    Ok(pb::MonitoringRecord {
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
                actual: p.actual.as_ref().map(super::actuals::Provenance::to_pb),
            })
            .collect(),
        evaluation: Some(evaluation),
        warnings: warnings.iter().map(warning_pb).collect(),
        correction_reason: r.correction_reason.clone(),
        recorded_by: r.recorded_by.clone(),
        recorded_at: r.recorded_at.clone(),
    })
}

fn note(field: &str, s: &str, required: bool) -> ApiResult<String> {
    super::text(field, s, required, 500)
}

/// A programme's checkpoint evaluated against its approved goals: the record to store and the
/// warnings it raises. Field names are those of a RecordMonitoring request.
#[allow(clippy::too_many_arguments)]
fn checkpoint(
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
async fn reevaluate(
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

impl MonitoringApi {
    async fn import(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::ImportMonitoringRequest,
    ) -> ApiResult<pb::ImportMonitoringResponse> {
        use crate::tables::{self, RowError};
        let book = self.book.current();
        let scope = request::region_code(&book, "region_code", &r.region_code)?;
        let writers: Vec<Role> = Role::ALL.into_iter().filter(|r| may_own(*r)).collect();
        who.authorize(&book.regions, Access::Write, &writers, "import monitoring", scope).map_err(ApiError::from)?;
        let as_of = request::served_date("as_of", &r.as_of)?;
        if as_of > request::china_today() {
            return Err(ApiError::invalid("as_of", "a checkpoint that has passed"));
        }
        if as_of.succ_opt().is_none_or(|n| n.month() == as_of.month()) {
            return Err(ApiError::invalid("as_of", "a checkpoint is a month's last day"));
        }
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let correction = note("correction_reason", &r.correction_reason, false)?;
        let requested = requested_rules(r.rules.as_ref())?;
        let fail = |errors: Vec<RowError>| pb::ImportMonitoringResponse {
            errors: errors
                .into_iter()
                .take(tables::MAX_ERRORS)
                .map(|e| pb::ImportRowError { row: e.row, field: e.field, message: e.message })
                .collect(),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let table = match tables::read(format, &r.content, tables::MONITORING_COLUMNS) {
            Ok(t) => t,
            Err(errors) => return Ok(fail(errors)),
        };
        let progress_columns: Vec<(String, usize)> = table
            .extra
            .iter()
            .filter_map(|(h, i)| h.strip_prefix("progress:").map(|n| (n.trim().to_string(), *i)))
            .collect();
        let prefix = region_prefix(scope);
        let year = i64::from(as_of.year());
        let programmes: std::collections::HashMap<(String, String), ProgrammeRow> =
            programme_store::all_for_year(&self.db, &prefix, year)
                .await?
                .into_iter()
                .map(|p| ((p.region_code.clone(), p.code.clone()), p))
                .collect();
        let goals = goal_store::in_force_for_region(&self.db, &prefix, year, &as_of.to_string()).await?;
        let recorded = store::recorded(&self.db, &prefix, &as_of.to_string()).await?;
        tracing::debug!(
            programmes = programmes.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "monitoring import: file, programmes, goals and earlier records read"
        );
        // Each region's rule set (an index into `sets`), each set with the index of its stored
        // form among the distinct ones (`rules_json`).
        let mut rule_sets: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut sets: Vec<(monitoring::RuleSet, usize)> = Vec::new();
        let mut rules_json: Vec<String> = Vec::new();
        let mut errors = Vec::new();
        let mut items = Vec::with_capacity(table.rows.len());
        let mut seen = std::collections::HashMap::new();
        for (rn, row) in &table.rows {
            let cell = |k: &str| table.cell(row, k);
            let region_code =
                if cell("region_code").is_empty() { scope.to_string() } else { cell("region_code").to_string() };
            let code = cell("programme_code").to_string();
            let Some(p) = programmes.get(&(region_code.clone(), code.clone())) else {
                errors.push(RowError::new(
                    *rn,
                    "programme_code",
                    format!("no programme {code} of {region_code} in {year} within {scope}"),
                ));
                continue;
            };
            if let Err(e) = check_programme(&book, who, Access::Write, p, "import monitoring") {
                errors.push(RowError::new(*rn, "programme_code", e.to_string()));
                continue;
            }
            if let Some(first) = seen.insert(p.id.clone(), *rn) {
                errors.push(RowError::new(*rn, "programme_code", format!("programme {code} is also on row {first}")));
                continue;
            }
            if recorded.contains(&p.id) && correction.is_empty() {
                errors.push(RowError::new(
                    *rn,
                    "programme_code",
                    format!("checkpoint {as_of} of programme {code} is recorded: a correction needs correction_reason"),
                ));
                continue;
            }
            let Some(goals_row) = goals.get(&p.id) else {
                errors.push(RowError::new(
                    *rn,
                    "programme_code",
                    format!("programme {code} has no approved goals in force on {as_of}"),
                ));
                continue;
            };
            let money = |k: &str| if cell(k).is_empty() { Ok(0) } else { tables::yuan_to_fen(cell(k)) };
            let mut amounts = [0i64; 4];
            let mut bad = false;
            for (slot, k) in ["arrived_yuan", "paid_yuan", "spent_yuan", "expected_carryover_yuan"].iter().enumerate() {
                match money(k) {
                    Ok(v) => amounts[slot] = v,
                    Err(e) => {
                        errors.push(RowError::new(*rn, k, e));
                        bad = true;
                    }
                }
            }
            if bad {
                continue;
            }
            let figures = pb::MonitoringFigures {
                budget_fen: 0,
                arrived_fen: amounts[0],
                paid_fen: amounts[1],
                spent_fen: amounts[2],
                expected_carryover_fen: amounts[3],
            };
            let indicators: Vec<pb::RecordedProgress> = progress_columns
                .iter()
                .filter_map(|(name, i)| row.get(*i).map(|v| (name, v.trim())))
                .filter(|(_, v)| !v.is_empty())
                .map(|(name, v)| pb::RecordedProgress {
                    name: name.clone(),
                    progress: v.to_string(),
                    ..Default::default()
                })
                .collect();
            let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
            // One rule set per region (their thresholds may differ), stored once each.
            let set = match rule_sets.get(&p.region_code) {
                Some(i) => *i,
                None => {
                    let set = monitoring::rule_set(&book, region, as_of, &requested)?;
                    let json = set.to_json();
                    let stored = match rules_json.iter().position(|j| *j == json) {
                        Some(j) => j,
                        None => {
                            rules_json.push(json);
                            rules_json.len() - 1
                        }
                    };
                    sets.push((set, stored));
                    rule_sets.insert(p.region_code.clone(), sets.len() - 1);
                    sets.len() - 1
                }
            };
            let (rules, stored) = &sets[set];
            match checkpoint(&book, region, as_of, p, goals_row, &figures, &indicators, rules, &correction) {
                Ok((record, raised, _)) => items.push(store::Imported {
                    record,
                    region_code: p.region_code.clone(),
                    raised,
                    rule_set: *stored,
                }),
                Err(ApiError::InvalidArgument(v)) => {
                    for (field, message) in v {
                        errors.push(RowError::new(*rn, &field, message));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !errors.is_empty() {
            return Ok(fail(errors));
        }
        tracing::debug!(
            rows = items.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "monitoring import checked"
        );
        let (records, warnings) = store::import(
            &self.db,
            who,
            rid,
            &as_of.to_string(),
            &prefix,
            store::Batch { items, rule_sets: rules_json },
            &correction,
        )
        .await?;
        tracing::debug!(
            records,
            warnings,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "monitoring import stored"
        );
        Ok(pb::ImportMonitoringResponse {
            records: records as i64,
            warnings: warnings as i64,
            errors: vec![],
            stored: true,
        })
    }

    /// The 项目支出绩效目标执行监控表 of a programme: each checkpoint's money, then each goal
    /// indicator's progress.
    async fn export_table(&self, who: &Caller, r: &pb::ExportMonitoringTableRequest) -> ApiResult<pb::ExportedTable> {
        use crate::tables::{fen_to_yuan, file};
        let book = self.book.current();
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let p = self.programme(&r.programme_id).await?;
        check_programme(&book, who, Access::Read, &p, "read monitoring")?;
        let records = store::records_for(&self.db, &p.id).await?;
        let mut rows: Vec<Vec<String>> = vec![vec![
            "检查点".into(),
            "项目".into(),
            "年度预算数/年度指标值".into(),
            "1至本月执行数/完成值".into(),
            "执行率/完成率".into(),
            "全年预计执行数/完成值".into(),
            "偏差原因".into(),
            "完成目标可能性".into(),
            "纠偏措施".into(),
        ]];
        for rec in &records {
            // The goal set the record was measured against: read once, for its evaluation and
            // for every indicator's target.
            let goals_row = goal_store::version(&self.db, &p.id, rec.goal_version)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("record {}/{} names a missing goal set", p.id, rec.as_of)))?;
            let goals: Goals = serde_json::from_str(&goals_row.goals_json)
                .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", p.id, goals_row.version)))?;
            let e = reevaluate(&self.db, &book, &p, rec, &goals_row).await?;
            let shown = record_pb(rec, &[], e.clone())?;
            rows.push(vec![
                rec.as_of.clone(),
                "预算执行(支出)".into(),
                fen_to_yuan(rec.budget_fen),
                fen_to_yuan(rec.spent_fen),
                format!("{}%", e.execution_percent),
                fen_to_yuan(rec.budget_fen.saturating_sub(rec.expected_carryover_fen)),
                String::new(),
                String::new(),
                String::new(),
            ]);
            for (i, g) in shown.indicators.iter().enumerate() {
                let pct = e.goals.get(i).map(|x| format!("{}%", x.percent)).unwrap_or_default();
                let target = goals
                    .indicators
                    .iter()
                    .find(|x| x.name == g.name)
                    .map(|x| format!("{}{}", x.target, x.unit))
                    .unwrap_or_default();
                let likelihood = match pb::Likelihood::try_from(g.likelihood) {
                    Ok(pb::Likelihood::Certain) => "确定能",
                    Ok(pb::Likelihood::Possible) => "有可能",
                    Ok(pb::Likelihood::Impossible) => "完全不可能",
                    _ => "",
                };
                let cause = match pb::DeviationCause::try_from(g.cause) {
                    Ok(pb::DeviationCause::Funding) => "经费保障",
                    Ok(pb::DeviationCause::Rules) => "制度保障",
                    Ok(pb::DeviationCause::Staff) => "人员保障",
                    Ok(pb::DeviationCause::Facilities) => "硬件条件保障",
                    Ok(pb::DeviationCause::Other) => "其他",
                    _ => "",
                };
                rows.push(vec![
                    rec.as_of.clone(),
                    g.name.clone(),
                    target,
                    g.progress.clone(),
                    pct,
                    String::new(),
                    cause.into(),
                    likelihood.into(),
                    g.measures.clone(),
                ]);
            }
        }
        let header = ["项目支出绩效目标执行监控表", &p.name, &p.owner_unit, "", "", "", "", "", ""];
        let content = civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
            .map_err(ApiError::Internal)?;
        let (filename, content_type) = file(&format!("monitoring-{}-{}", p.code, p.budget_year), format);
        Ok(pb::ExportedTable { filename, content_type, content, rows: rows.len() as i64 })
    }

    async fn programme(&self, id: &str) -> ApiResult<ProgrammeRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        programme_store::get(&self.db, id.trim())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("programme {}", id.trim())))
    }

    async fn record(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::RecordMonitoringRequest,
    ) -> ApiResult<pb::MonitoringRecord> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = check_programme(&book, who, Access::Write, &p, "record monitoring")?;
        let as_of = request::served_date("as_of", &r.as_of)?;
        if i64::from(as_of.year()) != p.budget_year {
            return Err(ApiError::invalid(
                "as_of",
                format!("a checkpoint in the programme's budget year {}", p.budget_year),
            ));
        }
        if as_of > request::china_today() {
            return Err(ApiError::invalid("as_of", "a checkpoint that has passed"));
        }
        let correction = note("correction_reason", &r.correction_reason, false)?;
        let goals_row = goal_store::in_force(&self.db, &p.id, &as_of.to_string()).await?.ok_or_else(|| {
            ApiError::precondition(
                "NO_APPROVED_GOALS",
                format!(
                    "programme {} has no approved goals in force on {as_of}: monitoring measures progress against them",
                    p.id
                ),
            )
        })?;
        let f = r.figures.as_ref().ok_or_else(|| ApiError::invalid("figures", "the checkpoint's money is required"))?;
        let rules = monitoring::rule_set(&book, region, as_of, &requested_rules(r.rules.as_ref())?)?;
        // Indicators whose actuals another service keeps are read there, before anything is
        // stored: a failure leaves nothing half-written.
        let (indicators, fetched) = self.read_actuals(who, rid, &p, &goals_row, as_of, &r.indicators).await?;
        let (mut row, raised, outcome) =
            checkpoint(&book, region, as_of, &p, &goals_row, f, &indicators, &rules, &correction)?;
        let mut evaluation = outcome_pb(&outcome);
        if !fetched.is_empty() {
            let mut stored: Vec<StoredProgress> = serde_json::from_str(&row.indicators_json)
                .map_err(|e| ApiError::Internal(format!("monitoring record indicators: {e}")))?;
            for s in stored.iter_mut() {
                s.actual = fetched.iter().find(|(n, _)| *n == s.name).map(|(_, p)| p.clone());
            }
            row.indicators_json = serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
            let steps = fetched
                .iter()
                .map(|(name, prov)| super::actuals::step(&book, region, as_of, name, prov))
                .collect::<ApiResult<Vec<_>>>()?;
            evaluation.explanation.get_or_insert_with(Default::default).steps.extend(steps);
        }
        let (row, warnings) =
            store::record(&self.db, who, rid, &p.region_code, &row, &rules.to_json(), &raised, !correction.is_empty())
                .await?;
        record_pb(&row, &warnings, evaluation)
    }

    /// The request's indicators with every sourced one read from its service (the clerk may
    /// give its likelihood, cause and measures, never its progress), and what was read.
    async fn read_actuals(
        &self,
        who: &Caller,
        rid: &str,
        p: &ProgrammeRow,
        goals_row: &crate::store::goals::GoalSetRow,
        as_of: chrono::NaiveDate,
        given: &[pb::RecordedProgress],
    ) -> ApiResult<(Vec<pb::RecordedProgress>, Vec<(String, super::actuals::Provenance)>)> {
        let goals: Goals = serde_json::from_str(&goals_row.goals_json)
            .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", p.id, goals_row.version)))?;
        let mut indicators = given.to_vec();
        let mut fetched = Vec::new();
        for g in &goals.indicators {
            let Some(source) = &g.actual_source else { continue };
            if let Some(i) = indicators.iter().position(|x| x.name.trim() == g.name && !x.progress.trim().is_empty()) {
                return Err(ApiError::invalid(
                    format!("indicators[{i}].progress"),
                    format!("'{}' is read from {}: leave its progress empty", g.name, source.service.name()),
                ));
            }
            let (value, provenance) =
                super::actuals::fetch(&self.peers, who, rid, (&p.region_code, p.budget_year), as_of, g, source).await?;
            match indicators.iter_mut().find(|x| x.name.trim() == g.name) {
                Some(x) => x.progress = value.to_string(),
                None => indicators.push(pb::RecordedProgress {
                    name: g.name.clone(),
                    progress: value.to_string(),
                    ..Default::default()
                }),
            }
            fetched.push((g.name.clone(), provenance));
        }
        Ok((indicators, fetched))
    }

    async fn list_warnings(&self, who: &Caller, r: &pb::ListWarningsRequest) -> ApiResult<pb::ListWarningsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| may_own(*r)).collect();
        who.authorize(&book.regions, Access::Read, &readers, "list warnings", region).map_err(ApiError::from)?;
        let as_of = if r.as_of.trim().is_empty() {
            String::new()
        } else {
            request::served_date("as_of", &r.as_of)?.to_string()
        };
        let status = match pb::WarningStatus::try_from(r.status) {
            Ok(pb::WarningStatus::Unspecified) => String::new(),
            Ok(s) => s.as_str_name().trim_start_matches("WARNING_STATUS_").to_string(),
            Err(_) => return Err(ApiError::invalid("status", "a WarningStatus")),
        };
        let programme = r.programme_id.trim();
        if !programme.is_empty() && !is_id(programme) {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        let after = r.page_token.trim();
        if !after.is_empty() && !is_id(after) {
            return Err(ApiError::invalid("page_token", "not a token this service issued"));
        }
        let size = request::page_size("page_size", r.page_size)?;
        let owner =
            if matches!(who.role, Role::Finance | Role::Admin | Role::Auditor) { "" } else { who.role.as_str() };
        let rows = store::list_warnings(
            &self.db,
            &WarningFilter {
                region_prefix: region_prefix(region),
                as_of: &as_of,
                status: &status,
                programme_id: programme,
                owner_role: owner,
                after,
                limit: size as i64 + 1,
            },
        )
        .await?;
        let more = rows.len() > size;
        let page: Vec<WarningRow> = rows.into_iter().take(size).collect();
        Ok(pb::ListWarningsResponse {
            next_page_token: if more { page.last().map(|w| w.id.clone()).unwrap_or_default() } else { String::new() },
            warnings: page.iter().map(warning_pb).collect(),
        })
    }

    async fn update_warning(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::UpdateWarningRequest,
        from: &[&str],
        to: &'static str,
    ) -> ApiResult<pb::Warning> {
        let book = self.book.current();
        let id = r.warning_id.trim();
        if !is_id(id) {
            return Err(ApiError::invalid("warning_id", "a warning id this service assigned"));
        }
        let w = store::get_warning(&self.db, id).await?.ok_or_else(|| ApiError::not_found(format!("warning {id}")))?;
        let p = self.programme(&w.programme_id).await?;
        if to == "ESCALATED" {
            let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
            who.authorize(&book.regions, Access::Write, FINANCE, "escalate warnings", region)
                .map_err(ApiError::from)?;
        } else {
            check_programme(&book, who, Access::Write, &p, "handle warnings")?;
        }
        let text = note("note", &r.note, to != "ACKNOWLEDGED")?;
        Ok(warning_pb(
            &store::update_warning(&self.db, who, rid, id, r.expected_version, &Transition { from, to, note: &text })
                .await?,
        ))
    }

    async fn place_hold(&self, who: &Caller, rid: &str, r: &pb::PlacePaymentHoldRequest) -> ApiResult<pb::PaymentHold> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "place payment holds", region).map_err(ApiError::from)?;
        let kind = match pb::HoldKind::try_from(r.kind) {
            Ok(pb::HoldKind::Suspend) => "SUSPEND",
            Ok(pb::HoldKind::Stop) => "STOP",
            _ => return Err(ApiError::invalid("kind", "HOLD_KIND_SUSPEND (暂缓拨款) or HOLD_KIND_STOP (停止拨款)")),
        };
        let reason = note("reason", &r.reason, true)?;
        for (i, id) in r.warning_ids.iter().enumerate() {
            let field = format!("warning_ids[{i}]");
            let w = if is_id(id.trim()) { store::get_warning(&self.db, id.trim()).await? } else { None };
            if w.is_none_or(|w| w.programme_id != p.id) {
                return Err(ApiError::invalid(field, "not a warning of this programme"));
            }
        }
        let placed_on = request::date_or_today("placed_on", &r.placed_on)?;
        request::served_date("placed_on", &placed_on.to_string())?;
        book.rule_source("budget.hold", region, placed_on).map_err(|e| ApiError::domain("placed_on", e))?;
        let hold = HoldRow {
            id: uuid::Uuid::new_v4().to_string(),
            programme_id: p.id.clone(),
            region_code: p.region_code.clone(),
            kind: kind.into(),
            reason,
            warning_ids: r.warning_ids.iter().map(|s| s.trim()).collect::<Vec<_>>().join(","),
            placed_by: String::new(),
            placed_on: placed_on.to_string(),
            placed_at: String::new(),
            lifted_by: String::new(),
            lifted_on: String::new(),
            lift_reason: String::new(),
            is_open: true,
        };
        Ok(hold_pb(&holds::place(&self.db, who, rid, &hold).await?))
    }

    async fn lift_hold(&self, who: &Caller, rid: &str, r: &pb::LiftPaymentHoldRequest) -> ApiResult<pb::PaymentHold> {
        let book = self.book.current();
        let id = r.hold_id.trim();
        if !is_id(id) {
            return Err(ApiError::invalid("hold_id", "a hold id this service assigned"));
        }
        let h = holds::get(&self.db, id).await?.ok_or_else(|| ApiError::not_found(format!("payment hold {id}")))?;
        let region = RegionCode::parse(&h.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "lift payment holds", region).map_err(ApiError::from)?;
        let reason = note("reason", &r.reason, true)?;
        let on = request::date_or_today("lifted_on", &r.lifted_on)?;
        request::served_date("lifted_on", &on.to_string())?;
        Ok(hold_pb(&holds::lift(&self.db, who, rid, id, &on.to_string(), &reason).await?))
    }

    async fn check_payment(&self, who: &Caller, r: &pb::CheckPaymentRequest) -> ApiResult<pb::CheckPaymentResponse> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Read, FINANCE, "check payments", region).map_err(ApiError::from)?;
        if r.amount_fen <= 0 {
            return Err(ApiError::invalid("amount_fen", "a payment is positive"));
        }
        if r.pending_fen < 0 {
            return Err(ApiError::invalid("pending_fen", "must not be negative"));
        }
        let on = request::date_or_today("on_date", &r.on_date)?;
        request::served_date("on_date", &on.to_string())?;
        let hold_rule = book.rule_source("budget.hold", region, on).map_err(|e| ApiError::domain("on_date", e))?;
        let open: Vec<HoldRow> = holds::open_for(&self.db, &p.id)
            .await?
            .into_iter()
            .filter(|h| h.placed_on.as_str() <= on.to_string().as_str())
            .collect();
        if !open.is_empty() {
            let list: Vec<String> = open
                .iter()
                .map(|h| {
                    format!(
                        "{} {}(自 {}):{}",
                        h.id,
                        if h.kind == "STOP" { "停止拨款" } else { "暂缓拨款" },
                        h.placed_on,
                        h.reason
                    )
                })
                .collect();
            return Err(ApiError::precondition(
                "PAYMENT_HELD",
                format!(
                    "programme {} is under a payment hold ({} {}): {}",
                    p.id,
                    hold_rule.document,
                    hold_rule.clause,
                    list.join("; ")
                ),
            ));
        }
        let (paid, paid_as_of) = store::latest_paid(&self.db, &p.id).await?;
        let overflow = || ApiError::invalid("amount_fen", "too large");
        let committed =
            paid.checked_add(r.pending_fen).and_then(|v| v.checked_add(r.amount_fen)).ok_or_else(overflow)?;
        let remaining = p.adjusted_budget_fen.checked_sub(committed).ok_or_else(overflow)?;
        let formula = format!(
            "全年预算数 {} − 已拨付 {}{} − 在途 {} − 本次 {} = {}",
            Fen::new(p.adjusted_budget_fen).yuan_text(),
            Fen::new(paid).yuan_text(),
            paid_as_of.map(|d| format!("(截至 {d})")).unwrap_or_default(),
            Fen::new(r.pending_fen).yuan_text(),
            Fen::new(r.amount_fen).yuan_text(),
            Fen::new(remaining).yuan_text()
        );
        if remaining < 0 {
            return Err(ApiError::precondition(
                "ABOVE_BUDGET",
                format!("programme {}: the payment exceeds what is left of the year's budget: {formula}", p.id),
            ));
        }
        let mut trace = Trace::default();
        trace.push(Step {
            rule_id: "budget.hold".into(),
            description: "无暂缓或停止拨款决定，按进度拨款".into(),
            formula,
            result: "可以拨付".into(),
            parameters: vec![],
            source: Some(hold_rule),
        });
        Ok(pb::CheckPaymentResponse {
            allowed: true,
            remaining_after_fen: remaining,
            explanation: Some(mapping::explanation(&trace)),
        })
    }

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

    #[tracing::instrument(skip_all)]
    async fn record_monitoring(
        &self,
        req: Request<pb::RecordMonitoringRequest>,
    ) -> Result<Response<pb::MonitoringRecord>, Status> {
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
        req: Request<pb::UpdateWarningRequest>,
    ) -> Result<Response<pb::Warning>, Status> {
        let who = caller(&req)?;
        respond(self.update_warning(&who, &request_id(&req), req.get_ref(), &["OPEN"], "ACKNOWLEDGED").await)
    }

    #[tracing::instrument(skip_all)]
    async fn resolve_warning(&self, req: Request<pb::UpdateWarningRequest>) -> Result<Response<pb::Warning>, Status> {
        let who = caller(&req)?;
        respond(
            self.update_warning(
                &who,
                &request_id(&req),
                req.get_ref(),
                &["OPEN", "ACKNOWLEDGED", "ESCALATED"],
                "RESOLVED",
            )
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn escalate_warning(&self, req: Request<pb::UpdateWarningRequest>) -> Result<Response<pb::Warning>, Status> {
        let who = caller(&req)?;
        respond(
            self.update_warning(&who, &request_id(&req), req.get_ref(), &["OPEN", "ACKNOWLEDGED"], "ESCALATED").await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn place_payment_hold(
        &self,
        req: Request<pb::PlacePaymentHoldRequest>,
    ) -> Result<Response<pb::PaymentHold>, Status> {
        let who = caller(&req)?;
        respond(self.place_hold(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn lift_payment_hold(
        &self,
        req: Request<pb::LiftPaymentHoldRequest>,
    ) -> Result<Response<pb::PaymentHold>, Status> {
        let who = caller(&req)?;
        respond(self.lift_hold(&who, &request_id(&req), req.get_ref()).await)
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
    ) -> Result<Response<pb::ExportedTable>, Status> {
        let who = caller(&req)?;
        respond(self.export_table(&who, req.get_ref()).await)
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
