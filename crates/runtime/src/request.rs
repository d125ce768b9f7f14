//! Helpers handlers use on every request: who is calling, the request id, and parsing common
//! fields into domain types with field-named errors.

use chrono::NaiveDate;
use civic_domain::{policy::parse_date, policy::PolicyBook, region::Region, RegionCode};

use crate::{
    error::{ApiError, ApiResult},
    identity::Caller,
    middleware::RequestId,
};

pub fn caller<T>(req: &tonic::Request<T>) -> ApiResult<Caller> {
    req.extensions().get::<Caller>().cloned().ok_or(ApiError::Unauthenticated(crate::identity::TokenError::Missing))
}

pub fn request_id<T>(req: &tonic::Request<T>) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

/// Today in China Standard Time (UTC+8, no daylight saving), where the documents apply: the one
/// "today" of every service.
pub fn china_today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// An ISO date; empty means today (in China Standard Time, where the documents apply).
pub fn date_or_today(field: &str, s: &str) -> ApiResult<NaiveDate> {
    if s.trim().is_empty() {
        return Ok(china_today());
    }
    parse_date(s).map_err(|e| ApiError::domain(field, e))
}

/// The years the services serve: dates of policy decisions and payments from 2000 up to ten
/// years after today. A date outside them is a typing error, not a policy.
pub const FIRST_SERVED_YEAR: i32 = 2000;
pub const SERVED_YEARS_AHEAD: i32 = 10;

/// A required date within the years served (see `FIRST_SERVED_YEAR`).
pub fn served_date(field: &str, s: &str) -> ApiResult<NaiveDate> {
    use chrono::Datelike;
    let d = required_date(field, s)?;
    let last = china_today().year() + SERVED_YEARS_AHEAD;
    if d.year() < FIRST_SERVED_YEAR || d.year() > last {
        return Err(ApiError::invalid(field, format!("{d} is outside the years served ({FIRST_SERVED_YEAR}–{last})")));
    }
    Ok(d)
}

pub fn required_date(field: &str, s: &str) -> ApiResult<NaiveDate> {
    if s.trim().is_empty() {
        return Err(ApiError::invalid(field, "required (YYYY-MM-DD)"));
    }
    parse_date(s).map_err(|e| ApiError::domain(field, e))
}

/// A region code the book knows.
pub fn region<'a>(book: &'a PolicyBook, field: &str, s: &str) -> ApiResult<&'a Region> {
    if s.trim().is_empty() {
        return Err(ApiError::invalid(field, "required (a GB/T 2260 code such as 210502)"));
    }
    book.regions.resolve(s).map_err(|e| ApiError::domain(field, e))
}

pub fn region_code(book: &PolicyBook, field: &str, s: &str) -> ApiResult<RegionCode> {
    region(book, field, s).map(|r| r.code)
}

/// The largest magnitude a decimal in a request may have: 10¹² (a trillion yuan, 万元, 亩 or
/// square metres — beyond any real figure), so that the products and quotients the rules form
/// from two or three such values stay inside the exact decimal's range.
pub const MAX_DECIMAL_MAGNITUDE: i64 = 1_000_000_000_000;
/// The most decimal places a request's decimal may have.
pub const MAX_DECIMAL_PLACES: u32 = 10;

/// An exact decimal from a request ("" = not given), within the bounds above.
pub fn opt_decimal(field: &str, s: &str) -> ApiResult<Option<rust_decimal::Decimal>> {
    use rust_decimal::Decimal;
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let shown = || {
        if t.len() > 40 {
            format!("{}…", &t[..t.char_indices().nth(40).map_or(t.len(), |(i, _)| i)])
        } else {
            t.to_string()
        }
    };
    if t.len() > 64 {
        return Err(ApiError::invalid(field, format!("'{}' is too long for a decimal", shown())));
    }
    let d: Decimal =
        t.parse().map_err(|_| ApiError::invalid(field, format!("'{}' is not an exact decimal", shown())))?;
    if d.abs() > Decimal::from(MAX_DECIMAL_MAGNITUDE) {
        return Err(ApiError::invalid(field, format!("'{}' is beyond ±10¹², larger than any real figure", shown())));
    }
    if d.normalize().scale() > MAX_DECIMAL_PLACES {
        return Err(ApiError::invalid(
            field,
            format!("'{}' has more than {MAX_DECIMAL_PLACES} decimal places", shown()),
        ));
    }
    Ok(Some(d.normalize()))
}

/// A required exact decimal from a request, within the bounds of [`opt_decimal`].
pub fn decimal(field: &str, s: &str) -> ApiResult<rust_decimal::Decimal> {
    opt_decimal(field, s)?.ok_or_else(|| ApiError::invalid(field, "required: an exact decimal"))
}

/// Page size: default 50, at most 1000, never negative.
pub fn page_size(field: &str, n: i32) -> ApiResult<usize> {
    match n {
        0 => Ok(50),
        n if n < 0 => Err(ApiError::invalid(field, "must not be negative")),
        n => Ok((n as usize).min(1000)),
    }
}

/// Page tokens are opaque to clients; here they are an offset or a last id.
pub fn page_token(field: &str, s: &str) -> ApiResult<i64> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| ApiError::invalid(field, "not a token this service issued"))
}
