//! budget-performance from outside: `n` programmes imported, their goals approved, one
//! checkpoint's figures imported for all of them with warnings computed, the warnings paged
//! through, and the self-evaluation scorer under load beside the service's own health check.

use std::time::{Duration, Instant};

use civic_proto::budget::v1::{
    self as pb, evaluation_service_client::EvaluationServiceClient, monitoring_service_client::MonitoringServiceClient,
    programme_service_client::ProgrammeServiceClient,
};
use civic_runtime::identity::{Role, TokenKey, DEVELOPMENT_SIGNING_KEY};
use tonic::transport::Channel;

use crate::{authed, connect, fail, percentile, MAX_MESSAGE};

const COUNTIES: [&str; 10] =
    ["411702", "411721", "411722", "411723", "411724", "411725", "411726", "411727", "411728", "411729"];

fn finance() -> String {
    let key = std::env::var("CIVIC_SIGNING_KEY").unwrap_or_else(|_| DEVELOPMENT_SIGNING_KEY.to_string());
    let region = civic_domain::RegionCode::parse("411700").unwrap_or(civic_domain::RegionCode::NATIONAL);
    TokenKey::new(&key).mint("bench", Role::Finance, region, chrono::Duration::hours(4))
}

fn goals() -> pb::Goals {
    let ind = |group: pb::GoalGroup, name: &str, unit: &str, d: pb::IndicatorDirection, target: &str, points: &str| {
        pb::GoalIndicator {
            group: group as i32,
            name: name.into(),
            unit: unit.into(),
            direction: d as i32,
            target: target.into(),
            points: points.into(),
            ..Default::default()
        }
    };
    use pb::{GoalGroup as G, IndicatorDirection as D};
    pb::Goals {
        overall: "保障基本生活".into(),
        indicators: vec![
            ind(G::Output, "保障人数", "人", D::AtLeast, "12000", "35"),
            ind(G::Cost, "人均年补助支出", "元", D::AtMost, "6900", "15"),
            ind(G::Benefit, "困难群众基本生活得到保障", "", D::Qualitative, "达成", "30"),
            ind(G::Satisfaction, "受助对象满意度", "%", D::AtLeast, "90", "10"),
        ],
    }
}

pub fn self_evaluation() -> pb::ScoreSelfEvaluationRequest {
    use pb::{IndicatorDirection as D, IndicatorGroup as G};
    let q = |g: G, name: &str, unit: &str, d: D, t: &str, a: &str, p: &str| pb::SelfEvaluationIndicator {
        group: g as i32,
        name: name.into(),
        unit: unit.into(),
        direction: d as i32,
        target: t.into(),
        actual: a.into(),
        points: p.into(),
        ..Default::default()
    };
    pb::ScoreSelfEvaluationRequest {
        region_code: "411721".into(),
        on_date: "2024-03-31".into(),
        indicators: vec![
            q(G::Output, "保障人数", "人", D::AtLeast, "12000", "11400", "20"),
            q(G::Output, "按月足额发放月数", "月", D::AtLeast, "12", "11", "15"),
            q(G::Output, "人均年补助支出", "元", D::AtMost, "6900", "7245", "15"),
            pb::SelfEvaluationIndicator {
                group: G::Benefit as i32,
                name: "困难群众基本生活得到保障".into(),
                direction: D::Qualitative as i32,
                band: pb::QualitativeBand::Partial as i32,
                share_percent: "70".into(),
                points: "20".into(),
                ..Default::default()
            },
            q(G::Benefit, "动态管理率", "%", D::AtLeast, "95", "97", "10"),
            q(G::Satisfaction, "受助对象满意度", "%", D::AtLeast, "90", "86", "10"),
        ],
        budget_fen: 800_000_000,
        executed_fen: 765_000_000,
        weights: None,
        deviation_reason: String::new(),
        explanation_view: 0,
    }
}

