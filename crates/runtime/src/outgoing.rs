//! Service-to-service calls carry the original caller's identity and the request id, so the
//! callee applies the caller's own role and region scope and logs share one id.

use tonic::metadata::MetadataValue;

use crate::{
    identity::Caller,
    middleware::{CALLING_SERVICE_HEADER, REQUEST_ID_HEADER},
};

/// Wrap `message` for an outgoing call on behalf of `caller`, with a deadline: `deadline`, or
/// what is left of the served call's own deadline when that is shorter (it shrinks as it
/// travels).
pub fn on_behalf_of<T>(
    caller: &Caller,
    request_id: &str,
    message: T,
    deadline: std::time::Duration,
) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    let served = crate::trace::current();
    let left =
        served.as_ref().map(|t| t.deadline.saturating_duration_since(std::time::Instant::now())).unwrap_or(deadline);
    req.set_timeout(deadline.min(left));
    if let Ok(v) = MetadataValue::try_from(format!("Bearer {}", caller.token)) {
        req.metadata_mut().insert("authorization", v);
    }
    if let Ok(v) = MetadataValue::try_from(request_id) {
        req.metadata_mut().insert(REQUEST_ID_HEADER, v);
    }
    // The other service records that this one called on the person's behalf.
    if let Some(v) =
        served.as_ref().filter(|t| !t.service.is_empty()).and_then(|t| MetadataValue::try_from(&*t.service).ok())
    {
        req.metadata_mut().insert(CALLING_SERVICE_HEADER, v);
    }
    // The client span of this call (see `call_with_one_retry`), else the call being served, is
    // the parent of the other service's span.
    let parent = CLIENT_SPAN.try_with(|c| *c).ok().or_else(|| served.map(|t| t.context));
    if let Some(p) = parent {
        if let Ok(v) = MetadataValue::try_from(p.traceparent()) {
            req.metadata_mut().insert(crate::trace::TRACEPARENT, v);
        }
    }
    req
}

tokio::task_local! {
    static CLIENT_SPAN: crate::trace::SpanContext;
}

/// How a call to another service ended when it did not succeed.
#[derive(Debug)]
pub enum PeerFailure {
    /// The other service did not answer (down, unreachable, refused the connection or its TLS
    /// handshake, out of time): the caller hears UNAVAILABLE naming it.
    Unreachable(tonic::Status),
    /// It answered with its verdict on the request, passed on as the caller's business.
    Refused(tonic::Status),
}

/// Whether `status` means the other side never answered: UNAVAILABLE, DEADLINE_EXCEEDED,
/// CANCELLED, or a transport failure (a TLS handshake refused, a connection reset).
pub fn unreachable(status: &tonic::Status) -> bool {
    matches!(status.code(), tonic::Code::DeadlineExceeded | tonic::Code::Cancelled) || retryable(status)
}

/// UNAVAILABLE or a transport failure: the call never reached the other service's handler.
fn retryable(status: &tonic::Status) -> bool {
    use std::error::Error;
    status.code() == tonic::Code::Unavailable
        || status.source().is_some_and(|e| e.downcast_ref::<tonic::transport::Error>().is_some())
        || (status.code() == tonic::Code::Unknown && status.message() == "transport error")
}

/// Call `method` ("package.Service/Method") of another service (`peer`), retrying once after
/// `backoff` when the call did not reach it; only for calls that read, where a retry is safe.
/// Each attempt is a client span of the call being served.
pub async fn call_with_one_retry<T, F, Fut>(
    peer: &str,
    method: &str,
    backoff: std::time::Duration,
    mut call: F,
) -> Result<tonic::Response<T>, PeerFailure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        // Each attempt is a client span, a child of the call being served.
        let served = crate::trace::current();
        let span = crate::trace::SpanContext::child_of(served.as_ref().map(|t| &t.context));
        let started = std::time::SystemTime::now();
        let clock = std::time::Instant::now();
        // Set while the request is built (the traceparent header) and while it runs.
        let result = CLIENT_SPAN.scope(span, CLIENT_SPAN.sync_scope(span, &mut call)).await;
        let code = match &result {
            Ok(_) => "Ok".to_string(),
            Err(s) if s.code() == tonic::Code::Unknown && retryable(s) => "TransportError".to_string(),
            Err(s) => format!("{:?}", s.code()),
        };
        if let Some(t) = &served {
            t.metrics.record_client(peer, method, &code, clock.elapsed().as_secs_f64());
        }
        if let Some(t) = served.filter(|t| t.exporter.enabled()) {
            let start = crate::trace::unix_nanos(started);
            t.exporter.export(crate::trace::Span {
                name: method.to_string(),
                kind: crate::trace::Kind::Client,
                context: span,
                parent: Some(t.context.span_id),
                start_unix_nanos: start,
                end_unix_nanos: start.saturating_add(clock.elapsed().as_nanos() as u64),
                code,
                attributes: vec![("peer.service", peer.to_string()), ("civic.attempt", attempt.to_string())],
            });
        }
        match result {
            Ok(r) => return Ok(r),
            Err(s) if retryable(&s) && attempt < 2 => {
                tracing::warn!(%peer, code = ?s.code(), error = %s.message(), "did not answer; retrying once");
                tokio::time::sleep(backoff).await;
            }
            Err(s) if unreachable(&s) => {
                tracing::warn!(%peer, code = ?s.code(), error = %s.message(), "did not answer");
                return Err(PeerFailure::Unreachable(s));
            }
            Err(s) => return Err(PeerFailure::Refused(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Role, TokenKey};

    #[test]
    fn outgoing_calls_carry_the_callers_token_request_id_and_deadline() {
        let key = TokenKey::new("k");
        let token = key.mint(
            "li.na",
            Role::Finance,
            civic_domain::RegionCode::parse("210500").unwrap(),
            chrono::Duration::hours(1),
        );
        let caller = key.verify(&token, chrono::Utc::now()).unwrap();
        let req = on_behalf_of(&caller, "req-42", (), std::time::Duration::from_secs(3));
        assert_eq!(req.metadata().get("authorization").unwrap().to_str().unwrap(), format!("Bearer {token}"));
        assert_eq!(req.metadata().get(REQUEST_ID_HEADER).unwrap().to_str().unwrap(), "req-42");
        assert_eq!(req.metadata().get("grpc-timeout").unwrap().to_str().unwrap(), "3000000u");
        // The callee sees the original caller.
        let seen = key
            .verify(
                req.metadata().get("authorization").unwrap().to_str().unwrap().trim_start_matches("Bearer "),
                chrono::Utc::now(),
            )
            .unwrap();
        assert_eq!((seen.subject.as_str(), seen.role), ("li.na", Role::Finance));
    }
}
