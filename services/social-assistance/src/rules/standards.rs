//! Looking up standards as money: the parameter in force, converted to fen per person per month,
//! with the parameter's citation for the trace.

use chrono::NaiveDate;
use civic_domain::{
    explanation::ParameterUse,
    policy::{PolicyBook, Resolved},
    rounding::Rounding,
    DomainError, Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::household::Residence;

/// Every key shown by ListStandards (derived ones included).
pub const STANDARD_PREFIX: &str = "assistance.";

/// A monthly amount per person, with how it was obtained.
#[derive(Debug, Clone)]
pub struct MonthlyStandard {
    pub per_person: Fen,
    pub uses: Vec<ParameterUse>,
    /// e.g. "5004 ÷ 12 = 417" for an annual rural standard; empty for monthly ones.
    pub conversion: String,
    pub resolved: Resolved,
}

fn to_fen(r: &Resolved) -> Result<Fen, DomainError> {
    Fen::from_yuan_decimal(r.value)
        .map_err(|_| DomainError::Inconsistent(format!("{} = {} is not a whole number of fen", r.key, r.value)))
}

/// An annual per-person figure as a monthly one: ÷ 12, half up to the fen.
pub fn annual_to_monthly(annual_yuan: Decimal) -> Result<(Fen, String), DomainError> {
    let monthly = Rounding::half_up_to(Decimal::new(1, 2))?.apply(annual_yuan / Decimal::from(12))?;
    let fen = Fen::from_yuan_decimal(monthly)?;
    let exact = (annual_yuan / Decimal::from(12)).normalize();
    let text = if exact == monthly {
        format!("{annual_yuan} ÷ 12 = {monthly}")
    } else {
        format!("{annual_yuan} ÷ 12 = {} → {monthly} (四舍五入到分)", exact.round_dp(6))
    };
    Ok((fen, text))
}

/// A per-person-per-month standard by key; annual keys (unit `yuan/person/year`) are divided by 12.
pub fn monthly(
    book: &PolicyBook,
    key: &str,
    region: RegionCode,
    date: NaiveDate,
) -> Result<MonthlyStandard, DomainError> {
    let r = book.value(key, region, date)?;
    let (per_person, conversion) = match r.unit.as_str() {
        "yuan/person/month" => (to_fen(&r)?, String::new()),
        "yuan/person/year" => annual_to_monthly(r.value)?,
        other => return Err(DomainError::Inconsistent(format!("{key} has unit {other}, not a per-person amount"))),
    };
    Ok(MonthlyStandard { per_person, uses: r.uses(), conversion, resolved: r })
}

/// The 低保 standard for a residence type.
pub fn dibao(
    book: &PolicyBook,
    residence: Residence,
    region: RegionCode,
    date: NaiveDate,
) -> Result<MonthlyStandard, DomainError> {
    let key = match residence {
        Residence::Urban => "assistance.dibao.urban",
        Residence::Rural => "assistance.dibao.rural",
    };
    monthly(book, key, region, date)
}
