//! Roll persistence: households (with members as JSON), payments, bulk import.

use chrono::NaiveDate;
use civic_domain::{policy::parse_date, Fen, RegionCode};
use civic_runtime::{audit, identity::Caller, storage::Database, ApiError};
use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{
    roll::{members_from_json, members_to_json, Category, RollRecord, Status},
    rules::household::{Household, Residence},
};

const COLUMNS: &str = "id, region_code, residence, category, status, member_count, members_json, monthly_benefit_fen, computed_on, version";

fn corrupt(what: String) -> ApiError {
    ApiError::Internal(format!("stored household is unreadable: {what}"))
}

pub fn from_row(r: &AnyRow) -> Result<RollRecord, ApiError> {
    let id: String = r.try_get("id")?;
    let region: String = r.try_get("region_code")?;
    let residence: String = r.try_get("residence")?;
    let members_json: String = r.try_get("members_json")?;
    let members = members_from_json(&members_json).map_err(|e| corrupt(format!("{id}: {e}")))?;
    let region = RegionCode::parse(&region).map_err(|e| corrupt(e.to_string()))?;
    let residence = if residence == "urban" { Residence::Urban } else { Residence::Rural };
    let household =
        Household::new(id.clone(), region, residence, members, "household").map_err(|_| corrupt(id.clone()))?;
    let category: String = r.try_get("category")?;
    let status: String = r.try_get("status")?;
    let computed_on: String = r.try_get("computed_on")?;
    Ok(RollRecord {
        household,
        category: Category::parse(&category).ok_or_else(|| corrupt(format!("{id}: category {category}")))?,
        status: Status::parse(&status).ok_or_else(|| corrupt(format!("{id}: status {status}")))?,
        monthly_benefit: Fen::new(r.try_get("monthly_benefit_fen")?),
        computed_on: parse_date(&computed_on).map_err(|e| corrupt(e.to_string()))?,
        version: r.try_get("version")?,
    })
}

pub fn to_json(r: &RollRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.household.id,
        "region_code": r.household.region.as_str(),
        "residence": r.household.residence.as_str(),
        "category": r.category.as_str(),
        "status": r.status.as_str(),
        "members": serde_json::from_str::<serde_json::Value>(&members_to_json(&r.household)).unwrap_or_default(),
        "monthly_benefit_fen": r.monthly_benefit.get(),
        "computed_on": r.computed_on.to_string(),
        "version": r.version,
    })
}

pub async fn get(db: &Database, id: &str) -> Result<Option<RollRecord>, ApiError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM households WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

async fn get_in(conn: &mut AnyConnection, id: &str) -> Result<Option<RollRecord>, ApiError> {
    let row =
        sqlx::query(&format!("SELECT {COLUMNS} FROM households WHERE id = $1")).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(from_row).transpose()
}

