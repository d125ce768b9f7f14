//! `budget_evaluations`: evaluations as submitted (with the score and explanation they had),
//! reviewed by finance. Accepting a re-evaluation marks the evaluation it re-checks superseded
//! in the same transaction.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvaluationRow {
    pub id: String,
    pub programme_id: String,
    pub region_code: String,
    pub kind: String,
    pub year: i64,
    pub category: String,
    pub evaluator: String,
    pub evaluator_credit_code: String,
    pub total: String,
    pub grade: String,
    /// Base64 protobuf of the self-evaluation scoring (empty for other kinds).
    #[serde(skip)]
    pub self_result: String,
    pub parts_json: String,
    /// Base64 protobuf of the explanation.
    #[serde(skip)]
    pub explanation: String,
    pub status: String,
    pub supersedes: String,
    pub superseded_by: String,
    pub report_ref: String,
    pub deviation_reason: String,
    pub evaluated_on: String,
    pub submitted_by: String,
    pub submitted_at: String,
    pub review_notes: String,
    pub reviewed_by: String,
    pub reviewed_at: String,
    pub version: i64,
    /// Base64 protobuf of what a self-evaluation was scored from (empty for other kinds).
    #[serde(skip)]
    pub input: String,
}

const COLUMNS: &str = "id, programme_id, region_code, kind, year, category, evaluator, evaluator_credit_code, total, grade, \
     self_result, parts_json, explanation, status, supersedes, superseded_by, report_ref, deviation_reason, evaluated_on, \
     submitted_by, submitted_at, review_notes, reviewed_by, reviewed_at, version, input";

fn read(r: &AnyRow) -> Result<EvaluationRow, sqlx::Error> {
    Ok(EvaluationRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        region_code: r.try_get("region_code")?,
        kind: r.try_get("kind")?,
        year: r.try_get("year")?,
        category: r.try_get("category")?,
        evaluator: r.try_get("evaluator")?,
        evaluator_credit_code: r.try_get("evaluator_credit_code")?,
        total: r.try_get("total")?,
        grade: r.try_get("grade")?,
        self_result: r.try_get("self_result")?,
        parts_json: r.try_get("parts_json")?,
        explanation: r.try_get("explanation")?,
        status: r.try_get("status")?,
        supersedes: r.try_get("supersedes")?,
        superseded_by: r.try_get("superseded_by")?,
        report_ref: r.try_get("report_ref")?,
        deviation_reason: r.try_get("deviation_reason")?,
        evaluated_on: r.try_get("evaluated_on")?,
        submitted_by: r.try_get("submitted_by")?,
        submitted_at: r.try_get("submitted_at")?,
        review_notes: r.try_get("review_notes")?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: r.try_get("reviewed_at")?,
        version: r.try_get("version")?,
        input: r.try_get("input")?,
    })
}

fn json(e: &EvaluationRow) -> serde_json::Value {
    serde_json::to_value(e).unwrap_or_default()
}

async fn get_on(conn: &mut sqlx::AnyConnection, id: &str) -> StoreResult<Option<EvaluationRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_evaluations WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

pub async fn get(db: &Database, id: &str) -> StoreResult<Option<EvaluationRow>> {
    let mut conn = db.pool.acquire().await?;
    get_on(&mut conn, id).await
}

