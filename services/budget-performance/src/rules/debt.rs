//! The government-debt emergency plan of 三门峡 (三政办〔2017〕25号): the mandatory trigger for
//! fiscal restructuring (4.2.1(2): interest 超过 10 % of the matching expenditure — exactly 10 %
//! is not mandatory), the cap on a government guarantor's liability (3.4.3(1), and from
//! 2021-01-01 the legal cap by fault, 法释〔2020〕28号 第十七条), and how early debt falling due is
//! reported (3.3: two months for government debt, one for contingent debt).

use chrono::NaiveDate;
use civic_domain::{
    compare::Cmp,
    explanation::{Step, Trace},
    period,
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::{share_floor, year_end, RuleError};

#[derive(Debug, Clone)]
pub struct RestructuringTest {
    pub debt: &'static str,
    pub ratio_percent: Decimal,
    pub threshold: Decimal,
    pub cmp: Cmp,
    pub mandatory: bool,
}

#[derive(Debug, Clone)]
pub struct Restructuring {
    pub tests: Vec<RestructuringTest>,
    pub mandatory: bool,
    pub trace: Trace,
}

/// (interest, expenditure) for general and, when given, special debt.
pub fn restructuring(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    general: (Fen, Fen),
    special: Option<(Fen, Fen)>,
) -> Result<Restructuring, RuleError> {
    let on = year_end(year)?;
    let src = book.rule_source("budget.debt.restructuring", region, on)?;
    let words = book.rule_source(civic_domain::compare::RULE, region, on)?;
    let mut trace = Trace::default();
    let mut tests = Vec::new();
    let cases = [
        (
            "GENERAL",
            "一般债务利息 ÷ 一般公共预算支出",
            "budget.debt.restructure.general_percent",
            Some(general),
            "general_expenditure_fen",
        ),
        (
            "SPECIAL",
            "专项债务利息 ÷ 政府性基金预算支出",
            "budget.debt.restructure.special_percent",
            special,
            "fund_expenditure_fen",
        ),
    ];
    for (debt, what, key, figures, field) in cases {
        let Some((interest, expenditure)) = figures else { continue };
        if expenditure.get() <= 0 {
            return Err(RuleError::Input { field, message: "the expenditure must be positive".into() });
        }
        let threshold = book.value(key, region, on)?;
        let cmp = threshold.cmp.unwrap_or(Cmp::Gt);
        let ratio = Decimal::from(interest.get())
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(Decimal::from(expenditure.get())))
            .ok_or(civic_domain::DomainError::Overflow("interest ratio"))?;
        let mandatory = cmp.holds(ratio, threshold.value);
        trace.push(Step {
            rule_id: "budget.debt.restructuring".into(),
            description: format!("{what} {}{}% 的,必须启动财政重整计划", cmp.word(), threshold.value.normalize()),
            formula: format!(
                "{} ÷ {} = {}%;{}% {} {}% {}",
                interest.yuan_text(),
                expenditure.yuan_text(),
                super::four_places(ratio),
                super::four_places(ratio),
                cmp.symbol(),
                threshold.value.normalize(),
                if mandatory { "成立" } else { "不成立" }
            ),
            result: if mandatory { "必须启动".into() } else { "不属必须启动(可自主启动)".into() },
            parameters: vec![threshold.to_use()],
            source: Some(src.clone()),
        });
        tests.push(RestructuringTest { debt, ratio_percent: ratio, threshold: threshold.value, cmp, mandatory });
    }
    trace.push(Step {
        rule_id: civic_domain::compare::RULE.into(),
        description: "比较用语:“超过”不包括本数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(words),
    });
    let mandatory = tests.iter().any(|t| t.mandatory);
    Ok(Restructuring { tests, mandatory, trace })
}

/// Who was at fault, for the legal cap.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub creditor: bool,
    pub guarantor: bool,
    pub main_contract_void: bool,
}

#[derive(Debug, Clone)]
pub struct GuaranteeCap {
    pub plan_cap: Fen,
    pub legal_cap: Option<Fen>,
    pub trace: Trace,
}

