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

pub async fn for_programme(db: &Database, programme_id: &str) -> StoreResult<Vec<Decision>> {
    let rows =
        sqlx::query("SELECT body_json FROM budget_decisions WHERE programme_id = $1 ORDER BY next_year, recorded_at")
            .bind(programme_id)
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body_json")?;
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("budget decision: {e}")))
        })
        .collect()
}
