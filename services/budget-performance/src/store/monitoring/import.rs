//! A region's checkpoint stored at once: records and warnings in one transaction (on
//! PostgreSQL one array per column), corrections re-evaluating what they change, the tables
//! analysed after a large load.

use civic_runtime::{audit::Change, identity::Caller, storage::Database};
use sqlx::Row;

use super::*;
use crate::store::{is_unique_violation, now, StoreError, StoreResult};

impl crate::store::ArrayRow for RecordRow {
    fn cells(&self) -> Vec<crate::store::Cell<'_>> {
        use crate::store::Cell::{Int, Text};
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

impl crate::store::ArrayRow for WarningRow {
    fn cells(&self) -> Vec<crate::store::Cell<'_>> {
        use crate::store::Cell::{Int, Text};
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
/// [`crate::store::insert_arrays`].
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

/// Records in one import from which its tables are analysed before it commits.
const ANALYZE_AFTER: usize = 10_000;

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
                    let after = super::raise_again(&mut tx, &e, &w, rec.version, who, &stamp).await?;
                    changes.push(Change {
                        action: "warning.reevaluate".into(),
                        entity: "warning".into(),
                        entity_id: e.id.clone(),
                        region: e.region_code.clone(),
                        before: Some(audit_json(&e)),
                        after: Some(audit_json(&after)),
                        reason: correction.into(),
                    });
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
        let after = super::resolve_unraised(&mut tx, e, "更正后的检查点数字不再触发", who, &stamp).await?;
        changes.push(Change {
            action: "warning.resolve".into(),
            entity: "warning".into(),
            entity_id: e.id.clone(),
            region: e.region_code.clone(),
            before: Some(audit_json(e)),
            after: Some(audit_json(&after)),
            reason: correction.into(),
        });
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
        crate::store::insert_arrays(&mut tx, "budget_monitoring_records", &RECORD_TYPES, &records)
            .await
            .map_err(|e| conflict(e, "the records"))?;
    }
    for chunk in records.chunks(crate::store::BATCH_ROWS).filter(|_| !postgres) {
        let sql = format!(
            "INSERT INTO budget_monitoring_records ({RECORD_COLUMNS}) VALUES {}",
            crate::store::values_sql(db.backend, 15, chunk.len())
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
        crate::store::insert_arrays(&mut tx, "budget_warnings", &WARNING_TYPES, &new_warnings)
            .await
            .map_err(|e| conflict(e, "the warnings"))?;
    }
    for chunk in new_warnings.chunks(crate::store::BATCH_ROWS).filter(|_| !postgres) {
        let sql = format!(
            "INSERT INTO budget_warnings ({WARNING_COLUMNS}) VALUES {}",
            crate::store::values_sql(db.backend, 15, chunk.len())
        );
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
    crate::store::audit_many(&mut tx, who, request_id, &changes).await?;
    phase("audited");
    tx.commit().await?;
    phase("committed");
    Ok((records.len(), warning_count))
}
