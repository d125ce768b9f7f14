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
