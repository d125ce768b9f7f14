//! social-assistance over real gRPC, on SQLite and on PostgreSQL: one test binary, one module
//! per area. Each test gets its own server on port 0 and its own fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod benefits;
mod harness;
mod recalculation;
mod roll;
mod standards;
mod whatif;

/// Generate a `sqlite` and a `postgres` test from one async body taking a `Backend`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(civic_runtime::storage::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(civic_runtime::storage::Backend::Postgres).await
            }
        }
    };
}
