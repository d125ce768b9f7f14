//! Fuzzing every RPC of every service over gRPC, as a hostile client would.
//!
//! - Decoding: random bodies (pure noise, and valid messages with bytes flipped) to every unary
//!   method of the three services' descriptors. Each answer is a verdict or the caller's error —
//!   never INTERNAL, UNKNOWN, CANCELLED or DATA_LOSS (a panic shows as CANCELLED).
//! - Arithmetic: property tests over the generated request types with extreme numbers in every
//!   numeric field of the computations (see `arithmetic` below).
//!
//! Run longer with `CIVIC_FUZZ_CASES=5000 scripts/test -p civic-suite-tests fuzz` (default 40
//! bodies per method, and 64 property cases, so that the whole suite stays quick).

use std::net::SocketAddr;

use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, channel, fresh_database, settings, token};
use prost::Message;
use tonic::Code;

use super::safety::RawCodec;

fn cases(default: usize) -> usize {
    std::env::var("CIVIC_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (xorshift64*): reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The unary methods of every service whose full name starts with `service` ("package.Service",
/// or "package." for all of a package's services) in the suite's descriptor set.
fn unary_methods(service: &str) -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(civic_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in set.file {
        let package = file.package.unwrap_or_default();
        for svc in file.service {
            let full = format!("{package}.{}", svc.name.unwrap_or_default());
            if !full.starts_with(service) {
                continue;
            }
            for m in svc.method {
                if !m.server_streaming.unwrap_or(false) && !m.client_streaming.unwrap_or(false) {
                    out.push(format!("/{full}/{}", m.name.unwrap_or_default()));
                }
            }
        }
    }
    out
}

async fn call(addr: SocketAddr, tok: &str, path: &str, body: Vec<u8>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    if grpc.ready().await.is_err() {
        return Code::Unavailable;
    }
    let path = http::uri::PathAndQuery::try_from(path.to_string()).unwrap();
    match grpc.unary(authed(tok, body), path, RawCodec).await {
        Ok(_) => Code::Ok,
        Err(e) => e.code(),
    }
}

/// Bodies for one method: noise of several lengths, and a well-formed start with noise after.
fn bodies(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let len = [0, 1, 2, 5, 17, 64, 300, 2000][i % 8];
        let mut b = rng.bytes(len);
        if i % 3 == 0 && !b.is_empty() {
            // A length-delimited field 1 whose length runs past the end.
            b[0] = 0x0a;
        }
        if i % 5 == 0 {
            // Field 1 as a short string, then noise: often a valid message with odd fields.
            let mut v = vec![0x0a, 6];
            v.extend_from_slice(b"210502");
            let tail = rng.below(40);
            v.extend(rng.bytes(tail));
            b = v;
        }
        out.push(b);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_survives_random_bodies() {
    let per_method = cases(40);
    let services: Vec<(&str, &str)> = vec![
        ("civic.assistance.v1.", "social-assistance"),
        ("civic.land.v1.", "land-supervision"),
        ("civic.budget.v1.", "budget-performance"),
    ];
    let tok = token(Role::Admin, "000000");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (service, label) in services {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let s = settings(fresh_database(Backend::Sqlite).await);
        let stop = async move {
            let _ = rx.await;
        };
        let running = match label {
            "social-assistance" => social_assistance::start(s, stop).await.unwrap(),
            "land-supervision" => land_supervision::start(s, stop).await.unwrap(),
            _ => budget_performance::start(s, stop).await.unwrap(),
        };
        let methods = unary_methods(service);
        assert!(!methods.is_empty(), "{service}");
        let mut paths = methods.clone();
        paths.extend(
            [
                "civic.common.v1.PolicyParametersService",
                "civic.common.v1.AuditLogService",
                "civic.common.v1.IdentityService",
            ]
            .iter()
            .flat_map(|s| unary_methods(s)),
        );
        for path in &paths {
            for body in bodies(&mut rng, per_method) {
                let code = call(running.grpc_addr, &tok, path, body.clone()).await;
                assert!(
                    !matches!(code, Code::Internal | Code::Unknown | Code::Cancelled | Code::DataLoss),
                    "{path} answered {code:?} to {body:02x?}"
                );
            }
        }
        let _ = tx.send(());
        running.wait().await;
    }
}

/// Property tests over the generated request types: extreme and ordinary numbers in every
/// numeric field of the computations.
mod arithmetic {
    use civic_proto::{assistance::v1 as apb, budget::v1 as bpb, land::v1 as lpb};
    use proptest::prelude::*;

    use super::*;

    fn decimal_text() -> impl Strategy<Value = String> {
        prop_oneof![
            (-1_000_000_000_000i64..=1_000_000_000_000i64).prop_map(|v| v.to_string()),
            (any::<i64>(), 0u32..12).prop_map(|(v, s)| rust_decimal_text(v, s)),
            Just("79228162514264337593543950335".to_string()),
            Just("0.0000000001".to_string()),
            Just("0".to_string()),
            Just("-0".to_string()),
            "[0-9.eE+-]{0,12}",
        ]
    }

    /// `v` with `scale` decimal places, as text.
    fn rust_decimal_text(v: i64, scale: u32) -> String {
        let digits = v.unsigned_abs().to_string();
        let sign = if v < 0 { "-" } else { "" };
        let s = scale as usize;
        if s == 0 || digits.len() <= s {
            format!("{sign}0.{digits:0>width$}", width = s.max(1))
        } else {
            format!("{sign}{}.{}", &digits[..digits.len() - s], &digits[digits.len() - s..])
        }
    }

    fn member() -> impl Strategy<Value = apb::Member> {
        (any::<i32>(), any::<bool>(), any::<bool>(), proptest::collection::vec(any::<i64>(), 0..3)).prop_map(
            |(age, able, proof, incomes)| apb::Member {
                id: String::new(),
                age,
                able_bodied: able,
                has_income_proof: proof,
                incomes: incomes.into_iter().map(|f| apb::IncomeItem { kind: "wage".into(), monthly_fen: f }).collect(),
            },
        )
    }

    fn acceptable(code: Code) -> bool {
        matches!(code, Code::Ok | Code::InvalidArgument | Code::FailedPrecondition)
    }

    #[test]
    fn computations_answer_or_refuse_for_any_numbers() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (assist, land, budget, stops) = rt.block_on(async {
            let mut stops = Vec::new();
            let mut start = |label: &'static str| {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                stops.push(tx);
                async move {
                    let s = settings(fresh_database(Backend::Sqlite).await);
                    let stop = async move {
                        let _ = rx.await;
                    };
                    match label {
                        "a" => social_assistance::start(s, stop).await.unwrap(),
                        "l" => land_supervision::start(s, stop).await.unwrap(),
                        _ => budget_performance::start(s, stop).await.unwrap(),
                    }
                }
            };
            let (a, l, b) = (start("a"), start("l"), start("b"));
            (a.await, l.await, b.await, stops)
        });
        let config = ProptestConfig { cases: cases(64) as u32, failure_persistence: None, ..ProptestConfig::default() };
        let (aa, la, ba) = (assist.grpc_addr, land.grpc_addr, budget.grpc_addr);
        proptest!(config, |(
            members in proptest::collection::vec(member(), 0..6),
            pot in any::<i64>(),
            values in proptest::collection::vec(decimal_text(), 6),
            weights in proptest::collection::vec(decimal_text(), 2),
            figures in proptest::collection::vec(decimal_text(), 11),
            score in decimal_text(),
        )| {
            let codes = rt.block_on(async {
                let mut codes = Vec::new();
                let ca = token(Role::CivilAffairs, "210500");
                let mut a = apb::social_assistance_service_client::SocialAssistanceServiceClient::new(channel(aa).await);
                let h = apb::Household { id: String::new(), region_code: "210502".into(), residence: 1, members: members.clone() };
                codes.push(("ComputeHouseholdBenefit", a.compute_household_benefit(authed(&ca, apb::ComputeHouseholdBenefitRequest { household: Some(h), on_date: "2019-07-15".into() })).await.err().map_or(Code::Ok, |e| e.code())));
                let split = apb::SplitCitySubsidyRequest {
                    region_code: "210500".into(),
                    pot_fen: pot,
                    factors: vec![
                        apb::SubsidyFactor { name: "a".into(), weight: weights[0].clone(), direction: 1, ..Default::default() },
                        apb::SubsidyFactor { name: "b".into(), weight: weights[1].clone(), direction: 2, ..Default::default() },
                    ],
                    counties: ["210502", "210521", "210522"].iter().enumerate().map(|(i, c)| apb::CountyFactorValues { region_code: c.to_string(), values: vec![values[2 * i].clone(), values[2 * i + 1].clone()] }).collect(),
                };
                codes.push(("SplitCitySubsidy", a.split_city_subsidy(authed(&token(Role::Finance, "210500"), split)).await.err().map_or(Code::Ok, |e| e.code())));
                let mut l = lpb::land_supervision_service_client::LandSupervisionServiceClient::new(channel(la).await);
                let f = lpb::StandardLandFigures {
                    area_mu: figures[0].clone(), investment_wan: figures[1].clone(), tax_wan: figures[2].clone(),
                    floor_area_sqm: figures[3].clone(), building_footprint_sqm: figures[4].clone(), green_area_sqm: figures[5].clone(),
                    office_land_area_sqm: figures[6].clone(), office_floor_area_sqm: figures[7].clone(), term_years: figures[8].clone(),
                    industrial_land_area_sqm: figures[9].clone(), industrial_floor_area_sqm: figures[10].clone(),
                    ..Default::default()
                };
                let chk = lpb::CheckStandardLandRequest { region_code: "411702".into(), on_date: "2023-06-30".into(), industry: "equipment_manufacturing".into(), kind: 1, figures: Some(f), after_rectification: false, parcel_id: String::new() };
                let nr = token(Role::NaturalResources, "411700");
                codes.push(("CheckStandardLand", l.check_standard_land(authed(&nr, chk)).await.err().map_or(Code::Ok, |e| e.code())));
                let idle = lpb::AssessIdleLandRequest { region_code: "411702".into(), on_date: "2023-01-01".into(), agreed_start: "2021-03-01".into(), started_on: String::new(), developed_area_mu: figures[0].clone(), total_area_mu: figures[1].clone(), invested_wan: figures[2].clone(), total_investment_wan: figures[3].clone(), stopped_on: String::new(), cause: 1, land_price_fen: pot };
                codes.push(("AssessIdleLand", l.assess_idle_land(authed(&nr, idle)).await.err().map_or(Code::Ok, |e| e.code())));
                let mut b = bpb::budget_performance_service_client::BudgetPerformanceServiceClient::new(channel(ba).await);
                codes.push(("GradeEvaluation", b.grade_evaluation(authed(&token(Role::Finance, "411700"), bpb::GradeEvaluationRequest { region_code: "411702".into(), total_score: score.clone(), on_date: String::new() })).await.err().map_or(Code::Ok, |e| e.code())));
                codes
            });
            for (rpc, code) in codes {
                prop_assert!(acceptable(code), "{} answered {:?}", rpc, code);
            }
        });
        for s in stops {
            let _ = s.send(());
        }
        rt.block_on(async move {
            assist.wait().await;
            land.wait().await;
            budget.wait().await;
        });
    }
}
