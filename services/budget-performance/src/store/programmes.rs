//! `budget_programmes`: programmes (预算项目/政策) by region and budget year, versioned.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgrammeRow {
    pub id: String,
    pub region_code: String,
    pub budget_year: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub budget_kind: String,
    pub object_kind: String,
    pub owner_role: String,
    pub owner_unit: String,
    pub responsible_person: String,
    pub initial_budget_fen: i64,
    pub adjusted_budget_fen: i64,
    pub is_new: bool,
    pub is_major: bool,
    pub policy_end_date: String,
    pub version: i64,
    pub updated_at: String,
}

const COLUMNS: &str = "id, region_code, budget_year, code, name, kind, budget_kind, object_kind, owner_role, \
     owner_unit, responsible_person, initial_budget_fen, adjusted_budget_fen, is_new, is_major, policy_end_date, \
     version, updated_at";

fn read(r: &AnyRow) -> Result<ProgrammeRow, sqlx::Error> {
    Ok(ProgrammeRow {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        budget_year: r.try_get("budget_year")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        budget_kind: r.try_get("budget_kind")?,
        object_kind: r.try_get("object_kind")?,
        owner_role: r.try_get("owner_role")?,
        owner_unit: r.try_get("owner_unit")?,
        responsible_person: r.try_get("responsible_person")?,
        initial_budget_fen: r.try_get("initial_budget_fen")?,
        adjusted_budget_fen: r.try_get("adjusted_budget_fen")?,
        is_new: r.try_get::<i64, _>("is_new")? == 1,
        is_major: r.try_get::<i64, _>("is_major")? == 1,
        policy_end_date: r.try_get("policy_end_date")?,
        version: r.try_get("version")?,
        updated_at: r.try_get("updated_at")?,
    })
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Bind a programme's values in `COLUMNS` order.
fn bind_row<'q>(q: AnyQuery<'q>, p: &ProgrammeRow) -> AnyQuery<'q> {
    q.bind(p.id.clone())
        .bind(p.region_code.clone())
        .bind(p.budget_year)
        .bind(p.code.clone())
        .bind(p.name.clone())
        .bind(p.kind.clone())
        .bind(p.budget_kind.clone())
        .bind(p.object_kind.clone())
        .bind(p.owner_role.clone())
        .bind(p.owner_unit.clone())
        .bind(p.responsible_person.clone())
        .bind(p.initial_budget_fen)
        .bind(p.adjusted_budget_fen)
        .bind(i64::from(p.is_new))
        .bind(i64::from(p.is_major))
        .bind(p.policy_end_date.clone())
        .bind(p.version)
        .bind(p.updated_at.clone())
}

fn json(p: &ProgrammeRow) -> serde_json::Value {
    serde_json::to_value(p).unwrap_or_default()
}

pub async fn get(db: &Database, id: &str) -> StoreResult<Option<ProgrammeRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_programmes WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(read).transpose()?)
}

/// Create `p` (its id new, version 1).
pub async fn insert(
    db: &Database,
    who: &Caller,
    request_id: &str,
    p: &ProgrammeRow,
    reason: &str,
) -> StoreResult<ProgrammeRow> {
    let mut p = p.clone();
    p.version = 1;
    p.updated_at = now();
    let mut tx = db.begin().await?;
    let sql = format!("INSERT INTO budget_programmes ({COLUMNS}) VALUES {}", super::values_sql(db.backend, 18, 1));
    let done = bind_row(sqlx::query(&sql), &p).execute(&mut *tx).await;
    match done {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!(
                "programme {} of {} in {}",
                p.code, p.region_code, p.budget_year
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let change = Change {
        action: "create".into(),
        entity: "budget_programme".into(),
        entity_id: p.id.clone(),
        region: p.region_code.clone(),
        before: None,
        after: Some(json(&p)),
        reason: reason.into(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(p)
}

/// Change a programme from version `expected` (region, year and id stay).
pub async fn update(
    db: &Database,
    who: &Caller,
    request_id: &str,
    p: &ProgrammeRow,
    expected: i64,
    reason: &str,
) -> StoreResult<ProgrammeRow> {
    let mut tx = db.begin().await?;
    let before = sqlx::query(&format!("SELECT {COLUMNS} FROM budget_programmes WHERE id = $1"))
        .bind(&p.id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(read)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("programme {}", p.id)))?;
    let mut after = p.clone();
    after.version = expected + 1;
    after.updated_at = now();
    let done = sqlx::query(
        "UPDATE budget_programmes SET code = $1, name = $2, kind = $3, budget_kind = $4, object_kind = $5, \
         owner_role = $6, owner_unit = $7, responsible_person = $8, initial_budget_fen = $9, adjusted_budget_fen = $10, \
         is_new = $11, is_major = $12, policy_end_date = $13, version = $14, updated_at = $15 \
         WHERE id = $16 AND version = $17",
    )
    .bind(&after.code)
    .bind(&after.name)
    .bind(&after.kind)
    .bind(&after.budget_kind)
    .bind(&after.object_kind)
    .bind(&after.owner_role)
    .bind(&after.owner_unit)
    .bind(&after.responsible_person)
    .bind(after.initial_budget_fen)
    .bind(after.adjusted_budget_fen)
    .bind(i64::from(after.is_new))
    .bind(i64::from(after.is_major))
    .bind(&after.policy_end_date)
    .bind(after.version)
    .bind(&after.updated_at)
    .bind(&after.id)
    .bind(expected)
    .execute(&mut *tx)
    .await;
    let done = match done {
        Ok(d) => d,
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!(
                "programme {} of {} in {}",
                after.code, after.region_code, after.budget_year
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if done.rows_affected() == 0 {
        return Err(StoreError::VersionConflict(format!(
            "programme {} is at version {}, not {expected}",
            before.id, before.version
        )));
    }
    let change = Change {
        action: "update".into(),
        entity: "budget_programme".into(),
        entity_id: after.id.clone(),
        region: after.region_code.clone(),
        before: Some(json(&before)),
        after: Some(json(&after)),
        reason: reason.into(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(after)
}

/// Programmes of `year` whose region starts with `region_prefix` (a region and everything under
/// it), optionally of one owner role, after id `after` in id order.
pub async fn list(
    db: &Database,
    region_prefix: &str,
    year: i64,
    owner_role: Option<&str>,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<ProgrammeRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM budget_programmes WHERE budget_year = $1 AND region_code LIKE $2 \
         AND ($3 = '' OR owner_role = $3) AND id > $4 ORDER BY id LIMIT $5"
    ))
    .bind(year)
    .bind(format!("{region_prefix}%"))
    .bind(owner_role.unwrap_or_default())
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// A programme with whether it has an approved goal set, for coverage.
#[derive(Debug, Clone)]
pub struct Covered {
    pub programme: ProgrammeRow,
    pub approved: bool,
}

pub async fn coverage(db: &Database, region_prefix: &str, year: i64) -> StoreResult<Vec<Covered>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS}, CAST(CASE WHEN EXISTS (SELECT 1 FROM budget_goal_sets g WHERE g.programme_id = p.id \
         AND g.status = 'APPROVED') THEN 1 ELSE 0 END AS BIGINT) AS approved \
         FROM budget_programmes p WHERE budget_year = $1 AND region_code LIKE $2 ORDER BY region_code, code"
    ))
    .bind(year)
    .bind(format!("{region_prefix}%"))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok(Covered { programme: read(r)?, approved: r.try_get::<i64, _>("approved")? == 1 }))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Every programme of `year` in regions starting with `region_prefix`.
pub async fn all_for_year(db: &Database, region_prefix: &str, year: i64) -> StoreResult<Vec<ProgrammeRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM budget_programmes WHERE budget_year = $1 AND region_code LIKE $2 ORDER BY region_code, code"
    ))
    .bind(year)
    .bind(format!("{region_prefix}%"))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// Store an import in one transaction: new programmes created, changed ones updated from the
