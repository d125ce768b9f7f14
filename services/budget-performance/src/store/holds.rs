//! `budget_payment_holds`: payment holds (暂缓/停止拨款) placed and lifted by finance, each with
//! its reason. The database keeps at most one open hold per programme.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldRow {
    pub id: String,
    pub programme_id: String,
    pub region_code: String,
    pub kind: String,
    pub reason: String,
    /// Comma-separated warning ids.
    pub warning_ids: String,
    pub placed_by: String,
    pub placed_on: String,
    pub placed_at: String,
    pub lifted_by: String,
    pub lifted_on: String,
    pub lift_reason: String,
    pub is_open: bool,
}

const COLUMNS: &str = "id, programme_id, region_code, kind, reason, warning_ids, placed_by, placed_on, placed_at, \
     lifted_by, lifted_on, lift_reason, is_open";

fn read(r: &AnyRow) -> Result<HoldRow, sqlx::Error> {
    Ok(HoldRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        region_code: r.try_get("region_code")?,
        kind: r.try_get("kind")?,
        reason: r.try_get("reason")?,
        warning_ids: r.try_get("warning_ids")?,
        placed_by: r.try_get("placed_by")?,
        placed_on: r.try_get("placed_on")?,
        placed_at: r.try_get("placed_at")?,
        lifted_by: r.try_get("lifted_by")?,
        lifted_on: r.try_get("lifted_on")?,
        lift_reason: r.try_get("lift_reason")?,
        is_open: r.try_get::<i64, _>("is_open")? == 1,
    })
}

fn json(h: &HoldRow) -> serde_json::Value {
    serde_json::to_value(h).unwrap_or_default()
}

pub async fn get(db: &Database, id: &str) -> StoreResult<Option<HoldRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_payment_holds WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

/// The open holds of a programme.
pub async fn open_for(db: &Database, programme_id: &str) -> StoreResult<Vec<HoldRow>> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM budget_payment_holds WHERE programme_id = $1 AND is_open = 1"))
            .bind(programme_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

pub async fn place(db: &Database, who: &Caller, request_id: &str, hold: &HoldRow) -> StoreResult<HoldRow> {
    let mut h = hold.clone();
    h.placed_by = who.subject.clone();
    h.placed_at = now();
    h.is_open = true;
    let mut tx = db.begin().await?;
    let done = sqlx::query(&format!(
        "INSERT INTO budget_payment_holds ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&h.id)
    .bind(&h.programme_id)
    .bind(&h.region_code)
    .bind(&h.kind)
    .bind(&h.reason)
    .bind(&h.warning_ids)
    .bind(&h.placed_by)
    .bind(&h.placed_on)
    .bind(&h.placed_at)
    .bind(&h.lifted_by)
    .bind(&h.lifted_on)
    .bind(&h.lift_reason)
    .bind(1_i64)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!(
                "an open payment hold on programme {} (lift it before placing another)",
                h.programme_id
            )))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "hold.place".into(),
            entity: "payment_hold".into(),
            entity_id: h.id.clone(),
            region: h.region_code.clone(),
            before: None,
            after: Some(json(&h)),
            reason: h.reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(h)
}

pub async fn lift(
    db: &Database,
    who: &Caller,
    request_id: &str,
    id: &str,
    lifted_on: &str,
    reason: &str,
) -> StoreResult<HoldRow> {
    let mut tx = db.begin().await?;
    let before = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_payment_holds WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(read)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("payment hold {id}")))?;
    if !before.is_open {
        return Err(StoreError::State("HOLD_LIFTED", format!("payment hold {id} was lifted on {}", before.lifted_on)));
    }
    if lifted_on < before.placed_on.as_str() {
        return Err(StoreError::State(
            "LIFTED_BEFORE_PLACED",
            format!("payment hold {id} was placed on {}; it cannot be lifted on {lifted_on}", before.placed_on),
        ));
    }
    let mut after = before.clone();
    after.is_open = false;
    after.lifted_by = who.subject.clone();
    after.lifted_on = lifted_on.into();
    after.lift_reason = reason.into();
    let done = sqlx::query(
        "UPDATE budget_payment_holds SET is_open = 0, lifted_by = $1, lifted_on = $2, lift_reason = $3 WHERE id = $4 AND is_open = 1",
    )
    .bind(&after.lifted_by)
    .bind(&after.lifted_on)
    .bind(&after.lift_reason)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::State("HOLD_LIFTED", format!("payment hold {id} was lifted meanwhile")));
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "hold.lift".into(),
            entity: "payment_hold".into(),
            entity_id: id.into(),
            region: before.region_code.clone(),
            before: Some(json(&before)),
            after: Some(json(&after)),
            reason: reason.into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
