//! A government-debt risk event once it has a level (三政办〔2017〕25号 4.2–5.2): the responses of
//! its level and every level below it (4.2.1–4.2.4 are cumulative), the daily report at Ⅰ
//! (4.2.4(3)), no new government investment projects until it is over (4.2.1(1), except projects
//! the State Council names), a level that only rises until the event is terminated with the
//! approval of the level above (4.5), and the evaluation due within 15 days of the end (5.2).

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    period::PeriodEnd,
    policy::PolicyBook,
    RegionCode,
};

use super::{debt::level_name, RuleError};

/// One response measure: the rule, its text and source.
#[derive(Debug, Clone)]
pub struct Measure {
    pub rule_id: String,
    pub text: String,
    pub source: civic_domain::explanation::SourceRef,
}

#[derive(Debug, Clone)]
pub struct EventView {
    /// The responses of this level and the levels below it, least severe first.
    pub measures: Vec<Measure>,
    pub daily_report: bool,
    /// When the event ended: the evaluation's last day.
    pub evaluation_due: Option<PeriodEnd>,
    pub trace: Trace,
}

/// The rule of the responses of `level` (1–4).
fn response_rule(level: u8) -> String {
    format!("budget.debt.response.l{level}")
}

/// What an event of `level` in `region` asks for on `on`; `ended_on` when it is over.
pub fn view(
    book: &PolicyBook,
    region: RegionCode,
    level: u8,
    on: NaiveDate,
    ended_on: Option<NaiveDate>,
) -> Result<EventView, RuleError> {
    if !(1..=4).contains(&level) {
        return Err(RuleError::Input { field: "level", message: "1 (Ⅰ, most severe) to 4 (Ⅳ)".into() });
    }
    let mut trace = Trace::default();
    let mut measures = Vec::new();
    for l in (level..=4).rev() {
        let id = response_rule(l);
        let rule = book.rule(&id, region, on)?;
        measures.push(Measure {
            rule_id: id.clone(),
            text: rule.description.clone(),
            source: book.rule_source(&id, region, on)?,
        });
    }
    trace.push(Step {
        rule_id: response_rule(level),
        description: format!("{} 应急响应:除本级措施外,还采取较低各级的全部措施", level_name(level)),
        formula: measures.iter().map(|m| m.source.clause.clone()).collect::<Vec<_>>().join(" + "),
        result: format!("{} 项响应", measures.len()),
        parameters: vec![],
        source: Some(book.rule_source(&response_rule(level), region, on)?),
    });
    let daily_report = level == 1;
    if daily_report {
        trace.push(Step {
            rule_id: "budget.debt.daily_report".into(),
            description: "Ⅰ级:每天向市债务应急领导小组报告处置进度,重大事项立即报告".into(),
            formula: String::new(),
            result: "每日报告".into(),
            parameters: vec![],
            source: Some(book.rule_source("budget.debt.daily_report", region, on)?),
        });
    }
    let evaluation_due = match ended_on {
        None => None,
        Some(end) => {
            let (due, steps) = super::days_within(
                book,
                region,
                end,
                "budget.debt.post_evaluation_days",
                "budget.debt.post_evaluation",
                |n| format!("应急处置结束后 {n} 日内组织评估分析"),
            )?;
            trace.steps.extend(steps);
            Some(due)
        }
    };
    Ok(EventView { measures, daily_report, evaluation_due, trace })
}

/// A level change of an open event: only to a more severe level (a smaller number).
pub fn check_raise(current: u8, new: u8) -> Result<(), RuleError> {
    if !(1..=4).contains(&new) {
        return Err(RuleError::Input { field: "level", message: "1 (Ⅰ, most severe) to 4 (Ⅳ)".into() });
    }
    if new >= current {
        return Err(RuleError::Forbidden {
            reason: "LEVEL_NOT_RAISED",
            message: format!(
                "the event is at {}: a level changes only upward ({} is not more severe); it ends by termination with the approval of the level above (4.5)",
                level_name(current),
                level_name(new)
            ),
        });
    }
    Ok(())
}

/// Whether a new government investment project may start in `region` on `on`, given the event
/// open there (its id and level), if any.
pub fn new_investment(
    book: &PolicyBook,
    region: RegionCode,
    on: NaiveDate,
    open: Option<(&str, u8, &str)>,
    state_council_key_project: bool,
) -> Result<Trace, RuleError> {
    let mut trace = Trace::default();
    let source = book.rule_source("budget.debt.no_new_investment", region, on)?;
    match open {
        None => {
            trace.push(Step {
                rule_id: "budget.debt.no_new_investment".into(),
                description: format!("{on} 本地区及上级政府无未终止的债务风险事件"),
                formula: String::new(),
                result: "可以新上政府投资项目".into(),
                parameters: vec![],
                source: Some(source),
            });
            Ok(trace)
        }
        Some((id, level, event_region)) if state_council_key_project => {
            trace.push(Step {
                rule_id: "budget.debt.no_new_investment".into(),
                description: format!("{event_region} 债务风险事件 {id}({})未终止;国务院确定的重点项目除外", level_name(level)),
                formula: String::new(),
                result: "国务院确定的重点项目:可以新上".into(),
                parameters: vec![],
                source: Some(source),
            });
            Ok(trace)
        }
        Some((id, level, event_region)) => Err(RuleError::Forbidden {
            reason: "DEBT_EVENT_OPEN",
            message: format!(
                "{event_region} has an open debt-risk event {id} ({}) on {on}: until it regains its ability to repay, no new government investment project starts, except those the State Council names ({} {})",
                level_name(level),
                source.document,
                source.clause
            ),
        }),
    }
}
