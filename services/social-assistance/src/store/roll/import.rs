//! A roll imported at once: on SQLite in multi-row statements, on PostgreSQL by COPY into a
//! temporary table and one upsert; every household checked against the importer's scope and
//! audited with its before-state.

use civic_domain::RegionCode;
use civic_runtime::{audit, identity::Caller, storage::Database, ApiError};

use crate::roll::{members_to_json, RollRecord};

/// Rows per INSERT statement in a bulk import (11 binds each; well under both databases' limits).
const IMPORT_BATCH: usize = 32;

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

/// Columns of a household's state before an import replaced it.
const BEFORE_COLUMNS: &str =
    "before_region_code, before_residence, before_category, before_status, before_members_json, \
     before_benefit_fen, before_computed_on, before_version";
const STATE_COLUMNS: &str =
    "region_code, residence, category, status, members_json, monthly_benefit_fen, computed_on, version";

/// Store many households in one transaction: all or nothing. Existing ids are replaced and their
/// version goes up — only where the stored household is within the caller's scope
/// (`scope_prefix`, as for a single upsert); otherwise nothing is stored and the ids are
/// returned. Every household created or replaced is recorded in `roll_import_changes` with its
/// state before, under an import id that the import's audit entry names.
#[allow(clippy::too_many_arguments)]
pub async fn import(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    records: &[RollRecord],
    region: RegionCode,
    scope_prefix: &str,
    digest: &str,
    reason: &str,
) -> Result<ImportOutcome, ApiError> {
    let import_id = uuid::Uuid::new_v4().to_string();
    let change = |created: i64, replaced: i64| audit::Change {
        action: "roll.import".into(),
        entity: "roll".into(),
        entity_id: region.to_string(),
        region: region.to_string(),
        before: None,
        after: Some(serde_json::json!({
            "households": records.len(), "sha256": digest, "import_id": import_id,
            "created": created, "replaced": replaced,
        })),
        reason: reason.to_string(),
    };
    match &db.bulk {
        Some(pg) => import_with_copy(pg, caller, request_id, records, scope_prefix, &import_id, change).await,
        None => import_with_inserts(db, caller, request_id, records, scope_prefix, &import_id, change).await,
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

/// "$k+1, …, $k+n".
fn list_placeholders(n: usize, offset: usize) -> String {
    (1..=n).map(|i| format!("${}", offset + i)).collect::<Vec<_>>().join(",")
}

/// SQLite (and the portable path): multi-row INSERTs. Small statements are fastest here: the
/// cost of binding grows faster than the number of parameters.
async fn import_with_inserts(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    records: &[RollRecord],
    scope_prefix: &str,
    import_id: &str,
    change: impl Fn(i64, i64) -> audit::Change,
) -> Result<ImportOutcome, ApiError> {
    let mut tx = db.begin().await?;
    let now = crate::store::now();
    let mut out_of_scope = Vec::new();
    let (mut created, mut replaced) = (0i64, 0i64);
    for chunk in records.chunks(IMPORT_BATCH) {
        let sql = format!("SELECT id, region_code FROM households WHERE id IN ({})", list_placeholders(chunk.len(), 0));
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for r in chunk {
            q = q.bind(r.household.id.clone());
        }
        let existing = q.fetch_all(&mut *tx).await?;
        for (id, stored_region) in &existing {
            if !stored_region.starts_with(scope_prefix) && out_of_scope.len() < MAX_REPORTED {
                out_of_scope.push(id.clone());
            }
        }
        if !out_of_scope.is_empty() {
            continue;
        }
        let existing: std::collections::HashSet<&str> = existing.iter().map(|(id, _)| id.as_str()).collect();
        // The state before, of those replaced; then the ids created.
        if !existing.is_empty() {
            let sql = format!(
                "INSERT INTO roll_import_changes (import_id, household_id, action, {BEFORE_COLUMNS}) \
                 SELECT $1, id, 'replaced', {STATE_COLUMNS} FROM households WHERE id IN ({})",
                list_placeholders(existing.len(), 1)
            );
            let mut q = sqlx::query(&sql).bind(import_id.to_string());
            for id in &existing {
                q = q.bind(id.to_string());
            }
            q.execute(&mut *tx).await?;
            replaced += existing.len() as i64;
        }
        let new_ids: Vec<&str> =
            chunk.iter().map(|r| r.household.id.as_str()).filter(|id| !existing.contains(id)).collect();
        if !new_ids.is_empty() {
            let sql = format!(
                "INSERT INTO roll_import_changes (import_id, household_id, action) VALUES {}",
                crate::store::jobs::placeholders(new_ids.len(), 3, 0)
            );
            let mut q = sqlx::query(&sql);
            for id in &new_ids {
                q = q.bind(import_id.to_string()).bind(id.to_string()).bind("created");
            }
            q.execute(&mut *tx).await?;
            created += new_ids.len() as i64;
        }
        let sql = format!(
            "INSERT INTO households ({HOUSEHOLD_COLUMNS}) VALUES {}{UPSERT}",
            crate::store::jobs::placeholders(chunk.len(), 11, 0)
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.household.id.clone())
                .bind(r.household.region.to_string())
                .bind(r.household.residence.as_str())
                .bind(r.category.as_str())
                .bind(r.status.as_str())
                .bind(r.household.size())
                .bind(members_to_json(&r.household))
                .bind(r.monthly_benefit.get())
                .bind(r.computed_on.to_string())
                .bind(1i64)
                .bind(now.clone());
        }
        q.execute(&mut *tx).await?;
    }
    if !out_of_scope.is_empty() {
        tx.rollback().await?;
        return Ok(ImportOutcome::OutOfScope(out_of_scope));
    }
    audit::record(&mut tx, caller, request_id, &change(created, replaced)).await?;
    tx.commit().await?;
    Ok(ImportOutcome::Stored { import_id: import_id.to_string(), created, replaced })
}

fn csv_field(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}

/// Send `records` as CSV rows to a COPY … FROM STDIN into `table`.
async fn copy_households(
    conn: &mut sqlx::PgConnection,
    table: &str,
    records: &[RollRecord],
    now: &str,
) -> Result<(), sqlx::Error> {
    use std::fmt::Write as _;
    let mut copy = conn.copy_in_raw(&format!("COPY {table} ({HOUSEHOLD_COLUMNS}) FROM STDIN (FORMAT csv)")).await?;
    let mut buf = String::with_capacity(1 << 20);
    for r in records {
        csv_field(&mut buf, &r.household.id);
        let _ = write!(
            buf,
            ",{},{},{},{},{},",
            r.household.region,
            r.household.residence.as_str(),
            r.category.as_str(),
            r.status.as_str(),
            r.household.size()
        );
        csv_field(&mut buf, &members_to_json(&r.household));
        let _ = writeln!(buf, ",{},{},1,{now}", r.monthly_benefit.get(), r.computed_on);
        if buf.len() > (1 << 20) {
            if let Err(e) = copy.send(std::mem::take(&mut buf).into_bytes()).await {
                let _ = copy.abort("send failed").await;
                return Err(e);
            }
            buf.reserve(1 << 20);
        }
    }
    if !buf.is_empty() {
        if let Err(e) = copy.send(buf.into_bytes()).await {
            let _ = copy.abort("send failed").await;
            return Err(e);
        }
    }
    copy.finish().await.map(|_| ())
}

/// PostgreSQL: COPY into a temporary table, then one upsert into `households`, and the audit
/// entry, all in one transaction.
async fn import_with_copy(
    pg: &sqlx::PgPool,
    caller: &Caller,
    request_id: &str,
    records: &[RollRecord],
    scope_prefix: &str,
    import_id: &str,
    change: impl Fn(i64, i64) -> audit::Change,
) -> Result<ImportOutcome, ApiError> {
    let mut tx = pg.begin().await?;
    let now = crate::store::now();
    let t0 = std::time::Instant::now();
    // A roll loaded for the first time has no household that exists already: COPY it straight
    // into the table. If any does (a unique violation), fall back to staging and replacing.
    sqlx::query("SAVEPOINT direct_load").execute(&mut *tx).await?;
    match copy_households(&mut tx, "households", records, &now).await {
        Ok(()) => {
            sqlx::query("RELEASE SAVEPOINT direct_load").execute(&mut *tx).await?;
            let ids: Vec<&str> = records.iter().map(|r| r.household.id.as_str()).collect();
            sqlx::query(
                "INSERT INTO roll_import_changes (import_id, household_id, action) SELECT $1, v.id, 'created' FROM UNNEST($2::text[]) AS v (id)",
            )
            .bind(import_id)
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
            tracing::debug!(copy_ms = t0.elapsed().as_millis() as u64, "bulk load: direct");
            let created = records.len() as i64;
            audit::record_on(&mut *tx, caller, request_id, &change(created, 0)).await?;
            tx.commit().await?;
            return Ok(ImportOutcome::Stored { import_id: import_id.to_string(), created, replaced: 0 });
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            sqlx::query("ROLLBACK TO SAVEPOINT direct_load").execute(&mut *tx).await?;
        }
        Err(e) => return Err(e.into()),
    }
    sqlx::query("CREATE TEMPORARY TABLE households_import (LIKE households INCLUDING DEFAULTS) ON COMMIT DROP")
        .execute(&mut *tx)
        .await?;
    copy_households(&mut tx, "households_import", records, &now).await?;
    let copied = t0.elapsed();
    // A stored household outside the caller's scope is never replaced by an import.
    let foreign: Vec<String> = sqlx::query_scalar(
        "SELECT h.id FROM households h JOIN households_import i ON i.id = h.id WHERE h.region_code NOT LIKE $1 ORDER BY h.id LIMIT $2",
    )
    .bind(format!("{scope_prefix}%"))
    .bind(MAX_REPORTED as i64)
    .fetch_all(&mut *tx)
    .await?;
    if !foreign.is_empty() {
        tx.rollback().await?;
        return Ok(ImportOutcome::OutOfScope(foreign));
    }
    let replaced = sqlx::query(&format!(
        "INSERT INTO roll_import_changes (import_id, household_id, action, {BEFORE_COLUMNS}) \
         SELECT $1, h.id, 'replaced', {} FROM households h JOIN households_import i ON i.id = h.id",
        STATE_COLUMNS.split(", ").map(|c| format!("h.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(import_id)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    let created = sqlx::query(
        "INSERT INTO roll_import_changes (import_id, household_id, action) SELECT $1, i.id, 'created' FROM households_import i \
         WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.id = i.id)",
    )
    .bind(import_id)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    // Existing households are replaced (version + 1), new ones inserted: two set statements,
    // cheaper than a row-by-row ON CONFLICT over a whole city.
    sqlx::query(
        "UPDATE households h SET region_code = i.region_code, residence = i.residence, category = i.category, status = i.status, \
         member_count = i.member_count, members_json = i.members_json, monthly_benefit_fen = i.monthly_benefit_fen, \
         computed_on = i.computed_on, version = h.version + 1, updated_at = i.updated_at \
         FROM households_import i WHERE h.id = i.id",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO households ({HOUSEHOLD_COLUMNS}) SELECT {HOUSEHOLD_COLUMNS} FROM households_import i \
         WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.id = i.id)"
    ))
    .execute(&mut *tx)
    .await?;
    tracing::debug!(
        copy_ms = copied.as_millis() as u64,
        upsert_ms = (t0.elapsed() - copied).as_millis() as u64,
        "bulk load"
    );
    audit::record_on(&mut *tx, caller, request_id, &change(created, replaced)).await?;
    tx.commit().await?;
    Ok(ImportOutcome::Stored { import_id: import_id.to_string(), created, replaced })
}
