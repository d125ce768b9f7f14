//! Department, finance key, stage and re-evaluations scored by their framework's level-1 parts
//! (决策 / 过程 / 产出 / 效益, 财预〔2020〕10号): weights sum to the total, each part's score within
//! its weight, and — "原则上" — 产出 and 效益 together at least the share the rules set, unless a
//! reason is recorded. Parts are rounded like indicators and the grade is that of the shown total.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    RegionCode,
};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    grades::{self, Grade},
    RuleError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Decision,
    Process,
    Output,
    Benefit,
    Other,
}

impl Dimension {
    pub fn chinese(self) -> &'static str {
        match self {
            Dimension::Decision => "决策",
            Dimension::Process => "过程",
            Dimension::Output => "产出",
            Dimension::Benefit => "效益",
            Dimension::Other => "其他",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Part {
    pub dimension: Dimension,
    pub name: String,
    pub weight: Decimal,
    /// The points earned; for a deduction-type part, computed (the value given is ignored).
    pub score: Decimal,
    pub deduction: Option<Deduction>,
}

/// Which way a deduction-type indicator's actual must keep to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Full points while actual ≤ target (e.g. 在职人员控制率 ≤ 100 %).
    AtMost,
    /// Full points while actual ≥ target.
    AtLeast,
    /// Full points at the target; each unit either side costs.
    Exactly,
}

/// A deduction-type indicator of the library (扣分型): full points while the actual keeps to the
/// target, `step` less for each unit beyond it, never below `floor`.
#[derive(Debug, Clone)]
pub struct Deduction {
    /// The template's code and region, and where the template says it comes from.
    pub template: String,
    pub template_region: String,
    pub template_source: String,
    pub unit: String,
    pub keep: Keep,
    pub target: Decimal,
    pub actual: Decimal,
    pub step: Decimal,
    pub floor: Decimal,
}

impl Deduction {
    /// The units beyond the target (0 when kept).
    fn beyond(&self) -> Decimal {
        let d = self.actual - self.target;
        match self.keep {
            Keep::AtMost => d.max(Decimal::ZERO),
            Keep::AtLeast => (-d).max(Decimal::ZERO),
            Keep::Exactly => d.abs(),
        }
    }

