//! How early debt falling due is reported (3.3): two months for government debt, one for
//! contingent debt.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    period,
    policy::PolicyBook,
    RegionCode,
};

use crate::rules::RuleError;

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
