//! A roll imported in one transaction, written a slice of households at a time so that the
//! service never holds the whole roll: on SQLite in multi-row statements, on PostgreSQL by COPY
//! (new households straight into the table, replaced ones into a temporary table and then one
//! update); every household checked against the importer's scope and audited with its
//! before-state.

use civic_domain::RegionCode;
use civic_runtime::{audit, identity::Caller, storage::Database, ApiError};

use crate::roll::{members_to_json, write_members_json, RollRecord};

/// Rows per INSERT statement in a bulk import on SQLite (11 anonymous parameters each; SQLite
/// allows 32,766).
const IMPORT_BATCH: usize = 128;

/// What an import did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Stored {
        import_id: String,
        created: i64,
        replaced: i64,
    },
    /// Ids of the file that belong to stored households outside the caller's scope: nothing was
    /// stored. (At most `MAX_REPORTED` are listed.)
    OutOfScope(Vec<String>),
}

/// Out-of-scope ids reported at most.
const MAX_REPORTED: usize = 1000;

/// A slice of households made ready to write, off the request threads and while the slice
/// before it is being written: each household's line as the writer sends it (on PostgreSQL the
/// COPY line, elsewhere the stored members), in one buffer.
pub struct Prepared {
    /// The households, where their fields are bound one by one (not for COPY, whose lines
    /// carry them: there only the ids are kept).
    records: Vec<RollRecord>,
    ids: Vec<String>,
    text: String,
    /// Where each household's line ends in `text`.
    ends: Vec<usize>,
}

impl Prepared {
    fn line(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn id(&self, i: usize) -> &str {
        match self.records.get(i) {
            Some(r) => &r.household.id,
            None => &self.ids[i],
        }
    }
}

/// Makes slices ready for one writer (it knows the writer's backend and time stamp).
#[derive(Clone)]
pub struct Preparer {
    copy: bool,
    now: String,
}

impl Preparer {
    pub fn prepare(&self, records: Vec<RollRecord>) -> Prepared {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(records.len() * 256);
        let mut ends = Vec::with_capacity(records.len());
        for r in &records {
            if self.copy {
                // A line of COPY's text format: tab-separated, backslash escapes.
                copy_text_field(&mut text, &r.household.id);
                let _ = write!(
                    text,
                    "\t{}\t{}\t{}\t{}\t{}\t",
                    r.household.region,
                    r.household.residence.as_str(),
                    r.category.as_str(),
                    r.status.as_str(),
                    r.household.size()
                );
                let at = text.len();
                write_members_json(&mut text, &r.household);
                if text[at..].contains('\\') {
                    let json = text.split_off(at);
                    copy_text_field(&mut text, &json);
                }
                let _ = writeln!(text, "\t{}\t{}\t1\t{}", r.monthly_benefit.get(), r.computed_on, self.now);
            } else {
                text.push_str(&members_to_json(&r.household));
            }
            ends.push(text.len());
        }
        if self.copy {
            let ids = records.into_iter().map(|r| r.household.id).collect();
            Prepared { records: Vec::new(), ids, text, ends }
        } else {
            Prepared { records, ids: Vec::new(), text, ends }
        }
    }
}

/// Columns of a household's state before an import replaced it.
const BEFORE_COLUMNS: &str =
    "before_region_code, before_residence, before_category, before_status, before_members_json, \
     before_benefit_fen, before_computed_on, before_version";
const STATE_COLUMNS: &str =
    "region_code, residence, category, status, members_json, monthly_benefit_fen, computed_on, version";

/// An import being written: `begin`, `write` each slice of households (in any order, each id
/// once), then `finish` — all or nothing. Existing ids are replaced and their version goes up,
/// only where the stored household is within the caller's scope (`scope_prefix`, as for a single
/// upsert); otherwise nothing is stored and `finish` returns the ids (later slices are still
/// checked, not written). Every household replaced is recorded in `roll_import_changes` with its
/// state before, and the ids created in `roll_import_created` (one row per slice), under an
/// import id that the import's audit entry names.
pub struct RollWriter {
    tx: Tx,
    scope_prefix: String,
    import_id: String,
    now: String,
    households: usize,
    created: i64,
    /// Slices written so far: each one's created ids are one row of `roll_import_created`.
    parts: i64,
    out_of_scope: Vec<String>,
}

enum Tx {
    Portable(sqlx::Transaction<'static, sqlx::Any>, i64),
    /// On PostgreSQL: whether replaced households wait in the temporary table.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>, bool),
}

impl RollWriter {
    pub async fn begin(db: &Database, scope_prefix: &str) -> Result<RollWriter, ApiError> {
        let tx = match &db.bulk {
            Some(pg) => Tx::Postgres(pg.begin().await?, false),
            None => Tx::Portable(db.begin().await?, 0),
        };
        Ok(RollWriter {
            tx,
            scope_prefix: scope_prefix.to_string(),
            import_id: uuid::Uuid::new_v4().to_string(),
            now: crate::store::now(),
            households: 0,
            created: 0,
            parts: 0,
            out_of_scope: Vec::new(),
        })
    }