/// A programme's evaluations, the latest submitted first: at most `limit` after the one with
/// (`submitted_at`, `id`) = `after`.
pub async fn for_programme(
    db: &Database,
    programme_id: &str,
    after: Option<(&str, &str)>,
    limit: usize,
) -> StoreResult<Vec<EvaluationRow>> {
    let limit = limit.clamp(1, 1001);
    let rows = match after {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM budget_evaluations WHERE programme_id = $1 \
                 ORDER BY submitted_at DESC, id LIMIT {limit}"
            );
            sqlx::query(&sql).bind(programme_id).fetch_all(&db.pool).await?
        }
        Some((at, id)) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM budget_evaluations WHERE programme_id = $1 \
                 AND (submitted_at < $2 OR (submitted_at = $2 AND id > $3)) ORDER BY submitted_at DESC, id LIMIT {limit}"
            );
            sqlx::query(&sql).bind(programme_id).bind(at).bind(id).fetch_all(&db.pool).await?
        }
    };
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// FINAL or PUBLISHED evaluations of a year and category in regions starting with `prefix`
/// that no re-evaluation has superseded.
pub async fn final_for_scores(
    db: &Database,
    prefix: &str,
    year: i64,
    category: &str,
) -> StoreResult<Vec<EvaluationRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM budget_evaluations WHERE year = $1 AND category = $2 AND region_code LIKE $3 \
         AND status IN ('FINAL', 'PUBLISHED') AND superseded_by = '' ORDER BY reviewed_at, id"
    ))
    .bind(year)
    .bind(category)
    .bind(format!("{prefix}%"))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

pub async fn insert(db: &Database, who: &Caller, request_id: &str, e: &EvaluationRow) -> StoreResult<EvaluationRow> {
    let mut row = e.clone();
    row.status = "SUBMITTED".into();
    row.submitted_by = who.subject.clone();
    row.submitted_at = now();
    row.version = 1;
    let mut tx = db.begin().await?;
    if !row.supersedes.is_empty() {
        let original = get_on(&mut tx, &row.supersedes)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("evaluation {}", row.supersedes)))?;
        if !matches!(original.status.as_str(), "FINAL" | "PUBLISHED") || !original.superseded_by.is_empty() {
            return Err(StoreError::State(
                "NOT_FINAL",
                format!(
                    "evaluation {} is {}{}: only a FINAL evaluation is re-evaluated",
                    original.id,
                    original.status,
                    if original.superseded_by.is_empty() {
                        String::new()
                    } else {
                        format!(", superseded by {}", original.superseded_by)
                    }
                ),
            ));
        }
    }
    let done = sqlx::query(&format!(
        "INSERT INTO budget_evaluations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
    ))
    .bind(&row.id)
    .bind(&row.programme_id)
    .bind(&row.region_code)
    .bind(&row.kind)
    .bind(row.year)
    .bind(&row.category)
    .bind(&row.evaluator)
    .bind(&row.evaluator_credit_code)
    .bind(&row.total)
    .bind(&row.grade)
    .bind(&row.self_result)
    .bind(&row.parts_json)
    .bind(&row.explanation)
    .bind(&row.status)
    .bind(&row.supersedes)
    .bind(&row.superseded_by)
    .bind(&row.report_ref)
    .bind(&row.deviation_reason)
    .bind(&row.evaluated_on)
    .bind(&row.submitted_by)
    .bind(&row.submitted_at)
    .bind(&row.review_notes)
    .bind(&row.reviewed_by)
    .bind(&row.reviewed_at)
    .bind(row.version)
    .bind(&row.input)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!("a re-evaluation of evaluation {}", row.supersedes)))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "evaluation.submit".into(),
            entity: "evaluation".into(),
            entity_id: row.id.clone(),
            region: row.region_code.clone(),
            before: None,
            after: Some(json(&row)),
            reason: row.deviation_reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Move an evaluation at version `expected` from `from` to `to`; accepting a re-evaluation
