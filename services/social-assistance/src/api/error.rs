//! Domain errors of the assistance rules, mapped to API errors with the field they concern.

use civic_domain::DomainError;
use civic_runtime::ApiError;

use crate::rules::subsidy::SplitError;

/// A missing parameter is a rule violation the caller can act on (publish it); a bad number is
/// bad input.
pub fn rule_error(field: &str, e: DomainError) -> ApiError {
    ApiError::domain(field, e)
}

pub fn split_error(e: SplitError) -> ApiError {
    match e {
        SplitError::Input { field, message } => ApiError::invalid(field, message),
        SplitError::Domain(d) => ApiError::domain("counties", d),
    }
}
