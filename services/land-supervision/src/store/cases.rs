//! Case storage: a case row with its current state and version, and its events; each change is
//! written with its audit entry in one transaction.

use super::{closed, now, StoreError};
use crate::rules::cases::CaseState;
use civic_runtime::{audit, identity::Caller, storage::Database};

use sqlx::{any::AnyRow, Row};

#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: String,
    pub kind: String,
    pub region_code: String,
    pub subject_id: String,
    pub state: CaseState,
    pub deadline: String,
    pub facts_json: String,
    pub result_json: String,
    pub version: i64,
    /// The town or cluster the case belongs to; empty for the whole region.
    pub unit: String,
}

#[derive(Debug, Clone)]
pub struct EventRow {
    pub state: CaseState,
    pub on_date: String,
    pub at: String,
    pub actor: String,
    pub note: String,
    pub deadline: String,
}

const CASE_COLUMNS: &str = "id, kind, region_code, subject_id, state, deadline, facts_json, result_json, version, unit";

fn case_from(r: &AnyRow) -> Result<CaseRow, StoreError> {
    Ok(CaseRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        region_code: r.try_get("region_code")?,
        subject_id: r.try_get("subject_id")?,
        state: closed("land_cases.state", r.try_get("state")?, CaseState::parse)?,
        deadline: r.try_get("deadline")?,
        facts_json: r.try_get("facts_json")?,
        result_json: r.try_get("result_json")?,
        version: r.try_get("version")?,
        unit: r.try_get("unit")?,
    })
}

fn json(c: &CaseRow) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "kind": c.kind, "region_code": c.region_code, "subject_id": c.subject_id,
        "state": c.state, "deadline": c.deadline, "result": c.result_json, "version": c.version, "unit": c.unit,
    })
}

/// Store a new case and its first event.
pub async fn create(
    db: &Database,
    who: &Caller,
    request_id: &str,
    c: &CaseRow,
    first: &EventRow,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let at = now();
    sqlx::query(&format!("INSERT INTO land_cases ({CASE_COLUMNS}, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"))
        .bind(&c.id)
        .bind(&c.kind)
        .bind(&c.region_code)
        .bind(&c.subject_id)
        .bind(c.state.as_str())
        .bind(&c.deadline)
        .bind(&c.facts_json)
        .bind(&c.result_json)
        .bind(c.version)
        .bind(&c.unit)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    insert_event(&mut tx, &c.id, 1, first, &at).await?;
    let change = audit::Change {
        action: "case.open".into(),
        entity: "land_case".into(),
        entity_id: c.id.clone(),
        region: c.region_code.clone(),
        before: None,
        after: Some(json(c)),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

async fn insert_event(
    conn: &mut sqlx::AnyConnection,
    case_id: &str,
    seq: i64,
    e: &EventRow,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO land_case_events (case_id, seq, state, on_date, at, actor, note, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(case_id)
        .bind(seq)
        .bind(e.state.as_str())
        .bind(&e.on_date)
        .bind(at)
        .bind(&e.actor)
        .bind(&e.note)
        .bind(&e.deadline)
        .execute(conn)
        .await?;
    Ok(())
}

/// Move a case from `before` to `after` if it is still at `before.version`.
pub async fn advance(
    db: &Database,
    who: &Caller,
    request_id: &str,
    before: &CaseRow,
    after: &CaseRow,
    event: &EventRow,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let at = now();
    let updated = sqlx::query(
        "UPDATE land_cases SET state = $2, deadline = $3, result_json = $4, version = $5, updated_at = $6 WHERE id = $1 AND version = $7",
    )
    .bind(&after.id)
    .bind(after.state.as_str())
    .bind(&after.deadline)
    .bind(&after.result_json)
    .bind(after.version)
    .bind(&at)
    .bind(before.version)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(StoreError::VersionConflict(format!("case {} changed meanwhile; read it again", before.id)));
    }
    let seq: i64 = sqlx::query("SELECT COUNT(*) AS n FROM land_case_events WHERE case_id = $1")
        .bind(&after.id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    insert_event(&mut tx, &after.id, seq + 1, event, &at).await?;
    let change = audit::Change {
        action: format!("case.{}", after.state.as_str().to_lowercase()),
        entity: "land_case".into(),
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

pub async fn get(db: &Database, id: &str) -> Result<Option<(CaseRow, Vec<EventRow>)>, StoreError> {
    let Some(r) = sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM land_cases WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    let c = case_from(&r)?;
    let events = events(db, id).await?;
    Ok(Some((c, events)))
}

async fn events(db: &Database, id: &str) -> Result<Vec<EventRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT state, on_date, at, actor, note, deadline FROM land_case_events WHERE case_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRow {
                state: closed("land_case_events.state", r.try_get("state")?, CaseState::parse)?,
                on_date: r.try_get("on_date")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
                deadline: r.try_get("deadline")?,
            })
        })
        .collect::<Result<_, StoreError>>()
}

pub async fn list(
    db: &Database,
    prefix: &str,
    (kind, unit): (Option<&str>, Option<&str>),
    after: &str,
    limit: i64,
) -> Result<Vec<(CaseRow, Vec<EventRow>)>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {CASE_COLUMNS} FROM land_cases WHERE region_code LIKE $1 AND ($2 = '' OR kind = $2) AND id > $3 \
         AND ($5 = '' OR unit = $5) ORDER BY id LIMIT $4"
    ))
    .bind(format!("{prefix}%"))
    .bind(kind.unwrap_or(""))
    .bind(after)
    .bind(limit)
    .bind(unit.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let c = case_from(r)?;
        let e = events(db, &c.id).await?;
        out.push((c, e));
    }
    Ok(out)
}
