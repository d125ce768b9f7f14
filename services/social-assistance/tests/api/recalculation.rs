//! Recalculation when standards rise: old and new amounts, difference and back pay per case,
//! progress, exactly once, resumed after a killed process, shared by two replicas.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use civic_proto::assistance::v1::{self as pb, social_assistance_service_client::SocialAssistanceServiceClient};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{channel, fresh_database, policies_dir, TEST_SIGNING_KEY};
use social_assistance::recalc::RecalcSettings;
use tokio_stream::StreamExt;

use crate::{
    both_backends,
    harness::{req, t, App},
    roll::{import, CSV},
};

pub(crate) fn start_req() -> pb::StartRecalculationRequest {
    pb::StartRecalculationRequest {
        region_code: "210500".into(),
        effective_from: "2019-07-01".into(),
        reason: "本政办发〔2019〕25号 二".into(),
    }
}

async fn pay(
    c: &mut SocialAssistanceServiceClient<tonic::transport::Channel>,
    month: &str,
) -> pb::RecordPaymentsResponse {
    c.record_payments(req(
        &t(Role::CivilAffairs, "210500"),
        pb::RecordPaymentsRequest { region_code: "210500".into(), month: month.into() },
    ))
    .await
    .unwrap()
    .into_inner()
}

/// The expected cases of CSV computed on 2019-06-15, paid for July and August, recalculated
/// from 2019-07-01: (household, old, new, back pay).
const EXPECTED: &[(&str, i64, i64, i64)] = &[
    ("H001", 84_900, 96_600, 2 * 11_700),
    ("H002", 106_600, 124_400, 2 * 17_800),
    ("H003", 48_400, 66_800, 2 * 18_400),
];

pub(crate) async fn check_cases(c: &mut SocialAssistanceServiceClient<tonic::transport::Channel>, job_id: &str) {
    check_cases_of(c, job_id, 3).await;
}

