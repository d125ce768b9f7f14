//! Cost sharing between the city and the district or county that pays a programme out
//! (`budget.cost_share.<programme>.city_share`, e.g. 高龄补贴 3:7 in 三门峡's 市区, 三政〔2017〕23号
//! 三(一)): the city's part half-up to the fen, the local government the remainder.

use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::{share_half_up, RuleError};

/// A programme's cost split between the city and the district or county that pays it out
/// (`budget.cost_share.<programme>.city_share`, e.g. 高龄补贴 3:7 in 三门峡's 市区, 三政〔2017〕23号
/// 三(一)); the city's part half-up to the fen, the local government the remainder.
pub fn split(
    book: &PolicyBook,
    region: RegionCode,
    programme: &str,
    total: Fen,
    on: chrono::NaiveDate,
) -> Result<(Decimal, Fen, Fen, Trace), RuleError> {
    if programme.is_empty() || !programme.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Err(RuleError::Input {
            field: "programme",
            message: "a programme key such as elderly_allowance".into(),
        });
    }
    let share = book.value(&format!("budget.cost_share.{programme}.city_share"), region, on)?;
    let city = share_half_up(total, share.value)?;
    let local = total.checked_sub(city)?;
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.cost_share".into(),
        description: format!("{region} {programme}:市级负担 {}", share.value.normalize()),
        formula: format!(
            "{} × {} = {};县(区)级 {}",
            total.yuan_text(),
            share.value.normalize(),
            city.yuan_text(),
            local.yuan_text()
        ),
        result: format!("市级 {},县(区)级 {}", city.yuan_text(), local.yuan_text()),
        parameters: vec![share.to_use()],
        source: Some(book.rule_source("budget.cost_share", region, on)?),
    });
    trace.push(Step {
        rule_id: "budget.cost_share.rounding".into(),
        description: "市级负担部分按分四舍五入,县(区)级负担余数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source("budget.cost_share.rounding", region, on)?),
    });
    Ok((share.value, city, local, trace))
}

/// The share of a government's welfare-lottery funds (用于社会福利事业的彩票公益金) that goes to
/// elderly services, held to its minimum (`budget.lottery.elderly_share_percent`, 三门峡: 50 %
/// 以上, 三政〔2017〕23号 三(四)); the minimum up to the fen.
pub fn lottery_share(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    lottery: Fen,
    elderly: Fen,
) -> Result<(Decimal, super::MinimumShare, Trace), RuleError> {
    let y = super::year_end(year)?;
    if lottery.get() <= 0 {
        return Err(RuleError::Input { field: "welfare_lottery_fen", message: "must be positive".into() });
    }
    if elderly.get() < 0 || elderly > lottery {
        return Err(RuleError::Input {
            field: "elderly_services_fen",
            message: "from 0 to the welfare-lottery funds".into(),
        });
    }
    let share = book.value("budget.lottery.elderly_share_percent", region, y)?;
    let cmp = share.cmp.unwrap_or(civic_domain::compare::Cmp::Ge);
    let m = super::minimum_share(lottery, elderly, share.value, cmp)?;
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.lottery.elderly_share".into(),
        description: format!("用于社会福利事业的彩票公益金 {}% 以上用于支持发展养老服务业", share.value.normalize()),
        formula: format!(
            "{} ÷ {} = {}% {} {}%",
            elderly.yuan_text(),
            lottery.yuan_text(),
            super::four_places(m.ratio),
            cmp.symbol(),
            share.value.normalize()
        ),
        result: if m.passed { "达标".into() } else { format!("差 {}", m.shortfall.yuan_text()) },
        parameters: vec![share.to_use()],
        source: Some(book.rule_source("budget.lottery.elderly_share", region, y)?),
    });
    trace.push(Step {
        rule_id: "budget.lottery.minimum".into(),
        description: "最低额按分向上取整".into(),
        formula: format!(
            "{} × {}% = {} 分 → {}",
            lottery.yuan_text(),
            share.value.normalize(),
            m.exact_minimum.normalize(),
            m.minimum.yuan_text()
        ),
        result: m.minimum.yuan_text(),
        parameters: vec![],
        source: Some(book.rule_source("budget.lottery.minimum", region, y)?),
    });
    trace.push(Step {
        rule_id: civic_domain::compare::RULE.into(),
        description: "比较用语:“以上”包括本数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source(civic_domain::compare::RULE, region, y)?),
    });
    Ok((share.value, m, trace))
}

/// A closed mine of a merged-and-restructured colliery (兼并重组煤矿).
#[derive(Debug, Clone)]
pub struct ClosedMine {
    pub name: String,
    pub closed_on: chrono::NaiveDate,
    /// The city's acceptance (验收合格); the reward is paid only after it.
    pub accepted_on: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct MineReward {
    pub name: String,
    pub city: Fen,
    pub county: Fen,
    pub payable: bool,
    pub note: String,
}

/// The closure reward of each mine (三政〔2017〕14号): the city and the county each pay the
/// amount in force on the closing day (2017: 1,000,000 yuan each; closures after 2017: none),
/// after the city's acceptance; the county pays the city's standard.
pub fn closure_reward(
    book: &PolicyBook,
    county: RegionCode,
    mines: &[ClosedMine],
) -> Result<(Vec<MineReward>, Fen, Fen, Trace), RuleError> {
    let mut out = Vec::with_capacity(mines.len());
    let mut trace = Trace::default();
    let (mut city_total, mut county_total) = (Fen::ZERO, Fen::ZERO);
    for m in mines {
        let city = book.value("budget.closure_reward.city_yuan", county, m.closed_on)?;
        let local = book.value("budget.closure_reward.county_yuan", county, m.closed_on)?;
        let yuan = |v: Decimal| -> Result<Fen, RuleError> {
            let fen = (v * Decimal::ONE_HUNDRED).trunc();
            Ok(Fen::new(i64::try_from(fen).map_err(|_| civic_domain::DomainError::Overflow("reward"))?))
        };
        let (c, l) = (yuan(city.value)?, yuan(local.value)?);
        if let Some(a) = m.accepted_on {
            if a < m.closed_on {
                return Err(RuleError::InputAt {
                    field: format!("mines[{}].accepted_on", out.len()),
                    message: "not before the closing day".into(),
                });
            }
        }
        let payable = m.accepted_on.is_some() && (c.get() > 0 || l.get() > 0);
        let note = match (c.get() + l.get() > 0, m.accepted_on) {
            (false, _) => format!("{} 关闭:不再奖励", m.closed_on),
            (true, None) => "待市政府组织验收,验收合格后拨付".into(),
            (true, Some(a)) => format!("{a} 验收合格:市级奖励资金拨付至县(市、区),县(市、区)按市级标准同步拨付"),
        };
        trace.push(Step {
            rule_id: "budget.closure_reward".into(),
            description: format!("{}({} 关闭)", m.name, m.closed_on),
            formula: format!("市级 {} + 县级 {}", c.yuan_text(), l.yuan_text()),
            result: note.clone(),
            parameters: vec![city.to_use(), local.to_use()],
            source: Some(book.rule_source("budget.closure_reward", county, m.closed_on)?),
        });
        city_total = city_total.checked_add(c)?;
        county_total = county_total.checked_add(l)?;
        out.push(MineReward { name: m.name.clone(), city: c, county: l, payable, note });
    }
    Ok((out, city_total, county_total, trace))
}