async fn write(conn: &mut AnyConnection, r: &RollRecord, insert: bool) -> Result<(), sqlx::Error> {
    let sql = if insert {
        "INSERT INTO households (id, region_code, residence, category, status, member_count, members_json, monthly_benefit_fen, computed_on, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    } else {
        "UPDATE households SET region_code = $2, residence = $3, category = $4, status = $5, member_count = $6, members_json = $7, \
         monthly_benefit_fen = $8, computed_on = $9, version = $10, updated_at = $11 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(&r.household.id)
        .bind(r.household.region.as_str())
        .bind(r.household.residence.as_str())
        .bind(r.category.as_str())
        .bind(r.status.as_str())
        .bind(r.household.size())
        .bind(members_to_json(&r.household))
        .bind(r.monthly_benefit.get())
        .bind(r.computed_on.to_string())
        .bind(r.version)
        .bind(super::now())
        .execute(conn)
        .await?;
    Ok(())
}

/// Create (expected_version 0) or update (expected_version = stored version) a household, with
/// its audit entry. `allowed` decides whether the caller may touch the stored record's region.
pub async fn upsert(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    mut record: RollRecord,
    expected_version: i64,
    reason: &str,
    allowed: impl Fn(RegionCode) -> Result<(), ApiError>,
) -> Result<RollRecord, ApiError> {
    let mut tx = db.begin().await?;
    let existing = get_in(&mut tx, &record.household.id).await?;
    let before = match (&existing, expected_version) {
        (Some(_), 0) => return Err(ApiError::AlreadyExists { what: format!("household {}", record.household.id) }),
        (None, v) if v != 0 => return Err(ApiError::not_found(format!("household {}", record.household.id))),
        (None, _) => None,
        (Some(e), v) => {
            allowed(e.household.region)?;
            if e.version != v {
                return Err(ApiError::VersionConflict {
                    message: format!(
                        "household {} is at version {}, not {v}: read it again and reapply the change",
                        record.household.id, e.version
                    ),
                });
            }
            Some(to_json(e))
        }
    };
    record.version = expected_version + 1;
    write(&mut tx, &record, before.is_none()).await?;
    audit::record(
        &mut tx,
        caller,
        request_id,
        &audit::Change {
            action: if before.is_none() { "roll.create".into() } else { "roll.update".into() },
            entity: "household".into(),
            entity_id: record.household.id.clone(),
            region: record.household.region.to_string(),
            before,
            after: Some(to_json(&record)),
            reason: reason.to_string(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(record)
}

/// Households of a region (by code prefix), keyset-paginated by id.
pub async fn list(
    db: &Database,
    prefix: &str,
    status: Option<Status>,
    after_id: &str,
    limit: i64,
) -> Result<Vec<RollRecord>, ApiError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM households WHERE region_code LIKE $1 AND ($2 = '' OR status = $2) AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(format!("{prefix}%"))
    .bind(status.map(|s| s.as_str()).unwrap_or(""))
    .bind(after_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

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
    let now = super::now();
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
                super::jobs::placeholders(new_ids.len(), 3, 0)
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
            super::jobs::placeholders(chunk.len(), 11, 0)
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
    let now = super::now();
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

/// What recording a month's payments did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentsRecorded {
    pub paid: i64,
    pub already_paid: i64,
    pub total_fen: i64,
    pub not_in_force: i64,
}

/// Pay `month` ("YYYY-MM") to every active 低保 household of the region with a positive benefit
/// whose amount is in force in the month (computed for a date in or before it), once.
pub async fn record_payments(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    prefix: &str,
    region: RegionCode,
    month: &str,
) -> Result<PaymentsRecorded, ApiError> {
    // A stored amount applies from the date it was computed for; 'YYYY-MM-31' is after every day
    // of the month in text order.
    let month_end = format!("{month}-31");
    let mut tx = db.begin().await?;
    let counts = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN computed_on <= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS eligible, \
         CAST(COALESCE(SUM(CASE WHEN computed_on > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS later FROM households \
         WHERE region_code LIKE $1 AND status = 'active' AND category = 'dibao' AND monthly_benefit_fen > 0",
    )
    .bind(format!("{prefix}%"))
    .bind(&month_end)
    .fetch_one(&mut *tx)
    .await?;
    let (eligible, not_in_force): (i64, i64) = (counts.try_get("eligible")?, counts.try_get("later")?);
    let inserted = sqlx::query(
        "INSERT INTO payments (household_id, month, kind, amount_fen, paid_at) \
         SELECT id, $2, 'regular', monthly_benefit_fen, $3 FROM households \
         WHERE region_code LIKE $1 AND status = 'active' AND category = 'dibao' AND monthly_benefit_fen > 0 AND computed_on <= $4 \
         ON CONFLICT (household_id, month, kind) DO NOTHING",
    )
    .bind(format!("{prefix}%"))
    .bind(month)
    .bind(super::now())
    .bind(&month_end)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    let total: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) AS total FROM payments p JOIN households h ON h.id = p.household_id \
         WHERE h.region_code LIKE $1 AND p.month = $2 AND p.kind = 'regular'",
    )
    .bind(format!("{prefix}%"))
    .bind(month)
    .fetch_one(&mut *tx)
    .await?
    .try_get("total")?;
    let recorded =
        PaymentsRecorded { paid: inserted, already_paid: eligible - inserted, total_fen: total, not_in_force };
    if inserted == 0 {
        // Nothing written: no audit entry for a call that changed nothing.
        tx.rollback().await?;
        return Ok(recorded);
    }
    audit::record(
        &mut tx,
        caller,
        request_id,
        &audit::Change {
            action: "payments.record".into(),
            entity: "payments".into(),
            entity_id: format!("{region}/{month}"),
            region: region.to_string(),
            before: None,
            after: Some(serde_json::json!({ "month": month, "paid": inserted, "total_fen": total, "not_in_force": not_in_force })),
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(recorded)
}

/// Every household of a region (by prefix), in id order: for analyses over the whole roll.
pub async fn all(db: &Database, prefix: &str) -> Result<Vec<RollRecord>, ApiError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM households WHERE region_code LIKE $1 ORDER BY id"))
        .bind(format!("{prefix}%"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub fn parse_computed_on(s: &str) -> Option<NaiveDate> {
    parse_date(s).ok()
}

/// The roll of a region streamed straight into its compact form for population runs: no
/// intermediate records, so memory stays near the compact size.
pub async fn load_population(
    db: &Database,
    prefix: &str,
    kinds: &[String],
) -> Result<crate::population::Population, ApiError> {
    use crate::{population::MemberInput, roll::StoredMember};
    use tokio_stream::StreamExt;
    let mut pop = crate::population::Population::new(kinds);
    let mut rows = sqlx::query(
        "SELECT id, region_code, residence, category, status, members_json FROM households WHERE region_code LIKE $1",
    )
    .bind(format!("{prefix}%"))
    .fetch(&db.pool);
    while let Some(r) = rows.next().await {
        let r = r?;
        let id: String = r.try_get("id")?;
        let region: String = r.try_get("region_code")?;
        let residence: String = r.try_get("residence")?;
        let category: String = r.try_get("category")?;
        let status: String = r.try_get("status")?;
        let json: String = r.try_get("members_json")?;
        let members: Vec<StoredMember> = serde_json::from_str(&json).map_err(|e| corrupt(format!("{id}: {e}")))?;
        let region = RegionCode::parse(&region).map_err(|e| corrupt(e.to_string()))?;
        let residence = if residence == "urban" { Residence::Urban } else { Residence::Rural };
        let category = Category::parse(&category).ok_or_else(|| corrupt(format!("{id}: category {category}")))?;
        let status = Status::parse(&status).ok_or_else(|| corrupt(format!("{id}: status {status}")))?;
        pop.push(
            &id,
            region,
            residence,
            category,
            status,
            members.iter().map(|m| MemberInput {
                age: m.age,
                able_bodied: m.able,
                has_income_proof: m.proof,
                incomes: &m.incomes,
            }),
        );
    }
    Ok(pop)
}

/// One line of a payments summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthSummary {
    pub month: String,
    pub category: String,
    pub residence: String,
    pub households: i64,
    pub persons: i64,
    pub paid_fen: i64,
    pub back_pay_fen: i64,
}

/// What was paid per month, category and residence in regions starting with `prefix`, months
/// `from` to `to` ("YYYY-MM", included): each household counted once a month.
pub async fn summarize(db: &Database, prefix: &str, from: &str, to: &str) -> Result<Vec<MonthSummary>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT month, category, residence, CAST(COUNT(*) AS BIGINT) AS households, CAST(SUM(member_count) AS BIGINT) AS persons, \
         CAST(SUM(paid) AS BIGINT) AS paid_fen, CAST(SUM(back) AS BIGINT) AS back_pay_fen FROM ( \
           SELECT p.month AS month, h.category AS category, h.residence AS residence, h.member_count AS member_count, \
                  SUM(p.amount_fen) AS paid, SUM(CASE WHEN p.kind LIKE 'back_pay%' THEN p.amount_fen ELSE 0 END) AS back \
           FROM payments p JOIN households h ON h.id = p.household_id \
           WHERE h.region_code LIKE $1 AND p.month >= $2 AND p.month <= $3 \
           GROUP BY p.household_id, p.month, h.category, h.residence, h.member_count) t \
         GROUP BY month, category, residence ORDER BY month, category, residence",
    )
    .bind(format!("{prefix}%"))
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthSummary {
                month: r.try_get("month")?,
                category: r.try_get("category")?,
                residence: r.try_get("residence")?,
                households: r.try_get("households")?,
                persons: r.try_get("persons")?,
                paid_fen: r.try_get("paid_fen")?,
                back_pay_fen: r.try_get("back_pay_fen")?,
            })
        })
        .collect()
}
