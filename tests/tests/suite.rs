//! The foundation, checked on all three services over real gRPC: each starts on port 0,
//! reflection (v1 and v1alpha) lists its services, health is SERVING, calls without a valid
//! token are refused, calls outside the caller's region are refused, the parameter query shows
//! the seeds' figures with their sources, and SIGTERM lets an in-flight call finish.
//!
//! (About 700 lines: the foundation every service shares, checked on all three with one harness;
//! the cross-service scenarios are in `suite/`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{future::Future, net::SocketAddr, pin::Pin, time::Duration};

use civic_proto::{
    assistance::v1::{social_assistance_service_client::SocialAssistanceServiceClient, ListStandardsRequest},
    common::v1::{
        identity_service_client::IdentityServiceClient, identity_service_server::IdentityService,
        policy_parameters_service_client::PolicyParametersServiceClient, GetParameterRequest, ListParametersRequest,
        WhoAmIRequest, WhoAmIResponse,
    },
};
use civic_runtime::{config::Settings, identity::Role, server::Running, storage::Backend};
use civic_testing::{authed, channel, fresh_database, settings, token};
use tonic::{service::Routes, Code, Request, Response, Status};

#[path = "suite/actuals.rs"]
mod actuals;
#[path = "suite/containers.rs"]
mod containers;
#[path = "suite/fuzz.rs"]
mod fuzz;
#[path = "suite/publishing.rs"]
mod publishing;
#[path = "suite/safety.rs"]
mod safety;
#[path = "suite/telemetry.rs"]
mod telemetry;
#[path = "suite/tls.rs"]
mod tls;
#[path = "suite/year.rs"]
mod year;

/// 本溪's roll header, and 平山区's H1: three persons, one earning 900 yuan (966 yuan a month of
/// 低保 at 2019's 622); 本溪县's H2, low income.
pub(crate) const ROLL_HEADER: &str =
    "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n";
pub(crate) const H1: &str = "H1,210502,urban,dibao,active,m1,45,false,true,wage:900\n\
H1,210502,urban,dibao,active,m2,40,false,true,\nH1,210502,urban,dibao,active,m3,12,false,true,\n";
pub(crate) const H2: &str = "H2,210521,urban,low_income,active,m1,50,false,true,wage:640\n";

