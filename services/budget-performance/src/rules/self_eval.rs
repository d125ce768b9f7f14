//! Unit self-evaluation of a project (单位自评, 驻政〔2020〕37号 附件2 三(九)), scored as
//! 财预〔2020〕10号 says "原则上": 产出 50, 效益 30, 满意度 10 and 预算执行率 10 points; a
//! quantitative indicator gets its full points when met and points × 完成值 ÷ 指标值 when not; a
//! qualitative one a share of its points inside the band judged (达成 [80 %, 100 %], 部分达成
//! [60 %, 80 %), 未达成 [0, 60 %)). Where no text decides — "≤" targets, "=" targets, how the
//! total is rounded — the rule is civic's and says so (document `civic`). Weights, bands, places
//! and the rounding rule are policy data for the region and date.
//!
//! One file on purpose: the scorer is one rule read top to bottom (weights, each indicator,
//! execution, rounding, grade), every step with its citation.
//!
//! (About 470 lines: each indicator kind's score, the weights and their reasons, the total, the
//! grade and the explanation of each step are one computation, read top to bottom.)

use chrono::NaiveDate;
use civic_domain::{
    explanation::{ParameterUse, Step, Trace},
    policy::{PolicyBook, Resolved},
    Fen, RegionCode,
};
use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    grades::{self, Grade},
    RuleError,
};

/// The level-1 group an indicator scores in (成本 indicators score inside 产出, as the 自评表 has
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Output,
    Benefit,
    Satisfaction,
}

impl Group {
    pub fn chinese(self) -> &'static str {
        match self {
            Group::Output => "产出指标",
            Group::Benefit => "效益指标",
            Group::Satisfaction => "满意度指标",
        }
    }
}

/// How a quantitative actual is compared with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// ≥ target (most indicators).
    AtLeast,
    /// ≤ target (costs, times).
    AtMost,
    /// = target.
    Exactly,
}

impl Direction {
    fn symbol(self) -> &'static str {
        match self {
            Direction::AtLeast => "≥",
            Direction::AtMost => "≤",
            Direction::Exactly => "=",
        }
    }
}

/// The band a qualitative indicator was judged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Achieved,
    Partial,
    NotAchieved,
}

