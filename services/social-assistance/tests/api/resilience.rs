//! The database goes away and comes back (PostgreSQL: connections cut and refused, then allowed
//! again): readiness follows it, liveness does not, and a recalculation running through the
//! outage resumes by itself and pays exactly once.

use std::time::Duration;

use civic_proto::assistance::v1 as pb;
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::fresh_database;
use social_assistance::recalc::RecalcSettings;
use sqlx::Connection;
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

use crate::harness::{req, t, App};

/// Refuse new connections to the test database and end the open ones, or allow them again.
async fn database_reachable(url: &str, reachable: bool) {
    let admin = std::env::var("CIVIC_TEST_POSTGRES_URL").expect("CIVIC_TEST_POSTGRES_URL");
    let name = url.rsplit('/').next().unwrap();
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}")).execute(&mut conn).await.unwrap();
    if !reachable {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(name)
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

async fn status(app: &App, service: &str) -> i32 {
    let mut h = HealthClient::new(civic_testing::channel(app.addr).await);
    h.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status
}

async fn wait_status(app: &App, service: &str, want: ServingStatus) {
    for _ in 0..100 {
        if status(app, service).await == want as i32 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("health of '{service}' never became {want:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_liveness_does_not() {
    let app = App::spawn(Backend::Postgres).await;
    let svc = social_assistance::SERVICE_NAME;
    wait_status(&app, svc, ServingStatus::Serving).await;
    database_reachable(&app.database_url, false).await;
    wait_status(&app, svc, ServingStatus::NotServing).await;
    assert_eq!(status(&app, "").await, ServingStatus::Serving as i32, "liveness does not follow the database");
    database_reachable(&app.database_url, true).await;
    wait_status(&app, svc, ServingStatus::Serving).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recalculation_survives_a_database_outage() {
    let slow = RecalcSettings {
        stale_after: Duration::from_secs(60),
        pause: Duration::from_millis(400),
        chunk_size: 1,
        workers: 1,
    };
    let app = App::spawn_on(fresh_database(Backend::Postgres).await, slow).await;
    crate::recalculation::prepare(&app).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let job =
        c.start_recalculation(req(&tok, crate::recalculation::start_req())).await.unwrap().into_inner().job.unwrap();
    database_reachable(&app.database_url, false).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    database_reachable(&app.database_url, true).await;
    let done = crate::recalculation::wait_completed(&mut c, &job.job_id, Duration::from_secs(60)).await;
    assert_eq!(done.state, pb::JobState::Completed as i32, "{done:?}");
    crate::recalculation::check_cases(&mut c, &job.job_id).await;
    app.stop().await;
}

/// SIGTERM to the real binary while four clients keep calling: every call that reached the server
/// finishes normally; calls after it closed are refused as UNAVAILABLE (clients retry them);
/// none is cut off (CANCELLED), lost (UNKNOWN) or INTERNAL. Rounds: `CIVIC_CHAOS_ROUNDS`.
async fn sigterm_under_load(backend: Backend) {
    let rounds: usize = std::env::var("CIVIC_CHAOS_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let url = fresh_database(backend).await;
    for _ in 0..rounds {
        let (child, addr) = crate::recalculation::spawn_binary(&url);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for _ in 0..4 {
            let stop = stop.clone();
            clients.push(tokio::spawn(async move {
                let tok = t(Role::CivilAffairs, "210500");
                let mut codes = Vec::new();
                let Ok(ch) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await
                else {
                    return codes;
                };
                let mut c =
                    civic_proto::assistance::v1::social_assistance_service_client::SocialAssistanceServiceClient::new(
                        ch,
                    );
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let h = crate::harness::household("", "210502", pb::Residence::Urban, 3, 90_000);
                    let r = c
                        .compute_household_benefit(req(
                            &tok,
                            pb::ComputeHouseholdBenefitRequest { household: Some(h), on_date: "2019-07-15".into() },
                        ))
                        .await;
                    codes.push(r.err().map_or((tonic::Code::Ok, String::new()), |e| (e.code(), format!("{e:?}"))));
                }
                codes
            }));
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let mut child = child;
        let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(status.success(), "the binary stops cleanly on SIGTERM: {status:?}");
        let mut ok = 0;
        for c in clients {
            for (code, detail) in c.await.unwrap() {
                // A stream the server refused as it closed (graceful GOAWAY, NO_ERROR) or a request
                // the client never sent on the closing connection was not processed: like
                // UNAVAILABLE, it is safe to retry. Anything else is a call cut off.
                let never_processed = (detail.contains("GoAway(") && detail.contains("NO_ERROR"))
                    || detail.contains("operation was canceled");
                assert!(
                    matches!(code, tonic::Code::Ok | tonic::Code::Unavailable) || never_processed,
                    "a call ended {code:?}: {detail}"
                );
                ok += usize::from(code == tonic::Code::Ok);
            }
        }
        assert!(ok > 0, "calls were served before the signal");
    }
}
crate::both_backends!(sigterm_under_load, super::sigterm_under_load);

/// `--help` and `--version` answer without starting anything; the help lists the configuration.
#[test]
fn help_and_version_start_nothing() {
    let bin = env!("CARGO_BIN_EXE_social-assistance");
    let out = std::process::Command::new(bin)
        .arg("--help")
        .env("CIVIC_DATABASE_URL", "postgres://nowhere:1/x")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for v in ["CIVIC_DATABASE_URL", "CIVIC_TOKEN_MAX_HOURS", "CIVIC_RECALC_WORKERS"] {
        assert!(text.contains(v), "--help lacks {v}");
    }
    let out = std::process::Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("social-assistance "));
    assert_eq!(std::process::Command::new(bin).arg("--nonsense").output().unwrap().status.code(), Some(2));
}
