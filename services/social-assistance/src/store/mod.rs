//! The assistance store: published standards, the roll, payments and recalculation jobs. SQL is
//! the subset SQLite and PostgreSQL share; every change goes with its audit entry in one
//! transaction.

pub mod jobs;
pub mod roll;
pub mod standards;

/// Current time as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
