//! The "危污乱散低" campaign rules for a town's yearly list (2024年度“危污乱散低”专项治理工作方案):
//! contiguous-zone area ≥ 30 % of the list, average purchase cost ≤ 60 万元/亩, turnover quota
//! ≤ 30 % of the planned purchased-and-reclaimed area and 85 万元/亩 for quota not returned
//! within the next year, and the monthly report (20th) and verification (25th) dates.

use chrono::{Datelike, NaiveDate};
use civic_domain::{
    explanation::{SourceRef, Step, Trace},
    policy::{PolicyBook, Resolved},
    DomainError, Fen, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::standard_land::{IndicatorResult, Outcome};

#[derive(Debug, Clone, Default)]
pub struct TownList {
    pub total_area: Decimal,
    pub contiguous_area: Decimal,
    pub purchased_area: Option<Decimal>,
    pub purchase_cost_wan: Option<Decimal>,
    pub planned_reclaimed_area: Option<Decimal>,
    pub borrowed_quota: Option<Decimal>,
    pub returned_quota: Option<Decimal>,
    /// The year the quota was borrowed; it is due back by the end of the next year.
    pub borrowed_in: Option<i32>,
    pub target_area: Option<Decimal>,
    pub completed_area: Option<Decimal>,
}

pub struct CampaignCheck {
    pub indicators: Vec<IndicatorResult>,
    pub turnover_fee: Fen,
    pub report_by: NaiveDate,
    pub verify_by: NaiveDate,
    pub progress_percent: Option<Decimal>,
    pub trace: Trace,
}

fn day_in(year: i32, month: u32, day: Decimal) -> NaiveDate {
    let d = u32::try_from(day.trunc()).unwrap_or(1);
    NaiveDate::from_ymd_opt(year, month, d).or_else(|| NaiveDate::from_ymd_opt(year, month, 28)).unwrap_or_default()
}

/// One figure against one limit: at least (`min`) or at most; no figure or no limit in force
/// leaves it undetermined.
pub struct Judged<'a> {
    pub key: &'a str,
    pub name: &'a str,
    pub value: Option<Decimal>,
    pub limit: Option<&'a Resolved>,
    pub min: bool,
}

pub fn judge(j: Judged<'_>, rule: &str, src: &SourceRef) -> (IndicatorResult, Step) {
    let outcome = match (j.value, j.limit) {
        (Some(x), Some(l)) if (j.min && x >= l.value) || (!j.min && x <= l.value) => Outcome::Pass,
        (Some(_), Some(_)) => Outcome::Fail,
        _ => Outcome::Undetermined,
    };
    let sign = if j.min { "≥" } else { "≤" };
    let limit = j.limit.map(|l| format!("{sign} {}", l.value)).unwrap_or_else(|| "—".into());
    let step = Step {
        rule_id: rule.into(),
        description: j.name.into(),
        formula: format!("{} {limit}", j.value.map(|x| format!("{:.4}", x.round_dp(4))).unwrap_or_else(|| "—".into()),),
        result: outcome.code().into(),
        parameters: j.limit.iter().map(|l| l.to_use()).collect(),
        source: Some(src.clone()),
    };
    let note = if j.limit.is_none() { "no value in force for the region and date".into() } else { String::new() };
    let i = IndicatorResult {
        key: j.key.into(),
        name: j.name.into(),
        value: j.value.map(|x| x.round_dp(4)),
        limit,
        outcome,
        note,
        parameter: j.limit.cloned(),
    };
    (i, step)
}