    /// What makes slices ready for this writer.
    pub fn preparer(&self) -> Preparer {
        Preparer { copy: matches!(self.tx, Tx::Postgres(..)), now: self.now.clone() }
    }

    /// Write a slice of households (or, once an id out of scope was met, only check it).
    pub async fn write(&mut self, slice: &Prepared) -> Result<(), ApiError> {
        self.households += slice.len();
        let part = self.parts;
        self.parts += 1;
        match &mut self.tx {
            Tx::Portable(tx, replaced) => {
                let (created, more) = write_with_inserts(
                    tx,
                    slice,
                    &self.scope_prefix,
                    (&self.import_id, part),
                    &self.now,
                    &mut self.out_of_scope,
                )
                .await?;
                self.created += created;
                *replaced += more;
            }
            Tx::Postgres(tx, staged) => {
                self.created += write_with_copy(
                    tx,
                    slice,
                    &self.scope_prefix,
                    (&self.import_id, part),
                    &mut self.out_of_scope,
                    staged,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Households written (or, after an id out of scope, checked) so far.
    pub fn households(&self) -> usize {
        self.households
    }

    /// Undo everything written: nothing is stored.
    pub async fn abandon(self) -> Result<(), ApiError> {
        match self.tx {
            Tx::Portable(tx, _) => tx.rollback().await?,
            Tx::Postgres(tx, _) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Commit with the import's audit entry, or roll back if an id was out of scope.
    pub async fn finish(
        self,
        caller: &Caller,
        request_id: &str,
        region: RegionCode,
        digest: &str,
        reason: &str,
    ) -> Result<ImportOutcome, ApiError> {
        let RollWriter { tx, import_id, households, created, out_of_scope, .. } = self;
        let change = |replaced: i64| audit::Change {
            action: "roll.import".into(),
            entity: "roll".into(),
            entity_id: region.to_string(),
            region: region.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "households": households, "sha256": digest, "import_id": import_id,
                "created": created, "replaced": replaced,
            })),
            reason: reason.to_string(),
        };
        if !out_of_scope.is_empty() {
            match tx {
                Tx::Portable(tx, _) => tx.rollback().await?,
                Tx::Postgres(tx, _) => tx.rollback().await?,
            }
            return Ok(ImportOutcome::OutOfScope(out_of_scope));
        }
        let replaced = match tx {
            Tx::Portable(mut tx, replaced) => {
                audit::record(&mut tx, caller, request_id, &change(replaced)).await?;
                super::count_change(&mut tx).await?;
                tx.commit().await?;
                replaced
            }
            Tx::Postgres(mut tx, staged) => {
                let replaced = if staged { replace_staged(&mut tx, &import_id).await? } else { 0 };
                audit::record_on(&mut *tx, caller, request_id, &change(replaced)).await?;
                super::count_change_pg(&mut tx).await?;
                tx.commit().await?;
                replaced
            }
        };
        Ok(ImportOutcome::Stored { import_id, created, replaced })
    }
}

/// Upsert clause shared by both paths.
const UPSERT: &str =
    " ON CONFLICT (id) DO UPDATE SET region_code = excluded.region_code, residence = excluded.residence, \
     category = excluded.category, status = excluded.status, member_count = excluded.member_count, \
     members_json = excluded.members_json, monthly_benefit_fen = excluded.monthly_benefit_fen, \
     computed_on = excluded.computed_on, version = households.version + 1, updated_at = excluded.updated_at";

const HOUSEHOLD_COLUMNS: &str =
    "id, region_code, residence, category, status, member_count, members_json, monthly_benefit_fen, computed_on, version, updated_at";

/// "?, …, ?" (`n` anonymous parameters, SQLite only: see [`crate::store::jobs::anonymous`]).
fn list_placeholders(n: usize) -> String {
    civic_runtime::storage::Backend::Sqlite.list(n, 1)
}

/// SQLite (the portable path; PostgreSQL has COPY): multi-row INSERTs with anonymous
/// parameters. Returns (created, replaced).
async fn write_with_inserts(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    slice: &Prepared,
    scope_prefix: &str,
    (import_id, part): (&str, i64),
    now: &str,
    out_of_scope: &mut Vec<String>,
) -> Result<(i64, i64), ApiError> {
    let mut replaced = 0i64;
    let mut created: Vec<&str> = Vec::new();
    for (n, chunk) in slice.records.chunks(IMPORT_BATCH).enumerate() {
        let sql = format!("SELECT id, region_code FROM households WHERE id IN ({})", list_placeholders(chunk.len()));
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for r in chunk {
            q = q.bind(r.household.id.clone());
        }
        let existing = q.fetch_all(&mut **tx).await?;
        for (id, stored_region) in &existing {
            if !stored_region.starts_with(scope_prefix) && out_of_scope.len() < MAX_REPORTED {
                out_of_scope.push(id.clone());
            }
        }
        if !out_of_scope.is_empty() {
            continue;
        }
        let existing: std::collections::HashSet<&str> = existing.iter().map(|(id, _)| id.as_str()).collect();
        // The state before, of those replaced; the ids created are kept for the slice's row.
        if !existing.is_empty() {
            let sql = format!(
                "INSERT INTO roll_import_changes (import_id, household_id, action, {BEFORE_COLUMNS}) \
                 SELECT ?, id, 'replaced', {STATE_COLUMNS} FROM households WHERE id IN ({})",
                list_placeholders(existing.len())
            );
            let mut q = sqlx::query(&sql).bind(import_id.to_string());
            for id in &existing {
                q = q.bind(id.to_string());
            }
            q.execute(&mut **tx).await?;
            replaced += existing.len() as i64;
        }
        created.extend(chunk.iter().map(|r| r.household.id.as_str()).filter(|id| !existing.contains(id)));
        let sql = format!(
            "INSERT INTO households ({HOUSEHOLD_COLUMNS}) VALUES {}{UPSERT}",
            crate::store::jobs::anonymous(chunk.len(), 11)
        );
        let mut q = sqlx::query(&sql);
        for (k, r) in chunk.iter().enumerate() {
            q = q
                .bind(r.household.id.clone())
                .bind(r.household.region.to_string())
                .bind(r.household.residence.as_str())
                .bind(r.category.as_str())
                .bind(r.status.as_str())
                .bind(r.household.size())
                .bind(slice.line(n * IMPORT_BATCH + k).to_string())
                .bind(r.monthly_benefit.get())
                .bind(r.computed_on.to_string())
                .bind(1i64)
                .bind(now.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    if out_of_scope.is_empty() && !created.is_empty() {
        sqlx::query("INSERT INTO roll_import_created (import_id, part, household_ids) VALUES ($1, $2, $3)")
            .bind(import_id.to_string())
            .bind(part)
            .bind(created_json(&created))
            .execute(&mut **tx)
            .await?;
    }
    Ok((created.len() as i64, replaced))
}

/// The created ids of a slice as the JSON array stored in `roll_import_created`.
fn created_json(ids: &[&str]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// `s` as a field of COPY's text format: a backslash, tab, newline or carriage return escaped
/// (the JSON written has no other control characters; ids have none).
fn copy_text_field(out: &mut String, s: &str) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        out.push_str(s);
        return;
    }
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Send the prepared lines of `slice` whose id `send` selects (all when `send` is None) to a
/// COPY … FROM STDIN into `table`, in pieces of about 1 MB (taken from the prepared text as it
/// is when every line goes).
async fn copy_households(
    conn: &mut sqlx::PgConnection,
    table: &str,
    slice: &Prepared,
    send: Option<&(dyn Fn(&str) -> bool + Sync)>,
) -> Result<(), sqlx::Error> {
    const PIECE: usize = 1 << 20;
    let mut copy = conn.copy_in_raw(&format!("COPY {table} ({HOUSEHOLD_COLUMNS}) FROM STDIN")).await?;
    let mut sent: Result<(), sqlx::Error> = Ok(());
    match send {
        // Every line: the text as it is, cut anywhere (COPY reads a stream).
        None => {
            for piece in slice.text.as_bytes().chunks(PIECE) {
                sent = copy.send(piece).await.map(drop);
                if sent.is_err() {
                    break;
                }
            }
        }
        Some(send) => {
            let mut buf = Vec::with_capacity(PIECE + 4096);
            for i in 0..slice.len() {
                if send(slice.id(i)) {
                    buf.extend_from_slice(slice.line(i).as_bytes());
                }
                if buf.len() >= PIECE || (i + 1 == slice.len() && !buf.is_empty()) {
                    sent = copy.send(buf.as_slice()).await.map(drop);
                    if sent.is_err() {
                        break;
                    }
                    buf.clear();
                }
            }
        }
    }
    if let Err(e) = sent {
        let _ = copy.abort("send failed").await;
        return Err(e);
    }
    copy.finish().await.map(|_| ())
}

/// PostgreSQL: the slice's ids looked up at once; new households COPYed straight into the table
/// (a first roll is one COPY per slice), replaced ones into a temporary table for
/// [`replace_staged`]. Returns the households created.
async fn write_with_copy(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    slice: &Prepared,
    scope_prefix: &str,
    (import_id, part): (&str, i64),
    out_of_scope: &mut Vec<String>,
    staged: &mut bool,
) -> Result<i64, ApiError> {
    let ids: Vec<&str> = (0..slice.len()).map(|i| slice.id(i)).collect();
    let t0 = std::time::Instant::now();
    // Whether any stored id lies between the slice's least and greatest (in the database's own
    // order): one index probe. Only then is every id looked up — a slice of new households (a
    // first roll, or one whose ids are apart from the stored ones) is not probed id by id.
    let any_near: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM households WHERE id >= (SELECT min(x) FROM UNNEST($1::text[]) AS x) \
         AND id <= (SELECT max(x) FROM UNNEST($1::text[]) AS x))",
    )
    .bind(&ids)
    .fetch_one(&mut **tx)
    .await?;
    let existing: Vec<(String, String)> = if any_near {
        sqlx::query_as("SELECT id, region_code FROM households WHERE id = ANY($1::text[]) ORDER BY id")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?
    } else {
        Vec::new()
    };
    tracing::debug!(
        households = ids.len(),
        any_near,
        lookup_ms = t0.elapsed().as_millis() as u64,
        "roll import: ids looked up"
    );
    // A stored household outside the caller's scope is never replaced by an import.
    for (id, stored_region) in &existing {
        if !stored_region.starts_with(scope_prefix) && out_of_scope.len() < MAX_REPORTED {
            out_of_scope.push(id.clone());
        }
    }
    if !out_of_scope.is_empty() {
        return Ok(0);
    }
    let existing: std::collections::HashSet<&str> = existing.iter().map(|(id, _)| id.as_str()).collect();
    let new_ids: Vec<&str> = ids.iter().copied().filter(|id| !existing.contains(id)).collect();
    if !new_ids.is_empty() {
        let t0 = std::time::Instant::now();
        let is_new: &(dyn Fn(&str) -> bool + Sync) = &|id: &str| !existing.contains(id);
        let send = if existing.is_empty() { None } else { Some(is_new) };
        copy_households(tx, "households", slice, send).await.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::VersionConflict {
                message: "a household of the file was added to the roll meanwhile: import again".into(),
            },
            e => e.into(),
        })?;
        sqlx::query("INSERT INTO roll_import_created (import_id, part, household_ids) VALUES ($1, $2, $3)")
            .bind(import_id)
            .bind(part)
            .bind(created_json(&new_ids))
            .execute(&mut **tx)
            .await?;
        tracing::debug!(
            households = new_ids.len(),
            copy_ms = t0.elapsed().as_millis() as u64,
            "roll import: new households"
        );
    }
    if !existing.is_empty() {
        if !*staged {
            sqlx::query("CREATE TEMPORARY TABLE households_import (LIKE households INCLUDING DEFAULTS) ON COMMIT DROP")
                .execute(&mut **tx)
                .await?;
            *staged = true;
        }
        let is_old: &(dyn Fn(&str) -> bool + Sync) = &|id: &str| existing.contains(id);
        copy_households(tx, "households_import", slice, Some(is_old)).await?;
    }
    Ok(new_ids.len() as i64)
}

/// PostgreSQL: replace the staged households (version + 1) with their before-state recorded: two
/// set statements, cheaper than a row-by-row upsert over a whole city. Returns how many.
async fn replace_staged(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>, import_id: &str) -> Result<i64, ApiError> {
    let t0 = std::time::Instant::now();
    let replaced = sqlx::query(&format!(
        "INSERT INTO roll_import_changes (import_id, household_id, action, {BEFORE_COLUMNS}) \
         SELECT $1, h.id, 'replaced', {} FROM households h JOIN households_import i ON i.id = h.id",
        STATE_COLUMNS.split(", ").map(|c| format!("h.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(import_id)
    .execute(&mut **tx)
    .await?
    .rows_affected() as i64;
    sqlx::query(
        "UPDATE households h SET region_code = i.region_code, residence = i.residence, category = i.category, status = i.status, \
         member_count = i.member_count, members_json = i.members_json, monthly_benefit_fen = i.monthly_benefit_fen, \
         computed_on = i.computed_on, version = h.version + 1, updated_at = i.updated_at \
         FROM households_import i WHERE h.id = i.id",
    )
    .execute(&mut **tx)
    .await?;
    tracing::debug!(
        households = replaced,
        replace_ms = t0.elapsed().as_millis() as u64,
        "roll import: replaced households"
    );
    Ok(replaced)
}
