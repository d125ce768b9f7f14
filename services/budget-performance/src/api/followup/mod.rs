//! `civic.budget.v1.RectificationService` and `civic.budget.v1.DisclosureService`: what follows
//! an evaluation — rectification orders issued and verified by finance and reported by the
//! bureau, and the publication duties with their statutory dates.
//!
//! `rectification` (整改 orders) and `publication` (公开: dates and records), each with its tonic
//! face; here the API both share and who may reach a region.

mod publication;
mod rectification;

use civic_domain::{policy::PolicyBook, RegionCode};
use civic_runtime::{
    identity::{Access, Caller, Role},
    policy_book::BookHandle,
    request::{self},
    storage::Database,
    ApiError, ApiResult,
};

use super::programmes::may_own;

#[derive(Clone)]
pub struct FollowUpApi {
    pub book: BookHandle,
    pub db: Database,
}

pub(super) const FINANCE: &[Role] = &[Role::Finance];

pub(super) fn writers() -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| may_own(*r)).collect()
}

impl FollowUpApi {
    pub(super) fn region(
        &self,
        book: &PolicyBook,
        who: &Caller,
        code: &str,
        access: Access,
        roles: &[Role],
        action: &'static str,
    ) -> ApiResult<RegionCode> {
        let region = request::region_code(book, "region_code", code)?;
        who.authorize(&book.regions, access, roles, action, region).map_err(ApiError::from)?;
        Ok(region)
    }
}
