//! `budget_rectifications` and `budget_disclosures`: rectification orders with their items, and
//! publication records. Every change is versioned and audited with its before and after.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub id: String,
    pub region_code: String,
    pub programme_id: String,
    pub source: String,
    pub source_ref: String,
    pub items_json: String,
    pub status: String,
    pub issued_by: String,
    pub issued_on: String,
    pub reported_by: String,
    pub reported_at: String,
    pub verified_by: String,
    pub verified_at: String,
    pub verification_notes: String,
    pub version: i64,
}

const ORDER_COLUMNS: &str =
    "id, region_code, programme_id, source, source_ref, items_json, status, issued_by, issued_on, \
     reported_by, reported_at, verified_by, verified_at, verification_notes, version";

fn read_order(r: &AnyRow) -> Result<OrderRow, sqlx::Error> {
    Ok(OrderRow {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        programme_id: r.try_get("programme_id")?,
        source: r.try_get("source")?,
        source_ref: r.try_get("source_ref")?,
        items_json: r.try_get("items_json")?,
        status: r.try_get("status")?,
        issued_by: r.try_get("issued_by")?,
        issued_on: r.try_get("issued_on")?,
        reported_by: r.try_get("reported_by")?,
        reported_at: r.try_get("reported_at")?,
        verified_by: r.try_get("verified_by")?,
        verified_at: r.try_get("verified_at")?,
        verification_notes: r.try_get("verification_notes")?,
        version: r.try_get("version")?,
    })
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    let mut v = serde_json::to_value(v).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        if let Some(text) = o.get("items_json").and_then(|t| t.as_str()).map(str::to_string) {
            o.insert("items_json".into(), serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
        }
    }
    v
}

pub async fn get_order(db: &Database, id: &str) -> StoreResult<Option<OrderRow>> {
    let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM budget_rectifications WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(read_order).transpose()?)
}

/// Up to `limit` orders of regions starting with `region_prefix` in order of issue, after the
/// order `after` (issued on, id) when given.
pub async fn list_orders(
    db: &Database,
    region_prefix: &str,
    after: Option<(&str, &str)>,
    limit: usize,
) -> StoreResult<Vec<OrderRow>> {
    let (on, id) = after.unwrap_or(("", ""));
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM budget_rectifications WHERE region_code LIKE $1 \
         AND (issued_on > $2 OR (issued_on = $2 AND id > $3)) ORDER BY issued_on, id LIMIT {}",
        limit.clamp(1, 1001)
    ))
    .bind(format!("{region_prefix}%"))
    .bind(on)
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read_order).collect::<Result<_, _>>()?)
}

