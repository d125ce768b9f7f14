//! The append-only audit log: every change is written in the same transaction as the change
//! itself, so a change without its audit entry (or the reverse) cannot exist.

use chrono::{SecondsFormat, Utc};
use civic_domain::RegionCode;
use sqlx::{AnyConnection, Row};

use crate::{identity::Caller, storage::Database};

/// What changed; who and when are taken from the caller and the clock.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub region: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: String,
}

impl Change {
    /// An entry for a read answered on someone's behalf (see [`read_on_behalf`]): what was read
    /// (`entity`, `entity_id`, of `region`) and the request's figures as `after`.
    pub fn read(
        action: &str,
        entity: &str,
        entity_id: impl Into<String>,
        region: impl Into<String>,
        request: serde_json::Value,
    ) -> Change {
        Change {
            action: action.into(),
            entity: entity.into(),
            entity_id: entity_id.into(),
            region: region.into(),
            after: Some(request),
            ..Change::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub actor_role: String,
    pub actor_region: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub region_code: String,
    pub before_json: String,
    pub after_json: String,
    pub reason: String,
    pub request_id: String,
    /// The civic service that called on the actor's behalf ("" for a direct call).
    pub via: String,
}

/// The columns of an entry, in the order of [`values`].
pub const COLUMNS: &str = "at, actor, actor_role, actor_region, action, entity, entity_id, region_code, \
     before_json, after_json, reason, request_id, via";

/// The statement that appends an entry; the thirteen parameters in column order.
pub const INSERT_SQL: &str = "INSERT INTO audit_log (at, actor, actor_role, actor_region, action, entity, entity_id, \
     region_code, before_json, after_json, reason, request_id, via) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// The thirteen values of an entry, in [`COLUMNS`] order: who (the person, and the service that
/// called on their behalf), when, what.
pub fn values(caller: &Caller, request_id: &str, change: &Change) -> [String; 13] {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    [
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        caller.subject.clone(),
        caller.role.as_str().to_string(),
        caller.scope.as_str().to_string(),
        change.action.clone(),
        change.entity.clone(),
        change.entity_id.clone(),
        change.region.clone(),
        json(&change.before),
        json(&change.after),
        change.reason.clone(),
        request_id.to_string(),
        caller.via.clone().unwrap_or_default(),
    ]
}

/// Append an entry on any connection (the portable pool's, or PostgreSQL's native one for bulk
/// loads), inside the caller's transaction.
pub async fn record_on<'c, DB, E>(
    conn: E,
    caller: &Caller,
    request_id: &str,
    change: &Change,
) -> Result<(), sqlx::Error>
where
    DB: sqlx::Database,
    E: sqlx::Executor<'c, Database = DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    let mut q = sqlx::query::<DB>(INSERT_SQL);
    for v in values(caller, request_id, change) {
        q = q.bind(v);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Append many entries in the caller's transaction, fifty to a statement.
pub async fn record_many(
    conn: &mut AnyConnection,
    caller: &Caller,
    request_id: &str,
    changes: &[Change],
) -> Result<(), sqlx::Error> {
    let backend = crate::storage::Backend::of(conn);
    for chunk in changes.chunks(50) {
        let sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES {}", backend.rows(chunk.len(), 13, 1));
        let mut q = sqlx::query(&sql);
        for c in chunk {
            for v in values(caller, request_id, c) {
                q = q.bind(v);
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn record(
    conn: &mut AnyConnection,
    caller: &Caller,
    request_id: &str,
    change: &Change,
) -> Result<(), sqlx::Error> {
    record_on(conn, caller, request_id, change).await
}

/// A read that another civic service made on `caller`'s behalf, appended to the log with the
/// person and that service; a direct read is not (the log records changes, and what crossed a
/// service boundary on someone's authority). Only an answered read is recorded, and a read whose
/// entry cannot be written is not answered.
pub async fn read_on_behalf<T>(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    change: impl FnOnce() -> Change,
    answer: Result<T, crate::error::ApiError>,
) -> Result<T, crate::error::ApiError> {
    if caller.via.is_none() {
        return answer;
    }
    let answer = answer?;
    let mut conn = db.pool.acquire().await?;
    record(&mut conn, caller, request_id, &change()).await?;
    Ok(answer)
}

/// The code prefix shared by a region and everything under it (GB/T 2260 codes are
/// hierarchical: 210500 → "2105", 210000 → "21", 000000 → "").
pub fn region_prefix(code: RegionCode) -> String {
    let s = code.as_str();
    if s == "000000" {
        String::new()
    } else if s.ends_with("0000") {
        s[..2].to_string()
    } else if s.ends_with("00") {
        s[..4].to_string()
    } else {
        s.to_string()
    }
}

pub struct AuditFilter {
    pub region_prefix: String,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Entries with id greater than this (keyset pagination).
    pub after_id: i64,
    pub limit: i64,
}

pub async fn list(db: &Database, f: &AuditFilter) -> Result<Vec<AuditRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, actor, actor_role, actor_region, action, entity, entity_id, region_code, before_json, after_json, reason, request_id, via \
         FROM audit_log WHERE region_code LIKE $1 AND ($2 = '' OR entity = $2) AND ($3 = '' OR entity_id = $3) AND id > $4 \
         ORDER BY id LIMIT $5",
    )
    .bind(format!("{}%", f.region_prefix))
    .bind(f.entity.clone().unwrap_or_default())
    .bind(f.entity_id.clone().unwrap_or_default())
    .bind(f.after_id)
    .bind(f.limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditRow {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                actor_role: r.try_get("actor_role")?,
                actor_region: r.try_get("actor_region")?,
                action: r.try_get("action")?,
                entity: r.try_get("entity")?,
                entity_id: r.try_get("entity_id")?,
                region_code: r.try_get("region_code")?,
                before_json: r.try_get("before_json")?,
                after_json: r.try_get("after_json")?,
                reason: r.try_get("reason")?,
                request_id: r.try_get("request_id")?,
                via: r.try_get("via")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_code_hierarchy() {
        let p = |s: &str| region_prefix(RegionCode::parse(s).unwrap());
        assert_eq!(p("000000"), "");
        assert_eq!(p("210000"), "21");
        assert_eq!(p("210500"), "2105");
        assert_eq!(p("210521"), "210521");
    }
}
