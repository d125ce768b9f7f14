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
        source: Some(book.rule_source(
            "land.farmland.illegal_ratio",
            region,
            NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
        )?),
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
        source: Some(book.rule_source(
            "land.farmland.illegal_ratio",
            region,
            NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or_default(),
        )?),
    });
    Ok(Assessment { ratio: r, outcome, trace })
}

/// Occupation–supplement balance (三政〔2017〕20号 四(七)): supplement at least as much farmland
/// as is occupied (占一补一), before occupying it (先补后占), of equal or better quality
/// (占优补优; quality grades run from 1, best, to 15). A provincial key or livelihood project may
/// fall short on quality only under the county's written commitment with a deadline.
#[derive(Debug, Clone)]
pub struct Balance {
    pub occupied: Mu,
    pub occupied_grade: u8,
    pub occupied_on: NaiveDate,
    pub supplemented: Mu,
    pub supplemented_grade: u8,
    pub supplemented_on: Option<NaiveDate>,
    pub key_project: bool,
    pub commitment_deadline: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct BalanceResult {
    pub quantity_ok: bool,
    pub timing_ok: bool,
    /// QUALITY_OK, QUALITY_COMMITMENT (key project with a commitment) or QUALITY_SHORTFALL.
    pub quality: &'static str,
    pub balanced: bool,
    pub trace: Trace,
}

pub fn balance(book: &PolicyBook, region: RegionCode, b: &Balance) -> Result<BalanceResult, DomainError> {
    let ratio = book.value("land.farmland.supplement_ratio", region, b.occupied_on)?;
    let src = book.rule_source("land.farmland.balance", region, civic_runtime::request::china_today())?;
    let needed = b.occupied.value() * ratio.value;
    let quantity_ok = b.supplemented.value() >= needed;
    let timing_ok = b.supplemented_on.is_some_and(|s| s <= b.occupied_on);
    let quality = if b.supplemented_grade <= b.occupied_grade {
        "QUALITY_OK"
    } else if b.key_project && b.commitment_deadline.is_some() {
        "QUALITY_COMMITMENT"
    } else {
        "QUALITY_SHORTFALL"
    };
    let mut trace = Trace::default();
    let mut step = |description: &str, formula: String, ok: bool| {
        trace.push(Step {
            rule_id: "land.farmland.balance".into(),
            description: description.into(),
            formula,
            result: if ok { "符合".into() } else { "不符合".into() },
            parameters: vec![ratio.to_use()],
            source: Some(src.clone()),
        });
    };
    step(
        "占一补一:补充耕地数量不少于占用数量",
        format!("补充 {} ≥ 占用 {} × {} = {} 亩", b.supplemented, b.occupied, ratio.value, needed),
        quantity_ok,
    );
    step(
        "先补后占:补充耕地在占用前落实",
        format!(
            "补充落实 {} ≤ 占用 {}",
            b.supplemented_on.map(|d| d.to_string()).unwrap_or_else(|| "未落实".into()),
            b.occupied_on
        ),
        timing_ok,
    );
    step(
        "占优补优:补充耕地质量等别不低于占用耕地(1 等最优)",
        match quality {
            "QUALITY_COMMITMENT" => format!(
                "补充 {} 等劣于占用 {} 等;省以上重点建设或民生项目,县级政府承诺于 {} 前落实占优补优",
                b.supplemented_grade,
                b.occupied_grade,
                b.commitment_deadline.map(|d| d.to_string()).unwrap_or_default()
            ),
            _ => format!("补充 {} 等,占用 {} 等", b.supplemented_grade, b.occupied_grade),
        },
        quality != "QUALITY_SHORTFALL",
    );
    let balanced = quantity_ok && timing_ok && quality != "QUALITY_SHORTFALL";
    Ok(BalanceResult { quantity_ok, timing_ok, quality, balanced, trace })
}
