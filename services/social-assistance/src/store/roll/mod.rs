//! Roll persistence: households (with members as JSON) written, read, listed and loaded for
//! the kernels here; `import` (bulk) and `payments` (recorded, summarised) beside.

mod import;
mod payments;
pub mod snapshot;

pub use import::{ImportOutcome, Prepared, RollWriter};
pub use payments::{record_payments, summarize, MonthSummary, PaymentsRecorded};

use chrono::NaiveDate;
use civic_domain::{policy::parse_date, Fen, RegionCode};
use civic_runtime::{audit, identity::Caller, storage::Database, ApiError};
use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{
    roll::{members_from_json, members_to_json, Category, RollRecord, Status},
    rules::household::{Household, Residence},
};

const COLUMNS: &str = "id, region_code, residence, category, status, member_count, members_json, monthly_benefit_fen, computed_on, version";

/// One change to the roll counted (migration `roll_state`), in the writer's transaction and
/// last before its commit, so that the slot's lock is held only for the commit.
const COUNT_CHANGE: &str = "UPDATE roll_state SET changes = changes + 1 WHERE slot = $1";

/// The slot a writer counts its change in: spread by the clock's nanoseconds.
fn change_slot() -> i32 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    (nanos % 16) as i32
}

async fn count_change(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    sqlx::query(COUNT_CHANGE).bind(change_slot()).execute(conn).await.map(drop)
}

async fn count_change_pg(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(COUNT_CHANGE).bind(change_slot()).execute(conn).await.map(drop)
}

/// How many times the roll has changed, as committed: a replica that loaded a roll at one count
/// loads it again when the count has moved, whichever replica wrote.
pub async fn changes(db: &Database) -> Result<i64, ApiError> {
    let row =
        sqlx::query("SELECT CAST(COALESCE(SUM(changes), 0) AS BIGINT) FROM roll_state").fetch_one(&db.pool).await?;
    Ok(row.try_get(0)?)
}

fn corrupt(what: String) -> ApiError {
    ApiError::Internal(format!("stored household is unreadable: {what}"))
}

pub fn from_row(r: &AnyRow) -> Result<RollRecord, ApiError> {
    stored(r)
}

/// The same from PostgreSQL's native row, its text read in place.
pub fn from_pg_row(r: &sqlx::postgres::PgRow) -> Result<RollRecord, ApiError> {
    stored(r)
}

/// A stored household from a row of either pool.
fn stored<'r, R>(r: &'r R) -> Result<RollRecord, ApiError>
where
    R: Row,
    &'static str: sqlx::ColumnIndex<R>,
    &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: &str = r.try_get("id")?;
    let members = members_from_json(r.try_get("members_json")?).map_err(|e| corrupt(format!("{id}: {e}")))?;
    record(
        Columns {
            id,
            region: r.try_get("region_code")?,
            residence: r.try_get("residence")?,
            category: r.try_get("category")?,
            status: r.try_get("status")?,
            monthly_benefit_fen: r.try_get("monthly_benefit_fen")?,
            computed_on: r.try_get("computed_on")?,
            version: r.try_get("version")?,
        },
        members,
    )
}

/// A stored household's columns, as read (its members apart).
pub(crate) struct Columns<'r> {
    pub id: &'r str,
    pub region: &'r str,
    pub residence: &'r str,
    pub category: &'r str,
    pub status: &'r str,
    pub monthly_benefit_fen: i64,
    pub computed_on: &'r str,
    pub version: i64,
}

pub(crate) fn record(c: Columns, members: Vec<crate::rules::household::Member>) -> Result<RollRecord, ApiError> {
    let id = c.id;
    let region = RegionCode::parse(c.region).map_err(|e| corrupt(e.to_string()))?;
    let residence = if c.residence == "urban" { Residence::Urban } else { Residence::Rural };
    let household =
        Household::new(id.to_string(), region, residence, members, "household").map_err(|_| corrupt(id.to_string()))?;
    Ok(RollRecord {
        household,
        category: Category::parse(c.category).ok_or_else(|| corrupt(format!("{id}: category {}", c.category)))?,
        status: Status::parse(c.status).ok_or_else(|| corrupt(format!("{id}: status {}", c.status)))?,
        monthly_benefit: Fen::new(c.monthly_benefit_fen),
        computed_on: parse_date(c.computed_on).map_err(|e| corrupt(e.to_string()))?,
        version: c.version,
    })
}

