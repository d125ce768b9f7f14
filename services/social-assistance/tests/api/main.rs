//! social-assistance over real gRPC, on SQLite and on PostgreSQL: one test binary, one module
//! per area. Each test gets its own server on port 0 and its own fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod benefits;
mod harness;
mod recalculation;
mod resilience;
mod roll;
mod standards;
mod whatif;

pub(crate) use civic_testing::both_backends;
