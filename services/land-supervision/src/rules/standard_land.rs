//! "标准地" control indicators (3+N+1), 驻政〔2020〕37号 附件3 §(三)(八)(十) and 附件3-1 第七、
//! 十三、十四条. A check lists every indicator with its value, its limit, pass or fail, the rule
//! and the source. The "3" hard minima (investment intensity, tax per mu) and the floor-area
//! ratio are published per region and industry as dated parameters
//! (`land.standard.<indicator>.<industry>`); where none is published the indicator says so and
//! the check cannot pass. The general floors and caps of industrial land apply everywhere.

use chrono::{Datelike, Duration, NaiveDate};
use civic_domain::{
    explanation::{Step, Trace},
    policy::{PolicyBook, Resolved},
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

/// The figures of a parcel: planned (for a sale) or achieved (for an acceptance).
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub area_mu: Decimal,
    /// 万元, land price excluded.
    pub investment_wan: Option<Decimal>,
    /// 万元 per year.
    pub tax_wan: Option<Decimal>,
    /// m².
    pub floor_area: Option<Decimal>,
    pub building_footprint: Option<Decimal>,
    pub green_area: Option<Decimal>,
    pub office_land_area: Option<Decimal>,
    pub office_floor_area: Option<Decimal>,
    pub term_years: Option<Decimal>,
    /// New-type industrial land (新型产业用地): industrial share of land and of floor area.
    pub new_type: bool,
    pub industrial_land_area: Option<Decimal>,
    pub industrial_floor_area: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// No limit is published for the region and industry, or the figure is missing.
    Undetermined,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Undetermined => "UNDETERMINED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct IndicatorResult {
    pub key: String,
    pub name: String,
    pub value: Option<Decimal>,
    /// e.g. "≥ 1.0".
    pub limit: String,
    pub outcome: Outcome,
    pub note: String,
    pub parameter: Option<Resolved>,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub indicators: Vec<IndicatorResult>,
    pub passed: bool,
    pub trace: Trace,
}

const SQM_PER_MU_NUM: i64 = 10_000;
const SQM_PER_MU_DEN: i64 = 15;

fn sqm(mu: Decimal) -> Decimal {
    mu * Decimal::from(SQM_PER_MU_NUM) / Decimal::from(SQM_PER_MU_DEN)
}

enum Bound {
    Min,
    Max,
}

fn judge(value: Option<Decimal>, limit: Option<&Resolved>, bound: Bound) -> (Outcome, String) {
    match (value, limit) {
        (Some(v), Some(l)) => {
            let ok = match bound {
                Bound::Min => v >= l.value,
                Bound::Max => v <= l.value,
            };
            (if ok { Outcome::Pass } else { Outcome::Fail }, String::new())
        }
        (None, _) => (Outcome::Undetermined, "figure not supplied".into()),
        (_, None) => (Outcome::Undetermined, "no limit published for this region and industry".into()),
    }
}

/// A limit in force, if any: a key of an industry the book has no family for counts as none.
fn optional(book: &PolicyBook, key: &str, region: RegionCode, on: NaiveDate) -> Result<Option<Resolved>, DomainError> {
    match book.value_if_in_force(key, region, on) {
        Err(DomainError::UnknownParameter(_)) => Ok(None),
        other => other,
    }
}

fn ratio(a: Option<Decimal>, b: Decimal) -> Option<Decimal> {
    a.and_then(|a| if b > Decimal::ZERO { Some(a / b) } else { None })
}

