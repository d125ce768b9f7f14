//! Clusters and parcels over the wire; a cluster view applies the cluster rules to the stored
//! parcels.

use std::collections::BTreeMap;

use civic_proto::land::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request, ApiError, ApiResult,
};
use rust_decimal::Decimal;

use super::{mapping::decimal, service::LandApi};
use crate::{
    rules::parcel::{LandUse, ParcelStatus, SupplyMode},
    store::parcels::{self, ClusterRow, ParcelRow, ParcelWrite},
};

const WRITERS: &[Role] = &[Role::ClusterAdmin, Role::NaturalResources];
const READERS: &[Role] = &[Role::ClusterAdmin, Role::NaturalResources, Role::Town];

fn cluster_pb(c: &ClusterRow) -> pb::Cluster {
    pb::Cluster {
        cluster_id: c.id.clone(),
        region_code: c.region_code.clone(),
        name: c.name.clone(),
        industry_led: c.industry_led,
        planned_area_mu: c.planned_area_mu.normalize().to_string(),
        used_area_mu: c.used_area_mu.normalize().to_string(),
        version: c.version,
    }
}

fn parcel_pb(p: &ParcelRow, history: &[parcels::StatusChange]) -> pb::Parcel {
    pb::Parcel {
        parcel_id: p.id.clone(),
        cluster_id: p.cluster_id.clone(),
        region_code: p.region_code.clone(),
        area_mu: p.area_mu.normalize().to_string(),
        land_use: p.land_use.as_str().into(),
        supply_mode: p.supply_mode.as_str().into(),
        contract_no: p.contract_no.clone(),
        supervision_agreement_no: p.agreement_no.clone(),
        contracted: p.contracted.clone().into_iter().collect(),
        milestones: p.milestones.clone().into_iter().collect(),
        status: p.status.as_str().into(),
        history: history
            .iter()
            .map(|h| pb::ParcelStatusChange {
                status: h.status.as_str().into(),
                on_date: h.on_date.clone(),
                actor: h.actor.clone(),
                note: h.note.clone(),
            })
            .collect(),
        version: p.version,
    }
}

fn area(field: &str, s: &str) -> ApiResult<Decimal> {
    let d = decimal(field, s)?;
    if d < Decimal::ZERO {
        return Err(ApiError::invalid(field, "must not be negative"));
    }
    Ok(d)
}

/// A cluster administration whose token names its cluster reaches that cluster only.
fn own_cluster(who: &Caller, cluster: &str, action: &'static str) -> ApiResult<()> {
    if who.role == Role::ClusterAdmin {
        who.check_unit(cluster, action).map_err(ApiError::from)?;
    }
    Ok(())
}

impl LandApi {
    fn records_check(
        &self,
        who: &Caller,
        access: Access,
        region: civic_domain::RegionCode,
        action: &'static str,
    ) -> ApiResult<()> {
        let book = self.book.current();
        let roles = if access == Access::Write { WRITERS } else { READERS };
        who.authorize(&book.regions, access, roles, action, region).map_err(ApiError::from)
    }

    pub(super) async fn upsert_cluster(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::UpsertClusterRequest,
    ) -> ApiResult<pb::Cluster> {
        let book = self.book.current();
        let c = r.cluster.as_ref().ok_or_else(|| ApiError::invalid("cluster", "required"))?;
        let region = request::region_code(&book, "cluster.region_code", &c.region_code)?;
        self.records_check(who, Access::Write, region, "change clusters")?;
        own_cluster(who, c.cluster_id.trim(), "change clusters")?;
        if c.cluster_id.trim().is_empty() || c.name.trim().is_empty() {
            return Err(ApiError::invalid("cluster.cluster_id", "an id and a name are required"));
        }
        let planned = area("cluster.planned_area_mu", &c.planned_area_mu)?;
        let used = area("cluster.used_area_mu", &c.used_area_mu)?;
        if planned <= Decimal::ZERO {
            return Err(ApiError::invalid("cluster.planned_area_mu", "must be positive"));
        }
        if used > planned {
            return Err(ApiError::invalid("cluster.used_area_mu", "cannot exceed planned_area_mu"));
        }
        if let Some(existing) = parcels::get_cluster(&self.db, c.cluster_id.trim()).await? {
            let old = request::region_code(&book, "cluster.region_code", &existing.region_code)?;
            self.records_check(who, Access::Write, old, "change clusters")?;
        }
        let row = ClusterRow {
            id: c.cluster_id.trim().into(),
            region_code: region.to_string(),
            name: c.name.trim().into(),
            industry_led: c.industry_led,
            planned_area_mu: planned,
            used_area_mu: used,
            version: r.expected_version + 1,
        };
        parcels::upsert_cluster(&self.db, who, request_id, &row, r.expected_version, &r.reason).await?;
        Ok(cluster_pb(&row))
    }

