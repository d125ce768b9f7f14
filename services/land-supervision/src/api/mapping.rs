//! Wire → domain for the land API; each conversion names the request field at fault.

use chrono::NaiveDate;
use civic_domain::policy::parse_date;
use civic_runtime::{ApiError, ApiResult};
use rust_decimal::Decimal;

pub use civic_runtime::request::{decimal, opt_decimal};

pub fn non_negative(field: &str, s: &str) -> ApiResult<Option<Decimal>> {
    match opt_decimal(field, s)? {
        Some(d) if d < Decimal::ZERO => Err(ApiError::invalid(field, "must not be negative")),
        other => Ok(other),
    }
}

pub fn opt_date(field: &str, s: &str) -> ApiResult<Option<NaiveDate>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    parse_date(s).map(Some).map_err(|e| ApiError::domain(field, e))
}

/// A calendar year the land rules can be about.
pub fn year(field: &str, y: i32) -> ApiResult<i32> {
    if (2000..=2100).contains(&y) {
        Ok(y)
    } else {
        Err(ApiError::invalid(field, "a calendar year between 2000 and 2100"))
    }
}
