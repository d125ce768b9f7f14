//! `budget_goal_sets`: a programme's goal sets, one row per version. A version is never edited
//! except for its review; an amendment adds a version and marks the one it replaces SUPERSEDED.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalSetRow {
    pub programme_id: String,
    pub version: i64,
    pub status: String,
    pub goals_json: String,
    pub findings_json: String,
    pub submitted_by: String,
    pub submitted_at: String,
    pub review_grade: String,
    pub review_opinion: String,
    pub reviewed_by: String,
    pub reviewed_at: String,
    pub in_force_from: String,
    pub adjustment_document: String,
    pub adjustment_date: String,
}

const COLUMNS: &str = "programme_id, version, status, goals_json, findings_json, submitted_by, submitted_at, \
     review_grade, review_opinion, reviewed_by, reviewed_at, in_force_from, adjustment_document, adjustment_date";

fn read(r: &AnyRow) -> Result<GoalSetRow, sqlx::Error> {
    Ok(GoalSetRow {
        programme_id: r.try_get("programme_id")?,
        version: r.try_get("version")?,
        status: r.try_get("status")?,
        goals_json: r.try_get("goals_json")?,
        findings_json: r.try_get("findings_json")?,
        submitted_by: r.try_get("submitted_by")?,
        submitted_at: r.try_get("submitted_at")?,
        review_grade: r.try_get("review_grade")?,
        review_opinion: r.try_get("review_opinion")?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: r.try_get("reviewed_at")?,
        in_force_from: r.try_get("in_force_from")?,
        adjustment_document: r.try_get("adjustment_document")?,
        adjustment_date: r.try_get("adjustment_date")?,
    })
}

/// The audit view of a set: the goals as JSON, not as a string inside JSON.
fn json(g: &GoalSetRow) -> serde_json::Value {
    let mut v = serde_json::to_value(g).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for key in ["goals_json", "findings_json"] {
            if let Some(text) = o.get(key).and_then(|t| t.as_str()).map(str::to_string) {
                o.insert(key.into(), serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
            }
        }
    }
    v
}

async fn latest_on(conn: &mut sqlx::AnyConnection, programme_id: &str) -> StoreResult<Option<GoalSetRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM budget_goal_sets WHERE programme_id = $1 ORDER BY version DESC LIMIT 1"
    ))
    .bind(programme_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

pub async fn latest(db: &Database, programme_id: &str) -> StoreResult<Option<GoalSetRow>> {
    let mut conn = db.pool.acquire().await?;
    latest_on(&mut conn, programme_id).await
}

pub async fn version(db: &Database, programme_id: &str, version: i64) -> StoreResult<Option<GoalSetRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_goal_sets WHERE programme_id = $1 AND version = $2"))
        .bind(programme_id)
        .bind(version)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

/// The approved set in force on `date` (ISO): the latest approved or superseded version in
/// force from that day or before.
pub async fn in_force(db: &Database, programme_id: &str, date: &str) -> StoreResult<Option<GoalSetRow>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM budget_goal_sets WHERE programme_id = $1 AND status IN ('APPROVED', 'SUPERSEDED') \
         AND in_force_from <> '' AND in_force_from <= $2 ORDER BY version DESC LIMIT 1"
    ))
    .bind(programme_id)
    .bind(date)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

/// Whether the programme has an approved set now.
pub async fn has_approved(db: &Database, programme_id: &str) -> StoreResult<bool> {
    let row = sqlx::query("SELECT version FROM budget_goal_sets WHERE programme_id = $1 AND status = 'APPROVED'")
        .bind(programme_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.is_some())
}

fn stale(programme_id: &str, latest: i64, expected: i64) -> StoreError {
    StoreError::VersionConflict(format!(
        "the goals of programme {programme_id} are at version {latest}, not {expected}"
    ))
}

