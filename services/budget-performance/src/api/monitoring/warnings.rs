//! Warnings listed (a bureau sees its own programmes') and moved through acknowledge,
//! resolve and escalate by finance.

use civic_domain::RegionCode;
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, MonitoringApi};
use crate::api::{
    is_id,
    programmes::{check_programme, may_own},
};
use crate::store::monitoring::{self as store, Transition, WarningFilter, WarningRow};

/// What acknowledging, resolving and escalating a warning ask: the same three fields.
pub(super) struct WarningChange<'a> {
    pub warning_id: &'a str,
    pub expected_version: i64,
    pub note: &'a str,
}

macro_rules! warning_change_from {
    ($($request:ident),*) => {$(
        impl<'a> From<&'a pb::$request> for WarningChange<'a> {
            fn from(r: &'a pb::$request) -> Self {
                WarningChange { warning_id: &r.warning_id, expected_version: r.expected_version, note: &r.note }
            }
        }
    )*};
}
warning_change_from!(AcknowledgeWarningRequest, ResolveWarningRequest, EscalateWarningRequest);

impl MonitoringApi {
    pub(super) async fn list_warnings(
        &self,
        who: &Caller,
        r: &pb::ListWarningsRequest,
    ) -> ApiResult<pb::ListWarningsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let readers: Vec<Role> = Role::ALL.into_iter().filter(|r| may_own(*r)).collect();
        who.authorize(&book.regions, Access::Read, &readers, "list warnings", region).map_err(ApiError::from)?;
        let as_of = if r.as_of.trim().is_empty() {
            String::new()
        } else {
            request::served_date("as_of", &r.as_of)?.to_string()
        };
        let status = match pb::WarningStatus::try_from(r.status) {
            Ok(pb::WarningStatus::Unspecified) => String::new(),
            Ok(s) => s.as_str_name().trim_start_matches("WARNING_STATUS_").to_string(),
            Err(_) => return Err(ApiError::invalid("status", "a WarningStatus")),
        };
        let programme = r.programme_id.trim();
        if !programme.is_empty() && !is_id(programme) {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        let after = r.page_token.trim();
        if !after.is_empty() && !is_id(after) {
            return Err(ApiError::invalid("page_token", "not a token this service issued"));
        }
        let size = request::page_size("page_size", r.page_size)?;
        let owner =
            if matches!(who.role, Role::Finance | Role::Admin | Role::Auditor) { "" } else { who.role.as_str() };
        let rows = store::list_warnings(
            &self.db,
            &WarningFilter {
                region_prefix: region_prefix(region),
                as_of: &as_of,
                status: &status,
                programme_id: programme,
                owner_role: owner,
                after,
                limit: size as i64 + 1,
            },
        )
        .await?;
        let more = rows.len() > size;
        let page: Vec<WarningRow> = rows.into_iter().take(size).collect();
        Ok(pb::ListWarningsResponse {
            next_page_token: if more { page.last().map(|w| w.id.clone()).unwrap_or_default() } else { String::new() },
            warnings: page.iter().map(warning_pb).collect(),
        })
    }

    pub(super) async fn update_warning(
        &self,
        who: &Caller,
        rid: &str,
        r: WarningChange<'_>,
        from: &[&str],
        to: &'static str,
    ) -> ApiResult<pb::Warning> {
        let book = self.book.current();
        let id = r.warning_id.trim();
        if !is_id(id) {
            return Err(ApiError::invalid("warning_id", "a warning id this service assigned"));
        }
        let w = store::get_warning(&self.db, id).await?.ok_or_else(|| ApiError::not_found(format!("warning {id}")))?;
        let p = self.programme(&w.programme_id).await?;
        if to == "ESCALATED" {
            let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
            who.authorize(&book.regions, Access::Write, FINANCE, "escalate warnings", region)
                .map_err(ApiError::from)?;
        } else {
            check_programme(&book, who, Access::Write, &p, "handle warnings")?;
        }
        let text = note("note", r.note, to != "ACKNOWLEDGED")?;
        Ok(warning_pb(
            &store::update_warning(&self.db, who, rid, id, r.expected_version, &Transition { from, to, note: &text })
                .await?,
        ))
    }
}
