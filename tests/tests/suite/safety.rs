//! Hostile and unlucky callers against a real server: overload, cancelled calls, junk method
//! paths, malformed bodies, wrong content types, huge inputs echoed in errors, bad tokens.

use std::{net::SocketAddr, time::Duration};

use civic_proto::common::v1::{identity_service_client::IdentityServiceClient, WhoAmIRequest};
use civic_runtime::{
    identity::{Claims, Role, TokenKey},
    storage::Backend,
};
use civic_testing::{authed, channel, fresh_database, settings, token, TEST_SIGNING_KEY};
use tonic::{service::Routes, Code};

use super::SlowIdentity;

async fn slow_server(limit: usize) -> (civic_runtime::server::Running, tokio::sync::oneshot::Sender<()>) {
    let mut s = settings(fresh_database(Backend::Sqlite).await);
    s.concurrency_limit = limit;
    s.metrics_addr = "127.0.0.1:0".into();
    let routes =
        Routes::new(civic_proto::common::v1::identity_service_server::IdentityServiceServer::new(SlowIdentity));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running =
        civic_runtime::server::serve(&s, "test", &["civic.common.v1.IdentityService"], routes, None, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    (running, tx)
}

/// The metrics page, over plain HTTP/1.
async fn metrics(addr: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn overload_sheds_with_unavailable_never_health_and_counts_real_codes() {
    let (running, stop) = slow_server(1).await;
    let addr = running.grpc_addr;
    let t = token(Role::Admin, "000000");
    let mut first = IdentityServiceClient::new(channel(addr).await);
    let t1 = t.clone();
    let slow = tokio::spawn(async move { first.who_am_i(authed(&t1, WhoAmIRequest {})).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The one slot is taken: the next call is shed with UNAVAILABLE (clients retry it) …
    let mut second = IdentityServiceClient::new(channel(addr).await);
    let e = second.who_am_i(authed(&t, WhoAmIRequest {})).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    // … while health checks still answer.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(addr).await);
    for _ in 0..5 {
        let r = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.unwrap();
        assert_eq!(r.into_inner().status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
    }
    assert!(slow.await.unwrap().is_ok());
    // A call whose deadline passes is counted as cancelled.
    let mut hurried = IdentityServiceClient::new(channel(addr).await);
    let mut req = authed(&t, WhoAmIRequest {});
    req.set_timeout(Duration::from_millis(100));
    assert!(hurried.who_am_i(req).await.is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let page = metrics(running.metrics_addr.unwrap()).await;
    let line = |code: &str| {
        page.lines()
            .any(|l| l.contains("/civic.common.v1.IdentityService/WhoAmI") && l.contains(&format!("code=\"{code}\"")))
    };
    assert!(line("Unavailable"), "{page}");
    // The server answers DEADLINE_EXCEEDED as the deadline passes (or counts the call as
    // cancelled if the client left first); either way it is counted, not lost.
    assert!(line("DeadlineExceeded") || line("Cancelled"), "{page}");
    assert!(!page.contains("ResourceExhausted"), "{page}");
    let _ = stop.send(());
    running.wait().await;
}

/// Sends raw bytes as the request body and reads the answer as raw bytes.
#[derive(Clone, Default)]
pub(crate) struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        let mut v = vec![0u8; src.remaining()];
        src.copy_to_slice(&mut v);
        Ok(Some(v))
    }
}

async fn raw_call(addr: SocketAddr, path: &str, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::try_from(path.to_string()).unwrap();
    let req = authed(&token(Role::Admin, "000000"), body);
    grpc.unary(req, path, RawCodec).await.map(|r| r.into_inner())
}

#[tokio::test]
async fn junk_paths_bodies_and_content_types_are_the_callers_errors() {
    let (running, stop) = slow_server(64).await;
    let addr = running.grpc_addr;
    // Unknown methods: UNIMPLEMENTED, and no new metric series per path.
    for i in 0..50 {
        let e = raw_call(addr, &format!("/civic.common.v1.IdentityService/Nope{i}"), vec![]).await.unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented);
        let e = raw_call(addr, &format!("/x{i}.Y/Z"), vec![]).await.unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented);
    }
    let page = metrics(running.metrics_addr.unwrap()).await;
    assert!(!page.contains("Nope") && !page.contains("/x1.Y"), "{page}");
    assert!(page.contains("method=\"unknown\""), "{page}");
    // A body that is not protobuf (field 1 with the invalid wire type 7).
    let e = raw_call(addr, "/civic.common.v1.IdentityService/WhoAmI", vec![0x0f, 0xff, 0xff]).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(!e.message().contains("WhoAmIRequest"), "{}", e.message());
    // A content type other than protobuf.
    let svc = tower::ServiceBuilder::new()
        .map_request(|mut r: http::Request<tonic::body::Body>| {
            r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc+json"));
            r
        })
        .service(channel(addr).await);
    let e = IdentityServiceClient::new(svc)
        .who_am_i(authed(&token(Role::Admin, "000000"), WhoAmIRequest {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let _ = stop.send(());
    running.wait().await;
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let (running, stop) = slow_server(64).await;
    let mut c = IdentityServiceClient::new(channel(running.grpc_addr).await);
    let key = TokenKey::new(TEST_SIGNING_KEY);
    let now = chrono::Utc::now().timestamp();
    let claims = |edit: &dyn Fn(&mut Claims)| {
        let mut c = Claims {
            sub: "mallory".into(),
            role: Role::Admin,
            region: "000000".into(),
            iat: now,
            exp: now + 600,
            iss: "civic".into(),
            unit: None,
            nbf: None,
        };
        edit(&mut c);
        key.sign(&c)
    };
    let bad = [
        claims(&|c| c.iat = now + 3600),
        claims(&|c| c.nbf = Some(now + 3600)),
        claims(&|c| c.exp = now + 400 * 24 * 3600),
        claims(&|c| c.sub = String::new()),
        claims(&|c| c.sub = "a\nb".into()),
        claims(&|c| c.sub = "x".repeat(10_000)),
        claims(&|c| {
            c.role = Role::Town;
            c.region = "411700".into();
            c.unit = Some("顾山镇".into())
        }),
    ];
    for t in bad {
        let e = c.who_am_i(authed(&t, WhoAmIRequest {})).await.unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated);
    }
    let _ = stop.send(());
    running.wait().await;
}

#[tokio::test]
async fn errors_never_echo_unbounded_input() {
    let mut s = settings(fresh_database(Backend::Sqlite).await);
    s.shutdown_grace_secs = 2;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = social_assistance::start(s, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let mut c = civic_proto::assistance::v1::social_assistance_service_client::SocialAssistanceServiceClient::new(
        channel(running.grpc_addr).await,
    );
    let huge = "9".repeat(8000);
    let e = c
        .list_standards(authed(
            &token(Role::CivilAffairs, "210500"),
            civic_proto::assistance::v1::ListStandardsRequest {
                region_code: huge,
                on_date: "2019-07-01".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().len() <= 1200, "{} bytes", e.message().len());
    assert!(e.details().len() <= 4096, "{} bytes of details", e.details().len());
    let _ = tx.send(());
    running.wait().await;
}

/// Thousands of idle connections that never speak: a normal client is still served, and the idle
/// ones are closed after the handshake timeout.
#[tokio::test]
async fn idle_connection_flood_does_not_lock_anyone_out() {
    let mut s = settings(fresh_database(Backend::Sqlite).await);
    s.max_connections = 1000;
    s.handshake_timeout_secs = 1;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let routes =
        Routes::new(civic_proto::common::v1::identity_service_server::IdentityServiceServer::new(SlowIdentity));
    let running =
        civic_runtime::server::serve(&s, "test", &["civic.common.v1.IdentityService"], routes, None, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    let addr = running.grpc_addr;
    let mut idle = Vec::new();
    for _ in 0..1500 {
        if let Ok(c) = tokio::net::TcpStream::connect(addr).await {
            idle.push(c);
        }
    }
    // Past the handshake timeout the silent ones are gone, and a new client is served.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut c = IdentityServiceClient::new(channel(addr).await);
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        c.who_am_i(authed(&token(Role::Admin, "000000"), WhoAmIRequest {})),
    )
    .await
    .expect("served while idle connections were open");
    assert!(r.is_ok(), "{r:?}");
    // The server closed the idle connections: reading one (past the server's own greeting)
    // comes to its end.
    use tokio::io::AsyncReadExt;
    let mut rest = Vec::new();
    let first = idle.first_mut().unwrap();
    let end = tokio::time::timeout(Duration::from_secs(3), first.read_to_end(&mut rest)).await;
    assert!(end.is_ok(), "an idle connection was still open");
    drop(idle);
    let _ = tx.send(());
    running.wait().await;
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A 40 MB benefit request of twenty million empty members is refused before it is decoded:
/// the server's memory does not follow the decoder's amplification.
#[tokio::test]
async fn a_huge_ordinary_request_is_refused_before_decoding() {
    let s = settings(fresh_database(Backend::Sqlite).await);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = social_assistance::start(s, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let n = 20_000_000usize;
    let mut inner = Vec::with_capacity(2 * n);
    for _ in 0..n {
        inner.extend_from_slice(&[0x22, 0x00]);
    }
    let mut body = vec![0x0a];
    let mut len = inner.len();
    while len >= 0x80 {
        body.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    body.push(len as u8);
    body.extend_from_slice(&inner);
    drop(inner);
    let before = rss_bytes();
    let e = raw_call(running.grpc_addr, "/civic.assistance.v1.SocialAssistanceService/ComputeHouseholdBenefit", body)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 300 * 1024 * 1024, "the server grew by {} MB", grown / (1024 * 1024));
    let _ = tx.send(());
    running.wait().await;
}

/// Answers after two seconds.
struct VerySlow;

#[tonic::async_trait]
impl civic_proto::common::v1::identity_service_server::IdentityService for VerySlow {
    async fn who_am_i(
        &self,
        _req: tonic::Request<WhoAmIRequest>,
    ) -> Result<tonic::Response<civic_proto::common::v1::WhoAmIResponse>, tonic::Status> {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(tonic::Response::new(Default::default()))
    }
}

/// A call that runs past the server's deadline is answered DEADLINE_EXCEEDED by the server,
/// with its request id, and counted.
#[tokio::test]
async fn a_deadline_is_answered_with_the_request_id_and_counted() {
    let mut s = settings(fresh_database(Backend::Sqlite).await);
    s.request_timeout_secs = 1;
    s.metrics_addr = "127.0.0.1:0".into();
    let routes = Routes::new(civic_proto::common::v1::identity_service_server::IdentityServiceServer::new(VerySlow));
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let running =
        civic_runtime::server::serve(&s, "test", &["civic.common.v1.IdentityService"], routes, None, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    let mut c = IdentityServiceClient::new(channel(running.grpc_addr).await);
    let mut req = authed(&token(Role::Admin, "000000"), WhoAmIRequest {});
    req.metadata_mut().insert("x-request-id", "deadline-0001".parse().unwrap());
    let e = c.who_am_i(req).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    assert_eq!(e.metadata().get("x-request-id").and_then(|v| v.to_str().ok()), Some("deadline-0001"));
    let page = metrics(running.metrics_addr.unwrap()).await;
    assert!(
        page.lines()
            .any(|l| l.contains("/civic.common.v1.IdentityService/WhoAmI") && l.contains("code=\"DeadlineExceeded\"")),
        "{page}"
    );
    let _ = stop.send(());
    running.wait().await;
}
