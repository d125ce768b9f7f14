//! civic-bench: measures the social-assistance service from outside, over gRPC, as a client
//! would. See BENCHMARKS.md for the procedure and the figures.
//!
//! ```text
//! civic-bench generate <households> <seed> <file.csv>
//! civic-bench import   <addr> <file.csv> <on_date> [stream]  # ImportRoll of the whole file
//!                                                          # (stream: ImportRollStream, 1 MB pieces)
//! civic-bench pay      <addr> <month>                     # RecordPayments for a month
//! civic-bench recalc   <addr> <effective_from>            # StartRecalculation, until completed
//! civic-bench whatif   <addr> <on_date> <runs>            # WhatIf urban 低保 650, server time
//! civic-bench load     <addr> <seconds> <connections> <streams>
//! civic-bench land     <addr> <count> <runs>               # per-mu evaluation and low-efficiency
//!                                                          # classification of <count> enterprises/parcels
//! civic-bench budget   <addr> <programmes> [all|setup|measure]  # budget-performance: programmes and
//!                                                          # goals (setup); one checkpoint imported,
//!                                                          # warnings paged twice (measure)
//! civic-bench budget-load <addr> <seconds> <connections> <streams>  # ScoreSelfEvaluation (full and basic explanation) beside health
//! civic-bench hello  <listen-addr>                         # a bare tonic server (Health/Check), for compare.sh
//! civic-bench frame  <health|benefit|self-evaluation> <file>  # a gRPC request body for h2load -d
//! civic-bench token                                        # the administrator token the load uses
//! civic-bench kernel <file.csv> <runs>                     # the plain 低保 kernel over the roll
//! ```
//! `addr` is like http://127.0.0.1:50053. Tokens are minted with CIVIC_SIGNING_KEY (or the
//! development key) as an administrator of 210500.
//!
//! (About 550 lines: one short subcommand per measurement of BENCHMARKS.md, dispatched from one
//! match; the comparative and budget parts are in their own files.)
#![forbid(unsafe_code)]

mod budget;
mod compare;

use std::time::{Duration, Instant};

use civic_proto::assistance::v1::{self as pb, social_assistance_service_client::SocialAssistanceServiceClient};
use civic_runtime::identity::{Role, TokenKey, DEVELOPMENT_SIGNING_KEY};
use tonic::transport::Channel;

const MAX_MESSAGE: usize = 1 << 30;

fn usage() -> ! {
    eprintln!("usage: see the top of bench/src/main.rs or BENCHMARKS.md");
    std::process::exit(2)
}

fn token() -> String {
    let key = std::env::var("CIVIC_SIGNING_KEY").unwrap_or_else(|_| DEVELOPMENT_SIGNING_KEY.to_string());
    let region = civic_domain::RegionCode::parse("210500").unwrap_or(civic_domain::RegionCode::NATIONAL);
    TokenKey::new(&key).mint("bench", Role::Admin, region, chrono::Duration::hours(4))
}

fn authed<T>(token: &str, m: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(m);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    r
}

