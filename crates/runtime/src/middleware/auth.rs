//! Authentication: a bearer token checked (once per token, while it lasts) and the caller
//! put in the request's extensions.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower::{Layer, Service};

use crate::{error::ApiError, identity::TokenKey};

use super::*;

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
                Ok(mut caller) => {
                    caller.via = req.headers().get(CALLING_SERVICE_HEADER).and_then(valid_service_name);
                    if let Some(slot) = req.extensions().get::<CallerSlot>() {
                        let _ = slot.0.set(super::CallerName {
                            subject: caller.subject.clone(),
                            role: caller.role,
                            scope: caller.scope,
                            unit: caller.unit.clone(),
                            via: caller.via.clone(),
                        });
                    }
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