/// Check `f` against the limits in force for `region` and `industry` on `on`.
pub fn check(
    book: &PolicyBook,
    region: RegionCode,
    industry: &str,
    f: &Figures,
    on: NaiveDate,
) -> Result<Check, DomainError> {
    let get = |key: &str| optional(book, key, region, on);
    let by_industry = |key: &str| -> Result<Option<Resolved>, DomainError> {
        match get(&format!("{key}.{industry}"))? {
            Some(v) => Ok(Some(v)),
            None => get(key),
        }
    };
    let site = sqm(f.area_mu);
    let mut out: Vec<IndicatorResult> = Vec::new();
    let mut push = |key: &str, name: &str, value: Option<Decimal>, p: Option<Resolved>, bound: Bound| {
        let (outcome, note) = judge(value, p.as_ref(), bound_clone(&bound));
        let limit = p
            .as_ref()
            .map(|p| format!("{} {}", if matches!(bound, Bound::Min) { "≥" } else { "≤" }, p.value))
            .unwrap_or_else(|| "—".into());
        out.push(IndicatorResult {
            key: key.into(),
            name: name.into(),
            value: value.map(|v| v.round_dp(4)),
            limit,
            outcome,
            note,
            parameter: p,
        });
    };
    // 3: investment intensity, tax per mu, floor-area ratio.
    push(
        "investment_intensity",
        "亩均投资强度(万元/亩)",
        ratio(f.investment_wan, f.area_mu),
        by_industry("land.standard.investment_intensity_min")?,
        Bound::Min,
    );
    push(
        "tax_per_mu",
        "亩均税收(万元/亩)",
        ratio(f.tax_wan, f.area_mu),
        by_industry("land.standard.tax_per_mu_min")?,
        Bound::Min,
    );
    push(
        "floor_area_ratio",
        "容积率",
        ratio(f.floor_area, site),
        by_industry("land.standard.floor_area_ratio_min")?,
        Bound::Min,
    );
    // N: the general floors and caps of industrial land.
    push(
        "building_coverage",
        "建筑系数",
        ratio(f.building_footprint, site),
        get("land.industrial.building_coverage_min")?,
        Bound::Min,
    );
    push("green_ratio", "绿地率", ratio(f.green_area, site), get("land.industrial.green_ratio_max")?, Bound::Max);
    push(
        "office_land_share",
        "行政办公及生活服务设施用地占比",
        ratio(f.office_land_area, site),
        get("land.industrial.office_land_share_max")?,
        Bound::Max,
    );
    push(
        "office_floor_share",
        "行政办公及生活服务设施建筑面积占比",
        match (f.office_floor_area, f.floor_area) {
            (Some(o), Some(t)) if t > Decimal::ZERO => Some(o / t),
            _ => None,
        },
        get("land.industrial.office_floor_share_max")?,
        Bound::Max,
    );
    if f.new_type {
        push(
            "new_type_industrial_land_share",
            "新型产业用地:产业用地占比",
            ratio(f.industrial_land_area, site),
            get("land.new_type.industrial_land_share_min")?,
            Bound::Min,
        );
        push(
            "new_type_industrial_floor_share",
            "新型产业用地:产业计容建筑面积占比",
            match (f.industrial_floor_area, f.floor_area) {
                (Some(o), Some(t)) if t > Decimal::ZERO => Some(o / t),
                _ => None,
            },
            get("land.new_type.industrial_floor_share_min")?,
            Bound::Min,
        );
    }
    // 1: the term of the grant.
    push("term_years", "出让年期(年)", f.term_years, get("land.standard.term_years_max")?, Bound::Max);

    let passed = out.iter().all(|i| i.outcome == Outcome::Pass);
    let mut trace = Trace::default();
    for i in &out {
        trace.push(Step {
            rule_id: format!("land.standard.{}", i.key),
            description: i.name.clone(),
            formula: format!(
                "{} {}{}",
                i.value.map(|v| v.normalize().to_string()).unwrap_or_else(|| "—".into()),
                i.limit,
                if i.note.is_empty() { String::new() } else { format!("({})", i.note) }
            ),
            result: i.outcome.code().into(),
            parameters: i.parameter.iter().map(|p| p.to_use()).collect(),
            source: Some(book.rule_source("land.standard.indicators", region, on)?),
        });
    }
    Ok(Check { indicators: out, passed, trace })
}

fn bound_clone(b: &Bound) -> Bound {
    match b {
        Bound::Min => Bound::Min,
        Bound::Max => Bound::Max,
    }
}

/// After a failed acceptance: the end of the rectification period (at most two years, 附件3-1
/// 第十四条) or, when a rectification already failed, negotiated exit.
pub fn after_failed_acceptance(
    book: &PolicyBook,
    region: RegionCode,
    checked_on: NaiveDate,
    previous_rectification_failed: bool,
) -> Result<(Option<NaiveDate>, Step), DomainError> {
    let on = checked_on;
    let years = book.value("land.standard.rectification_years_max", region, checked_on)?;
    let src = book.rule_source("land.standard.acceptance", region, on)?;
    if previous_rectification_failed {
        return Ok((
            None,
            Step {
                rule_id: "land.standard.acceptance".into(),
                description: "整改后仍未达到验收标准".into(),
                formula: String::new(),
                result: "引导项目限期协商退出,按合同约定收回土地".into(),
                parameters: vec![years.to_use()],
                source: Some(src),
            },
        ));
    }
    let y = i32::try_from(years.value.trunc()).unwrap_or(2);
    let deadline = NaiveDate::from_ymd_opt(checked_on.year() + y, checked_on.month(), checked_on.day())
        .unwrap_or(checked_on + Duration::days(365 * i64::from(y)));
    Ok((
        Some(deadline),
        Step {
            rule_id: "land.standard.acceptance".into(),
            description: "验收未通过:追究违约责任,给予整改期".into(),
            formula: format!("{checked_on} + 最长 {} 年", years.value),
            result: format!("整改期限至 {deadline}"),
            parameters: vec![years.to_use()],
            source: Some(src),
        },
    ))
}

