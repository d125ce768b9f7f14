//! The procedures as state machines with dated steps and deadlines:
//!
//! - low-efficiency identification (驻政〔2020〕37号 附件3-2 二(二), 四(二)): the cluster
//!   administration proposes (PROPOSED), the county's bureaus review (REVIEWED), the county
//!   decides (DECIDED, with the categories confirmed), the land user is notified with a deadline of
//!   at most a year (NOTIFIED), the decision is filed upward (FILED); a parcel decided not
//!   low-efficiency is filed without notification;
//! - the comprehensive health check (综合体检, 2024年度“危污乱散低”专项治理工作方案 附件2):
//!   STARTED → INITIAL_CHECK (issue list within 10 working days of the start) → RECTIFYING
//!   (progress reported within 20 working days) → CONSULTATION → TREATMENT (accepted, or joint
//!   punishment) → SUPERVISION → CLOSED (TREATMENT may close directly when accepted).
//!
//! Working days follow the official calendar, make-up weekend days included.

use chrono::{Months, NaiveDate};
use civic_domain::{explanation::Step, policy::PolicyBook, DomainError, RegionCode};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LowEfficiency,
    HealthCheck,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LowEfficiency => "low_efficiency",
            Kind::HealthCheck => "health_check",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "low_efficiency" => Some(Kind::LowEfficiency),
            "health_check" => Some(Kind::HealthCheck),
            _ => None,
        }
    }
    pub fn first_state(self) -> CaseState {
        match self {
            Kind::LowEfficiency => CaseState::Proposed,
            Kind::HealthCheck => CaseState::Started,
        }
    }
    fn rule(self) -> &'static str {
        match self {
            Kind::LowEfficiency => "land.case.low_efficiency",
            Kind::HealthCheck => "land.case.health_check",
        }
    }
}

closed_set! {
    /// Where a case is. A low-efficiency case: PROPOSED → REVIEWED → DECIDED → (NOTIFIED when a
    /// category was confirmed) → FILED. A health check: STARTED → INITIAL_CHECK → RECTIFYING →
    /// CONSULTATION → TREATMENT → (SUPERVISION) → CLOSED.
    CaseState {
        Proposed = "PROPOSED",
        Reviewed = "REVIEWED",
        Decided = "DECIDED",
        Notified = "NOTIFIED",
        Filed = "FILED",
        Started = "STARTED",
        InitialCheck = "INITIAL_CHECK",
        Rectifying = "RECTIFYING",
        Consultation = "CONSULTATION",
        Treatment = "TREATMENT",
        Supervision = "SUPERVISION",
        Closed = "CLOSED",
    }
}

impl CaseState {
    /// Whether the case is over (no step follows).
    pub fn is_final(self) -> bool {
        matches!(self, CaseState::Filed | CaseState::Closed)
    }
}

/// The states a case may move to from `state`. `decided_low` tells, for a decided
/// low-efficiency case, whether any category was confirmed.
pub fn next_states(kind: Kind, state: CaseState, decided_low: bool) -> &'static [CaseState] {
    use CaseState as S;
    match (kind, state) {
        (Kind::LowEfficiency, S::Proposed) => &[S::Reviewed],
        (Kind::LowEfficiency, S::Reviewed) => &[S::Decided],
        (Kind::LowEfficiency, S::Decided) if decided_low => &[S::Notified],
        (Kind::LowEfficiency, S::Decided) => &[S::Filed],
        (Kind::LowEfficiency, S::Notified) => &[S::Filed],
        (Kind::HealthCheck, S::Started) => &[S::InitialCheck],
        (Kind::HealthCheck, S::InitialCheck) => &[S::Rectifying],
        (Kind::HealthCheck, S::Rectifying) => &[S::Consultation],
        (Kind::HealthCheck, S::Consultation) => &[S::Treatment],
        (Kind::HealthCheck, S::Treatment) => &[S::Supervision, S::Closed],
        (Kind::HealthCheck, S::Supervision) => &[S::Closed],
        _ => &[],
    }
}

/// What a step sets: the next deadline and its explanation.
pub struct StepOutcome {
    pub deadline: Option<NaiveDate>,
    pub step: Step,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("{field}: {message}")]
    Input { field: &'static str, message: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
}

