//! One budget year across the three services, each a real server with its own database
//! (SQLite, and again PostgreSQL): the ex-ante check of a raised 低保 standard priced by
//! social-assistance's what-if; 低保 programmes of two 本溪 districts whose goals read what
//! social-assistance paid; the June checkpoint raising the warning its figures call for;
//! finance's own monitoring of a programme read from both other services in one call (one trace
//! and one request id in all three services' logs, each callee's audit naming the person and
//! budget-performance); year-end self-evaluations read again and accepted; and the city subsidy
//! split whose 工作绩效 factor follows the districts' FINAL scores and changes when finance's
//! re-evaluation lowers one.
//!
//! (About 590 lines: one budget year is one scenario, read in the order the year runs.)

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use civic_proto::{
    assistance::v1::{
        self as apb, social_assistance_service_client::SocialAssistanceServiceClient, RecordPaymentsRequest,
        StandardValue,
    },
    budget::v1::{
        self as pb, budget_performance_service_client::BudgetPerformanceServiceClient,
        evaluation_service_client::EvaluationServiceClient, monitoring_service_client::MonitoringServiceClient,
        programme_service_client::ProgrammeServiceClient,
    },
    common::v1::{audit_log_service_client::AuditLogServiceClient, AuditEntry, ListAuditEntriesRequest},
};
use civic_runtime::{config::Settings, identity::Role, storage::Backend};
use civic_testing::{authed, channel, fresh_database, settings, token};
use tonic::transport::Channel;

use super::actuals::{approved, campaign_march, checkpoint, goals, indicator, per_mu_results, sourced};

/// Every call log line the services write while the test's thread runs them.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8_lossy(&bytes).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

const ROLL: &str =
    "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n\
H1,210502,urban,dibao,active,m1,45,false,true,wage:900\n\
H1,210502,urban,dibao,active,m2,40,false,true,\n\
H1,210502,urban,dibao,active,m3,12,false,true,\n\
H3,210503,urban,dibao,active,m1,67,false,true,\n";

fn programme(region: &str, code: &str, name: &str, owner_role: &str, owner_unit: &str) -> pb::Programme {
    pb::Programme {
        region_code: region.into(),
        budget_year: 2024,
        code: code.into(),
        name: name.into(),
        kind: pb::ProgrammeKind::Policy as i32,
        budget_kind: pb::BudgetKind::GeneralPublic as i32,
        object_kind: pb::ObjectKind::None as i32,
        owner_role: owner_role.into(),
        owner_unit: owner_unit.into(),
        responsible_person: "王芳".into(),
        initial_budget_fen: 100_000_000,
        adjusted_budget_fen: 100_000_000,
        ..Default::default()
    }
}

/// The year-end self-evaluation of a 低保 programme: persons and money paid are read from
/// social-assistance (left empty here), the rest is the bureau's.
fn self_evaluation(
    programme_id: &str,
    evaluator: &str,
    [persons, paid, satisfaction]: [&str; 3],
) -> pb::SubmitEvaluationRequest {
    use pb::{IndicatorDirection as D, IndicatorGroup as G};
    let quant = |group: G, name: &str, unit: &str, d: D, target: &str, actual: &str, points: &str| {
        pb::SelfEvaluationIndicator {
            group: group as i32,
            name: name.into(),
            unit: unit.into(),
            direction: d as i32,
            target: target.into(),
            actual: actual.into(),
            points: points.into(),
            ..Default::default()
        }
    };
    pb::SubmitEvaluationRequest {
        programme_id: programme_id.into(),
        kind: pb::EvaluationKind::Self_ as i32,
        category: "assistance".into(),
        evaluator: evaluator.into(),
        self_evaluation: Some(pb::ScoreSelfEvaluationRequest {
            indicators: vec![
                quant(G::Output, "保障人数", "人", D::AtLeast, persons, "", "25"),
                quant(G::Output, "发放金额", "元", D::AtMost, paid, "", "25"),
                pb::SelfEvaluationIndicator {
                    group: G::Benefit as i32,
                    name: "基本生活得到保障".into(),
                    direction: D::Qualitative as i32,
                    target: "达成".into(),
                    points: "30".into(),
                    band: pb::QualitativeBand::Achieved as i32,
                    share_percent: "100".into(),
                    ..Default::default()
                },
                quant(G::Satisfaction, "受助对象满意度", "%", D::AtLeast, "90", satisfaction, "10"),
            ],
            executed_fen: 100_000_000,
            ..Default::default()
        }),
        evaluated_on: "2024-12-31".into(),
        ..Default::default()
    }
}

