//! `budget_monitoring_records` and `budget_warnings`: checkpoints and what they raise. A
//! correction adds a record version and re-evaluates the checkpoint's warnings: those raised
//! again keep their status (a resolved one reopens), those no longer raised are resolved with a
//! note saying so, new ones open. The unique key keeps one warning per programme, checkpoint,
//! rule and subject whatever the number of writers.
//!
//! Here the rows, one checkpoint recorded and read back; `warnings` lists and moves warnings;
//! `import` stores a region's checkpoint at once.
//! (~400 lines: the rows and the single-checkpoint write, whose correction path re-evaluates
//! warnings, read best in one place.)
//!
//! (About 440 lines: a checkpoint's record and the warnings it raises are written in one
//! transaction; the statements that keep them consistent stay together.)

mod import;
mod warnings;

pub use import::{import, Batch, Imported};
pub use warnings::{get_warning, list_warnings, update_warning, Transition, WarningFilter};

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRow {
    pub programme_id: String,
    pub as_of: String,
    pub version: i64,
    pub goal_version: i64,
    pub budget_fen: i64,
    pub arrived_fen: i64,
    pub paid_fen: i64,
    pub spent_fen: i64,
    pub expected_carryover_fen: i64,
    pub indicators_json: String,
    /// The thresholds its warnings were computed under (`budget_monitoring_rule_sets`).
    pub rule_set_id: String,
    /// The import that brought it, if one.
    pub import_id: String,
    pub correction_reason: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarningRow {
    pub id: String,
    pub programme_id: String,
    pub region_code: String,
    pub as_of: String,
    pub rule_id: String,
    pub subject: String,
    pub message: String,
    pub figure: String,
    pub threshold: String,
    pub record_version: i64,
    pub status: String,
    pub note: String,
    pub updated_by: String,
    pub updated_at: String,
    pub version: i64,
}

/// A warning as computed, before it is stored.
#[derive(Debug, Clone)]
pub struct Raised {
    pub rule_id: String,
    pub subject: String,
    pub message: String,
    pub figure: String,
    pub threshold: String,
}

pub(super) const RECORD_COLUMNS: &str =
    "programme_id, as_of, version, goal_version, budget_fen, arrived_fen, paid_fen, spent_fen, \
     expected_carryover_fen, indicators_json, rule_set_id, import_id, correction_reason, recorded_by, recorded_at";
pub(super) const WARNING_COLUMNS: &str =
    "id, programme_id, region_code, as_of, rule_id, subject, message, figure, threshold, \
     record_version, status, note, updated_by, updated_at, version";

pub(super) fn read_record(r: &AnyRow) -> Result<RecordRow, sqlx::Error> {
    Ok(RecordRow {
        programme_id: r.try_get("programme_id")?,
        as_of: r.try_get("as_of")?,
        version: r.try_get("version")?,
        goal_version: r.try_get("goal_version")?,
        budget_fen: r.try_get("budget_fen")?,
        arrived_fen: r.try_get("arrived_fen")?,
        paid_fen: r.try_get("paid_fen")?,
        spent_fen: r.try_get("spent_fen")?,
        expected_carryover_fen: r.try_get("expected_carryover_fen")?,
        indicators_json: r.try_get("indicators_json")?,
        rule_set_id: r.try_get("rule_set_id")?,
        import_id: r.try_get("import_id")?,
        correction_reason: r.try_get("correction_reason")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

pub(super) fn read_warning(r: &AnyRow) -> Result<WarningRow, sqlx::Error> {
    Ok(WarningRow {
        id: r.try_get("id")?,
        programme_id: r.try_get("programme_id")?,
        region_code: r.try_get("region_code")?,
        as_of: r.try_get("as_of")?,
        rule_id: r.try_get("rule_id")?,
        subject: r.try_get("subject")?,
        message: r.try_get("message")?,
        figure: r.try_get("figure")?,
        threshold: r.try_get("threshold")?,
        record_version: r.try_get("record_version")?,
        status: r.try_get("status")?,
        note: r.try_get("note")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
        version: r.try_get("version")?,
    })
}

pub(super) fn audit_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// The latest version of a checkpoint.
pub async fn latest_record(db: &Database, programme_id: &str, as_of: &str) -> StoreResult<Option<RecordRow>> {
    let row = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM budget_monitoring_records WHERE programme_id = $1 AND as_of = $2 ORDER BY version DESC LIMIT 1"
    ))
    .bind(programme_id)
    .bind(as_of)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(read_record).transpose()?)
}

/// What the latest checkpoint of a programme records as paid (拨付), 0 before the first.
pub async fn latest_paid(db: &Database, programme_id: &str) -> StoreResult<(i64, Option<String>)> {
    let row = sqlx::query(
        "SELECT paid_fen, as_of FROM budget_monitoring_records WHERE programme_id = $1 ORDER BY as_of DESC, version DESC LIMIT 1",
    )
    .bind(programme_id)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        None => Ok((0, None)),
        Some(r) => Ok((r.try_get("paid_fen")?, Some(r.try_get("as_of")?))),
    }
}

