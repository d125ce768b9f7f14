//! Statutory due dates of publications and 批复: 预算法 第十四条 (publish within 20 days of
//! approval or 批复), 第五十二条 and 第八十条 (批复 within 20 days to departments, 15 days to
//! units), 预算法实施条例 第六条 (units publish within 20 days), 政府信息公开条例 第二十六条 (20
//! working days). Calendar-day periods are counted as 民法典 第二百零一至二百零三条 say; working
//! days on the holiday calendar. The day counts are dated data.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    period::{self, PeriodEnd},
    policy::PolicyBook,
    RegionCode,
};

use super::RuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    GovernmentBudget,
    DepartmentBudget,
    UnitBudget,
    GovernmentInformation,
    ApprovalToDepartments,
    ApprovalToUnits,
    FinalToDepartments,
    FinalToUnits,
}

impl Item {
    /// The rule, the parameter with the count, whether it counts working days, and what it is.
    fn spec(self) -> (&'static str, &'static str, bool, &'static str) {
        match self {
            Item::GovernmentBudget => (
                "budget.disclosure.government",
                "budget.disclosure.government_days",
                false,
                "政府预算、调整、决算、执行情况报告公开",
            ),
            Item::DepartmentBudget => {
                ("budget.disclosure.department", "budget.disclosure.department_days", false, "部门预算、决算公开")
            }
            Item::UnitBudget => ("budget.disclosure.unit", "budget.disclosure.unit_days", false, "单位预算、决算公开"),
            Item::GovernmentInformation => {
                ("budget.disclosure.gov_info", "budget.disclosure.gov_info_working_days", true, "政府信息公开")
            }
            Item::ApprovalToDepartments => {
                ("budget.approval.department", "budget.approval.department_days", false, "财政部门向本级各部门批复预算")
            }
            Item::ApprovalToUnits => {
                ("budget.approval.unit", "budget.approval.unit_days", false, "各部门向所属各单位批复预算")
            }
            Item::FinalToDepartments => {
                ("budget.final.department", "budget.final.department_days", false, "财政部门向本级各部门批复决算")
            }
            Item::FinalToUnits => ("budget.final.unit", "budget.final.unit_days", false, "各部门向所属单位批复决算"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Due {
    pub end: PeriodEnd,
    pub trace: Trace,
}

pub fn due(book: &PolicyBook, region: RegionCode, start: NaiveDate, item: Item) -> Result<Due, RuleError> {
    let (rule, key, working, what) = item.spec();
    let days = book.value(key, region, start)?;
    let n = u32::try_from(days.value.trunc().mantissa()).ok().filter(|_| days.value.fract().is_zero()).ok_or_else(
        || RuleError::Domain(civic_domain::DomainError::Inconsistent(format!("{key} is not a whole number of days"))),
    )?;
    let mut trace = Trace::default();
    let end = if working {
        let d = book.calendar.add_working_days(start, n)?;
        trace.push(Step {
            rule_id: rule.into(),
            description: format!("{what}:自 {start} 起 {n} 个工作日内"),
            formula: format!(
                "{start} 后第 {n} 个工作日;跳过 {}",
                if d.skipped.is_empty() {
                    "无".to_string()
                } else {
                    d.skipped.iter().map(|(day, why)| format!("{day} {why}")).collect::<Vec<_>>().join("、")
                }
            ),
            result: d.due.to_string(),
            parameters: vec![days.to_use()],
            source: Some(book.rule_source(rule, region, start)?),
        });
        PeriodEnd { nominal: d.due, due: d.due, moved_over: vec![] }
    } else {
        let end = period::days_after(&book.calendar, start, n)?;
        trace.push(Step {
            rule_id: rule.into(),
            description: format!("{what}:自 {start} 起 {n} 日内"),
            formula: format!("{start} + {n} 日 = {}", end.nominal),
            result: end.nominal.to_string(),
            parameters: vec![days.to_use()],
            source: Some(book.rule_source(rule, region, start)?),
        });
        trace.push(Step {
            rule_id: period::RULE.into(),
            description: "开始的当日不计入；最后一日是法定休假日的，以法定休假日结束的次日为最后一日".into(),
            formula: if end.moved_over.is_empty() {
                format!("{} 为工作日", end.nominal)
            } else {
                format!(
                    "{} 为休假日({}),顺延至 {}",
                    end.nominal,
                    end.moved_over.iter().map(|(d, why)| format!("{d} {why}")).collect::<Vec<_>>().join("、"),
                    end.due
                )
            },
            result: end.due.to_string(),
            parameters: vec![],
            source: Some(book.rule_source(period::RULE, region, start)?),
        });
        end
    };
    Ok(Due { end, trace })
}

/// The last day of a deadline stated as a date: moved to the next working day when it is not
/// one (民法典 第二百零三条).
pub fn effective_deadline(book: &PolicyBook, deadline: NaiveDate) -> Result<NaiveDate, RuleError> {
    Ok(period::days_after(&book.calendar, deadline, 0)?.due)
}
