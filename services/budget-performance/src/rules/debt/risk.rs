//! The risk level (Ⅰ–Ⅳ) of a city's government debt from its county-level governments' figures,
//! incidents and determinations, every criterion hit with its figures.

use chrono::NaiveDate;
use civic_domain::{
    compare::Cmp,
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::RuleError;

/// One government's debt in the period.
#[derive(Debug, Clone)]
pub struct GovernmentDebt {
    pub region: RegionCode,
    pub principal_due: Fen,
    pub principal_defaulted: Fen,
    pub interest_due: Fen,
    pub interest_defaulted: Fen,
    pub unable_to_pay: bool,
    pub unable_contingent: bool,
}

/// Group events by severity (4.1.2(4), 4.1.3(2), 4.1.4(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incident {
    MajorVeryBad,
    Larger,
    Mass,
}

/// Ⅰ (most severe) to Ⅳ, as numbers 1–4.
pub type Level = u8;

pub fn level_name(l: Level) -> &'static str {
    match l {
        1 => "Ⅰ级(特大)",
        2 => "Ⅱ级(重大)",
        3 => "Ⅲ级(较大)",
        4 => "Ⅳ级(一般)",
        _ => "无",
    }
}

#[derive(Debug, Clone)]
pub struct RiskInput {
    pub city: GovernmentDebt,
    pub counties: Vec<GovernmentDebt>,
    pub provincial_bond_default: bool,
    pub incidents: Vec<Incident>,
    pub designated: Option<Level>,
}

#[derive(Debug, Clone)]
pub struct Risk {
    pub level: Option<Level>,
    /// (clause, level, finding)
    pub criteria: Vec<(String, Level, String)>,
    pub open: Vec<String>,
    pub at_least: Option<Level>,
    pub trace: Trace,
}

fn percent(part: Fen, whole: Fen) -> Option<Decimal> {
    (whole.get() > 0).then(|| Decimal::from(part.get()) * Decimal::ONE_HUNDRED / Decimal::from(whole.get()))
}

