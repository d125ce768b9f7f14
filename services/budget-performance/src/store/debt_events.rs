//! `budget_debt_events`: government-debt risk events with their level history. The database
//! keeps at most one open event per government; every write is audited with its before-state.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::{Deserialize, Serialize};
use sqlx::{any::AnyRow, Row};

use super::{is_unique_violation, now, StoreError, StoreResult};

/// One level the event had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    pub level: u8,
    pub on: String,
    pub basis: String,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub id: String,
    pub region_code: String,
    pub level: u8,
    pub started_on: String,
    pub history: Vec<LevelChange>,
    pub ended_on: String,
    pub approved_by: String,
    pub termination_basis: String,
    pub is_open: bool,
    pub version: i64,
    pub opened_by: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, region_code, level, started_on, history_json, ended_on, approved_by, termination_basis, \
     is_open, version, opened_by, updated_at";

fn read(r: &AnyRow) -> StoreResult<EventRow> {
    let history: String = r.try_get("history_json")?;
    let level: i64 = r.try_get("level")?;
    Ok(EventRow {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        level: u8::try_from(level).map_err(|_| StoreError::Corrupt(format!("debt event level {level}")))?,
        started_on: r.try_get("started_on")?,
        history: serde_json::from_str(&history).map_err(|e| StoreError::Corrupt(format!("debt event history: {e}")))?,
        ended_on: r.try_get("ended_on")?,
        approved_by: r.try_get("approved_by")?,
        termination_basis: r.try_get("termination_basis")?,
        is_open: r.try_get::<i64, _>("is_open")? == 1,
        version: r.try_get("version")?,
        opened_by: r.try_get("opened_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn json(e: &EventRow) -> serde_json::Value {
    serde_json::to_value(e).unwrap_or_default()
}

pub async fn get(db: &Database, id: &str) -> StoreResult<Option<EventRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_debt_events WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(read).transpose()
}

/// The events of `regions` (a government and those above it) that were open on `on`: started
/// on or before it and not ended before it.
pub async fn open_on(db: &Database, regions: &[String], on: &str) -> StoreResult<Vec<EventRow>> {
    let mut out = Vec::new();
    for region in regions {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM budget_debt_events WHERE region_code = $1 AND started_on <= $2 \
             AND (is_open = 1 OR ended_on > $2) ORDER BY started_on"
        ))
        .bind(region)
        .bind(on)
        .fetch_all(&db.pool)
        .await?;
        for r in &rows {
            out.push(read(r)?);
        }
    }
    Ok(out)
}

pub async fn open(db: &Database, who: &Caller, request_id: &str, event: &EventRow) -> StoreResult<EventRow> {
    let mut e = event.clone();
    e.opened_by = who.subject.clone();
    e.updated_at = now();
    e.is_open = true;
    e.version = 1;
    let history = serde_json::to_string(&e.history).map_err(|x| StoreError::Corrupt(x.to_string()))?;
    let mut tx = db.begin().await?;
    let done = sqlx::query(&format!(
        "INSERT INTO budget_debt_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&e.id)
    .bind(&e.region_code)
    .bind(i64::from(e.level))
    .bind(&e.started_on)
    .bind(&history)
    .bind(&e.ended_on)
    .bind(&e.approved_by)
    .bind(&e.termination_basis)
    .bind(1_i64)
    .bind(e.version)
    .bind(&e.opened_by)
    .bind(&e.updated_at)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(x) if is_unique_violation(&x) => {
            return Err(StoreError::State(
                "DEBT_EVENT_OPEN",
                format!("{} already has an open debt-risk event: raise its level or terminate it", e.region_code),
            ))
        }
        Err(x) => return Err(x.into()),
    }
    let change = Change {
        action: "debt_event.open".into(),
        entity: "debt_event".into(),
        entity_id: e.id.clone(),
        region: e.region_code.clone(),
        before: None,
        after: Some(json(&e)),
        reason: e.history.first().map(|h| h.basis.clone()).unwrap_or_default(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(e)
}

/// Replace an event with `after` (a higher level, or terminated) if it is still at
/// `expected_version`.
pub async fn update(
    db: &Database,
    who: &Caller,
    request_id: &str,
    expected_version: i64,
    after: &EventRow,
    action: &str,
    reason: &str,
) -> StoreResult<EventRow> {
    let mut tx = db.begin().await?;
    let before = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_debt_events WHERE id = $1"))
        .bind(&after.id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(read)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("debt event {}", after.id)))?;
    if before.version != expected_version {
        return Err(StoreError::VersionConflict(format!(
            "debt event {} is at version {}, not {expected_version}",
            after.id, before.version
        )));
    }
    let mut e = after.clone();
    e.version = before.version + 1;
    e.updated_at = now();
    let history = serde_json::to_string(&e.history).map_err(|x| StoreError::Corrupt(x.to_string()))?;
    let done = sqlx::query(
        "UPDATE budget_debt_events SET level = $1, history_json = $2, ended_on = $3, approved_by = $4, \
         termination_basis = $5, is_open = $6, version = $7, updated_at = $8 WHERE id = $9 AND version = $10",
    )
    .bind(i64::from(e.level))
    .bind(&history)
    .bind(&e.ended_on)
    .bind(&e.approved_by)
    .bind(&e.termination_basis)
    .bind(i64::from(e.is_open))
    .bind(e.version)
    .bind(&e.updated_at)
    .bind(&e.id)
    .bind(expected_version)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::VersionConflict(format!("debt event {} changed meanwhile", e.id)));
    }
    let change = Change {
        action: action.into(),
        entity: "debt_event".into(),
        entity_id: e.id.clone(),
        region: e.region_code.clone(),
        before: Some(json(&before)),
        after: Some(json(&e)),
        reason: reason.into(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(e)
}
