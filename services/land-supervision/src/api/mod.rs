//! The gRPC services of `civic.land.v1`, one per area, over one API value.

mod assessments;
mod campaign;
mod cases;
mod checks;
mod error;
mod evaluation;
mod flags;
mod limits;
mod mapping;
mod parcels;
mod records;
mod sanluanwu;
mod service;

pub use service::LandApi;