pub fn guarantee_cap(
    book: &PolicyBook,
    region: RegionCode,
    on: NaiveDate,
    unpaid: Fen,
    guaranteed: Fen,
    fault: Fault,
) -> Result<GuaranteeCap, RuleError> {
    let ratio = book.value("budget.debt.guarantee_cap.plan_ratio", region, on)?;
    let half = share_floor(unpaid, ratio.value)?;
    let plan_cap = if guaranteed < half { guaranteed } else { half };
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.debt.guarantee_cap.plan".into(),
        description: "担保责任不超过债务人不能清偿部分的二分之一,且不超过担保额(按分向下取整)".into(),
        formula: format!(
            "min({} × {} = {}, 担保额 {}) = {}",
            unpaid.yuan_text(),
            ratio.value.normalize(),
            half.yuan_text(),
            guaranteed.yuan_text(),
            plan_cap.yuan_text()
        ),
        result: plan_cap.yuan_text(),
        parameters: vec![ratio.to_use()],
        source: Some(book.rule_source("budget.debt.guarantee_cap.plan", region, on)?),
    });
    let legal_cap = match book.rule_source("budget.debt.guarantee_cap.law", region, on) {
        Ok(src) => {
            let (cap, why) = match (fault.main_contract_void, fault.creditor, fault.guarantor) {
                (false, true, true) => {
                    (super::fraction_floor(unpaid, 1, 2)?, "主合同有效,债权人与担保人均有过错:不超过二分之一")
                }
                (false, false, true) => (unpaid, "主合同有效,担保人有过错而债权人无过错:承担赔偿责任(至不能清偿部分)"),
                (false, _, false) => (Fen::ZERO, "主合同有效,担保人无过错:不承担赔偿责任"),
                (true, _, true) => (super::fraction_floor(unpaid, 1, 3)?, "主合同无效,担保人有过错:不超过三分之一"),
                (true, _, false) => (Fen::ZERO, "主合同无效,担保人无过错:不承担赔偿责任"),
            };
            trace.push(Step {
                rule_id: "budget.debt.guarantee_cap.law".into(),
                description: why.into(),
                formula: format!("不能清偿部分 {} → {}", unpaid.yuan_text(), cap.yuan_text()),
                result: cap.yuan_text(),
                parameters: vec![],
                source: Some(src),
            });
            Some(cap)
        }
        Err(civic_domain::DomainError::NoRuleInForce { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(GuaranteeCap { plan_cap, legal_cap, trace })
}

/// GOVERNMENT or CONTINGENT debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebtKind {
    Government,
    Contingent,
}

#[derive(Debug, Clone)]
pub struct ReportDeadline {
    pub end: period::PeriodEnd,
    pub trace: Trace,
}

pub fn report_deadline(
    book: &PolicyBook,
    region: RegionCode,
    due: NaiveDate,
    kind: DebtKind,
) -> Result<ReportDeadline, RuleError> {
    let key = match kind {
        DebtKind::Government => "budget.debt.report_lead.government_months",
        DebtKind::Contingent => "budget.debt.report_lead.contingent_months",
    };
    let lead = book.value(key, region, due)?;
    let months = u32::try_from(lead.value.trunc())
        .map_err(|_| civic_domain::DomainError::Inconsistent(format!("{key} is not a whole number of months")))?;
    let end = period::months_before(&book.calendar, due, months)?;
    let moved: Vec<String> = end.moved_over.iter().map(|(d, why)| format!("{d} {why}")).collect();
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.debt.report_lead".into(),
        description: format!("到期前 {months} 个月以上报告"),
        formula: format!("{due} 前推 {months} 个月 = {}", end.nominal),
        result: end.due.to_string(),
        parameters: vec![lead.to_use()],
        source: Some(book.rule_source("budget.debt.report_lead", region, due)?),
    });
    trace.push(Step {
        rule_id: period::RULE.into(),
        description: "按月计算的期间:对应日,没有对应日的为月末日".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source(period::RULE, region, due)?),
    });
    trace.push(Step {
        rule_id: "law.period.backward".into(),
        description: if moved.is_empty() {
            "倒推结果为工作日,不调整".into()
        } else {
            format!("倒推结果非工作日,提前至此前最后一个工作日:跳过 {}", moved.join("、"))
        },
        formula: String::new(),
        result: end.due.to_string(),
        parameters: vec![],
        source: Some(book.rule_source("law.period.backward", region, due)?),
    });
    Ok(ReportDeadline { end, trace })
}

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
        let text = format!("{count}/{n_units} 个县级政府{what} = {}%", super::four_places(share));
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
        let text =
            format!("全市{what}违约 {} ÷ {} = {}%", defaulted.yuan_text(), due.yuan_text(), super::four_places(r));
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
                super::four_places(r)
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

