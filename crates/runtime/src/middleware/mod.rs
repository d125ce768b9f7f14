//! Tower layers shared by every service: request context (request id, tracing span, metrics)
//! and authentication. `server.rs` stacks them; the order is explained there.
//!
//! Here the request context; `shed` sheds load; `auth` checks tokens.
//! The context layer stays in one file (~400 lines with its tests): the call record, the metered
//! body and the service that creates both finish each other's work.

mod auth;
mod shed;

pub use auth::{AuthLayer, AuthService};
pub use shed::{ShedLayer, ShedService};

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tracing::Instrument;

use crate::telemetry::Metrics;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The header by which one civic service tells another that it calls on a person's behalf
/// (the person is the bearer token's); its value is the calling service's name.
pub const CALLING_SERVICE_HEADER: &str = "x-civic-calling-service";

/// A calling service's name as declared: 1 to 64 characters of `a-z`, `0-9` and `-`.
fn valid_service_name(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .then(|| s.to_string())
}

/// The id of the current request, from the caller's `x-request-id` or generated here.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

/// Health checks and reflection are open; everything else needs a token.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

#[derive(Clone)]
pub struct ContextLayer {
    metrics: Metrics,
    known: Arc<std::collections::HashSet<String>>,
    timeout: std::time::Duration,
    stream_timeout: std::time::Duration,
    exporter: crate::trace::Exporter,
    service: Arc<str>,
}

impl ContextLayer {
    /// `known` are the method paths this server serves ("/package.Service/Method"): metrics
    /// name those; every other path is counted under one label, so junk paths cannot create
    /// new series. `timeout` is the longest a call may run; a client's shorter `grpc-timeout`
    /// wins. The deadline is applied here, inside the context, so that a call that runs out of
    /// time is answered DEADLINE_EXCEEDED with its request id, logged and counted.
    pub fn new(metrics: Metrics, known: std::collections::HashSet<String>, timeout: std::time::Duration) -> Self {
        ContextLayer {
            metrics,
            known: Arc::new(known),
            timeout,
            stream_timeout: timeout,
            exporter: crate::trace::Exporter::off(),
            service: Arc::from(""),
        }
    }

    /// The longest a streamed call (a method whose name ends in `Stream`, e.g. a roll sent in
    /// pieces) may run: such a call carries a file, not a question. A client's shorter
    /// `grpc-timeout` still wins.
    pub fn with_stream_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.stream_timeout = timeout;
        self
    }

    /// The serving service's name, which its calls to other services declare
    /// ([`CALLING_SERVICE_HEADER`]).
    pub fn with_service(mut self, service: &str) -> Self {
        self.service = Arc::from(service);
        self
    }

    /// Export each call's span through `exporter`.
    pub fn with_exporter(mut self, exporter: crate::trace::Exporter) -> Self {
        self.exporter = exporter;
        self
    }
}

/// A `grpc-timeout` header ("<digits><unit>", unit H M S m u n), as a duration.
pub fn grpc_timeout(v: &HeaderValue) -> Option<std::time::Duration> {
    let s = v.to_str().ok()?;
    if s.len() < 2 || s.len() > 9 {
        return None;
    }
    let (digits, unit) = s.split_at(s.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => std::time::Duration::from_secs(n.saturating_mul(3600)),
        "M" => std::time::Duration::from_secs(n.saturating_mul(60)),
        "S" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_millis(n),
        "u" => std::time::Duration::from_micros(n),
        "n" => std::time::Duration::from_nanos(n),
        _ => return None,
    })
}

/// The label under which calls to paths the server does not serve are counted.
pub const UNKNOWN_METHOD: &str = "unknown";

