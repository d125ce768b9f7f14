//! budget-performance's tables, one module per group. Every write runs in one transaction with
//! its audit entry; a store error says what went wrong with the records, never how to answer a
//! client (the api maps it).

pub mod evaluations;
pub mod ex_ante;
pub mod followup;
pub mod goals;
pub mod holds;
pub mod indicators;
pub mod monitoring;
pub mod programmes;

/// What can go wrong with stored records.
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
    /// A stored value that cannot be read back (a bug or a hand edit).
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Whether a database error is a unique-key violation (a concurrent writer got there first).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// The time of a write, UTC, to the millisecond.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