/// version they were read at; every record audited with its before-state.
pub async fn import(
    db: &Database,
    who: &Caller,
    request_id: &str,
    creates: &[ProgrammeRow],
    updates: &[(ProgrammeRow, ProgrammeRow)],
    reason: &str,
) -> StoreResult<()> {
    let mut tx = db.begin().await?;
    let stamp = now();
    let mut changes = Vec::with_capacity(creates.len() + updates.len());
    for chunk in creates.chunks(super::BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO budget_programmes ({COLUMNS}) VALUES {}",
            super::values_sql(db.backend, 18, chunk.len())
        );
        let rows: Vec<ProgrammeRow> =
            chunk.iter().map(|p| ProgrammeRow { version: 1, updated_at: stamp.clone(), ..p.clone() }).collect();
        let mut q = sqlx::query(&sql);
        for p in &rows {
            q = bind_row(q, p);
        }
        match q.execute(&mut *tx).await {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::VersionConflict(
                    "a programme of the file was created meanwhile: import again".into(),
                ))
            }
            Err(e) => return Err(e.into()),
        }
        for p in rows {
            changes.push(Change {
                action: "import.create".into(),
                entity: "budget_programme".into(),
                entity_id: p.id.clone(),
                region: p.region_code.clone(),
                before: None,
                after: Some(json(&p)),
                reason: reason.into(),
            });
        }
    }
    for (before, after) in updates {
        let mut after = after.clone();
        after.version = before.version + 1;
        after.updated_at = stamp.clone();
        let done = sqlx::query(
            "UPDATE budget_programmes SET name = $1, kind = $2, budget_kind = $3, object_kind = $4, owner_role = $5, \
             owner_unit = $6, responsible_person = $7, initial_budget_fen = $8, adjusted_budget_fen = $9, is_new = $10, \
             is_major = $11, policy_end_date = $12, version = $13, updated_at = $14 WHERE id = $15 AND version = $16",
        )
        .bind(&after.name)
        .bind(&after.kind)
        .bind(&after.budget_kind)
        .bind(&after.object_kind)
        .bind(&after.owner_role)
        .bind(&after.owner_unit)
        .bind(&after.responsible_person)
        .bind(after.initial_budget_fen)
        .bind(after.adjusted_budget_fen)
        .bind(i64::from(after.is_new))
        .bind(i64::from(after.is_major))
        .bind(&after.policy_end_date)
        .bind(after.version)
        .bind(&after.updated_at)
        .bind(&after.id)
        .bind(before.version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::VersionConflict(format!(
                "programme {} changed meanwhile: import again",
                before.code
            )));
        }
        changes.push(Change {
            action: "import.update".into(),
            entity: "budget_programme".into(),
            entity_id: after.id.clone(),
            region: after.region_code.clone(),
            before: Some(json(before)),
            after: Some(json(&after)),
            reason: reason.into(),
        });
    }
    super::audit_many(&mut tx, who, request_id, &changes).await?;
    tx.commit().await?;
    Ok(())
}
