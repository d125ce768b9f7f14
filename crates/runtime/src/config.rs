//! Configuration: built-in defaults per service, then an optional TOML file (`CIVIC_CONFIG`),
//! then environment variables (`CIVIC_*`), each layer overriding the one before.
//!
//! Every variable, its default and meaning is listed once, in [`VARIABLES`]; `--help` prints it
//! and a test keeps the README's table the same.
//!
//! One file on purpose (~450 lines without its tests): the table of variables, its parsing and
//! its rendering belong together so that `--help`, the README and the code cannot drift.
//!
//! (About 500 lines: the one table of every setting, its default and meaning, and the layers that
//! read it, kept together so that `--help`, the README and the parser cannot drift apart.)

use std::{fmt, path::PathBuf, time::Duration};

use serde::Deserialize;

use crate::identity::{TokenKey, DEVELOPMENT_SIGNING_KEY};

/// The configuration every service reads: (variable, default, meaning).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("CIVIC_CONFIG", "(none)", "a TOML file of the same settings (names in lower case, without the prefix)"),
    ("CIVIC_LISTEN_ADDR", "`127.0.0.1:<service port>`", "gRPC address (port 0 picks a free one)"),
    ("CIVIC_METRICS_ADDR", "`127.0.0.1:<metrics port>`", "Prometheus `/metrics`; empty disables it"),
    ("CIVIC_DATABASE_URL", "`sqlite://data/<service>.db?mode=rwc`", "SQLite file, or `postgres://user:pass@host/db`"),
    ("CIVIC_POLICIES_DIR", "`policies`", "the policy book"),
    ("CIVIC_SIGNING_KEY", "development key (warned about)", "HS256 key for bearer tokens"),
    ("CIVIC_LOG_FORMAT", "`human`", "`human` or `json`"),
    ("CIVIC_LOG", "`info`", "tracing filter, e.g. `info,sqlx=warn`"),
    ("CIVIC_REQUEST_TIMEOUT_SECS", "`30`", "longest a call may run (a client's shorter `grpc-timeout` wins)"),
    (
        "CIVIC_STREAM_TIMEOUT_SECS",
        "`600`",
        "longest a streamed call (`ImportRollStream`, `ExportRollStream`, …) may run: it carries a file, not a question",
    ),
    ("CIVIC_CONCURRENCY_LIMIT", "`256`", "calls served at once; more are shed with UNAVAILABLE (never health checks)"),
    ("CIVIC_SHUTDOWN_GRACE_SECS", "`20`", "time in-flight calls get after SIGTERM"),
    ("CIVIC_DB_MAX_CONNECTIONS", "`10`", "database pool size (on PostgreSQL a replica also keeps up to 4 more, for imports, recalculation chunks and what-if loads)"),
    (
        "CIVIC_MAX_MESSAGE_BYTES",
        "`67108864`",
        "largest gRPC message (imports and exports; other requests stop at 1 MiB)",
    ),
    ("CIVIC_MAX_IMPORT_BYTES", "`536870912`", "largest file a streamed import (ImportRollStream) may send"),
    (
        "CIVIC_MAX_IMPORT_MEMORY_BYTES",
        "`251658240`",
        "memory the households read from one roll import may take (≈1.3 million households of 2.6 persons); \
         with it an import's growth stays under 300 MB",
    ),
    (
        "CIVIC_ROLL_SNAPSHOT_MIN_HOUSEHOLDS",
        "`100000`",
        "social-assistance: a roll read for what-if runs of at least this many households is kept in the \
         database in compact form, so that the first what-if after a start reads it instead of every household",
    ),
    ("CIVIC_TOKEN_MAX_HOURS", "`24`", "longest lifetime (exp − iat) a bearer token may have"),
    ("CIVIC_MAX_CONNECTIONS", "`4096`", "connections kept open at once; more are closed at once"),
    ("CIVIC_HANDSHAKE_TIMEOUT_SECS", "`10`", "a new connection must speak within this time"),
    (
        "CIVIC_IDLE_TIMEOUT_SECS",
        "`120`",
        "a connection silent this long is closed (live clients answer the server's pings)",
    ),
    ("CIVIC_KEEPALIVE_SECS", "`30`", "HTTP/2 ping interval; a ping unanswered in 10 s closes the connection"),
    ("CIVIC_TLS_CERT", "(none)", "PEM certificate chain: with CIVIC_TLS_KEY, the gRPC listener serves TLS only"),
    ("CIVIC_TLS_KEY", "(none)", "PEM private key of CIVIC_TLS_CERT"),
    ("CIVIC_TLS_CLIENT_CA", "(none)", "PEM CA: callers must present a certificate it signed (mutual TLS)"),
    ("CIVIC_PEER_CA", "(none)", "PEM CA that signs the other services' certificates (for their `https://` URLs)"),
    ("CIVIC_PEER_CERT", "(none)", "PEM certificate this service presents to the others (when they ask for one)"),
    ("CIVIC_PEER_KEY", "(none)", "PEM private key of CIVIC_PEER_CERT"),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "(none: no traces)",
        "OTLP/HTTP collector (`http://host:4318`): one span per call is exported, as JSON",
    ),
    ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "(none)", "the full traces URL, instead of the one above"),
    ("OTEL_SERVICE_NAME", "the service's name", "`service.name` of the exported spans"),
    ("OTEL_TRACES_EXPORTER", "`otlp`", "`none` turns trace export off"),
    ("TOKIO_WORKER_THREADS", "number of cores", "threads serving calls; set it to the cores the service has to itself"),
];

