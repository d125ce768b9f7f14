//! Errors of the pure domain. Each says what was wrong in words a caller can act on; the runtime
//! maps them to gRPC status codes in one place.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
    #[error("'{0}' is not a whole number of fen")]
    NotWholeFen(String),
    #[error("'{0}' is not a valid number")]
    InvalidNumber(String),
    #[error("{0} must not be negative")]
    Negative(&'static str),
    #[error("division by zero: the denominator must be positive")]
    ZeroDenominator,
    #[error("invalid rounding rule: {0}")]
    InvalidRounding(String),
    #[error("invalid region code '{0}': expected a GB/T 2260 code (6 digits, the province 11 to 82, or 000000)")]
    InvalidRegionCode(String),
    #[error("unknown region '{0}'")]
    UnknownRegion(String),
    #[error("invalid date '{0}': expected YYYY-MM-DD")]
    InvalidDate(String),
    #[error("no value of '{key}' is in force for region {region} on {date}")]
    NoValueInForce { key: String, region: String, date: String },
    #[error("unknown parameter '{0}'")]
    UnknownParameter(String),
    #[error("invalid rule '{rule}': {reason}")]
    InvalidRule { rule: String, reason: String },
    #[error("{0}")]
    Inconsistent(String),
    /// No jurisdiction from the region up has a document stating the rule on the date.
    #[error("no document of {region} or above states the rule '{rule}' on {date}: the region has no rule of its own")]
    NoRuleInForce { rule: String, region: String, date: String },
    /// A count of working days reaches a year whose holidays the calendar does not have yet.
    #[error("the working-day calendar has no holiday notice for {year} (it covers {covered}): a deadline in {year} cannot be counted until that year's notice is added to policies/calendar")]
    CalendarNotCovered { year: i32, covered: String },
}
