//! Farmland protection (三政〔2017〕20号 八(十八)): per county and year, farmland occupied
//! illegally ÷ farmland occupied by new construction land. At or above the warning ratio (10 %)
//! the county's leaders get a warning talk (警示约谈); at or above the accountability ratio (15 %)
//! its main leaders are held accountable (问责). Thresholds are policy parameters.

use chrono::NaiveDate;
use civic_domain::{
    area::{ratio, Mu},
    explanation::{Step, Trace},
    policy::PolicyBook,
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    None,
    WarningTalk,
    Accountability,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::None => "NONE",
            Outcome::WarningTalk => "WARNING_TALK",
            Outcome::Accountability => "ACCOUNTABILITY",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Outcome::None => "无",
            Outcome::WarningTalk => "警示约谈县(市、区)政府负责人",
            Outcome::Accountability => "对县(市、区)政府主要领导问责",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Assessment {
    pub ratio: Decimal,
    pub outcome: Outcome,
    pub trace: Trace,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FarmlandError {
    #[error(
        "illegally occupied farmland ({illegal}) cannot exceed all farmland occupied by new construction ({total})"
    )]
    IllegalExceedsTotal { illegal: Mu, total: Mu },
    #[error("farmland occupied by new construction must be positive to form a ratio")]
    NoNewConstruction,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// Assess one county's year; thresholds are those in force on the last day of the year.
pub fn assess(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    illegal: Mu,
    total: Mu,
) -> Result<Assessment, FarmlandError> {
    if total.value().is_zero() {
        return Err(FarmlandError::NoNewConstruction);
    }
    if illegal > total {
        return Err(FarmlandError::IllegalExceedsTotal { illegal, total });
    }
    let year_end = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(|| DomainError::InvalidDate(year.to_string()))?;
    let warning = book.value("land.farmland.illegal_ratio.warning", region, year_end)?;
    let accountability = book.value("land.farmland.illegal_ratio.accountability", region, year_end)?;
    let r = ratio(illegal.value(), total.value())?;
    let outcome = if r >= accountability.value {
        Outcome::Accountability
    } else if r >= warning.value {
        Outcome::WarningTalk
    } else {
        Outcome::None
    };
    let pct = (r * Decimal::ONE_HUNDRED).round_dp(2);
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "land.farmland.illegal_ratio".into(),
        description: format!("{year} 年度违法占用耕地面积占新增建设用地占用耕地总面积的比例"),
        formula: format!("{} ÷ {} = {}", illegal, total, r.round_dp(6).normalize()),
        result: format!("{pct}%"),
        parameters: vec![],
        source: Some(book.rule_source("land.farmland.illegal_ratio")?),
    });
    trace.push(Step {
        rule_id: "land.farmland.illegal_ratio".into(),
        description: "比例达到警示约谈或问责标准的后果".into(),
        formula: format!(
            "{pct}% 对照 警示约谈 ≥ {}%, 问责 ≥ {}%",
            (warning.value * Decimal::ONE_HUNDRED).normalize(),
            (accountability.value * Decimal::ONE_HUNDRED).normalize()
        ),
        result: outcome.chinese().into(),
        parameters: vec![warning.to_use(), accountability.to_use()],
        source: Some(book.rule_source("land.farmland.illegal_ratio")?),
    });
    Ok(Assessment { ratio: r, outcome, trace })
}
