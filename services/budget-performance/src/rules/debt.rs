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