/// The thresholds stored under `id`.
pub async fn rule_set(db: &Database, id: &str) -> StoreResult<String> {
    let row = sqlx::query("SELECT rules_json FROM budget_monitoring_rule_sets WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("monitoring rule set {id} is missing")))?;
    Ok(row.try_get("rules_json")?)
}

async fn insert_rule_set(conn: &mut sqlx::AnyConnection, rules_json: &str) -> StoreResult<String> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query("INSERT INTO budget_monitoring_rule_sets (id, rules_json, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(rules_json)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Store a checkpoint, the thresholds it was judged by, and its warnings. `correction` allows
/// recording it again.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    db: &Database,
    who: &Caller,
    request_id: &str,
    region: &str,
    rec: &RecordRow,
    rules_json: &str,
    raised: &[Raised],
    correction: bool,
) -> StoreResult<(RecordRow, Vec<WarningRow>)> {
    let mut tx = db.begin().await?;
    let at: Option<i64> = sqlx::query(
        "SELECT version FROM budget_monitoring_records WHERE programme_id = $1 AND as_of = $2 ORDER BY version DESC LIMIT 1",
    )
    .bind(&rec.programme_id)
    .bind(&rec.as_of)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.try_get("version"))
    .transpose()?;
    if at.is_some() && !correction {
        return Err(StoreError::Duplicate(format!(
            "checkpoint {} of programme {} (record it again with a correction_reason)",
            rec.as_of, rec.programme_id
        )));
    }
    let mut row = rec.clone();
    row.version = at.unwrap_or(0) + 1;
    row.recorded_by = who.subject.clone();
    row.recorded_at = now();
    row.rule_set_id = insert_rule_set(&mut tx, rules_json).await?;
    let done = sqlx::query(&format!(
        "INSERT INTO budget_monitoring_records ({RECORD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&row.programme_id)
    .bind(&row.as_of)
    .bind(row.version)
    .bind(row.goal_version)
    .bind(row.budget_fen)
    .bind(row.arrived_fen)
    .bind(row.paid_fen)
    .bind(row.spent_fen)
    .bind(row.expected_carryover_fen)
    .bind(&row.indicators_json)
    .bind(&row.rule_set_id)
    .bind(&row.import_id)
    .bind(&row.correction_reason)
    .bind(&row.recorded_by)
    .bind(&row.recorded_at)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::VersionConflict(format!(
                "checkpoint {} of programme {} was recorded meanwhile",
                row.as_of, row.programme_id
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let existing: Vec<WarningRow> =
        sqlx::query(&format!("SELECT {WARNING_COLUMNS} FROM budget_warnings WHERE programme_id = $1 AND as_of = $2"))
            .bind(&row.programme_id)
            .bind(&row.as_of)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(read_warning)
            .collect::<Result<_, _>>()?;
    let stamp = now();
    let mut warnings = Vec::with_capacity(raised.len());
    for w in raised {
        match existing.iter().find(|e| e.rule_id == w.rule_id && e.subject == w.subject) {
            Some(e) => warnings.push(raise_again(&mut tx, e, w, row.version, who, &stamp).await?),
            None => {
                let new = WarningRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    programme_id: row.programme_id.clone(),
                    region_code: region.into(),
                    as_of: row.as_of.clone(),
                    rule_id: w.rule_id.clone(),
                    subject: w.subject.clone(),
                    message: w.message.clone(),
                    figure: w.figure.clone(),
                    threshold: w.threshold.clone(),
                    record_version: row.version,
                    status: "OPEN".into(),
                    note: String::new(),
                    updated_by: who.subject.clone(),
                    updated_at: stamp.clone(),
                    version: 1,
                };
                let done = sqlx::query(&format!(
                    "INSERT INTO budget_warnings ({WARNING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                ))
                .bind(&new.id)
                .bind(&new.programme_id)
                .bind(&new.region_code)
                .bind(&new.as_of)
                .bind(&new.rule_id)
                .bind(&new.subject)
                .bind(&new.message)
                .bind(&new.figure)
                .bind(&new.threshold)
                .bind(new.record_version)
                .bind(&new.status)
                .bind(&new.note)
                .bind(&new.updated_by)
                .bind(&new.updated_at)
                .bind(new.version)
                .execute(&mut *tx)
                .await;
                match done {
                    Ok(_) => warnings.push(new),
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::VersionConflict(format!(
                            "the warnings of checkpoint {} of programme {} changed meanwhile",
                            row.as_of, row.programme_id
                        )))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    // Warnings the corrected figures no longer raise.
    for e in existing
        .iter()
        .filter(|e| e.status != "RESOLVED" && !raised.iter().any(|w| w.rule_id == e.rule_id && w.subject == e.subject))
    {
        resolve_unraised(&mut tx, e, &format!("第{}版检查点数字不再触发", row.version), who, &stamp).await?;
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: if row.version == 1 { "monitoring.record".into() } else { "monitoring.correct".into() },
            entity: "monitoring_record".into(),
            entity_id: format!("{}/{}/{}", row.programme_id, row.as_of, row.version),
            region: region.into(),
            before: (!existing.is_empty()).then(|| audit_json(&existing)),
            after: Some(serde_json::json!({ "record": audit_json(&row), "warnings": audit_json(&warnings) })),
            reason: row.correction_reason.clone(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((row, warnings))
}

/// A warning raised again by a checkpoint's (corrected) figures: its figures are the new ones, a
/// resolved one reopens, otherwise its status and note are kept. Returns the row as stored.
pub(super) async fn raise_again(
    conn: &mut sqlx::AnyConnection,
    e: &WarningRow,
    w: &Raised,
    record_version: i64,
    who: &Caller,
    stamp: &str,
) -> StoreResult<WarningRow> {
    let (status, note) = if e.status == "RESOLVED" {
        ("OPEN".to_string(), format!("第{record_version}版检查点数字再次触发"))
    } else {
        (e.status.clone(), e.note.clone())
    };
    let after = WarningRow {
        message: w.message.clone(),
        figure: w.figure.clone(),
        threshold: w.threshold.clone(),
        record_version,
        status,
        note,
        updated_by: who.subject.clone(),
        updated_at: stamp.into(),
        version: e.version + 1,
        ..e.clone()
    };
    sqlx::query(
        "UPDATE budget_warnings SET message = $1, figure = $2, threshold = $3, record_version = $4, status = $5, \
         note = $6, updated_by = $7, updated_at = $8, version = version + 1 WHERE id = $9",
    )
    .bind(&after.message)
    .bind(&after.figure)
    .bind(&after.threshold)
    .bind(after.record_version)
    .bind(&after.status)
    .bind(&after.note)
    .bind(&after.updated_by)
    .bind(&after.updated_at)
    .bind(&after.id)
    .execute(conn)
    .await?;
    Ok(after)
}

/// A warning that a checkpoint's corrected figures no longer raise: resolved with `note`.
/// Returns the row as stored.
pub(super) async fn resolve_unraised(
    conn: &mut sqlx::AnyConnection,
    e: &WarningRow,
    note: &str,
    who: &Caller,
    stamp: &str,
) -> StoreResult<WarningRow> {
    let after = WarningRow {
        status: "RESOLVED".into(),
        note: note.into(),
        updated_by: who.subject.clone(),
        updated_at: stamp.into(),
        version: e.version + 1,
        ..e.clone()
    };
    sqlx::query(
        "UPDATE budget_warnings SET status = $1, note = $2, updated_by = $3, updated_at = $4, version = version + 1 WHERE id = $5",
    )
    .bind(&after.status)
    .bind(&after.note)
    .bind(&after.updated_by)
    .bind(&after.updated_at)
    .bind(&after.id)
        .execute(conn)
        .await?;
    Ok(after)
}

/// The region a code prefix stands for ("4117" → "411700").
pub(super) fn prefix_region(prefix: &str) -> String {
    format!("{prefix:0<6}")
}

/// Programmes (in regions starting with `prefix`) with a record of checkpoint `as_of`.
pub async fn recorded(db: &Database, prefix: &str, as_of: &str) -> StoreResult<std::collections::HashSet<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT r.programme_id FROM budget_monitoring_records r JOIN budget_programmes p ON p.id = r.programme_id \
         WHERE r.as_of = $1 AND p.region_code LIKE $2",
    )
    .bind(as_of)
    .bind(format!("{prefix}%"))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>("programme_id").map_err(StoreError::from)).collect()
}

/// The latest version of every checkpoint of a programme, in date order.
pub async fn records_for(db: &Database, programme_id: &str) -> StoreResult<Vec<RecordRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM budget_monitoring_records WHERE programme_id = $1 ORDER BY as_of, version"
    ))
    .bind(programme_id)
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<RecordRow> = Vec::new();
    for r in &rows {
        let rec = read_record(r)?;
        match out.last_mut() {
            Some(last) if last.as_of == rec.as_of => *last = rec,
            _ => out.push(rec),
        }
    }
    Ok(out)
}
