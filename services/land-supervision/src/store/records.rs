//! Enterprises' yearly figures: imported from CSV or XLSX (row-level errors, nothing stored
//! unless every row is right), evaluated per mu, and the results kept per year and scheme.

use std::collections::{BTreeMap, HashSet};

use civic_domain::{region::RegionTree, RegionCode};
use civic_runtime::{
    audit,
    identity::Caller,
    storage::Database,
    tabular::{for_each_row, Format},
};
use rust_decimal::Decimal;
use sqlx::Row;

use super::StoreError;

#[derive(Debug, Clone)]
pub struct EnterpriseYear {
    pub enterprise_id: String,
    pub name: String,
    pub region: RegionCode,
    /// Indicator name → value (None when the cell is empty).
    pub values: BTreeMap<String, Option<Decimal>>,
    /// The file's row it came from (0 when read from the database).
    pub row: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: i64,
    pub field: String,
    pub message: String,
}

const FIXED: [&str; 3] = ["enterprise_id", "enterprise_name", "region_code"];

/// Parse a figures file: `enterprise_id, enterprise_name, region_code` and one column per
/// indicator (its name as header, e.g. 亩均税收).
/// Chinese headers clerks use for the fixed columns (indicator columns keep their own names).
pub const CHINESE_HEADERS: [(&str, &[&str]); 3] = [
    ("enterprise_id", &["企业编号", "统一社会信用代码", "企业代码"]),
    ("enterprise_name", &["企业名称", "名称"]),
    ("region_code", &["行政区划代码", "区划代码"]),
];

fn canonical_header(cell: &str) -> &str {
    CHINESE_HEADERS.iter().find(|(_, zh)| zh.contains(&cell)).map(|(c, _)| *c).unwrap_or(cell)
}

