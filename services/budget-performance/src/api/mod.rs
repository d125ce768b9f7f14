//! The `civic.budget.v1.BudgetPerformance` gRPC service.

mod ex_ante;
mod service;

pub use service::BudgetApi;