/// What the command line asks for before anything starts.
pub enum CommandLine {
    /// No arguments: run the service.
    Run,
    /// `--help` or `--version` was answered; exit with this code.
    Exit(i32),
}

/// `--help` (the configuration, `extra` being the service's own variables) and `--version`;
/// any other argument is an error. Nothing is started for either.
pub fn command_line(service: &str, version: &str, about: &str, extra: &[(&str, &str, &str)]) -> CommandLine {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => CommandLine::Run,
        Some("--version" | "-V") => {
            println!("{service} {version}");
            CommandLine::Exit(0)
        }
        Some("--help" | "-h") => {
            println!("{service} {version}: {about}\n");
            println!("Usage: {service} [--help | --version]\n");
            println!("Configured by environment variables (or the TOML file named by CIVIC_CONFIG):\n");
            for (name, default, meaning) in VARIABLES.iter().chain(extra) {
                println!("  {name:<30} {meaning}\n  {:<30} default: {}", "", default.replace('`', ""));
            }
            CommandLine::Exit(0)
        }
        Some(other) => {
            eprintln!("{service}: unknown argument '{other}' (try --help)");
            CommandLine::Exit(2)
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub listen_addr: String,
    pub metrics_addr: String,
    pub database_url: String,
    pub policies_dir: PathBuf,
    pub signing_key: String,
    pub log_format: LogFormat,
    pub log: String,
    pub request_timeout_secs: u64,
    /// Longest a streamed call (`…Stream`) may run, in seconds.
    pub stream_timeout_secs: u64,
    pub concurrency_limit: usize,
    pub shutdown_grace_secs: u64,
    pub db_max_connections: u32,
    /// Largest request or response message, in bytes (roll imports and exports are large).
    pub max_message_bytes: usize,
    /// Largest file a streamed import may send, in bytes.
    pub max_import_bytes: usize,
    /// Memory the households read from one roll import may take, in bytes.
    pub max_import_memory_bytes: usize,
    /// Rolls of at least this many households are kept as a snapshot after a what-if reads them.
    pub roll_snapshot_min_households: usize,
    /// Longest lifetime a bearer token may have (exp − iat), in hours.
    pub token_max_hours: u64,
    pub max_connections: usize,
    pub handshake_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    pub keepalive_secs: u64,
    /// TLS on the gRPC listener: certificate chain and key files (both, or neither).
    pub tls_cert: String,
    pub tls_key: String,
    /// Mutual TLS: the CA that signs callers' certificates.
    pub tls_client_ca: String,
    /// Calls to the other services over `https://`: the CA that signs their certificates, and
    /// this service's own certificate and key when they ask for one.
    pub peer_ca: String,
    pub peer_cert: String,
    pub peer_key: String,
    /// Where spans are posted (OTLP/HTTP JSON); empty: no export.
    pub otlp_traces_endpoint: String,
    /// `service.name` of exported spans; empty: the service's own name.
    pub otel_service_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// What a service contributes to the defaults.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefaults {
    pub name: &'static str,
    pub grpc_port: u16,
    pub metrics_port: u16,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen_addr: "127.0.0.1:0".into(),
            metrics_addr: String::new(),
            database_url: "sqlite::memory:".into(),
            policies_dir: PathBuf::from("policies"),
            signing_key: DEVELOPMENT_SIGNING_KEY.into(),
            log_format: LogFormat::Human,
            log: "info".into(),
            request_timeout_secs: 30,
            stream_timeout_secs: 600,
            concurrency_limit: 256,
            shutdown_grace_secs: 20,
            db_max_connections: 10,
            max_message_bytes: 64 * 1024 * 1024,
            max_import_bytes: 512 * 1024 * 1024,
            max_import_memory_bytes: 240 * 1024 * 1024,
            roll_snapshot_min_households: 100_000,
            token_max_hours: 24,
            max_connections: 4096,
            handshake_timeout_secs: 10,
            idle_timeout_secs: 120,
            keepalive_secs: 30,
            tls_cert: String::new(),
            tls_key: String::new(),
            tls_client_ca: String::new(),
            peer_ca: String::new(),
            peer_cert: String::new(),
            peer_key: String::new(),
            otlp_traces_endpoint: String::new(),
            otel_service_name: String::new(),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen_addr", &self.listen_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("database_url", &redact_url(&self.database_url))
            .field("policies_dir", &self.policies_dir)
            .field("signing_key", &"<secret>")
            .field("log_format", &self.log_format)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("stream_timeout_secs", &self.stream_timeout_secs)
            .field("concurrency_limit", &self.concurrency_limit)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("tls_cert", &self.tls_cert)
            .field("tls_client_ca", &self.tls_client_ca)
            .field("peer_ca", &self.peer_ca)
            .field("otlp_traces_endpoint", &self.otlp_traces_endpoint)
            .finish()
    }
}

