//! The "散乱污" registry (漯发〔2020〕13号): enterprises by county with their disposition — ban
//! (取缔), rectify (规范), relocate or upgrade (提升/搬迁入园) — and status, the "dynamic zero"
//! per county, and the cases found by higher inspections counted apart.

use civic_runtime::{audit, identity::Caller, storage::Database};

use sqlx::{any::AnyRow, Row};

use super::{closed, StoreError};
use crate::rules::sanluanwu::{Disposition, EntryStatus, FoundBy, Sector};

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub region_code: String,
    pub name: String,
    pub sector: Sector,
    pub trade: String,
    pub disposition: Disposition,
    pub status: EntryStatus,
    pub found_by: FoundBy,
    pub found_on: String,
    pub done_on: String,
    pub version: i64,
}

const COLUMNS: &str = "id, region_code, name, sector, trade, disposition, status, found_by, found_on, done_on, version";

fn from_row(r: &AnyRow) -> Result<Entry, StoreError> {
    Ok(Entry {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        name: r.try_get("name")?,
        sector: closed("sanluanwu_entries.sector", r.try_get("sector")?, Sector::parse)?,
        trade: r.try_get("trade")?,
        disposition: closed("sanluanwu_entries.disposition", r.try_get("disposition")?, Disposition::parse)?,
        status: closed("sanluanwu_entries.status", r.try_get("status")?, EntryStatus::parse)?,
        found_by: closed("sanluanwu_entries.found_by", r.try_get("found_by")?, FoundBy::parse)?,
        found_on: r.try_get("found_on")?,
        done_on: r.try_get("done_on")?,
        version: r.try_get("version")?,
    })
}

fn json(e: &Entry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id, "region_code": e.region_code, "name": e.name, "sector": e.sector, "trade": e.trade,
        "disposition": e.disposition, "status": e.status, "found_by": e.found_by, "found_on": e.found_on,
        "done_on": e.done_on, "version": e.version,
    })
}

pub async fn insert(db: &Database, who: &Caller, request_id: &str, e: &Entry, reason: &str) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    sqlx::query(&format!("INSERT INTO sanluanwu_entries ({COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"))
        .bind(&e.id)
        .bind(&e.region_code)
        .bind(&e.name)
        .bind(e.sector.as_str())
        .bind(&e.trade)
        .bind(e.disposition.as_str())
        .bind(e.status.as_str())
        .bind(e.found_by.as_str())
        .bind(&e.found_on)
        .bind(&e.done_on)
        .bind(e.version)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
    let change = audit::Change {
        action: "sanluanwu.register".into(),
        entity: "sanluanwu".into(),
        entity_id: e.id.clone(),
        region: e.region_code.clone(),
        before: None,
        after: Some(json(e)),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn update(
    db: &Database,
    who: &Caller,
    request_id: &str,
    before: &Entry,
    after: &Entry,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let n = sqlx::query("UPDATE sanluanwu_entries SET disposition = $2, status = $3, done_on = $4, version = $5, updated_at = $6 WHERE id = $1 AND version = $7")
        .bind(&after.id)
        .bind(after.disposition.as_str())
        .bind(after.status.as_str())
        .bind(&after.done_on)
        .bind(after.version)
        .bind(crate::store::now())
        .bind(before.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n != 1 {
        return Err(StoreError::VersionConflict(format!("entry {} changed meanwhile; read it again", before.id)));
    }
    let change = audit::Change {
        action: "sanluanwu.update".into(),
        entity: "sanluanwu".into(),
        entity_id: after.id.clone(),
        region: after.region_code.clone(),
        before: Some(json(before)),
        after: Some(json(after)),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Database, id: &str) -> Result<Option<Entry>, StoreError> {
    let r = sqlx::query(&format!("SELECT {COLUMNS} FROM sanluanwu_entries WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    r.as_ref().map(from_row).transpose()
}

pub async fn list(
    db: &Database,
    prefix: &str,
    status: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Entry>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sanluanwu_entries WHERE region_code LIKE $1 AND ($2 = '' OR status = $2) AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(format!("{prefix}%"))
    .bind(status)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// (county, disposition, status, found_by, count) for every combination present.
pub async fn tally(db: &Database, prefix: &str) -> Result<Vec<(String, String, String, String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT region_code, disposition, status, found_by, COUNT(*) AS n FROM sanluanwu_entries WHERE region_code LIKE $1 \
         GROUP BY region_code, disposition, status, found_by ORDER BY region_code",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("region_code")?,
                r.try_get("disposition")?,
                r.try_get("status")?,
                r.try_get("found_by")?,
                r.try_get("n")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
