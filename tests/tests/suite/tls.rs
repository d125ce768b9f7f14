//! TLS as a site configures it by file paths: PostgreSQL with `sslmode=require` and
//! `verify-full`, the gRPC listener with a certificate (and mutual TLS), and the service-to-service
//! call over `https://`. The certificate authority and certificates are made for the run by
//! `scripts/with-postgres` (`CIVIC_TEST_TLS_DIR`), which also serves PostgreSQL over TLS.

use std::{path::PathBuf, time::Duration};

use civic_proto::{
    assistance::v1::{
        social_assistance_service_client::SocialAssistanceServiceClient, ListStandardsRequest, StandardValue,
    },
    budget::v1::{budget_performance_service_client::BudgetPerformanceServiceClient, AssessStandardCostRequest},
};
use civic_runtime::{config::Settings, identity::Role, storage::Backend};
use civic_testing::{authed, fresh_database, settings, token};
use sqlx::Connection;
use tonic::{
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
    Code,
};

fn tls_dir() -> PathBuf {
    match std::env::var("CIVIC_TEST_TLS_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => panic!("TLS tests need CIVIC_TEST_TLS_DIR (scripts/test starts PostgreSQL with TLS and sets it)"),
    }
}

fn file(name: &str) -> String {
    tls_dir().join(name).display().to_string()
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(tls_dir().join(name)).expect("a certificate file of the run")
}

/// How many of the connections to `database` use TLS and how many do not.
async fn connections_by_tls(admin_url: &str, database: &str) -> (i64, i64) {
    let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("admin connection");
    let rows: Vec<(bool,)> =
        sqlx::query_as("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1")
            .bind(database)
            .fetch_all(&mut conn)
            .await
            .expect("pg_stat_ssl");
    let tls = rows.iter().filter(|(ssl,)| *ssl).count() as i64;
    (tls, rows.len() as i64 - tls)
}

/// `sslmode=require` encrypts every connection the service holds; `verify-full` with the site's
/// CA checks the server's name too; `verify-full` without that CA refuses to start, naming the
/// database.
#[tokio::test]
async fn postgres_over_tls_require_and_verify_full() {
    let admin = std::env::var("CIVIC_TEST_POSTGRES_URL").expect("CIVIC_TEST_POSTGRES_URL");
    let url = fresh_database(Backend::Postgres).await;
    let database = url.rsplit('/').next().unwrap_or_default().to_string();

    let require = format!("{url}?sslmode=require");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let sa = social_assistance::start(settings(require), async move {
        let _ = rx.await;
    })
    .await
    .expect("starts over TLS");
    let mut client = SocialAssistanceServiceClient::new(civic_testing::channel(sa.grpc_addr).await);
    super::import_roll(&mut client, "H1,210502,urban,dibao,active,m1,45,false,true,wage:900\n", "2019-07-01")
        .await
        .expect("a write over TLS");
    let (tls, plain) = connections_by_tls(&admin, &database).await;
    assert!(tls > 0 && plain == 0, "the service's connections: {tls} over TLS, {plain} not");
    let _ = stop.send(());
    sa.wait().await;

    // verify-full: the certificate must chain to the given CA and name the host (localhost).
    let url = fresh_database(Backend::Postgres).await;
    let verified =
        format!("{}?sslmode=verify-full&sslrootcert={}", url.replacen("127.0.0.1", "localhost", 1), file("ca.crt"));
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let ls = land_supervision::start(settings(verified.clone()), async move {
        let _ = rx.await;
    })
    .await
    .expect("starts with verify-full");
    let _ = stop.send(());
    ls.wait().await;

    // Without the site's CA the certificate is not trusted: start-up stops, naming the database
    // and never showing a password.
    let untrusted = format!("{}?sslmode=verify-full", url.replacen("127.0.0.1", "localhost", 1));
    let e = land_supervision::start(settings(untrusted), std::future::pending::<()>())
        .await
        .err()
        .expect("an untrusted certificate stops start-up");
    let shown = e.to_string();
    assert!(shown.starts_with("database postgres://civic@localhost"), "{shown}");
    assert!(shown.to_lowercase().contains("certificate") || shown.to_lowercase().contains("tls"), "{shown}");
}

fn tls_settings(database_url: String) -> Settings {
    Settings {
        tls_cert: file("server.crt"),
        tls_key: file("server.key"),
        tls_client_ca: file("ca.crt"),
        ..settings(database_url)
    }
}

async fn tls_channel(port: u16, client_identity: bool) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem("ca.crt"))).domain_name("localhost");
    if client_identity {
        tls = tls.identity(Identity::from_pem(pem("client.crt"), pem("client.key")));
    }
    Endpoint::from_shared(format!("https://localhost:{port}"))?.tls_config(tls)?.connect().await
}

