//! Pooled agricultural funds of a non-poor county (三政办〔2017〕29号): at least half of the
//! pooled funds to poverty alleviation (二(二), 50 % 以上 includes 50 %; the minimum in fen is
//! rounded up, since a share short by part of a fen is short), what becomes of balances
//! (五(五)), and the allocation deadlines (七(三) 15 days, 七(四) 7 working days).

use chrono::NaiveDate;
use civic_domain::{
    compare::Cmp,
    explanation::{Step, Trace},
    period,
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::{four_places, year_end, RuleError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceClass {
    MustRecall,
    MayRecallAfterFiling,
    Keep,
}

#[derive(Debug, Clone)]
pub struct Balance {
    pub id: String,
    pub carried_since: NaiveDate,
    pub net_surplus: bool,
    pub needed_for_original_use: bool,
}

#[derive(Debug, Clone)]
pub struct PoolCheck {
    pub share_percent: Decimal,
    pub minimum: Fen,
    pub passed: bool,
    pub shortfall: Fen,
    pub balances: Vec<(String, BalanceClass, String)>,
    pub trace: Trace,
}

pub fn check(
    book: &PolicyBook,
    county: RegionCode,
    year: i32,
    pooled: Fen,
    poverty: Fen,
    on: NaiveDate,
    balances: &[Balance],
) -> Result<PoolCheck, RuleError> {
    let y = year_end(year)?;
    if poverty > pooled {
        return Err(RuleError::Input {
            field: "poverty_allocation_fen",
            message: "the allocations cannot exceed the pooled funds".into(),
        });
    }
    if pooled.get() <= 0 {
        return Err(RuleError::Input { field: "pooled_fen", message: "the pooled funds must be positive".into() });
    }
    let share = book.value("budget.agri_pool.poverty_share_percent", county, y)?;
    let cmp = share.cmp.unwrap_or(Cmp::Ge);
    // The least amount that meets the share, up to the fen.
    let super::MinimumShare { ratio, passed, exact_minimum: exact_min, minimum, shortfall } =
        super::minimum_share(pooled, poverty, share.value, cmp)?;
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.agri_pool.share".into(),
        description: format!("纳入统筹的资金{}{}%用于脱贫攻坚", share.value.normalize(), "以上"),
        formula: format!(
            "{} ÷ {} = {}%;{}% {} {}% {}",
            poverty.yuan_text(),
            pooled.yuan_text(),
            four_places(ratio),
            four_places(ratio),
            cmp.symbol(),
            share.value.normalize(),
            if passed { "达标" } else { "未达标" }
        ),
        result: if passed { "达标".into() } else { format!("差 {}", shortfall.yuan_text()) },
        parameters: vec![share.to_use()],
        source: Some(book.rule_source("budget.agri_pool.share", county, y)?),
    });
    trace.push(Step {
        rule_id: "budget.agri_pool.minimum".into(),
        description: "最低额按分向上取整".into(),
        formula: format!(
            "{} × {}% = {} 分 → {}",
            pooled.yuan_text(),
            share.value.normalize(),
            exact_min.normalize(),
            minimum.yuan_text()
        ),
        result: minimum.yuan_text(),
        parameters: vec![],
        source: Some(book.rule_source("budget.agri_pool.minimum", county, y)?),
    });
    trace.push(Step {
        rule_id: civic_domain::compare::RULE.into(),
        description: "比较用语:“以上”包括本数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source(civic_domain::compare::RULE, county, y)?),
    });
    let recall_years = book.value("budget.agri_pool.recall_years", county, on)?;
    let years = u32::try_from(recall_years.value.trunc()).unwrap_or(1);
    let mut out = Vec::new();
    for b in balances {
        if b.carried_since > on {
            return Err(RuleError::Input {
                field: "balances.carried_since",
                message: format!("{} is after on_date {on}", b.carried_since),
            });
        }
        let (class, reason) = if b.net_surplus {
            (BalanceClass::MustRecall, "财政净结余资金,收回统筹".to_string())
        } else if period::years_reached(b.carried_since, on, years) {
            (
                BalanceClass::MustRecall,
                format!("自 {} 结转,至 {on} 已满{years}年(“以上”包括本数),收回统筹", b.carried_since),
            )
        } else if !b.needed_for_original_use {
            (
                BalanceClass::MayRecallAfterFiling,
                format!("自 {} 结转不足{years}年、不需按原用途使用,报备后可收回", b.carried_since),
            )
        } else {
            (BalanceClass::Keep, format!("自 {} 结转不足{years}年,仍按原用途使用", b.carried_since))
        };
        out.push((b.id.clone(), class, reason));
    }
    if !balances.is_empty() {
        trace.push(Step {
            rule_id: "budget.agri_pool.recall".into(),
            description: "结转结余资金的处理".into(),
            formula: out.iter().map(|(id, _, why)| format!("{id}:{why}")).collect::<Vec<_>>().join(";"),
            result: String::new(),
            parameters: vec![recall_years.to_use()],
            source: Some(book.rule_source("budget.agri_pool.recall", county, on)?),
        });
    }
    Ok(PoolCheck { share_percent: ratio, minimum, passed, shortfall, balances: out, trace })
}

#[derive(Debug, Clone)]
pub struct Deadlines {
    pub opinion: Option<period::PeriodEnd>,
    pub plan: Option<civic_domain::calendar::Deadline>,
    pub trace: Trace,
}

pub fn deadlines(
    book: &PolicyBook,
    county: RegionCode,
    summary_received: Option<NaiveDate>,
    opinion_received: Option<NaiveDate>,
) -> Result<Deadlines, RuleError> {
    let mut trace = Trace::default();
    let opinion = match summary_received {
        Some(d) => {
            let (end, steps) = super::days_within(
                book,
                county,
                d,
                "budget.agri_pool.opinion_days",
                "budget.agri_pool.deadlines",
                |n| format!("联席会议 {n} 日内提出分配意见"),
            )?;
            trace.steps.extend(steps);
            Some(end)
        }
        None => None,
    };
    let plan = match opinion_received {
        Some(d) => {
            let days = book.value("budget.agri_pool.plan_working_days", county, d)?;
            let n = u32::try_from(days.value.trunc()).unwrap_or(0);
            let dl = book.calendar.add_working_days(d, n)?;
            let skipped: Vec<String> = dl.skipped.iter().map(|(day, why)| format!("{day} {why}")).collect();
            trace.push(Step {
                rule_id: "budget.agri_pool.deadlines".into(),
                description: format!("县级财政收到分配意见后 {n} 个工作日内下达资金计划"),
                formula: format!("{d} 后第 {n} 个工作日 = {};跳过 {}", dl.due, skipped.join("、")),
                result: dl.due.to_string(),
                parameters: vec![days.to_use()],
                source: Some(book.rule_source("budget.agri_pool.deadlines", county, d)?),
            });
            Some(dl)
        }
        None => None,
    };
    Ok(Deadlines { opinion, plan, trace })
}