/// `examined` households were looked at; the three of EXPECTED are the cases.
async fn check_cases_of(c: &mut SocialAssistanceServiceClient<tonic::transport::Channel>, job_id: &str, examined: i64) {
    let tok = t(Role::CivilAffairs, "210500");
    let cases = c
        .list_recalculation_cases(req(
            &tok,
            pb::ListRecalculationCasesRequest { job_id: job_id.into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .cases;
    let got: Vec<(&str, i64, i64, i64)> =
        cases.iter().map(|c| (c.household_id.as_str(), c.old_monthly_fen, c.new_monthly_fen, c.back_pay_fen)).collect();
    assert_eq!(got, EXPECTED);
    assert!(cases.iter().all(|c| c.months_back_paid == 2 && c.difference_fen == c.new_monthly_fen - c.old_monthly_fen));
    let job = c
        .get_recalculation(req(&tok, pb::GetRecalculationRequest { job_id: job_id.into() }))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32);
    assert_eq!((job.total, job.done, job.cases), (examined, examined, 3));
    assert_eq!(job.back_pay_fen, EXPECTED.iter().map(|e| e.3).sum::<i64>());
    for (id, _, new, _) in EXPECTED {
        let h = c
            .get_household(req(&tok, pb::GetHouseholdRequest { household_id: id.to_string() }))
            .await
            .unwrap()
            .into_inner()
            .household
            .unwrap();
        assert_eq!((h.monthly_benefit_fen, h.computed_on.as_str()), (*new, "2019-07-01"), "{id}");
    }
}

pub(crate) async fn prepare(app: &App) {
    let r = import(app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    let mut c = app.client().await;
    assert_eq!(pay(&mut c, "2019-07").await.paid, 3);
    assert_eq!(pay(&mut c, "2019-08").await.paid, 3);
    // Paying a month twice pays nobody twice.
    let again = pay(&mut c, "2019-08").await;
    assert_eq!((again.paid, again.already_paid), (0, 3));
}

async fn recalculation_with_progress(backend: Backend) {
    let app = App::spawn(backend).await;
    prepare(&app).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let job = c.start_recalculation(req(&tok, start_req())).await.unwrap().into_inner().job.unwrap();
    assert_eq!(job.total, 3);
    let mut watch = c
        .watch_recalculation(req(&tok, pb::WatchRecalculationRequest { job_id: job.job_id.clone() }))
        .await
        .unwrap()
        .into_inner();
    let mut last = None;
    while let Some(update) =
        tokio::time::timeout(Duration::from_secs(30), watch.next()).await.expect("progress arrives")
    {
        let u = update.unwrap().job.unwrap();
        assert!(u.done <= u.total);
        last = Some(u);
    }
    assert_eq!(last.unwrap().state, pb::JobState::Completed as i32);
    check_cases(&mut c, &job.job_id).await;
    // What was paid, month by month: July and August at the old amounts, and the back pay of
    // both months (the actuals budget-performance evaluates the programme by).
    let summary = |tok: String, region: &str, from: &str, to: &str| {
        let mut c = c.clone();
        let r =
            pb::SummarizeAssistanceRequest { region_code: region.into(), from_month: from.into(), to_month: to.into() };
        async move { c.summarize_assistance(req(&tok, r)).await }
    };
    let s = summary(t(Role::Finance, "210500"), "210500", "2019-07", "2019-08").await.unwrap().into_inner();
    let regular: i64 = EXPECTED.iter().map(|e| e.1).sum::<i64>() * 2;
    let back: i64 = EXPECTED.iter().map(|e| e.3).sum();
    assert_eq!(s.total_paid_fen, regular + back);
    assert_eq!(s.months.iter().map(|m| m.back_pay_fen).sum::<i64>(), back);
    for month in ["2019-07", "2019-08"] {
        let households: i64 = s.months.iter().filter(|m| m.month == month).map(|m| m.households).sum();
        assert_eq!(households, 3, "{month}: each household once, regular and back pay together");
    }
    assert!(s.months.iter().all(|m| m.persons >= m.households));
    let none = summary(t(Role::CivilAffairs, "210500"), "210500", "2019-09", "2019-12").await.unwrap().into_inner();
    assert_eq!((none.months.len(), none.total_paid_fen), (0, 0));
    for (tok, region, from, to, code) in [
        (t(Role::NaturalResources, "210500"), "210500", "2019-07", "2019-08", tonic::Code::PermissionDenied),
        (t(Role::CivilAffairs, "210521"), "210500", "2019-07", "2019-08", tonic::Code::PermissionDenied),
        (t(Role::CivilAffairs, "210500"), "210500", "2019-7", "2019-08", tonic::Code::InvalidArgument),
        (t(Role::CivilAffairs, "210500"), "210500", "2019-08", "2019-07", tonic::Code::InvalidArgument),
    ] {
        assert_eq!(summary(tok, region, from, to).await.unwrap_err().code(), code, "{from}..{to}");
    }
    // A second run finds nothing more to pay: back pay already includes what was paid.
    let second = c.start_recalculation(req(&tok, start_req())).await.unwrap().into_inner().job.unwrap();
    let done = wait_completed(&mut c, &second.job_id, Duration::from_secs(30)).await;
    assert_eq!((done.difference_fen, done.back_pay_fen), (0, 0));
    // A county cannot watch or start a city job; standards must exist on the date.
    let county = t(Role::CivilAffairs, "210521");
    assert_eq!(
        c.get_recalculation(req(&county, pb::GetRecalculationRequest { job_id: job.job_id })).await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    let mut early = start_req();
    early.effective_from = "2010-01-01".into();
    assert_eq!(c.start_recalculation(req(&tok, early)).await.unwrap_err().code(), tonic::Code::FailedPrecondition);
    app.stop().await;
}
both_backends!(recalculation_with_progress, super::recalculation_with_progress);

pub(crate) async fn wait_completed(
    c: &mut SocialAssistanceServiceClient<tonic::transport::Channel>,
    job_id: &str,
    limit: Duration,
) -> pb::RecalculationJob {
    let tok = t(Role::CivilAffairs, "210500");
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let j = c
            .get_recalculation(req(&tok, pb::GetRecalculationRequest { job_id: job_id.into() }))
            .await
            .unwrap()
            .into_inner()
            .job
            .unwrap();
        if j.state != pb::JobState::Running as i32 {
            return j;
        }
        assert!(tokio::time::Instant::now() < deadline, "job did not finish: {j:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real binary, on the given database, with small slow chunks; returns its gRPC address.
pub(crate) fn spawn_binary(database_url: &str) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_social-assistance"))
        .env("CIVIC_LISTEN_ADDR", "127.0.0.1:0")
        .env("CIVIC_METRICS_ADDR", "")
        .env("CIVIC_DATABASE_URL", database_url)
        .env("CIVIC_POLICIES_DIR", policies_dir())
        .env("CIVIC_SIGNING_KEY", TEST_SIGNING_KEY)
        .env("CIVIC_LOG_FORMAT", "json")
        .env("CIVIC_RECALC_CHUNK_SIZE", "1")
        .env("CIVIC_RECALC_PAUSE_MS", "700")
        .env("CIVIC_RECALC_STALE_SECS", "1")
        .env("CIVIC_RECALC_WORKERS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(i) = line.find("\"grpc_addr\":\"") {
                let rest = &line[i + 13..];
                if let Some(end) = rest.find('"') {
                    let _ = tx.send(rest[..end].to_string());
                }
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the binary reports its address");
    (child, addr.parse().unwrap())
}

async fn killed_and_resumed(backend: Backend) {
    let url = fresh_database(backend).await;
    let (mut first, addr) = spawn_binary(&url);
    let mut c = SocialAssistanceServiceClient::new(channel(addr).await);
    let tok = t(Role::CivilAffairs, "210500");
    // Prepare through the binary itself.
    let r = c
        .import_roll(req(
            &tok,
            pb::ImportRollRequest {
                region_code: "210500".into(),
                format: "csv".into(),
                content: CSV.as_bytes().to_vec(),
                on_date: "2019-06-15".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(r.stored);
    pay(&mut c, "2019-07").await;
    pay(&mut c, "2019-08").await;
    let job = c.start_recalculation(req(&tok, start_req())).await.unwrap().into_inner().job.unwrap();
    // Kill -9 after the first chunk, in the middle of the second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let j = c
            .get_recalculation(req(&tok, pb::GetRecalculationRequest { job_id: job.job_id.clone() }))
            .await
            .unwrap()
            .into_inner()
            .job
            .unwrap();
        if j.done >= 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // A new process resumes the job and takes over the abandoned chunk.
    let (mut second, addr) = spawn_binary(&url);
    let mut c = SocialAssistanceServiceClient::new(channel(addr).await);
    let before = c
        .get_recalculation(req(&tok, pb::GetRecalculationRequest { job_id: job.job_id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    assert!(before.done < 3, "killed before the end: {before:?}");
    wait_completed(&mut c, &job.job_id, Duration::from_secs(30)).await;
    check_cases(&mut c, &job.job_id).await;
    second.kill().unwrap();
    second.wait().unwrap();
}
both_backends!(killed_and_resumed, super::killed_and_resumed);

async fn two_replicas_share_the_work(backend: Backend) {
    let slow = RecalcSettings {
        stale_after: Duration::from_secs(60),
        pause: Duration::from_millis(600),
        chunk_size: 1,
        workers: 1,
    };
    let a = App::spawn_on(fresh_database(backend).await, slow.clone()).await;
    prepare(&a).await;
    let mut c = a.client().await;
    let job = c
        .start_recalculation(req(&t(Role::CivilAffairs, "210500"), start_req()))
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    // A second replica on the same database picks up the running job.
    let b = App::spawn_on(a.database_url.clone(), slow).await;
    wait_completed(&mut c, &job.job_id, Duration::from_secs(30)).await;
    check_cases(&mut b.client().await, &job.job_id).await;
    // Both replicas did part of it: the chunks were claimed by two workers.
    {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::AnyConnection::connect(&a.database_url).await.unwrap();
        let workers: i64 =
            sqlx::query("SELECT CAST(COUNT(DISTINCT claimed_by) AS BIGINT) AS n FROM recalc_chunks WHERE job_id = $1")
                .bind(&job.job_id)
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .get("n");
        assert_eq!(workers, 2, "one replica did all the work");
    }
    b.stop().await;
    a.stop().await;
}
both_backends!(two_replicas_share_the_work, super::two_replicas_share_the_work);

async fn chunks_of_two(backend: Backend) {
    // Four households in chunks of two: [H001, H002] and [H003, H005]. H005 earns too much under
    // either standard: examined, but no case and no change to its row.
    let settings =
        RecalcSettings { stale_after: Duration::from_secs(60), pause: Duration::ZERO, chunk_size: 2, workers: 2 };
    let app = App::spawn_on(fresh_database(backend).await, settings).await;
    let csv = format!("{CSV}H005,210502,urban,dibao,active,m1,40,false,true,wage:5000\n");
    let r = import(&app, "210500", "csv", csv.into_bytes(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    let mut c = app.client().await;
    assert_eq!(pay(&mut c, "2019-07").await.paid, 3);
    assert_eq!(pay(&mut c, "2019-08").await.paid, 3);
    let tok = t(Role::CivilAffairs, "210500");
    let job = c.start_recalculation(req(&tok, start_req())).await.unwrap().into_inner().job.unwrap();
    assert_eq!(job.total, 4);
    wait_completed(&mut c, &job.job_id, Duration::from_secs(30)).await;
    check_cases_of(&mut c, &job.job_id, 4).await;
    let h5 = c
        .get_household(req(&tok, pb::GetHouseholdRequest { household_id: "H005".into() }))
        .await
        .unwrap()
        .into_inner()
        .household
        .unwrap();
    assert_eq!((h5.monthly_benefit_fen, h5.computed_on.as_str()), (0, "2019-06-15"));
    app.stop().await;
}
both_backends!(chunks_of_two, super::chunks_of_two);

/// Sum of back pay in the payments table, straight from the database.
async fn back_pay_paid(database_url: &str) -> (i64, i64) {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let r = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS total FROM payments WHERE kind <> 'regular'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    (r.try_get("n").unwrap(), r.try_get("total").unwrap())
}

/// Two clerks on two replicas start the same recalculation at the same moment, and one of them
/// retries: one job runs, and the back pay paid equals a single run's. A back-pay row for the
/// same household, month and change is refused by the database itself.
async fn concurrent_starts_pay_once(backend: Backend) {
    let slow = RecalcSettings {
        stale_after: Duration::from_secs(60),
        pause: Duration::from_millis(200),
        chunk_size: 1,
        workers: 2,
    };
    let a = App::spawn_on(fresh_database(backend).await, slow.clone()).await;
    prepare(&a).await;
    let b = App::spawn_on(a.database_url.clone(), slow).await;
    let (mut ca, mut cb) = (a.client().await, b.client().await);
    let tok = t(Role::CivilAffairs, "210500");
    let (ja, jb) =
        tokio::join!(ca.start_recalculation(req(&tok, start_req())), cb.start_recalculation(req(&tok, start_req())));
    let ids: Vec<String> = [ja, jb]
        .into_iter()
        .filter_map(|r| match r {
            Ok(j) => Some(j.into_inner().job.unwrap().job_id),
            Err(e) => {
                assert_eq!(e.code(), tonic::Code::AlreadyExists, "{e:?}");
                None
            }
        })
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id == &ids[0]), "two jobs for one change: {ids:?}");
    // A retry while it runs gets the same job; a county inside the city must wait.
    let retry = cb.start_recalculation(req(&tok, start_req())).await.unwrap().into_inner().job.unwrap();
    assert_eq!(retry.job_id, ids[0]);
    let county = pb::StartRecalculationRequest { region_code: "210502".into(), ..start_req() };
    let e = cb.start_recalculation(req(&t(Role::CivilAffairs, "210502"), county)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    wait_completed(&mut ca, &ids[0], Duration::from_secs(30)).await;
    check_cases(&mut cb, &ids[0]).await;
    let single: i64 = EXPECTED.iter().map(|e| e.3).sum();
    assert_eq!(back_pay_paid(&a.database_url).await, (6, single));

    // Started again afterwards (by either replica, for the city or a county) nothing more is paid.
    let again = cb.start_recalculation(req(&tok, start_req())).await.unwrap().into_inner().job.unwrap();
    wait_completed(&mut ca, &again.job_id, Duration::from_secs(30)).await;
    assert_eq!(back_pay_paid(&a.database_url).await, (6, single));

    // The database refuses a second back-pay row for a household, month and change.
    {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&a.database_url).await.unwrap();
        let dup = sqlx::query(
            "INSERT INTO payments (household_id, month, kind, amount_fen, paid_at) VALUES ('H001', '2019-07', 'back_pay:2019-07-01', 11700, 'x')",
        )
        .execute(&mut conn)
        .await;
        assert!(dup.is_err(), "a second back-pay row was accepted");
    }
    b.stop().await;
    a.stop().await;
}
both_backends!(concurrent_starts_pay_once, super::concurrent_starts_pay_once);

/// A recalculation from a date that has not come yet is refused.
async fn future_recalculation_refused(backend: Backend) {
    let app = App::spawn(backend).await;
    let mut c = app.client().await;
    let tomorrow = (civic_runtime::request::china_today() + chrono::Duration::days(1)).to_string();
    let r = pb::StartRecalculationRequest { effective_from: tomorrow, ..start_req() };
    let e = c.start_recalculation(req(&t(Role::CivilAffairs, "210500"), r)).await.unwrap_err();
    // No standard is published for tomorrow's date in the policies, or it is not yet in force:
    // either way FAILED_PRECONDITION.
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    app.stop().await;
}
both_backends!(future_recalculation_refused, super::future_recalculation_refused);