pub fn to_json(r: &RollRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.household.id,
        "region_code": r.household.region.as_str(),
        "residence": r.household.residence.as_str(),
        "category": r.category.as_str(),
        "status": r.status.as_str(),
        // Named fields for the audit trail's readers (the table keeps the compact form).
        "members": r.household.members().iter().map(|m| {
            let mut v = serde_json::json!({"age": m.age, "able": m.able_bodied, "proof": m.has_income_proof});
            if !m.id.is_empty() {
                v["id"] = m.id.clone().into();
            }
            if !m.incomes.is_empty() {
                v["incomes"] = m.incomes.iter().map(|i| serde_json::json!([i.kind, i.monthly.get()])).collect();
            }
            v
        }).collect::<Vec<_>>(),
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
        .bind(crate::store::now())
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
    count_change(&mut tx).await?;
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

/// On SQLite, households come as one JSON array per query, not a row each (each row would cross
/// from the database's thread to the service's task with its own wake-up): the columns selected
/// for each household, and their reading.
pub(crate) const PACKED: &str = "json_group_array(json_array(id, region_code, residence, category, status, \
     json(members_json), monthly_benefit_fen, computed_on, version))";

/// The households of a [`PACKED`] array, in id order whatever order the aggregate kept (SQLite
/// compares text byte by byte, as `str` does).
pub(crate) fn unpack(page: &str, what: &str) -> Result<Vec<RollRecord>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Packed(String, String, String, String, String, Vec<crate::roll::StoredMember>, i64, String, i64);
    let packed: Vec<Packed> = serde_json::from_str(page)
        .map_err(|e| ApiError::Internal(format!("stored households {what} are unreadable: {e}")))?;
    let mut records = packed
        .into_iter()
        .map(|Packed(id, region, residence, category, status, members, fen, computed_on, version)| {
            let columns = Columns {
                id: &id,
                region: &region,
                residence: &residence,
                category: &category,
                status: &status,
                monthly_benefit_fen: fen,
                computed_on: &computed_on,
                version,
            };
            record(columns, crate::roll::members_from_stored(members))
        })
        .collect::<Result<Vec<_>, _>>()?;
    records.sort_by(|a, b| a.household.id.cmp(&b.household.id));
    Ok(records)
}

/// Every household of a region (by prefix), in id order: for analyses over the whole roll.
/// A consistent read of a region's roll, for an export streamed as it is read: one read
/// transaction (a snapshot on both backends; REPEATABLE READ on PostgreSQL), households read a
/// page at a time in id order, never all at once.
pub struct RollSnapshot {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    prefix: String,
    backend: civic_runtime::storage::Backend,
    /// The last id read; None before the first page.
    after: Option<String>,
    done: bool,
}

/// Households read at a time from a snapshot: on SQLite one JSON array, on PostgreSQL one FETCH
/// from its cursor (fewer round trips; a page of 10,000 is a few MB).
const PAGE: i64 = 2_000;
const CURSOR_PAGE: i64 = 10_000;

impl RollSnapshot {
    pub async fn begin(db: &Database, prefix: &str) -> Result<RollSnapshot, ApiError> {
        // A deferred transaction: on SQLite it reads a snapshot without taking the write lock.
        let mut tx = db.pool.begin().await?;
        if db.backend == civic_runtime::storage::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
            // One query read a page at a time through a cursor (a query per page would be planned
            // without statistics right after a large import, and could scan the table each time).
            // The prefix is a region code's digits, checked here, so it can stand in the text.
            if !prefix.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::Internal(format!("region prefix '{prefix}' is not digits")));
            }
            sqlx::query(&format!(
                "DECLARE roll_export NO SCROLL CURSOR FOR SELECT {COLUMNS} FROM households \
                 WHERE region_code LIKE '{prefix}%' ORDER BY id"
            ))
            .execute(&mut *tx)
            .await?;
        }
        Ok(RollSnapshot { tx, prefix: format!("{prefix}%"), backend: db.backend, after: None, done: false })
    }

    /// Households in the snapshot.
    pub async fn count(&mut self) -> Result<i64, ApiError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM households WHERE region_code LIKE $1")
            .bind(&self.prefix)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    /// Member rows in the snapshot (a spreadsheet has one per member).
    pub async fn member_rows(&mut self) -> Result<i64, ApiError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(member_count), 0) AS BIGINT) FROM households WHERE region_code LIKE $1",
        )
        .bind(&self.prefix)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// The next households in id order (at most a page); none once all were read.
    pub async fn next_page(&mut self) -> Result<Vec<RollRecord>, ApiError> {
        if self.done {
            return Ok(Vec::new());
        }
        let page = if self.backend == civic_runtime::storage::Backend::Sqlite {
            // After the last id read (the transaction keeps SQLite's snapshot).
            let after = if self.after.is_some() { " AND id > $2" } else { "" };
            let sql = format!(
                "SELECT {PACKED} FROM (SELECT * FROM households WHERE region_code LIKE $1{after} ORDER BY id LIMIT {PAGE})"
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql).bind(&self.prefix);
            if let Some(a) = &self.after {
                q = q.bind(a);
            }
            unpack(&q.fetch_one(&mut *self.tx).await?, "of an export")?
        } else {
            let rows = sqlx::query(&format!("FETCH {CURSOR_PAGE} FROM roll_export")).fetch_all(&mut *self.tx).await?;
            rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?
        };
        let full = if self.backend == civic_runtime::storage::Backend::Sqlite { PAGE } else { CURSOR_PAGE };
        self.done = (page.len() as i64) < full;
        if let Some(last) = page.last() {
            self.after = Some(last.household.id.clone());
        }
        Ok(page)
    }
}

