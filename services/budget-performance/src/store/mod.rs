//! budget-performance's tables, one module per group. Every write runs in one transaction with
//! its audit entry; a store error says what went wrong with the records, never how to answer a
//! client (the api maps it).

pub mod debt_events;
pub mod decisions;
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

/// `INSERT … VALUES (…), (…)` placeholders for `rows` rows of `cols` columns.
pub(crate) fn values_sql(cols: usize, rows: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Rows per multi-row statement: small statements, because the cost of binding grows faster than
/// the rows in one statement (measured: 50 rows run five times faster per row than 400).
pub(crate) const BATCH_ROWS: usize = 50;

/// Append many audit entries in the caller's transaction, a few hundred per statement.
pub(crate) async fn audit_many(
    conn: &mut sqlx::AnyConnection,
    who: &civic_runtime::identity::Caller,
    request_id: &str,
    changes: &[civic_runtime::audit::Change],
) -> Result<(), sqlx::Error> {
    for chunk in changes.chunks(BATCH_ROWS) {
        let sql =
            format!("INSERT INTO audit_log ({}) VALUES {}", civic_runtime::audit::COLUMNS, values_sql(13, chunk.len()));
        let mut q = sqlx::query(&sql);
        for c in chunk {
            for v in civic_runtime::audit::values(who, request_id, c) {
                q = q.bind(v);
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
