//! Tracing set-up (human or JSON lines) and Prometheus metrics: calls and errors by code and a
//! latency histogram per RPC, served over plain HTTP at `/metrics`.

use std::sync::Arc;

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, Settings};

/// Install the global subscriber once; later calls (e.g. several servers in one test) are no-ops.
pub fn init_tracing(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let result = match settings.log_format {
        LogFormat::Human => fmt().with_env_filter(filter).with_target(false).try_init(),
        LogFormat::Json => fmt().json().flatten_event(true).with_current_span(true).with_env_filter(filter).try_init(),
    };
    let _ = result;
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientCallLabels {
    pub peer: String,
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientMethodLabels {
    pub peer: String,
    pub method: String,
}

/// The metric handles of one (method, code) pair, looked up once and then reused: recording a
/// call costs two atomic updates, not two label allocations and two map lookups.
#[derive(Clone)]
struct Handles {
    calls: Counter,
    latency: Histogram,
}

/// The metrics of one service.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    calls: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram>,
    handles: Arc<std::sync::RwLock<std::collections::HashMap<String, Handles>>>,
    client_calls: Family<ClientCallLabels, Counter>,
    client_latency: Family<ClientMethodLabels, Histogram>,
}

impl Metrics {
    pub fn new(service: &str) -> Self {
        let mut registry = Registry::with_prefix("civic");
        let calls = Family::<CallLabels, Counter>::default();
        // Buckets from 0.25 ms to ~8 s: most calls here are sub-millisecond computations.
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register(
            "grpc_server_handled",
            format!("gRPC calls handled by {service}, by method and status code"),
            calls.clone(),
        );
        registry.register(
            "grpc_server_handling_seconds",
            format!("gRPC call latency of {service}, by method"),
            latency.clone(),
        );
        let client_calls = Family::<ClientCallLabels, Counter>::default();
        let client_latency = Family::<ClientMethodLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register(
            "grpc_client_handled",
            format!("gRPC calls {service} made to other services, by service, method and status code"),
            client_calls.clone(),
        );
        registry.register(
            "grpc_client_handling_seconds",
            format!("Latency of the gRPC calls {service} made to other services"),
            client_latency.clone(),
        );
        Metrics { registry: Arc::new(registry), calls, latency, handles: Arc::default(), client_calls, client_latency }
    }

    pub fn record(&self, method: &str, code: &str, seconds: f64) {
        let key_len = method.len() + 1 + code.len();
        let mut key = String::with_capacity(key_len);
        key.push_str(method);
        key.push(' ');
        key.push_str(code);
        let cached = self.handles.read().ok().and_then(|m| m.get(&key).cloned());
        let h = match cached {
            Some(h) => h,
            None => {
                let h = Handles {
                    calls: self
                        .calls
                        .get_or_create(&CallLabels { method: method.to_string(), code: code.to_string() })
                        .clone(),
                    latency: self.latency.get_or_create(&MethodLabels { method: method.to_string() }).clone(),
                };
                if let Ok(mut m) = self.handles.write() {
                    // Methods and codes are few; a client sending junk paths cannot grow this
                    // without bound.
                    if m.len() < 4096 {
                        m.insert(key, h.clone());
                    }
                }
                h
            }
        };
        h.calls.inc();
        h.latency.observe(seconds);
    }

    /// A call this service made to `peer` (few and slow next to served calls: no handle cache).
    pub fn record_client(&self, peer: &str, method: &str, code: &str, seconds: f64) {
        self.client_calls
            .get_or_create(&ClientCallLabels { peer: peer.into(), method: method.into(), code: code.into() })
            .inc();
        self.client_latency
            .get_or_create(&ClientMethodLabels { peer: peer.into(), method: method.into() })
            .observe(seconds);
    }

    /// The metrics page in OpenMetrics, with the process's and the database pool's figures.
    pub fn render(&self, db: Option<&crate::storage::Database>) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        // encode() ends the page with "# EOF"; the figures below go before it.
        if let Some(body) = out.strip_suffix("# EOF\n") {
            out.truncate(body.len());
        }
        process_metrics(&mut out);
        if let Some(db) = db {
            pool_metrics(&mut out, db);
        }
        out.push_str("# EOF\n");
        out
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}

fn counter(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name}_total {value}\n");
}

/// Linux's clock ticks per second as /proc reports them (USER_HZ, fixed at 100 for user space).
const USER_HZ: u64 = 100;

/// Clock ticks as seconds, exactly (two decimals at USER_HZ = 100).
fn ticks_as_seconds(ticks: u64) -> String {
    format!("{}.{:02}", ticks / USER_HZ, ticks % USER_HZ)
}

/// The standard process metrics, from /proc (left out where /proc cannot be read).
fn process_metrics(out: &mut String) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return };
    // Fields after the command name, which is in parentheses and may contain spaces.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    counter(
        out,
        "process_cpu_seconds",
        "User and system CPU time spent in seconds.",
        ticks_as_seconds(field(14).saturating_add(field(15))),
    );
    gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23));
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(rss) = kib("VmRSS:") {
        gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", rss * 1024);
    }
    if let Some(threads) = kib("Threads:") {
        gauge(out, "process_threads", "Number of OS threads in the process.", threads);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge(out, "process_open_fds", "Number of open file descriptors.", fds.count());
    }
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    if let Some(max) = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
    {
        gauge(out, "process_max_fds", "Maximum number of open file descriptors.", max);
    }
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse::<u64>().ok()));
    if let Some(boot) = boot {
        gauge(
            out,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            ticks_as_seconds(boot.saturating_mul(USER_HZ).saturating_add(field(22))),
        );
    }
}

/// The database pool: connections open, idle and allowed.
fn pool_metrics(out: &mut String, db: &crate::storage::Database) {
    gauge(out, "civic_db_pool_connections", "Database connections open in the pool.", db.pool.size());
    gauge(out, "civic_db_pool_idle_connections", "Open database connections not in use.", db.pool.num_idle());
    gauge(
        out,
        "civic_db_pool_max_connections",
        "Most database connections the pool opens (CIVIC_DB_MAX_CONNECTIONS).",
        db.pool.options().get_max_connections(),
    );
}

/// An OpenMetrics page in Prometheus's classic text format (0.0.4): counters are typed under
/// their `_total` name, and there is no `# UNIT` or `# EOF`.
pub fn to_classic_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = line
            .strip_prefix("# TYPE ")
            .map(|r| ("# TYPE ", r))
            .or_else(|| line.strip_prefix("# HELP ").map(|r| ("# HELP ", r)));
        match meta {
            Some((kind, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{kind}{name}_total {tail}\n"));
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Serve `/metrics` on `listener` until `shutdown` resolves: OpenMetrics when the scraper asks
/// for it (Prometheus does), the classic text format otherwise.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    db: Option<crate::storage::Database>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::{routing::get, Router};
    let app = Router::new().route(
        "/metrics",
        get(move |headers: http::HeaderMap| {
            let m = metrics.clone();
            let db = db.clone();
            async move {
                let page = m.render(db.as_ref());
                let openmetrics = headers
                    .get_all(http::header::ACCEPT)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| v.contains("application/openmetrics-text"));
                if openmetrics {
                    ([("content-type", "application/openmetrics-text; version=1.0.0; charset=utf-8")], page)
                } else {
                    ([("content-type", "text/plain; version=0.0.4; charset=utf-8")], to_classic_text(&page))
                }
            }
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
