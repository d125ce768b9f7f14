//! The gRPC services of budget-performance: `BudgetPerformance` (grades, ex-ante cost),
//! `FiscalRulesService` (the seeds' fiscal rules), `EvaluationService` (scoring evaluations) and
//! `MonitoringService` (dual monitoring), all in package `civic.budget.v1`.

mod actuals;
mod debt_events;
mod evaluation;
mod ex_ante;
mod fiscal;
mod followup;
mod indicators;
mod monitoring;
mod programmes;
mod service;

pub use actuals::Peers;
pub use evaluation::EvaluationApi;
pub use fiscal::FiscalApi;
pub use followup::FollowUpApi;
pub use indicators::IndicatorApi;
pub use monitoring::MonitoringApi;
pub use programmes::ProgrammeApi;
pub use service::BudgetApi;

use civic_runtime::{ApiError, ApiResult};
use tonic::{Response, Status};

use crate::rules::RuleError;

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> ApiError {
        match e {
            RuleError::Input { field, message } => ApiError::invalid(field, message),
            RuleError::InputAt { field, message } => ApiError::invalid(field, message),
            RuleError::Forbidden { reason, message } => ApiError::precondition(reason, message),
            RuleError::Domain(d) => ApiError::domain("region_code", d),
        }
    }
}

/// A text field of a request: trimmed, at most `max` characters, no NUL; `required` refuses
/// an empty one.
pub(crate) fn text(field: &str, s: &str, required: bool, max: usize) -> ApiResult<String> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(ApiError::invalid(field, "required"));
    }
    if t.chars().count() > max || t.contains('\0') {
        return Err(ApiError::invalid(field, format!("at most {max} characters, no NUL")));
    }
    Ok(t.to_string())
}

/// Whether `s` looks like an id this service assigned (a UUID); anything else is refused
/// before it reaches the database.
pub(crate) fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// A keyset page token: the sort key and id of the last item of the page before, as
/// [`next_token`] writes it; `None` for the first page.
pub(crate) fn keyset_token(s: &str) -> ApiResult<Option<(String, String)>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let part = |p: &str| {
        p.len() <= 64
            && p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
    };
    match s.split_once('/') {
        Some((key, id)) if part(key) && part(id) => Ok(Some((key.to_string(), id.to_string()))),
        _ => Err(ApiError::invalid("page_token", "not a token this service issued")),
    }
}

/// The token of the page after one whose last item has `key` and `id`.
pub(crate) fn next_token(key: &str, id: &str) -> String {
    format!("{key}/{id}")
}

/// `rows` read `size + 1` at a time cut to one page, with the next page's token (from the
/// page's last item by `token`) when there is more.
pub(crate) fn page_of<T>(mut rows: Vec<T>, size: usize, token: impl Fn(&T) -> String) -> (Vec<T>, String) {
    if rows.len() > size {
        rows.truncate(size);
        let next = rows.last().map(token).unwrap_or_default();
        (rows, next)
    } else {
        (rows, String::new())
    }
}

pub(crate) fn respond<T>(r: ApiResult<T>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        use crate::store::StoreError as S;
        match e {
            S::NotFound(what) => ApiError::not_found(what),
            S::VersionConflict(message) => ApiError::VersionConflict { message },
            S::Duplicate(what) => ApiError::AlreadyExists { what },
            S::State(reason, message) => ApiError::precondition(reason, message),
            S::Corrupt(what) => ApiError::Internal(format!("corrupt record: {what}")),
            S::Db(e) => ApiError::Storage(e),
        }
    }
}
