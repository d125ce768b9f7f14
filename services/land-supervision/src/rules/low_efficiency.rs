//! Low-efficiency industrial land (低效工业用地), 驻政〔2020〕37号 附件3-2 §二(一): each parcel
//! falls into industrial transition (产业转型类), extensive use (粗放用地类), stalled (停建停产类),
//! several of them, or none — with every reason that applies and its clause. The numeric lines
//! (one third developed, 25 % invested, three years building, two years without profit, two
//! consecutive years below the jurisdiction's average) are policy parameters.

use chrono::{Datelike, NaiveDate};
use civic_domain::{
    explanation::{Step, Trace},
    policy::{PolicyBook, Resolved},
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// 产业转型类
    IndustrialTransition,
    /// 粗放用地类
    ExtensiveUse,
    /// 停建停产类
    Stalled,
}

impl Category {
    pub fn code(self) -> &'static str {
        match self {
            Category::IndustrialTransition => "INDUSTRIAL_TRANSITION",
            Category::ExtensiveUse => "EXTENSIVE_USE",
            Category::Stalled => "STALLED",
        }
    }
    pub fn chinese(self) -> &'static str {
        match self {
            Category::IndustrialTransition => "产业转型类",
            Category::ExtensiveUse => "粗放用地类",
            Category::Stalled => "停建停产类",
        }
    }
    fn clause(self) -> &'static str {
        match self {
            Category::IndustrialTransition => "low_efficiency.industrial_transition",
            Category::ExtensiveUse => "low_efficiency.extensive_use",
            Category::Stalled => "low_efficiency.stalled",
        }
    }
}

/// What the cluster administration and the bureaus know of a parcel.
#[derive(Debug, Clone, Default)]
pub struct ParcelFacts {
    pub id: String,
    pub region: Option<RegionCode>,
    /// Prohibited or eliminated industry (《产业结构调整指导目录》 禁止类、淘汰类).
    pub prohibited_or_eliminated_industry: bool,
    pub high_pollution_or_high_energy: bool,
    /// Meets planning but fails environmental or work-safety standards.
    pub fails_environment_or_safety: bool,
    pub makeshift_structures_only: bool,
    /// Listed by the government for closure, suspension, merger or conversion (关停并转).
    pub listed_for_closure: bool,
    pub in_production: bool,
    /// Investment intensity agreed in the contract and achieved, 万元/亩.
    pub contracted_investment_intensity: Option<Decimal>,
    pub actual_investment_intensity: Option<Decimal>,
    /// Other contracted conditions not met.
    pub other_contract_conditions_unmet: bool,
    /// Per-mu output and tax of the last two years, each with the jurisdiction's industrial
    /// average for the same year: (value, average), most recent last.
    pub per_mu_output: Vec<(Decimal, Decimal)>,
    pub per_mu_tax: Vec<(Decimal, Decimal)>,
    /// 围多建少: fenced much, built little, with large idle areas.
    pub fenced_much_built_little: bool,
    pub construction_started: bool,
    pub construction_started_on: Option<NaiveDate>,
    /// Developed area and total area to build, in 亩.
    pub developed_area: Option<Decimal>,
    pub total_area: Option<Decimal>,
    /// Investment made and total investment (land price excluded), in 万元.
    pub invested: Option<Decimal>,
    pub total_investment: Option<Decimal>,
    pub agreed_completion: Option<NaiveDate>,
    pub completed: bool,
    pub stopped: bool,
    /// Whole years in a row without main-business profit.
    pub years_without_main_profit: u32,
}