async fn accept(
    evaluations: &mut EvaluationServiceClient<Channel>,
    finance: &str,
    e: &pb::Evaluation,
) -> pb::Evaluation {
    evaluations
        .review_evaluation(authed(
            finance,
            pb::ReviewEvaluationRequest {
                evaluation_id: e.id.clone(),
                expected_version: e.version,
                decision: pb::ReviewDecision::Accept as i32,
                notes: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap()
}

/// The entries of `entity` in a service's audit log, as its auditor reads them.
async fn audit(addr: std::net::SocketAddr, region: &str, entity: &str) -> Vec<AuditEntry> {
    AuditLogServiceClient::new(channel(addr).await)
        .list_audit_entries(authed(
            &token(Role::Auditor, region),
            ListAuditEntriesRequest { entity: entity.into(), page_size: 100, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries
}

async fn year_on(backend: Backend) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(tracing_subscriber::EnvFilter::new("civic::call=info"))
        .with_writer(logs.clone())
        .finish();
    // tracing caches each log statement's interest for the whole process, and while exactly one
    // dispatcher exists it asks the default of whichever thread reaches the statement first: a
    // concurrent test's thread, which has none, would silence the statement here too. A second
    // dispatcher kept for the whole run makes tracing ask every dispatcher instead.
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
    // The test runs on one thread (current_thread), and so do the three servers it starts.
    let _logging = tracing::subscriber::set_default(subscriber);

    // land-supervision; social-assistance and budget-performance call each other, so
    // social-assistance's address is chosen first.
    let (ls_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let ls = land_supervision::start(settings(fresh_database(backend).await), async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let sa_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (bp_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start_with_peers(
        settings(fresh_database(backend).await),
        &format!("http://{sa_addr}"),
        &format!("http://{}", ls.grpc_addr),
        async move {
            let _ = rx.await;
        },
    )
    .await
    .unwrap();
    let (sa_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let sa = social_assistance::start_with_peers(
        Settings { listen_addr: sa_addr.to_string(), ..settings(fresh_database(backend).await) },
        social_assistance::recalc::RecalcSettings::from_env(),
        &format!("http://{}", bp.grpc_addr),
        async move {
            let _ = rx.await;
        },
    )
    .await
    .unwrap();

    let civil_city = token(Role::CivilAffairs, "210500");
    let finance_city = token(Role::Finance, "210500");
    let mut assistance = SocialAssistanceServiceClient::new(channel(sa.grpc_addr).await);
    let bp_channel = channel(bp.grpc_addr).await;
    let mut programmes = ProgrammeServiceClient::new(bp_channel.clone());
    let mut monitoring = MonitoringServiceClient::new(bp_channel.clone());
    let mut evaluations = EvaluationServiceClient::new(bp_channel.clone());

    // January. civil-affairs imports the roll: 平山区's H1 (three persons, 966 yuan a month) and
    // 溪湖区's H3 (one person, no income).
    let imported = assistance
        .import_roll(authed(
            &civil_city,
            apb::ImportRollRequest {
                region_code: "210500".into(),
                format: "csv".into(),
                content: ROLL.as_bytes().to_vec(),
                on_date: "2024-01-01".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(imported.stored, "{:?}", imported.errors);

    // The ex-ante check of raising 本溪's urban standard to 650 yuan: its estimate is twelve
    // months of what social-assistance's what-if says the roll would cost more.
    let raise = vec![StandardValue {
        key: "assistance.dibao.urban".into(),
        region_code: "210500".into(),
        value: "650".into(),
        clause: String::new(),
    }];
    let whatif = assistance
        .what_if(authed(
            &finance_city,
            apb::WhatIfRequest { region_code: "210500".into(), on_date: "2024-01-01".into(), proposed: raise.clone() },
        ))
        .await
        .unwrap()
        .into_inner()
        .total
        .unwrap();
    let extra_monthly = whatif.proposed_monthly_fen - whatif.current_monthly_fen;
    assert!(extra_monthly > 0, "{whatif:?}");
    let weights = ["20", "15", "15", "15", "10", "10", "15"];
    let ex_ante = BudgetPerformanceServiceClient::new(bp_channel.clone())
        .score_ex_ante(authed(
            &finance_city,
            pb::ScoreExAnteRequest {
                region_code: "210500".into(),
                on_date: "2024-01-01".into(),
                scores: (1..=7)
                    .map(|d| pb::ExAnteScore {
                        dimension: d,
                        weight: weights[(d - 1) as usize].into(),
                        points: "9".into(),
                        opinion: String::new(),
                    })
                    .collect(),
                rules_document: "事前绩效评估办法(示例)".into(),
                requested_fen: 12 * extra_monthly,
                standard_change: Some(pb::AssessStandardCostRequest {
                    region_code: "210500".into(),
                    on_date: "2024-01-01".into(),
                    proposed: raise,
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ex_ante.estimated_fen, 12 * extra_monthly);
    assert!(ex_ante.findings.is_empty(), "asked for exactly the estimate: {:?}", ex_ante.findings);
    assert!(!ex_ante.assistance_request_id.is_empty());

    // The two districts' 低保 programmes, with goals whose persons and money paid are read from
    // social-assistance; finance approves them.
    use pb::{ActualService as S, GoalGroup as G, IndicatorDirection as D};
    let dibao_goals = |persons: &str, paid: &str| {
        goals(
            sourced(
                indicator(G::Output, "保障人数", "人", D::AtLeast, persons, "20"),
                S::Assistance,
                "persons",
                "dibao",
                0,
            ),
            sourced(indicator(G::Cost, "发放金额", "元", D::AtMost, paid, "15"), S::Assistance, "paid", "dibao", 0),
        )
    };
    let mut district = Vec::new();
    for (region, code, unit, persons, paid) in [
        ("210502", "210502-2024-001", "平山区民政局", "3", "12000"),
        ("210503", "210503-2024-001", "溪湖区民政局", "1", "8000"),
    ] {
        let civil = token(Role::CivilAffairs, region);
        let p = programme(region, code, "城市低保资金", "civil-affairs", unit);
        district.push(approved(&mut programmes, &civil, &finance_city, p, dibao_goals(persons, paid)).await);
    }

    // January to June paid.
    let pay = |month: &'static str| RecordPaymentsRequest { region_code: "210500".into(), month: month.into() };
    for month in ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"] {
        assistance.record_payments(authed(&civil_city, pay(month))).await.unwrap();
    }

    // June: 平山区's checkpoint reads three persons and six months of 966 yuan; 30 % of the
    // budget paid at the half year is behind the year's time by more than the 10 points
    // tolerated, and the record says so.
    let civil_502 = token(Role::CivilAffairs, "210502");
    let clerk = pb::RecordedProgress {
        name: "保障人数".into(),
        likelihood: pb::Likelihood::Certain as i32,
        ..Default::default()
    };
    let june = monitoring
        .record_monitoring(authed(&civil_502, checkpoint(&district[0], "2024-06-30", vec![clerk], "")))
        .await
        .unwrap()
        .into_inner();
    let read = |r: &pb::RecordMonitoringResponse, name: &str| {
        r.indicators.iter().find(|i| i.name == name).map(|i| i.progress.clone()).unwrap_or_default()
    };
    assert_eq!((read(&june, "保障人数").as_str(), read(&june, "发放金额").as_str()), ("3", "5796"));
    let lag: Vec<&pb::Warning> = june.warnings.iter().filter(|w| w.rule_id == "budget.monitoring.lag").collect();
    assert_eq!(lag.len(), 1, "{:#?}", june.warnings);
    assert_eq!(lag[0].status, pb::WarningStatus::Open as i32);

    // Finance's own monitoring (双监控) of 驿城区's 城乡融合 programme, whose indicators come from
    // both other services: the 低保 persons from social-assistance (驿城区 has none on this roll),
    // the district's 亩均税收 mean from land-supervision's per-mu results and the 危污乱散低 area
    // verified in its campaign.
    let nr = token(Role::NaturalResources, "411702");
    let land = channel(ls.grpc_addr).await;
    per_mu_results(&land, &nr, "411702").await;
    campaign_march(&land, &nr).await;
    let finance_702 = token(Role::Finance, "411702");
    let mut both = goals(
        sourced(
            indicator(G::Output, "整治面积", "亩", D::AtLeast, "400", "20"),
            S::Land,
            "campaign:verified_area",
            "",
            2024,
        ),
        indicator(G::Cost, "整治成本", "万元", D::AtMost, "500", "15"),
    );
    both.overall = "兜底保障与低效用地整治并进".into();
    let months = both.indicators.iter_mut().find(|i| i.name == "按月足额发放月数").unwrap();
    *months = sourced(
        indicator(G::Output, "低保保障人数", "人", D::AtLeast, "3", "15"),
        S::Assistance,
        "persons",
        "dibao",
        0,
    );
    let rate = both.indicators.iter_mut().find(|i| i.name == "动态管理率").unwrap();
    *rate = sourced(
        indicator(G::Benefit, "亩均税收", "万元/亩", D::AtLeast, "20", "10"),
        S::Land,
        "mean:亩均税收",
        "2023 评价",
        2023,
    );
    let chain_programme = approved(
        &mut programmes,
        &finance_702,
        &token(Role::Finance, "411700"),
        programme("411702", "411702-2024-020", "城乡融合发展资金", "finance", "驿城区财政局"),
        both,
    )
    .await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let cost = pb::RecordedProgress { name: "整治成本".into(), progress: "120".into(), ..Default::default() };
    let mut ask = authed(&finance_702, checkpoint(&chain_programme, "2024-06-30", vec![cost], ""));
    ask.metadata_mut().insert("x-request-id", "chain-2024-06".parse().unwrap());
    ask.metadata_mut().insert("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01").parse().unwrap());
    let chained = monitoring.record_monitoring(ask).await.unwrap().into_inner();
    assert_eq!(
        (
            read(&chained, "低保保障人数").as_str(),
            read(&chained, "整治面积").as_str(),
            read(&chained, "亩均税收").as_str()
        ),
        ("0", "280", "21")
    );
    // One trace id and one request id in the three services' call logs, each callee naming the
    // person and the service that called on their behalf.
    let chain: Vec<serde_json::Value> =
        logs.lines().into_iter().filter(|l| l["request_id"] == "chain-2024-06" && l["trace_id"] == trace_id).collect();
    let methods: Vec<&str> = chain.iter().filter_map(|l| l["method"].as_str()).collect();
    for method in [
        "/civic.budget.v1.MonitoringService/RecordMonitoring",
        "/civic.assistance.v1.SocialAssistanceService/SummarizeAssistance",
        "/civic.land.v1.PerMuEvaluationService/SummarizePerMu",
        "/civic.land.v1.CampaignService/GetCampaignProgress",
    ] {
        assert!(methods.contains(&method), "{method} missing from {chain:#?}");
    }
    for line in &chain {
        let caller = line["caller"].as_str().unwrap_or_default();
        assert!(caller.contains("finance 411702"), "{line}");
        let served_by_budget = line["method"].as_str().is_some_and(|m| m.starts_with("/civic.budget."));
        assert_eq!(caller.ends_with("via budget-performance"), !served_by_budget, "{line}");
    }
    // Each callee's audit log names the person and budget-performance; budget-performance's
    // own entry names the person alone.
    for (addr, entity, action) in [
        (sa.grpc_addr, "assistance_summary", "assistance.summary.read_on_behalf"),
        (ls.grpc_addr, "per_mu_summary", "land.per_mu_summary.read_on_behalf"),
        (ls.grpc_addr, "campaign_progress", "land.campaign_progress.read_on_behalf"),
    ] {
        let entries: Vec<AuditEntry> =
            audit(addr, "411700", entity).await.into_iter().filter(|e| e.request_id == "chain-2024-06").collect();
        assert_eq!(entries.len(), 1, "{entity}: {entries:#?}");
        let e = &entries[0];
        assert_eq!(
            (e.action.as_str(), e.actor_role.as_str(), e.actor_region.as_str(), e.via_service.as_str()),
            (action, "finance", "411702", "budget-performance")
        );
    }
    let recorded: Vec<AuditEntry> =
        audit(bp.grpc_addr, "411700", "").await.into_iter().filter(|e| e.request_id == "chain-2024-06").collect();
    assert!(!recorded.is_empty());
    assert!(recorded.iter().all(|e| e.actor_role == "finance" && e.via_service.is_empty()), "{recorded:#?}");
    // A direct read is the person's alone and leaves no entry.
    let direct = audit(sa.grpc_addr, "210500", "assistance_summary").await.len();
    assistance
        .summarize_assistance(authed(
            &finance_city,
            apb::SummarizeAssistanceRequest {
                region_code: "210500".into(),
                from_month: "2024-01".into(),
                to_month: "2024-06".into(),
            },
        ))
        .await
        .unwrap();
    assert_eq!(audit(sa.grpc_addr, "210500", "assistance_summary").await.len(), direct);

    // July to December paid; the year-end self-evaluations read persons and money again
    // (平山区: 12 × 966 yuan), and finance accepts them.
    for month in ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"] {
        assistance.record_payments(authed(&civil_city, pay(month))).await.unwrap();
    }
    let mut finals = Vec::new();
    for (i, (region, unit, figures)) in
        [("210502", "平山区民政局", ["3", "12000", "95"]), ("210503", "溪湖区民政局", ["1", "8000", "80"])]
            .into_iter()
            .enumerate()
    {
        let submitted = evaluations
            .submit_evaluation(authed(&token(Role::CivilAffairs, region), self_evaluation(&district[i], unit, figures)))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        finals.push(accept(&mut evaluations, &finance_city, &submitted).await);
    }
    let paid_502 = finals[0].actuals.iter().find(|a| a.indicator == "发放金额").unwrap().provenance.clone().unwrap();
    assert_eq!((paid_502.value.as_str(), paid_502.as_of.as_str()), ("11592", "2024-01..2024-12"));
    assert_eq!(finals[0].status, pb::EvaluationStatus::Final as i32);
    let (score_502, score_503) = (finals[0].total.clone(), finals[1].total.clone());
    // 平山区 meets every target; 溪湖区's satisfaction (80 % of 90) does not.
    assert_eq!(score_502, "100.00");
    assert_ne!(score_503, score_502);

    // The city splits its subsidy: half by workload (equal here), half by 工作绩效, the
    // districts' FINAL scores fetched from budget-performance.
    let split = |pot_fen: i64| apb::SplitCitySubsidyRequest {
        region_code: "210500".into(),
        pot_fen,
        factors: vec![
            apb::SubsidyFactor {
                name: "保障任务".into(),
                weight: "0.5".into(),
                direction: apb::FactorDirection::MoreGetsMore as i32,
                ..Default::default()
            },
            apb::SubsidyFactor {
                name: "工作绩效".into(),
                weight: "0.5".into(),
                direction: apb::FactorDirection::MoreGetsMore as i32,
                source: apb::FactorSource::BudgetScores as i32,
                category: "assistance".into(),
                year: 2024,
            },
        ],
        counties: ["210502", "210503"]
            .iter()
            .map(|c| apb::CountyFactorValues { region_code: (*c).into(), values: vec!["1".into(), String::new()] })
            .collect(),
    };
    let amounts = |r: &apb::SplitCitySubsidyResponse| -> Vec<i64> { r.counties.iter().map(|c| c.amount_fen).collect() };
    let before = assistance.split_city_subsidy(authed(&finance_city, split(10_000_000))).await.unwrap().into_inner();
    let first = amounts(&before);
    assert_eq!(first.iter().sum::<i64>(), 10_000_000);
    assert!(first[0] > first[1], "{first:?}");
    let steps = before.explanation.unwrap().steps;
    let provenance = steps.iter().find(|s| s.rule_id == "subsidy.performance_from_budget").unwrap();
    assert!(provenance.formula.contains(&format!("210502 平山区: {score_502}")), "{}", provenance.formula);
    // budget-performance's audit names the finance officer and social-assistance.
    let scores_read = audit(bp.grpc_addr, "210500", "region_scores").await;
    assert!(
        scores_read.iter().any(|e| e.via_service == "social-assistance" && e.actor_role == "finance"),
        "{scores_read:#?}"
    );

    // Finance re-evaluates 平山区's programme at 70.00 and accepts it: the FINAL re-evaluation
    // outranks the self-evaluation, and the split follows.
    let parts = [("决策", 1, "15", "10"), ("过程", 2, "20", "14"), ("产出", 3, "35", "25"), ("效益", 4, "30", "21")]
        .iter()
        .map(|(name, d, w, s)| pb::FrameworkPart {
            dimension: *d,
            name: (*name).into(),
            weight: (*w).into(),
            score: (*s).into(),
            ..Default::default()
        })
        .collect();
    let re = evaluations
        .submit_evaluation(authed(
            &finance_city,
            pb::SubmitEvaluationRequest {
                programme_id: district[0].clone(),
                kind: pb::EvaluationKind::ReEvaluation as i32,
                category: "assistance".into(),
                evaluator: "本溪市财政局".into(),
                parts,
                evaluated_on: "2025-03-31".into(),
                supersedes: finals[0].id.clone(),
                report_ref: "本财绩〔2025〕2号".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    assert_eq!(re.total, "70.00");
    accept(&mut evaluations, &finance_city, &re).await;
    let after = assistance.split_city_subsidy(authed(&finance_city, split(10_000_000))).await.unwrap().into_inner();
    let second = amounts(&after);
    assert_eq!(second.iter().sum::<i64>(), 10_000_000);
    assert!(second[0] < first[0] && second[1] > first[1], "{first:?} → {second:?}");
    let steps = after.explanation.unwrap().steps;
    let provenance = steps.iter().find(|s| s.rule_id == "subsidy.performance_from_budget").unwrap();
    assert!(provenance.formula.contains("210502 平山区: 70.00"), "{}", provenance.formula);

    for (stop, running) in [(bp_stop, bp), (sa_stop, sa), (ls_stop, ls)] {
        let _ = stop.send(());
        running.wait().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn one_year_across_the_three_services_on_sqlite() {
    year_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "current_thread")]
async fn one_year_across_the_three_services_on_postgres() {
    year_on(Backend::Postgres).await;
}
