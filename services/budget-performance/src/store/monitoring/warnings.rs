//! Warnings read, listed (by the filters given, so each shape has its plan) and moved from
//! one status to the next at a version, audited.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};

use super::*;
use crate::store::{now, StoreError, StoreResult};

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
