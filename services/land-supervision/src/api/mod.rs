//! The `civic.land.v1.LandSupervision` gRPC service.

mod assessments;
mod checks;
mod mapping;
mod service;

pub use service::LandApi;