pub fn parse(
    format: Format,
    content: &[u8],
    tree: &RegionTree,
    scope: RegionCode,
) -> Result<Vec<EnterpriseYear>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut header: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let read = for_each_row(format, content, |rn, row| {
        if header.is_empty() {
            header =
                row.iter().map(|h| canonical_header(h.trim_start_matches('\u{feff}').trim()).to_string()).collect();
            for f in FIXED {
                if !header.iter().any(|h| h == f) {
                    errors.push(RowError { row: 1, field: f.into(), message: "missing column".into() });
                }
            }
            return;
        }
        if errors.iter().any(|e| e.row == 1) || row.iter().all(|c| c.is_empty()) {
            return;
        }
        let get = |name: &str| header.iter().position(|h| h == name).and_then(|i| row.get(i)).copied().unwrap_or("");
        let id = get("enterprise_id");
        if id.is_empty() || id.len() > 64 {
            errors.push(RowError {
                row: rn,
                field: "enterprise_id".into(),
                message: "required, at most 64 characters".into(),
            });
            return;
        }
        if !seen.insert(id.to_string()) {
            errors.push(RowError { row: rn, field: "enterprise_id".into(), message: format!("{id} appears twice") });
            return;
        }
        let region = match tree.resolve(get("region_code")) {
            Ok(r) if tree.is_within(r.code, scope) => r.code,
            Ok(r) => {
                errors.push(RowError {
                    row: rn,
                    field: "region_code".into(),
                    message: format!("{} is outside {scope}", r.code),
                });
                return;
            }
            Err(e) => {
                errors.push(RowError { row: rn, field: "region_code".into(), message: e.to_string() });
                return;
            }
        };
        let mut values = BTreeMap::new();
        for (i, h) in header.iter().enumerate() {
            if FIXED.contains(&h.as_str()) || h.is_empty() {
                continue;
            }
            let cell = row.get(i).copied().unwrap_or("");
            if cell.is_empty() {
                values.insert(h.clone(), None);
                continue;
            }
            match civic_runtime::request::decimal(h, cell) {
                Ok(d) if d >= Decimal::ZERO => {
                    values.insert(h.clone(), Some(d));
                }
                Ok(_) => errors.push(RowError {
                    row: rn,
                    field: h.clone(),
                    message: format!("'{cell}' is not a non-negative exact decimal"),
                }),
                Err(e) => errors.push(RowError { row: rn, field: h.clone(), message: e.to_string() }),
            }
        }
        out.push(EnterpriseYear {
            enterprise_id: id.into(),
            name: get("enterprise_name").into(),
            region,
            values,
            row: rn,
        });
    });
    if let Err(e) = read {
        errors.push(RowError { row: 0, field: String::new(), message: e });
    }
    if header.is_empty() {
        errors.push(RowError { row: 1, field: String::new(), message: "the file is empty".into() });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Store the year's figures of these enterprises, with one audit entry. The indicators in the
/// file replace the stored ones of the same name; the others stay (each bureau imports the
/// indicators it owns).
/// Store a year's figures, all or nothing. An enterprise already stored outside the caller's
/// scope (`scope_prefix`, as for any single write) is never overwritten: its row is returned as
/// an error and nothing is stored; the error does not say where the enterprise is. Each
/// enterprise created or changed gets its own audit entry with its state before and after.
#[allow(clippy::too_many_arguments)]
pub async fn store(
    db: &Database,
    who: &Caller,
    request_id: &str,
    year: i32,
    region: RegionCode,
    scope_prefix: &str,
    rows: &[EnterpriseYear],
    reason: &str,
) -> Result<Vec<RowError>, StoreError> {
    /// Enterprises a statement reads or writes at once.
    const BATCH: usize = 128;
    let mut tx = db.begin().await?;
    let backend = db.backend;
    let at = crate::store::now();
    let mut foreign = Vec::new();
    // A file names each enterprise once (the reader refuses it twice), so a batch's reads see
    // no write of the same batch.
    for batch in rows.chunks(BATCH) {
        let sql = format!(
            "SELECT enterprise_id, name, region_code, values_json FROM enterprise_figures WHERE year = {} AND enterprise_id IN ({})",
            backend.list(1, 1),
            backend.list(batch.len(), 2)
        );
        let mut q = sqlx::query(&sql).bind(i64::from(year));
        for r in batch {
            q = q.bind(&r.enterprise_id);
        }
        let mut stored: std::collections::HashMap<String, sqlx::any::AnyRow> = std::collections::HashMap::new();
        for row in q.fetch_all(&mut *tx).await? {
            stored.insert(row.try_get("enterprise_id")?, row);
        }
        let mut writes: Vec<(&EnterpriseYear, String)> = Vec::with_capacity(batch.len());
        let mut changes = Vec::with_capacity(batch.len());
        for r in batch {
            let (before, mut merged): (Option<serde_json::Value>, BTreeMap<String, Option<String>>) = match stored
                .get(&r.enterprise_id)
            {
                Some(row) => {
                    let stored_region: String = row.try_get("region_code")?;
                    if !stored_region.starts_with(scope_prefix) {
                        foreign.push(RowError {
                            row: r.row,
                            field: "enterprise_id".into(),
                            message: format!(
                                "enterprise '{}' cannot be written from {}: use the enterprise's own id",
                                r.enterprise_id, who.scope
                            ),
                        });
                        continue;
                    }
                    let json: String = row.try_get("values_json")?;
                    let values: BTreeMap<String, Option<String>> =
                        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let name: String = row.try_get("name")?;
                    (Some(serde_json::json!({ "name": name, "region_code": stored_region, "values": values })), values)
                }
                None => (None, BTreeMap::new()),
            };
            if !foreign.is_empty() {
                continue;
            }
            merged.extend(r.values.iter().map(|(k, v)| (k.clone(), v.map(|d| d.to_string()))));
            let json = serde_json::to_string(&merged).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            changes.push(audit::Change {
                action: if before.is_some() {
                    "enterprise_figures.replace".into()
                } else {
                    "enterprise_figures.create".into()
                },
                entity: "enterprise".into(),
                entity_id: format!("{}/{year}", r.enterprise_id),
                region: r.region.to_string(),
                before,
                after: Some(serde_json::json!({ "name": r.name, "region_code": r.region.as_str(), "values": merged })),
                reason: reason.to_string(),
            });
            writes.push((r, json));
        }
        if !foreign.is_empty() || writes.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO enterprise_figures (year, enterprise_id, name, region_code, values_json, imported_at) VALUES {} \
             ON CONFLICT (year, enterprise_id) DO UPDATE SET name = excluded.name, region_code = excluded.region_code, \
             values_json = excluded.values_json, imported_at = excluded.imported_at",
            backend.rows(writes.len(), 6, 1)
        );
        let mut q = sqlx::query(&sql);
        for (r, json) in &writes {
            q = q
                .bind(i64::from(year))
                .bind(&r.enterprise_id)
                .bind(&r.name)
                .bind(r.region.as_str())
                .bind(json)
                .bind(&at);
        }
        q.execute(&mut *tx).await?;
        audit::record_many(&mut tx, who, request_id, &changes).await?;
    }
    if !foreign.is_empty() {
        tx.rollback().await?;
        return Ok(foreign);
    }
    let change = audit::Change {
        action: "enterprise_figures.import".into(),
        entity: "enterprise_figures".into(),
        entity_id: format!("{region}/{year}"),
        region: region.to_string(),
        before: None,
        after: Some(serde_json::json!({ "year": year, "enterprises": rows.len() })),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(Vec::new())
}

pub async fn load(db: &Database, year: i32, prefix: &str) -> Result<Vec<EnterpriseYear>, StoreError> {
    let rows = sqlx::query("SELECT enterprise_id, name, region_code, values_json FROM enterprise_figures WHERE year = $1 AND region_code LIKE $2 ORDER BY enterprise_id")
        .bind(i64::from(year))
        .bind(format!("{prefix}%"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let json: String = r.try_get("values_json")?;
            let raw: BTreeMap<String, Option<String>> =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let region: String = r.try_get("region_code")?;
            Ok(EnterpriseYear {
                enterprise_id: r.try_get("enterprise_id")?,
                name: r.try_get("name")?,
                region: RegionCode::parse(&region).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                values: raw.into_iter().map(|(k, v)| (k, v.and_then(|s| s.parse().ok()))).collect(),
                row: 0,
            })
        })
        .collect()
}

/// One stored result.
#[derive(Debug, Clone)]
pub struct StoredResult {
    pub enterprise_id: String,
    pub region: String,
    pub score: String,
    pub rank: i64,
    pub class: String,
    pub note: String,
    /// When it was computed (RFC 3339); empty when not read back.
    pub evaluated_at: String,
}

/// Replace the results of (year, scheme) for these enterprises.
pub async fn store_results(
    db: &Database,
    who: &Caller,
    request_id: &str,
    year: i32,
    scheme: &str,
    region: RegionCode,
    results: &[StoredResult],
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let at = crate::store::now();
    for r in results {
        sqlx::query(
            "INSERT INTO per_mu_results (year, scheme, enterprise_id, region_code, score, rank, class, note, evaluated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (year, scheme, enterprise_id) DO UPDATE SET region_code = excluded.region_code, score = excluded.score, rank = excluded.rank, \
             class = excluded.class, note = excluded.note, evaluated_at = excluded.evaluated_at",
        )
        .bind(i64::from(year))
        .bind(scheme)
        .bind(&r.enterprise_id)
        .bind(&r.region)
        .bind(&r.score)
        .bind(r.rank)
        .bind(&r.class)
        .bind(&r.note)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    }
    let change = audit::Change {
        action: "per_mu.evaluate".into(),
        entity: "per_mu_results".into(),
        entity_id: format!("{region}/{year}/{scheme}"),
        region: region.to_string(),
        before: None,
        after: Some(serde_json::json!({ "year": year, "scheme": scheme, "enterprises": results.len() })),
        reason: String::new(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn d_class(
    db: &Database,
    year: i32,
    scheme: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query("SELECT enterprise_id, region_code FROM per_mu_results WHERE year = $1 AND scheme = $2 AND region_code LIKE $3 AND class = 'D' ORDER BY enterprise_id")
        .bind(i64::from(year))
        .bind(scheme)
        .bind(format!("{prefix}%"))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("enterprise_id")?, r.try_get("region_code")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Whether an open (not closed) case of `kind` exists for `subject`.
pub async fn open_case_exists(db: &Database, kind: &str, subject: &str) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM land_cases WHERE kind = $1 AND subject_id = $2 AND state NOT IN ('CLOSED', 'FILED')",
    )
    .bind(kind)
    .bind(subject)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(n > 0)
}

/// The stored results of (year, scheme) in a region, best first.
pub async fn results(db: &Database, year: i32, scheme: &str, prefix: &str) -> Result<Vec<StoredResult>, StoreError> {
    let rows = sqlx::query(
        "SELECT enterprise_id, region_code, score, rank, class, note, evaluated_at FROM per_mu_results WHERE year = $1 AND scheme = $2 AND region_code LIKE $3 \
         ORDER BY rank, enterprise_id",
    )
    .bind(i64::from(year))
    .bind(scheme)
    .bind(format!("{prefix}%"))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredResult {
                enterprise_id: r.try_get("enterprise_id")?,
                region: r.try_get("region_code")?,
                score: r.try_get("score")?,
                rank: r.try_get("rank")?,
                class: r.try_get("class")?,
                note: r.try_get("note")?,
                evaluated_at: r.try_get("evaluated_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