fn working_days(
    book: &PolicyBook,
    key: &str,
    region: RegionCode,
    from: NaiveDate,
    rule: &str,
    what: &str,
) -> Result<StepOutcome, DomainError> {
    let n = book.value(key, region, from)?;
    let days = u32::try_from(n.value.trunc()).unwrap_or(0);
    let d = book.calendar.add_working_days(from, days)?;
    let skipped: Vec<String> =
        d.skipped.iter().filter(|(_, why)| why != "周末").map(|(day, why)| format!("{day} {why}")).collect();
    let made_up: Vec<String> = {
        let mut v = Vec::new();
        let mut day = from;
        while day < d.due {
            day = day.succ_opt().unwrap_or(d.due);
            if book.calendar.is_working_day(day)
                && matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun)
            {
                v.push(format!("{day} 调休上班"));
            }
        }
        v
    };
    let mut formula = format!("{from} 起 {days} 个工作日 → {}", d.due);
    if !skipped.is_empty() {
        formula.push_str(&format!(";跳过节假日 {}", skipped.join("、")));
    }
    if !made_up.is_empty() {
        formula.push_str(&format!(";计入 {}", made_up.join("、")));
    }
    Ok(StepOutcome {
        deadline: Some(d.due),
        step: Step {
            rule_id: rule.into(),
            description: what.into(),
            formula,
            result: format!("期限 {}", d.due),
            parameters: vec![n.to_use()],
            source: Some(book.rule_source(rule, region, from)?),
        },
    })
}

/// The deadline (if any) set on entering `to` on `on`.
pub fn enter(
    book: &PolicyBook,
    kind: Kind,
    region: RegionCode,
    to: CaseState,
    on: NaiveDate,
    deadline_months: u32,
) -> Result<StepOutcome, CaseError> {
    let plain = |what: &str| -> Result<StepOutcome, CaseError> {
        Ok(StepOutcome {
            deadline: None,
            step: Step {
                rule_id: kind.rule().into(),
                description: what.into(),
                formula: String::new(),
                result: to.as_str().to_string(),
                parameters: vec![],
                source: Some(book.rule_source(kind.rule(), region, on)?),
            },
        })
    };
    match (kind, to) {
        (Kind::HealthCheck, CaseState::Started) => Ok(working_days(
            book,
            "land.health_check.initial_check_working_days",
            region,
            on,
            kind.rule(),
            "启动体检:初检出具“体检问题清单”期限",
        )?),
        (Kind::HealthCheck, CaseState::InitialCheck) => Ok(working_days(
            book,
            "land.health_check.rectification_report_working_days",
            region,
            on,
            kind.rule(),
            "初检完成:整改进展报送期限",
        )?),
        (Kind::LowEfficiency, CaseState::Notified) => {
            let max = book.value("land.low_efficiency.redevelopment_months_max", region, on)?;
            let cap = u32::try_from(max.value.trunc()).unwrap_or(12);
            if deadline_months == 0 || Decimal::from(deadline_months) > max.value {
                return Err(CaseError::Input {
                    field: "deadline_months",
                    message: format!("between 1 and {cap} months (附件3-2 四(二))"),
                });
            }
            let due = on.checked_add_months(Months::new(deadline_months)).unwrap_or(on);
            Ok(StepOutcome {
                deadline: Some(due),
                step: Step {
                    rule_id: "land.case.low_efficiency".into(),
                    description: "告知土地使用权人,限期完成再利用".into(),
                    formula: format!("{on} + {deadline_months} 个月(最长 {cap} 个月)"),
                    result: format!("期限 {due}"),
                    parameters: vec![max.to_use()],
                    source: Some(book.rule_source("land.case.low_efficiency", region, on)?),
                },
            })
        }
        _ => plain(&format!("进入 {to}")),
    }
}

/// The joint-punishment measures of the health check's treatment step (2024年度“危污乱散低”专项治理
/// 工作方案 附件2 (4)诊治), by code.
pub const PUNISHMENTS: &[(&str, &str)] = &[
    ("CREDIT_DOWNGRADE", "调整信用等级"),
    ("SUSPEND_NEW_PROJECTS", "暂停新上项目和科技项目"),
    ("AWARDS_VETO", "评优评先“一票否决”"),
    ("BIDDING_AND_FUNDING_LIMITS", "依法限制招投标和资金支持"),
    ("DIFFERENTIAL_UTILITY_PRICES", "差别化实施水、电、气收费"),
    ("HIGHER_INSURANCE_RATES", "上调安责险和工伤保险费率"),
    ("REPORT_TO_BANKS", "向金融机构推送违法违规信息"),
    ("CERTIFICATION_SUSPENDED", "暂停或撤销相关认证"),
    ("MARKET_BAN", "依规实施市场禁入"),
    ("BLACKLIST", "支持行业协会进行“黑名单”管理"),
    ("ADMINISTRATIVE_PENALTY", "按行政处罚程序执行"),
    ("JUDICIAL_REFERRAL", "涉嫌违法犯罪的移送司法机关"),
];

pub fn punishment_name(code: &str) -> Option<&'static str> {
    PUNISHMENTS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}
