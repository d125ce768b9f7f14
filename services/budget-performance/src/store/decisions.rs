//! `budget_decisions`: finance's decisions on next year's budget, one per evaluation and year.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Decision {
    pub id: String,
    pub evaluation_id: String,
    pub programme_id: String,
    pub region_code: String,
    pub next_year: i64,
    pub grade: String,
    pub measures: Vec<String>,
    pub amount_fen: i64,
    pub proposed_measures: Vec<String>,
    pub proposed_amount_fen: Option<i64>,
    pub document: String,
    pub reason: String,
    pub decided_by: String,
    pub decided_on: String,
}

pub async fn insert(db: &Database, who: &Caller, request_id: &str, d: &Decision) -> StoreResult<Decision> {
    let mut d = d.clone();
    d.decided_by = who.subject.clone();
    let body = serde_json::to_string(&d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "INSERT INTO budget_decisions (id, evaluation_id, programme_id, region_code, next_year, body_json, decided_by, decided_on, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&d.id)
    .bind(&d.evaluation_id)
    .bind(&d.programme_id)
    .bind(&d.region_code)
    .bind(d.next_year)
    .bind(&body)
    .bind(&d.decided_by)
    .bind(&d.decided_on)
    .bind(now())
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!(
                "a decision on evaluation {} for {}",
                d.evaluation_id, d.next_year
            )))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "budget.decide".into(),
            entity: "budget_decision".into(),
            entity_id: d.id.clone(),
            region: d.region_code.clone(),
            before: None,
            after: Some(serde_json::to_value(&d).unwrap_or_default()),
            reason: d.reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(d)
}

/// A programme's decisions by the year they are for, then as recorded: at most `limit` after the
/// one with (`next_year`, `recorded_at`, `id`) = `after`; each with when it was recorded.
pub async fn for_programme(
    db: &Database,
    programme_id: &str,
    after: Option<(i64, &str, &str)>,
    limit: usize,
) -> StoreResult<Vec<(String, Decision)>> {
    let (year, at, id) = after.unwrap_or((i64::MIN, "", ""));
    let rows = sqlx::query(&format!(
        "SELECT recorded_at, body_json FROM budget_decisions WHERE programme_id = $1 \
         AND (next_year > $2 OR (next_year = $2 AND (recorded_at > $3 OR (recorded_at = $3 AND id > $4)))) \
         ORDER BY next_year, recorded_at, id LIMIT {}",
        limit.clamp(1, 1001)
    ))
    .bind(programme_id)
    .bind(year)
    .bind(at)
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let at: String = r.try_get("recorded_at")?;
            let body: String = r.try_get("body_json")?;
            let d = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("budget decision: {e}")))?;
            Ok((at, d))
        })
        .collect()
}