pub async fn insert_order(db: &Database, who: &Caller, request_id: &str, o: &OrderRow) -> StoreResult<OrderRow> {
    let mut row = o.clone();
    row.status = "ISSUED".into();
    row.issued_by = who.subject.clone();
    row.version = 1;
    let mut tx = db.begin().await?;
    sqlx::query(&format!(
        "INSERT INTO budget_rectifications ({ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&row.id)
    .bind(&row.region_code)
    .bind(&row.programme_id)
    .bind(&row.source)
    .bind(&row.source_ref)
    .bind(&row.items_json)
    .bind(&row.status)
    .bind(&row.issued_by)
    .bind(&row.issued_on)
    .bind(&row.reported_by)
    .bind(&row.reported_at)
    .bind(&row.verified_by)
    .bind(&row.verified_at)
    .bind(&row.verification_notes)
    .bind(row.version)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "rectification.issue".into(),
            entity: "rectification".into(),
            entity_id: row.id.clone(),
            region: row.region_code.clone(),
            before: None,
            after: Some(json(&row)),
            reason: row.source_ref.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Replace an order at version `expected` by `after` (a report or a verification), if its
/// status is one of `from`.
pub async fn update_order(
    db: &Database,
    who: &Caller,
    request_id: &str,
    after: &OrderRow,
    expected: i64,
    from: &[&str],
    action: &str,
) -> StoreResult<OrderRow> {
    let mut tx = db.begin().await?;
    let before = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM budget_rectifications WHERE id = $1"))
        .bind(&after.id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(read_order)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("rectification order {}", after.id)))?;
    if before.version != expected {
        return Err(StoreError::VersionConflict(format!(
            "rectification order {} is at version {}, not {expected}",
            before.id, before.version
        )));
    }
    if !from.contains(&before.status.as_str()) {
        return Err(StoreError::State(
            "STEP_OUT_OF_ORDER",
            format!("rectification order {} is {}: {action} needs {}", before.id, before.status, from.join(" or ")),
        ));
    }
    let mut row = after.clone();
    row.version = expected + 1;
    let done = sqlx::query(
        "UPDATE budget_rectifications SET items_json = $1, status = $2, reported_by = $3, reported_at = $4, verified_by = $5, \
         verified_at = $6, verification_notes = $7, version = $8 WHERE id = $9 AND version = $10",
    )
    .bind(&row.items_json)
    .bind(&row.status)
    .bind(&row.reported_by)
    .bind(&row.reported_at)
    .bind(&row.verified_by)
    .bind(&row.verified_at)
    .bind(&row.verification_notes)
    .bind(row.version)
    .bind(&row.id)
    .bind(expected)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::VersionConflict(format!("rectification order {} changed meanwhile", row.id)));
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: format!("rectification.{action}"),
            entity: "rectification".into(),
            entity_id: row.id.clone(),
            region: row.region_code.clone(),
            before: Some(json(&before)),
            after: Some(json(&row)),
            reason: row.verification_notes.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosureRow {
    pub id: String,
    pub region_code: String,
    pub programme_id: String,
    pub item: String,
    pub title: String,
    pub start_on: String,
    pub due_on: String,
    pub published_on: String,
    pub url: String,
    pub version: i64,
}

const DISCLOSURE_COLUMNS: &str =
    "id, region_code, programme_id, item, title, start_on, due_on, published_on, url, version";

fn read_disclosure(r: &AnyRow) -> Result<DisclosureRow, sqlx::Error> {
    Ok(DisclosureRow {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        programme_id: r.try_get("programme_id")?,
        item: r.try_get("item")?,
        title: r.try_get("title")?,
        start_on: r.try_get("start_on")?,
        due_on: r.try_get("due_on")?,
        published_on: r.try_get("published_on")?,
        url: r.try_get("url")?,
        version: r.try_get("version")?,
    })
}

pub async fn get_disclosure(db: &Database, id: &str) -> StoreResult<Option<DisclosureRow>> {
    let row = sqlx::query(&format!("SELECT {DISCLOSURE_COLUMNS} FROM budget_disclosures WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(read_disclosure).transpose()?)
}

/// Up to `limit` disclosure records of regions starting with `region_prefix` in order of due
/// date, after the record `after` (due on, id) when given.
pub async fn list_disclosures(
    db: &Database,
    region_prefix: &str,
    after: Option<(&str, &str)>,
    limit: usize,
) -> StoreResult<Vec<DisclosureRow>> {
    let (on, id) = after.unwrap_or(("", ""));
    let rows = sqlx::query(&format!(
        "SELECT {DISCLOSURE_COLUMNS} FROM budget_disclosures WHERE region_code LIKE $1 \
         AND (due_on > $2 OR (due_on = $2 AND id > $3)) ORDER BY due_on, id LIMIT {}",
        limit.clamp(1, 1001)
    ))
    .bind(format!("{region_prefix}%"))
    .bind(on)
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read_disclosure).collect::<Result<_, _>>()?)
}

/// Insert (expected 0) or update (expected = its version) a disclosure record.
pub async fn save_disclosure(
    db: &Database,
    who: &Caller,
    request_id: &str,
    d: &DisclosureRow,
    expected: i64,
) -> StoreResult<DisclosureRow> {
    let mut tx = db.begin().await?;
    let mut row = d.clone();
    row.version = expected + 1;
    let before = if expected == 0 {
        sqlx::query(&format!(
            "INSERT INTO budget_disclosures ({DISCLOSURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&row.id)
        .bind(&row.region_code)
        .bind(&row.programme_id)
        .bind(&row.item)
        .bind(&row.title)
        .bind(&row.start_on)
        .bind(&row.due_on)
        .bind(&row.published_on)
        .bind(&row.url)
        .bind(row.version)
        .execute(&mut *tx)
        .await?;
        None
    } else {
        let before = sqlx::query(&format!("SELECT {DISCLOSURE_COLUMNS} FROM budget_disclosures WHERE id = $1"))
            .bind(&row.id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(read_disclosure)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("disclosure {}", row.id)))?;
        let done = sqlx::query("UPDATE budget_disclosures SET published_on = $1, url = $2, title = $3, version = $4 WHERE id = $5 AND version = $6")
            .bind(&row.published_on)
            .bind(&row.url)
            .bind(&row.title)
            .bind(row.version)
            .bind(&row.id)
            .bind(expected)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::VersionConflict(format!(
                "disclosure {} is at version {}, not {expected}",
                row.id, before.version
            )));
        }
        Some(before)
    };
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: if before.is_none() { "disclosure.record".into() } else { "disclosure.publish".into() },
            entity: "disclosure".into(),
            entity_id: row.id.clone(),
            region: row.region_code.clone(),
            before: before.as_ref().map(json),
            after: Some(json(&row)),
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}