/// Imports `rows` (after the header) into 本溪's roll as its civil-affairs bureau, computed for
/// `on_date`; the import must be stored.
pub(crate) async fn import_roll(
    client: &mut SocialAssistanceServiceClient<tonic::transport::Channel>,
    rows: &str,
    on_date: &str,
) -> Result<(), tonic::Status> {
    let imported = client
        .import_roll(authed(
            &token(Role::CivilAffairs, "210500"),
            civic_proto::assistance::v1::ImportRollRequest {
                region_code: "210500".into(),
                format: "csv".into(),
                content: format!("{ROLL_HEADER}{rows}").into_bytes(),
                on_date: on_date.into(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    assert!(imported.stored, "{:?}", imported.errors);
    Ok(())
}

type Starter = fn(Settings, Pin<Box<dyn Future<Output = ()> + Send>>) -> Pin<Box<dyn Future<Output = Running> + Send>>;

fn starters() -> Vec<(&'static str, &'static str, Starter)> {
    vec![
        ("budget-performance", budget_performance::SERVICE_NAME, |s, stop| {
            Box::pin(async move { budget_performance::start(s, stop).await.expect("start budget-performance") })
        }),
        ("land-supervision", land_supervision::SERVICE_NAME, |s, stop| {
            Box::pin(async move { land_supervision::start(s, stop).await.expect("start land-supervision") })
        }),
        ("social-assistance", social_assistance::SERVICE_NAME, |s, stop| {
            Box::pin(async move { social_assistance::start(s, stop).await.expect("start social-assistance") })
        }),
    ]
}

async fn start(starter: Starter) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, Running) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let url = fresh_database(Backend::Sqlite).await;
    let running = starter(
        settings(url),
        Box::pin(async move {
            let _ = rx.await;
        }),
    )
    .await;
    (running.grpc_addr, tx, running)
}

async fn reflection_services_v1(addr: SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse, ServerReflectionRequest,
    };
    let mut client = ServerReflectionClient::new(channel(addr).await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client.server_reflection_info(tokio_stream::iter(vec![req])).await.unwrap().into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    match resp.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect(),
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

async fn reflection_services_v1alpha(addr: SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::{
        server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse, ServerReflectionRequest,
    };
    let mut client = ServerReflectionClient::new(channel(addr).await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client.server_reflection_info(tokio_stream::iter(vec![req])).await.unwrap().into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    match resp.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => l.service.into_iter().map(|s| s.name).collect(),
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

/// Whether reflection (v1) can describe `symbol`, as grpcurl asks when it decodes a message.
async fn reflection_knows(addr: SocketAddr, symbol: &str) -> bool {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse, ServerReflectionRequest,
    };
    let mut client = ServerReflectionClient::new(channel(addr).await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(symbol.to_string())),
    };
    let mut stream = client.server_reflection_info(tokio_stream::iter(vec![req])).await.unwrap().into_inner();
    let resp = stream.message().await.unwrap().unwrap();
    matches!(resp.message_response, Some(MessageResponse::FileDescriptorResponse(f)) if !f.file_descriptor_proto.is_empty())
}

#[tokio::test]
async fn every_service_starts_on_port_0_with_reflection_health_and_identity() {
    for (label, own, starter) in starters() {
        let (addr, stop, running) = start(starter).await;
        assert_ne!(addr.port(), 0, "{label}");

        for services in [reflection_services_v1(addr).await, reflection_services_v1alpha(addr).await] {
            for expected in [
                own,
                "civic.common.v1.PolicyParametersService",
                "civic.common.v1.AuditLogService",
                "civic.common.v1.IdentityService",
                "grpc.health.v1.Health",
            ] {
                assert!(services.iter().any(|s| s == expected), "{label}: reflection lacks {expected}: {services:?}");
            }
            // Only this service's own API, not the whole suite's.
            let package = own.rsplit_once('.').map(|(p, _)| p).unwrap_or(own);
            assert!(
                services
                    .iter()
                    .filter(|s| s.starts_with("civic.") && !s.starts_with("civic.common"))
                    .all(|s| s.starts_with(package)),
                "{label}: {services:?}"
            );
        }

        // Error details decode with grpcurl: reflection describes the google.rpc types.
        for symbol in ["google.rpc.BadRequest", "google.rpc.ErrorInfo", "google.rpc.PreconditionFailure"] {
            assert!(reflection_knows(addr, symbol).await, "{label}: reflection lacks {symbol}");
        }

        let mut health = tonic_health::pb::health_client::HealthClient::new(channel(addr).await);
        for name in ["", own] {
            let r =
                health.check(tonic_health::pb::HealthCheckRequest { service: name.into() }).await.unwrap().into_inner();
            assert_eq!(
                r.status,
                tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
                "{label} {name}"
            );
        }

        let mut id = IdentityServiceClient::new(channel(addr).await);
        let refused = id.who_am_i(WhoAmIRequest {}).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{label}");
        let forged = civic_runtime::identity::TokenKey::new("another-key").mint(
            "mallory",
            Role::Admin,
            civic_domain::RegionCode::NATIONAL,
            chrono::Duration::hours(1),
        );
        assert_eq!(
            id.who_am_i(authed(&forged, WhoAmIRequest {})).await.unwrap_err().code(),
            Code::Unauthenticated,
            "{label}"
        );
        let me = id.who_am_i(authed(&token(Role::CivilAffairs, "210521"), WhoAmIRequest {})).await.unwrap();
        assert!(me.metadata().get("x-request-id").is_some(), "{label}: no request id echoed");
        let me = me.into_inner();
        assert_eq!(
            (me.role.as_str(), me.region_code.as_str(), me.region_name.as_str()),
            ("civil-affairs", "210521", "本溪满族自治县")
        );

        let _ = stop.send(());
        running.wait().await;
    }
}

#[tokio::test]
async fn parameter_query_shows_the_benxi_2019_figures_with_sources() {
    let (addr, stop, running) = start(starters()[2].2).await;
    let t = token(Role::CivilAffairs, "210500");
    let mut p = PolicyParametersServiceClient::new(channel(addr).await);
    let get = |key: &str, region: &str, date: &str| GetParameterRequest {
        key: key.into(),
        region_code: region.into(),
        on_date: date.into(),
    };

    let before = p
        .get_parameter(authed(&t, get("assistance.tekun.urban", "210521", "2019-06-30")))
        .await
        .unwrap()
        .into_inner()
        .parameter
        .unwrap();
    let after = p
        .get_parameter(authed(&t, get("assistance.tekun.urban", "210521", "2019-07-01")))
        .await
        .unwrap()
        .into_inner()
        .parameter
        .unwrap();
    assert_eq!((before.value.as_str(), after.value.as_str()), ("800", "933"));
    assert_eq!(after.rule, "1.5 * assistance.dibao.urban");
    assert_eq!(after.rounding, "half_up:1");
    let src = after.source.unwrap();
    assert_eq!((src.document.as_str(), src.effective_from.as_str()), ("本政办发〔2019〕25号", "2019-07-01"));
    assert!(src.clause.starts_with("一(二)"));

    let list = p
        .list_parameters(authed(
            &t,
            ListParametersRequest { region_code: "210502".into(), on_date: "2019-06-30".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    let dibao = list.parameters.iter().find(|x| x.key == "assistance.dibao.urban").unwrap();
    assert_eq!(dibao.value, "583");
    assert!(list.parameters.iter().all(|x| x.key.starts_with("assistance.")), "only this service's parameters");

    // Out of region: a county's staff cannot query another county's standards.
    let mut sa = SocialAssistanceServiceClient::new(channel(addr).await);
    let county = token(Role::CivilAffairs, "210521");
    let denied = sa
        .list_standards(authed(
            &county,
            ListStandardsRequest { region_code: "210522".into(), on_date: "2019-07-01".into(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(civic_testing::error_reason(&denied), "REGION_OUT_OF_SCOPE");
    // Unknown region, bad date: INVALID_ARGUMENT naming the field.
    let bad = p.get_parameter(authed(&t, get("assistance.dibao.urban", "219999", "2019-07-01"))).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(civic_testing::violated_fields(&bad), vec!["region_code"]);
    let bad = p.get_parameter(authed(&t, get("assistance.dibao.urban", "210521", "2019-13-01"))).await.unwrap_err();
    assert_eq!(civic_testing::violated_fields(&bad), vec!["on_date"]);
    let none =
        p.get_parameter(authed(&t, get("assistance.low_income.urban", "210521", "2019-06-30"))).await.unwrap_err();
    assert_eq!(none.code(), Code::FailedPrecondition);

    let _ = stop.send(());
    running.wait().await;
}

/// An Identity service whose call takes a while, to be in flight when SIGTERM arrives.
pub(crate) struct SlowIdentity;

#[tonic::async_trait]
impl IdentityService for SlowIdentity {
    async fn who_am_i(&self, _req: Request<WhoAmIRequest>) -> Result<Response<WhoAmIResponse>, Status> {
        tokio::time::sleep(Duration::from_millis(800)).await;
        Ok(Response::new(WhoAmIResponse { subject: "finished".into(), ..Default::default() }))
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_call_finish_then_stops() {
    // Shutdown is driven through a channel here; the signal itself is tested on the real binary
    // (social-assistance's `sigterm_under_load`).
    let mut s = settings(fresh_database(Backend::Sqlite).await);
    s.shutdown_grace_secs = 5;
    let routes =
        Routes::new(civic_proto::common::v1::identity_service_server::IdentityServiceServer::new(SlowIdentity));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running =
        civic_runtime::server::serve(&s, "test", &["civic.common.v1.IdentityService"], routes, None, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    let addr = running.grpc_addr;
    let mut client = IdentityServiceClient::new(channel(addr).await);
    let t = token(Role::Admin, "000000");
    let call = tokio::spawn(async move { client.who_am_i(authed(&t, WhoAmIRequest {})).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(());
    let answer = call.await.unwrap().expect("the in-flight call finishes");
    assert_eq!(answer.into_inner().subject, "finished");
    tokio::time::timeout(Duration::from_secs(5), running.wait()).await.expect("server stops after draining");
    // New connections are refused once it has stopped.
    assert!(tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.is_err());
}

/// The audit log is append-only on both databases: rows can be added, never changed or removed.
async fn audit_log_is_append_only(backend: Backend) {
    use civic_runtime::storage::Database;
    let db = Database::connect(&fresh_database(backend).await, 2).await.unwrap();
    db.migrate(&budget_performance::migrations()).await.unwrap();
    let caller = civic_runtime::identity::TokenKey::new("k")
        .verify(
            &civic_runtime::identity::TokenKey::new("k").mint(
                "a",
                Role::Finance,
                civic_domain::RegionCode::NATIONAL,
                chrono::Duration::hours(1),
            ),
            chrono::Utc::now(),
        )
        .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let change = civic_runtime::audit::Change {
        action: "x".into(),
        entity: "e".into(),
        entity_id: "1".into(),
        region: "210521".into(),
        ..Default::default()
    };
    civic_runtime::audit::record(&mut conn, &caller, "rid", &change).await.unwrap();
    assert!(sqlx_exec(&db, "UPDATE audit_log SET actor = 'mallory'").await.is_err(), "{backend:?}: update refused");
    assert!(sqlx_exec(&db, "DELETE FROM audit_log").await.is_err(), "{backend:?}: delete refused");
    let rows = civic_runtime::audit::list(
        &db,
        &civic_runtime::audit::AuditFilter {
            region_prefix: "2105".into(),
            entity: None,
            entity_id: None,
            after_id: 0,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, "a");
    // Migrating again is a no-op.
    db.migrate(&budget_performance::migrations()).await.unwrap();
}

async fn sqlx_exec(db: &civic_runtime::storage::Database, sql: &str) -> Result<(), String> {
    civic_runtime::storage::execute(db, sql).await.map(|_| ()).map_err(|e| e.to_string())
}

civic_testing::both_backends!(audit_log_append_only, super::audit_log_is_append_only);

/// budget-performance → social-assistance: the ex-ante cost of a proposed standard comes from the
/// what-if over the roll, called with the original caller's identity and request id; when
/// social-assistance is down the answer is UNAVAILABLE.
#[tokio::test]
async fn ex_ante_assessment_calls_social_assistance_on_behalf_of_the_caller() {
    use civic_proto::{
        assistance::v1::{StandardValue, WhatIfRequest},
        budget::v1::{budget_performance_service_client::BudgetPerformanceServiceClient, AssessStandardCostRequest},
    };
    let (sa_stop, sa_rx) = tokio::sync::oneshot::channel::<()>();
    let sa = social_assistance::start(settings(fresh_database(Backend::Sqlite).await), async move {
        let _ = sa_rx.await;
    })
    .await
    .unwrap();
    let (bp_stop, bp_rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start_with(
        settings(fresh_database(Backend::Sqlite).await),
        &format!("http://{}", sa.grpc_addr),
        async move {
            let _ = bp_rx.await;
        },
    )
    .await
    .unwrap();
    let mut sa_client = SocialAssistanceServiceClient::new(channel(sa.grpc_addr).await);
    import_roll(&mut sa_client, &format!("{H1}{H2}"), "2019-07-01").await.unwrap();
    let proposed = vec![
        StandardValue {
            key: "assistance.dibao.urban".into(),
            region_code: "210500".into(),
            value: "650".into(),
            clause: String::new(),
        },
        StandardValue {
            key: "assistance.dibao.urban".into(),
            region_code: "210521".into(),
            value: "650".into(),
            clause: String::new(),
        },
    ];
    let finance = token(Role::Finance, "210500");
    let mut req = authed(
        &finance,
        AssessStandardCostRequest {
            region_code: "210500".into(),
            on_date: "2019-07-01".into(),
            proposed: proposed.clone(),
        },
    );
    req.metadata_mut().insert("x-request-id", "ex-ante-0001".parse().unwrap());
    let mut bp_client = BudgetPerformanceServiceClient::new(channel(bp.grpc_addr).await);
    let cost = bp_client.assess_standard_cost(req).await.unwrap().into_inner();
    // The same figures as asking social-assistance directly: 650×3−900 − 966 = 84 yuan more for
    // H1; H2 becomes eligible at 650 − 640 = 10 yuan.
    let direct = sa_client
        .what_if(authed(
            &finance,
            WhatIfRequest { region_code: "210500".into(), on_date: "2019-07-01".into(), proposed },
        ))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    assert_eq!(
        (cost.current_monthly_fen, cost.proposed_monthly_fen),
        (direct.current_monthly_fen, direct.proposed_monthly_fen)
    );
    assert_eq!((cost.extra_monthly_fen, cost.extra_annual_fen), (9_400, 112_800));
    assert_eq!((cost.gaining, cost.newly_eligible), (1, 1));
    assert_eq!(cost.assistance_request_id, "ex-ante-0001", "the request id crossed the service boundary");
    // Benxi has no ex-ante rule of its own: the national one is cited, never 驻马店's.
    assert_eq!(cost.explanation.unwrap().steps[0].source.as_ref().unwrap().document, "中发〔2018〕34号");
    // The caller's own region scope applies: a finance officer of another city is refused.
    let other = token(Role::Finance, "411700");
    let e = bp_client
        .assess_standard_cost(authed(
            &other,
            AssessStandardCostRequest { region_code: "210500".into(), on_date: "2019-07-01".into(), proposed: vec![] },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    // An ex-ante assessment of the same change takes its estimate from the what-if (12 months
    // of the extra cost) and sets the budget asked for against it.
    let weights = ["20", "15", "15", "15", "10", "10", "15"];
    let scores = (1..=7)
        .map(|d| civic_proto::budget::v1::ExAnteScore {
            dimension: d,
            weight: weights[(d - 1) as usize].into(),
            points: "10".into(),
            opinion: String::new(),
        })
        .collect();
    let ex_ante = bp_client
        .score_ex_ante(authed(
            &finance,
            civic_proto::budget::v1::ScoreExAnteRequest {
                region_code: "210500".into(),
                on_date: "2024-01-01".into(),
                scores,
                rules_document: "评分办法(示例)".into(),
                requested_fen: 120_000,
                standard_change: Some(AssessStandardCostRequest {
                    region_code: "210500".into(),
                    on_date: "2019-07-01".into(),
                    proposed: vec![StandardValue {
                        key: "assistance.dibao.urban".into(),
                        region_code: "210500".into(),
                        value: "650".into(),
                        clause: String::new(),
                    }],
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    // 210500's standard alone: H1 gains 84 yuan a month, 1,008 yuan a year.
    assert_eq!(ex_ante.estimated_fen, 100_800);
    assert_eq!(ex_ante.findings, ["申请额高于测算 19.05 %"]);
    assert!(!ex_ante.assistance_request_id.is_empty());
    assert_eq!(ex_ante.explanation.unwrap().steps[0].rule_id, "budget.ex_ante.cost");
    // Social-assistance down: UNAVAILABLE, after one retry.
    let _ = sa_stop.send(());
    sa.wait().await;
    let e = bp_client
        .assess_standard_cost(authed(
            &finance,
            AssessStandardCostRequest {
                region_code: "210500".into(),
                on_date: "2019-07-01".into(),
                proposed: vec![StandardValue {
                    key: "assistance.dibao.urban".into(),
                    region_code: "210500".into(),
                    value: "650".into(),
                    clause: String::new(),
                }],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    let _ = bp_stop.send(());
    bp.wait().await;
}

/// social-assistance → budget-performance: the 工作绩效 factor of the city subsidy split is each
/// county's FINAL evaluation score, fetched on the caller's behalf; a county without one is an
/// error naming it, never 0 (the spec's §4.7).
#[tokio::test]
async fn subsidy_split_takes_the_work_performance_factor_from_budget_performance() {
    use civic_proto::{
        assistance::v1::{CountyFactorValues, FactorDirection, FactorSource, SplitCitySubsidyRequest, SubsidyFactor},
        budget::v1::{
            self as bpb, evaluation_service_client::EvaluationServiceClient,
            programme_service_client::ProgrammeServiceClient,
        },
    };
    let (bp_stop, bp_rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start(settings(fresh_database(Backend::Sqlite).await), async move {
        let _ = bp_rx.await;
    })
    .await
    .unwrap();
    let (sa_stop, sa_rx) = tokio::sync::oneshot::channel::<()>();
    let sa = social_assistance::start_with_peers(
        settings(fresh_database(Backend::Sqlite).await),
        social_assistance::recalc::RecalcSettings::from_env(),
        &format!("http://{}", bp.grpc_addr),
        async move {
            let _ = sa_rx.await;
        },
    )
    .await
    .unwrap();
    let ch = channel(bp.grpc_addr).await;
    let mut programmes = ProgrammeServiceClient::new(ch.clone());
    let mut evaluations = EvaluationServiceClient::new(ch);
    let finance = token(Role::Finance, "210500");
    // FINAL finance key evaluations of 2023: 210502 92.50, 210503 85.00, 210504 78.25.
    for (county, scores) in [
        ("210502", ["14", "18.5", "33", "27"]),
        ("210503", ["12", "16", "32", "25"]),
        ("210504", ["12", "15.25", "28", "23"]),
    ] {
        let p = programmes
            .upsert_programme(authed(
                &finance,
                bpb::UpsertProgrammeRequest {
                    programme: Some(bpb::Programme {
                        region_code: county.into(),
                        budget_year: 2023,
                        code: format!("{county}-2023-dibao"),
                        name: "城乡低保资金".into(),
                        kind: bpb::ProgrammeKind::Transfer as i32,
                        budget_kind: bpb::BudgetKind::GeneralPublic as i32,
                        object_kind: bpb::ObjectKind::None as i32,
                        owner_role: "civil-affairs".into(),
                        owner_unit: "民政局".into(),
                        responsible_person: "王".into(),
                        initial_budget_fen: 100_000_000,
                        adjusted_budget_fen: 100_000_000,
                        ..Default::default()
                    }),
                    expected_version: 0,
                    reason: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .programme
            .unwrap();
        let parts = [("决策", 1, "15"), ("过程", 2, "20"), ("产出", 3, "35"), ("效益", 4, "30")]
            .iter()
            .zip(scores)
            .map(|((name, d, w), s)| bpb::FrameworkPart {
                dimension: *d,
                name: (*name).into(),
                weight: (*w).into(),
                score: s.into(),
                ..Default::default()
            })
            .collect();
        let e = evaluations
            .submit_evaluation(authed(
                &finance,
                bpb::SubmitEvaluationRequest {
                    programme_id: p.id,
                    kind: bpb::EvaluationKind::FinanceKey as i32,
                    category: "assistance".into(),
                    evaluator: "本溪市财政局".into(),
                    parts,
                    evaluated_on: "2024-05-31".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        evaluations
            .review_evaluation(authed(
                &finance,
                bpb::ReviewEvaluationRequest {
                    evaluation_id: e.id,
                    expected_version: 1,
                    decision: bpb::ReviewDecision::Accept as i32,
                    notes: String::new(),
                },
            ))
            .await
            .unwrap();
    }
    let request = |counties: &[&str]| SplitCitySubsidyRequest {
        region_code: "210500".into(),
        pot_fen: 100_000_000,
        factors: vec![
            SubsidyFactor {
                name: "保障任务".into(),
                weight: "0.5".into(),
                direction: FactorDirection::MoreGetsMore as i32,
                ..Default::default()
            },
            SubsidyFactor {
                name: "工作绩效".into(),
                weight: "0.5".into(),
                direction: FactorDirection::MoreGetsMore as i32,
                source: FactorSource::BudgetScores as i32,
                category: "assistance".into(),
                year: 2023,
            },
        ],
        counties: counties
            .iter()
            .map(|c| CountyFactorValues { region_code: (*c).into(), values: vec!["100".into(), String::new()] })
            .collect(),
    };
    let mut sa_client = SocialAssistanceServiceClient::new(channel(sa.grpc_addr).await);
    let civil = token(Role::CivilAffairs, "210500");
    let split = sa_client
        .split_city_subsidy(authed(&civil, request(&["210502", "210503", "210504"])))
        .await
        .unwrap()
        .into_inner();
    // Equal workload: the performance half follows 92.50 : 85.00 : 78.25.
    let shares: Vec<i64> = split.counties.iter().map(|c| c.amount_fen).collect();
    assert_eq!(shares.iter().sum::<i64>(), 100_000_000);
    assert!(shares[0] > shares[1] && shares[1] > shares[2], "{shares:?}");
    let steps = split.explanation.unwrap().steps;
    let provenance = steps.iter().find(|s| s.rule_id == "subsidy.performance_from_budget").unwrap();
    assert!(provenance.formula.contains("210502 平山区: 92.50"), "{}", provenance.formula);
    assert!(steps.iter().any(|s| s.rule_id == "civic.scores.precedence"));
    // 210521 has no FINAL evaluation: refused, naming it.
    let e = sa_client.split_city_subsidy(authed(&civil, request(&["210502", "210521"]))).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("210521 本溪满族自治县"), "{}", e.message());
    // A value given for the fetched factor is the caller's mistake.
    let mut given = request(&["210502"]);
    given.counties[0].values[1] = "90".into();
    assert_eq!(sa_client.split_city_subsidy(authed(&civil, given)).await.unwrap_err().code(), Code::InvalidArgument);
    // budget-performance down: UNAVAILABLE naming it.
    let _ = bp_stop.send(());
    bp.wait().await;
    let e = sa_client.split_city_subsidy(authed(&civil, request(&["210502"]))).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains("budget-performance"));
    let _ = sa_stop.send(());
    sa.wait().await;
}
