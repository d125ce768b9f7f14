//! What land-supervision keeps, one module per table group: `cases` (cases and their events),
//! `parcels` (clusters and parcels with their status history), `records` (enterprises' yearly
//! figures and per-mu results), `flags` (other bureaus' flags on enterprises), `sanluanwu`
//! (the 散乱污 registry), `yearly` (cluster evaluations, campaign targets and town reports).
//! Every write carries its audit entry in the same transaction.

pub mod cases;
pub mod flags;
pub mod parcels;
pub mod records;
pub mod sanluanwu;
pub mod yearly;

/// Now as RFC 3339 UTC with milliseconds, as every land table records it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What can go wrong with stored records — never a transport error: the API maps each to its
/// status (`api::error`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// The record changed since the version the write names.
    #[error("{0}")]
    VersionConflict(String),
    #[error("{0} already exists")]
    Duplicate(String),
    /// The record's state does not allow the step (a reason code and why).
    #[error("{1}")]
    State(&'static str, String),
    /// A value of the request that the stored history does not allow (the request's field and
    /// why), e.g. a flag dated before its last change.
    #[error("{field}: {message}")]
    Field { field: &'static str, message: String },
    /// A stored value that cannot be read back (a bug or a hand edit).
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A closed-set value as stored in `table.column`, or the row is corrupt (a bug or a hand edit).
pub(crate) fn closed<T>(table_column: &str, s: String, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(&s).ok_or_else(|| StoreError::Corrupt(format!("{table_column} '{s}'")))
}

impl StoreError {
    pub fn field(field: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Field { field, message: message.into() }
    }
}