/// Submit a goal set as version `expected + 1`: the first set, or a revision of returned goals.
pub async fn submit(
    db: &Database,
    who: &Caller,
    request_id: &str,
    region: &str,
    set: &GoalSetRow,
    expected: i64,
) -> StoreResult<GoalSetRow> {
    let mut tx = db.begin().await?;
    let latest = latest_on(&mut tx, &set.programme_id).await?;
    let at = latest.as_ref().map(|l| l.version).unwrap_or(0);
    if at != expected {
        return Err(stale(&set.programme_id, at, expected));
    }
    if let Some(l) = &latest {
        if l.status != "RETURNED" {
            return Err(StoreError::State(
                "STEP_OUT_OF_ORDER",
                format!(
                    "the goals of programme {} are {} (version {}): only returned goals are submitted again{}",
                    set.programme_id,
                    l.status,
                    l.version,
                    if l.status == "APPROVED" {
                        "; approved goals change through AmendGoals with a budget adjustment"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let mut row = set.clone();
    row.version = expected + 1;
    row.status = "SUBMITTED".into();
    row.submitted_by = who.subject.clone();
    row.submitted_at = now();
    insert_on(&mut tx, &row).await?;
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "goals.submit".into(),
            entity: "goal_set".into(),
            entity_id: format!("{}/{}", row.programme_id, row.version),
            region: region.into(),
            before: latest.as_ref().map(json),
            after: Some(json(&row)),
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

async fn insert_on(conn: &mut sqlx::AnyConnection, row: &GoalSetRow) -> StoreResult<()> {
    let done = sqlx::query(&format!(
        "INSERT INTO budget_goal_sets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&row.programme_id)
    .bind(row.version)
    .bind(&row.status)
    .bind(&row.goals_json)
    .bind(&row.findings_json)
    .bind(&row.submitted_by)
    .bind(&row.submitted_at)
    .bind(&row.review_grade)
    .bind(&row.review_opinion)
    .bind(&row.reviewed_by)
    .bind(&row.reviewed_at)
    .bind(&row.in_force_from)
    .bind(&row.adjustment_document)
    .bind(&row.adjustment_date)
    .execute(&mut *conn)
    .await;
    match done {
        Ok(_) => Ok(()),
        // Another writer added this version (or an approved set) first.
        Err(e) if is_unique_violation(&e) => Err(StoreError::VersionConflict(format!(
            "the goals of programme {} changed meanwhile (version {} exists)",
            row.programme_id, row.version
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The decision of a review.
pub struct Review<'a> {
    pub status: &'static str,
    pub grade: &'a str,
    pub opinion: &'a str,
    /// The day approved goals are in force from (the review day); empty otherwise.
    pub in_force_from: &'a str,
}

/// Record the review of submitted version `version`.
pub async fn review(
    db: &Database,
    who: &Caller,
    request_id: &str,
    region: &str,
    programme_id: &str,
    version: i64,
    r: &Review<'_>,
) -> StoreResult<GoalSetRow> {
    let mut tx = db.begin().await?;
    let before = latest_on(&mut tx, programme_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("goals of programme {programme_id}")))?;
    if before.version != version {
        return Err(stale(programme_id, before.version, version));
    }
    if before.status != "SUBMITTED" {
        return Err(StoreError::State(
            "STEP_OUT_OF_ORDER",
            format!("version {version} of the goals of programme {programme_id} is {}, not SUBMITTED", before.status),
        ));
    }
    let mut after = before.clone();
    after.status = r.status.into();
    after.review_grade = r.grade.into();
    after.review_opinion = r.opinion.into();
    after.reviewed_by = who.subject.clone();
    after.reviewed_at = now();
    after.in_force_from = r.in_force_from.into();
    let done = sqlx::query(
        "UPDATE budget_goal_sets SET status = $1, review_grade = $2, review_opinion = $3, reviewed_by = $4, \
         reviewed_at = $5, in_force_from = $6 WHERE programme_id = $7 AND version = $8 AND status = 'SUBMITTED'",
    )
    .bind(&after.status)
    .bind(&after.review_grade)
    .bind(&after.review_opinion)
    .bind(&after.reviewed_by)
    .bind(&after.reviewed_at)
    .bind(&after.in_force_from)
    .bind(programme_id)
    .bind(version)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(d) if d.rows_affected() == 1 => {}
        Ok(_) => return Err(stale(programme_id, version, version)),
        Err(e) if is_unique_violation(&e) => return Err(stale(programme_id, version, version)),
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "goals.review".into(),
            entity: "goal_set".into(),
            entity_id: format!("{programme_id}/{version}"),
            region: region.into(),
            before: Some(json(&before)),
            after: Some(json(&after)),
            reason: r.opinion.into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Replace approved version `expected` with `set` (version `expected + 1`, approved, in force
/// from the adjustment's date); the replaced version is kept, SUPERSEDED.
pub async fn amend(
    db: &Database,
    who: &Caller,
    request_id: &str,
    region: &str,
    set: &GoalSetRow,
    expected: i64,
) -> StoreResult<GoalSetRow> {
    let mut tx = db.begin().await?;
    let before = latest_on(&mut tx, &set.programme_id).await?.ok_or_else(|| {
        StoreError::State("STEP_OUT_OF_ORDER", format!("programme {} has no goals to amend", set.programme_id))
    })?;
    if before.version != expected {
        return Err(stale(&set.programme_id, before.version, expected));
    }
    if before.status != "APPROVED" {
        return Err(StoreError::State(
            "STEP_OUT_OF_ORDER",
            format!("only approved goals are amended; version {} is {}", before.version, before.status),
        ));
    }
    if set.in_force_from < before.in_force_from {
        return Err(StoreError::State(
            "ADJUSTMENT_BEFORE_GOALS",
            format!(
                "the adjustment of {} precedes the goals it would amend (in force from {})",
                set.in_force_from, before.in_force_from
            ),
        ));
    }
    let done = sqlx::query(
        "UPDATE budget_goal_sets SET status = 'SUPERSEDED' WHERE programme_id = $1 AND version = $2 AND status = 'APPROVED'",
    )
    .bind(&set.programme_id)
    .bind(expected)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(stale(&set.programme_id, expected, expected));
    }
    let mut row = set.clone();
    row.version = expected + 1;
    row.status = "APPROVED".into();
    row.submitted_by = who.subject.clone();
    row.submitted_at = now();
    insert_on(&mut tx, &row).await?;
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: "goals.amend".into(),
            entity: "goal_set".into(),
            entity_id: format!("{}/{}", row.programme_id, row.version),
            region: region.into(),
            before: Some(json(&before)),
            after: Some(json(&row)),
            reason: format!("预算调整 {} ({})", row.adjustment_document, row.adjustment_date),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// The approved set in force on `date` of every programme of `year` in regions starting with
/// `prefix`, by programme id.
pub async fn in_force_for_region(
    db: &Database,
    prefix: &str,
    year: i64,
    date: &str,
) -> StoreResult<std::collections::HashMap<String, GoalSetRow>> {
    let cols: Vec<String> = COLUMNS.split(',').map(|c| format!("g.{}", c.trim())).collect();
    let rows = sqlx::query(&format!(
        "SELECT {} FROM budget_goal_sets g JOIN budget_programmes p ON p.id = g.programme_id \
         WHERE p.region_code LIKE $1 AND p.budget_year = $2 AND g.status IN ('APPROVED', 'SUPERSEDED') \
         AND g.in_force_from <> '' AND g.in_force_from <= $3 ORDER BY g.programme_id, g.version",
        cols.join(", ")
    ))
    .bind(format!("{prefix}%"))
    .bind(year)
    .bind(date)
    .fetch_all(&db.pool)
    .await?;
    let mut out = std::collections::HashMap::new();
    for r in &rows {
        let g = read(r)?;
        out.insert(g.programme_id.clone(), g);
    }
    Ok(out)
}
