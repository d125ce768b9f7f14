//! Enterprise flags over the wire: each bureau raises and clears the flags it owns; the land
//! bureau, cluster administrations and the bureaus read them.

use civic_proto::land::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request, ApiError, ApiResult,
};

use super::service::LandApi;
use crate::store::flags::{self, FlagEvent};

const READERS: &[Role] = &[
    Role::NaturalResources,
    Role::ClusterAdmin,
    Role::DevelopmentReform,
    Role::IndustryIt,
    Role::EcologyEnvironment,
    Role::EmergencyManagement,
];

fn flag_pb(e: &FlagEvent) -> pb::EnterpriseFlag {
    pb::EnterpriseFlag {
        enterprise_id: e.enterprise_id.clone(),
        region_code: e.region_code.clone(),
        flag: e.flag.clone(),
        flag_name: flags::flag(&e.flag).map(|(_, n, _)| n.to_string()).unwrap_or_default(),
        raised: e.raised,
        on_date: e.on_date.clone(),
        document: e.document.clone(),
        bureau: e.bureau.clone(),
        actor: e.actor.clone(),
        note: e.note.clone(),
        recorded_at: e.recorded_at.clone(),
    }
}

impl LandApi {
    pub(super) async fn set_enterprise_flag(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::SetEnterpriseFlagRequest,
    ) -> ApiResult<pb::EnterpriseFlag> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let Some((code, _, owners)) = flags::flag(r.flag.trim()) else {
            let codes: Vec<&str> = flags::FLAGS.iter().map(|(c, _, _)| *c).collect();
            return Err(ApiError::invalid("flag", codes.join(", ")));
        };
        who.authorize(&book.regions, Access::Write, owners, "set this flag", region).map_err(ApiError::from)?;
        let id = r.enterprise_id.trim();
        if id.is_empty() || id.chars().count() > 64 {
            return Err(ApiError::invalid("enterprise_id", "required, at most 64 characters"));
        }
        if r.document.trim().is_empty() {
            return Err(ApiError::invalid("document", "the bureau's document or finding (文号) is required"));
        }
        let on = request::date_or_today("on_date", &r.on_date)?;
        let e = FlagEvent {
            enterprise_id: id.to_string(),
            flag: code.to_string(),
            region_code: region.to_string(),
            raised: r.raised,
            on_date: on.to_string(),
            document: r.document.trim().to_string(),
            bureau: who.role.to_string(),
            actor: who.subject.clone(),
            note: r.note.trim().to_string(),
            recorded_at: crate::store::now(),
        };
        flags::set(&self.db, who, request_id, &e).await?;
        Ok(flag_pb(&e))
    }

    pub(super) async fn list_enterprise_flags(
        &self,
        who: &Caller,
        r: &pb::ListEnterpriseFlagsRequest,
    ) -> ApiResult<pb::ListEnterpriseFlagsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, READERS, "read enterprise flags", region).map_err(ApiError::from)?;
        let limit = request::page_size("page_size", r.page_size)? as i64;
        // The token names the last row listed: enterprise, flag and (in the history) sequence.
        let mut parts = r.page_token.split('\t');
        let (e, f, seq) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or("0"));
        let seq = seq.parse::<i64>().map_err(|_| ApiError::invalid("page_token", "not a token this service gave"))?;
        let after = flags::After { enterprise: e, flag: f, seq };
        let rows =
            flags::list(&self.db, &region_prefix(region), r.enterprise_id.trim(), r.history, after, limit).await?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|(seq, e)| format!("{}\t{}\t{seq}", e.enterprise_id, e.flag)).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListEnterpriseFlagsResponse {
            flags: rows.iter().map(|(_, e)| flag_pb(e)).collect(),
            next_page_token: next,
        })
    }
}
