//! The `civic.budget.v1.BudgetPerformance` gRPC service.

mod service;

pub use service::BudgetApi;
