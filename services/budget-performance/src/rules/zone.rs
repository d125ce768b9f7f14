//! Revenue sharing with the development zones (驻政〔2020〕37号 附件4 一, from 2021-01-01): the zone
//! is awarded 80 % of the city-level tax it collects above its plan (the city's fixed sources
//! excluded) and keeps 80 % of its non-tax revenue; its base, reward and retention are spent
//! freely, a surplus is carried forward and an overspend is not covered. The zone's share is
//! rounded half-up to the fen and the city keeps the remainder (a civic choice, cited as such),
//! so the two always add up to the whole.

use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::{share_half_up, year_end, RuleError};

/// The plan of countable tax: given, or the base grown by the approved target.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    Given(Fen),
    Growth { base: Fen, percent: Decimal },
}

#[derive(Debug, Clone)]
pub struct Revenue {
    pub plan: Plan,
    pub city_tax: Fen,
    pub fixed_sources: Fen,
    pub nontax: Fen,
}

#[derive(Debug, Clone)]
pub struct Settlement {
    pub plan: Fen,
    pub countable: Fen,
    pub excess: Fen,
    pub zone_reward: Fen,
    pub city_tax_share: Fen,
    pub zone_nontax: Fen,
    pub city_nontax: Fen,
    pub trace: Trace,
}

/// The zone must be one of the 两区 in force in the year; a zone run closed under another is
/// refused with the rule that says so.
fn check_member(book: &PolicyBook, zone: RegionCode, year: i32) -> Result<chrono::NaiveDate, RuleError> {
    let on = year_end(year)?;
    if book.value_if_in_force(&format!("budget.zone.closed.{zone}"), zone, on)?.is_some() {
        let src = book.rule_source("budget.zone.nongchanyuan", zone, on)?;
        return Err(RuleError::Forbidden {
            reason: "ZONE_CLOSED_OPERATION",
            message: format!(
                "{zone} is not settled as one of the 两区: the 农产园 runs closed, its revenue and spending with the 经济开发区 ({} {})",
                src.document, src.clause
            ),
        });
    }
    match book.value_if_in_force(&format!("budget.zone.member.{zone}"), zone, on)? {
        Some(m) if m.value == Decimal::ONE => Ok(on),
        _ => Err(RuleError::Forbidden {
            reason: "NOT_A_PLANNED_ZONE",
            message: format!(
                "{zone} is not one of the zones whose revenue is planned and shared in {year} (the 两区 from 2021-01-01, 驻政〔2020〕37号 附件4 一); \
                 a zone the policy book does not list yet is added by the city as region data: its code in regions.csv and a budget.zone.member.<code> row"
            ),
        }),
    }
}

pub fn settle(book: &PolicyBook, zone: RegionCode, year: i32, r: &Revenue) -> Result<Settlement, RuleError> {
    let on = check_member(book, zone, year)?;
    let tax_rate = book.value("budget.zone.tax_reward_rate", zone, on)?;
    let nontax_rate = book.value("budget.zone.nontax_retention_rate", zone, on)?;
    let mut trace = Trace::default();
    let plan = match r.plan {
        Plan::Given(p) => p,
        Plan::Growth { base, percent } => {
            let factor = Decimal::ONE
                .checked_add(percent / Decimal::ONE_HUNDRED)
                .ok_or(RuleError::Input { field: "growth_percent", message: "out of range".into() })?;
            share_half_up(base, factor)?
        }
    };
    if r.fixed_sources > r.city_tax {
        return Err(RuleError::Input {
            field: "fixed_source_fen",
            message: "the city's fixed sources cannot exceed the city-level tax they are part of".into(),
        });
    }
    let countable = r.city_tax.checked_sub(r.fixed_sources)?;
    let excess = countable.checked_sub(plan)?.max(Fen::ZERO);
    let zone_reward = share_half_up(excess, tax_rate.value)?;
    let city_tax_share = excess.checked_sub(zone_reward)?;
    let zone_nontax = share_half_up(r.nontax, nontax_rate.value)?;
    let city_nontax = r.nontax.checked_sub(zone_nontax)?;
    let settlement_src = book.rule_source("budget.zone.settlement", zone, on)?;
    let plan_text = match r.plan {
        Plan::Given(_) => format!("计划 {}", plan.yuan_text()),
        Plan::Growth { base, percent } => {
            format!("计划 = 基数 {} × (1 + {}%) = {}", base.yuan_text(), percent.normalize(), plan.yuan_text())
        }
    };
    trace.push(Step {
        rule_id: "budget.zone.settlement".into(),
        description: format!("{zone} {year} 年税收(市级部分,市级固定税源除外)超收奖励"),
        formula: format!(
            "{plan_text};可计税收 {} − {} = {};超收 max(0, {} − {}) = {};奖励 {} × {} = {}",
            r.city_tax.yuan_text(),
            r.fixed_sources.yuan_text(),
            countable.yuan_text(),
            countable.yuan_text(),
            plan.yuan_text(),
            excess.yuan_text(),
            excess.yuan_text(),
            tax_rate.value.normalize(),
            zone_reward.yuan_text()
        ),
        result: format!("两区 {},市级 {}", zone_reward.yuan_text(), city_tax_share.yuan_text()),
        parameters: vec![tax_rate.to_use()],
        source: Some(settlement_src.clone()),
    });
    trace.push(Step {
        rule_id: "budget.zone.settlement".into(),
        description: "非税收入留成".into(),
        formula: format!("{} × {} = {}", r.nontax.yuan_text(), nontax_rate.value.normalize(), zone_nontax.yuan_text()),
        result: format!("两区 {},市级 {}", zone_nontax.yuan_text(), city_nontax.yuan_text()),
        parameters: vec![nontax_rate.to_use()],
        source: Some(settlement_src),
    });
    trace.push(Step {
        rule_id: "budget.zone.rounding".into(),
        description: "两区应得部分按分四舍五入,市级所得为余数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source("budget.zone.rounding", zone, on)?),
    });
    Ok(Settlement { plan, countable, excess, zone_reward, city_tax_share, zone_nontax, city_nontax, trace })
}

#[derive(Debug, Clone)]
pub struct Ledger {
    pub available: Fen,
    pub carry_forward: Fen,
    pub overspend: Fen,
    pub trace: Trace,
}

/// The year's spending ledger of a zone: 结余滚存使用,超支不补.
pub fn ledger(
    book: &PolicyBook,
    zone: RegionCode,
    year: i32,
    parts: [Fen; 4],
    spent: Fen,
) -> Result<Ledger, RuleError> {
    let on = check_member(book, zone, year)?;
    let available = Fen::checked_sum(parts)?;
    let (carry_forward, overspend) = if spent <= available {
        (available.checked_sub(spent)?, Fen::ZERO)
    } else {
        (Fen::ZERO, spent.checked_sub(available)?)
    };
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.zone.ledger".into(),
        description: format!("{zone} {year} 年经常性支出基数与奖励(留成)资金"),
        formula: format!(
            "可用 {} + {} + {} + 上年结转 {} = {};支出 {}",
            parts[0].yuan_text(),
            parts[1].yuan_text(),
            parts[2].yuan_text(),
            parts[3].yuan_text(),
            available.yuan_text(),
            spent.yuan_text()
        ),
        result: if overspend == Fen::ZERO {
            format!("结余滚存 {}", carry_forward.yuan_text())
        } else {
            format!("超支 {},市财政不补", overspend.yuan_text())
        },
        parameters: vec![],
        source: Some(book.rule_source("budget.zone.ledger", zone, on)?),
    });
    Ok(Ledger { available, carry_forward, overspend, trace })
}