pub fn check(book: &PolicyBook, region: RegionCode, l: &TownList, on: NaiveDate) -> Result<CampaignCheck, DomainError> {
    let v = |k: &str| book.value(k, region, on);
    let contiguous = v("land.campaign.contiguous_share_min")?;
    let cost = v("land.campaign.purchase_cost_max")?;
    let turnover = v("land.campaign.turnover_share_max")?;
    let fee_rate = v("land.campaign.turnover_fee")?;
    let report = v("land.campaign.report_day")?;
    let verify = v("land.campaign.verify_day")?;
    let src = book.rule_source("land.campaign.rules", region, on)?;
    let mut indicators = Vec::new();
    let mut trace = Trace::default();
    let mut add = |key: &str, name: &str, value: Option<Decimal>, limit: &Resolved, min: bool| {
        let (i, step) = judge(Judged { key, name, value, limit: Some(limit), min }, "land.campaign.rules", &src);
        indicators.push(i);
        trace.push(step);
    };
    let share = (l.total_area > Decimal::ZERO).then(|| l.contiguous_area / l.total_area);
    add("contiguous_share", "连片整治区域面积占年度治理总面积比例", share, &contiguous, true);
    let avg = match (l.purchase_cost_wan, l.purchased_area) {
        (Some(c), Some(a)) if a > Decimal::ZERO => Some(c / a),
        _ => None,
    };
    add("purchase_cost_per_mu", "合作收储成本均价(万元/亩)", avg, &cost, false);
    let borrowed_share = match (l.borrowed_quota, l.planned_reclaimed_area) {
        (Some(b), Some(p)) if p > Decimal::ZERO => Some(b / p),
        _ => None,
    };
    add("turnover_share", "预借周转指标占计划收储复垦面积比例", borrowed_share, &turnover, false);

    // Quota not returned by the end of the year after borrowing pays 85 万元/亩.
    let mut fee = Fen::ZERO;
    if let (Some(b), Some(year)) = (l.borrowed_quota, l.borrowed_in) {
        let due = NaiveDate::from_ymd_opt(year + 1, 12, 31).unwrap_or(on);
        let unreturned = (b - l.returned_quota.unwrap_or(Decimal::ZERO)).max(Decimal::ZERO);
        if on > due && unreturned > Decimal::ZERO {
            let yuan = unreturned * fee_rate.value * Decimal::from(10_000);
            let rounded = civic_domain::rounding::Rounding::half_up_to(Decimal::new(1, 2))?.apply(yuan)?;
            fee = Fen::from_yuan_decimal(rounded)?;
        }
        trace.push(Step {
            rule_id: "land.campaign.rules".into(),
            description: "预借周转指标应于下一年度内归还".into(),
            formula: format!(
                "{year} 年预借 {b} 亩,已还 {} 亩,归还期限 {due};未还 {unreturned} 亩 × {} 万元/亩",
                l.returned_quota.unwrap_or_default(),
                fee_rate.value
            ),
            result: if fee == Fen::ZERO {
                "无指标使用费".into()
            } else {
                format!("指标使用费 {}", fee.yuan_text())
            },
            parameters: vec![fee_rate.to_use()],
            source: Some(src.clone()),
        });
    }
    let report_by = day_in(on.year(), on.month(), report.value);
    let verify_by = day_in(on.year(), on.month(), verify.value);
    trace.push(Step {
        rule_id: "land.campaign.rules".into(),
        description: "定期验收核实".into(),
        formula: format!(
            "{} 年 {} 月:镇(区、街道)报送 ≤ {report_by};市专治办核实 ≤ {verify_by}",
            on.year(),
            on.month()
        ),
        result: String::new(),
        parameters: vec![report.to_use(), verify.to_use()],
        source: Some(src),
    });
    let progress = match (l.completed_area, l.target_area) {
        (Some(c), Some(t)) if t > Decimal::ZERO => Some((c / t * Decimal::ONE_HUNDRED).round_dp(2)),
        _ => None,
    };
    Ok(CampaignCheck { indicators, turnover_fee: fee, report_by, verify_by, progress_percent: progress, trace })
}

/// One town's share of the year's tasks.
#[derive(Debug, Clone)]
pub struct TownTask {
    pub town: String,
    pub area: Decimal,
    pub contiguous_area: Decimal,
    pub parks: i32,
}

