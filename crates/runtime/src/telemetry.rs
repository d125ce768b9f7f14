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
        Metrics { registry: Arc::new(registry), calls, latency, handles: Arc::default() }
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

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Serve `/metrics` on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::{routing::get, Router};
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        "content-type",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    m.render(),
                )
            }
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