async fn connect(addr: &str) -> Channel {
    match tonic::transport::Endpoint::from_shared(addr.to_string()) {
        Ok(e) => match e.connect().await {
            Ok(c) => c,
            Err(err) => fail(&format!("cannot connect to {addr}: {err}")),
        },
        Err(err) => fail(&format!("bad address {addr}: {err}")),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("civic-bench: {msg}");
    std::process::exit(1)
}

async fn client(addr: &str) -> SocialAssistanceServiceClient<Channel> {
    SocialAssistanceServiceClient::new(connect(addr).await)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

fn household() -> pb::Household {
    pb::Household {
        id: "bench".into(),
        region_code: "210502".into(),
        residence: pb::Residence::Urban as i32,
        members: vec![
            pb::Member {
                age: 45,
                has_income_proof: true,
                incomes: vec![pb::IncomeItem { kind: "wage".into(), monthly_fen: 90_000 }],
                ..Default::default()
            },
            pb::Member { age: 43, has_income_proof: true, ..Default::default() },
            pb::Member { age: 12, has_income_proof: true, ..Default::default() },
        ],
    }
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// `connections` HTTP/2 connections × `streams` concurrent callers each, for `seconds`.
async fn load(addr: &str, seconds: u64, connections: usize, streams: usize, benefit: bool) -> (f64, u32, u32, u64) {
    let tok = token();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let ch = connect(addr).await;
        for _ in 0..streams {
            let ch = ch.clone();
            let tok = tok.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                let mut sa = SocialAssistanceServiceClient::new(ch.clone());
                let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = if benefit {
                        sa.compute_household_benefit(authed(
                            &tok,
                            pb::ComputeHouseholdBenefitRequest {
                                household: Some(household()),
                                on_date: "2019-07-15".into(),
                            },
                        ))
                        .await
                        .is_ok()
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
    let rps = all.len() as f64 / seconds as f64;
    (rps, percentile(&all, 0.5), percentile(&all, 0.99), errors)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    match args.first().map(String::as_str) {
        Some("generate") => {
            let n: usize = arg(1).parse().unwrap_or_else(|_| usage());
            let seed: u64 = arg(2).parse().unwrap_or_else(|_| usage());
            let mut out = String::new();
            social_assistance::synthetic::roll_csv(n, seed, &mut out);
            let rows = out.lines().count() - 1;
            if let Err(e) = std::fs::write(arg(3), out) {
                fail(&e.to_string());
            }
            println!("{n} households, {rows} persons, written to {}", arg(3));
        }
        Some("import") => {
            let content = std::fs::read(arg(2)).unwrap_or_else(|e| fail(&e.to_string()));
            let mut c = client(&arg(1)).await;
            let t = Instant::now();
            let r = if args.get(4).map(String::as_str) == Some("stream") {
                // The file in 1 MB pieces, as a client sends a large roll.
                let pieces: Vec<pb::ImportRollStreamRequest> = content
                    .chunks(1 << 20)
                    .enumerate()
                    .map(|(i, piece)| pb::ImportRollStreamRequest {
                        region_code: if i == 0 { "210500".into() } else { String::new() },
                        format: if i == 0 { "csv".into() } else { String::new() },
                        content: piece.to_vec(),
                        on_date: if i == 0 { arg(3) } else { String::new() },
                        reason: if i == 0 { "benchmark".into() } else { String::new() },
                        dry_run: false,
                    })
                    .collect();
                drop(content);
                let r = c
                    .import_roll_stream(authed(&token(), tokio_stream::iter(pieces)))
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()))
                    .into_inner();
                (r.households, r.members, r.errors)
            } else {
                let r = c
                    .import_roll(authed(
                        &token(),
                        pb::ImportRollRequest {
                            region_code: "210500".into(),
                            format: "csv".into(),
                            content,
                            on_date: arg(3),
                            reason: "benchmark".into(),
                            dry_run: false,
                        },
                    ))
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()))
                    .into_inner();
                (r.households, r.members, r.errors)
            };
            let (households, members, errors) = r;
            if !errors.is_empty() {
                fail(&format!("{} row errors, first: {:?}", errors.len(), errors.first()));
            }
            println!("import: {households} households, {members} persons stored in {:.2} s", t.elapsed().as_secs_f64());
        }
        Some("export") => {
            // The roll of 210500 as CSV in pieces, counted, not kept.
            let mut c = client(&arg(1)).await;
            let t = Instant::now();
            let mut stream = c
                .export_roll_stream(authed(
                    &token(),
                    pb::ExportRollStreamRequest { region_code: "210500".into(), format: "csv".into() },
                ))
                .await
                .unwrap_or_else(|e| fail(&e.to_string()))
                .into_inner();
            let (mut bytes, mut pieces, mut households) = (0usize, 0usize, 0i64);
            while let Some(piece) = stream.message().await.unwrap_or_else(|e| fail(&e.to_string())) {
                households = households.max(piece.households);
                bytes += piece.content.len();
                pieces += 1;
            }
            println!(
                "export: {households} households, {:.1} MB in {pieces} pieces in {:.2} s",
                bytes as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
        }
        Some("pay") => {
            let mut c = client(&arg(1)).await;
            let t = Instant::now();
            let r = c
                .record_payments(authed(
                    &token(),
                    pb::RecordPaymentsRequest { region_code: "210500".into(), month: arg(2) },
                ))
                .await
                .unwrap_or_else(|e| fail(&e.to_string()))
                .into_inner();
            println!(
                "pay {}: {} households paid, {} yuan, in {:.2} s",
                arg(2),
                r.paid,
                r.total_fen / 100,
                t.elapsed().as_secs_f64()
            );
        }
        Some("recalc") => {
            let mut c = client(&arg(1)).await;
            let tok = token();
            let t = Instant::now();
            let job = c
                .start_recalculation(authed(
                    &tok,
                    pb::StartRecalculationRequest {
                        region_code: "210500".into(),
                        effective_from: arg(2),
                        reason: "benchmark".into(),
                    },
                ))
                .await
                .unwrap_or_else(|e| fail(&e.to_string()))
                .into_inner()
                .job
                .unwrap_or_else(|| fail("the answer holds no job"));
            loop {
                let j = c
                    .get_recalculation(authed(&tok, pb::GetRecalculationRequest { job_id: job.job_id.clone() }))
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()))
                    .into_inner()
                    .job
                    .unwrap_or_else(|| fail("the answer holds no job"));
                if j.state != pb::JobState::Running as i32 {
                    println!(
                        "recalc: {} of {} households examined, {} cases, state {}, difference {} yuan/month, back pay {} yuan, in {:.2} s",
                        j.done,
                        j.total,
                        j.cases,
                        j.state,
                        j.difference_fen / 100,
                        j.back_pay_fen / 100,
                        t.elapsed().as_secs_f64()
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Some("whatif") => {
            let mut c = client(&arg(1)).await;
            let runs: usize = arg(3).parse().unwrap_or_else(|_| usage());
            let tok = token();
            let mut server = Vec::new();
            for i in 0..runs {
                let t = Instant::now();
                let r = c
                    .what_if(authed(
                        &tok,
                        pb::WhatIfRequest {
                            region_code: "210500".into(),
                            on_date: arg(2),
                            proposed: vec![pb::StandardValue {
                                key: "assistance.dibao.urban".into(),
                                region_code: "210500".into(),
                                value: "650".into(),
                                clause: String::new(),
                            }],
                        },
                    ))
                    .await
                    .unwrap_or_else(|e| fail(&e.to_string()))
                    .into_inner();
                let total = r.total.unwrap_or_default();
                println!(
                    "whatif #{i}: {} households, server compute {:.3} s, round trip {:.3} s, difference {} yuan/month, gaining {}, newly eligible {}",
                    r.households_computed,
                    r.compute_micros as f64 / 1e6,
                    t.elapsed().as_secs_f64(),
                    total.difference_monthly_fen / 100,
                    total.gaining,
                    total.newly_eligible
                );
                if i > 0 {
                    server.push(r.compute_micros);
                }
            }
            server.sort_unstable();
            if let Some(m) = server.get(server.len() / 2) {
                println!("whatif: median server compute over warm runs {:.3} s", *m as f64 / 1e6);
            }
        }
        Some("load") => {
            let addr = arg(1);
            let seconds: u64 = arg(2).parse().unwrap_or_else(|_| usage());
            let conns: usize = arg(3).parse().unwrap_or_else(|_| usage());
            let streams: usize = arg(4).parse().unwrap_or_else(|_| usage());
            let (h_rps, h50, h99, he) = load(&addr, seconds, conns, streams, false).await;
            println!(
                "health:  {h_rps:.0} calls/s, p50 {:.2} ms, p99 {:.2} ms, errors {he}",
                h50 as f64 / 1e3,
                h99 as f64 / 1e3
            );
            let (b_rps, b50, b99, be) = load(&addr, seconds, conns, streams, true).await;
            println!(
                "benefit: {b_rps:.0} calls/s, p50 {:.2} ms, p99 {:.2} ms, errors {be}",
                b50 as f64 / 1e3,
                b99 as f64 / 1e3
            );
            println!("benefit/health throughput: {:.0} %", 100.0 * b_rps / h_rps.max(1.0));
        }
        Some("budget") => {
            let n: usize = arg(2).parse().unwrap_or_else(|_| usage());
            let phase = std::env::args().nth(4).unwrap_or_else(|| "all".into());
            let (setup, measure) = match phase.as_str() {
                "all" => (true, true),
                "setup" => (true, false),
                "measure" => (false, true),
                _ => usage(),
            };
            budget::run(&arg(1), n, setup, measure).await;
        }
        Some("budget-load") => {
            let addr = arg(1);
            let seconds: u64 = arg(2).parse().unwrap_or_else(|_| usage());
            let conns: usize = arg(3).parse().unwrap_or_else(|_| usage());
            let streams: usize = arg(4).parse().unwrap_or_else(|_| usage());
            let (h_rps, h50, h99, he) = budget::load(&addr, seconds, conns, streams, None).await;
            println!(
                "health:  {h_rps:.0} calls/s, p50 {:.2} ms, p99 {:.2} ms, errors {he}",
                h50 as f64 / 1e3,
                h99 as f64 / 1e3
            );
            use civic_proto::common::v1::ExplanationView as V;
            for (view, name) in [(V::Full, "full"), (V::Basic, "basic")] {
                let (s_rps, s50, s99, se) = budget::load(&addr, seconds, conns, streams, Some(view)).await;
                println!(
                    "ScoreSelfEvaluation ({name} explanation): {s_rps:.0} calls/s, p50 {:.2} ms, p99 {:.2} ms, errors {se}",
                    s50 as f64 / 1e3,
                    s99 as f64 / 1e3
                );
                println!(
                    "ScoreSelfEvaluation ({name} explanation)/health throughput: {:.0} %",
                    100.0 * s_rps / h_rps.max(1.0)
                );
            }
        }
        Some("land") => {
            let addr = arg(1);
            let n: usize = arg(2).parse().unwrap_or_else(|_| usage());
            let runs: usize = arg(3).parse().unwrap_or_else(|_| usage());
            land(&addr, n, runs).await;
        }
        Some("hello") => {
            if let Err(e) = compare::hello(&arg(1)).await {
                fail(&e);
            }
        }
        Some("frame") => {
            let body = match arg(1).as_str() {
                "health" => compare::frame(&tonic_health::pb::HealthCheckRequest { service: String::new() }),
                "benefit" => compare::frame(&pb::ComputeHouseholdBenefitRequest {
                    household: Some(household()),
                    on_date: "2019-07-15".into(),
                }),
                "self-evaluation" => compare::frame(&budget::self_evaluation()),
                _ => usage(),
            };
            if let Err(e) = std::fs::write(arg(2), body) {
                fail(&e.to_string());
            }
        }
        Some("token") => println!("{}", token()),
        Some("kernel") => {
            let runs: usize = arg(2).parse().unwrap_or_else(|_| usage());
            if let Err(e) = compare::kernel(&arg(1), runs.max(1)) {
                fail(&e);
            }
        }
        _ => usage(),
    }
}

/// Per-mu evaluation of `n` enterprises (黄岩 2022 scheme: their figures imported as one CSV, then
/// the stored figures evaluated) and low-efficiency classification of `n` parcels (in calls of
/// 10,000, as a call's request stops at 1 MiB), each `runs` times; prints the server's own
/// compute time and the round trip.
async fn land(addr: &str, n: usize, runs: usize) {
    use civic_proto::land::v1::{
        self as lpb, land_supervision_service_client::LandSupervisionServiceClient,
        per_mu_evaluation_service_client::PerMuEvaluationServiceClient,
    };
    let channel = connect(addr).await;
    let mut per_mu = PerMuEvaluationServiceClient::new(channel.clone())
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let mut c = LandSupervisionServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let tok = {
        let key = std::env::var("CIVIC_SIGNING_KEY").unwrap_or_else(|_| DEVELOPMENT_SIGNING_KEY.to_string());
        let region = civic_domain::RegionCode::parse("411700").unwrap_or(civic_domain::RegionCode::NATIONAL);
        TokenKey::new(&key).mint("bench", Role::NaturalResources, region, chrono::Duration::hours(1))
    };
    let mut rng = social_assistance::synthetic::Rng::new(7);
    let ind = |name: &str, b: &str, w: &str| lpb::PerMuIndicator {
        name: name.into(),
        benchmark: b.into(),
        weight: w.into(),
        higher_is_better: true,
        missing: lpb::MissingValue::AverageScore as i32,
    };
    let scheme = lpb::PerMuScheme {
        name: "黄岩区 2022".into(),
        document: String::new(),
        indicators: vec![
            ind("亩均税收", "24.097", "30"),
            ind("亩均增加值", "136.16", "20"),
            ind("单位能耗增加值", "2.694", "20"),
            ind("单位排放增加值", "4929.81", "10"),
            ind("全员劳动生产率", "18.14", "10"),
            ind("研发经费支出占比", "0.0302", "10"),
        ],
        classing: Some(lpb::per_mu_scheme::Classing::RankShares(lpb::RankShares {
            a: "0.2".into(),
            b: "0.6".into(),
            c: "0.95".into(),
        })),
    };
    let mut csv = String::from("enterprise_id,enterprise_name,region_code");
    for i in &scheme.indicators {
        csv.push(',');
        csv.push_str(&i.name);
    }
    csv.push('\n');
    for i in 0..n {
        csv.push_str(&format!(
            "E{i:07},企业{i},411702,{}.{},{}.{},{}.{},{},{}.{},0.0{}\n",
            rng.below(60),
            rng.below(1000),
            rng.below(300),
            rng.below(100),
            rng.below(6),
            rng.below(1000),
            if rng.below(10) == 0 { String::new() } else { format!("{}", rng.below(10000)) },
            rng.below(40),
            rng.below(100),
            rng.below(700)
        ));
    }
    let t = Instant::now();
    let import = lpb::ImportEnterpriseFiguresRequest {
        region_code: "411702".into(),
        year: 2022,
        format: "csv".into(),
        content: csv.into_bytes(),
        dry_run: false,
        reason: "benchmark".into(),
    };
    match per_mu.import_enterprise_figures(authed(&tok, import)).await {
        Ok(r) if r.get_ref().stored => {
            println!(
                "per-mu figures: {} enterprises imported in {:.3} s",
                r.get_ref().enterprises,
                t.elapsed().as_secs_f64()
            )
        }
        Ok(r) => fail(&format!("figures not stored: {:?}", r.get_ref().errors.first())),
        Err(e) => fail(&e.to_string()),
    }
    let req = lpb::EvaluateStoredPerMuRequest {
        region_code: "411702".into(),
        year: 2022,
        scheme: Some(scheme),
        store_results: false,
    };
    for i in 0..runs {
        let t = Instant::now();
        match per_mu.evaluate_stored_per_mu(authed(&tok, req.clone())).await {
            Ok(r) => {
                let r = r.into_inner();
                println!(
                    "per-mu #{i}: {n} enterprises, server compute {:.3} s, round trip {:.3} s, classes {:?}",
                    r.compute_micros as f64 / 1e6,
                    t.elapsed().as_secs_f64(),
                    r.by_class
                );
            }
            Err(e) => fail(&e.to_string()),
        }
    }
    let parcels: Vec<lpb::ParcelFacts> = (0..n)
        .map(|i| lpb::ParcelFacts {
            parcel_id: format!("P{i:07}"),
            prohibited_or_eliminated_industry: rng.below(50) == 0,
            in_production: rng.below(2) == 0,
            contracted_investment_intensity: "300".into(),
            actual_investment_intensity: format!("{}", 200 + rng.below(200)),
            per_mu_tax: vec![
                lpb::YearFigure { year: 2021, value: format!("{}", rng.below(20)), jurisdiction_average: "10".into() },
                lpb::YearFigure { year: 2022, value: format!("{}", rng.below(20)), jurisdiction_average: "10".into() },
            ],
            construction_started: true,
            construction_started_on: "2019-05-01".into(),
            developed_area_mu: format!("{}", rng.below(30)),
            total_area_mu: "30".into(),
            invested_wan: format!("{}", rng.below(10000)),
            total_investment_wan: "10000".into(),
            completed: rng.below(2) == 0,
            years_without_main_profit: rng.below(4) as i32,
            ..Default::default()
        })
        .collect();
    let calls: Vec<lpb::ClassifyLowEfficiencyRequest> = parcels
        .chunks(10_000)
        .map(|part| lpb::ClassifyLowEfficiencyRequest {
            region_code: "411702".into(),
            on_date: "2023-06-30".into(),
            parcels: part.to_vec(),
            explain: false,
            use_stored_flags: false,
        })
        .collect();
    for i in 0..runs {
        let t = Instant::now();
        let (mut compute, mut low) = (0i64, 0i64);
        for req in &calls {
            match c.classify_low_efficiency(authed(&tok, req.clone())).await {
                Ok(r) => {
                    let r = r.into_inner();
                    compute += r.compute_micros;
                    low += r.low_efficiency;
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        println!(
            "low-efficiency #{i}: {n} parcels in {} calls, server compute {:.3} s, round trip {:.3} s, low-efficiency {low}",
            calls.len(),
            compute as f64 / 1e6,
            t.elapsed().as_secs_f64(),
        );
    }
}
