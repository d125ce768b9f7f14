//! Asking a service whether it is serving (the standard gRPC health protocol), over TLS when it
//! serves TLS: what `civic-health`, the image's health check, does.

use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

/// TLS to a service that serves it (`CIVIC_TLS_CERT` set, read through `get`): its certificate
/// verified with `CIVIC_PEER_CA` for the name `CIVIC_HEALTH_TLS_NAME` (default `localhost`),
/// presenting `CIVIC_PEER_CERT` / `CIVIC_PEER_KEY` when set; `None` for a plain listener.
pub fn tls_from(get: impl Fn(&str) -> Option<String>) -> Result<Option<ClientTlsConfig>, String> {
    let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    if var("CIVIC_TLS_CERT").is_none() {
        return Ok(None);
    }
    let read = |k: &str, path: String| std::fs::read(&path).map_err(|e| format!("{k} {path}: {e}"));
    let ca =
        var("CIVIC_PEER_CA").ok_or("the service serves TLS: set CIVIC_PEER_CA to the CA that signs its certificate")?;
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("CIVIC_PEER_CA", ca)?))
        .domain_name(var("CIVIC_HEALTH_TLS_NAME").unwrap_or_else(|| "localhost".into()));
    if let (Some(cert), Some(key)) = (var("CIVIC_PEER_CERT"), var("CIVIC_PEER_KEY")) {
        tls = tls.identity(Identity::from_pem(read("CIVIC_PEER_CERT", cert)?, read("CIVIC_PEER_KEY", key)?));
    }
    Ok(Some(tls))
}

/// The serving status of `service` ("" for the process) at `addr` (`host:port`), within
/// `timeout`; Err says why there is no answer.
pub async fn probe(addr: &str, service: &str, tls: Option<ClientTlsConfig>, timeout: Duration) -> Result<i32, String> {
    tokio::time::timeout(timeout, async {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}")).map_err(|e| e.to_string())?;
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
        }
        let channel = endpoint.connect().await.map_err(|e| format!("cannot connect: {e}"))?;
        HealthClient::new(channel)
            .check(HealthCheckRequest { service: service.to_string() })
            .await
            .map(|r| r.into_inner().status)
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
    })
    .await
    .unwrap_or_else(|_| Err(format!("no answer within {} s", timeout.as_secs())))
}
