//! Load shedding: at most a limit of calls at once, the rest refused with UNAVAILABLE.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{Request, Response};
use tower::{Layer, Service};

use super::*;

/// At most `limit` calls at once; more are refused at once with UNAVAILABLE (which clients
/// retry with backoff) rather than queued until their deadlines pass. Health checks are never
/// shed: an overloaded pod must not look dead to its orchestrator.
#[derive(Clone)]
pub struct ShedLayer {
    permits: Arc<tokio::sync::Semaphore>,
    limit: usize,
}

impl ShedLayer {
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        ShedLayer { permits: Arc::new(tokio::sync::Semaphore::new(limit)), limit }
    }
}

impl<S> Layer<S> for ShedLayer {
    type Service = ShedService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ShedService { inner, permits: self.permits.clone(), limit: self.limit }
    }
}

#[derive(Clone)]
pub struct ShedService<S> {
    inner: S,
    permits: Arc<tokio::sync::Semaphore>,
    limit: usize,
}

impl<S, B, RB> Service<Request<B>> for ShedService<S>
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

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if req.uri().path().starts_with("/grpc.health.v1.") {
            return Box::pin(inner.call(req));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Box::pin(async move {
                let r = inner.call(req).await;
                drop(permit);
                r
            }),
            Err(_) => {
                let status = tonic::Status::unavailable(format!(
                    "the server is serving its limit of {} calls at once; retry with backoff",
                    self.limit
                ));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}
