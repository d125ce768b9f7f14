//! `civic.budget.v1.ProgrammeService`: programmes, their goals and goal review, the budget
//! precondition and goal coverage. Who may do what (spec §3.6): finance (city, county) writes
//! and reviews in its scope; the bureau that owns a programme (its role) drafts and submits
//! its own; auditors read everything and write nothing.
//!
//! `register` (programmes), `tables` (import, export), `goal_sets` (goals and their review),
//! `precondition` (and coverage), `convert` (who may write, mapping), `service` (the tonic
//! face).

mod convert;
mod goal_sets;
mod precondition;
mod register;
mod service;
mod tables;

pub(crate) use convert::{check_programme, may_own};

use civic_domain::{policy::PolicyBook, RegionCode};
use civic_runtime::{policy_book::BookHandle, storage::Database, ApiError, ApiResult};

use crate::{
    rules::goals::Goals,
    store::programmes::{self as store, ProgrammeRow},
};

#[derive(Clone)]
pub struct ProgrammeApi {
    pub book: BookHandle,
    pub db: Database,
}

impl ProgrammeApi {
    pub(super) async fn programme(&self, id: &str) -> ApiResult<ProgrammeRow> {
        if id.trim().is_empty() || id.len() > 64 {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        store::get(&self.db, id.trim()).await?.ok_or_else(|| ApiError::not_found(format!("programme {}", id.trim())))
    }

    /// Every template a goal names is in the library for the programme's region.
    pub(super) async fn check_templates(
        &self,
        book: &PolicyBook,
        region: RegionCode,
        goals: &Goals,
        date: &str,
    ) -> ApiResult<()> {
        for (i, g) in goals.indicators.iter().enumerate() {
            if !g.template_code.is_empty()
                && !super::indicators::template_exists(&self.db, book, region, &g.template_code, date).await?
            {
                return Err(ApiError::invalid(
                    format!("goals.indicators[{i}].template_code"),
                    format!("no template {} in force for {region}", g.template_code),
                ));
            }
        }
        Ok(())
    }
}
