//! Who may do what. The roll is personal data: its region's civil-affairs staff and those above
//! them read and change it; auditors read; administrators do everything. Standards are set by
//! civil-affairs or finance at city scope or above. Computations on data the caller brings are
//! open to civil-affairs and finance staff within their region.

use civic_domain::{policy::PolicyBook, RegionCode};
use civic_runtime::{
    identity::{Access, Caller, Role},
    ApiError, ApiResult,
};

pub const COMPUTE: &[Role] = &[Role::CivilAffairs, Role::Finance];
pub const ROLL: &[Role] = &[Role::CivilAffairs];
pub const STANDARDS: &[Role] = &[Role::CivilAffairs, Role::Finance];

pub fn check(
    who: &Caller,
    book: &PolicyBook,
    access: Access,
    roles: &[Role],
    action: &'static str,
    region: RegionCode,
) -> ApiResult<()> {
    who.authorize(&book.regions, access, roles, action, region).map_err(ApiError::from)
}

/// Publishing standards needs city scope or above.
pub fn check_publisher(who: &Caller, book: &PolicyBook, region: RegionCode) -> ApiResult<()> {
    // Which figures the caller may publish, and for which regions, is decided per figure by the
    // publishing rights (policies/publishing.csv).
    check(who, book, Access::Write, STANDARDS, "publish standards", region)
}