impl<S> Layer<S> for ContextLayer {
    type Service = ContextService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ContextService {
            inner,
            metrics: self.metrics.clone(),
            known: self.known.clone(),
            timeout: self.timeout,
            stream_timeout: self.stream_timeout,
            exporter: self.exporter.clone(),
            service: self.service.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ContextService<S> {
    inner: S,
    metrics: Metrics,
    known: Arc<std::collections::HashSet<String>>,
    timeout: std::time::Duration,
    stream_timeout: std::time::Duration,
    exporter: crate::trace::Exporter,
    service: Arc<str>,
}

/// What is known of a call once it ends: recorded once, as the metric, the access-log line and
/// the server span, whichever way it ends (headers-only error, trailers, or dropped).
struct CallRecord {
    method: String,
    started: Instant,
    started_at: std::time::SystemTime,
    request_id: String,
    trace: crate::trace::CallTrace,
    parent: Option<[u8; 8]>,
    caller: CallerSlot,
    /// The call's deadline: the client's `grpc-timeout` or the server's limit, the shorter.
    deadline: std::time::Duration,
}

impl CallRecord {
    fn finish(self, code: &str) {
        let took = self.started.elapsed();
        self.trace.metrics.record(&self.method, code, took.as_secs_f64());
        // Who called is spelled only for a line or span that will be written.
        let wanted = tracing::enabled!(target: "civic::call", tracing::Level::INFO) || self.trace.exporter.enabled();
        let caller = match self.caller.0.get() {
            Some(c) if wanted => c.to_string(),
            _ => String::new(),
        };
        let caller = caller.as_str();
        tracing::info!(
            target: "civic::call",
            method = %self.method,
            code,
            duration_us = took.as_micros() as u64,
            request_id = %self.request_id,
            trace_id = %self.trace.context.trace_hex(),
            caller,
            "call"
        );
        if self.trace.exporter.enabled() {
            let start = crate::trace::unix_nanos(self.started_at);
            let mut attributes = vec![
                ("civic.request_id", self.request_id),
                ("civic.deadline_ms", self.deadline.as_millis().to_string()),
            ];
            if !caller.is_empty() {
                attributes.push(("civic.caller", caller.to_string()));
            }
            self.trace.exporter.export(crate::trace::Span {
                name: self.method.trim_start_matches('/').to_string(),
                kind: crate::trace::Kind::Server,
                context: self.trace.context,
                parent: self.parent,
                start_unix_nanos: start,
                end_unix_nanos: start.saturating_add(took.as_nanos() as u64),
                code: code.to_string(),
                attributes,
            });
        }
    }
}

/// Who called, filled in by the auth layer (inside) for the context layer (outside) to log.
#[derive(Clone, Default)]
pub struct CallerSlot(pub(crate) Arc<std::sync::OnceLock<CallerName>>);

/// A caller as the access log names it: "subject role scope[ unit][ via service]".
pub(crate) struct CallerName {
    pub subject: String,
    pub role: crate::identity::Role,
    pub scope: civic_domain::RegionCode,
    pub unit: Option<String>,
    pub via: Option<String>,
}

impl std::fmt::Display for CallerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.subject, self.role.as_str(), self.scope)?;
        if let Some(u) = &self.unit {
            write!(f, " {u}")?;
        }
        if let Some(v) = &self.via {
            write!(f, " via {v}")?;
        }
        Ok(())
    }
}

/// The call's record until its response is produced: a future dropped before then (the client
/// went away, or the connection closed) is recorded as CANCELLED.
struct Unfinished(Option<CallRecord>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(r) = self.0.take() {
            r.finish("Cancelled");
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends the call's record when the body ends: the code in the trailers
    /// (streams that fail midway are counted under their code, not OK), OK when it ends without
    /// one, CANCELLED when it is dropped unfinished.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        record: Option<CallRecord>,
    }

    impl<B> PinnedDrop for MeteredBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(r) = this.project().record.take() {
                r.finish("Cancelled");
            }
        }
    }
}

impl<B: Default> Default for MeteredBody<B> {
    fn default() -> Self {
        MeteredBody { inner: B::default(), record: None }
    }
}

