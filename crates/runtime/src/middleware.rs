//! Tower layers shared by every service: request context (request id, tracing span, metrics)
//! and authentication. `server.rs` stacks them; the order is explained there.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tracing::Instrument;

use crate::{error::ApiError, identity::TokenKey, telemetry::Metrics};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, from the caller's `x-request-id` or generated here.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

/// Health checks and reflection are open; everything else needs a token.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

// ---- request context ----

#[derive(Clone)]
pub struct ContextLayer {
    metrics: Metrics,
}

impl ContextLayer {
    pub fn new(metrics: Metrics) -> Self {
        ContextLayer { metrics }
    }
}

impl<S> Layer<S> for ContextLayer {
    type Service = ContextService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ContextService { inner, metrics: self.metrics.clone() }
    }
}

#[derive(Clone)]
pub struct ContextService<S> {
    inner: S,
    metrics: Metrics,
}

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
        .then(|| s.to_string())
}

impl<S, B, RB> Service<Request<B>> for ContextService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = req.headers().get(REQUEST_ID_HEADER).and_then(valid_request_id).unwrap_or_else(new_request_id);
        req.extensions_mut().insert(RequestId(id.clone()));
        let method = req.uri().path().to_string();
        let span = tracing::info_span!("grpc", %method, request_id = %id);
        // Take the ready service and leave a fresh clone in its place (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        Box::pin(
            async move {
                let started = Instant::now();
                let result = inner.call(req).await;
                let took = started.elapsed();
                let elapsed = took.as_secs_f64();
                match result {
                    Ok(mut resp) => {
                        // Unary errors carry grpc-status in the headers (trailers-only); success
                        // carries it in trailers, so its absence here means OK.
                        let code = resp
                            .headers()
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<i32>().ok())
                            .map(|c| format!("{:?}", tonic::Code::from_i32(c)))
                            .unwrap_or_else(|| "Ok".into());
                        if let Ok(v) = HeaderValue::from_str(&id) {
                            resp.headers_mut().insert(REQUEST_ID_HEADER, v);
                        }
                        metrics.record(&method, &code, elapsed);
                        tracing::debug!(%code, elapsed_us = took.as_micros() as u64, "call finished");
                        Ok(resp)
                    }
                    Err(e) => {
                        metrics.record(&method, "TransportError", elapsed);
                        Err(e)
                    }
                }
            }
            .instrument(span),
        )
    }
}

// ---- authentication ----

/// Verified tokens, so that a client sending the same token on every call pays for the
/// signature check once. Entries are checked for expiry on every use; the cache is emptied when
/// it grows past its bound.
#[derive(Default)]
struct VerifiedTokens {
    map: std::sync::RwLock<std::collections::HashMap<String, crate::identity::Caller>>,
}

const VERIFIED_TOKENS_MAX: usize = 10_000;

impl VerifiedTokens {
    fn verify(&self, key: &TokenKey, token: &str) -> Result<crate::identity::Caller, crate::identity::TokenError> {
        let now = chrono::Utc::now();
        if let Some(c) = self.map.read().ok().and_then(|m| m.get(token).cloned()) {
            return if c.expires_at > now { Ok(c) } else { Err(crate::identity::TokenError::Expired) };
        }
        let caller = key.verify(token, now)?;
        if let Ok(mut m) = self.map.write() {
            if m.len() >= VERIFIED_TOKENS_MAX {
                m.clear();
            }
            m.insert(token.to_string(), caller.clone());
        }
        Ok(caller)
    }
}

#[derive(Clone)]
pub struct AuthLayer {
    key: Arc<TokenKey>,
    verified: Arc<VerifiedTokens>,
}

impl AuthLayer {
    pub fn new(key: TokenKey) -> Self {
        AuthLayer { key: Arc::new(key), verified: Arc::default() }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, key: self.key.clone(), verified: self.verified.clone() }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    key: Arc<TokenKey>,
    verified: Arc<VerifiedTokens>,
}

impl<S, B, RB> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if !is_public(req.uri().path()) {
            let token = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim);
            let verified = match token {
                None => Err(crate::identity::TokenError::Missing),
                Some(t) => self.verified.verify(&self.key, t),
            };
            match verified {
                Ok(caller) => {
                    req.extensions_mut().insert(caller);
                }
                Err(e) => {
                    tracing::info!(reason = %e, "unauthenticated call refused");
                    let status: tonic::Status = ApiError::Unauthenticated(e).into();
                    return Box::pin(async move { Ok(status.into_http()) });
                }
            }
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(req))
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
    fn request_ids_are_distinct_uuids() {
        let (a, b) = (super::new_request_id(), super::new_request_id());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok() && uuid::Uuid::parse_str(&b).is_ok());
        assert_eq!(a[..19], b[..19], "same process, same random part");
    }
}
