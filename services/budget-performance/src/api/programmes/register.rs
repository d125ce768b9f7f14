//! Programmes written (versioned, audited) and listed.

use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, ProgrammeApi};
use crate::store::programmes::{self as store, ProgrammeRow};

impl ProgrammeApi {
    pub(super) async fn upsert(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::UpsertProgrammeRequest,
    ) -> ApiResult<pb::Programme> {
        let book = self.book.current();
        let p = r.programme.as_ref().ok_or_else(|| ApiError::invalid("programme", "required"))?;
        let mut row = programme_row(&book, p)?;
        let reason = text("reason", &r.reason, false)?;
        if r.expected_version < 0 {
            return Err(ApiError::invalid("expected_version", "0 to create, else the current version"));
        }
        if r.expected_version == 0 {
            if !row.id.is_empty() {
                return Err(ApiError::invalid("programme.id", "assigned by the service: leave it empty to create"));
            }
            row.id = uuid::Uuid::new_v4().to_string();
            check_programme(&book, who, Access::Write, &row, "create programmes")?;
            return Ok(programme_pb(&store::insert(&self.db, who, rid, &row, &reason).await?));
        }
        let before = self.programme(&row.id).await?;
        check_programme(&book, who, Access::Write, &before, "change programmes")?;
        check_programme(&book, who, Access::Write, &row, "change programmes")?;
        if before.region_code != row.region_code || before.budget_year != row.budget_year {
            return Err(ApiError::invalid(
                "programme.region_code",
                "a programme's region and budget year do not change: create the programme anew",
            ));
        }
        Ok(programme_pb(&store::update(&self.db, who, rid, &row, r.expected_version, &reason).await?))
    }

    pub(super) async fn list(
        &self,
        who: &Caller,
        r: &pb::ListProgrammesRequest,
    ) -> ApiResult<pb::ListProgrammesResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &writers(), "list programmes", region).map_err(ApiError::from)?;
        let size = request::page_size("page_size", r.page_size)?;
        let after = r.page_token.trim();
        if after.len() > 64 || !after.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(ApiError::invalid("page_token", "not a token this service issued"));
        }
        // A bureau sees its own programmes; finance, auditors and administrators all of them.
        let owner = (!matches!(who.role, Role::Finance | Role::Admin | Role::Auditor)).then(|| who.role.as_str());
        let rows =
            store::list(&self.db, &region_prefix(region), i64::from(r.budget_year), owner, after, size as i64 + 1)
                .await?;
        let more = rows.len() > size;
        let page: Vec<ProgrammeRow> = rows.into_iter().take(size).collect();
        Ok(pb::ListProgrammesResponse {
            next_page_token: if more { page.last().map(|p| p.id.clone()).unwrap_or_default() } else { String::new() },
            programmes: page.iter().map(programme_pb).collect(),
        })
    }
}
