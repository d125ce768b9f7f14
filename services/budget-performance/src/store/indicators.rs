//! `budget_indicator_templates`: the indicator library, one row per region and code.

use civic_runtime::{
    audit::{self, Change},
    identity::Caller,
    storage::Database,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{is_unique_violation, now, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Template {
    pub code: String,
    pub region_code: String,
    pub level1: String,
    pub level2: String,
    pub level3: String,
    pub unit: String,
    pub direction: String,
    pub deduction: bool,
    pub deduction_step: String,
    pub deduction_floor: String,
    pub formula: String,
    pub explanation: String,
    pub evaluation_points: String,
    pub value_basis: String,
    pub source: String,
    pub domains: Vec<String>,
    pub effective_from: String,
    pub effective_to: String,
    #[serde(skip)]
    pub version: i64,
}

fn read(r: &sqlx::any::AnyRow) -> StoreResult<Template> {
    let body: String = r.try_get("body_json")?;
    let mut t: Template =
        serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("indicator template: {e}")))?;
    t.version = r.try_get("version")?;
    Ok(t)
}

pub async fn get(db: &Database, region: &str, code: &str) -> StoreResult<Option<Template>> {
    let row =
        sqlx::query("SELECT body_json, version FROM budget_indicator_templates WHERE region_code = $1 AND code = $2")
            .bind(region)
            .bind(code)
            .fetch_optional(&db.pool)
            .await?;
    row.as_ref().map(read).transpose()
}

/// Templates of any of `regions` in force on `date` (ISO).
pub async fn in_force(db: &Database, regions: &[String], date: &str) -> StoreResult<Vec<Template>> {
    let mut out = Vec::new();
    for region in regions {
        let rows = sqlx::query(
            "SELECT body_json, version FROM budget_indicator_templates WHERE region_code = $1 AND effective_from <= $2 \
             AND (effective_to = '' OR effective_to >= $2) ORDER BY code",
        )
        .bind(region)
        .bind(date)
        .fetch_all(&db.pool)
        .await?;
        for r in &rows {
            out.push(read(r)?);
        }
    }
    Ok(out)
}

pub async fn upsert(
    db: &Database,
    who: &Caller,
    request_id: &str,
    t: &Template,
    expected: i64,
) -> StoreResult<Template> {
    let mut row = t.clone();
    row.version = expected + 1;
    let body = serde_json::to_string(&row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut tx = db.begin().await?;
    let before: Option<Template> = {
        let r = sqlx::query(
            "SELECT body_json, version FROM budget_indicator_templates WHERE region_code = $1 AND code = $2",
        )
        .bind(&row.region_code)
        .bind(&row.code)
        .fetch_optional(&mut *tx)
        .await?;
        r.as_ref().map(read).transpose()?
    };
    match (&before, expected) {
        (Some(_), 0) => {
            return Err(StoreError::Duplicate(format!("indicator template {} of {}", row.code, row.region_code)))
        }
        (None, e) if e > 0 => {
            return Err(StoreError::NotFound(format!("indicator template {} of {}", row.code, row.region_code)))
        }
        (Some(b), e) if b.version != e => {
            return Err(StoreError::VersionConflict(format!(
                "indicator template {} is at version {}, not {e}",
                row.code, b.version
            )))
        }
        _ => {}
    }
    let done = if expected == 0 {
        sqlx::query(
            "INSERT INTO budget_indicator_templates (region_code, code, body_json, level1, domains, effective_from, effective_to, \
             version, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.region_code)
        .bind(&row.code)
        .bind(&body)
        .bind(&row.level1)
        .bind(row.domains.join(","))
        .bind(&row.effective_from)
        .bind(&row.effective_to)
        .bind(row.version)
        .bind(&who.subject)
        .bind(now())
        .execute(&mut *tx)
        .await
    } else {
        sqlx::query(
            "UPDATE budget_indicator_templates SET body_json = $1, level1 = $2, domains = $3, effective_from = $4, effective_to = $5, \
             version = $6, updated_by = $7, updated_at = $8 WHERE region_code = $9 AND code = $10 AND version = $11",
        )
        .bind(&body)
        .bind(&row.level1)
        .bind(row.domains.join(","))
        .bind(&row.effective_from)
        .bind(&row.effective_to)
        .bind(row.version)
        .bind(&who.subject)
        .bind(now())
        .bind(&row.region_code)
        .bind(&row.code)
        .bind(expected)
        .execute(&mut *tx)
        .await
    };
    match done {
        Ok(d) if d.rows_affected() == 1 => {}
        Ok(_) => return Err(StoreError::VersionConflict(format!("indicator template {} changed meanwhile", row.code))),
        Err(e) if is_unique_violation(&e) => {
            return Err(StoreError::Duplicate(format!("indicator template {} of {}", row.code, row.region_code)))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        who,
        request_id,
        &Change {
            action: if expected == 0 { "template.create".into() } else { "template.update".into() },
            entity: "indicator_template".into(),
            entity_id: format!("{}/{}", row.region_code, row.code),
            region: row.region_code.clone(),
            before: before.as_ref().map(|b| serde_json::to_value(b).unwrap_or_default()),
            after: Some(serde_json::to_value(&row).unwrap_or_default()),
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}