/// A request to extend a start, completion or production date: once per milestone, at least
/// one month before it (附件3-1 第十三条). Returns the explanation step or the refusal.
pub fn extension(
    book: &PolicyBook,
    region: RegionCode,
    milestone: NaiveDate,
    asked_on: NaiveDate,
    extensions_before: u32,
) -> Result<Result<Step, String>, DomainError> {
    let months = book.value("land.standard.extension_notice_months", region, asked_on)?;
    let max = book.value("land.standard.extensions_per_milestone", region, asked_on)?;
    let m = u32::try_from(months.value.trunc()).unwrap_or(1);
    let latest = milestone.checked_sub_months(chrono::Months::new(m)).unwrap_or(milestone);
    let src = book.rule_source("land.standard.extension", region, asked_on)?;
    if Decimal::from(extensions_before) >= max.value {
        return Ok(Err(format!(
            "this milestone was already extended {extensions_before} time(s); 附件3-1 第十三条 allows {}",
            max.value
        )));
    }
    if asked_on > latest {
        return Ok(Err(format!(
            "an extension must be asked by {latest} (one month before {milestone}); it was asked on {asked_on}"
        )));
    }
    Ok(Ok(Step {
        rule_id: "land.standard.extension".into(),
        description: "延期申请:每个节点可申请延期一次,应在约定日期截止前1个月提出".into(),
        formula: format!("申请日 {asked_on} ≤ {latest};已延期 {extensions_before} 次 < {}", max.value),
        result: "可签订补充协议,重新约定日期".into(),
        parameters: vec![months.to_use(), max.to_use()],
        source: Some(src),
    }))
}

/// Acceptance against the contract (附件3-1 第十四条): each contracted indicator the check knows
/// is added as "contract:<key>", the contracted figure being a minimum (or a maximum for the
/// shares that are caps).
pub fn against_contract(
    book: &PolicyBook,
    region: RegionCode,
    on: NaiveDate,
    c: &mut Check,
    contracted: &std::collections::BTreeMap<String, String>,
) -> Result<(), DomainError> {
    const CAPS: [&str; 4] = ["green_ratio", "office_land_share", "office_floor_share", "term_years"];
    let src = book.rule_source("land.standard.acceptance", region, on)?;
    for (key, value) in contracted {
        let Ok(limit) = value.parse::<Decimal>() else { continue };
        let Some(actual) = c.indicators.iter().find(|i| &i.key == key).map(|i| (i.name.clone(), i.value)) else {
            continue;
        };
        let is_cap = CAPS.contains(&key.as_str());
        let outcome = match actual.1 {
            Some(v) if (is_cap && v <= limit) || (!is_cap && v >= limit) => Outcome::Pass,
            Some(_) => Outcome::Fail,
            None => Outcome::Undetermined,
        };
        let sign = if is_cap { "≤" } else { "≥" };
        c.trace.push(Step {
            rule_id: "land.standard.acceptance".into(),
            description: format!("{}:对照出让合同和履约监管协议约定", actual.0),
            formula: format!(
                "{} {sign} {limit}(约定)",
                actual.1.map(|v| v.normalize().to_string()).unwrap_or_else(|| "—".into())
            ),
            result: outcome.code().into(),
            parameters: vec![],
            source: Some(src.clone()),
        });
        c.indicators.push(IndicatorResult {
            key: format!("contract:{key}"),
            name: format!("{}(合同约定)", actual.0),
            value: actual.1,
            limit: format!("{sign} {limit}"),
            outcome,
            note: String::new(),
            parameter: None,
        });
    }
    c.passed = c.indicators.iter().all(|i| i.outcome == Outcome::Pass);
    Ok(())
}