/// `setup`: the programmes imported and their goals approved; `measure`: the checkpoint
/// imported and its warnings paged through (a database can settle in between).
pub async fn run(addr: &str, n: usize, setup: bool, measure: bool) {
    let ch = connect(addr).await;
    let tok = finance();
    if setup {
        self::setup(&ch, &tok, n).await;
    }
    if measure {
        self::measure(&ch, &tok, n).await;
    }
}

async fn setup(ch: &Channel, tok: &str, n: usize) {
    let mut programmes = ProgrammeServiceClient::new(ch.clone())
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let mut csv = String::from("region_code,budget_year,code,name,kind,budget_kind,object_kind,owner_role,owner_unit,responsible_person,adjusted_budget_yuan\n");
    for i in 0..n {
        let region = COUNTIES[i % COUNTIES.len()];
        csv.push_str(&format!(
            "{region},2024,P{i:06},城乡低保资金{i},POLICY,GENERAL_PUBLIC,NONE,civil-affairs,民政局,李明,5000000\n"
        ));
    }
    let t = Instant::now();
    let r = match programmes
        .import_programmes(authed(
            tok,
            pb::ImportProgrammesRequest {
                region_code: "411700".into(),
                format: "csv".into(),
                content: csv.into_bytes(),
                reason: "bench".into(),
            },
        ))
        .await
    {
        Ok(r) => r.into_inner(),
        Err(e) => fail(&format!("ImportProgrammes: {e}")),
    };
    if !r.stored {
        fail(&format!("ImportProgrammes refused: {:?}", r.errors.first()));
    }
    println!("ImportProgrammes {n}: {:.2} s", t.elapsed().as_secs_f64());

    // Approve the goals of every programme (setup, over gRPC, 32 callers).
    let mut ids = Vec::with_capacity(n);
    for region in COUNTIES {
        let mut token = String::new();
        loop {
            let page = match programmes
                .list_programmes(authed(
                    tok,
                    pb::ListProgrammesRequest {
                        region_code: region.into(),
                        budget_year: 2024,
                        page_size: 1000,
                        page_token: token.clone(),
                    },
                ))
                .await
            {
                Ok(r) => r.into_inner(),
                Err(e) => fail(&format!("ListProgrammes: {e}")),
            };
            ids.extend(page.programmes.into_iter().map(|p| p.id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
    }
    let t = Instant::now();
    let chunks: Vec<Vec<String>> = ids.chunks(ids.len().div_ceil(32).max(1)).map(|c| c.to_vec()).collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (ch, tok) = (ch.clone(), tok.to_string());
        tasks.push(tokio::spawn(async move {
            let mut c = ProgrammeServiceClient::new(ch);
            for id in chunk {
                let submit =
                    pb::SubmitGoalsRequest { programme_id: id.clone(), expected_version: 0, goals: Some(goals()) };
                if let Err(e) = c.submit_goals(authed(&tok, submit)).await {
                    fail(&format!("SubmitGoals: {e}"));
                }
                let review = pb::ReviewGoalsRequest {
                    programme_id: id,
                    version: 1,
                    grade: pb::GoalReviewGrade::Excellent as i32,
                    opinion: String::new(),
                };
                if let Err(e) = c.review_goals(authed(&tok, review)).await {
                    fail(&format!("ReviewGoals: {e}"));
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!("goals submitted and approved for {} programmes (setup): {:.1} s", ids.len(), t.elapsed().as_secs_f64());
}

async fn measure(ch: &Channel, tok: &str, n: usize) {
    // One checkpoint for all of them: 38 % spent at the end of June.
    let mut csv = String::from("region_code,programme_code,arrived_yuan,paid_yuan,spent_yuan,progress:保障人数\n");
    for i in 0..n {
        csv.push_str(&format!("{},P{i:06},3000000,2500000,1900000,6600\n", COUNTIES[i % COUNTIES.len()]));
    }
    let mut monitoring = MonitoringServiceClient::new(ch.clone())
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let rules = pb::MonitoringRules {
        lag_tolerance_points: "10".into(),
        schedule: vec![pb::MonthSchedule { month: 6, min_percent: "40".into() }],
        divergence_points: "10".into(),
        document: "bench".into(),
        clause: String::new(),
    };
    let t = Instant::now();
    let r = match monitoring
        .import_monitoring(authed(
            tok,
            pb::ImportMonitoringRequest {
                region_code: "411700".into(),
                as_of: "2024-06-30".into(),
                format: "csv".into(),
                content: csv.into_bytes(),
                rules: Some(rules),
                correction_reason: String::new(),
            },
        ))
        .await
    {
        Ok(r) => r.into_inner(),
        Err(e) => fail(&format!("ImportMonitoring: {e}")),
    };
    if !r.stored {
        fail(&format!("ImportMonitoring refused: {:?}", r.errors.first()));
    }
    println!("ImportMonitoring {} programmes, {} warnings: {:.2} s", r.records, r.warnings, t.elapsed().as_secs_f64());

    // Page through the warnings, 100 a page: right after the import (the database still
    // writing it out), and again.
    for pass in ["right after the import", "again"] {
        list_pass(&mut monitoring, tok, pass).await;
    }
}

async fn list_pass(monitoring: &mut MonitoringServiceClient<Channel>, tok: &str, pass: &str) {
    let mut lat = Vec::new();
    let mut token = String::new();
    let mut total = 0usize;
    loop {
        let t = Instant::now();
        let page = match monitoring
            .list_warnings(authed(
                tok,
                pb::ListWarningsRequest {
                    region_code: "411700".into(),
                    as_of: "2024-06-30".into(),
                    page_size: 100,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
        {
            Ok(r) => r.into_inner(),
            Err(e) => fail(&format!("ListWarnings: {e}")),
        };
        lat.push(t.elapsed().as_micros() as u32);
        total += page.warnings.len();
        if page.next_page_token.is_empty() || lat.len() >= 2000 {
            break;
        }
        token = page.next_page_token;
    }
    let mut slowest: Vec<(u32, usize)> = lat.iter().copied().zip(1..).collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    let tail: Vec<String> =
        slowest.iter().take(5).map(|(us, page)| format!("#{page} {:.1}", *us as f64 / 1e3)).collect();
    lat.sort_unstable();
    println!(
        "ListWarnings {pass}, 100 a page: {} pages ({} warnings), p50 {:.1} ms, p99 {:.1} ms (slowest pages: {})",
        lat.len(),
        total,
        percentile(&lat, 0.5) as f64 / 1e3,
        percentile(&lat, 0.99) as f64 / 1e3,
        tail.join(", ")
    );
}

/// The self-evaluation scorer with the explanation `view` (or, with `None`, the health check)
/// called by `connections` × `streams` callers for `seconds`: calls per second, p50 and p99 in
/// microseconds, errors.
pub async fn load(
    addr: &str,
    seconds: u64,
    connections: usize,
    streams: usize,
    view: Option<civic_proto::common::v1::ExplanationView>,
) -> (f64, u32, u32, u64) {
    let tok = finance();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let ch: Channel = connect(addr).await;
        for _ in 0..streams {
            let (ch, tok) = (ch.clone(), tok.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                let mut e = EvaluationServiceClient::new(ch.clone());
                let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
                let req = pb::ScoreSelfEvaluationRequest {
                    explanation_view: view.map_or(0, |v| v as i32),
                    ..self_evaluation()
                };
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = if view.is_some() {
                        e.score_self_evaluation(authed(&tok, req.clone())).await.is_ok()
                    } else {
                        health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.is_ok()
                    };
                    if !ok {
                        errors += 1;
                    }
                    lat.push(t.elapsed().as_micros() as u32);
                }
                (lat, errors)
            }));
        }
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    all.sort_unstable();
    (all.len() as f64 / seconds as f64, percentile(&all, 0.5), percentile(&all, 0.99), errors)
}
