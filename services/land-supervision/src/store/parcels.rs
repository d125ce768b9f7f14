//! Clusters and parcels as stored records. A parcel's status moves forward along its life
//! (PLANNED → SOLD → UNDER_CONSTRUCTION → COMPLETED → IN_PRODUCTION) or to RECOVERED, and every
//! change of status is kept with its date; every write carries its audit entry.

use std::collections::BTreeMap;

use civic_runtime::{audit, identity::Caller, storage::Database};

use rust_decimal::Decimal;
use sqlx::{any::AnyRow, Row};

use super::{closed, StoreError};
use crate::rules::parcel::{LandUse, ParcelStatus, SupplyMode};

#[derive(Debug, Clone)]
pub struct ClusterRow {
    pub id: String,
    pub region_code: String,
    pub name: String,
    pub industry_led: bool,
    pub planned_area_mu: Decimal,
    pub used_area_mu: Decimal,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct ParcelRow {
    pub id: String,
    pub cluster_id: String,
    pub region_code: String,
    pub area_mu: Decimal,
    pub land_use: LandUse,
    pub supply_mode: SupplyMode,
    pub contract_no: String,
    pub agreement_no: String,
    pub contracted: BTreeMap<String, String>,
    pub milestones: BTreeMap<String, String>,
    pub status: ParcelStatus,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: ParcelStatus,
    pub on_date: String,
    pub actor: String,
    pub note: String,
}

fn dec(s: String) -> Result<Decimal, StoreError> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("stored area '{s}' is not a decimal")))
}

fn cluster_from(r: &AnyRow) -> Result<ClusterRow, StoreError> {
    Ok(ClusterRow {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        name: r.try_get("name")?,
        industry_led: r.try_get::<i64, _>("industry_led")? != 0,
        planned_area_mu: dec(r.try_get("planned_area_mu")?)?,
        used_area_mu: dec(r.try_get("used_area_mu")?)?,
        version: r.try_get("version")?,
    })
}

fn cluster_json(c: &ClusterRow) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "region_code": c.region_code, "name": c.name, "industry_led": c.industry_led,
        "planned_area_mu": c.planned_area_mu.to_string(), "used_area_mu": c.used_area_mu.to_string(), "version": c.version,
    })
}

fn parcel_json(p: &ParcelRow) -> serde_json::Value {
    serde_json::json!({
        "id": p.id, "cluster_id": p.cluster_id, "region_code": p.region_code, "area_mu": p.area_mu.to_string(),
        "land_use": p.land_use, "supply_mode": p.supply_mode, "contract_no": p.contract_no, "agreement_no": p.agreement_no,
        "contracted": p.contracted, "milestones": p.milestones, "status": p.status, "version": p.version,
    })
}

