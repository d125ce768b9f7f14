//! The gRPC services of budget-performance: `civic.budget.v1.BudgetPerformance` (grades, ex-ante
//! cost) and `civic.budget.v1.FiscalRulesService` (the seeds' fiscal rules).

mod ex_ante;
mod fiscal;
mod service;

pub use fiscal::FiscalApi;
pub use service::BudgetApi;
