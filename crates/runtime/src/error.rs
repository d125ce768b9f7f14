//! One error type for every handler and one exhaustive mapping to `tonic::Status` with
//! google.rpc details. No wildcard arms: a new variant does not compile until it is mapped.
//! Internal details are logged with the request id and never sent to the client.

use civic_domain::{policy_files::BookError, DomainError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::identity::{Denied, TokenError};

/// The domain name placed in google.rpc.ErrorInfo.
pub const ERROR_DOMAIN: &str = "civic.gov.cn";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input: each violation names the request field and what is wrong with it.
    #[error("invalid argument: {}", .0.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; "))]
    InvalidArgument(Vec<(String, String)>),
    /// A rule forbids this now (e.g. a workflow step out of order); `reason` is machine-readable.
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    /// A write named a version that is no longer current (someone changed the record since it
    /// was read): read it again and retry (ABORTED, as for any optimistic-concurrency conflict).
    #[error("{message}")]
    VersionConflict { message: String },
    #[error(transparent)]
    Unauthenticated(#[from] TokenError),
    #[error(transparent)]
    PermissionDenied(#[from] Denied),
    /// Another service or the database cannot be reached; retrying later may help.
    #[error("{0} is unavailable")]
    Unavailable(String),
    /// A bug or an unexpected failure: logged in full, reported to the client as a bare INTERNAL.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Storage(#[from] sqlx::Error),
    #[error(transparent)]
    Book(#[from] BookError),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument(vec![(field.into(), description.into())])
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::FailedPrecondition { reason, message: message.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound { what: what.into() }
    }

    /// A domain error arising from the value of `field`.
    pub fn domain(field: &str, e: DomainError) -> Self {
        match e {
            DomainError::Overflow(_)
            | DomainError::NotWholeFen(_)
            | DomainError::InvalidNumber(_)
            | DomainError::Negative(_)
            | DomainError::ZeroDenominator
            | DomainError::InvalidRounding(_)
            | DomainError::InvalidRegionCode(_)
            | DomainError::UnknownRegion(_)
            | DomainError::InvalidDate(_)
            | DomainError::UnknownParameter(_)
            | DomainError::InvalidRule { .. } => ApiError::invalid(field, e.to_string()),
            DomainError::NoValueInForce { .. } => ApiError::precondition("NO_VALUE_IN_FORCE", e.to_string()),
            DomainError::Inconsistent(_) => ApiError::precondition("INCONSISTENT_POLICY", e.to_string()),
            DomainError::NoRuleInForce { .. } => ApiError::precondition("NO_RULE_IN_FORCE", e.to_string()),
            DomainError::CalendarNotCovered { .. } => ApiError::precondition("CALENDAR_NOT_COVERED", e.to_string()),
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::InvalidArgument(_) => "INVALID_ARGUMENT",
            ApiError::FailedPrecondition { reason, .. } => reason,
            ApiError::NotFound { .. } => "NOT_FOUND",
            ApiError::AlreadyExists { .. } => "ALREADY_EXISTS",
            ApiError::VersionConflict { .. } => "VERSION_CONFLICT",
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::PermissionDenied(Denied::Role { .. }) => "ROLE_NOT_ALLOWED",
            ApiError::PermissionDenied(Denied::Region { .. }) => "REGION_OUT_OF_SCOPE",
            ApiError::PermissionDenied(Denied::AuditorWrite) => "AUDITOR_READ_ONLY",
            ApiError::PermissionDenied(Denied::Unit { .. }) => "UNIT_OUT_OF_SCOPE",
            ApiError::PermissionDenied(Denied::NoUnit { .. }) => "UNIT_REQUIRED",
            ApiError::PermissionDenied(Denied::Publish { .. }) => "NO_PUBLISHING_RIGHT",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL",
            ApiError::Storage(_) => "STORAGE",
            ApiError::Book(_) => "POLICY_BOOK",
        }
    }
}

fn storage_code(e: &sqlx::Error) -> Code {
    match e {
        sqlx::Error::RowNotFound => Code::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Code::Unavailable
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => Code::AlreadyExists,
        // PostgreSQL refuses text with a NUL character (character_not_in_repertoire): the
        // request carried it.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => Code::InvalidArgument,
        // A serialization failure or a deadlock between two writers (say two imports of the same
        // new households, their rows in different orders): one of them was undone, nothing of
        // it kept; the caller may try again.
        sqlx::Error::Database(db) if db.code().as_deref().is_some_and(|c| c == "40001" || c == "40P01") => {
            Code::Aborted
        }
        // The database is starting up, shutting down or out of connections.
        sqlx::Error::Database(db)
            if db.code().as_deref().is_some_and(|c| c.starts_with("57P") || c.starts_with("08") || c == "53300") =>
        {
            Code::Unavailable
        }
        _ => Code::Internal,
    }
}

/// Longest message, field name or description sent back: an error never echoes unbounded
/// input (a huge trailer is rejected by some clients and amplifies an attacker's request).
pub const MAX_ERROR_TEXT: usize = 1024;

/// `s` cut to at most `MAX_ERROR_TEXT` bytes on a character boundary, marked when cut.
pub fn clip(s: &str) -> String {
    if s.len() <= MAX_ERROR_TEXT {
        return s.to_string();
    }
    let mut end = MAX_ERROR_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let reason = e.reason();
        let mut details = ErrorDetails::new();
        details.set_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
        let (code, message) = match &e {
            ApiError::InvalidArgument(violations) => {
                for (field, description) in violations.iter().take(100) {
                    details.add_bad_request_violation(clip(field), clip(description));
                }
                (Code::InvalidArgument, e.to_string())
            }
            ApiError::FailedPrecondition { message, .. } => {
                details.add_precondition_failure_violation(reason, "", clip(message));
                (Code::FailedPrecondition, message.clone())
            }
            ApiError::NotFound { .. } => (Code::NotFound, e.to_string()),
            ApiError::AlreadyExists { .. } => (Code::AlreadyExists, e.to_string()),
            ApiError::VersionConflict { message } => (Code::Aborted, message.clone()),
            ApiError::Unauthenticated(_) => (Code::Unauthenticated, e.to_string()),
            ApiError::PermissionDenied(_) => (Code::PermissionDenied, e.to_string()),
            ApiError::Unavailable(_) => {
                details.set_retry_info(Some(std::time::Duration::from_secs(1)));
                (Code::Unavailable, e.to_string())
            }
            ApiError::Internal(_) | ApiError::Book(_) => {
                tracing::error!(error = %e, "internal error");
                (Code::Internal, "internal error; see the server log".to_string())
            }
            ApiError::Storage(s) => {
                let code = storage_code(s);
                tracing::error!(error = %e, ?code, "storage error");
                let msg = match code {
                    Code::Unavailable => "the database is unavailable; retry later".to_string(),
                    Code::AlreadyExists => "the record already exists".to_string(),
                    Code::NotFound => "not found".to_string(),
                    Code::InvalidArgument => {
                        "a text field contains a NUL character (\\0), which is never valid".to_string()
                    }
                    _ => "internal storage error; see the server log".to_string(),
                };
                (code, msg)
            }
        };
        Status::with_error_details(code, clip(&message), details)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;

    fn reason_of(s: &Status) -> String {
        s.get_details_error_info().map(|i| i.reason).unwrap_or_default()
    }

    /// Every variant, and every kind of denial and token error, with the code and reason a
    /// client sees.
    #[test]
    fn every_error_maps_to_its_code_and_reason() {
        let table: Vec<(ApiError, Code, &str)> = vec![
            (ApiError::invalid("f", "bad"), Code::InvalidArgument, "INVALID_ARGUMENT"),
            (ApiError::precondition("NO_STANDARD", "none"), Code::FailedPrecondition, "NO_STANDARD"),
            (ApiError::not_found("household x"), Code::NotFound, "NOT_FOUND"),
            (ApiError::AlreadyExists { what: "x".into() }, Code::AlreadyExists, "ALREADY_EXISTS"),
            (ApiError::VersionConflict { message: "x".into() }, Code::Aborted, "VERSION_CONFLICT"),
            (ApiError::Unauthenticated(TokenError::Missing), Code::Unauthenticated, "UNAUTHENTICATED"),
            (ApiError::Unauthenticated(TokenError::BadTimes), Code::Unauthenticated, "UNAUTHENTICATED"),
            (
                ApiError::PermissionDenied(Denied::Role { role: Role::Tax, action: "x" }),
                Code::PermissionDenied,
                "ROLE_NOT_ALLOWED",
            ),
            (
                ApiError::PermissionDenied(Denied::Region {
                    target: civic_domain::RegionCode::NATIONAL,
                    scope: civic_domain::RegionCode::NATIONAL,
                }),
                Code::PermissionDenied,
                "REGION_OUT_OF_SCOPE",
            ),
            (ApiError::PermissionDenied(Denied::AuditorWrite), Code::PermissionDenied, "AUDITOR_READ_ONLY"),
            (
                ApiError::PermissionDenied(Denied::Unit { own: "a".into(), target: "b".into() }),
                Code::PermissionDenied,
                "UNIT_OUT_OF_SCOPE",
            ),
            (
                ApiError::PermissionDenied(Denied::NoUnit { role: Role::Town, action: "x" }),
                Code::PermissionDenied,
                "UNIT_REQUIRED",
            ),
            (
                ApiError::PermissionDenied(Denied::Publish { message: "x".into() }),
                Code::PermissionDenied,
                "NO_PUBLISHING_RIGHT",
            ),
            (ApiError::Unavailable("social-assistance".into()), Code::Unavailable, "UNAVAILABLE"),
            (ApiError::Internal("bug".into()), Code::Internal, "INTERNAL"),
            (ApiError::Storage(sqlx::Error::PoolTimedOut), Code::Unavailable, "STORAGE"),
            (ApiError::Storage(sqlx::Error::RowNotFound), Code::NotFound, "STORAGE"),
            (ApiError::Storage(sqlx::Error::Protocol("x".into())), Code::Internal, "STORAGE"),
            (ApiError::Book(BookError::Inconsistent(vec!["x".into()])), Code::Internal, "POLICY_BOOK"),
            (ApiError::domain("f", DomainError::ZeroDenominator), Code::InvalidArgument, "INVALID_ARGUMENT"),
            (
                ApiError::domain("f", DomainError::CalendarNotCovered { year: 2027, covered: "2017–2026".into() }),
                Code::FailedPrecondition,
                "CALENDAR_NOT_COVERED",
            ),
            (
                ApiError::domain(
                    "f",
                    DomainError::NoRuleInForce { rule: "r".into(), region: "411702".into(), date: "2024-01-01".into() },
                ),
                Code::FailedPrecondition,
                "NO_RULE_IN_FORCE",
            ),
        ];
        for (e, code, reason) in table {
            let shown = format!("{e:?}");
            let s: Status = e.into();
            assert_eq!((s.code(), reason_of(&s).as_str()), (code, reason), "{shown}");
        }
        // Internal details never reach the client.
        let s: Status = ApiError::Internal("secret path /var/lib".into()).into();
        assert!(!s.message().contains("secret"));
        // Field violations carry the field.
        let s: Status = ApiError::invalid("values[0].value", "bad").into();
        let fields: Vec<String> = s
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["values[0].value"]);
    }
}