/// The level of a debt-risk event in `city` on `on`, under the plan in force (三政办〔2017〕25号 4.1).
pub fn assess_risk(book: &PolicyBook, city: RegionCode, on: NaiveDate, input: &RiskInput) -> Result<Risk, RuleError> {
    let v = |k: &str| book.value(k, city, on);
    let units = v("budget.debt.county_units")?;
    let l1_share = v("budget.debt.l1.county_share_percent")?;
    let l1_city = v("budget.debt.l1.citywide_default_percent")?;
    let l2_share = v("budget.debt.l2.county_share_percent")?;
    let l2_default = v("budget.debt.l2.default_percent")?;
    let l3_default = v("budget.debt.l3.default_percent")?;
    let src = book.rule_source("budget.debt.level", city, on)?;
    let n_units = i64::try_from(units.value.trunc()).unwrap_or(0);
    if input.counties.len() as i64 > n_units {
        return Err(RuleError::Input {
            field: "counties",
            message: format!("{} county-level governments listed; the city has {n_units}", input.counties.len()),
        });
    }
    let mut criteria: Vec<(String, Level, String)> = Vec::new();
    let mut open = Vec::new();
    let mut hit = |clause: &str, level: Level, finding: String| criteria.push((clause.to_string(), level, finding));
    let cmp = |r: &civic_domain::policy::Resolved| r.cmp.unwrap_or(Cmp::Ge);

    if input.provincial_bond_default {
        hit("4.1.1(1)", 1, "省政府转贷的地方政府债券到期本息违约".into());
    }
    // The city government itself unable to pay or to meet contingent duties.
    if input.city.unable_to_pay {
        hit("4.1.1(2)", 1, "市级政府无法偿还政府性债务本息".into());
    }
    if input.city.unable_contingent {
        hit("4.1.1(3)", 1, "市级政府无法履行或有债务的法定代偿或救助责任".into());
    }
    // The share of county-level governments unable to pay (or to meet contingent duties).
    for (clause1, clause2, count, what) in [
        ("4.1.1(2)", "4.1.2(1)", input.counties.iter().filter(|c| c.unable_to_pay).count(), "无法偿还政府性债务本息"),
        ("4.1.1(3)", "4.1.2(2)", input.counties.iter().filter(|c| c.unable_contingent).count(), "无法履行或有债务责任"),
    ] {
        if count == 0 || n_units == 0 {
            continue;
        }
        let share = Decimal::from(count as i64) * Decimal::ONE_HUNDRED / Decimal::from(n_units);
        let text = format!("{count}/{n_units} 个县级政府{what} = {}%", crate::rules::four_places(share));
        if cmp(&l1_share).holds(share, l1_share.value) {
            hit(clause1, 1, format!("{text},≥ {}%", l1_share.value.normalize()));
        } else if cmp(&l2_share).holds(share, l2_share.value) {
            hit(
                clause2,
                2,
                format!("{text},在 [{}%, {}%) 之间", l2_share.value.normalize(), l1_share.value.normalize()),
            );
        }
    }
    // The city's own area is the whole city: its default ratios are the city-wide ones (Ⅰ(4), or
    // the Ⅱ(3) and Ⅲ(1) bands below it). Each county's are its own; a single county at or above
    // the Ⅰ city-wide ratio fits no band of 4.1: an open determination, never a guessed level.
    let all: Vec<&GovernmentDebt> = std::iter::once(&input.city).chain(input.counties.iter()).collect();
    let sum = |f: fn(&GovernmentDebt) -> Fen| Fen::checked_sum(all.iter().map(|g| f(g)));
    let citywide = [
        ("本金", sum(|g| g.principal_due)?, sum(|g| g.principal_defaulted)?),
        ("利息", sum(|g| g.interest_due)?, sum(|g| g.interest_defaulted)?),
    ];
    for (what, due, defaulted) in citywide {
        let Some(r) = percent(defaulted, due) else { continue };
        let text = format!(
            "全市{what}违约 {} ÷ {} = {}%",
            defaulted.yuan_text(),
            due.yuan_text(),
            crate::rules::four_places(r)
        );
        if cmp(&l1_city).holds(r, l1_city.value) {
            hit("4.1.1(4)", 1, text);
        } else if cmp(&l2_default).holds(r, l2_default.value) {
            hit("4.1.2(3)", 2, text);
        } else if cmp(&l3_default).holds(r, l3_default.value) {
            hit("4.1.3(1)", 3, text);
        }
    }
    for g in &input.counties {
        for (what, due, defaulted) in
            [("本金", g.principal_due, g.principal_defaulted), ("利息", g.interest_due, g.interest_defaulted)]
        {
            let Some(r) = percent(defaulted, due) else { continue };
            let text = format!(
                "{} {what}违约 {} ÷ {} = {}%",
                g.region,
                defaulted.yuan_text(),
                due.yuan_text(),
                crate::rules::four_places(r)
            );
            if cmp(&l1_city).holds(r, l1_city.value) {
                open.push(format!(
                    "{text}:单个县级政府的违约率达到 {}% 以上,4.1 各级均未规定;至少为Ⅱ级,由政府按 4.1.1(5) 认定",
                    l1_city.value.normalize()
                ));
            } else if cmp(&l2_default).holds(r, l2_default.value) {
                hit("4.1.2(3)", 2, text);
            } else if cmp(&l3_default).holds(r, l3_default.value) {
                hit("4.1.3(1)", 3, text);
            }
        }
    }
    for i in &input.incidents {
        match i {
            Incident::MajorVeryBad => hit("4.1.2(4)", 2, "重大群体性事件,影响极为恶劣".into()),
            Incident::Larger => hit("4.1.3(2)", 3, "较大群体性事件".into()),
            Incident::Mass => hit("4.1.4(1)", 4, "群体性事件".into()),
        }
    }
    if let Some(l) = input.designated {
        let clause = match l {
            1 => "4.1.1(5)",
            2 => "4.1.2(5)",
            3 => "4.1.3(3)",
            _ => "4.1.4(2)",
        };
        hit(clause, l, "政府认定的其他情形".into());
    }
    let level = criteria.iter().map(|c| c.1).min();
    let at_least = if open.is_empty() { None } else { Some(2) };
    let mut trace = Trace::default();
    for (clause, l, finding) in &criteria {
        trace.push(Step {
            rule_id: "budget.debt.level".into(),
            description: format!("{clause}:{}", level_name(*l)),
            formula: finding.clone(),
            result: level_name(*l).into(),
            parameters: vec![
                units.to_use(),
                l1_share.to_use(),
                l1_city.to_use(),
                l2_share.to_use(),
                l2_default.to_use(),
                l3_default.to_use(),
            ],
            source: Some(src.clone()),
        });
    }
    trace.push(Step {
        rule_id: "budget.debt.level".into(),
        description: "指标交叉、难以判定级别时,按照较高一级处置".into(),
        formula: String::new(),
        result: level.map(level_name).unwrap_or("无").into(),
        parameters: vec![],
        source: Some(src),
    });
    trace.push(Step {
        rule_id: civic_domain::compare::RULE.into(),
        description: "比较用语:“以上”包括本数,“未达到”不包括本数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source(civic_domain::compare::RULE, city, on)?),
    });
    Ok(Risk { level, criteria, open, at_least, trace })
}
