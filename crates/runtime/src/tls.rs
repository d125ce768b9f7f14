//! TLS, configured by file paths: the gRPC listener's certificate and key (and, for mutual TLS,
//! the CA that signs callers' certificates), and for calls to the other services the CA that
//! signs theirs (and this service's own certificate when they ask for one). PostgreSQL's TLS is
//! in the database URL (`sslmode=require`, `verify-full&sslrootcert=…`).

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::config::Settings;

fn read(what: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {path}: {e}"))
}

/// The listener's TLS, or `None` when neither CIVIC_TLS_CERT nor CIVIC_TLS_KEY is set.
pub fn server_config(settings: &Settings) -> Result<Option<ServerTlsConfig>, String> {
    match (settings.tls_cert.is_empty(), settings.tls_key.is_empty()) {
        (true, true) if settings.tls_client_ca.is_empty() => return Ok(None),
        (true, true) => return Err("CIVIC_TLS_CLIENT_CA needs CIVIC_TLS_CERT and CIVIC_TLS_KEY".into()),
        (false, false) => {}
        _ => return Err("CIVIC_TLS_CERT and CIVIC_TLS_KEY go together".into()),
    }
    let identity =
        Identity::from_pem(read("CIVIC_TLS_CERT", &settings.tls_cert)?, read("CIVIC_TLS_KEY", &settings.tls_key)?);
    let mut config = ServerTlsConfig::new().identity(identity);
    if !settings.tls_client_ca.is_empty() {
        config = config.client_ca_root(Certificate::from_pem(read("CIVIC_TLS_CLIENT_CA", &settings.tls_client_ca)?));
    }
    Ok(Some(config))
}

/// A channel to another service, connected on first use (so services start in any order). An
/// `https://` URL is verified against CIVIC_PEER_CA, for the URL's host name; `variable` names
/// the setting the URL came from, for the error.
pub fn peer_channel(url: &str, settings: &Settings, variable: &str) -> Result<tonic::transport::Channel, String> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("{variable} '{url}': {e}"))?
        .connect_timeout(std::time::Duration::from_secs(2));
    if url.starts_with("https://") {
        if settings.peer_ca.is_empty() {
            return Err(format!("{variable} '{url}' is https: set CIVIC_PEER_CA to the CA that signs its certificate"));
        }
        let host = endpoint.uri().host().unwrap_or_default().to_string();
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("CIVIC_PEER_CA", &settings.peer_ca)?))
            .domain_name(host);
        match (settings.peer_cert.is_empty(), settings.peer_key.is_empty()) {
            (true, true) => {}
            (false, false) => {
                tls = tls.identity(Identity::from_pem(
                    read("CIVIC_PEER_CERT", &settings.peer_cert)?,
                    read("CIVIC_PEER_KEY", &settings.peer_key)?,
                ))
            }
            _ => return Err("CIVIC_PEER_CERT and CIVIC_PEER_KEY go together".into()),
        }
        endpoint = endpoint.tls_config(tls).map_err(|e| format!("{variable} '{url}': {e}"))?;
    }
    Ok(endpoint.connect_lazy())
}
