//! `budget_ex_ante`: ex-ante assessments as recorded (the scored result kept as it was shown).

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{now, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExAnteRow {
    pub id: String,
    pub programme_id: String,
    pub region_code: String,
    pub conclusion: String,
    pub total: String,
    /// Base64 protobuf of the scored result.
    #[serde(skip)]
    pub result: String,
    pub assessor: String,
    pub report_ref: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

const COLUMNS: &str =
    "id, programme_id, region_code, conclusion, total, result, assessor, report_ref, recorded_by, recorded_at";

fn read(r: &AnyRow) -> Result<ExAnteRow, sqlx::Error> {
    Ok(ExAnteRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        region_code: r.try_get("region_code")?,
        conclusion: r.try_get("conclusion")?,
        total: r.try_get("total")?,
        result: r.try_get("result")?,
        assessor: r.try_get("assessor")?,
        report_ref: r.try_get("report_ref")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

/// The latest assessment of a programme.
pub async fn latest(db: &Database, programme_id: &str) -> StoreResult<Option<ExAnteRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM budget_ex_ante WHERE programme_id = $1 ORDER BY recorded_at DESC, id DESC LIMIT 1"
    ))
    .bind(programme_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

pub async fn insert(db: &Database, who: &Caller, request_id: &str, e: &ExAnteRow) -> StoreResult<ExAnteRow> {
    let mut row = e.clone();
    row.recorded_by = who.subject.clone();
    row.recorded_at = now();
    let mut tx = db.begin().await?;
    sqlx::query(&format!("INSERT INTO budget_ex_ante ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
        .bind(&row.id)
        .bind(&row.programme_id)
        .bind(&row.region_code)
        .bind(&row.conclusion)
        .bind(&row.total)
        .bind(&row.result)
        .bind(&row.assessor)
        .bind(&row.report_ref)
        .bind(&row.recorded_by)
        .bind(&row.recorded_at)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "ex_ante.record".into(),
            entity: "ex_ante".into(),
            entity_id: row.id.clone(),
            region: row.region_code.clone(),
            before: None,
            after: Some(serde_json::to_value(&row).unwrap_or_default()),
            reason: row.report_ref.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}