pub fn parse_computed_on(s: &str) -> Option<NaiveDate> {
    parse_date(s).ok()
}

/// A stored member as the kernel needs it: the id skipped, income kinds borrowed from the row's
/// text (a million households are read at a service's first what-if). Either stored form, as
/// [`crate::roll::StoredMember`]: the fields in the same order.
#[derive(serde::Deserialize)]
struct Loaded<'a> {
    #[serde(default, rename = "id")]
    _id: serde::de::IgnoredAny,
    age: u32,
    #[serde(default)]
    able: bool,
    #[serde(default)]
    proof: bool,
    #[serde(default, borrow)]
    incomes: Vec<(std::borrow::Cow<'a, str>, i64)>,
}

/// The roll of a region streamed straight into its compact form for population runs: no
/// intermediate records, so memory stays near the compact size.
pub async fn load_population(
    db: &Database,
    prefix: &str,
    kinds: &[String],
) -> Result<crate::population::Population, ApiError> {
    use crate::population::MemberInput;
    use std::borrow::Cow;
    use tokio_stream::StreamExt;
    let mut pop = crate::population::Population::new(kinds);
    let mut add = |id: &str, cells: [&str; 4], members: Vec<Loaded>| -> Result<(), ApiError> {
        let [region, residence, category, status] = cells;
        let region = RegionCode::parse(region).map_err(|e| corrupt(e.to_string()))?;
        let residence = if residence == "urban" { Residence::Urban } else { Residence::Rural };
        let category = Category::parse(category).ok_or_else(|| corrupt(format!("{id}: category {category}")))?;
        let status = Status::parse(status).ok_or_else(|| corrupt(format!("{id}: status {status}")))?;
        pop.push(
            id,
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
        Ok(())
    };
    let like = format!("{prefix}%");
    if let Some(pg) = &db.bulk {
        // On PostgreSQL through the native pool: rows decoded in place, not converted first.
        let mut rows = sqlx::query(
            "SELECT id, region_code, residence, category, status, members_json FROM households WHERE region_code LIKE $1",
        )
        .bind(&like)
        .fetch(pg);
        while let Some(r) = rows.next().await {
            let r = r?;
            let (id, json): (&str, &str) = (r.try_get(0)?, r.try_get(5)?);
            let members = serde_json::from_str(json).map_err(|e| corrupt(format!("{id}: {e}")))?;
            add(id, [r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?], members)?;
        }
    } else {
        // On SQLite every row crosses from the database's thread to this task on its own, a
        // wake-up each: a million of them cost more than reading the rows. SQLite packs 2,000
        // households into one JSON array per round instead, in id order.
        #[derive(serde::Deserialize)]
        struct Packed<'a>(
            #[serde(borrow)] Cow<'a, str>,
            #[serde(borrow)] Cow<'a, str>,
            #[serde(borrow)] Cow<'a, str>,
            #[serde(borrow)] Cow<'a, str>,
            #[serde(borrow)] Cow<'a, str>,
            #[serde(borrow)] Vec<Loaded<'a>>,
        );
        let mut after = String::new();
        loop {
            let (page, last): (String, Option<String>) = sqlx::query_as(
                "SELECT json_group_array(json_array(id, region_code, residence, category, status, json(members_json))), \
                 MAX(id) FROM (SELECT id, region_code, residence, category, status, members_json FROM households \
                 WHERE region_code LIKE $1 AND id > $2 ORDER BY id LIMIT 2000)",
            )
            .bind(&like)
            .bind(&after)
            .fetch_one(&db.pool)
            .await?;
            let Some(last) = last else { break };
            let households: Vec<Packed> =
                serde_json::from_str(&page).map_err(|e| corrupt(format!("households after {after}: {e}")))?;
            for Packed(id, region, residence, category, status, members) in households {
                add(&id, [&region, &residence, &category, &status], members)?;
            }
            after = last;
        }
    }
    Ok(pop)
}

#[cfg(test)]
mod tests {
    use super::Loaded;

    type Read = Vec<(u32, bool, bool, Vec<(String, i64)>)>;

    #[test]
    fn the_what_if_reads_both_stored_forms_alike() {
        let compact = r#"[["m0",37,false,true,[["wage",165800],["a\"b",1]]],["",23,true,false]]"#;
        let objects = r#"[{"id":"m0","age":37,"able":false,"proof":true,"incomes":[["wage",165800],["a\"b",1]]},{"age":23,"able":true}]"#;
        let read = |s: &str| -> Read {
            let v: Vec<Loaded> = serde_json::from_str(s).unwrap();
            v.into_iter()
                .map(|m| (m.age, m.able, m.proof, m.incomes.into_iter().map(|(k, f)| (k.into_owned(), f)).collect()))
                .collect()
        };
        assert_eq!(read(compact), read(objects));
        assert_eq!(read(compact)[0].3[1], ("a\"b".to_string(), 1));
    }
}
