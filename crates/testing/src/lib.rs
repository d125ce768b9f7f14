//! Helpers for tests that start real servers: a fresh database per test on either backend,
//! settings for port 0, tokens, and requests carrying them. Used by every service's
//! integration tests and the suite tests; a dev-dependency only, never part of a service.

use std::path::PathBuf;

use civic_domain::RegionCode;
use sqlx::Connection;

pub use civic_runtime::storage::Backend;
use civic_runtime::{
    config::Settings,
    identity::{Role, TokenKey},
};

pub const TEST_SIGNING_KEY: &str = "civic-test-signing-key";

/// The repository's `policies/` directory.
pub fn policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

/// A copy of the policy book in a directory of its own, for a test that adds rows as a
/// deployment would (a region the shipped book lacks, a city's own values). Removed on drop.
pub struct PolicyCopy {
    pub dir: PathBuf,
}

impl PolicyCopy {
    pub fn new() -> PolicyCopy {
        let dir = std::env::temp_dir().join(format!("civic-policies-{}", uuid::Uuid::new_v4().simple()));
        let src = policies_dir();
        for sub in ["", "values", "calendar"] {
            if let Err(e) = std::fs::create_dir_all(dir.join(sub)) {
                panic!("cannot create {}: {e}", dir.join(sub).display());
            }
            let entries = match std::fs::read_dir(src.join(sub)) {
                Ok(e) => e,
                Err(e) => panic!("cannot read {}: {e}", src.join(sub).display()),
            };
            for e in entries.flatten() {
                if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    if let Err(err) = std::fs::copy(e.path(), dir.join(sub).join(e.file_name())) {
                        panic!("cannot copy {}: {err}", e.path().display());
                    }
                }
            }
        }
        PolicyCopy { dir }
    }

    /// Write `file` (relative to the book) with `text`, replacing it if it exists.
    pub fn write(&self, file: &str, text: &str) -> &Self {
        if let Err(e) = std::fs::write(self.dir.join(file), text) {
            panic!("cannot write {file}: {e}");
        }
        self
    }

    /// Add `lines` at the end of `file` (relative to the book).
    pub fn append(&self, file: &str, lines: &str) -> &Self {
        let path = self.dir.join(file);
        let mut text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => panic!("cannot read {file}: {e}"),
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(lines);
        self.write(file, &text)
    }
}

impl Default for PolicyCopy {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PolicyCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh, empty database for one test: a new SQLite file, or a new database on the
/// PostgreSQL server named by `CIVIC_TEST_POSTGRES_URL` (e.g. postgres://civic@127.0.0.1:5433/postgres).
pub async fn fresh_database(backend: Backend) -> String {
    let name = format!("civic_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("civic-tests");
            let _ = std::fs::create_dir_all(&dir);
            format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display())
        }
        Backend::Postgres => {
            let admin = match std::env::var("CIVIC_TEST_POSTGRES_URL") {
                Ok(u) => u,
                Err(_) => panic!(
                    "PostgreSQL tests need CIVIC_TEST_POSTGRES_URL (scripts/test starts a throwaway server and sets it)"
                ),
            };
            sqlx::any::install_default_drivers();
            let mut conn = match sqlx::AnyConnection::connect(&admin).await {
                Ok(c) => c,
                Err(e) => panic!("cannot connect to CIVIC_TEST_POSTGRES_URL: {e}"),
            };
            if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await {
                panic!("cannot create test database: {e}");
            }
            let _ = conn.close().await;
            match admin.rfind('/') {
                Some(i) => format!("{}/{name}", &admin[..i]),
                None => panic!("CIVIC_TEST_POSTGRES_URL has no database part"),
            }
        }
    }
}

/// A service started for a test on port 0: its address and database, a channel to it, and how
/// to stop it (gracefully, waiting for it to finish).
pub struct Server {
    pub addr: std::net::SocketAddr,
    pub database_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<civic_runtime::server::Running>,
}

/// What a service's `start` is handed to know when to stop.
pub type Shutdown = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl Server {
    /// Start a service with `start` — a service's own `start`, or a closure around one of its
    /// other starters — on `settings`.
    pub async fn start<F, Fut, E>(settings: Settings, start: F) -> Server
    where
        F: FnOnce(Settings, Shutdown) -> Fut,
        Fut: std::future::Future<Output = Result<civic_runtime::server::Running, E>>,
        E: std::fmt::Display,
    {
        let database_url = settings.database_url.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async move {
            let _ = rx.await;
        });
        let running = match start(settings, shutdown).await {
            Ok(r) => r,
            Err(e) => panic!("the service does not start: {e}"),
        };
        Server { addr: running.grpc_addr, database_url, stop: Some(tx), running: Some(running) }
    }

    /// The same with a fresh database on `backend` and the test settings.
    pub async fn on<F, Fut, E>(backend: Backend, start: F) -> Server
    where
        F: FnOnce(Settings, Shutdown) -> Fut,
        Fut: std::future::Future<Output = Result<civic_runtime::server::Running, E>>,
        E: std::fmt::Display,
    {
        Self::start(settings(fresh_database(backend).await), start).await
    }

    /// A channel to the server, for any of its typed clients.
    pub async fn channel(&self) -> tonic::transport::Channel {
        channel(self.addr).await
    }

    /// Stop the server and wait until it has.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(r) = self.running.take() {
            r.wait().await;
        }
    }
}

/// Settings for a test server: port 0, no metrics listener, the repository's policy book.
pub fn settings(database_url: String) -> Settings {
    Settings {
        listen_addr: "127.0.0.1:0".into(),
        metrics_addr: String::new(),
        database_url,
        policies_dir: policies_dir(),
        signing_key: TEST_SIGNING_KEY.into(),
        shutdown_grace_secs: 10,
        db_max_connections: 5,
        ..Settings::default()
    }
}

pub fn token(role: Role, region: &str) -> String {
    let region = match RegionCode::parse(region) {
        Ok(r) => r,
        Err(e) => panic!("bad region in test: {e}"),
    };
    TokenKey::new(TEST_SIGNING_KEY).mint("tester", role, region, chrono::Duration::hours(1))
}

/// A token for staff of one town or cluster (`unit`) inside `region`.
pub fn unit_token(role: Role, region: &str, unit: &str) -> String {
    let region = match RegionCode::parse(region) {
        Ok(r) => r,
        Err(e) => panic!("bad region in test: {e}"),
    };
    TokenKey::new(TEST_SIGNING_KEY).mint_for_unit("tester", role, region, Some(unit), chrono::Duration::hours(1))
}

/// A request carrying `token` as its bearer token.
pub fn authed<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    match format!("Bearer {token}").parse() {
        Ok(v) => {
            req.metadata_mut().insert("authorization", v);
        }
        Err(_) => panic!("token is not a valid header value"),
    }
    req
}

pub async fn channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    match tonic::transport::Endpoint::from_shared(format!("http://{addr}")) {
        Ok(e) => match e.connect().await {
            Ok(c) => c,
            Err(err) => panic!("cannot connect to {addr}: {err}"),
        },
        Err(err) => panic!("bad address {addr}: {err}"),
    }
}

/// The field names of the BadRequest violations attached to a status.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The google.rpc.ErrorInfo reason attached to a status.
pub fn error_reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|e| e.reason).unwrap_or_default()
}

/// Generate a `sqlite` and a `postgres` test (in a module named `$name`) from one async body
/// taking a [`Backend`].
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body($crate::Backend::Sqlite).await
            }
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body($crate::Backend::Postgres).await
            }
        }
    };
}