    /// "103% ≤ 100%": the actual against the target, in the template's unit.
    fn comparison(&self) -> String {
        let symbol = match self.keep {
            Keep::AtMost => "≤",
            Keep::AtLeast => "≥",
            Keep::Exactly => "=",
        };
        format!("{}{u} {symbol} {}{u}", self.actual.normalize(), self.target.normalize(), u = self.unit)
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// Each part's score as shown.
    pub scores: Vec<Decimal>,
    pub total: Decimal,
    pub grade: Grade,
    pub trace: Trace,
}

fn bad(field: String, message: impl Into<String>) -> RuleError {
    RuleError::InputAt { field, message: message.into() }
}

/// Score `parts`; `output_benefit_rule` applies the 产出+效益 minimum (department, finance key,
/// stage and re-evaluations of projects and policies).
pub fn score(
    book: &PolicyBook,
    region: RegionCode,
    date: NaiveDate,
    parts: &[Part],
    output_benefit_rule: bool,
    deviation_reason: &str,
) -> Result<Outcome, RuleError> {
    let total_points = book.value("budget.score.total", region, date)?;
    let places_param = book.value("budget.score.places", region, date)?;
    let places = u32::try_from(places_param.value.trunc().mantissa()).unwrap_or(2).min(6);
    if parts.is_empty() || parts.len() > 50 {
        return Err(bad("parts".into(), "from 1 to 50 parts"));
    }
    let mut trace = Trace::default();
    let mut weight_sum = Decimal::ZERO;
    let mut output_benefit = Decimal::ZERO;
    let mut scores = Vec::with_capacity(parts.len());
    for (i, p) in parts.iter().enumerate() {
        let f = |n: &str| format!("parts[{i}].{n}");
        if p.name.trim().is_empty() {
            return Err(bad(f("name"), "required"));
        }
        if p.weight <= Decimal::ZERO || p.weight > total_points.value {
            return Err(bad(f("weight"), format!("between 0 (excluded) and {}", total_points.value)));
        }
        let score = match &p.deduction {
            None => p.score,
            Some(d) => {
                if d.floor > p.weight {
                    return Err(bad(
                        f("weight"),
                        format!("template {}'s floor {} is above the part's weight {}", d.template, d.floor, p.weight),
                    ));
                }
                let beyond = d.beyond();
                let less = d
                    .step
                    .checked_mul(beyond)
                    .ok_or(RuleError::Domain(civic_domain::DomainError::Overflow("deduction")))?;
                let earned = p.weight.checked_sub(less).unwrap_or(d.floor).max(d.floor);
                let source = if d.template_source.trim().is_empty() {
                    String::new()
                } else {
                    format!(";模板来源:{}", d.template_source.trim())
                };
                trace.push(Step {
                    rule_id: "civic.evaluation.deduction".into(),
                    description: format!(
                        "{}({}):扣分型指标,指标库模板 {}({}){source}",
                        p.name.trim(),
                        p.dimension.chinese(),
                        d.template,
                        d.template_region
                    ),
                    formula: if beyond.is_zero() {
                        format!("{}:得满分 {}", d.comparison(), p.weight.normalize())
                    } else {
                        format!(
                            "{} 未做到,相差 {}{};max({}, {} − {} × {}) = {}",
                            d.comparison(),
                            beyond.normalize(),
                            d.unit,
                            d.floor.normalize(),
                            p.weight.normalize(),
                            d.step.normalize(),
                            beyond.normalize(),
                            earned.normalize()
                        )
                    },
                    result: earned.normalize().to_string(),
                    parameters: Vec::new(),
                    source: Some(book.rule_source("civic.evaluation.deduction", region, date)?),
                });
                earned
            }
        };
        if score < Decimal::ZERO || score > p.weight {
            return Err(bad(f("score"), format!("between 0 and the part's weight {}", p.weight)));
        }
        weight_sum += p.weight;
        if matches!(p.dimension, Dimension::Output | Dimension::Benefit) {
            output_benefit += p.weight;
        }
        let mut shown = score.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
        shown.rescale(places);
        scores.push(shown);
    }
    if weight_sum != total_points.value {
        return Err(bad("parts".into(), format!("weights sum to {weight_sum}, not {}", total_points.value)));
    }
    let framework = book.rule_source("budget.evaluation.framework", region, date)?;
    let mut parameters = vec![total_points.to_use()];
    if output_benefit_rule {
        let min = book.value("budget.evaluation.output_benefit_min", region, date)?;
        let cmp = min.cmp.unwrap_or(civic_domain::compare::Cmp::Ge);
        let share = output_benefit * Decimal::ONE_HUNDRED / total_points.value;
        if !cmp.holds(share, min.value) && deviation_reason.trim().is_empty() {
            return Err(bad(
                "deviation_reason".into(),
                format!(
                    "产出和效益 weigh {share}% of the total, below the {}% the rules set (原则上): give the reason",
                    min.value
                ),
            ));
        }
        parameters.push(min.to_use());
    }
    let total: Decimal = scores.iter().sum();
    let lines: Vec<String> = parts
        .iter()
        .zip(&scores)
        .map(|(p, s)| format!("{}({}) {s}/{}", p.name.trim(), p.dimension.chinese(), p.weight))
        .collect();
    trace.push(Step {
        rule_id: "budget.evaluation.framework".into(),
        description: "评价指标体系按一级指标(决策、过程、产出、效益)计分".into(),
        formula: format!(
            "{} = {total}{}",
            lines.join(" + "),
            if deviation_reason.trim().is_empty() {
                String::new()
            } else {
                format!(";权重调整理由:{}", deviation_reason.trim())
            }
        ),
        result: total.to_string(),
        parameters,
        source: Some(framework),
    });
    let (grade, g) = grades::grade(book, region, date, total)?;
    trace.steps.extend(g.steps);
    Ok(Outcome { scores, total, grade, trace })
}
