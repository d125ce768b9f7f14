//! Starting a service: bind first (so port 0 works and tests learn the port), then serve until
//! the shutdown future resolves, then drain in-flight calls for at most the grace period.

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_stream::StreamExt as _;
use tonic::{
    service::Routes,
    transport::{server::TcpIncoming, Server},
};
use tonic_health::ServingStatus;
use tower::ServiceBuilder;

use crate::{
    coalesce::Coalesced,
    config::Settings,
    connections::ConnectionGate,
    middleware::{AuthLayer, ContextLayer, ShedLayer},
    telemetry::{serve_metrics, Metrics},
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("reflection: {0}")]
    Reflection(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("traces: {0}")]
    Traces(String),
}

/// A bound, running server.
pub struct Running {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    task: JoinHandle<()>,
}

impl Running {
    /// Wait until the server has drained and stopped.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr: addr.to_string(), source })
}

/// Serve `routes` (the service's own gRPC services plus the common ones) with reflection,
/// health, identity and the shared middleware. `service_names` are the fully qualified gRPC
/// service names shown by reflection and reported by health.
pub async fn serve(
    settings: &Settings,
    service_label: &str,
    service_names: &[&str],
    routes: Routes,
    ready: Option<crate::storage::Database>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartError> {
    let key = settings.token_key();
    if key.is_development_default() {
        tracing::warn!("CIVIC_SIGNING_KEY is not set: using the development signing key. Anyone can mint tokens for this server. Set CIVIC_SIGNING_KEY in production.");
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("", ServingStatus::Serving).await;
    for name in service_names {
        health_reporter.set_service_status(*name, ServingStatus::Serving).await;
    }

    // The google.rpc error details come from tonic-types' descriptors, so that grpcurl can
    // decode the details of every error.
    let mut v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(civic_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET);
    let mut v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(civic_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET);
    // List only this service's own services (the descriptor set holds the whole suite).
    for name in service_names.iter().chain(["grpc.health.v1.Health"].iter()) {
        v1 = v1.with_service_name(*name);
        v1alpha = v1alpha.with_service_name(*name);
    }
    let v1 = v1.build_v1().map_err(|e| StartError::Reflection(e.to_string()))?;
    let v1alpha = v1alpha.build_v1alpha().map_err(|e| StartError::Reflection(e.to_string()))?;
    let routes = routes.add_service(health_service).add_service(v1).add_service(v1alpha);

    let metrics = Metrics::new(service_label);
    let listener = bind(&settings.listen_addr).await?;
    let grpc_addr =
        listener.local_addr().map_err(|source| StartError::Bind { addr: settings.listen_addr.clone(), source })?;

    let (stop_metrics_tx, stop_metrics_rx) = oneshot::channel::<()>();
    let metrics_addr = if settings.metrics_addr.is_empty() {
        None
    } else {
        let ml = bind(&settings.metrics_addr).await?;
        let addr = ml.local_addr().ok();
        let m = metrics.clone();
        let db = ready.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_metrics(ml, m, db, async move {
                let _ = stop_metrics_rx.await;
            })
            .await
            {
                tracing::error!(error = %e, "metrics server failed");
            }
        });
        addr
    };

    // Layers, outermost first:
    // 1. ContextLayer: request id, tracing span and metrics see every call, including those
    //    refused below, so refusals show up in the error counts.
    // 2. ShedLayer: more than `concurrency_limit` calls at once are refused at once with
    //    UNAVAILABLE rather than queued until their deadlines pass; health checks are never
    //    shed. Sits before auth so that a flood of bad tokens cannot take more than its share.
    // 3. AuthLayer: verifies the bearer token and hands the caller to handlers.
    // The deadline (the smaller of ours and the client's grpc-timeout) is applied inside
    // ContextLayer, so that a call that runs out of time keeps its request id, log line and
    // metric (DEADLINE_EXCEEDED).
    let exporter = if settings.otlp_traces_endpoint.is_empty() {
        crate::trace::Exporter::off()
    } else {
        let name = if settings.otel_service_name.is_empty() { service_label } else { &settings.otel_service_name };
        let e = crate::trace::Exporter::start(&settings.otlp_traces_endpoint, name).map_err(StartError::Traces)?;
        tracing::info!(endpoint = %settings.otlp_traces_endpoint, service = %name, "exporting traces over OTLP/HTTP");
        e
    };
    let layers = ServiceBuilder::new()
        .layer(
            ContextLayer::new(metrics, known_methods(service_names), settings.request_timeout())
                .with_stream_timeout(settings.stream_timeout())
                .with_exporter(exporter)
                .with_service(service_label),
        )
        .layer(ShedLayer::new(settings.concurrency_limit))
        .layer(AuthLayer::new(key));

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let gate = ConnectionGate::new(settings.connection_limits());
    let keepalive = Duration::from_secs(settings.keepalive_secs.max(1));
    let mut builder = Server::builder();
    if let Some(tls) = crate::tls::server_config(settings).map_err(StartError::Tls)? {
        builder = builder.tls_config(tls).map_err(|e| StartError::Tls(e.to_string()))?;
        tracing::info!(cert = %settings.tls_cert, mutual = !settings.tls_client_ca.is_empty(), "gRPC over TLS");
    }
    let server = builder
        .http2_keepalive_interval(Some(keepalive))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(layers)
        .add_routes(routes)
        // TCP_NODELAY: responses larger than a segment (explanations) must not wait for the
        // peer's delayed ACK (~40 ms) under Nagle's algorithm. Each connection gathers what it
        // writes between flushes (see coalesce.rs), and is closed when it stays silent or when
        // the server already holds its limit of connections (see connections.rs).
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)).filter_map(move |io| match io {
                Ok(stream) => match gate.admit(Coalesced::new(stream)) {
                    Some(guarded) => Some(Ok(guarded)),
                    None => {
                        tracing::debug!("connection limit reached: a new connection is closed");
                        None
                    }
                },
                Err(e) => Some(Err(e)),
            }),
            async move {
                let _ = stop_rx.await;
            },
        );
    let mut server = tokio::spawn(server);
    // Readiness follows the database: the service names turn NOT_SERVING while it cannot be
    // reached and SERVING when it is back. Liveness (the empty service name) does not.
    let watcher = ready.map(|db| {
        let reporter = health_reporter.clone();
        let names: Vec<String> = service_names.iter().map(|s| s.to_string()).collect();
        tokio::spawn(watch_readiness(db, reporter, names))
    });

    let grace = settings.shutdown_grace();
    let label = service_label.to_string();
    let names: Vec<String> = service_names.iter().map(|s| s.to_string()).collect();
    tracing::info!(service = %label, %grpc_addr, ?metrics_addr, "serving");
    let task = tokio::spawn(async move {
        tokio::select! {
            _ = shutdown => {}
            res = &mut server => {
                tracing::error!(?res, "server stopped on its own");
                let _ = stop_metrics_tx.send(());
                return;
            }
        }
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: refusing new calls, letting in-flight calls finish"
        );
        if let Some(w) = &watcher {
            w.abort();
        }
        health_reporter.set_service_status("", ServingStatus::NotServing).await;
        for n in &names {
            health_reporter.set_service_status(n.as_str(), ServingStatus::NotServing).await;
        }
        let _ = stop_tx.send(());
        match tokio::time::timeout(grace, &mut server).await {
            Ok(_) => tracing::info!(service = %label, "stopped cleanly"),
            Err(_) => {
                tracing::warn!(service = %label, "grace period over; abandoning calls still running");
                server.abort();
            }
        }
        let _ = stop_metrics_tx.send(());
    });
    Ok(Running { grpc_addr, metrics_addr, task })
}

