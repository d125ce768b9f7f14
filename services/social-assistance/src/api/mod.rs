//! The `civic.assistance.v1.SocialAssistanceService` gRPC service: handlers in `service.rs` delegate
//! to one file per area; wire ↔ domain conversions in `mapping.rs`.

mod access;
mod analysis;
mod computations;
pub mod error;
mod import;
pub mod mapping;
mod recalculation;
mod roll;
mod service;
mod standards;

pub use service::{AssistanceApi, RollCache};