/// The year's targets against the rules: each town's contiguous share, and the totals against
/// the year's goals. Parameters are those in force on 1 January of the year.
pub fn check_targets(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    towns: &[TownTask],
) -> Result<(Vec<IndicatorResult>, Trace), DomainError> {
    let on = NaiveDate::from_ymd_opt(year, 1, 1).ok_or(DomainError::InvalidDate(format!("{year}-01-01")))?;
    let share = book.value_if_in_force("land.campaign.contiguous_share_min", region, on)?;
    let goals = Goals::in_force(book, region, on)?;
    let rules = book.rule_source("land.campaign.rules", region, year_end(year))?;
    let mut out = Vec::new();
    let mut trace = Trace::default();
    for t in towns {
        let value = (t.area > Decimal::ZERO).then(|| t.contiguous_area / t.area);
        let name = format!("{}:连片整治区域面积占年度治理任务比例", t.town);
        let (i, step) = judge(
            Judged {
                key: &format!("contiguous_share/{}", t.town),
                name: &name,
                value,
                limit: share.as_ref(),
                min: true,
            },
            "land.campaign.rules",
            &rules,
        );
        out.push(i);
        trace.push(step);
    }
    let area: Decimal = towns.iter().map(|t| t.area).sum();
    let parks: i32 = towns.iter().map(|t| t.parks).sum();
    goals.judge(area, parks, "分解任务合计", &mut out, &mut trace);
    Ok((out, trace))
}

/// The year's goals across the city (either may be unpublished for a region and year).
pub struct Goals {
    area: Option<Resolved>,
    parks: Option<Resolved>,
    src: SourceRef,
}

impl Goals {
    pub fn in_force(book: &PolicyBook, region: RegionCode, on: NaiveDate) -> Result<Goals, DomainError> {
        Ok(Goals {
            area: book.value_if_in_force("land.campaign.annual_area_goal", region, on)?,
            parks: book.value_if_in_force("land.campaign.contiguous_parks_goal", region, on)?,
            src: book.rule_source("land.campaign.targets", region, on)?,
        })
    }

    pub fn judge(&self, area: Decimal, parks: i32, what: &str, out: &mut Vec<IndicatorResult>, trace: &mut Trace) {
        let checks = [
            ("annual_area", format!("{what}:整治面积(亩)"), Some(area), self.area.as_ref()),
            (
                "contiguous_parks",
                format!("{what}:启动老旧工业园区连片整治(个)"),
                Some(Decimal::from(parks)),
                self.parks.as_ref(),
            ),
        ];
        for (key, name, value, limit) in checks {
            let (i, step) =
                judge(Judged { key, name: &name, value, limit, min: true }, "land.campaign.targets", &self.src);
            out.push(i);
            trace.push(step);
        }
    }
}

/// The report and verification days of a month.
pub fn monthly_days(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    month: u32,
) -> Result<(NaiveDate, NaiveDate, Trace), DomainError> {
    let first =
        NaiveDate::from_ymd_opt(year, month, 1).ok_or(DomainError::InvalidDate(format!("{year}-{month:02}-01")))?;
    let report = book.value("land.campaign.report_day", region, first)?;
    let verify = book.value("land.campaign.verify_day", region, first)?;
    let (report_by, verify_by) = (day_in(year, month, report.value), day_in(year, month, verify.value));
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "land.campaign.rules".into(),
        description: "定期验收核实".into(),
        formula: format!("{year} 年 {month} 月:镇(区、街道)报送 ≤ {report_by};市专治办核实 ≤ {verify_by}"),
        result: String::new(),
        parameters: vec![report.to_use(), verify.to_use()],
        source: Some(book.rule_source("land.campaign.rules", region, year_end(year))?),
    });
    Ok((report_by, verify_by, trace))
}

/// The last day of `year`: the rules in force then are those a year's figures are judged by.
fn year_end(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default()
}