pub async fn get_cluster(db: &Database, id: &str) -> Result<Option<ClusterRow>, StoreError> {
    let r = sqlx::query("SELECT id, region_code, name, industry_led, planned_area_mu, used_area_mu, version FROM clusters WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    r.as_ref().map(cluster_from).transpose()
}

pub async fn upsert_cluster(
    db: &Database,
    who: &Caller,
    request_id: &str,
    c: &ClusterRow,
    expected: i64,
    reason: &str,
) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let before = sqlx::query("SELECT id, region_code, name, industry_led, planned_area_mu, used_area_mu, version FROM clusters WHERE id = $1")
        .bind(&c.id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(cluster_from)
        .transpose()?;
    match (&before, expected) {
        (Some(_), 0) => return Err(StoreError::Duplicate(format!("cluster {}", c.id))),
        (None, v) if v != 0 => return Err(StoreError::NotFound(format!("cluster {}", c.id))),
        (Some(b), v) if b.version != v => {
            return Err(StoreError::VersionConflict(format!("cluster {} is at version {}, not {v}", c.id, b.version)))
        }
        _ => {}
    }
    let sql = if before.is_none() {
        "INSERT INTO clusters (id, region_code, name, industry_led, planned_area_mu, used_area_mu, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    } else {
        "UPDATE clusters SET region_code = $2, name = $3, industry_led = $4, planned_area_mu = $5, used_area_mu = $6, version = $7, updated_at = $8 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(&c.id)
        .bind(&c.region_code)
        .bind(&c.name)
        .bind(i64::from(c.industry_led))
        .bind(c.planned_area_mu.to_string())
        .bind(c.used_area_mu.to_string())
        .bind(c.version)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
    let change = audit::Change {
        action: if before.is_none() { "cluster.create".into() } else { "cluster.update".into() },
        entity: "cluster".into(),
        entity_id: c.id.clone(),
        region: c.region_code.clone(),
        before: before.as_ref().map(cluster_json),
        after: Some(cluster_json(c)),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

const PARCEL_COLUMNS: &str =
    "id, cluster_id, region_code, area_mu, land_use, supply_mode, contract_no, agreement_no, contracted_json, milestones_json, status, version";

fn parcel_from(r: &AnyRow) -> Result<ParcelRow, StoreError> {
    let map = |s: String| {
        serde_json::from_str::<BTreeMap<String, String>>(&s).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    Ok(ParcelRow {
        id: r.try_get("id")?,
        cluster_id: r.try_get("cluster_id")?,
        region_code: r.try_get("region_code")?,
        area_mu: dec(r.try_get("area_mu")?)?,
        land_use: closed("parcels.land_use", r.try_get("land_use")?, LandUse::parse)?,
        supply_mode: closed("parcels.supply_mode", r.try_get("supply_mode")?, SupplyMode::parse)?,
        contract_no: r.try_get("contract_no")?,
        agreement_no: r.try_get("agreement_no")?,
        contracted: map(r.try_get("contracted_json")?)?,
        milestones: map(r.try_get("milestones_json")?)?,
        status: closed("parcels.status", r.try_get("status")?, ParcelStatus::parse)?,
        version: r.try_get("version")?,
    })
}

pub async fn get_parcel(db: &Database, id: &str) -> Result<Option<(ParcelRow, Vec<StatusChange>)>, StoreError> {
    let Some(r) = sqlx::query(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    let p = parcel_from(&r)?;
    let rows =
        sqlx::query("SELECT status, on_date, actor, note FROM parcel_status_history WHERE parcel_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&db.pool)
            .await?;
    let history = rows
        .iter()
        .map(|r| {
            Ok(StatusChange {
                status: closed("parcels.status", r.try_get("status")?, ParcelStatus::parse)?,
                on_date: r.try_get("on_date")?,
                actor: r.try_get("actor")?,
                note: r.try_get("note")?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some((p, history)))
}

/// Create or update a parcel; a change of status is appended to its history.
/// How a parcel write is made: the version read, the date a status change takes effect, why.
pub struct ParcelWrite<'a> {
    pub expected: i64,
    pub status_on: &'a str,
    pub reason: &'a str,
}

pub async fn upsert_parcel<E: From<StoreError> + From<sqlx::Error>>(
    db: &Database,
    who: &Caller,
    request_id: &str,
    p: &ParcelRow,
    w: ParcelWrite<'_>,
    allowed: impl Fn(&ParcelRow) -> Result<(), E>,
) -> Result<(), E> {
    let ParcelWrite { expected, status_on, reason } = w;
    let mut tx = db.begin().await?;
    let before = sqlx::query(&format!("SELECT {PARCEL_COLUMNS} FROM parcels WHERE id = $1"))
        .bind(&p.id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(parcel_from)
        .transpose()?;
    match (&before, expected) {
        (Some(_), 0) => return Err(StoreError::Duplicate(format!("parcel {}", p.id)).into()),
        (None, v) if v != 0 => return Err(StoreError::NotFound(format!("parcel {}", p.id)).into()),
        (Some(b), v) if b.version != v => {
            return Err(
                StoreError::VersionConflict(format!("parcel {} is at version {}, not {v}", p.id, b.version)).into()
            )
        }
        _ => {}
    }
    if let Some(b) = &before {
        allowed(b)?;
        if !b.status.may_move(p.status) {
            return Err(StoreError::State(
                "STATUS_OUT_OF_ORDER",
                format!("parcel {} is {}: it cannot go back to {}", p.id, b.status, p.status),
            )
            .into());
        }
    }
    let sql = if before.is_none() {
        format!("INSERT INTO parcels ({PARCEL_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
    } else {
        "UPDATE parcels SET cluster_id = $2, region_code = $3, area_mu = $4, land_use = $5, supply_mode = $6, contract_no = $7, agreement_no = $8, \
         contracted_json = $9, milestones_json = $10, status = $11, version = $12, updated_at = $13 WHERE id = $1"
            .to_string()
    };
    let json = |m: &BTreeMap<String, String>| serde_json::to_string(m).unwrap_or_else(|_| "{}".into());
    sqlx::query(&sql)
        .bind(&p.id)
        .bind(&p.cluster_id)
        .bind(&p.region_code)
        .bind(p.area_mu.to_string())
        .bind(p.land_use.as_str())
        .bind(p.supply_mode.as_str())
        .bind(&p.contract_no)
        .bind(&p.agreement_no)
        .bind(json(&p.contracted))
        .bind(json(&p.milestones))
        .bind(p.status.as_str())
        .bind(p.version)
        .bind(crate::store::now())
        .execute(&mut *tx)
        .await?;
    if before.as_ref().is_none_or(|b| b.status != p.status) {
        let seq: i64 = sqlx::query("SELECT COUNT(*) AS n FROM parcel_status_history WHERE parcel_id = $1")
            .bind(&p.id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        sqlx::query("INSERT INTO parcel_status_history (parcel_id, seq, status, on_date, actor, note) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&p.id)
            .bind(seq + 1)
            .bind(p.status.as_str())
            .bind(status_on)
            .bind(&who.subject)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
    }
    let change = audit::Change {
        action: if before.is_none() { "parcel.create".into() } else { "parcel.update".into() },
        entity: "parcel".into(),
        entity_id: p.id.clone(),
        region: p.region_code.clone(),
        before: before.as_ref().map(parcel_json),
        after: Some(parcel_json(p)),
        reason: reason.to_string(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_parcels(
    db: &Database,
    prefix: &str,
    cluster: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<ParcelRow>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {PARCEL_COLUMNS} FROM parcels WHERE region_code LIKE $1 AND ($2 = '' OR cluster_id = $2) AND id > $3 ORDER BY id LIMIT $4"
    ))
    .bind(format!("{prefix}%"))
    .bind(cluster)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(parcel_from).collect()
}

/// Area of the cluster's parcels by land use (recovered parcels excluded).
pub async fn area_by_use(db: &Database, cluster: &str) -> Result<(BTreeMap<String, Decimal>, i64), StoreError> {
    let rows = sqlx::query("SELECT land_use, area_mu FROM parcels WHERE cluster_id = $1 AND status <> 'RECOVERED'")
        .bind(cluster)
        .fetch_all(&db.pool)
        .await?;
    let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &rows {
        let use_: String = r.try_get("land_use")?;
        *out.entry(use_).or_default() += dec(r.try_get("area_mu")?)?;
    }
    Ok((out, rows.len() as i64))
}
