//! What the three civic services share: configuration, telemetry, identity, middleware, error
//! mapping, storage and the audit log, the policy book on disk, the common gRPC services, and
//! server start-up with graceful shutdown.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod audit;
pub mod coalesce;
pub mod common_api;
pub mod config;
pub mod connections;
pub mod error;
pub mod health;
pub mod identity;
pub mod mapping;
pub mod middleware;
pub mod outgoing;
pub mod policy_book;
pub mod publish;
pub mod published;
pub mod request;
pub mod server;
pub mod storage;
pub mod tabular;
pub mod telemetry;
pub mod tls;
pub mod trace;

pub use error::{ApiError, ApiResult};
