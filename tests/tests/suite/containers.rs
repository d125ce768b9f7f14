//! The suite as an IT team runs it: the images `scripts/images` built, started with
//! `deploy/compose.yaml` under a compose project of the test's own, PostgreSQL included, and
//! called through the published ports with real gRPC clients. Needs Docker and the images, so
//! plain `cargo test` skips it; `scripts/container-test` (run by `.ci/run`) builds the images
//! and runs it. Every container, network and volume it made is removed when it ends, even when
//! it fails.

use std::{
    net::{SocketAddr, TcpListener},
    process::{Command, Output},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use civic_proto::{
    assistance::v1::{
        social_assistance_service_client::SocialAssistanceServiceClient, ComputeHouseholdBenefitRequest, Household,
        ImportRollRequest, IncomeItem, Member, Residence, StandardValue,
    },
    budget::v1::{budget_performance_service_client::BudgetPerformanceServiceClient, AssessStandardCostRequest},
    land::v1::{land_registry_service_client::LandRegistryServiceClient, ListParcelsRequest},
};
use civic_runtime::identity::Role;
use civic_testing::{authed, token, TEST_SIGNING_KEY};
use tonic::{transport::Channel, Code};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

/// One compose project: `docker-compose -p <project> -f deploy/compose.yaml …` with the test's
/// ports and key; `down -v` when dropped.
struct Compose {
    project: String,
    env: Vec<(String, String)>,
}

impl Compose {
    fn run(&self, args: &[&str]) -> Output {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/compose.yaml");
        let out = Command::new("docker-compose")
            .args(["-p", &self.project, "-f", file])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("docker-compose runs");
        out
    }

    fn must(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "docker-compose {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The id of the one container of `service`.
    fn container(&self, service: &str) -> String {
        let out = self.run(&["ps", "-q", service]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The last JSON log line of `service` for a call to `method`.
    fn call_line(&self, service: &str, method: &str) -> serde_json::Value {
        let out = self.run(&["logs", "--no-color", service]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .filter_map(|l| l.split_once("| ").map(|(_, json)| json))
            .filter_map(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .find(|v| v["message"] == "call" && v["method"] == method)
            .unwrap_or_else(|| panic!("no log line for {method} in {service}'s log"))
    }

    fn logs(&self) -> String {
        let out = self.run(&["logs", "--no-color", "--tail", "40"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- the containers' last log lines ---\n{}", self.logs());
        }
        let out = self.run(&["down", "-v", "--remove-orphans", "-t", "30"]);
        if !out.status.success() {
            eprintln!("docker-compose down failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// A plain HTTP/1 GET; the body.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connects");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("writes");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("reads");
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

/// `n` free ports, all different: each listener is held until every port is chosen (released one
/// by one, the system could hand the same port out twice, and compose would publish two services
/// on it).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port")).collect();
    held.iter().map(|l| l.local_addr().expect("a bound port").port()).collect()
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A channel that connects when first used and again after the other side went away.
fn lazy(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("address")
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy()
}

/// Waits until `service` ("" for the process) answers SERVING at `addr`.
async fn wait_serving(addr: SocketAddr, service: &str, within: Duration) {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < within {
        let mut health = HealthClient::new(lazy(addr));
        match health.check(HealthCheckRequest { service: service.into() }).await {
            Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => return,
            Ok(r) => last = format!("status {}", r.get_ref().status),
            Err(e) => last = format!("{:?} {}", e.code(), e.message()),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("{addr} ({service:?}) not SERVING within {within:?}: {last}");
}

const ROLL: &str =
    "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n\
H1,210502,urban,dibao,active,m1,45,false,true,wage:900\nH1,210502,urban,dibao,active,m2,40,false,true,\n\
H1,210502,urban,dibao,active,m3,12,false,true,\nH2,210521,urban,low_income,active,m1,50,false,true,wage:640\n";

fn cost_request() -> AssessStandardCostRequest {
    let value = |region: &str| StandardValue {
        key: "assistance.dibao.urban".into(),
        region_code: region.into(),
        value: "650".into(),
        clause: String::new(),
    };
    AssessStandardCostRequest {
        region_code: "210500".into(),
        on_date: "2019-07-01".into(),
        proposed: vec![value("210500"), value("210521")],
    }
}

fn benefit_request() -> ComputeHouseholdBenefitRequest {
    let member = |age: i32, incomes: Vec<IncomeItem>| Member {
        id: String::new(),
        age,
        able_bodied: false,
        has_income_proof: true,
        incomes,
    };
    ComputeHouseholdBenefitRequest {
        household: Some(Household {
            id: String::new(),
            region_code: "210502".into(),
            residence: Residence::Urban as i32,
            members: vec![
                member(45, vec![IncomeItem { kind: "wage".into(), monthly_fen: 90_000 }]),
                member(40, vec![]),
                member(12, vec![]),
            ],
        }),
        on_date: "2019-07-15".into(),
    }
}

#[tokio::test]
#[ignore = "needs Docker and the images: scripts/container-test runs it"]
async fn the_suite_runs_as_containers_under_compose() {
    let image = std::env::var("CIVIC_IMAGE").unwrap_or_else(|_| "civic:0.1.0".into());
    // The image: a non-root user, the policy book, its own health check.
    let user = docker(&["image", "inspect", "-f", "{{.Config.User}}", &image]);
    assert_eq!(user, "10001:10001", "the services run as a non-root user");
    let check = docker(&["image", "inspect", "-f", "{{json .Config.Healthcheck.Test}}", &image]);
    assert!(check.contains("civic-health"), "{check}");
    let version = docker(&["run", "--rm", &image, "social-assistance", "--version"]);
    assert!(version.starts_with("social-assistance "), "{version}");

    let ports = free_ports(6);
    let project = format!("civictest{}", std::process::id());
    let mut env = vec![("CIVIC_SIGNING_KEY".to_string(), TEST_SIGNING_KEY.to_string())];
    for (name, port) in [
        "CIVIC_BP_PORT",
        "CIVIC_LS_PORT",
        "CIVIC_SA_PORT",
        "CIVIC_BP_METRICS_PORT",
        "CIVIC_LS_METRICS_PORT",
        "CIVIC_SA_METRICS_PORT",
    ]
    .iter()
    .zip(&ports)
    {
        env.push((name.to_string(), port.to_string()));
    }
    for name in ["CIVIC_IMAGE", "CIVIC_POSTGRES_IMAGE"] {
        if let Ok(v) = std::env::var(name) {
            env.push((name.into(), v));
        }
    }
    let compose = Compose { project, env };
    compose.must(&["up", "-d", "--no-build"]);
    let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], ports[i]));
    let (bp, ls, sa) = (addr(0), addr(1), addr(2));
    for (a, name) in [
        (bp, "civic.budget.v1.BudgetPerformanceService"),
        (ls, "civic.land.v1.LandSupervisionService"),
        (sa, "civic.assistance.v1.SocialAssistanceService"),
    ] {
        wait_serving(a, "", Duration::from_secs(120)).await;
        wait_serving(a, name, Duration::from_secs(60)).await;
    }

    // Each service through its published port.
    let civil = token(Role::CivilAffairs, "210500");
    let finance = token(Role::Finance, "210500");
    let mut sa_client = SocialAssistanceServiceClient::new(lazy(sa));
    let imported = sa_client
        .import_roll(authed(
            &civil,
            ImportRollRequest {
                region_code: "210500".into(),
                format: "csv".into(),
                content: ROLL.as_bytes().to_vec(),
                on_date: "2019-07-01".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("ImportRoll over the published port")
        .into_inner();
    assert!(imported.stored, "{:?}", imported.errors);
    let mut ls_client = LandRegistryServiceClient::new(lazy(ls));
    ls_client
        .list_parcels(authed(
            &token(Role::NaturalResources, "411700"),
            ListParcelsRequest { region_code: "411702".into(), ..Default::default() },
        ))
        .await
        .expect("ListParcels over the published port");

    // budget-performance → social-assistance over the compose network, by name.
    let mut bp_client = BudgetPerformanceServiceClient::new(lazy(bp));
    let cost = bp_client.assess_standard_cost(authed(&finance, cost_request())).await.expect("the cross-service call");
    assert_eq!((cost.get_ref().extra_monthly_fen, cost.get_ref().extra_annual_fen), (9_400, 112_800));
    // One JSON log line per call, with method, code, duration, request id, trace id and caller;
    // the downstream call's line carries the same trace id, the original caller and the service
    // that called on their behalf.
    let bp_line =
        compose.call_line("budget-performance", "/civic.budget.v1.BudgetPerformanceService/AssessStandardCost");
    let sa_line = compose.call_line("social-assistance", "/civic.assistance.v1.SocialAssistanceService/WhatIf");
    for (line, caller) in
        [(&bp_line, "tester finance 210500"), (&sa_line, "tester finance 210500 via budget-performance")]
    {
        assert_eq!(line["code"], "Ok", "{line}");
        assert!(line["duration_us"].as_u64().is_some(), "{line}");
        assert_eq!(line["trace_id"].as_str().map(str::len), Some(32), "{line}");
        assert_eq!(line["caller"], caller, "{line}");
    }
    assert_eq!(bp_line["trace_id"], sa_line["trace_id"], "one trace across the services");
    assert_eq!(bp_line["request_id"], sa_line["request_id"], "one request id across the services");
    // Metrics through the published port, in the classic text format.
    let page = http_get(addr(5), "/metrics").await;
    assert!(page.contains("civic_grpc_server_handled_total{"), "{page}");
    assert!(page.contains("civic_db_pool_connections "), "{page}");

    // social-assistance stopped: budget-performance answers UNAVAILABLE naming it, within the
    // caller's deadline.
    compose.must(&["stop", "-t", "30", "social-assistance"]);
    let mut ask = authed(&finance, cost_request());
    ask.set_timeout(Duration::from_secs(10));
    let started = Instant::now();
    let e = bp_client.assess_standard_cost(ask).await.expect_err("social-assistance is down");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains("social-assistance"), "the answer names the service: {e:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "answered within the deadline: {:?}", started.elapsed());
    // … started again: the same call succeeds.
    compose.must(&["start", "social-assistance"]);
    wait_serving(sa, "civic.assistance.v1.SocialAssistanceService", Duration::from_secs(60)).await;
    let mut answered = None;
    for _ in 0..30 {
        match bp_client.assess_standard_cost(authed(&finance, cost_request())).await {
            Ok(r) => {
                answered = Some(r.into_inner());
                break;
            }
            Err(e) => assert_eq!(e.code(), Code::Unavailable, "{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(answered.expect("the call succeeds once social-assistance is back").extra_monthly_fen, 9_400);

    // PostgreSQL restarted: the services recover by themselves (no restart of theirs).
    let before = docker(&["inspect", "-f", "{{.State.StartedAt}}", &compose.container("social-assistance")]);
    compose.must(&["restart", "-t", "10", "postgres"]);
    let mut recovered = false;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(90) {
        let r = sa_client
            .import_roll(authed(
                &civil,
                ImportRollRequest {
                    region_code: "210500".into(),
                    format: "csv".into(),
                    content: ROLL.as_bytes().to_vec(),
                    on_date: "2019-07-01".into(),
                    ..Default::default()
                },
            ))
            .await;
        if r.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(recovered, "social-assistance writes again after PostgreSQL restarted");
    wait_serving(bp, "civic.budget.v1.BudgetPerformanceService", Duration::from_secs(60)).await;
    wait_serving(ls, "civic.land.v1.LandSupervisionService", Duration::from_secs(60)).await;
    let after = docker(&["inspect", "-f", "{{.State.StartedAt}}", &compose.container("social-assistance")]);
    assert_eq!(before, after, "the service recovered without being restarted");

    // SIGTERM under load (docker-compose stop): every call that reached the server finishes; the
    // process exits 0.
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let stop = stop.clone();
        let tok = civil.clone();
        clients.push(tokio::spawn(async move {
            let mut c = SocialAssistanceServiceClient::new(lazy(sa));
            let mut codes = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = c.compute_household_benefit(authed(&tok, benefit_request())).await;
                let outcome = r.err().map_or((Code::Ok, String::new()), |e| (e.code(), format!("{e:?}")));
                let refused = outcome.0 == Code::Unavailable;
                codes.push(outcome);
                if refused {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            codes
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let container = compose.container("social-assistance");
    compose.must(&["stop", "-t", "30", "social-assistance"]);
    stop.store(true, Ordering::Relaxed);
    let exit = docker(&["inspect", "-f", "{{.State.ExitCode}}", &container]);
    assert_eq!(exit, "0", "social-assistance stops cleanly on SIGTERM");
    let mut ok = 0;
    for c in clients {
        for (code, detail) in c.await.expect("client task") {
            let never_processed = (detail.contains("GoAway(") && detail.contains("NO_ERROR"))
                || detail.contains("operation was canceled");
            assert!(matches!(code, Code::Ok | Code::Unavailable) || never_processed, "a call ended {code:?}: {detail}");
            ok += usize::from(code == Code::Ok);
        }
    }
    assert!(ok > 0, "calls were served before the signal");
}