/// Hide a password in a database URL before it reaches a log.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..s + 3], &base[at..]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    if let Some(q) = query {
        // Secrets can also come as parameters: ?password=…, sslpassword=….
        let params: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.to_ascii_lowercase().contains("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

impl Settings {
    pub fn defaults_for(service: ServiceDefaults) -> Self {
        Settings {
            listen_addr: format!("127.0.0.1:{}", service.grpc_port),
            metrics_addr: format!("127.0.0.1:{}", service.metrics_port),
            database_url: format!("sqlite://data/{}.db?mode=rwc", service.name),
            ..Settings::default()
        }
    }

    /// Defaults, then `CIVIC_CONFIG` (a TOML file of the same field names), then `CIVIC_*`.
    pub fn load(service: ServiceDefaults) -> Result<Self, ConfigError> {
        let mut s = Self::defaults_for(service);
        if let Ok(path) = std::env::var("CIVIC_CONFIG") {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            s = s.overlay_toml(&text).map_err(|source| ConfigError::Parse { path, source })?;
        }
        s.overlay_env(|k| std::env::var(k).ok())?;
        Ok(s)
    }

    fn overlay_toml(self, text: &str) -> Result<Self, toml::de::Error> {
        // Fields absent from the file keep this layer's values.
        let mut table: toml::Table = toml::from_str(text)?;
        let base = toml::Table::try_from(SettingsMirror::from(&self)).unwrap_or_default();
        for (k, v) in base {
            table.entry(k).or_insert(v);
        }
        toml::Value::Table(table).try_into()
    }

    pub fn overlay_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(name: &'static str, v: String) -> Result<T, ConfigError> {
            v.trim().parse().map_err(|_| ConfigError::Env { name, message: format!("'{v}' is not a number") })
        }
        if let Some(v) = get("CIVIC_LISTEN_ADDR") {
            self.listen_addr = v;
        }
        if let Some(v) = get("CIVIC_METRICS_ADDR") {
            self.metrics_addr = v;
        }
        if let Some(v) = get("CIVIC_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("CIVIC_POLICIES_DIR") {
            self.policies_dir = PathBuf::from(v);
        }
        if let Some(v) = get("CIVIC_SIGNING_KEY") {
            self.signing_key = v;
        }
        if let Some(v) = get("CIVIC_LOG") {
            self.log = v;
        }
        if let Some(v) = get("CIVIC_LOG_FORMAT") {
            self.log_format = match v.as_str() {
                "human" => LogFormat::Human,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::Env {
                        name: "CIVIC_LOG_FORMAT",
                        message: format!("'{v}': use human or json"),
                    })
                }
            };
        }
        if let Some(v) = get("CIVIC_REQUEST_TIMEOUT_SECS") {
            self.request_timeout_secs = num("CIVIC_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("CIVIC_STREAM_TIMEOUT_SECS") {
            self.stream_timeout_secs = num("CIVIC_STREAM_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("CIVIC_CONCURRENCY_LIMIT") {
            self.concurrency_limit = num("CIVIC_CONCURRENCY_LIMIT", v)?;
        }
        if let Some(v) = get("CIVIC_SHUTDOWN_GRACE_SECS") {
            self.shutdown_grace_secs = num("CIVIC_SHUTDOWN_GRACE_SECS", v)?;
        }
        if let Some(v) = get("CIVIC_DB_MAX_CONNECTIONS") {
            self.db_max_connections = num("CIVIC_DB_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = get("CIVIC_MAX_MESSAGE_BYTES") {
            self.max_message_bytes = num("CIVIC_MAX_MESSAGE_BYTES", v)?;
        }
        if let Some(v) = get("CIVIC_MAX_IMPORT_BYTES") {
            self.max_import_bytes = num("CIVIC_MAX_IMPORT_BYTES", v)?;
        }
        if let Some(v) = get("CIVIC_MAX_IMPORT_MEMORY_BYTES") {
            self.max_import_memory_bytes = num("CIVIC_MAX_IMPORT_MEMORY_BYTES", v)?;
        }
        if let Some(v) = get("CIVIC_ROLL_SNAPSHOT_MIN_HOUSEHOLDS") {
            self.roll_snapshot_min_households = num("CIVIC_ROLL_SNAPSHOT_MIN_HOUSEHOLDS", v)?;
        }
        if let Some(v) = get("CIVIC_TOKEN_MAX_HOURS") {
            self.token_max_hours = num("CIVIC_TOKEN_MAX_HOURS", v)?;
        }
        if let Some(v) = get("CIVIC_MAX_CONNECTIONS") {
            self.max_connections = num("CIVIC_MAX_CONNECTIONS", v)?;
        }
        if let Some(v) = get("CIVIC_HANDSHAKE_TIMEOUT_SECS") {
            self.handshake_timeout_secs = num("CIVIC_HANDSHAKE_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("CIVIC_IDLE_TIMEOUT_SECS") {
            self.idle_timeout_secs = num("CIVIC_IDLE_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("CIVIC_KEEPALIVE_SECS") {
            self.keepalive_secs = num("CIVIC_KEEPALIVE_SECS", v)?;
        }
        for (name, field) in [
            ("CIVIC_TLS_CERT", &mut self.tls_cert),
            ("CIVIC_TLS_KEY", &mut self.tls_key),
            ("CIVIC_TLS_CLIENT_CA", &mut self.tls_client_ca),
            ("CIVIC_PEER_CA", &mut self.peer_ca),
            ("CIVIC_PEER_CERT", &mut self.peer_cert),
            ("CIVIC_PEER_KEY", &mut self.peer_key),
        ] {
            if let Some(v) = get(name) {
                *field = v;
            }
        }
        match crate::trace::endpoint_from(&get) {
            Ok(Some(e)) => self.otlp_traces_endpoint = e,
            Ok(None) if get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim() == "none") => {
                self.otlp_traces_endpoint.clear()
            }
            Ok(None) => {}
            Err(message) => return Err(ConfigError::Env { name: "OTEL_EXPORTER_OTLP_ENDPOINT", message }),
        }
        if let Some(v) = get("OTEL_SERVICE_NAME") {
            self.otel_service_name = v;
        }
        Ok(())
    }

    pub fn token_key(&self) -> TokenKey {
        TokenKey::new(&self.signing_key)
            .with_max_lifetime(chrono::Duration::hours(self.token_max_hours.min(24 * 366) as i64))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    pub fn stream_timeout(&self) -> Duration {
        Duration::from_secs(self.stream_timeout_secs.max(1))
    }

    pub fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            max_connections: self.max_connections.max(1),
            handshake_timeout: Duration::from_secs(self.handshake_timeout_secs.max(1)),
            // Never shorter than the ping interval, or live idle clients would be cut.
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(self.keepalive_secs.max(1) * 2)),
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// The serializable view of `Settings` used to fill in fields a config file leaves out.
#[derive(serde::Serialize)]
struct SettingsMirror {
    listen_addr: String,
    metrics_addr: String,
    database_url: String,
    policies_dir: String,
    signing_key: String,
    log_format: &'static str,
    log: String,
    request_timeout_secs: u64,
    stream_timeout_secs: u64,
    concurrency_limit: usize,
    shutdown_grace_secs: u64,
    db_max_connections: u32,
    max_message_bytes: usize,
    max_import_bytes: usize,
    max_import_memory_bytes: usize,
    roll_snapshot_min_households: usize,
    token_max_hours: u64,
    max_connections: usize,
    handshake_timeout_secs: u64,
    idle_timeout_secs: u64,
    keepalive_secs: u64,
    tls_cert: String,
    tls_key: String,
    tls_client_ca: String,
    peer_ca: String,
    peer_cert: String,
    peer_key: String,
    otlp_traces_endpoint: String,
    otel_service_name: String,
}

impl From<&Settings> for SettingsMirror {
    fn from(s: &Settings) -> Self {
        SettingsMirror {
            listen_addr: s.listen_addr.clone(),
            metrics_addr: s.metrics_addr.clone(),
            database_url: s.database_url.clone(),
            policies_dir: s.policies_dir.display().to_string(),
            signing_key: s.signing_key.clone(),
            log_format: match s.log_format {
                LogFormat::Human => "human",
                LogFormat::Json => "json",
            },
            log: s.log.clone(),
            request_timeout_secs: s.request_timeout_secs,
            stream_timeout_secs: s.stream_timeout_secs,
            concurrency_limit: s.concurrency_limit,
            shutdown_grace_secs: s.shutdown_grace_secs,
            db_max_connections: s.db_max_connections,
            max_message_bytes: s.max_message_bytes,
            max_import_bytes: s.max_import_bytes,
            max_import_memory_bytes: s.max_import_memory_bytes,
            roll_snapshot_min_households: s.roll_snapshot_min_households,
            token_max_hours: s.token_max_hours,
            max_connections: s.max_connections,
            handshake_timeout_secs: s.handshake_timeout_secs,
            idle_timeout_secs: s.idle_timeout_secs,
            keepalive_secs: s.keepalive_secs,
            tls_cert: s.tls_cert.clone(),
            tls_key: s.tls_key.clone(),
            tls_client_ca: s.tls_client_ca.clone(),
            peer_ca: s.peer_ca.clone(),
            peer_cert: s.peer_cert.clone(),
            peer_key: s.peer_key.clone(),
            otlp_traces_endpoint: s.otlp_traces_endpoint.clone(),
            otel_service_name: s.otel_service_name.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: ServiceDefaults = ServiceDefaults { name: "social-assistance", grpc_port: 50053, metrics_port: 9103 };

    #[test]
    fn layers_override_in_order() {
        let s = Settings::defaults_for(SVC);
        assert_eq!(s.listen_addr, "127.0.0.1:50053");
        let mut s = s.overlay_toml("listen_addr = \"0.0.0.0:6000\"\nconcurrency_limit = 8\n").unwrap();
        assert_eq!(s.listen_addr, "0.0.0.0:6000");
        assert_eq!(s.database_url, "sqlite://data/social-assistance.db?mode=rwc");
        s.overlay_env(|k| (k == "CIVIC_CONCURRENCY_LIMIT").then(|| "4".to_string())).unwrap();
        assert_eq!(s.concurrency_limit, 4);
        assert!(s.clone().overlay_env(|k| (k == "CIVIC_LOG_FORMAT").then(|| "xml".to_string())).is_err());
    }

    /// The README's configuration table lists every variable with the same default, and the
    /// deployment guide lists every variable.
    #[test]
    fn the_readme_lists_every_variable() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
        let deploy = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/README.md")).unwrap();
        for (name, default, _) in VARIABLES {
            let row = format!("| `{name}` | {default} |");
            assert!(readme.contains(&row), "README lacks the row starting {row}");
            assert!(deploy.contains(&format!("| `{name}` |")), "deploy/README.md lacks {name}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let mut s = Settings::defaults_for(SVC);
        s.database_url = "postgres://civic:s3cret@db:5432/civic".into();
        let text = format!("{s:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains(DEVELOPMENT_SIGNING_KEY));
        s.database_url = "postgres://civic@db:5432/civic?sslmode=require&password=s3cret&sslpassword=k3y".into();
        let text = format!("{s:?}");
        assert!(!text.contains("s3cret") && !text.contains("k3y"), "{text}");
        assert!(text.contains("sslmode=require"), "{text}");
    }
}
