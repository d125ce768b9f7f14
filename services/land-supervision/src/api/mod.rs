//! The `civic.land.v1.LandSupervision` gRPC service.

mod service;

pub use service::LandApi;
