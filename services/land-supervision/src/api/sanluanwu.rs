//! The "散乱污" registry over the wire.

use std::collections::BTreeMap;

use civic_proto::land::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request, ApiError, ApiResult,
};

use super::service::LandApi;
use crate::{
    rules::sanluanwu::{Disposition, EntryStatus, FoundBy, Sector},
    store::sanluanwu::{self, Entry},
};

const WRITERS: &[Role] = &[Role::NaturalResources, Role::Town];
const READERS: &[Role] = &[Role::NaturalResources, Role::Town, Role::ClusterAdmin];

fn to_pb(e: &Entry) -> pb::SanluanwuEntry {
    pb::SanluanwuEntry {
        entry_id: e.id.clone(),
        region_code: e.region_code.clone(),
        name: e.name.clone(),
        sector: e.sector.as_str().into(),
        trade: e.trade.clone(),
        disposition: e.disposition.as_str().into(),
        status: e.status.as_str().into(),
        found_by: e.found_by.as_str().into(),
        found_on: e.found_on.clone(),
        done_on: e.done_on.clone(),
        version: e.version,
    }
}

/// A value of a closed set, or INVALID_ARGUMENT listing the set.
fn one_of<T>(field: &str, v: &str, parse: fn(&str) -> Option<T>, names: fn() -> String) -> ApiResult<T> {
    parse(v).ok_or_else(|| ApiError::invalid(field, format!("one of {}", names())))
}

impl LandApi {
    fn registry_check(&self, who: &Caller, access: Access, region: civic_domain::RegionCode) -> ApiResult<()> {
        let book = self.book.current();
        let roles = if access == Access::Write { WRITERS } else { READERS };
        who.authorize(&book.regions, access, roles, "use the 散乱污 registry", region).map_err(ApiError::from)
    }

    pub(super) async fn register_sanluanwu(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::RegisterSanluanwuRequest,
    ) -> ApiResult<pb::SanluanwuEntry> {
        let book = self.book.current();
        let e = r.entry.as_ref().ok_or_else(|| ApiError::invalid("entry", "required"))?;
        let region = request::region_code(&book, "entry.region_code", &e.region_code)?;
        self.registry_check(who, Access::Write, region)?;
        if e.name.trim().is_empty() {
            return Err(ApiError::invalid("entry.name", "required"));
        }
        let found_on = request::required_date("entry.found_on", &e.found_on)?;
        let entry = Entry {
            id: uuid::Uuid::new_v4().to_string(),
            region_code: region.to_string(),
            name: e.name.trim().to_string(),
            sector: one_of("entry.sector", &e.sector, Sector::parse, Sector::names)?,
            trade: e.trade.trim().to_string(),
            disposition: one_of("entry.disposition", &e.disposition, Disposition::parse, Disposition::names)?,
            status: EntryStatus::Open,
            found_by: one_of(
                "entry.found_by",
                if e.found_by.is_empty() { "LOCAL" } else { &e.found_by },
                FoundBy::parse,
                FoundBy::names,
            )?,
            found_on: found_on.to_string(),
            done_on: String::new(),
            version: 1,
        };
        sanluanwu::insert(&self.db, who, request_id, &entry, &r.reason).await?;
        Ok(to_pb(&entry))
    }

    pub(super) async fn update_sanluanwu(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::UpdateSanluanwuRequest,
    ) -> ApiResult<pb::SanluanwuEntry> {
        let book = self.book.current();
        let before = sanluanwu::get(&self.db, &r.entry_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("entry {}", r.entry_id)))?;
        let region = request::region_code(&book, "entry.region_code", &before.region_code)?;
        self.registry_check(who, Access::Write, region)?;
        if r.expected_version != before.version {
            return Err(ApiError::VersionConflict {
                message: format!("entry {} is at version {}, not {}", before.id, before.version, r.expected_version),
            });
        }
        let mut after = before.clone();
        after.version += 1;
        if !r.disposition.is_empty() {
            after.disposition = one_of("disposition", &r.disposition, Disposition::parse, Disposition::names)?;
        }
        match r.status.as_str() {
            "" => {}
            "DONE" => {
                if before.status == EntryStatus::Done {
                    return Err(ApiError::precondition("ALREADY_DONE", format!("entry {} is DONE already", before.id)));
                }
                let done = request::required_date("done_on", &r.done_on)?;
                if done.to_string() < before.found_on {
                    return Err(ApiError::invalid(
                        "done_on",
                        format!("cannot be before it was found ({})", before.found_on),
                    ));
                }
                after.status = EntryStatus::Done;
                after.done_on = done.to_string();
            }
            "OPEN" => {
                // Reopened: e.g. the enterprise came back after it was cleared.
                after.status = EntryStatus::Open;
                after.done_on = String::new();
            }
            _ => return Err(ApiError::invalid("status", "OPEN or DONE")),
        }
        sanluanwu::update(&self.db, who, request_id, &before, &after, &r.reason).await?;
        Ok(to_pb(&after))
    }

    pub(super) async fn list_sanluanwu(
        &self,
        who: &Caller,
        r: &pb::ListSanluanwuRequest,
    ) -> ApiResult<pb::ListSanluanwuResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.registry_check(who, Access::Read, region)?;
        if !["", "OPEN", "DONE"].contains(&r.status.as_str()) {
            return Err(ApiError::invalid("status", "OPEN, DONE or empty"));
        }
        let limit = request::page_size("page_size", r.page_size)? as i64;
        let rows = sanluanwu::list(&self.db, &region_prefix(region), &r.status, &r.page_token, limit).await?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|e| e.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListSanluanwuResponse { entries: rows.iter().map(to_pb).collect(), next_page_token: next })
    }

    pub(super) async fn tally_sanluanwu(
        &self,
        who: &Caller,
        r: &pb::SanluanwuTallyRequest,
    ) -> ApiResult<pb::SanluanwuTallyResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.registry_check(who, Access::Read, region)?;
        let mut by_county: BTreeMap<String, pb::SanluanwuCountyTally> = BTreeMap::new();
        for (county, disposition, status, found_by, n) in sanluanwu::tally(&self.db, &region_prefix(region)).await? {
            let t = by_county.entry(county.clone()).or_insert_with(|| pb::SanluanwuCountyTally {
                region_code: county.clone(),
                region_name: civic_domain::RegionCode::parse(&county)
                    .map(|c| book.regions.name(c).to_string())
                    .unwrap_or_default(),
                ..Default::default()
            });
            if status == "OPEN" {
                t.open += n;
                *t.open_by_disposition.entry(disposition).or_default() += n;
            } else {
                t.done += n;
            }
            if found_by == "HIGHER_INSPECTION" {
                t.higher_inspection_found += n;
                if status == "OPEN" {
                    t.higher_inspection_open += n;
                }
            }
        }
        let counties = by_county
            .into_values()
            .map(|mut t| {
                t.cleared_to_zero = t.open == 0;
                t
            })
            .collect();
        Ok(pb::SanluanwuTallyResponse { counties })
    }
}
