//! `budget_monitoring_records` and `budget_warnings`: checkpoints and what they raise. A
//! correction adds a record version and re-evaluates the checkpoint's warnings: those raised
//! again keep their status (a resolved one reopens), those no longer raised are resolved with a
//! note saying so, new ones open. The unique key keeps one warning per programme, checkpoint,
//! rule and subject whatever the number of writers.

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

impl super::ArrayRow for RecordRow {
    fn cells(&self) -> Vec<super::Cell<'_>> {
        use super::Cell::{Int, Text};
        vec![
            Text(&self.programme_id),
            Text(&self.as_of),
            Int(self.version),
            Int(self.goal_version),
            Int(self.budget_fen),
            Int(self.arrived_fen),
            Int(self.paid_fen),
            Int(self.spent_fen),
            Int(self.expected_carryover_fen),
            Text(&self.indicators_json),
            Text(&self.rule_set_id),
            Text(&self.import_id),
            Text(&self.correction_reason),
            Text(&self.recorded_by),
            Text(&self.recorded_at),
        ]
    }
}

impl super::ArrayRow for WarningRow {
    fn cells(&self) -> Vec<super::Cell<'_>> {
        use super::Cell::{Int, Text};
        vec![
            Text(&self.id),
            Text(&self.programme_id),
            Text(&self.region_code),
            Text(&self.as_of),
            Text(&self.rule_id),
            Text(&self.subject),
            Text(&self.message),
            Text(&self.figure),
            Text(&self.threshold),
            Int(self.record_version),
            Text(&self.status),
            Text(&self.note),
            Text(&self.updated_by),
            Text(&self.updated_at),
            Int(self.version),
        ]
    }
}

/// The columns of [`RECORD_COLUMNS`] and [`WARNING_COLUMNS`] with their types, for
/// [`super::insert_arrays`].
const RECORD_TYPES: [(&str, &str); 15] = [
    ("programme_id", "text"),
    ("as_of", "text"),
    ("version", "bigint"),
    ("goal_version", "bigint"),
    ("budget_fen", "bigint"),
    ("arrived_fen", "bigint"),
    ("paid_fen", "bigint"),
    ("spent_fen", "bigint"),
    ("expected_carryover_fen", "bigint"),
    ("indicators_json", "text"),
    ("rule_set_id", "text"),
    ("import_id", "text"),
    ("correction_reason", "text"),
    ("recorded_by", "text"),
    ("recorded_at", "text"),
];
const WARNING_TYPES: [(&str, &str); 15] = [
    ("id", "text"),
    ("programme_id", "text"),
    ("region_code", "text"),
    ("as_of", "text"),
    ("rule_id", "text"),
    ("subject", "text"),
    ("message", "text"),
    ("figure", "text"),
    ("threshold", "text"),
    ("record_version", "bigint"),
    ("status", "text"),
    ("note", "text"),
    ("updated_by", "text"),
    ("updated_at", "text"),
    ("version", "bigint"),
];

/// A warning as computed, before it is stored.
#[derive(Debug, Clone)]
pub struct Raised {
    pub rule_id: String,
    pub subject: String,
    pub message: String,
    pub figure: String,
    pub threshold: String,
}

/// Records in one import from which its tables are analysed before it commits.
const ANALYZE_AFTER: usize = 10_000;

const RECORD_COLUMNS: &str =
    "programme_id, as_of, version, goal_version, budget_fen, arrived_fen, paid_fen, spent_fen, \
     expected_carryover_fen, indicators_json, rule_set_id, import_id, correction_reason, recorded_by, recorded_at";
const WARNING_COLUMNS: &str = "id, programme_id, region_code, as_of, rule_id, subject, message, figure, threshold, \
     record_version, status, note, updated_by, updated_at, version";

