//! Dual monitoring (绩效目标和预算执行"双监控", 驻政〔2020〕37号 附件2 三(八)): at a month-end
//! checkpoint, how much of the year's budget is spent, against time progress (序时进度) and
//! against how far each goal indicator has come. The seed and the national rules give no
//! percentages: every threshold is a rule set — region data with its own local source, or
//! figures the request brings with the document it names — and a warning cites where its
//! threshold came from. Comparison words are read as the law reads them (超过 excludes the
//! number, 低于 excludes it, 民法典 第一千二百五十九条).
//!
//! One file on purpose: the rule set and its evaluation (time progress, the month table, goal
//! divergence) are one rule read top to bottom, every threshold with its source.
//!
//! (About 470 lines: the checkpoint's figures, the three kinds of warning rule and the explanation
//! of each step are one computation, read top to bottom.)

use chrono::{Datelike, NaiveDate};
use civic_domain::{
    compare::Cmp,
    explanation::{ParameterUse, SourceRef, Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::RuleError;

/// A threshold and where it comes from.
#[derive(Debug, Clone)]
pub struct Threshold {
    pub value: Decimal,
    pub cmp: Cmp,
    pub origin: ParameterUse,
}

/// The warning rules that apply at one checkpoint.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// Lag behind linear time progress, in points, beyond which a warning is raised.
    pub lag_tolerance: Option<Threshold>,
    /// The least execution (percent of 全年预算数) expected by this checkpoint's month.
    pub schedule: Option<Threshold>,
    /// Gap between goal progress and execution, in points, beyond which a warning is raised.
    pub divergence: Option<Threshold>,
}

impl RuleSet {
    pub fn is_empty(&self) -> bool {
        self.lag_tolerance.is_none() && self.schedule.is_none() && self.divergence.is_none()
    }
}

/// Figures the request brings instead of region data, with the document that states them.
#[derive(Debug, Clone, Default)]
pub struct RequestedRules {
    pub lag_tolerance: Option<Decimal>,
    /// (month, least execution percent by its end).
    pub schedule: Vec<(u32, Decimal)>,
    pub divergence: Option<Decimal>,
    pub document: String,
    pub clause: String,
}

impl RequestedRules {
    pub fn is_empty(&self) -> bool {
        self.lag_tolerance.is_none() && self.schedule.is_empty() && self.divergence.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Progress {
    pub name: String,
    pub unit: String,
    pub target: Decimal,
    pub progress: Decimal,
    pub progress_unit: String,
}

#[derive(Debug, Clone)]
pub struct Figures {
    pub budget: Fen,
    pub arrived: Fen,
    pub paid: Fen,
    pub spent: Fen,
    pub expected_carryover: Fen,
    pub indicators: Vec<Progress>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub rule_id: &'static str,
    /// What the warning is about: "execution", or the indicator's name.
    pub subject: String,
    pub message: String,
    pub figure: Decimal,
    pub threshold: Decimal,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// Percent, exact.
    pub execution_percent: Decimal,
    pub time_percent: Decimal,
    pub lag_points: Decimal,
    /// Per indicator, percent of its target, exact.
    pub goal_percent: Vec<(String, Decimal)>,
    pub warnings: Vec<Warning>,
    pub trace: Trace,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> RuleError {
    RuleError::InputAt { field: field.into(), message: message.into() }
}

pub use super::two_places as shown;

fn is_month_end(d: NaiveDate) -> bool {
    d.succ_opt().is_some_and(|n| n.month() != d.month())
}

/// The rule set for `region` on `as_of`: the request's figures where it brings any (with the
/// document it names), else the region's data; an error when neither has one.
pub fn rule_set(
    book: &PolicyBook,
    region: RegionCode,
    as_of: NaiveDate,
    requested: &RequestedRules,
) -> Result<RuleSet, RuleError> {
    if !requested.is_empty() {
        if requested.document.trim().is_empty() {
            return Err(bad(
                "rules.document",
                "thresholds brought with the request must name the document that sets them",
            ));
        }
        let origin = |key: &str, value: Decimal, unit: &str| ParameterUse {
            key: key.into(),
            name: book.definition(key).map(|d| d.name.clone()).unwrap_or_default(),
            region: region.to_string(),
            value,
            unit: unit.into(),
            source: SourceRef {
                document: requested.document.trim().into(),
                clause: requested.clause.trim().into(),
                note: "given with the request".into(),
                ..SourceRef::default()
            },
        };
        let mut months = std::collections::BTreeSet::new();
        for (i, (m, v)) in requested.schedule.iter().enumerate() {
            if !(1..=12).contains(m) || !months.insert(*m) {
                return Err(bad(format!("rules.schedule[{i}].month"), "a month 1–12, each once"));
            }
            if *v < Decimal::ZERO || *v > Decimal::ONE_HUNDRED {
                return Err(bad(format!("rules.schedule[{i}].min_percent"), "between 0 and 100"));
            }
        }
        for (field, v) in
            [("rules.lag_tolerance_points", requested.lag_tolerance), ("rules.divergence_points", requested.divergence)]
        {
            if v.is_some_and(|v| v < Decimal::ZERO || v > Decimal::ONE_HUNDRED) {
                return Err(bad(field, "between 0 and 100"));
            }
        }
        let month = as_of.month();
        return Ok(RuleSet {
            lag_tolerance: requested.lag_tolerance.map(|v| Threshold {
                value: v,
                cmp: Cmp::Gt,
                origin: origin("budget.monitoring.lag_tolerance", v, "percentage points"),
            }),
            schedule: requested.schedule.iter().find(|(m, _)| *m == month).map(|(_, v)| Threshold {
                value: *v,
                cmp: Cmp::Lt,
                origin: origin(&format!("budget.monitoring.schedule.{month}"), *v, "percent"),
            }),
            divergence: requested.divergence.map(|v| Threshold {
                value: v,
                cmp: Cmp::Gt,
                origin: origin("budget.monitoring.divergence", v, "percentage points"),
            }),
        });
    }
    let find = |key: &str, default: Cmp| -> Result<Option<Threshold>, RuleError> {
        match book.value_if_in_force(key, region, as_of)? {
            Some(r) => Ok(Some(Threshold { value: r.value, cmp: r.cmp.unwrap_or(default), origin: r.to_use() })),
            None => Ok(None),
        }
    };
    let set = RuleSet {
        lag_tolerance: find("budget.monitoring.lag_tolerance", Cmp::Gt)?,
        schedule: find(&format!("budget.monitoring.schedule.{}", as_of.month()), Cmp::Lt)?,
        divergence: find("budget.monitoring.divergence", Cmp::Gt)?,
    };
    if set.is_empty() {
        return Err(RuleError::Forbidden {
            reason: "NO_MONITORING_RULES",
            message: format!(
                "region {region} has no monitoring rule set in force on {as_of} and the request brings none \
                 (the seed and the national rules give no percentages: bring them with the document that sets them)"
            ),
        });
    }
    Ok(set)
}

/// Check the figures of a checkpoint: none negative, spent within what arrived and within the
/// year's budget, progress in the goal's unit.
pub fn validate(f: &Figures) -> Result<(), RuleError> {
    for (field, v) in [
        ("budget_fen", f.budget),
        ("arrived_fen", f.arrived),
        ("paid_fen", f.paid),
        ("spent_fen", f.spent),
        ("expected_carryover_fen", f.expected_carryover),
    ] {
        if v.get() < 0 {
            return Err(bad(field, "must not be negative"));
        }
    }
    if f.budget.get() == 0 {
        return Err(bad("budget_fen", "全年预算数 must be positive"));
    }
    if f.spent > f.budget {
        return Err(bad(
            "spent_fen",
            format!("支出 {} exceeds 全年预算数 {}", f.spent.yuan_text(), f.budget.yuan_text()),
        ));
    }
    if f.spent > f.arrived {
        return Err(bad("spent_fen", format!("支出 {} exceeds 到位 {}", f.spent.yuan_text(), f.arrived.yuan_text())));
    }
    for (i, p) in f.indicators.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(bad(format!("indicators[{i}].name"), "required"));
        }
        if p.target <= Decimal::ZERO {
            return Err(bad(format!("indicators[{i}].target"), "must be positive"));
        }
        if p.progress < Decimal::ZERO {
            return Err(bad(format!("indicators[{i}].progress"), "must not be negative"));
        }
        if p.progress_unit.trim() != p.unit.trim() {
            return Err(bad(
                format!("indicators[{i}].progress_unit"),
                format!("progress in '{}' but the goal is in '{}'", p.progress_unit, p.unit),
            ));
        }
    }
    Ok(())
}

/// Evaluate a month-end checkpoint under `rules`.
pub fn evaluate(
    book: &PolicyBook,
    region: RegionCode,
    as_of: NaiveDate,
    f: &Figures,
    rules: &RuleSet,
) -> Result<Outcome, RuleError> {
    if !is_month_end(as_of) {
        return Err(bad("as_of", "a checkpoint is a month's last day"));
    }
    validate(f)?;
    let hundred = Decimal::ONE_HUNDRED;
    let overflow = || RuleError::Domain(civic_domain::DomainError::Overflow("monitoring"));
    let exec = Decimal::from(f.spent.get())
        .checked_mul(hundred)
        .and_then(|v| v.checked_div(Decimal::from(f.budget.get())))
        .ok_or_else(overflow)?;
    let month = Decimal::from(as_of.month());
    let time = month * hundred / Decimal::from(12);
    let lag = time - exec;
    let src = |rule: &str| book.rule_source(rule, region, as_of).map_err(RuleError::from);
    let law = src("law.threshold_semantics")?;
    let mut trace = Trace::default();
    let mut warnings = Vec::new();
    trace.push(Step {
        rule_id: "budget.monitoring.execution_rate".into(),
        description: "预算执行率 = 支出 ÷ 全年预算数".into(),
        formula: format!("{} ÷ {} = {}%", f.spent.yuan_text(), f.budget.yuan_text(), exec.normalize()),
        result: format!("{}%", shown(exec)),
        parameters: vec![],
        source: Some(src("budget.monitoring.dual")?),
    });
    trace.push(Step {
        rule_id: "budget.monitoring.time_progress".into(),
        description: "序时进度 = 月份 ÷ 12(月末检查点)".into(),
        formula: format!(
            "{} ÷ 12 = {}%;滞后 {} − {} = {} 个百分点",
            as_of.month(),
            shown(time),
            shown(time),
            shown(exec),
            shown(lag)
        ),
        result: format!("{}%", shown(time)),
        parameters: vec![],
        source: Some(src("budget.monitoring.time_progress")?),
    });
    let threshold_step = |rule: &'static str, t: &Threshold, figure: Decimal, hit: bool, what: &str| Step {
        rule_id: rule.into(),
        description: what.to_string(),
        formula: format!(
            "{} {} {}({}) → {}",
            shown(figure),
            t.cmp.symbol(),
            t.value,
            t.cmp.word(),
            if hit { "预警" } else { "正常" }
        ),
        result: if hit { "WARNING".into() } else { "OK".into() },
        parameters: vec![t.origin.clone()],
        source: Some(law.clone()),
    };
    if let Some(t) = &rules.lag_tolerance {
        let hit = t.cmp.holds(lag, t.value);
        trace.push(threshold_step("budget.monitoring.lag", t, lag, hit, "执行进度滞后序时进度的百分点与容差比较"));
        if hit {
            warnings.push(Warning {
                rule_id: "budget.monitoring.lag",
                subject: "execution".into(),
                message: format!("执行率 {}% 滞后序时进度 {}% 共 {} 个百分点", shown(exec), shown(time), shown(lag)),
                figure: lag,
                threshold: t.value,
            });
        }
    }
    if let Some(t) = &rules.schedule {
        let hit = t.cmp.holds(exec, t.value);
        trace.push(threshold_step("budget.monitoring.schedule", t, exec, hit, "执行率与本月应达进度比较"));
        if hit {
            warnings.push(Warning {
                rule_id: "budget.monitoring.schedule",
                subject: "execution".into(),
                message: format!(
                    "执行率 {}% 低于 {} 月应达 {}%,差 {} 个百分点",
                    shown(exec),
                    as_of.month(),
                    t.value,
                    shown(t.value - exec)
                ),
                figure: exec,
                threshold: t.value,
            });
        }
    }
    let mut goal_percent = Vec::with_capacity(f.indicators.len());
    for p in &f.indicators {
        let g = p.progress.checked_mul(hundred).and_then(|v| v.checked_div(p.target)).ok_or_else(overflow)?;
        goal_percent.push((p.name.clone(), g));
        if let Some(t) = &rules.divergence {
            let gap = (g - exec).abs();
            let hit = t.cmp.holds(gap, t.value);
            let mut step = threshold_step(
                "budget.monitoring.divergence",
                t,
                gap,
                hit,
                &format!("{}:目标完成 {} ÷ {} = {}%,与执行率之差", p.name, p.progress, p.target, shown(g)),
            );
            step.formula = format!("│{} − {}│ = {};{}", shown(g), shown(exec), shown(gap), step.formula);
            trace.push(step);
            if hit {
                warnings.push(Warning {
                    rule_id: "budget.monitoring.divergence",
                    subject: p.name.clone(),
                    message: format!(
                        "{}:目标完成 {}% 与执行率 {}% 相差 {} 个百分点",
                        p.name,
                        shown(g),
                        shown(exec),
                        shown(gap)
                    ),
                    figure: gap,
                    threshold: t.value,
                });
            }
        }
    }
    Ok(Outcome { execution_percent: exec, time_percent: time, lag_points: lag, goal_percent, warnings, trace })
}

/// A threshold as stored with the records it judged.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct StoredThreshold {
    key: String,
    name: String,
    region: String,
    value: Decimal,
    unit: String,
    cmp: String,
    document: String,
    title: String,
    clause: String,
    effective_from: Option<NaiveDate>,
    note: String,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct StoredRules {
    lag_tolerance: Option<StoredThreshold>,
    schedule: Option<StoredThreshold>,
    divergence: Option<StoredThreshold>,
}

fn cmp_code(c: Cmp) -> &'static str {
    match c {
        Cmp::Ge => "GE",
        Cmp::Gt => "GT",
        Cmp::Lt => "LT",
        Cmp::Le => "LE",
    }
}