/// One reason a category applies.
#[derive(Debug, Clone)]
pub struct Reason {
    pub category: Category,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Classification {
    pub categories: Vec<Category>,
    pub reasons: Vec<Reason>,
    pub trace: Trace,
}

/// The thresholds in force, resolved once for many parcels of one region.
pub struct Thresholds {
    /// The region the thresholds were resolved for: its rules are the ones cited.
    region: RegionCode,
    developed_share: Resolved,
    invested_share: Resolved,
    building_years: Resolved,
    no_profit_years: Resolved,
    below_average_years: Resolved,
}

impl Thresholds {
    pub fn resolve(book: &PolicyBook, region: RegionCode, on: NaiveDate) -> Result<Thresholds, DomainError> {
        let v = |k: &str| book.value(k, region, on);
        Ok(Thresholds {
            region,
            developed_share: v("land.low_efficiency.stalled.developed_share")?,
            invested_share: v("land.low_efficiency.stalled.invested_share")?,
            building_years: v("land.low_efficiency.stalled.building_years")?,
            no_profit_years: v("land.low_efficiency.stalled.no_profit_years")?,
            below_average_years: v("land.low_efficiency.extensive.below_average_years")?,
        })
    }
}

/// The date `years` whole years after `from` (28 February for a 29 February start).
pub fn anniversary(from: NaiveDate, years: Decimal) -> NaiveDate {
    let y = from.year() + i32::try_from(years.trunc()).unwrap_or(0);
    NaiveDate::from_ymd_opt(y, from.month(), from.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, from.month(), 28))
        .unwrap_or(from)
}

/// Whole years from `from` to `to` (anniversaries passed).
/// The same day `years` later; where that year has no such day (29 February), the last day of
/// the month (民法典 第二百零二条: 没有对应日的，月末日为期间的最后一日).
pub fn add_years(d: NaiveDate, years: i64) -> NaiveDate {
    let y = d.year().saturating_add(i32::try_from(years).unwrap_or(0));
    NaiveDate::from_ymd_opt(y, d.month(), d.day()).or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28)).unwrap_or(d)
}

/// Full years from `from` to `to`: a year is full on its anniversary as [`add_years`] counts it,
/// so the idle test and the count of idle years agree (2020-02-29 → 2021-02-28 is one year).
pub fn whole_years(from: NaiveDate, to: NaiveDate) -> i64 {
    let mut years = i64::from(to.year()) - i64::from(from.year());
    if years > 0 && to < add_years(from, years) {
        years -= 1;
    } else if years <= 0 {
        years = 0;
    }
    years
}

