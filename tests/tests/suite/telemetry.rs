//! Telemetry as an IT team consumes it: traces exported over OTLP/HTTP with the caller's trace
//! context carried across the services (a small OTLP receiver stands in for the collector);
//! metrics in OpenMetrics and in the classic text format, with process and pool figures and the
//! real codes of streamed and cancelled calls; and a real Prometheus (Debian's `prometheus`)
//! scraping the three services.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use civic_proto::{
    assistance::v1::{social_assistance_service_client::SocialAssistanceServiceClient, StandardValue},
    budget::v1::{budget_performance_service_client::BudgetPerformanceServiceClient, AssessStandardCostRequest},
    common::v1::{identity_service_client::IdentityServiceClient, WhoAmIRequest},
};
use civic_runtime::{config::Settings, identity::Role, storage::Backend};
use civic_testing::{authed, channel, fresh_database, settings, token};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::{server::NamedService, service::Routes, Code};

/// A stand-in OTLP/HTTP collector: every JSON body posted to it, kept.
async fn otlp_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let body = loop {
                    let Ok(n) = s.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break buf[end + 4..end + 4 + length].to_vec();
                        }
                    }
                };
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    keep.lock().unwrap().push(v);
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                    .await;
            });
        }
    });
    (format!("http://{addr}/v1/traces"), received)
}

/// Every span received: (service.name, span).
fn spans(received: &Mutex<Vec<Value>>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for body in received.lock().unwrap().iter() {
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            let service = rs["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or_default()
                .to_string();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    out.push((service.clone(), span.clone()));
                }
            }
        }
    }
    out
}