/// What 4.3(2) of the plan says of a line of a restructuring budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    BasicLivelihood,
    GovernmentOperation,
    Other,
    ZeroSpend,
    NewInvestment,
    NewFund,
    LocalSubsidy,
    LandProvision,
}

impl LineKind {
    /// The rule a line of this kind must keep to zero, if any, and what it is.
    fn zero_rule(self) -> Option<(&'static str, &'static str)> {
        match self {
            LineKind::ZeroSpend => {
                Some(("budget.debt.restructure.zero_spend", "公务出国(境)、培训、公务接待实行“零支出”"))
            }
            LineKind::NewInvestment => {
                Some(("budget.debt.restructure.no_new_investment", "不得新批政府投资计划，不得新上政府投资项目"))
            }
            LineKind::NewFund => {
                Some(("budget.debt.restructure.no_new_investment", "不得设立各类需要政府出资的投资基金"))
            }
            LineKind::LocalSubsidy => Some((
                "budget.debt.restructure.suspended",
                "暂停或者取消本地出台的奖励、政策性补贴和贴息、非基本民生类补贴",
            )),
            LineKind::LandProvision => Some(("budget.debt.restructure.suspended", "暂停土地出让收入各项政策性计提")),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Line {
    pub kind: LineKind,
    pub name: String,
    pub prior: Fen,
    pub proposed: Fen,
}

#[derive(Debug, Clone)]
pub struct Violation {
    /// The line, or None for the other-spending total.
    pub line: Option<usize>,
    pub rule_id: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct BudgetCheck {
    pub violations: Vec<Violation>,
    pub other_prior: Fen,
    pub other_proposed: Fen,
    pub trace: Trace,
}

/// Check a restructuring budget of `year` against 4.3(2).
pub fn restructuring_budget(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    lines: &[Line],
) -> Result<BudgetCheck, RuleError> {
    let on = year_end(year)?;
    let mut trace = Trace::default();
    let mut violations = Vec::new();
    let (mut other_prior, mut other_proposed) = (0i64, 0i64);
    let overflow = || RuleError::Domain(civic_domain::DomainError::Overflow("restructuring budget"));
    for (i, l) in lines.iter().enumerate() {
        if matches!(l.kind, LineKind::BasicLivelihood | LineKind::GovernmentOperation) {
            continue;
        }
        other_prior = other_prior.checked_add(l.prior.get()).ok_or_else(overflow)?;
        other_proposed = other_proposed.checked_add(l.proposed.get()).ok_or_else(overflow)?;
        if let Some((rule, what)) = l.kind.zero_rule() {
            let hit = l.proposed.get() > 0;
            trace.push(Step {
                rule_id: rule.into(),
                description: format!("{}:{what}", l.name),
                formula: format!("拟安排 {} {} 0", l.proposed.yuan_text(), if hit { ">" } else { "=" }),
                result: if hit { "不符合".into() } else { "符合".into() },
                parameters: vec![],
                source: Some(book.rule_source(rule, region, on)?),
            });
            if hit {
                violations.push(Violation {
                    line: Some(i),
                    rule_id: rule,
                    message: format!("{}:{what}，拟安排 {}", l.name, l.proposed.yuan_text()),
                });
            }
        }
    }
    let grows = other_proposed > other_prior;
    trace.push(Step {
        rule_id: "budget.debt.restructure.zero_growth".into(),
        description: "除必要的基本民生支出和政府有效运转支出外，本级政府其他财政支出保持“零增长”".into(),
        formula: format!(
            "其他支出 上年 {} → 拟安排 {}",
            Fen::new(other_prior).yuan_text(),
            Fen::new(other_proposed).yuan_text()
        ),
        result: if grows { "增长，不符合".into() } else { "未增长，符合".into() },
        parameters: vec![],
        source: Some(book.rule_source("budget.debt.restructure.zero_growth", region, on)?),
    });
    if grows {
        violations.push(Violation {
            line: None,
            rule_id: "budget.debt.restructure.zero_growth",
            message: format!(
                "其他财政支出由 {} 增至 {}:财政重整期内应保持“零增长”或者大力压减",
                Fen::new(other_prior).yuan_text(),
                Fen::new(other_proposed).yuan_text()
            ),
        });
    }
    Ok(BudgetCheck { violations, other_prior: Fen::new(other_prior), other_proposed: Fen::new(other_proposed), trace })
}