/// Classify one parcel as of `on` (the assessment date).
pub fn classify(
    book: &PolicyBook,
    t: &Thresholds,
    p: &ParcelFacts,
    on: NaiveDate,
    explain: bool,
) -> Result<Classification, DomainError> {
    let mut reasons: Vec<Reason> = Vec::new();
    let mut add = |category: Category, text: String| reasons.push(Reason { category, text });
    use Category::*;

    // 1. 产业转型类
    if p.prohibited_or_eliminated_industry {
        add(IndustrialTransition, "国家产业结构调整指导目录规定的禁止类、淘汰类产业用地".into());
    }
    if p.high_pollution_or_high_energy {
        add(IndustrialTransition, "高污染、高能耗产业用地".into());
    }
    if p.fails_environment_or_safety {
        add(IndustrialTransition, "符合城乡规划但不符合环保标准和安全生产要求".into());
    }
    if p.makeshift_structures_only {
        add(IndustrialTransition, "建成简易建(构)筑物".into());
    }
    if p.listed_for_closure {
        add(IndustrialTransition, "政府列入“关停并转”范围".into());
    }

    // 2. 粗放用地类
    if p.in_production {
        if let (Some(c), Some(a)) = (p.contracted_investment_intensity, p.actual_investment_intensity) {
            if a < c {
                add(ExtensiveUse, format!("已建成投产,投资强度 {a} 万元/亩 未达到约定的 {c} 万元/亩"));
            }
        }
        if p.other_contract_conditions_unmet {
            add(ExtensiveUse, "已建成投产,未达到投资协议或合同约定的其他条件".into());
        }
        let need = usize::try_from(t.below_average_years.value.trunc()).unwrap_or(2).max(1);
        for (what, series) in [("亩均产出", &p.per_mu_output), ("亩均税收", &p.per_mu_tax)] {
            if series.len() >= need && series[series.len() - need..].iter().all(|(v, avg)| v < avg) {
                let shown: Vec<String> =
                    series[series.len() - need..].iter().map(|(v, a)| format!("{v} < {a}")).collect();
                add(ExtensiveUse, format!("{what}连续 {need} 年低于辖区工业企业平均水平({})", shown.join(";")));
            }
        }
    }
    if p.fenced_much_built_little {
        add(ExtensiveUse, "围多建少,存在大面积空闲土地".into());
    }

    // 3. 停建停产类
    if p.construction_started && !p.completed {
        let developed = match (p.developed_area, p.total_area) {
            (Some(d), Some(t)) if t > Decimal::ZERO => Some(d / t),
            _ => None,
        };
        let invested = match (p.invested, p.total_investment) {
            (Some(i), Some(t)) if t > Decimal::ZERO => Some(i / t),
            _ => None,
        };
        let substantial = developed.is_some_and(|d| d > t.developed_share.value)
            || invested.is_some_and(|i| i > t.invested_share.value);
        if substantial {
            let overdue = match (p.agreed_completion, p.construction_started_on) {
                (Some(due), _) => on > due,
                // "建设时间超过三年": more than the whole years, so the day after the anniversary.
                (None, Some(start)) => {
                    whole_years(start, on) >= i64::try_from(t.building_years.value.trunc()).unwrap_or(3)
                        && on > anniversary(start, t.building_years.value)
                }
                (None, None) => false,
            };
            let progress = format!(
                "已开发面积占比 {}、已投资占比 {}",
                developed
                    .map(|d| format!("{}%", (d * Decimal::ONE_HUNDRED).round_dp(2)))
                    .unwrap_or_else(|| "未知".into()),
                invested
                    .map(|i| format!("{}%", (i * Decimal::ONE_HUNDRED).round_dp(2)))
                    .unwrap_or_else(|| "未知".into())
            );
            if overdue {
                let when = match p.agreed_completion {
                    Some(due) => format!("约定建设工期 {due} 已过"),
                    None => format!("未约定建设工期,建设时间已超过 {} 年", t.building_years.value),
                };
                add(Stalled, format!("已开工建设({progress}),{when}仍未完成全部开发建设"));
            } else if p.stopped {
                add(Stalled, format!("已开工建设({progress}),已停工停产"));
            }
        }
    }
    let no_profit = u32::try_from(t.no_profit_years.value.trunc()).unwrap_or(2);
    if p.years_without_main_profit > no_profit {
        add(Stalled, format!("连续 {} 年未产生主营利润(超过 {no_profit} 年)", p.years_without_main_profit));
    }

    let mut categories: Vec<Category> = reasons.iter().map(|r| r.category).collect();
    categories.sort();
    categories.dedup();
    let mut trace = Trace::default();
    if explain {
        for c in &categories {
            let texts: Vec<&str> = reasons.iter().filter(|r| r.category == *c).map(|r| r.text.as_str()).collect();
            trace.push(Step {
                rule_id: c.clause().into(),
                description: format!("{}:{}", c.chinese(), texts.join(";")),
                formula: String::new(),
                result: c.chinese().into(),
                parameters: match c {
                    Stalled => vec![
                        t.developed_share.to_use(),
                        t.invested_share.to_use(),
                        t.building_years.to_use(),
                        t.no_profit_years.to_use(),
                    ],
                    ExtensiveUse => vec![t.below_average_years.to_use()],
                    IndustrialTransition => vec![],
                },
                source: Some(book.rule_source(c.clause(), t.region, on)?),
            });
        }
        if categories.is_empty() {
            trace.push(Step {
                rule_id: "low_efficiency.none".into(),
                description: "不符合三类低效工业用地的任何认定情形".into(),
                formula: String::new(),
                result: "非低效工业用地".into(),
                parameters: vec![
                    t.developed_share.to_use(),
                    t.invested_share.to_use(),
                    t.building_years.to_use(),
                    t.no_profit_years.to_use(),
                    t.below_average_years.to_use(),
                ],
                source: Some(book.rule_source("low_efficiency.none", t.region, on)?),
            });
        }
    }
    Ok(Classification { categories, reasons, trace })
}

#[cfg(test)]
mod year_tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_leap_day_start_completes_its_year_at_month_end() {
        assert_eq!(add_years(d("2020-02-29"), 1), d("2021-02-28"));
        assert_eq!(whole_years(d("2020-02-29"), d("2021-02-28")), 1);
        assert_eq!(whole_years(d("2020-02-29"), d("2021-02-27")), 0);
        assert_eq!(whole_years(d("2020-02-29"), d("2024-02-28")), 3);
        assert_eq!(whole_years(d("2020-02-29"), d("2024-02-29")), 4);
        assert_eq!(whole_years(d("2021-03-01"), d("2022-03-01")), 1);
        assert_eq!(whole_years(d("2021-03-01"), d("2022-02-28")), 0);
    }
}
