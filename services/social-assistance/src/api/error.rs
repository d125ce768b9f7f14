//! Domain errors of the assistance rules, mapped to API errors with the field they concern.

use civic_domain::DomainError;
use civic_runtime::ApiError;

use crate::rules::subsidy::SplitError;

/// For a computation on a date the caller chose: no standard in force on that date (before any
/// standard, or in a region that has none) is bad input on `on_date`; other domain errors
/// concern `field`.
pub fn on_date_error(field: &str, e: DomainError) -> ApiError {
    match e {
        DomainError::NoValueInForce { ref key, .. } if key.starts_with("assistance.casual_income") || key.starts_with("assistance.working_age") => {
            ApiError::precondition("CASUAL_INCOME_UNDEFINED", format!("{e}: a member is able-bodied without proof of income, and the region has no 零工收入标准 to impute; publish one"))
        }
        DomainError::NoValueInForce { .. } => ApiError::invalid("on_date", e.to_string()),
        e => ApiError::domain(field, e),
    }
}

pub fn split_error(e: SplitError) -> ApiError {
    match e {
        SplitError::Input { field, message } => ApiError::invalid(field, message),
        SplitError::Domain(d) => ApiError::domain("counties", d),
    }
}