    pub(super) async fn get_cluster(
        &self,
        who: &Caller,
        r: &pb::GetClusterRequest,
    ) -> ApiResult<pb::GetClusterResponse> {
        let book = self.book.current();
        let c = parcels::get_cluster(&self.db, &r.cluster_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("cluster {}", r.cluster_id)))?;
        let region = request::region_code(&book, "cluster.region_code", &c.region_code)?;
        self.records_check(who, Access::Read, region, "read clusters")?;
        own_cluster(who, &c.id, "read clusters")?;
        let (by_use, n) = parcels::area_by_use(&self.db, &c.id).await?;
        let get = |k: &str| by_use.get(k).copied().unwrap_or(Decimal::ZERO);
        let check = pb::CheckClusterRequest {
            region_code: c.region_code.clone(),
            on_date: r.on_date.clone(),
            industry_led: c.industry_led,
            planned_construction_land_mu: c.planned_area_mu.to_string(),
            used_construction_land_mu: c.used_area_mu.to_string(),
            industrial_land_mu: (get("INDUSTRIAL") + get("NEW_TYPE_INDUSTRIAL")).to_string(),
            warehouse_land_mu: get("WAREHOUSE").to_string(),
            ..Default::default()
        };
        let rules = self.cluster_rules(&check).map_err(|e| match e {
            ApiError::InvalidArgument(v) => ApiError::precondition(
                "PARCELS_EXCEED_CLUSTER",
                v.into_iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "),
            ),
            e => e,
        })?;
        let latest = crate::store::yearly::latest_evaluation(&self.db, &c.id).await?;
        Ok(pb::GetClusterResponse {
            cluster: Some(cluster_pb(&c)),
            area_by_use_mu: by_use.into_iter().map(|(k, v)| (k, v.normalize().to_string())).collect(),
            parcels: n,
            rules: Some(rules),
            latest_evaluation_year: latest.as_ref().map(|(y, _)| *y).unwrap_or(0),
            latest_evaluation: latest.as_ref().map(|(_, e)| super::evaluation::evaluation_pb(e)),
        })
    }

    pub(super) async fn upsert_parcel(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::UpsertParcelRequest,
    ) -> ApiResult<pb::Parcel> {
        let book = self.book.current();
        let p = r.parcel.as_ref().ok_or_else(|| ApiError::invalid("parcel", "required"))?;
        let region = request::region_code(&book, "parcel.region_code", &p.region_code)?;
        self.records_check(who, Access::Write, region, "change parcels")?;
        if p.parcel_id.trim().is_empty() || p.parcel_id.len() > 64 {
            return Err(ApiError::invalid("parcel.parcel_id", "required, at most 64 characters"));
        }
        let cluster = parcels::get_cluster(&self.db, &p.cluster_id)
            .await?
            .ok_or_else(|| ApiError::invalid("parcel.cluster_id", format!("no cluster {}", p.cluster_id)))?;
        own_cluster(who, &cluster.id, "change parcels")?;
        let cluster_region = request::region_code(&book, "cluster.region_code", &cluster.region_code)?;
        if !book.regions.is_within(region, cluster_region) && !book.regions.is_within(cluster_region, region) {
            return Err(ApiError::invalid(
                "parcel.region_code",
                format!("{region} is not where cluster {} is ({cluster_region})", cluster.id),
            ));
        }
        let area_mu = area("parcel.area_mu", &p.area_mu)?;
        if area_mu <= Decimal::ZERO {
            return Err(ApiError::invalid("parcel.area_mu", "must be positive"));
        }
        let land_use =
            LandUse::parse(&p.land_use).ok_or_else(|| ApiError::invalid("parcel.land_use", LandUse::names()))?;
        let supply_mode = SupplyMode::parse(&p.supply_mode)
            .ok_or_else(|| ApiError::invalid("parcel.supply_mode", SupplyMode::names()))?;
        let status = if p.status.is_empty() {
            ParcelStatus::Planned
        } else {
            ParcelStatus::parse(&p.status).ok_or_else(|| ApiError::invalid("parcel.status", ParcelStatus::names()))?
        };
        let mut milestones = BTreeMap::new();
        for (k, v) in &p.milestones {
            let d = request::required_date(&format!("parcel.milestones[{k}]"), v)?;
            milestones.insert(k.clone(), d.to_string());
        }
        let mut contracted = BTreeMap::new();
        for (k, v) in &p.contracted {
            let d = area(&format!("parcel.contracted[{k}]"), v)?;
            contracted.insert(k.clone(), d.normalize().to_string());
        }
        let status_on = request::date_or_today("status_on", &r.status_on)?.to_string();
        let row = ParcelRow {
            id: p.parcel_id.trim().into(),
            cluster_id: cluster.id.clone(),
            region_code: region.to_string(),
            area_mu,
            land_use,
            supply_mode,
            contract_no: p.contract_no.clone(),
            agreement_no: p.supervision_agreement_no.clone(),
            contracted,
            milestones,
            status,
            version: r.expected_version + 1,
        };
        let regions = book.regions.clone();
        parcels::upsert_parcel(
            &self.db,
            who,
            request_id,
            &row,
            ParcelWrite { expected: r.expected_version, status_on: &status_on, reason: &r.reason },
            |stored| {
                let code = civic_domain::RegionCode::parse(&stored.region_code)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                who.authorize(&regions, Access::Write, WRITERS, "change parcels", code).map_err(ApiError::from)?;
                own_cluster(who, &stored.cluster_id, "change parcels")
            },
        )
        .await?;
        let (saved, history) = parcels::get_parcel(&self.db, &row.id)
            .await?
            .ok_or_else(|| ApiError::Internal("parcel vanished".into()))?;
        Ok(parcel_pb(&saved, &history))
    }

    pub(super) async fn get_parcel(&self, who: &Caller, r: &pb::GetParcelRequest) -> ApiResult<pb::Parcel> {
        let book = self.book.current();
        let (p, h) = parcels::get_parcel(&self.db, &r.parcel_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("parcel {}", r.parcel_id)))?;
        let region = request::region_code(&book, "parcel.region_code", &p.region_code)?;
        self.records_check(who, Access::Read, region, "read parcels")?;
        own_cluster(who, &p.cluster_id, "read parcels")?;
        Ok(parcel_pb(&p, &h))
    }

    pub(super) async fn list_parcels(
        &self,
        who: &Caller,
        r: &pb::ListParcelsRequest,
    ) -> ApiResult<pb::ListParcelsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.records_check(who, Access::Read, region, "read parcels")?;
        let limit = request::page_size("page_size", r.page_size)? as i64;
        let mut cluster = r.cluster_id.as_str();
        if who.role == Role::ClusterAdmin {
            if let Some(own) = who.unit.as_deref() {
                if cluster.is_empty() {
                    cluster = own;
                }
                own_cluster(who, cluster, "read parcels")?;
            }
        }
        let rows = parcels::list_parcels(&self.db, &region_prefix(region), cluster, &r.page_token, limit).await?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|p| p.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListParcelsResponse { parcels: rows.iter().map(|p| parcel_pb(p, &[])).collect(), next_page_token: next })
    }
}
