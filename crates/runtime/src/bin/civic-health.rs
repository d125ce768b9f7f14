//! Ask a running service whether it is serving, over the standard gRPC health protocol; the
//! container image's health check, so the image needs no other tool.
//!
//! ```text
//! civic-health [--service NAME] [--timeout SECS] [ADDR]
//! ```
//!
//! `ADDR` defaults to the port of `CIVIC_LISTEN_ADDR` on 127.0.0.1 (a listener on 0.0.0.0 is
//! reached there too). Without `--service` it asks about the process as a whole (liveness); with a
//! service name, whether that service is ready (it follows the database). Exit 0 when SERVING,
//! 1 when not (the answer or the error is printed), 2 on a usage error.
//!
//! When the service serves TLS (`CIVIC_TLS_CERT` is set) it asks over TLS, verifying the
//! service's certificate with `CIVIC_PEER_CA` for the name `CIVIC_HEALTH_TLS_NAME` (default
//! `localhost`) and presenting `CIVIC_PEER_CERT` / `CIVIC_PEER_KEY` when set (mutual TLS).
#![forbid(unsafe_code)]

use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;

const USAGE: &str = "usage: civic-health [--service NAME] [--timeout SECS] [ADDR]\n\
    ADDR defaults to 127.0.0.1 and the port of CIVIC_LISTEN_ADDR; exit 0 when SERVING, 1 when not";

fn usage_error(message: &str) -> ! {
    eprintln!("civic-health: {message}\n{USAGE}");
    std::process::exit(2)
}

/// `host:port` to ask: the argument, else CIVIC_LISTEN_ADDR's port on the loopback address.
fn address(arg: Option<String>) -> String {
    if let Some(a) = arg {
        return a;
    }
    let listen = std::env::var("CIVIC_LISTEN_ADDR").unwrap_or_default();
    match listen.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok_and(|p| p != 0) => format!("127.0.0.1:{port}"),
        _ => usage_error("no ADDR given and CIVIC_LISTEN_ADDR has no fixed port"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut service = String::new();
    let mut timeout = Duration::from_secs(3);
    let mut addr = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            "--version" | "-V" => {
                println!("civic-health {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            "--service" => service = args.next().unwrap_or_else(|| usage_error("--service needs a name")),
            "--timeout" => {
                let secs = args.next().and_then(|v| v.parse::<u64>().ok());
                timeout = Duration::from_secs(secs.unwrap_or_else(|| usage_error("--timeout needs whole seconds")));
            }
            other if other.starts_with('-') => usage_error(&format!("unknown option '{other}'")),
            other => addr = Some(other.to_string()),
        }
    }
    let addr = address(addr);
    let tls = civic_runtime::health::tls_from(|k| std::env::var(k).ok()).unwrap_or_else(|m| usage_error(&m));
    let answer = civic_runtime::health::probe(&addr, &service, tls, timeout).await;
    let shown = if service.is_empty() { "the process".to_string() } else { service };
    match answer {
        Ok(status) if status == ServingStatus::Serving as i32 => println!("{addr}: {shown} is SERVING"),
        Ok(status) => {
            let name = ServingStatus::try_from(status).map_or_else(|_| status.to_string(), |s| s.as_str_name().into());
            println!("{addr}: {shown} is {name}");
            std::process::exit(1)
        }
        Err(e) => {
            println!("{addr}: {e}");
            std::process::exit(1)
        }
    }
}