/// budget-performance → social-assistance with the caller's `traceparent`: one trace; the
/// budget server span is the caller's child, the client span the server span's child, and
/// social-assistance's server span the client span's child; each service names itself.
#[tokio::test]
async fn a_trace_crosses_the_services_and_reaches_the_collector() {
    let (endpoint, received) = otlp_receiver().await;
    let traced = |url: String| Settings { otlp_traces_endpoint: endpoint.clone(), ..settings(url) };
    let (sa_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let sa = social_assistance::start(traced(fresh_database(Backend::Sqlite).await), async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let (bp_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start_with(
        Settings { metrics_addr: "127.0.0.1:0".into(), ..traced(fresh_database(Backend::Sqlite).await) },
        &format!("http://{}", sa.grpc_addr),
        async move {
            let _ = rx.await;
        },
    )
    .await
    .unwrap();
    let mut sa_client = SocialAssistanceServiceClient::new(channel(sa.grpc_addr).await);
    super::import_roll(&mut sa_client, "H1,210502,urban,dibao,active,m1,45,false,true,wage:900\n", "2019-07-01")
        .await
        .unwrap();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut req = authed(
        &token(Role::Finance, "210500"),
        AssessStandardCostRequest {
            region_code: "210500".into(),
            on_date: "2019-07-01".into(),
            proposed: vec![StandardValue {
                key: "assistance.dibao.urban".into(),
                region_code: "210500".into(),
                value: "650".into(),
                clause: String::new(),
            }],
        },
    );
    req.metadata_mut().insert("traceparent", format!("00-{trace_id}-{caller_span}-01").parse().unwrap());
    // The caller allows 3 s: the call to social-assistance gets no more than what is left.
    req.set_timeout(Duration::from_secs(3));
    BudgetPerformanceServiceClient::new(channel(bp.grpc_addr).await).assess_standard_cost(req).await.unwrap();

    let find = |all: &[(String, Value)], service: &str, name: &str, kind: i64| {
        all.iter()
            .find(|(s, span)| {
                s == service && span["name"] == name && span["kind"] == kind && span["traceId"] == trace_id
            })
            .map(|(_, span)| span.clone())
    };
    let started = Instant::now();
    let (server, client, downstream) = loop {
        let all = spans(&received);
        let server = find(&all, "budget-performance", "civic.budget.v1.BudgetPerformanceService/AssessStandardCost", 2);
        let client = find(&all, "budget-performance", "civic.assistance.v1.SocialAssistanceService/WhatIf", 3);
        let downstream = find(&all, "social-assistance", "civic.assistance.v1.SocialAssistanceService/WhatIf", 2);
        if let (Some(a), Some(b), Some(c)) = (server.clone(), client.clone(), downstream.clone()) {
            break (a, b, c);
        }
        assert!(started.elapsed() < Duration::from_secs(10), "spans received: {all:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(server["parentSpanId"], caller_span, "the caller's span is the parent: {server}");
    assert_eq!(client["parentSpanId"], server["spanId"], "the outgoing call is the server span's child");
    assert_eq!(downstream["parentSpanId"], client["spanId"], "social-assistance continues the trace");
    let code = |span: &Value| {
        span["attributes"].as_array().unwrap().iter().find(|a| a["key"] == "rpc.grpc.status_code").unwrap()["value"]
            ["stringValue"]
            .clone()
    };
    assert_eq!(code(&server), "Ok");
    assert_eq!(code(&downstream), "Ok");
    let attribute = |span: &Value, key: &str| {
        span["attributes"].as_array().unwrap().iter().find(|a| a["key"] == key).unwrap()["value"]["stringValue"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(attribute(&server, "civic.deadline_ms"), "3000");
    let downstream_deadline: u64 = attribute(&downstream, "civic.deadline_ms").parse().unwrap();
    assert!(downstream_deadline <= 3000, "the deadline shrinks as it travels: {downstream_deadline} ms");
    // The call to social-assistance is counted on budget-performance's own metrics.
    let (_, page) = scrape(bp.metrics_addr.unwrap(), "text/plain").await;
    assert!(
        page.lines().any(|l| l.starts_with("civic_grpc_client_handled_total{")
            && l.contains("peer=\"social-assistance\"")
            && l.contains("method=\"civic.assistance.v1.SocialAssistanceService/WhatIf\"")
            && l.contains("code=\"Ok\"")
            && l.ends_with(" 1")),
        "{page}"
    );
    assert!(page.contains("civic_grpc_client_handling_seconds_bucket{"), "{page}");
    let start: u64 = server["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    let end: u64 = server["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
    assert!(end >= start && start > 1_600_000_000_000_000_000, "{server}");
    let _ = bp_stop.send(());
    bp.wait().await;
    let _ = sa_stop.send(());
    sa.wait().await;
}

/// The metrics page as a scraper asks for it.
async fn scrape(addr: SocketAddr, accept: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    (content_type, body.to_string())
}

/// A stand-in for a streamed answer that fails midway: one message, then INTERNAL in the
/// trailers, as a server stream that hits an error after its first item ends.
#[derive(Clone)]
struct FailsMidway;

impl NamedService for FailsMidway {
    const NAME: &'static str = "civic.common.v1.IdentityService";
}

struct MessageThenError(u8);

impl http_body::Body for MessageThenError {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, tonic::Status>>> {
        self.0 += 1;
        Poll::Ready(match self.0 {
            // An empty WhoAmIResponse: not compressed, length 0.
            1 => Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0])))),
            2 => {
                let mut trailers = http::HeaderMap::new();
                trailers.insert("grpc-status", "13".parse().unwrap());
                trailers.insert("grpc-message", "failed%20midway".parse().unwrap());
                Some(Ok(http_body::Frame::trailers(trailers)))
            }
            _ => None,
        })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for FailsMidway {
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        let response = http::Response::builder()
            .header("content-type", "application/grpc")
            .body(tonic::body::Body::new(MessageThenError(0)))
            .unwrap();
        std::future::ready(Ok(response))
    }
}

/// OpenMetrics for Prometheus, the classic text format for everyone else; process and pool
/// figures; a stream that fails after its first message counted under its code, not OK; a
/// stream the client drops counted CANCELLED.
#[tokio::test]
async fn metrics_in_both_formats_with_process_pool_and_stream_codes() {
    let mut s = settings(fresh_database(Backend::Sqlite).await);
    s.metrics_addr = "127.0.0.1:0".into();
    let db = civic_runtime::storage::Database::connect(&s.database_url, 2).await.unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let running = civic_runtime::server::serve(
        &s,
        "test",
        &["civic.common.v1.IdentityService"],
        Routes::new(FailsMidway),
        Some(db),
        async move {
            let _ = rx.await;
        },
    )
    .await
    .unwrap();
    let e = IdentityServiceClient::new(channel(running.grpc_addr).await)
        .who_am_i(authed(&token(Role::Admin, "000000"), WhoAmIRequest {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal, "{e:?}");
    // A health watch the client leaves after the first answer.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(running.grpc_addr).await);
    let mut watch =
        health.watch(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap().into_inner();
    assert!(watch.message().await.unwrap().is_some());
    drop(watch);
    drop(health);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let metrics = running.metrics_addr.unwrap();
    let (om_type, om) = scrape(metrics, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5").await;
    assert!(om_type.starts_with("application/openmetrics-text"), "{om_type}");
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE civic_grpc_server_handled counter"), "{om}");
    let counted = |page: &str, method: &str, code: &str| {
        page.lines().any(|l| {
            l.starts_with("civic_grpc_server_handled_total{")
                && l.contains(&format!("method=\"{method}\""))
                && l.contains(&format!("code=\"{code}\""))
        })
    };
    assert!(counted(&om, "/civic.common.v1.IdentityService/WhoAmI", "Internal"), "{om}");
    assert!(!counted(&om, "/civic.common.v1.IdentityService/WhoAmI", "Ok"), "a failed stream is not OK: {om}");
    assert!(counted(&om, "/grpc.health.v1.Health/Watch", "Cancelled"), "{om}");
    for name in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_max_fds ",
        "process_start_time_seconds ",
        "process_threads ",
        "civic_db_pool_connections ",
        "civic_db_pool_idle_connections ",
        "civic_db_pool_max_connections 2",
    ] {
        assert!(om.lines().any(|l| l.starts_with(name)), "{name}: {om}");
    }

    let (text_type, text) = scrape(metrics, "text/plain").await;
    assert!(text_type.starts_with("text/plain; version=0.0.4"), "{text_type}");
    assert!(!text.contains("# EOF"), "{text}");
    assert!(text.contains("# TYPE civic_grpc_server_handled_total counter"), "{text}");
    assert!(text.contains("# TYPE process_cpu_seconds_total counter"), "{text}");
    assert!(text.contains("# TYPE civic_grpc_server_handling_seconds histogram"), "{text}");
    assert!(counted(&text, "/civic.common.v1.IdentityService/WhoAmI", "Internal"), "{text}");
    let _ = stop.send(());
    running.wait().await;
}

/// One GET to Prometheus's HTTP API; the JSON answer.
async fn prometheus_query(addr: SocketAddr, query: &str) -> Value {
    let encoded: String = query
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return Value::Null };
    let req = format!("GET /api/v1/query?query={encoded} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return Value::Null;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    out.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null)
}

/// A real Prometheus scrapes the three services and a query returns each one's call counter.
/// Needs Debian's `prometheus`; where it is missing the test says so and passes, unless
/// CIVIC_REQUIRE_ALL is set (as in CI).
#[tokio::test]
async fn prometheus_scrapes_the_three_services() {
    let binary = std::env::var("CIVIC_PROMETHEUS").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    if !std::path::Path::new(&binary).exists() {
        assert!(std::env::var("CIVIC_REQUIRE_ALL").is_err(), "{binary} is missing (apt-get install prometheus)");
        eprintln!("NOT RUN: {binary} is missing (apt-get install prometheus)");
        return;
    }
    let mut running = Vec::new();
    let mut targets = Vec::new();
    for (name, _, starter) in super::starters() {
        let mut s = settings(fresh_database(Backend::Sqlite).await);
        s.metrics_addr = "127.0.0.1:0".into();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let r = starter(
            s,
            Box::pin(async move {
                let _ = rx.await;
            }),
        )
        .await;
        // One authenticated call each, so every service has a counter to show.
        IdentityServiceClient::new(channel(r.grpc_addr).await)
            .who_am_i(authed(&token(Role::Admin, "000000"), WhoAmIRequest {}))
            .await
            .unwrap();
        targets.push(format!(
            "  - job_name: {name}\n    static_configs:\n      - targets: ['{}']\n",
            r.metrics_addr.unwrap()
        ));
        running.push((tx, r));
    }
    let dir = std::env::temp_dir().join(format!("civic-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!("global:\n  scrape_interval: 1s\nscrape_configs:\n{}", targets.concat());
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let web = SocketAddr::from(([127, 0, 0, 1], port));
    let mut child = std::process::Command::new(&binary)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={web}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let started = Instant::now();
    let mut last = Value::Null;
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        last = prometheus_query(
            web,
            "sum by (job) (civic_grpc_server_handled_total{method=\"/civic.common.v1.IdentityService/WhoAmI\",code=\"Ok\"})",
        )
        .await;
        seen = last["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["metric"]["job"].as_str().map(str::to_string))
            .collect();
        seen.sort();
        if seen.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let up = prometheus_query(web, "sum(up)").await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    for (tx, r) in running {
        let _ = tx.send(());
        r.wait().await;
    }
    assert_eq!(seen, ["budget-performance", "land-supervision", "social-assistance"], "last answer: {last}");
    assert_eq!(up["data"]["result"][0]["value"][1], "3", "every target up: {up}");
}