impl Band {
    fn chinese(self) -> &'static str {
        match self {
            Band::Achieved => "达成年度指标",
            Band::Partial => "部分达成年度指标并具有一定效果",
            Band::NotAchieved => "未达成年度指标且效果较差",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Measure {
    Quantitative {
        direction: Direction,
        target: Decimal,
        actual: Decimal,
        /// Points taken off a met target that was set clearly too low (10号: "适度调减"), with why.
        deduction: Option<(Decimal, String)>,
    },
    Qualitative {
        band: Band,
        /// The share of the points judged, in percent (e.g. 70).
        share_percent: Decimal,
    },
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub group: Group,
    pub level2: String,
    pub name: String,
    pub unit: String,
    pub points: Decimal,
    pub measure: Measure,
}

/// The points of the four parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub output: Decimal,
    pub benefit: Decimal,
    pub satisfaction: Decimal,
    pub execution: Decimal,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub indicators: Vec<Indicator>,
    /// 全年预算数 and 全年执行数.
    pub budget: Fen,
    pub executed: Fen,
    /// Other points than the region's defaults, allowed only with `deviation_reason`.
    pub weights: Option<Weights>,
    pub deviation_reason: String,
}

#[derive(Debug, Clone)]
pub struct Scored {
    pub name: String,
    pub group: Group,
    pub points: Decimal,
    pub exact: Decimal,
    pub score: Decimal,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub indicators: Vec<Scored>,
    pub weights: Weights,
    pub output: Decimal,
    pub benefit: Decimal,
    pub satisfaction: Decimal,
    /// 全年执行数 ÷ 全年预算数, exact, and the points it earned (exact and rounded).
    pub execution_rate: Decimal,
    pub execution_exact: Decimal,
    pub execution: Decimal,
    /// The total that is shown and graded, and the exact sum beside it.
    pub total: Decimal,
    pub exact_total: Decimal,
    pub grade: Grade,
    pub trace: Trace,
}

fn bad(field: String, message: impl Into<String>) -> RuleError {
    RuleError::InputAt { field, message: message.into() }
}

fn half_up(d: Decimal, places: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(places);
    r
}

fn checked(v: Option<Decimal>) -> Result<Decimal, RuleError> {
    v.ok_or(RuleError::Domain(civic_domain::DomainError::Overflow("self-evaluation score")))
}

/// `x` as a number of places, for the place count read from the book.
fn places(r: &Resolved) -> Result<u32, RuleError> {
    u32::try_from(r.value.trunc().mantissa()).ok().filter(|p| *p <= 6 && r.value.fract().is_zero()).ok_or(
        RuleError::Domain(civic_domain::DomainError::Inconsistent(format!(
            "{} must be a whole number of places from 0 to 6",
            r.key
        ))),
    )
}

/// Score a self-evaluation for `region` on `date` (the evaluation date selects the rules).
pub fn score(book: &PolicyBook, region: RegionCode, date: NaiveDate, input: &Input) -> Result<Outcome, RuleError> {
    let p = |key: &str| book.value(key, region, date).map_err(RuleError::from);
    let defaults = [
        p("budget.self_eval.points.output")?,
        p("budget.self_eval.points.benefit")?,
        p("budget.self_eval.points.satisfaction")?,
        p("budget.self_eval.points.execution")?,
    ];
    let total_points = p("budget.score.total")?;
    let achieved_min = p("budget.self_eval.qual.achieved_min")?;
    let partial_min = p("budget.self_eval.qual.partial_min")?;
    let places_param = p("budget.score.places")?;
    let per_indicator = p("budget.score.per_indicator")?;
    let places = places(&places_param)?;
    let default_weights = Weights {
        output: defaults[0].value,
        benefit: defaults[1].value,
        satisfaction: defaults[2].value,
        execution: defaults[3].value,
    };
    let mut trace = Trace::default();
    let src = |rule: &str| book.rule_source(rule, region, date).map_err(RuleError::from);

    // The weights: the defaults, or others with a recorded reason.
    let weights = input.weights.unwrap_or(default_weights);
    let all = [weights.output, weights.benefit, weights.satisfaction, weights.execution];
    if all.iter().any(|w| *w < Decimal::ZERO) {
        return Err(bad("weights".into(), "points must not be negative"));
    }
    let sum: Decimal = all.iter().sum();
    if sum != total_points.value {
        return Err(bad("weights".into(), format!("the four parts sum to {sum}, not {}", total_points.value)));
    }
    let deviates = weights != default_weights;
    if deviates && input.deviation_reason.trim().is_empty() {
        return Err(bad(
            "deviation_reason".into(),
            format!(
                "points {}/{}/{}/{} differ from the region's {}/{}/{}/{} (原则上): give the reason",
                weights.output,
                weights.benefit,
                weights.satisfaction,
                weights.execution,
                default_weights.output,
                default_weights.benefit,
                default_weights.satisfaction,
                default_weights.execution
            ),
        ));
    }
    trace.push(Step {
        rule_id: "budget.self_eval.weights".into(),
        description: "单位自评指标权重:产出、效益、满意度、预算执行率(原则上)".into(),
        formula: format!(
            "产出 {} + 效益 {} + 满意度 {} + 预算执行率 {} = {}",
            weights.output, weights.benefit, weights.satisfaction, weights.execution, sum
        ),
        result: if deviates {
            format!("调整权重:{}", input.deviation_reason.trim())
        } else {
            "按原则权重".into()
        },
        parameters: defaults.iter().map(Resolved::to_use).chain([total_points.to_use()]).collect(),
        source: Some(src("budget.self_eval.weights")?),
    });

    if input.indicators.is_empty() {
        return Err(bad("indicators".into(), "at least one indicator"));
    }
    let mut sums = [Decimal::ZERO; 3];
    for (i, ind) in input.indicators.iter().enumerate() {
        let f = |name: &str| format!("indicators[{i}].{name}");
        if ind.name.trim().is_empty() {
            return Err(bad(f("name"), "required"));
        }
        if ind.points <= Decimal::ZERO || ind.points > total_points.value {
            return Err(bad(f("points"), format!("between 0 (excluded) and {}", total_points.value)));
        }
        let g = match ind.group {
            Group::Output => 0,
            Group::Benefit => 1,
            Group::Satisfaction => 2,
        };
        sums[g] = checked(sums[g].checked_add(ind.points))?;
    }
    for (g, (group, want)) in [Group::Output, Group::Benefit, Group::Satisfaction]
        .into_iter()
        .zip([weights.output, weights.benefit, weights.satisfaction])
        .enumerate()
    {
        if sums[g] != want {
            return Err(bad(
                "indicators".into(),
                format!("{} points sum to {}, not the {} of its part", group.chinese(), sums[g], want),
            ));
        }
    }

    let round = |d: Decimal| half_up(d, places);
    let mut scored = Vec::with_capacity(input.indicators.len());
    for (i, ind) in input.indicators.iter().enumerate() {
        let f = |name: &str| format!("indicators[{i}].{name}");
        let (exact, step) = match &ind.measure {
            Measure::Quantitative { direction, target, actual, deduction } => {
                if ind.unit.trim().is_empty() {
                    return Err(bad(f("unit"), "a quantitative indicator needs its unit"));
                }
                if *target <= Decimal::ZERO {
                    return Err(bad(f("target"), "the target of a ratio rule must be positive"));
                }
                if *actual < Decimal::ZERO {
                    return Err(bad(f("actual"), "must not be negative"));
                }
                let met = match direction {
                    Direction::AtLeast => actual >= target,
                    Direction::AtMost => actual <= target,
                    Direction::Exactly => actual == target,
                };
                let (exact, rule, formula) = if met {
                    let (less, why) = match deduction {
                        None => (Decimal::ZERO, String::new()),
                        Some((d, why)) => {
                            if why.trim().is_empty() {
                                return Err(bad(f("deduction_reason"), "a deduction needs its reason"));
                            }
                            if *d <= Decimal::ZERO || *d > ind.points {
                                return Err(bad(f("deduction"), format!("between 0 (excluded) and {}", ind.points)));
                            }
                            (*d, why.trim().to_string())
                        }
                    };
                    if less.is_zero() {
                        (
                            ind.points,
                            "budget.self_eval.quantitative",
                            format!("{actual} {} {target}:达成,得满分 {}", direction.symbol(), ind.points),
                        )
                    } else {
                        (
                            checked(ind.points.checked_sub(less))?,
                            "budget.self_eval.over_target",
                            format!("达成但指标值明显偏低({why}):{} − {less}", ind.points),
                        )
                    }
                } else {
                    if deduction.is_some() {
                        return Err(bad(f("deduction"), "a deduction applies only to a met target"));
                    }
                    match direction {
                        Direction::AtLeast => (
                            checked(ind.points.checked_mul(*actual).and_then(|v| v.checked_div(*target)))?,
                            "budget.self_eval.quantitative",
                            format!("{} × {actual} ÷ {target}", ind.points),
                        ),
                        Direction::AtMost => (
                            checked(ind.points.checked_mul(*target).and_then(|v| v.checked_div(*actual)))?,
                            "civic.self_eval.le_mirror",
                            format!("{} × {target} ÷ {actual}", ind.points),
                        ),
                        Direction::Exactly => {
                            let off = checked((*actual - *target).abs().checked_div(*target))?;
                            let share = (Decimal::ONE - off).max(Decimal::ZERO);
                            (
                                checked(ind.points.checked_mul(share))?,
                                "civic.self_eval.eq_deviation",
                                format!("{} × max(0, 1 − │{actual} − {target}│ ÷ {target})", ind.points),
                            )
                        }
                    }
                };
                (exact, (rule, formula, Vec::<ParameterUse>::new()))
            }
            Measure::Qualitative { band, share_percent } => {
                let s = *share_percent;
                let hundred = Decimal::ONE_HUNDRED;
                let fits = match band {
                    Band::Achieved => s >= achieved_min.value && s <= hundred,
                    Band::Partial => s >= partial_min.value && s < achieved_min.value,
                    Band::NotAchieved => s >= Decimal::ZERO && s < partial_min.value,
                };
                if !fits {
                    let range = match band {
                        Band::Achieved => format!("[{}%, 100%]", achieved_min.value),
                        Band::Partial => format!("[{}%, {}%)", partial_min.value, achieved_min.value),
                        Band::NotAchieved => format!("[0%, {}%)", partial_min.value),
                    };
                    return Err(bad(
                        f("share_percent"),
                        format!("{s}% is outside the band {} {range}", band.chinese()),
                    ));
                }
                let exact = checked(ind.points.checked_mul(s).and_then(|v| v.checked_div(hundred)))?;
                (
                    exact,
                    (
                        "budget.self_eval.qualitative",
                        format!("{}:{s}%;{} × {s}%", band.chinese(), ind.points),
                        vec![achieved_min.to_use(), partial_min.to_use()],
                    ),
                )
            }
        };
        let (rule, formula, parameters) = step;
        let score = round(exact);
        trace.push(Step {
            rule_id: rule.into(),
            description: format!("{} / {} / {}", ind.group.chinese(), ind.level2, ind.name),
            formula: format!("{formula} = {}", exact.normalize()),
            result: score.to_string(),
            parameters,
            source: Some(src(rule)?),
        });
        scored.push(Scored { name: ind.name.clone(), group: ind.group, points: ind.points, exact, score });
    }

    // 预算执行率: 全年执行数 ÷ 全年预算数.
    if input.budget.get() <= 0 {
        return Err(bad("budget_fen".into(), "全年预算数 must be positive"));
    }
    if input.executed.get() < 0 {
        return Err(bad("executed_fen".into(), "must not be negative"));
    }
    if input.executed > input.budget {
        return Err(bad(
            "executed_fen".into(),
            format!("全年执行数 {} exceeds 全年预算数 {}", input.executed.yuan_text(), input.budget.yuan_text()),
        ));
    }
    let rate = checked(Decimal::from(input.executed.get()).checked_div(Decimal::from(input.budget.get())))?;
    let execution_exact = checked(weights.execution.checked_mul(rate))?;
    let execution = round(execution_exact);
    trace.push(Step {
        rule_id: "budget.self_eval.execution_rate".into(),
        description: "预算执行率 = 全年执行数 ÷ 全年预算数".into(),
        formula: format!(
            "{} ÷ {} = {}%;{} × {} = {}",
            input.executed.yuan_text(),
            input.budget.yuan_text(),
            (rate * Decimal::ONE_HUNDRED).normalize(),
            weights.execution,
            rate.normalize(),
            execution_exact.normalize()
        ),
        result: execution.to_string(),
        parameters: vec![defaults[3].to_use()],
        source: Some(src("budget.self_eval.execution_rate")?),
    });

    let sum_of = |g: Group, rounded: bool| -> Decimal {
        scored.iter().filter(|s| s.group == g).map(|s| if rounded { s.score } else { s.exact }).sum()
    };
    let exact_total: Decimal = scored.iter().map(|s| s.exact).sum::<Decimal>() + execution_exact;
    let by_indicator = per_indicator.value == Decimal::ONE;
    let total =
        if by_indicator { scored.iter().map(|s| s.score).sum::<Decimal>() + execution } else { round(exact_total) };
    let parts: Vec<String> = scored.iter().map(|s| s.score.to_string()).chain([execution.to_string()]).collect();
    trace.push(Step {
        rule_id: "civic.score.rounding".into(),
        description: if by_indicator {
            format!("各指标得分四舍五入保留{places}位小数后相加")
        } else {
            format!("精确得分相加后四舍五入保留{places}位小数")
        },
        formula: if by_indicator {
            format!("{} = {total}(精确合计 {})", parts.join(" + "), exact_total.normalize())
        } else {
            format!("{} → {total}", exact_total.normalize())
        },
        result: total.to_string(),
        parameters: vec![places_param.to_use(), per_indicator.to_use()],
        source: Some(src("civic.score.rounding")?),
    });
    let (grade, grade_trace) = grades::grade(book, region, date, total)?;
    trace.steps.extend(grade_trace.steps);
    let subtotal = |g| if by_indicator { sum_of(g, true) } else { round(sum_of(g, false)) };
    Ok(Outcome {
        output: subtotal(Group::Output),
        benefit: subtotal(Group::Benefit),
        satisfaction: subtotal(Group::Satisfaction),
        indicators: scored,
        weights,
        execution_rate: rate,
        execution_exact,
        execution,
        total,
        exact_total,
        grade,
        trace,
    })
}