/// supersedes the original.
pub async fn review(
    db: &Database,
    who: &Caller,
    request_id: &str,
    id: &str,
    expected: i64,
    (from, to): (&str, &str),
    notes: &str,
) -> StoreResult<EvaluationRow> {
    let mut tx = db.begin().await?;
    let before = get_on(&mut tx, id).await?.ok_or_else(|| StoreError::NotFound(format!("evaluation {id}")))?;
    if before.version != expected {
        return Err(StoreError::VersionConflict(format!(
            "evaluation {id} is at version {}, not {expected}",
            before.version
        )));
    }
    if before.status != from {
        return Err(StoreError::State(
            "STEP_OUT_OF_ORDER",
            format!("evaluation {id} is {}, not {from}", before.status),
        ));
    }
    let mut after = before.clone();
    after.status = to.into();
    after.review_notes = notes.into();
    after.reviewed_by = who.subject.clone();
    after.reviewed_at = now();
    after.version = expected + 1;
    let done = sqlx::query(
        "UPDATE budget_evaluations SET status = $1, review_notes = $2, reviewed_by = $3, reviewed_at = $4, version = $5 \
         WHERE id = $6 AND version = $7",
    )
    .bind(&after.status)
    .bind(&after.review_notes)
    .bind(&after.reviewed_by)
    .bind(&after.reviewed_at)
    .bind(after.version)
    .bind(id)
    .bind(expected)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::VersionConflict(format!("evaluation {id} changed meanwhile")));
    }
    if to == "FINAL" && !before.supersedes.is_empty() {
        let superseded = sqlx::query(
            "UPDATE budget_evaluations SET superseded_by = $1, version = version + 1 WHERE id = $2 AND superseded_by = ''",
        )
        .bind(id)
        .bind(&before.supersedes)
        .execute(&mut *tx)
        .await?;
        if superseded.rows_affected() != 1 {
            return Err(StoreError::State(
                "NOT_FINAL",
                format!("evaluation {} was superseded meanwhile", before.supersedes),
            ));
        }
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: format!("evaluation.{}", to.to_lowercase()),
            entity: "evaluation".into(),
            entity_id: id.into(),
            region: before.region_code.clone(),
            before: Some(json(&before)),
            after: Some(json(&after)),
            reason: notes.into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// An evaluation of a kind of a programme, assigned to a third-party evaluator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub programme_id: String,
    pub kind: String,
    pub evaluator_subject: String,
    pub evaluator_name: String,
    pub evaluator_credit_code: String,
    pub assigned_by: String,
    pub assigned_at: String,
}

pub async fn assign(
    db: &Database,
    who: &Caller,
    request_id: &str,
    region: &str,
    a: &Assignment,
) -> StoreResult<Assignment> {
    let mut a = a.clone();
    a.assigned_by = who.subject.clone();
    a.assigned_at = now();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "INSERT INTO budget_evaluator_assignments (programme_id, kind, evaluator_subject, evaluator_name, evaluator_credit_code, \
         assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.programme_id)
    .bind(&a.kind)
    .bind(&a.evaluator_subject)
    .bind(&a.evaluator_name)
    .bind(&a.evaluator_credit_code)
    .bind(&a.assigned_by)
    .bind(&a.assigned_at)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!(
                "the {} evaluation of programme {} assigned to {}",
                a.kind, a.programme_id, a.evaluator_subject
            )))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "evaluator.assign".into(),
            entity: "evaluator_assignment".into(),
            entity_id: format!("{}/{}/{}", a.programme_id, a.kind, a.evaluator_subject),
            region: region.into(),
            before: None,
            after: Some(serde_json::to_value(&a).unwrap_or_default()),
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(a)
}

/// The assignment of `kind` of `programme_id` to `subject`, if there is one.
pub async fn assignment(
    db: &Database,
    programme_id: &str,
    kind: &str,
    subject: &str,
) -> StoreResult<Option<Assignment>> {
    let row = sqlx::query(
        "SELECT programme_id, kind, evaluator_subject, evaluator_name, evaluator_credit_code, assigned_by, assigned_at \
         FROM budget_evaluator_assignments WHERE programme_id = $1 AND kind = $2 AND evaluator_subject = $3",
    )
    .bind(programme_id)
    .bind(kind)
    .bind(subject)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Assignment {
            programme_id: r.try_get("programme_id")?,
            kind: r.try_get("kind")?,
            evaluator_subject: r.try_get("evaluator_subject")?,
            evaluator_name: r.try_get("evaluator_name")?,
            evaluator_credit_code: r.try_get("evaluator_credit_code")?,
            assigned_by: r.try_get("assigned_by")?,
            assigned_at: r.try_get("assigned_at")?,
        })
    })
    .transpose()
    .map_err(|e: sqlx::Error| StoreError::Db(e))
}
