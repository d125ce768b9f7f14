//! The gRPC services of budget-performance: `BudgetPerformance` (grades, ex-ante cost),
//! `FiscalRulesService` (the seeds' fiscal rules), `EvaluationService` (scoring evaluations) and
//! `MonitoringService` (dual monitoring), all in package `civic.budget.v1`.

mod evaluation;
mod ex_ante;
mod fiscal;
mod monitoring;
mod service;

pub use evaluation::EvaluationApi;
pub use fiscal::FiscalApi;
pub use monitoring::MonitoringApi;
pub use service::BudgetApi;

use civic_runtime::{ApiError, ApiResult};
use tonic::{Response, Status};

use crate::rules::RuleError;

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> ApiError {
        match e {
            RuleError::Input { field, message } => ApiError::invalid(field, message),
            RuleError::InputAt { field, message } => ApiError::invalid(field, message),
            RuleError::Forbidden { reason, message } => ApiError::precondition(reason, message),
            RuleError::Domain(d) => ApiError::domain("region_code", d),
        }
    }
}

pub(crate) fn respond<T>(r: ApiResult<T>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}