/// The name of a `grpc-status` as metrics and logs show it ("InvalidArgument").
fn code_name(v: Option<&HeaderValue>) -> Option<&'static str> {
    use tonic::Code;
    let c = v?.to_str().ok()?.parse::<i32>().ok()?;
    Some(match Code::from_i32(c) {
        Code::Ok => "Ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    })
}

impl<B: http_body::Body> http_body::Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    if let Some(r) = this.record.take() {
                        r.finish(code_name(trailers.get("grpc-status")).unwrap_or("Ok"));
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(r) = this.record.take() {
                    r.finish("TransportError");
                }
            }
            Poll::Ready(None) => {
                if let Some(r) = this.record.take() {
                    r.finish("Ok");
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
        .then(|| s.to_string())
}

/// Whether a request's content-type is gRPC with protobuf (the only encoding served).
fn is_grpc_proto(req_ct: Option<&HeaderValue>) -> bool {
    let Some(ct) = req_ct.and_then(|v| v.to_str().ok()) else { return false };
    let ct = ct.trim().to_ascii_lowercase();
    ct == "application/grpc" || ct.starts_with("application/grpc;") || ct.starts_with("application/grpc+proto")
}

impl<S, B, RB> Service<Request<B>> for ContextService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<MeteredBody<RB>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = req.headers().get(REQUEST_ID_HEADER).and_then(valid_request_id).unwrap_or_else(new_request_id);
        req.extensions_mut().insert(RequestId(id.clone()));
        let caller = CallerSlot::default();
        req.extensions_mut().insert(caller.clone());
        let path = req.uri().path();
        let method = if self.known.contains(path) { path.to_string() } else { UNKNOWN_METHOD.to_string() };
        // The caller's span (a `traceparent` header) is this call's parent; without one the call
        // starts a trace.
        let parent = req
            .headers()
            .get(crate::trace::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::trace::SpanContext::parse);
        let limit = if method.ends_with("Stream") { self.stream_timeout } else { self.timeout };
        let deadline = match req.headers().get("grpc-timeout").and_then(grpc_timeout) {
            Some(client) => client.min(limit),
            None => limit,
        };
        let trace = crate::trace::CallTrace {
            context: crate::trace::SpanContext::child_of(parent.as_ref()),
            exporter: self.exporter.clone(),
            deadline: Instant::now() + deadline,
            metrics: self.metrics.clone(),
            service: self.service.clone(),
        };
        let span = tracing::info_span!("grpc", %method, request_id = %id, trace_id = tracing::field::Empty);
        if self.exporter.enabled() || parent.is_some() {
            span.record("trace_id", tracing::field::display(trace.context.trace_hex()));
        }
        // Take the ready service and leave a fresh clone in its place (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let wrong_encoding = !is_grpc_proto(req.headers().get(http::header::CONTENT_TYPE));
        let record = CallRecord {
            method,
            started: Instant::now(),
            started_at: std::time::SystemTime::now(),
            request_id: id.clone(),
            trace: trace.clone(),
            parent: parent.map(|p| p.span_id),
            caller,
            deadline,
        };
        Box::pin(
            async move {
                let mut guard = Unfinished(Some(record));
                let result = if wrong_encoding {
                    let status = tonic::Status::invalid_argument(
                        "content-type must be application/grpc or application/grpc+proto: this server speaks protobuf only",
                    );
                    Ok(status.into_http())
                } else {
                    match tokio::time::timeout(deadline, crate::trace::in_call(trace, inner.call(req))).await {
                        Ok(r) => r,
                        Err(_) => {
                            tracing::info!(deadline_ms = deadline.as_millis() as u64, "deadline exceeded");
                            let status = tonic::Status::deadline_exceeded(format!(
                                "the call did not finish within its deadline of {} ms",
                                deadline.as_millis()
                            ));
                            Ok(status.into_http())
                        }
                    }
                };
                let record = guard.0.take();
                match result {
                    Ok(resp) => {
                        let (mut parts, body) = resp.into_parts();
                        if let Ok(mut v) = HeaderValue::from_str(&id) {
                            // Unique to the call: marked so that HTTP/2's header compression
                            // sends it as it is instead of storing every one in its table (and
                            // evicting the headers that repeat).
                            v.set_sensitive(true);
                            parts.headers.insert(REQUEST_ID_HEADER, v);
                        }
                        // Errors are answered trailers-only (grpc-status in the headers): the call
                        // ends here. Otherwise it ends with the body's trailers.
                        let record = match (record, code_name(parts.headers.get("grpc-status"))) {
                            (Some(r), Some(code)) => {
                                r.finish(code);
                                None
                            }
                            (r, _) => r,
                        };
                        Ok(Response::from_parts(parts, MeteredBody { inner: body, record }))
                    }
                    Err(e) => {
                        if let Some(r) = record {
                            r.finish("TransportError");
                        }
                        Err(e)
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// A fresh request id: this process's random 64 bits and a counter, written as a UUID. Unique
/// across replicas without a system call per request.
fn new_request_id() -> String {
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let base = *BASE.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    uuid::Uuid::from_u64_pair(base, n).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn grpc_timeouts_parse() {
        use std::time::Duration;
        let t = |s: &'static str| super::grpc_timeout(&http::HeaderValue::from_static(s));
        assert_eq!(t("100m"), Some(Duration::from_millis(100)));
        assert_eq!(t("2S"), Some(Duration::from_secs(2)));
        assert_eq!(t("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(t("5x"), None);
        assert_eq!(t("m"), None);
    }

    #[test]
    fn request_ids_are_distinct_uuids() {
        let (a, b) = (super::new_request_id(), super::new_request_id());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok() && uuid::Uuid::parse_str(&b).is_ok());
        assert_eq!(a[..19], b[..19], "same process, same random part");
    }
}
