//! Yearly records: cluster land-efficiency evaluations, the "危污乱散低" targets per town, and the
//! towns' monthly reports with their verification. Each change is written with its audit entry
//! in one transaction.

use civic_runtime::{audit, identity::Caller, storage::Database};

use super::StoreError;
use serde::{Deserialize, Serialize};
use sqlx::{any::AnyRow, Row};

use crate::store::now;

/// One cluster's recorded evaluation (the wire message's fields, kept as JSON).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct EvaluationRecord {
    pub cluster_id: String,
    pub region_code: String,
    pub score: String,
    pub rank: i64,
    pub class: String,
    pub contributions: Vec<String>,
    pub note: String,
    pub outcome: String,
    pub measures: Vec<String>,
    pub quota_change_mu: String,
    pub expansion_priority: bool,
    pub approvals_suspended: bool,
}

pub async fn record_evaluations(
    db: &Database,
    who: &Caller,
    request_id: &str,
    (region, year, scheme): (&str, i32, &str),
    rows: &[EvaluationRecord],
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let at = now();
    for r in rows {
        let json = serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO cluster_evaluations (cluster_id, year, region_code, scheme, result_json, evaluated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cluster_id, year) DO UPDATE SET region_code = excluded.region_code, \
             scheme = excluded.scheme, result_json = excluded.result_json, evaluated_at = excluded.evaluated_at",
        )
        .bind(&r.cluster_id)
        .bind(i64::from(year))
        .bind(&r.region_code)
        .bind(scheme)
        .bind(json)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    }
    let outcomes: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({ "cluster_id": r.cluster_id, "class": r.class, "outcome": r.outcome, "quota_change_mu": r.quota_change_mu }))
        .collect();
    let change = audit::Change {
        action: "cluster.evaluate".into(),
        entity: "cluster_evaluations".into(),
        entity_id: format!("{region}/{year}/{scheme}"),
        region: region.to_string(),
        before: None,
        after: Some(serde_json::json!({ "year": year, "scheme": scheme, "clusters": outcomes })),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

/// The latest recorded evaluation of a cluster, with its year.
pub async fn latest_evaluation(db: &Database, cluster: &str) -> Result<Option<(i32, EvaluationRecord)>, StoreError> {
    let row = sqlx::query(
        "SELECT year, result_json FROM cluster_evaluations WHERE cluster_id = $1 ORDER BY year DESC LIMIT 1",
    )
    .bind(cluster)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let year: i64 = row.try_get("year")?;
    let json: String = row.try_get("result_json")?;
    let rec = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("cluster evaluation: {e}")))?;
    Ok(Some((i32::try_from(year).unwrap_or_default(), rec)))
}

/// One town's share of the year's tasks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TownTarget {
    pub town: String,
    pub area_mu: rust_decimal::Decimal,
    pub contiguous_area_mu: rust_decimal::Decimal,
    pub contiguous_parks: i32,
}

#[derive(Debug, Clone)]
pub struct Targets {
    pub region_code: String,
    pub year: i32,
    pub document: String,
    pub towns: Vec<TownTarget>,
    pub version: i64,
}

fn targets_from(r: &AnyRow) -> Result<Targets, StoreError> {
    let json: String = r.try_get("towns_json")?;
    let year: i64 = r.try_get("year")?;
    Ok(Targets {
        region_code: r.try_get("region_code")?,
        year: i32::try_from(year).unwrap_or_default(),
        document: r.try_get("document")?,
        towns: serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("campaign targets: {e}")))?,
        version: r.try_get("version")?,
    })
}

const TARGET_COLUMNS: &str = "region_code, year, document, towns_json, version";

pub async fn targets(db: &Database, region: &str, year: i32) -> Result<Option<Targets>, StoreError> {
    let sql = format!("SELECT {TARGET_COLUMNS} FROM campaign_targets WHERE region_code = $1 AND year = $2");
    let row = sqlx::query(&sql).bind(region).bind(i64::from(year)).fetch_optional(&db.pool).await?;
    row.as_ref().map(targets_from).transpose()
}

fn targets_json(t: &Targets) -> serde_json::Value {
    serde_json::json!({ "year": t.year, "document": t.document, "towns": t.towns, "version": t.version })
}

