//! `civic.budget.v1.FiscalRulesService`: the seeds' fiscal rules over gRPC. Finance staff (and
//! auditors, who read everything) call them for regions in their scope.
//!
//! One module per seed: `debt_risk`, `zones`, `pooled_funds`, `shares` (the smaller rules);
//! `service` is the tonic face.

mod debt_risk;
mod pooled_funds;
mod service;
mod shares;
mod zones;

use civic_runtime::{
    identity::{Access, Caller, Role},
    policy_book::BookHandle,
    request, ApiError, ApiResult,
};

#[derive(Clone)]
pub struct FiscalApi {
    pub book: BookHandle,
    /// Debt-risk events.
    pub db: civic_runtime::storage::Database,
}

/// Who applies the fiscal rules.
pub(super) const FINANCE: &[Role] = &[Role::Finance];

impl FiscalApi {
    pub(super) fn region(
        &self,
        who: &Caller,
        field: &str,
        code: &str,
        action: &'static str,
    ) -> ApiResult<civic_domain::RegionCode> {
        let book = self.book.current();
        let region = request::region_code(&book, field, code)?;
        who.authorize(&book.regions, Access::Read, FINANCE, action, region).map_err(ApiError::from)?;
        Ok(region)
    }
}
