//! Traces: W3C trace context (`traceparent`) read from every call and passed on to the services
//! this one calls, and spans exported over OTLP/HTTP (JSON) when the standard variables ask for
//! it (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`,
//! `OTEL_TRACES_EXPORTER=none` to turn it off). One server span per call; a call to another
//! service is a client span, its child, and the other service's server span is that one's child.
//!
//! The exporter posts batches (at most every 500 ms) from a bounded queue: when the collector is
//! slow or gone, spans are dropped and counted, never calls slowed.
//!
//! One file on purpose: the trace context, the span recorder and its exporter share one queue
//! and one shape of span.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::mpsc;

/// The W3C trace-context header.
pub const TRACEPARENT: &str = "traceparent";

/// Where a span sits in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

impl SpanContext {
    pub fn trace_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The `traceparent` header naming this span as the parent (sampled).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_hex(), self.span_hex())
    }

    /// A `traceparent` header (version 00, non-zero ids), or `None`.
    pub fn parse(header: &str) -> Option<SpanContext> {
        let mut parts = header.trim().split('-');
        let (version, trace, span, _flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let trace_id = unhex::<16>(trace)?;
        let span_id = unhex::<8>(span)?;
        (trace_id != [0; 16] && span_id != [0; 8]).then_some(SpanContext { trace_id, span_id })
    }

    /// A new span: a child of `parent` in its trace, or the root of a new trace.
    pub fn child_of(parent: Option<&SpanContext>) -> SpanContext {
        match parent {
            Some(p) => SpanContext { trace_id: p.trace_id, span_id: new_span_id() },
            None => {
                let (a, b) = (next_random(), next_random());
                let mut trace_id = [0u8; 16];
                trace_id[..8].copy_from_slice(&a.to_be_bytes());
                trace_id[8..].copy_from_slice(&b.to_be_bytes());
                SpanContext { trace_id, span_id: new_span_id() }
            }
        }
    }
}

/// SplitMix64 over a per-process random seed and a counter: unique, well mixed ids without a
/// system call per span.
fn next_random() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let mut z = seed.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)).max(1)
}

fn new_span_id() -> [u8; 8] {
    next_random().to_be_bytes()
}

pub fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or_default()
}

/// OTLP span kinds used here.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Server = 2,
    Client = 3,
}

/// A finished span, ready for export.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub kind: Kind,
    pub context: SpanContext,
    pub parent: Option<[u8; 8]>,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    /// gRPC status code name ("Ok", "NotFound" …).
    pub code: String,
    pub attributes: Vec<(&'static str, String)>,
}

/// The span of the call being served, and where spans go: set around each call's handler so
/// that calls to other services become its children.
#[derive(Clone)]
pub struct CallTrace {
    pub context: SpanContext,
    pub exporter: Exporter,
    /// When the call being served runs out of time: calls it makes to other services get no
    /// longer than what is left.
    pub deadline: std::time::Instant,
    /// The serving service's metrics, where its calls to other services are counted.
    pub metrics: crate::telemetry::Metrics,
    /// The serving service's name, declared on the calls it makes to other services.
    pub service: std::sync::Arc<str>,
}

tokio::task_local! {
    static CURRENT: CallTrace;
}

/// Run `fut` as part of the call traced by `trace`.
pub async fn in_call<F: std::future::Future>(trace: CallTrace, fut: F) -> F::Output {
    CURRENT.scope(trace, fut).await
}

/// The call being served by the current task, if any.
pub fn current() -> Option<CallTrace> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Where spans are sent: nowhere (export off), or a queue drained by the export task.
#[derive(Clone, Default)]
pub struct Exporter {
    queue: Option<mpsc::Sender<Span>>,
    dropped: Arc<AtomicU64>,
}

impl Exporter {
    /// Export off.
    pub fn off() -> Exporter {
        Exporter::default()
    }

    pub fn enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Spans dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn export(&self, span: Span) {
        if let Some(q) = &self.queue {
            if q.try_send(span).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Start exporting to `endpoint` (an `http://host:port/path` URL) as `service`. The task
    /// ends, after a last post, once every handle is dropped.
    pub fn start(endpoint: &str, service: &str) -> Result<Exporter, String> {
        let target = HttpTarget::parse(endpoint)?;
        let (tx, rx) = mpsc::channel(8192);
        tokio::spawn(export_task(rx, target, service.to_string()));
        Ok(Exporter { queue: Some(tx), dropped: Arc::default() })
    }
}

/// The traces endpoint named by the standard variables (read through `get`), or `None` when
/// export is off. A base endpoint gets `/v1/traces` appended; only `http://` with JSON is
/// spoken (an OTLP/HTTP collector takes JSON beside protobuf on the same port).
pub fn endpoint_from(get: impl Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    if let Some(e) = nonempty("OTEL_TRACES_EXPORTER") {
        match e.trim() {
            "none" => return Ok(None),
            "otlp" => {}
            other => return Err(format!("OTEL_TRACES_EXPORTER '{other}': use otlp or none")),
        }
    }
    if let Some(p) = nonempty("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| nonempty("OTEL_EXPORTER_OTLP_PROTOCOL"))
    {
        if p.trim() == "grpc" {
            return Err("OTEL_EXPORTER_OTLP_PROTOCOL grpc: this service exports OTLP over HTTP (http/json); point it at the collector's HTTP port (4318)".into());
        }
    }
    if let Some(e) = nonempty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Ok(Some(e.trim().to_string()));
    }
    Ok(nonempty("OTEL_EXPORTER_OTLP_ENDPOINT").map(|e| format!("{}/v1/traces", e.trim().trim_end_matches('/'))))
}

#[derive(Debug, Clone)]
struct HttpTarget {
    authority: String,
    path: String,
}

impl HttpTarget {
    fn parse(url: &str) -> Result<HttpTarget, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("OTLP endpoint '{url}': only http:// is supported (use a collector beside the service for TLS)")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/v1/traces"),
        };
        if authority.is_empty() {
            return Err(format!("OTLP endpoint '{url}' has no host"));
        }
        let authority = if authority.contains(':') { authority.to_string() } else { format!("{authority}:80") };
        Ok(HttpTarget { authority, path: path.to_string() })
    }
}