/// Set the year's targets: create (expected 0) or replace the stored version.
pub async fn set_targets(
    db: &Database,
    who: &Caller,
    request_id: &str,
    t: &Targets,
    expected: i64,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let sql = format!("SELECT {TARGET_COLUMNS} FROM campaign_targets WHERE region_code = $1 AND year = $2");
    let before = sqlx::query(&sql).bind(&t.region_code).bind(i64::from(t.year)).fetch_optional(&mut *tx).await?;
    let before = before.as_ref().map(targets_from).transpose()?;
    let what = format!("the {} targets of {}", t.year, t.region_code);
    match (&before, expected) {
        (Some(_), 0) => return Err(StoreError::Duplicate(what)),
        (None, v) if v != 0 => return Err(StoreError::NotFound(what)),
        (Some(b), v) if b.version != v => {
            return Err(StoreError::VersionConflict(format!("{what} are at version {}, not {v}", b.version)))
        }
        _ => {}
    }
    let towns = serde_json::to_string(&t.towns).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = if before.is_none() {
        "INSERT INTO campaign_targets (region_code, year, document, towns_json, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
    } else {
        "UPDATE campaign_targets SET document = $3, towns_json = $4, version = $5, updated_at = $6 WHERE region_code = $1 AND year = $2"
    };
    sqlx::query(sql)
        .bind(&t.region_code)
        .bind(i64::from(t.year))
        .bind(&t.document)
        .bind(towns)
        .bind(t.version)
        .bind(now())
        .execute(&mut *tx)
        .await?;
    let change = audit::Change {
        action: if before.is_none() { "campaign.targets.set".into() } else { "campaign.targets.replace".into() },
        entity: "campaign_targets".into(),
        entity_id: format!("{}/{}", t.region_code, t.year),
        region: t.region_code.clone(),
        before: before.as_ref().map(targets_json),
        after: Some(targets_json(t)),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

/// A town's report of a month and, once verified, what the office confirmed.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub region_code: String,
    pub year: i32,
    pub town: String,
    pub month: i32,
    pub completed_area_mu: String,
    pub contiguous_area_mu: String,
    pub parks: i32,
    pub reported_on: String,
    pub reporter: String,
    pub note: String,
    pub verified_area_mu: String,
    pub verified_parks: i32,
    pub verified_on: String,
    pub verifier: String,
    pub verify_note: String,
}

const REPORT_COLUMNS: &str =
    "region_code, year, town, month, completed_area_mu, contiguous_area_mu, parks, reported_on, reporter, note, \
     verified_area_mu, verified_parks, verified_on, verifier, verify_note";

fn report_from(r: &AnyRow) -> Result<Report, StoreError> {
    let small = |v: i64| i32::try_from(v).unwrap_or_default();
    Ok(Report {
        region_code: r.try_get("region_code")?,
        year: small(r.try_get("year")?),
        town: r.try_get("town")?,
        month: small(r.try_get("month")?),
        completed_area_mu: r.try_get("completed_area_mu")?,
        contiguous_area_mu: r.try_get("contiguous_area_mu")?,
        parks: small(r.try_get("parks")?),
        reported_on: r.try_get("reported_on")?,
        reporter: r.try_get("reporter")?,
        note: r.try_get("note")?,
        verified_area_mu: r.try_get("verified_area_mu")?,
        verified_parks: small(r.try_get("verified_parks")?),
        verified_on: r.try_get("verified_on")?,
        verifier: r.try_get("verifier")?,
        verify_note: r.try_get("verify_note")?,
    })
}

async fn report_in<'e, E>(ex: E, region: &str, year: i32, town: &str, month: i32) -> Result<Option<Report>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM campaign_reports WHERE region_code = $1 AND year = $2 AND town = $3 AND month = $4"
    );
    let row = sqlx::query(&sql)
        .bind(region)
        .bind(i64::from(year))
        .bind(town)
        .bind(i64::from(month))
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(report_from).transpose()
}

/// The year's reports of a region (optionally one town), by town and month.
pub async fn reports(db: &Database, region: &str, year: i32, town: Option<&str>) -> Result<Vec<Report>, StoreError> {
    let sql = format!(
        "SELECT {REPORT_COLUMNS} FROM campaign_reports WHERE region_code = $1 AND year = $2 AND ($3 = '' OR town = $3) ORDER BY town, month"
    );
    let rows =
        sqlx::query(&sql).bind(region).bind(i64::from(year)).bind(town.unwrap_or("")).fetch_all(&db.pool).await?;
    rows.iter().map(report_from).collect()
}

