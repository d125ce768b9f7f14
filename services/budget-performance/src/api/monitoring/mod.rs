//! `civic.budget.v1.MonitoringService`: dual monitoring of programmes. The bureau that spends
//! monitors (谁支出、谁负责); finance reviews; auditors read.
//!
//! `records` (one checkpoint), `tables` (a region's checkpoint imported, the 监控表),
//! `warnings`, `payment_holds` (and CheckPayment), `convert` (mapping, and one checkpoint
//! judged), `service` (the tonic face).

mod convert;
mod payment_holds;
mod records;
mod service;
mod tables;
mod warnings;

use civic_runtime::{policy_book::BookHandle, storage::Database, ApiError, ApiResult};

use super::is_id;
use crate::store::programmes::{self as programme_store, ProgrammeRow};

#[derive(Clone)]
pub struct MonitoringApi {
    pub book: BookHandle,
    pub db: Database,
    /// Where goal indicators' actuals are read.
    pub peers: super::actuals::Peers,
}

impl MonitoringApi {
    pub(super) async fn programme(&self, id: &str) -> ApiResult<ProgrammeRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        programme_store::get(&self.db, id.trim())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("programme {}", id.trim())))
    }
}
