//! References for `bench/compare.sh`: a bare tonic server, request bodies for h2load, and a plain
//! kernel of the 低保 rule over the same roll.

use std::time::Instant;

use prost::Message;

/// A bare tonic server on `addr` — the same tonic, hyper and prost as the services, and nothing
/// of civic: no middleware, no token, no explanation — answering `grpc.health.v1.Health/Check`,
/// the smallest unary call there is, with TCP_NODELAY as the services set it. Runs until killed.
pub async fn hello(addr: &str) -> Result<(), String> {
    let addr: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(service)
        .serve(addr)
        .await
        .map_err(|e| e.to_string())
}

/// `message` framed as one gRPC request body (uncompressed flag, 4-byte big-endian length),
/// which h2load sends with `-d`.
pub fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(0);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// One household of the synthetic roll, as compact as it gets.
struct Household {
    urban: bool,
    /// 低保 households are paid now; low-income ones are not.
    paid: bool,
    /// The city's raised urban standard reaches the household: the two counties (210521,
    /// 210522) have urban standards of their own, which a raise of 210500's does not change.
    raised: bool,
    members: i64,
    income_fen: i64,
}

/// The roll file (the synthetic roll's layout) as households; member rows of one household are
/// consecutive.
fn read_roll(csv: &str) -> Vec<Household> {
    let mut out: Vec<Household> = Vec::new();
    let mut last = "";
    for line in csv.lines().skip(1) {
        let mut f = line.split(',');
        let id = f.next().unwrap_or_default();
        let region = f.next().unwrap_or_default();
        let residence = f.next().unwrap_or_default();
        let category = f.next().unwrap_or_default();
        let incomes = f.nth(5).unwrap_or_default();
        let income: i64 = incomes
            .split(';')
            .filter_map(|i| i.split_once(':'))
            .filter_map(|(_, yuan)| yuan.trim().parse::<i64>().ok())
            .sum::<i64>()
            * 100;
        if id == last {
            if let Some(h) = out.last_mut() {
                h.members += 1;
                h.income_fen += income;
            }
        } else {
            out.push(Household {
                urban: residence == "urban",
                paid: category == "dibao",
                raised: !matches!(region, "210521" | "210522"),
                members: 1,
                income_fen: income,
            });
            last = id;
        }
    }
    out
}

/// The plain kernel: each household's 补差 max(0, standard × members − income) under the current
/// standards (urban 622, rural 417 yuan: 本溪 2019) and with 210500's urban raised to 650 — 低保 households
/// paid now, low-income ones newly eligible when the raise pays them — totalled with the
/// households gaining and newly eligible, as a what-if of that change counts them, without its
/// explanations, dates and policy book. Prints the time per scenario.
pub fn kernel(path: &str, runs: usize) -> Result<(), String> {
    let csv = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let t = Instant::now();
    let roll = read_roll(&csv);
    drop(csv);
    println!("kernel: {} households read in {:.3} s", roll.len(), t.elapsed().as_secs_f64());
    let benefit = |h: &Household, urban: i64, rural: i64| {
        let standard = if h.urban { urban } else { rural };
        (standard * h.members - h.income_fen).max(0)
    };
    let mut times = Vec::new();
    for run in 0..runs {
        let t = Instant::now();
        let (mut current, mut proposed, mut gaining, mut newly) = (0i64, 0i64, 0u64, 0u64);
        for h in &roll {
            let a = if h.paid { benefit(h, 62_200, 41_700) } else { 0 };
            let b = benefit(h, if h.raised { 65_000 } else { 62_200 }, 41_700);
            current += a;
            proposed += b;
            let was_paid = h.paid && a > 0;
            gaining += u64::from(was_paid && b > a);
            newly += u64::from(!was_paid && b > 0);
        }
        let took = t.elapsed().as_secs_f64();
        times.push(took);
        println!(
            "kernel #{run}: {} households, {took:.4} s, difference {} yuan/month, gaining {gaining}, newly eligible {newly}",
            roll.len(),
            (proposed - current) / 100
        );
    }
    times.sort_by(f64::total_cmp);
    println!("kernel per scenario (median): {:.4} s", times[times.len() / 2]);
    Ok(())
}