async fn export_task(mut rx: mpsc::Receiver<Span>, target: HttpTarget, service: String) {
    let mut batch = Vec::new();
    let mut warned = false;
    loop {
        let more = tokio::select! {
            s = rx.recv() => match s {
                Some(s) => { batch.push(s); true }
                None => false,
            },
            _ = tokio::time::sleep(Duration::from_millis(500)), if !batch.is_empty() => true,
        };
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        let due = !more || batch.len() >= 512 || rx.is_empty();
        if due && !batch.is_empty() {
            let body = encode(&service, &batch);
            match tokio::time::timeout(Duration::from_secs(5), post(&target, &body)).await {
                Ok(Ok(())) => warned = false,
                Ok(Err(e)) if !warned => {
                    tracing::warn!(endpoint = %target.authority, error = %e, spans = batch.len(), "trace export failed; spans dropped");
                    warned = true;
                }
                Err(_) if !warned => {
                    tracing::warn!(endpoint = %target.authority, spans = batch.len(), "trace export timed out; spans dropped");
                    warned = true;
                }
                _ => {}
            }
            batch.clear();
        }
        if !more {
            return;
        }
    }
}

/// One HTTP/1.1 POST of a JSON body; success is a 2xx status.
async fn post(target: &HttpTarget, body: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&target.authority).await.map_err(|e| e.to_string())?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        target.path,
        target.authority,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.write_all(body.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(answer.split(|b| *b == b'\n').next().unwrap_or_default()).into_owned();
    match status_line.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        _ => Err(format!("collector answered '{}'", status_line.trim())),
    }
}

/// OTLP/JSON (`ExportTraceServiceRequest`): ids in hex, times as decimal strings.
fn encode(service: &str, spans: &[Span]) -> String {
    use serde_json::json;
    let attr = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let spans: Vec<serde_json::Value> = spans
        .iter()
        .map(|s| {
            let mut attributes = vec![attr("rpc.system", "grpc"), attr("rpc.grpc.status_code", &s.code)];
            if let Some((service, method)) = s.name.rsplit_once('/') {
                attributes.push(attr("rpc.service", service));
                attributes.push(attr("rpc.method", method));
            }
            attributes.extend(s.attributes.iter().map(|(k, v)| attr(k, v)));
            let mut span = json!({
                "traceId": s.context.trace_hex(),
                "spanId": s.context.span_hex(),
                "name": s.name,
                "kind": s.kind as i32,
                "startTimeUnixNano": s.start_unix_nanos.to_string(),
                "endTimeUnixNano": s.end_unix_nanos.to_string(),
                "attributes": attributes,
                // STATUS_CODE_ERROR for server faults; a refused request is not the server's error.
                "status": {"code": if matches!(s.code.as_str(), "Unknown" | "Internal" | "Unavailable" | "DataLoss" | "DeadlineExceeded") { 2 } else { 0 }},
            });
            if let Some(p) = s.parent {
                span["parentSpanId"] = json!(hex(&p));
            }
            span
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "civic", "version": env!("CARGO_PKG_VERSION")}, "spans": spans}],
    }]})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_junk() {
        let h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let c = SpanContext::parse(h).unwrap();
        assert_eq!(c.traceparent(), h);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(SpanContext::parse(bad).is_none(), "{bad}");
        }
        let child = SpanContext::child_of(Some(&c));
        assert_eq!(child.trace_id, c.trace_id);
        assert_ne!(child.span_id, c.span_id);
        let (a, b) = (SpanContext::child_of(None), SpanContext::child_of(None));
        assert_ne!(a.trace_id, b.trace_id);
    }

    #[test]
    fn endpoints_follow_the_standard_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(endpoint_from(env(&[])).unwrap(), None);
        assert_eq!(
            endpoint_from(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")])).unwrap().as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            endpoint_from(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/traces")
            ]))
            .unwrap()
            .as_deref(),
            Some("http://b:4318/traces")
        );
        assert_eq!(
            endpoint_from(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"), ("OTEL_TRACES_EXPORTER", "none")]))
                .unwrap(),
            None
        );
        assert!(endpoint_from(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).is_err());
        assert!(HttpTarget::parse("https://a:4318").is_err());
        assert_eq!(HttpTarget::parse("http://a/v1/traces").unwrap().authority, "a:80");
    }
}
