//! The rules of budget-performance, pure: figures in, figures and their explanation out. The
//! parameters and citations come from the policy book for the region and date asked.

pub mod actuals;
pub mod cost_share;
pub mod debt;
pub mod debt_events;
pub mod disclosure;
pub mod ex_ante;
pub mod framework;
pub mod goals;
pub mod grades;
pub mod monitoring;
pub mod pooled;
pub mod results;
pub mod self_eval;
pub mod zone;

use chrono::NaiveDate;
use civic_domain::{DomainError, Fen};
use rust_decimal::{Decimal, RoundingStrategy};

/// A rule refused its input (a field and what is wrong), a rule forbids it (a reason and what
/// to do), or the policy book cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{field}: {message}")]
    Input { field: &'static str, message: String },
    /// As `Input`, for a field inside a list (`indicators[2].target`).
    #[error("{field}: {message}")]
    InputAt { field: String, message: String },
    #[error("{message}")]
    Forbidden { reason: &'static str, message: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// The last day of `year`: a year's figures are judged by the rules in force then.
/// A part of a whole held to a minimum share ("X % 以上"): the share in percent, whether it
/// holds under `cmp`, the least part that meets it (up to the fen) and the shortfall.
pub struct MinimumShare {
    pub ratio: Decimal,
    pub passed: bool,
    /// The exact minimum in fen before rounding up.
    pub exact_minimum: Decimal,
    pub minimum: Fen,
    pub shortfall: Fen,
}

pub fn minimum_share(
    whole: Fen,
    part: Fen,
    percent: Decimal,
    cmp: civic_domain::compare::Cmp,
) -> Result<MinimumShare, RuleError> {
    let ratio = Decimal::from(part.get()) * Decimal::ONE_HUNDRED / Decimal::from(whole.get());
    let exact_minimum = Decimal::from(whole.get()) * percent / Decimal::ONE_HUNDRED;
    let minimum = Fen::new(i64::try_from(exact_minimum.ceil()).map_err(|_| DomainError::Overflow("minimum"))?);
    let shortfall = minimum.checked_sub(part)?.max(Fen::ZERO);
    Ok(MinimumShare { ratio, passed: cmp.holds(ratio, percent), exact_minimum, minimum, shortfall })
}

/// "Within `key` days of `start`" (the start day not counted, a last day on a holiday moved to
/// the next working day): the period's end and the two steps that explain it, the rule's
/// (`rule_id`, described as `what` with the number of days) and the law's on periods.
pub fn days_within(
    book: &civic_domain::policy::PolicyBook,
    region: civic_domain::RegionCode,
    start: NaiveDate,
    key: &str,
    rule_id: &str,
    what: impl Fn(u32) -> String,
) -> Result<(civic_domain::period::PeriodEnd, [civic_domain::explanation::Step; 2]), RuleError> {
    use civic_domain::{explanation::Step, period};
    let days = book.value(key, region, start)?;
    let n = u32::try_from(days.value.trunc())
        .map_err(|_| DomainError::Inconsistent(format!("{key} is not a whole number of days")))?;
    let end = period::days_after(&book.calendar, start, n)?;
    let moved = if end.moved_over.is_empty() { String::new() } else { format!(",非工作日顺延至 {}", end.due) };
    let steps = [
        Step {
            rule_id: rule_id.into(),
            description: what(n),
            formula: format!("{start} 起算(当日不计)+ {n} 日 = {}{moved}", end.nominal),
            result: end.due.to_string(),
            parameters: vec![days.to_use()],
            source: Some(book.rule_source(rule_id, region, start)?),
        },
        Step {
            rule_id: period::RULE.into(),
            description: "期间:开始的当日不计入;最后一日是法定休假日的,以休假日结束的次日为最后一日".into(),
            formula: String::new(),
            result: String::new(),
            parameters: vec![],
            source: Some(book.rule_source(period::RULE, region, start)?),
        },
    ];
    Ok((end, steps))
}

pub fn year_end(year: i32) -> Result<NaiveDate, RuleError> {
    NaiveDate::from_ymd_opt(year, 12, 31)
        .filter(|_| (2000..=2100).contains(&year))
        .ok_or(RuleError::Input { field: "year", message: "a calendar year between 2000 and 2100".into() })
}

/// `fen × rate`, half-up to the fen.
pub fn share_half_up(fen: Fen, rate: Decimal) -> Result<Fen, DomainError> {
    let exact = Decimal::from(fen.get()).checked_mul(rate).ok_or(DomainError::Overflow("share"))?;
    let rounded = exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).map(Fen::new).map_err(|_| DomainError::Overflow("share"))
}

/// `fen × rate`, down to the fen ("不应超过": a cap is never rounded up).
pub fn share_floor(fen: Fen, rate: Decimal) -> Result<Fen, DomainError> {
    let exact = Decimal::from(fen.get()).checked_mul(rate).ok_or(DomainError::Overflow("share"))?;
    i64::try_from(exact.floor()).map(Fen::new).map_err(|_| DomainError::Overflow("share"))
}

/// A non-negative amount in fen from a request.
pub fn amount(field: &'static str, fen: i64) -> Result<Fen, RuleError> {
    if fen < 0 {
        return Err(RuleError::Input { field, message: "must not be negative".into() });
    }
    Ok(Fen::new(fen))
}

/// A figure shown with exactly two places (half-up), e.g. "38.00": percents, points, scores.
pub fn two_places(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r.to_string()
}

/// A ratio shown with exactly four places (half-up), e.g. "7.5000".
pub fn four_places(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(4);
    r.to_string()
}

/// `fen × num ÷ den`, down to the fen, exact (no decimal expansion of ⅓).
pub fn fraction_floor(fen: Fen, num: i64, den: i64) -> Result<Fen, DomainError> {
    if den <= 0 {
        return Err(DomainError::ZeroDenominator);
    }
    let v = i128::from(fen.get()) * i128::from(num);
    i64::try_from(v.div_euclid(i128::from(den))).map(Fen::new).map_err(|_| DomainError::Overflow("fraction"))
}