fn read_record(r: &AnyRow) -> Result<RecordRow, sqlx::Error> {
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

fn read_warning(r: &AnyRow) -> Result<WarningRow, sqlx::Error> {
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

fn audit_json<T: Serialize>(v: &T) -> serde_json::Value {
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
            Some(e) => {
                let (status, note) = if e.status == "RESOLVED" {
                    ("OPEN".to_string(), format!("第{}版检查点数字再次触发", row.version))
                } else {
                    (e.status.clone(), e.note.clone())
                };
                sqlx::query(
                    "UPDATE budget_warnings SET message = $1, figure = $2, threshold = $3, record_version = $4, status = $5, \
                     note = $6, updated_by = $7, updated_at = $8, version = version + 1 WHERE id = $9",
                )
                .bind(&w.message)
                .bind(&w.figure)
                .bind(&w.threshold)
                .bind(row.version)
                .bind(&status)
                .bind(&note)
                .bind(&who.subject)
                .bind(&stamp)
                .bind(&e.id)
                .execute(&mut *tx)
                .await?;
                warnings.push(WarningRow {
                    message: w.message.clone(),
                    figure: w.figure.clone(),
                    threshold: w.threshold.clone(),
                    record_version: row.version,
                    status,
                    note,
                    updated_by: who.subject.clone(),
                    updated_at: stamp.clone(),
                    version: e.version + 1,
                    ..e.clone()
                });
            }
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
        sqlx::query(
            "UPDATE budget_warnings SET status = 'RESOLVED', note = $1, updated_by = $2, updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .bind(format!("第{}版检查点数字不再触发", row.version))
        .bind(&who.subject)
        .bind(&stamp)
        .bind(&e.id)
        .execute(&mut *tx)
        .await?;
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

pub async fn get_warning(db: &Database, id: &str) -> StoreResult<Option<WarningRow>> {
    let row = sqlx::query(&format!("SELECT {WARNING_COLUMNS} FROM budget_warnings WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(read_warning).transpose()?)
}

pub struct WarningFilter<'a> {
    pub region_prefix: String,
    pub as_of: &'a str,
    pub status: &'a str,
    pub programme_id: &'a str,
    /// A bureau sees the warnings of its own programmes only.
    pub owner_role: &'a str,
    pub after: &'a str,
    pub limit: i64,
}

pub async fn list_warnings(db: &Database, f: &WarningFilter<'_>) -> StoreResult<Vec<WarningRow>> {
    // Only the filters given appear in the statement, so each shape has a plan that can use
    // its index (a catch-all "($n = '' OR …)" statement cannot).
    let mut conditions = vec!["region_code LIKE $1".to_string(), "id > $2".to_string()];
    let mut binds: Vec<String> = vec![format!("{}%", f.region_prefix), f.after.to_string()];
    let mut add = |sql: &str, value: &str| {
        if !value.is_empty() {
            binds.push(value.to_string());
            conditions.push(sql.replace('?', &format!("${}", binds.len())));
        }
    };
    add("as_of = ?", f.as_of);
    add("status = ?", f.status);
    add("programme_id = ?", f.programme_id);
    add("programme_id IN (SELECT id FROM budget_programmes WHERE owner_role = ?)", f.owner_role);
    let sql = format!(
        "SELECT {WARNING_COLUMNS} FROM budget_warnings WHERE {} ORDER BY id LIMIT {}",
        conditions.join(" AND "),
        f.limit.clamp(1, 1001)
    );
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&db.pool).await?;
    Ok(rows.iter().map(read_warning).collect::<Result<_, _>>()?)
}

/// A warning's step: from one of `from` to `to`, with a note.
pub struct Transition<'a> {
    pub from: &'a [&'a str],
    pub to: &'a str,
    pub note: &'a str,
}

/// Move a warning at version `expected` as `t` says.
pub async fn update_warning(
    db: &Database,
    who: &Caller,
    request_id: &str,
    id: &str,
    expected: i64,
    t: &Transition<'_>,
) -> StoreResult<WarningRow> {
    let (from, to, note) = (t.from, t.to, t.note);
    let mut tx = db.begin().await?;
    let before = sqlx::query(&format!("SELECT {WARNING_COLUMNS} FROM budget_warnings WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(read_warning)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("warning {id}")))?;
    if before.version != expected {
        return Err(StoreError::VersionConflict(format!(
            "warning {id} is at version {}, not {expected}",
            before.version
        )));
    }
    if !from.contains(&before.status.as_str()) {
        return Err(StoreError::State(
            "STEP_OUT_OF_ORDER",
            format!("warning {id} is {}: it cannot become {to} (only from {})", before.status, from.join(" or ")),
        ));
    }
    let mut after = before.clone();
    after.status = to.into();
    after.note = note.into();
    after.updated_by = who.subject.clone();
    after.updated_at = now();
    after.version = expected + 1;
    let done = sqlx::query(
        "UPDATE budget_warnings SET status = $1, note = $2, updated_by = $3, updated_at = $4, version = $5 WHERE id = $6 AND version = $7",
    )
    .bind(&after.status)
    .bind(&after.note)
    .bind(&after.updated_by)
    .bind(&after.updated_at)
    .bind(after.version)
    .bind(id)
    .bind(expected)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::VersionConflict(format!("warning {id} changed meanwhile")));
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: format!("warning.{}", to.to_lowercase()),
            entity: "warning".into(),
            entity_id: id.into(),
            region: before.region_code.clone(),
            before: Some(audit_json(&before)),
            after: Some(audit_json(&after)),
            reason: note.into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// The region a code prefix stands for ("4117" → "411700").
fn prefix_region(prefix: &str) -> String {
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

/// One programme's part of an import: its record and the warnings it raises.
pub struct Imported {
    pub record: RecordRow,
    pub region_code: String,
    pub raised: Vec<Raised>,
    /// The thresholds it was judged by: an index into the import's distinct rule sets.
    pub rule_set: usize,
}

/// An import's checkpoints and the distinct rule sets they were judged by.
pub struct Batch {
    pub items: Vec<Imported>,
    pub rule_sets: Vec<String>,
}

/// Store a checkpoint's records for many programmes in one transaction, a few hundred rows per
/// statement: records (a new version where one exists and `correction`), their warnings (kept,
/// reopened, resolved or opened as for a single record), one audit entry per record.
pub async fn import(
    db: &Database,
    who: &Caller,
    request_id: &str,
    as_of: &str,
    prefix: &str,
    batch: Batch,
    correction: &str,
) -> StoreResult<(usize, usize)> {
    let Batch { items, rule_sets } = batch;
    let started = std::time::Instant::now();
    let phase =
        |what: &str| tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "monitoring import: {what}");
    let mut tx = db.begin().await?;
    let mut versions = std::collections::HashMap::new();
    for r in sqlx::query(
        "SELECT r.programme_id, MAX(r.version) AS v FROM budget_monitoring_records r JOIN budget_programmes p ON p.id = r.programme_id \
         WHERE r.as_of = $1 AND p.region_code LIKE $2 GROUP BY r.programme_id",
    )
    .bind(as_of)
    .bind(format!("{prefix}%"))
    .fetch_all(&mut *tx)
    .await?
    {
        versions.insert(r.try_get::<String, _>("programme_id")?, r.try_get::<i64, _>("v")?);
    }
    let mut existing: std::collections::HashMap<(String, String, String), WarningRow> =
        std::collections::HashMap::new();
    for r in
        sqlx::query(&format!("SELECT {WARNING_COLUMNS} FROM budget_warnings WHERE as_of = $1 AND region_code LIKE $2"))
            .bind(as_of)
            .bind(format!("{prefix}%"))
            .fetch_all(&mut *tx)
            .await?
    {
        let w = read_warning(&r)?;
        existing.insert((w.programme_id.clone(), w.rule_id.clone(), w.subject.clone()), w);
    }
    let stamp = now();
    let import_id = uuid::Uuid::new_v4().to_string();
    let mut rule_set_ids = Vec::with_capacity(rule_sets.len());
    for json in &rule_sets {
        rule_set_ids.push(insert_rule_set(&mut tx, json).await?);
    }
    let mut records = Vec::with_capacity(items.len());
    let mut new_warnings = Vec::new();
    let mut changes = Vec::with_capacity(items.len());
    let mut warning_count = 0usize;
    for it in items {
        let mut rec = it.record;
        let at = versions.get(&rec.programme_id).copied();
        if at.is_some() && correction.is_empty() {
            return Err(StoreError::Duplicate(format!(
                "checkpoint {as_of} of programme {} (import again with a correction_reason)",
                rec.programme_id
            )));
        }
        rec.version = at.unwrap_or(0) + 1;
        rec.recorded_by = who.subject.clone();
        rec.recorded_at = stamp.clone();
        rec.correction_reason = correction.into();
        rec.rule_set_id = rule_set_ids
            .get(it.rule_set)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("import: no rule set {}", it.rule_set)))?;
        rec.import_id = import_id.clone();
        for w in it.raised {
            warning_count += 1;
            let before = if existing.is_empty() {
                None
            } else {
                existing.remove(&(rec.programme_id.clone(), w.rule_id.clone(), w.subject.clone()))
            };
            match before {
                Some(e) => {
                    let (status, note) = if e.status == "RESOLVED" {
                        ("OPEN".to_string(), format!("第{}版检查点数字再次触发", rec.version))
                    } else {
                        (e.status.clone(), e.note.clone())
                    };
                    let after = WarningRow {
                        message: w.message.clone(),
                        figure: w.figure.clone(),
                        threshold: w.threshold.clone(),
                        record_version: rec.version,
                        status: status.clone(),
                        note: note.clone(),
                        version: e.version + 1,
                        ..e.clone()
                    };
                    changes.push(Change {
                        action: "warning.reevaluate".into(),
                        entity: "warning".into(),
                        entity_id: e.id.clone(),
                        region: e.region_code.clone(),
                        before: Some(audit_json(&e)),
                        after: Some(audit_json(&after)),
                        reason: correction.into(),
                    });
                    sqlx::query(
                        "UPDATE budget_warnings SET message = $1, figure = $2, threshold = $3, record_version = $4, status = $5, \
                         note = $6, updated_by = $7, updated_at = $8, version = version + 1 WHERE id = $9",
                    )
                    .bind(&w.message)
                    .bind(&w.figure)
                    .bind(&w.threshold)
                    .bind(rec.version)
                    .bind(&status)
                    .bind(&note)
                    .bind(&who.subject)
                    .bind(&stamp)
                    .bind(&e.id)
                    .execute(&mut *tx)
                    .await?;
                }
                None => new_warnings.push(WarningRow {
                    id: String::new(),
                    programme_id: rec.programme_id.clone(),
                    region_code: it.region_code.clone(),
                    as_of: as_of.into(),
                    rule_id: w.rule_id,
                    subject: w.subject,
                    message: w.message,
                    figure: w.figure,
                    threshold: w.threshold,
                    record_version: rec.version,
                    status: "OPEN".into(),
                    note: String::new(),
                    updated_by: who.subject.clone(),
                    updated_at: stamp.clone(),
                    version: 1,
                }),
            }
        }
        records.push(rec);
    }
    // New warnings in key order with time-ordered ids: each index then grows at its end instead
    // of at random pages (the ids stay opaque; pages still follow them).
    new_warnings.sort_unstable_by(|a, b| {
        (&a.programme_id, &a.rule_id, &a.subject).cmp(&(&b.programme_id, &b.rule_id, &b.subject))
    });
    for w in &mut new_warnings {
        w.id = uuid::Uuid::now_v7().to_string();
    }
    records.sort_unstable_by(|a, b| a.programme_id.cmp(&b.programme_id));
    phase("prepared");
    // Warnings of these programmes that the figures no longer raise.
    let imported: std::collections::HashSet<&str> = records.iter().map(|r| r.programme_id.as_str()).collect();
    for e in existing.values().filter(|e| e.status != "RESOLVED" && imported.contains(e.programme_id.as_str())) {
        let mut after = e.clone();
        after.status = "RESOLVED".into();
        after.note = "更正后的检查点数字不再触发".into();
        after.version += 1;
        changes.push(Change {
            action: "warning.resolve".into(),
            entity: "warning".into(),
            entity_id: e.id.clone(),
            region: e.region_code.clone(),
            before: Some(audit_json(e)),
            after: Some(audit_json(&after)),
            reason: correction.into(),
        });
        sqlx::query(
            "UPDATE budget_warnings SET status = 'RESOLVED', note = $1, updated_by = $2, updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .bind("更正后的检查点数字不再触发")
        .bind(&who.subject)
        .bind(&stamp)
        .bind(&e.id)
        .execute(&mut *tx)
        .await?;
    }
    let postgres = db.backend == civic_runtime::storage::Backend::Postgres;
    let conflict = |e: sqlx::Error, what: &str| {
        if is_unique_violation(&e) {
            StoreError::VersionConflict(format!("{what} of checkpoint {as_of} changed meanwhile: import again"))
        } else {
            e.into()
        }
    };
    if postgres {
        super::insert_arrays(&mut tx, "budget_monitoring_records", &RECORD_TYPES, &records)
            .await
            .map_err(|e| conflict(e, "the records"))?;
    }
    for chunk in records.chunks(super::BATCH_ROWS).filter(|_| !postgres) {
        let sql = format!(
            "INSERT INTO budget_monitoring_records ({RECORD_COLUMNS}) VALUES {}",
            super::values_sql(15, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.programme_id.clone())
                .bind(r.as_of.clone())
                .bind(r.version)
                .bind(r.goal_version)
                .bind(r.budget_fen)
                .bind(r.arrived_fen)
                .bind(r.paid_fen)
                .bind(r.spent_fen)
                .bind(r.expected_carryover_fen)
                .bind(r.indicators_json.clone())
                .bind(r.rule_set_id.clone())
                .bind(r.import_id.clone())
                .bind(r.correction_reason.clone())
                .bind(r.recorded_by.clone())
                .bind(r.recorded_at.clone());
        }
        q.execute(&mut *tx).await.map_err(|e| conflict(e, "the records"))?;
    }
    phase("records inserted");
    if postgres {
        super::insert_arrays(&mut tx, "budget_warnings", &WARNING_TYPES, &new_warnings)
            .await
            .map_err(|e| conflict(e, "the warnings"))?;
    }
    for chunk in new_warnings.chunks(super::BATCH_ROWS).filter(|_| !postgres) {
        let sql =
            format!("INSERT INTO budget_warnings ({WARNING_COLUMNS}) VALUES {}", super::values_sql(15, chunk.len()));
        let mut q = sqlx::query(&sql);
        for w in chunk {
            q = q
                .bind(w.id.clone())
                .bind(w.programme_id.clone())
                .bind(w.region_code.clone())
                .bind(w.as_of.clone())
                .bind(w.rule_id.clone())
                .bind(w.subject.clone())
                .bind(w.message.clone())
                .bind(w.figure.clone())
                .bind(w.threshold.clone())
                .bind(w.record_version)
                .bind(w.status.clone())
                .bind(w.note.clone())
                .bind(w.updated_by.clone())
                .bind(w.updated_at.clone())
                .bind(w.version);
        }
        q.execute(&mut *tx).await.map_err(|e| conflict(e, "the warnings"))?;
    }
    phase("warnings inserted");
    // A large load changes the tables' statistics at once; PostgreSQL would plan the next reads
    // on the old ones (an empty table: a whole-checkpoint sort for every page of warnings) until
    // autovacuum comes round. Analysed in the same transaction, the new statistics are there
    // when the rows are.
    if postgres && records.len() >= ANALYZE_AFTER {
        sqlx::query("ANALYZE budget_monitoring_records, budget_warnings").execute(&mut *tx).await?;
        phase("analysed");
    }
    // The import itself: its records carry its id (a correction adds versions, the earlier ones
    // stay); warnings it changed are entered one by one above with their before-state.
    changes.push(Change {
        action: if correction.is_empty() { "monitoring.import".into() } else { "monitoring.import_correct".into() },
        entity: "monitoring_import".into(),
        entity_id: import_id.clone(),
        region: prefix_region(prefix),
        before: None,
        after: Some(serde_json::json!({
            "as_of": as_of,
            "records": records.len(),
            "new_warnings": new_warnings.len(),
            "programmes": records.iter().map(|r| r.programme_id.as_str()).collect::<Vec<_>>(),
            "rule_sets": rule_set_ids,
        })),
        reason: correction.into(),
    });
    super::audit_many(&mut tx, who, request_id, &changes).await?;
    phase("audited");
    tx.commit().await?;
    phase("committed");
    Ok((records.len(), warning_count))
}