/// social-assistance serves gRPC over mutual TLS only: a caller with a certificate the site's CA
/// signed is served, one without a certificate or speaking plain HTTP/2 is not;
/// budget-performance reaches it over `https://` with CIVIC_PEER_CA and its own certificate, and
/// without that certificate the cross-service call is UNAVAILABLE.
#[tokio::test]
async fn grpc_over_mutual_tls_and_between_services() {
    let (sa_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let sa = social_assistance::start(tls_settings(fresh_database(Backend::Sqlite).await), async move {
        let _ = rx.await;
    })
    .await
    .expect("starts with TLS");
    let port = sa.grpc_addr.port();

    let mut client =
        SocialAssistanceServiceClient::new(tls_channel(port, true).await.expect("a mutual TLS connection"));
    super::import_roll(&mut client, super::H1, "2019-07-01").await.expect("served over mutual TLS");

    // The image's health check speaks TLS to a TLS listener: with the CA and (mutual TLS) the
    // peer certificate it gets SERVING; without the CA it says what to set.
    let env = |with_identity: bool| {
        move |k: &str| match k {
            "CIVIC_TLS_CERT" => Some(file("server.crt")),
            "CIVIC_PEER_CA" => Some(file("ca.crt")),
            "CIVIC_PEER_CERT" if with_identity => Some(file("client.crt")),
            "CIVIC_PEER_KEY" if with_identity => Some(file("client.key")),
            _ => None,
        }
    };
    let addr = format!("127.0.0.1:{port}");
    let tls = civic_runtime::health::tls_from(env(true)).unwrap();
    let status = civic_runtime::health::probe(&addr, "", tls, Duration::from_secs(5)).await;
    assert_eq!(status, Ok(tonic_health::pb::health_check_response::ServingStatus::Serving as i32));
    let tls = civic_runtime::health::tls_from(env(false)).unwrap();
    assert!(
        civic_runtime::health::probe(&addr, "", tls, Duration::from_secs(5)).await.is_err(),
        "mutual TLS wants a certificate"
    );
    let plain = civic_runtime::health::probe(&addr, "", None, Duration::from_secs(5)).await;
    assert!(plain.is_err(), "{plain:?}");
    let no_ca = civic_runtime::health::tls_from(|k: &str| (k == "CIVIC_TLS_CERT").then(|| file("server.crt")));
    assert!(no_ca.unwrap_err().contains("CIVIC_PEER_CA"));

    // No client certificate: the handshake or the first call fails.
    let refused = match tls_channel(port, false).await {
        Err(_) => true,
        Ok(ch) => SocialAssistanceServiceClient::new(ch)
            .list_standards(authed(&token(Role::CivilAffairs, "210500"), ListStandardsRequest::default()))
            .await
            .is_err_and(|e| e.code() != Code::InvalidArgument),
    };
    assert!(refused, "a caller without a certificate is refused");
    // Plain HTTP/2 to a TLS listener: nothing is served.
    let plain = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).expect("url").connect().await;
    let served = match plain {
        Err(_) => false,
        Ok(ch) => SocialAssistanceServiceClient::new(ch)
            .list_standards(authed(&token(Role::CivilAffairs, "210500"), ListStandardsRequest::default()))
            .await
            .is_ok(),
    };
    assert!(!served, "plain HTTP/2 is not served on a TLS listener");

    // budget-performance → social-assistance over https with the peer CA and certificate.
    let ask = || AssessStandardCostRequest {
        region_code: "210500".into(),
        on_date: "2019-07-01".into(),
        proposed: vec![StandardValue {
            key: "assistance.dibao.urban".into(),
            region_code: "210500".into(),
            value: "650".into(),
            clause: String::new(),
        }],
    };
    let finance = token(Role::Finance, "210500");
    let peer = Settings {
        peer_ca: file("ca.crt"),
        peer_cert: file("client.crt"),
        peer_key: file("client.key"),
        ..settings(fresh_database(Backend::Sqlite).await)
    };
    let url = format!("https://localhost:{port}");
    let (bp_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start_with(peer, &url, async move {
        let _ = rx.await;
    })
    .await
    .expect("starts with the peer CA");
    let mut bp_client = BudgetPerformanceServiceClient::new(civic_testing::channel(bp.grpc_addr).await);
    let cost = bp_client.assess_standard_cost(authed(&finance, ask())).await.expect("the call crosses over TLS");
    // 650 × 3 − 900 = 1,050 against 966 today: 84 yuan more a month.
    assert_eq!(cost.into_inner().extra_monthly_fen, 8_400);
    let _ = bp_stop.send(());
    bp.wait().await;

    // The same without its own certificate: social-assistance refuses it, and the caller hears
    // UNAVAILABLE naming the service.
    let no_identity = Settings { peer_ca: file("ca.crt"), ..settings(fresh_database(Backend::Sqlite).await) };
    let (bp_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start_with(no_identity, &url, async move {
        let _ = rx.await;
    })
    .await
    .expect("starts");
    let mut bp_client = BudgetPerformanceServiceClient::new(civic_testing::channel(bp.grpc_addr).await);
    let e = bp_client.assess_standard_cost(authed(&finance, ask())).await.expect_err("no client certificate");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains("social-assistance"), "{e:?}");
    let _ = bp_stop.send(());
    bp.wait().await;

    // An https URL without CIVIC_PEER_CA cannot work: start-up stops, naming the setting.
    let e = budget_performance::start_with(
        settings(fresh_database(Backend::Sqlite).await),
        &url,
        std::future::pending::<()>(),
    )
    .await
    .err()
    .expect("an https peer without a CA stops start-up");
    assert!(e.to_string().contains("CIVIC_PEER_CA"), "{e}");
    let _ = sa_stop.send(());
    sa.wait().await;
}