/// How often readiness asks the database, and how long it waits for an answer.
const READINESS_EVERY: Duration = Duration::from_secs(2);
const READINESS_WAIT: Duration = Duration::from_secs(2);

async fn watch_readiness(
    db: crate::storage::Database,
    reporter: tonic_health::server::HealthReporter,
    names: Vec<String>,
) {
    let mut ready = true;
    loop {
        tokio::time::sleep(READINESS_EVERY).await;
        let ok =
            matches!(tokio::time::timeout(READINESS_WAIT, sqlx::query("SELECT 1").execute(&db.pool)).await, Ok(Ok(_)));
        if ok != ready {
            ready = ok;
            let status = if ok { ServingStatus::Serving } else { ServingStatus::NotServing };
            if ok {
                tracing::info!("database reachable again: ready");
            } else {
                tracing::warn!("database unreachable: not ready");
            }
            for n in &names {
                reporter.set_service_status(n.as_str(), status).await;
            }
        }
    }
}

/// The method paths ("/package.Service/Method") of `service_names`, health and reflection, from
/// the suite's descriptor set.
fn known_methods(service_names: &[&str]) -> std::collections::HashSet<String> {
    use prost::Message as _;
    let mut known = std::collections::HashSet::new();
    let mut add = |bytes: &[u8]| {
        if let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) {
            for file in set.file {
                let package = file.package.unwrap_or_default();
                for svc in file.service {
                    let full = format!("{package}.{}", svc.name.unwrap_or_default());
                    let served = service_names.contains(&full.as_str())
                        || full.starts_with("grpc.health.")
                        || full.starts_with("grpc.reflection.")
                        || full.starts_with("civic.common.");
                    if served {
                        for m in svc.method {
                            known.insert(format!("/{full}/{}", m.name.unwrap_or_default()));
                        }
                    }
                }
            }
        }
    };
    add(civic_proto::FILE_DESCRIPTOR_SET);
    add(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for name in ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"] {
        known.insert(format!("/{name}/ServerReflectionInfo"));
    }
    known
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

/// A small pause used by clients that retry a safe call.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(200);
