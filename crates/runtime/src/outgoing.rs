//! Service-to-service calls carry the original caller's identity and the request id, so the
//! callee applies the caller's own role and region scope and logs share one id.

use tonic::metadata::MetadataValue;

use crate::{identity::Caller, middleware::REQUEST_ID_HEADER};

/// Wrap `message` for an outgoing call on behalf of `caller`, with a deadline.
pub fn on_behalf_of<T>(
    caller: &Caller,
    request_id: &str,
    message: T,
    deadline: std::time::Duration,
) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.set_timeout(deadline);
    if let Ok(v) = MetadataValue::try_from(format!("Bearer {}", caller.token)) {
        req.metadata_mut().insert("authorization", v);
    }
    if let Ok(v) = MetadataValue::try_from(request_id) {
        req.metadata_mut().insert(REQUEST_ID_HEADER, v);
    }
    req
}
