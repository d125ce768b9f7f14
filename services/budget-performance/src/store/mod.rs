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

use civic_runtime::storage::Backend;

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

/// `INSERT … VALUES (…), (…)` placeholders for `rows` rows of `cols` columns (anonymous on
/// SQLite: see [`Backend::rows`]).
pub(crate) fn values_sql(backend: Backend, cols: usize, rows: usize) -> String {
    backend.rows(rows, cols, 1)
}

/// A value of a row appended by [`insert_arrays`].
pub(crate) enum Cell<'a> {
    Text(&'a str),
    Int(i64),
}

/// A row that [`insert_arrays`] can append: its values in the order of the columns named.
pub(crate) trait ArrayRow {
    fn cells(&self) -> Vec<Cell<'_>>;
}

/// PostgreSQL: append `rows` to `table`, one array parameter per column
/// (`INSERT … SELECT * FROM unnest($1::text[], $2::bigint[], …)`), `PG_ARRAY_ROWS` rows a
/// statement. Binding one parameter per value dominates multi-row statements on large imports;
/// PostgreSQL reads array literals several times faster than the same rows as JSON. `columns`
/// names each column with its SQL type (`text` or `bigint`).
pub(crate) async fn insert_arrays<T: ArrayRow>(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[(&str, &str)],
    rows: &[T],
) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let arrays: Vec<String> = columns.iter().enumerate().map(|(i, (_, t))| format!("${}::{t}[]", i + 1)).collect();
    let sql = format!("INSERT INTO {table} ({}) SELECT * FROM unnest({})", names.join(", "), arrays.join(", "));
    for chunk in rows.chunks(PG_ARRAY_ROWS) {
        let mut literals: Vec<String> = columns.iter().map(|_| String::from("{")).collect();
        for (r, row) in chunk.iter().enumerate() {
            let cells = row.cells();
            if cells.len() != columns.len() {
                return Err(sqlx::Error::Protocol(format!(
                    "{table}: {} values for {} columns",
                    cells.len(),
                    columns.len()
                )));
            }
            for (literal, cell) in literals.iter_mut().zip(cells) {
                if r > 0 {
                    literal.push(',');
                }
                match cell {
                    Cell::Int(v) => literal.push_str(&v.to_string()),
                    Cell::Text(v) => {
                        // Quoted, with '"' and '\\' escaped (both ASCII, so every cut is at a
                        // character boundary).
                        literal.push('"');
                        let mut from = 0;
                        for (i, b) in v.bytes().enumerate() {
                            if b == b'"' || b == b'\\' {
                                literal.push_str(&v[from..i]);
                                literal.push('\\');
                                from = i;
                            }
                        }
                        literal.push_str(&v[from..]);
                        literal.push('"');
                    }
                }
            }
        }
        let mut q = sqlx::query(&sql);
        for mut literal in literals {
            literal.push('}');
            q = q.bind(literal);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rows per array statement on PostgreSQL.
pub(crate) const PG_ARRAY_ROWS: usize = 10_000;

/// Rows per multi-row statement. (Measured before SQLite's parameters were anonymous: 50 rows ran
/// five times faster per row than 400 — the n² cost of numbered parameters there.)
pub(crate) const BATCH_ROWS: usize = 50;

/// Append many audit entries in the caller's transaction.
pub(crate) async fn audit_many(
    conn: &mut sqlx::AnyConnection,
    who: &civic_runtime::identity::Caller,
    request_id: &str,
    changes: &[civic_runtime::audit::Change],
) -> Result<(), sqlx::Error> {
    civic_runtime::audit::record_many(conn, who, request_id, changes).await
}

#[cfg(test)]
mod tests {
    use civic_runtime::storage::{Backend, Database};
    use sqlx::{Connection, Row};

    use super::{insert_arrays, ArrayRow, Cell};

    struct Odd(String, i64);

    impl ArrayRow for Odd {
        fn cells(&self) -> Vec<Cell<'_>> {
            vec![Cell::Text(&self.0), Cell::Int(self.1)]
        }
    }

    /// Whatever text a row holds — quotes, backslashes, commas, braces, NULL spelt out, empty,
    /// Chinese — comes back as it went in, across statements.
    #[tokio::test]
    async fn array_rows_round_trip_on_postgres() {
        let url = civic_testing::fresh_database(Backend::Postgres).await;
        let db = Database::connect(&url, 2).await.unwrap();
        let mut conn = db.pool.acquire().await.unwrap();
        sqlx::query("CREATE TABLE odd (t TEXT NOT NULL, n BIGINT NOT NULL)").execute(&mut *conn).await.unwrap();
        let awkward =
            ["", "NULL", "a,b", "{x}", "say \"hi\"", "back\\slash\\", "\\\"", "截至6月底，进度38%", " padded "];
        let rows: Vec<Odd> =
            (0..super::PG_ARRAY_ROWS + 5).map(|i| Odd(awkward[i % awkward.len()].to_string(), i as i64 - 3)).collect();
        let mut tx = conn.begin().await.unwrap();
        insert_arrays(&mut tx, "odd", &[("t", "text"), ("n", "bigint")], &rows).await.unwrap();
        tx.commit().await.unwrap();
        let back = sqlx::query("SELECT t, n FROM odd ORDER BY n").fetch_all(&mut *conn).await.unwrap();
        assert_eq!(back.len(), rows.len());
        for (r, want) in back.iter().zip(&rows) {
            assert_eq!((r.get::<String, _>("t"), r.get::<i64, _>("n")), (want.0.clone(), want.1));
        }
    }
}