/// File a town's report of a month, or correct it while it is not yet verified.
pub async fn file_report(db: &Database, who: &Caller, request_id: &str, r: &Report) -> Result<Report, StoreError> {
    let mut tx = db.begin().await?;
    let before = report_in(&mut *tx, &r.region_code, r.year, &r.town, r.month).await?;
    if let Some(b) = &before {
        if !b.verified_on.is_empty() {
            return Err(StoreError::State(
                "REPORT_VERIFIED",
                format!("the {} report of {} for month {} was verified on {}", r.year, r.town, r.month, b.verified_on),
            ));
        }
    }
    let sql = if before.is_none() {
        "INSERT INTO campaign_reports (region_code, year, town, month, completed_area_mu, contiguous_area_mu, parks, reported_on, reporter, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    } else {
        "UPDATE campaign_reports SET completed_area_mu = $5, contiguous_area_mu = $6, parks = $7, reported_on = $8, reporter = $9, note = $10 \
         WHERE region_code = $1 AND year = $2 AND town = $3 AND month = $4"
    };
    sqlx::query(sql)
        .bind(&r.region_code)
        .bind(i64::from(r.year))
        .bind(&r.town)
        .bind(i64::from(r.month))
        .bind(&r.completed_area_mu)
        .bind(&r.contiguous_area_mu)
        .bind(i64::from(r.parks))
        .bind(&r.reported_on)
        .bind(&r.reporter)
        .bind(&r.note)
        .execute(&mut *tx)
        .await?;
    let change = audit::Change {
        action: if before.is_none() { "campaign.report".into() } else { "campaign.report.correct".into() },
        entity: "campaign_report".into(),
        entity_id: format!("{}/{}/{}/{}", r.region_code, r.year, r.town, r.month),
        region: r.region_code.clone(),
        before: before.as_ref().and_then(|b| serde_json::to_value(b).ok()),
        after: serde_json::to_value(r).ok(),
        reason: String::new(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(r.clone())
}

/// What the office confirms of a report.
pub struct Verification<'a> {
    pub area_mu: &'a str,
    pub parks: i32,
    pub on: &'a str,
    pub note: &'a str,
}

/// Verify a filed report once; `check` sees the report before anything is written.
pub async fn verify_report<E: From<StoreError> + From<sqlx::Error>>(
    db: &Database,
    who: &Caller,
    request_id: &str,
    key: (&str, i32, &str, i32),
    v: Verification<'_>,
    check: impl FnOnce(&Report) -> Result<(), E>,
) -> Result<Report, E> {
    let (region, year, town, month) = key;
    let mut tx = db.begin().await?;
    let before = report_in(&mut *tx, region, year, town, month)
        .await?
        .ok_or_else(|| E::from(StoreError::NotFound(format!("the {year} report of {town} for month {month}"))))?;
    if !before.verified_on.is_empty() {
        return Err(StoreError::State(
            "REPORT_VERIFIED",
            format!("the {year} report of {town} for month {month} was verified on {}", before.verified_on),
        )
        .into());
    }
    check(&before)?;
    sqlx::query(
        "UPDATE campaign_reports SET verified_area_mu = $5, verified_parks = $6, verified_on = $7, verifier = $8, verify_note = $9 \
         WHERE region_code = $1 AND year = $2 AND town = $3 AND month = $4",
    )
    .bind(region)
    .bind(i64::from(year))
    .bind(town)
    .bind(i64::from(month))
    .bind(v.area_mu)
    .bind(i64::from(v.parks))
    .bind(v.on)
    .bind(&who.subject)
    .bind(v.note)
    .execute(&mut *tx)
    .await?;
    let after = Report {
        verified_area_mu: v.area_mu.to_string(),
        verified_parks: v.parks,
        verified_on: v.on.to_string(),
        verifier: who.subject.clone(),
        verify_note: v.note.to_string(),
        ..before.clone()
    };
    let change = audit::Change {
        action: "campaign.report.verify".into(),
        entity: "campaign_report".into(),
        entity_id: format!("{region}/{year}/{town}/{month}"),
        region: region.to_string(),
        before: serde_json::to_value(&before).ok(),
        after: serde_json::to_value(&after).ok(),
        reason: String::new(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(after)
}