impl RuleSet {
    /// The rule set as stored beside the records it judged, so they read back as judged.
    pub fn to_json(&self) -> String {
        let one = |t: &Option<Threshold>| {
            t.as_ref().map(|t| StoredThreshold {
                key: t.origin.key.clone(),
                name: t.origin.name.clone(),
                region: t.origin.region.clone(),
                value: t.value,
                unit: t.origin.unit.clone(),
                cmp: cmp_code(t.cmp).into(),
                document: t.origin.source.document.clone(),
                title: t.origin.source.title.clone(),
                clause: t.origin.source.clause.clone(),
                effective_from: t.origin.source.effective_from,
                note: t.origin.source.note.clone(),
            })
        };
        let stored = StoredRules {
            lag_tolerance: one(&self.lag_tolerance),
            schedule: one(&self.schedule),
            divergence: one(&self.divergence),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<RuleSet, String> {
        let stored: StoredRules = serde_json::from_str(s).map_err(|e| e.to_string())?;
        let one = |t: Option<StoredThreshold>| -> Result<Option<Threshold>, String> {
            let Some(t) = t else { return Ok(None) };
            Ok(Some(Threshold {
                value: t.value,
                cmp: Cmp::parse(&t.cmp).ok_or_else(|| format!("comparison {}", t.cmp))?,
                origin: ParameterUse {
                    key: t.key,
                    name: t.name,
                    region: t.region,
                    value: t.value,
                    unit: t.unit,
                    source: SourceRef {
                        document: t.document,
                        title: t.title,
                        clause: t.clause,
                        effective_from: t.effective_from,
                        effective_to: None,
                        note: t.note,
                    },
                },
            }))
        };
        Ok(RuleSet {
            lag_tolerance: one(stored.lag_tolerance)?,
            schedule: one(stored.schedule)?,
            divergence: one(stored.divergence)?,
        })
    }
}
