//! The roll: create, update with versions, list, import with row errors, export and re-import.
//!
//! (About 690 lines: one module of the api test binary per area; the roll's imports, exports and
//! streams share their files and checks.)

use civic_proto::assistance::v1::{
    self as pb, social_assistance_service_client::SocialAssistanceServiceClient, Residence,
};
use civic_runtime::{identity::Role, storage::Backend};
use tonic::Code;

use crate::{
    both_backends,
    harness::{household, req, t, App},
};

pub fn roll_household(h: pb::Household, category: pb::RollCategory) -> pb::RollHousehold {
    pb::RollHousehold {
        household: Some(h),
        category: category as i32,
        status: pb::RollStatus::Active as i32,
        ..Default::default()
    }
}

pub const CSV: &str =
    "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n\
H001,210502,urban,dibao,active,m1,45,false,true,wage:900\n\
H001,210502,urban,dibao,active,m2,43,false,true,\n\
H001,210502,urban,dibao,active,m3,12,否,是,\n\
H002,210521,城市,低保,active,m1,70,false,true,\n\
H002,210521,城市,低保,active,m2,68,false,true,\n\
H003,210522,rural,dibao,active,m1,50,false,true,wage:1000\n\
H003,210522,rural,dibao,active,m2,48,false,true,\n\
H003,210522,rural,dibao,active,m3,20,false,true,\n\
H003,210522,rural,dibao,active,m4,15,false,true,\n\
H004,210521,urban,low_income,active,m1,40,false,true,wage:600\n";

/// A CSV roll of `region` in pieces of `size` bytes for `ImportRollStream`, on 2019-06-15.
fn csv_pieces(region: &str, csv: &[u8], size: usize) -> Vec<pb::ImportRollStreamRequest> {
    csv.chunks(size)
        .enumerate()
        .map(|(i, part)| pb::ImportRollStreamRequest {
            region_code: if i == 0 { region.into() } else { String::new() },
            format: if i == 0 { "csv".into() } else { String::new() },
            content: part.to_vec(),
            on_date: if i == 0 { "2019-06-15".into() } else { String::new() },
            ..Default::default()
        })
        .collect()
}

/// The audit entries of a region's roll imports, as an auditor reads them.
async fn roll_audit(app: &App, region: &str) -> Vec<civic_proto::common::v1::AuditEntry> {
    app.audit()
        .await
        .list_audit_entries(req(
            &t(Role::Auditor, "000000"),
            civic_proto::common::v1::ListAuditEntriesRequest {
                region_code: region.into(),
                entity: "roll".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries
}

pub async fn import(app: &App, region: &str, format: &str, content: Vec<u8>, date: &str) -> pb::ImportRollResponse {
    let mut c = app.client().await;
    c.import_roll(req(
        &t(Role::CivilAffairs, region),
        pb::ImportRollRequest {
            region_code: region.into(),
            format: format.into(),
            content,
            on_date: date.into(),
            reason: "roster".into(),
            dry_run: false,
        },
    ))
    .await
    .unwrap()
    .into_inner()
}

async fn create_update_list(backend: Backend) {
    let app = App::spawn(backend).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210502");
    let create = pb::UpsertHouseholdRequest {
        household: Some(roll_household(
            household("P-1", "210502", Residence::Urban, 3, 90_000),
            pb::RollCategory::Dibao,
        )),
        expected_version: 0,
        reason: "new application".into(),
        on_date: "2019-07-15".into(),
    };
    let saved = c.upsert_household(req(&tok, create.clone())).await.unwrap().into_inner().household.unwrap();
    assert_eq!((saved.version, saved.monthly_benefit_fen), (1, 96_600));
    // Creating it again, or updating with a stale version, is refused.
    assert_eq!(c.upsert_household(req(&tok, create.clone())).await.unwrap_err().code(), Code::AlreadyExists);
    let mut update = create.clone();
    update.expected_version = 1;
    update.household.as_mut().unwrap().household.as_mut().unwrap().members[0].incomes[0].monthly_fen = 120_000;
    let v2 = c.upsert_household(req(&tok, update.clone())).await.unwrap().into_inner().household.unwrap();
    assert_eq!((v2.version, v2.monthly_benefit_fen), (2, 66_600));
    let stale = c.upsert_household(req(&tok, update)).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(civic_testing::error_reason(&stale), "VERSION_CONFLICT");
    let got = stored(&mut c, &tok, "P-1").await;
    assert_eq!(got.version, 2);
    assert_eq!(
        c.get_household(req(&tok, pb::GetHouseholdRequest { household_id: "nope".into() })).await.unwrap_err().code(),
        Code::NotFound
    );
    let list = c
        .list_households(req(&tok, pb::ListHouseholdsRequest { region_code: "210502".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.households.len(), 1);
    // Both changes are in the audit log, with before and after.
    let mut audit = app.audit().await;
    let entries = audit
        .list_audit_entries(req(
            &t(Role::Auditor, "210500"),
            civic_proto::common::v1::ListAuditEntriesRequest {
                entity: "household".into(),
                entity_id: "P-1".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["roll.create", "roll.update"]);
    assert!(entries[1].before_json.contains("90000") && entries[1].after_json.contains("120000"));
    assert_eq!(entries[1].reason, "new application");
    // The audit trail names each member's fields (the table keeps them compact).
    let after: serde_json::Value = serde_json::from_str(&entries[1].after_json).unwrap();
    let member = &after["members"][0];
    assert!(member["age"].is_u64() && member["able"].is_boolean() && member["proof"].is_boolean(), "{after}");
    app.stop().await;
}
both_backends!(create_update_list, super::create_update_list);

async fn import_errors_store_nothing(backend: Backend) {
    let app = App::spawn(backend).await;
    let bad = format!("{CSV}H005,210502,suburban,dibao,active,m1,30,false,true,wage:abc\nH006,411702,urban,dibao,active,m1,-3,maybe,true,\n");
    let r = import(&app, "210500", "csv", bad.into_bytes(), "2019-06-15").await;
    assert!(!r.stored);
    let found: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert!(found.contains(&(12, "residence")), "{found:?}");
    assert!(found.contains(&(12, "incomes")), "{found:?}");
    assert!(found.contains(&(13, "region_code")), "{found:?}");
    assert!(found.contains(&(13, "age")), "{found:?}");
    assert!(found.contains(&(13, "able_bodied")), "{found:?}");
    let mut c = app.client().await;
    let list = c
        .list_households(req(
            &t(Role::CivilAffairs, "210500"),
            pb::ListHouseholdsRequest { region_code: "210500".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(list.households.is_empty(), "nothing half-imported");
    // A missing column is reported on row 1.
    let r = import(&app, "210500", "csv", b"household_id,region_code\nH1,210502\n".to_vec(), "2019-06-15").await;
    assert!(r.errors.iter().any(|e| e.row == 1 && e.field == "age"));
    // A county cannot import another county's households.
    let r = import(&app, "210521", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await;
    assert!(r.errors.iter().any(|e| e.field == "region_code" && e.message.contains("outside")));
    app.stop().await;
}
both_backends!(import_errors_store_nothing, super::import_errors_store_nothing);

async fn import_export_round_trip(backend: Backend) {
    let app = App::spawn(backend).await;
    let r = import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.households, r.members, r.stored), (4, 10, true));
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let h1 = stored(&mut c, &tok, "H001").await;
    assert_eq!(h1.monthly_benefit_fen, 84_900);
    let h2 = stored(&mut c, &tok, "H002").await;
    assert_eq!(h2.monthly_benefit_fen, 106_600);
    for format in ["csv", "xlsx"] {
        let e = c
            .export_roll(req(&tok, pb::ExportRollRequest { region_code: "210500".into(), format: format.into() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(e.households, 4);
        assert!(e.filename.ends_with(format));
        // Re-import the export into a fresh store: the same roll.
        let other = App::spawn(backend).await;
        let r = import(&other, "210500", format, e.content, "2019-06-15").await;
        assert!(r.errors.is_empty(), "{format}: {:?}", r.errors);
        assert_eq!((r.households, r.members), (4, 10), "{format}");
        let mut oc = other.client().await;
        let again = stored(&mut oc, &tok, "H001").await;
        assert_eq!(again.household, h1.household, "{format}");
        other.stop().await;
    }
    app.stop().await;
}
both_backends!(import_export_round_trip, super::import_export_round_trip);

/// A county's import cannot take over another county's household by reusing its id: the row is
/// an error (that says nothing of the other household), nothing is stored, the household stays
/// where it was. An import that replaces its own households records each one's state before, and
/// the ids it created.
async fn import_respects_county_scope(backend: Backend) {
    let app = App::spawn(backend).await;
    assert!(import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await.stored);
    let header = CSV.lines().next().unwrap();
    let takeover = format!(
        "{header}\nH009,210521,urban,dibao,active,m1,30,false,true,\nH001,210521,urban,dibao,active,m1,30,false,true,\n"
    );
    let r = import(&app, "210521", "csv", takeover.into_bytes(), "2019-06-15").await;
    assert!(!r.stored);
    let rows: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(rows, vec![(3, "household_id")], "{:?}", r.errors);
    assert!(!r.errors[0].message.contains("210502"), "{}", r.errors[0].message);
    let mut c = app.client().await;
    let city = t(Role::CivilAffairs, "210500");
    let h1 = stored(&mut c, &city, "H001").await;
    assert_eq!(h1.household.unwrap().region_code, "210502");
    let e = c.get_household(req(&city, pb::GetHouseholdRequest { household_id: "H009".into() })).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    // The county re-imports its own H002 with one member less, and adds H010.
    let own = format!(
        "{header}\nH002,210521,城市,低保,active,m1,70,false,true,\nH010,210521,urban,dibao,active,m1,30,false,true,\n"
    );
    let r = import(&app, "210521", "csv", own.into_bytes(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    let entries = roll_audit(&app, "210521").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let after: serde_json::Value = serde_json::from_str(&entries[0].after_json).unwrap();
    assert_eq!((after["created"].as_i64(), after["replaced"].as_i64()), (Some(1), Some(1)), "{after}");
    let import_id = after["import_id"].as_str().unwrap().to_string();
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let changes = sqlx::query(
        "SELECT household_id, action, COALESCE(before_members_json, '') AS m, COALESCE(before_version, 0) AS v FROM roll_import_changes \
         WHERE import_id = $1 ORDER BY household_id",
    )
    .bind(&import_id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let got: Vec<(String, String, bool, i64)> = changes
        .iter()
        .map(|r| (r.get("household_id"), r.get("action"), r.get::<String, _>("m").contains("68"), r.get("v")))
        .collect();
    assert_eq!(got, vec![("H002".into(), "replaced".into(), true, 1)]);
    // The ids it created: one row per slice written.
    let created: Vec<String> =
        sqlx::query_scalar("SELECT household_ids FROM roll_import_created WHERE import_id = $1 ORDER BY part")
            .bind(&import_id)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let created: Vec<Vec<String>> = created.iter().map(|j| serde_json::from_str(j).unwrap()).collect();
    assert_eq!(created, vec![vec!["H010".to_string()]]);
    app.stop().await;
}
both_backends!(import_respects_county_scope, super::import_respects_county_scope);

/// A repeated member id, or a member row repeated as it is, is one person, not two.
async fn repeated_members_are_errors(backend: Backend) {
    let app = App::spawn(backend).await;
    let header = CSV.lines().next().unwrap();
    let file = format!(
        "{header}\nH001,210502,urban,dibao,active,m1,45,false,true,wage:900\nH001,210502,urban,dibao,active,m1,43,false,true,\n\
         H002,210502,urban,dibao,active,,70,false,true,\nH002,210502,urban,dibao,active,,70,false,true,\n"
    );
    let r = import(&app, "210500", "csv", file.into_bytes(), "2019-06-15").await;
    assert!(!r.stored);
    let rows: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(rows, vec![(3, "member_id"), (5, "member_id")], "{:?}", r.errors);

    let mut h = household("P-2", "210502", Residence::Urban, 2, 90_000);
    for m in &mut h.members {
        m.id = "same".into();
    }
    let mut c = app.client().await;
    let e = c
        .upsert_household(req(
            &t(Role::CivilAffairs, "210502"),
            pb::UpsertHouseholdRequest {
                household: Some(roll_household(h, pb::RollCategory::Dibao)),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(civic_testing::violated_fields(&e), vec!["household.household.members[1].id"]);
    app.stop().await;
}
both_backends!(repeated_members_are_errors, super::repeated_members_are_errors);

/// A household of 60 member rows: the rows past the 50th are errors, each naming the household.
async fn oversized_household_is_refused(backend: Backend) {
    let app = App::spawn(backend).await;
    let header = CSV.lines().next().unwrap();
    let mut file = format!("{header}\n");
    for i in 0..60 {
        file.push_str(&format!("H001,210502,urban,dibao,active,m{i},45,false,true,\n"));
    }
    let r = import(&app, "210500", "csv", file.into_bytes(), "2019-06-15").await;
    assert!(!r.stored);
    let rows: Vec<i64> = r.errors.iter().map(|e| e.row).collect();
    assert_eq!(rows, (52..=61).collect::<Vec<i64>>(), "{:?}", r.errors);
    assert!(r.errors[0].message.contains("more than 50 members"), "{:?}", r.errors[0]);
    app.stop().await;
}
both_backends!(oversized_household_is_refused, super::oversized_household_is_refused);

/// A month is paid once it has begun, at the amount in force in it: not a future month, and not a
/// month before the date the stored amounts were computed for.
async fn payments_only_for_months_in_force(backend: Backend) {
    let app = App::spawn(backend).await;
    assert!(import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await.stored);
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let pay = |month: &str| pb::RecordPaymentsRequest { region_code: "210500".into(), month: month.into() };
    let next_month = {
        use chrono::Datelike;
        let d = civic_runtime::request::china_today();
        let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
        format!("{y:04}-{m:02}")
    };
    for month in [next_month.as_str(), "2030-01", "2019-05", "2019-01"] {
        let e = c.record_payments(req(&tok, pay(month))).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{month}: {e:?}");
    }
    for month in ["2019-13", "2019-6", ""] {
        let e = c.record_payments(req(&tok, pay(month))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{month}");
    }
    // June: the amounts were computed for 2019-06-15, so they are June's.
    let june = c.record_payments(req(&tok, pay("2019-06"))).await.unwrap().into_inner();
    assert_eq!((june.paid, june.not_in_force), (3, 0));
    app.stop().await;
}
both_backends!(payments_only_for_months_in_force, super::payments_only_for_months_in_force);

/// Sixteen clerks write at once (payments for sixteen months, each twice): on SQLite, the
/// default, writers queue instead of failing with "database is locked".
async fn concurrent_writers(backend: Backend) {
    let app = App::spawn(backend).await;
    assert!(import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await.stored);
    let tok = t(Role::CivilAffairs, "210500");
    let mut calls = Vec::new();
    for i in 0..32 {
        let mut c = app.client().await;
        let tok = tok.clone();
        let month = format!("{}-{:02}", 2019 + (5 + i % 16) / 12, (5 + i % 16) % 12 + 1);
        calls.push(tokio::spawn(async move {
            c.record_payments(req(&tok, pb::RecordPaymentsRequest { region_code: "210500".into(), month })).await
        }));
    }
    let mut paid = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(r) => paid += r.into_inner().paid,
            Err(e) => panic!("a concurrent write failed: {e:?}"),
        }
    }
    // Three households, sixteen months, each paid once.
    assert_eq!(paid, 3 * 16);
    app.stop().await;
}
both_backends!(concurrent_writers, super::concurrent_writers);

/// A NUL character is never valid text: refused with the request's fault, not INTERNAL (on
/// PostgreSQL, which cannot store it), and a household id with control characters is refused on
/// either database.
async fn nul_bytes_are_invalid(backend: Backend) {
    let app = App::spawn(backend).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210502");
    let upsert = |id: &str, reason: &str| pb::UpsertHouseholdRequest {
        household: Some(roll_household(household(id, "210502", Residence::Urban, 2, 10_000), pb::RollCategory::Dibao)),
        reason: reason.into(),
        ..Default::default()
    };
    let e = c.upsert_household(req(&tok, upsert("A\0B", ""))).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let r = c.upsert_household(req(&tok, upsert("P-9", "a\0b"))).await;
    match backend {
        Backend::Postgres => assert_eq!(r.unwrap_err().code(), Code::InvalidArgument),
        Backend::Sqlite => assert!(r.is_ok() || r.unwrap_err().code() == Code::InvalidArgument),
    }
    app.stop().await;
}
both_backends!(nul_bytes_are_invalid, super::nul_bytes_are_invalid);

/// Files as clerks have them: Chinese headers, CSV saved by Excel in GBK, XLSX with Chinese
/// headers; a file in neither encoding is refused saying what to do.
async fn clerks_files(backend: Backend) {
    let app = App::spawn(backend).await;
    let zh = "户编号,行政区划代码,城乡,类别,状态,成员编号,年龄,有劳动能力,有收入证明,收入";
    let body: Vec<&str> = CSV.lines().skip(1).collect();
    let text = format!("{zh}\n{}\n", body.join("\n"));
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "the test file must really be GBK");
    let r = import(&app, "210500", "csv", gbk.into_owned(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    assert_eq!(r.households, 4);

    let header: Vec<&str> = zh.split(',').collect();
    let rows: Vec<Vec<String>> = body.iter().map(|l| l.split(',').map(str::to_string).collect()).collect();
    let xlsx =
        civic_runtime::tabular::write(civic_runtime::tabular::Format::Xlsx, &header, rows.iter().map(|r| r.as_slice()))
            .unwrap();
    let r = import(&app, "210500", "xlsx", xlsx, "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);

    let r = import(&app, "210500", "csv", vec![0xff, 0xfe, 0x00, 0x41, 0x0a], "2019-06-15").await;
    assert!(!r.stored);
    assert!(r.errors.iter().any(|e| e.message.contains("UTF-8")), "{:?}", r.errors);
    app.stop().await;
}
both_backends!(clerks_files, super::clerks_files);

/// The streamed export is the same file as the single-message one, in pieces.
async fn streamed_export(backend: Backend) {
    let app = App::spawn(backend).await;
    assert!(import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await.stored);
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let ask = pb::ExportRollRequest { region_code: "210500".into(), format: "csv".into() };
    let whole = c.export_roll(req(&tok, ask.clone())).await.unwrap().into_inner();
    let mut stream = c.export_roll_stream(req(&tok, in_pieces(ask))).await.unwrap().into_inner();
    let mut file = Vec::new();
    let mut first = None;
    while let Some(piece) = stream.message().await.unwrap() {
        if first.is_none() {
            first = Some((piece.filename.clone(), piece.households));
        }
        file.extend_from_slice(&piece.content);
    }
    assert_eq!(first, Some((whole.filename, whole.households)));
    assert_eq!(file, whole.content);
    let e = c
        .export_roll_stream(req(
            &t(Role::CivilAffairs, "210521"),
            pb::ExportRollStreamRequest { region_code: "210500".into(), format: "csv".into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    app.stop().await;
}
both_backends!(streamed_export, super::streamed_export);

/// A roll sent in pieces is imported as if sent whole; a file above the configured limit is
/// refused.
async fn streamed_import(backend: Backend) {
    let mut s = civic_testing::settings(civic_testing::fresh_database(backend).await);
    s.max_import_bytes = 2_000;
    let app = App::spawn_with(s, social_assistance::recalc::RecalcSettings::from_env()).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let pieces = |content: &[u8]| csv_pieces("210500", content, 100);
    let r = c.import_roll_stream(req(&tok, tokio_stream::iter(pieces(CSV.as_bytes())))).await.unwrap().into_inner();
    assert!(r.stored, "{:?}", r.errors);
    assert_eq!(r.households, 4);
    let h = stored(&mut c, &tok, "H002").await;
    assert_eq!(h.monthly_benefit_fen, 106_600);
    let big = format!("{CSV}{}", "H009,210502,urban,dibao,active,m1,45,false,true,\n".repeat(60));
    let e = c.import_roll_stream(req(&tok, tokio_stream::iter(pieces(big.as_bytes())))).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // Excel's GBK with Chinese headers, cut into 100-byte pieces (characters cut between pieces):
    // read as the pieces arrive, the same households.
    let zh = "户编号,行政区划代码,城乡,类别,状态,成员编号,年龄,有劳动能力,有收入证明,收入";
    let body: Vec<&str> = CSV.lines().skip(1).collect();
    let text = format!("{zh}\n{}\n", body.join("\n"));
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    assert!(std::str::from_utf8(&gbk).is_err());
    let r = c.import_roll_stream(req(&tok, tokio_stream::iter(pieces(&gbk)))).await.unwrap().into_inner();
    assert!(r.stored, "{:?}", r.errors);
    assert_eq!((r.households, r.members), (4, 10));
    let h = stored(&mut c, &tok, "H002").await;
    assert_eq!((h.monthly_benefit_fen, h.version), (106_600, 2));
    app.stop().await;

    // The households read from one import are held within the configured memory: past it the
    // file is refused on the row where it was reached, and nothing is stored.
    let mut s = civic_testing::settings(civic_testing::fresh_database(backend).await);
    s.max_import_memory_bytes = 1;
    let app = App::spawn_with(s, social_assistance::recalc::RecalcSettings::from_env()).await;
    let mut c = app.client().await;
    let r = c.import_roll_stream(req(&tok, tokio_stream::iter(pieces(CSV.as_bytes())))).await.unwrap().into_inner();
    assert!(!r.stored);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].row, 3);
    assert!(r.errors[0].message.contains("CIVIC_MAX_IMPORT_MEMORY_BYTES"), "{:?}", r.errors);
    let e = c.get_household(req(&tok, pb::GetHouseholdRequest { household_id: "H001".into() })).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    app.stop().await;
}
both_backends!(streamed_import, super::streamed_import);

/// A roll larger than one slice is stored slice by slice in one transaction: a county's file
/// whose last slice names another county's household stores nothing of its earlier slices; the
/// same file without it replaces and creates across slices, each household once.
async fn import_in_slices(backend: Backend) {
    let app = App::spawn(backend).await;
    let header = CSV.lines().next().unwrap();
    let roll = |n: usize, age: u32| {
        let mut f = format!("{header}\n");
        for i in 0..n {
            f.push_str(&format!("A{i:05},210502,urban,dibao,active,m1,{age},false,true,\n"));
        }
        f
    };
    let r = import(&app, "210502", "csv", roll(45_000, 40).into_bytes(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    assert_eq!(r.households, 45_000);
    // 210521's own household, whose id sorts after every A…
    let theirs = format!("{header}\nZ1,210521,urban,dibao,active,m1,30,false,true,\n");
    assert!(import(&app, "210521", "csv", theirs.into_bytes(), "2019-06-15").await.stored);
    let mut takeover = roll(50_000, 41);
    takeover.push_str("Z1,210502,urban,dibao,active,m1,30,false,true,\n");
    let r = import(&app, "210502", "csv", takeover.clone().into_bytes(), "2019-06-15").await;
    assert!(!r.stored);
    let rows: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(rows, vec![(50_002, "household_id")], "{:?}", r.errors);
    let mut c = app.client().await;
    let county = t(Role::CivilAffairs, "210502");
    let get = |id: &str| pb::GetHouseholdRequest { household_id: id.into() };
    let first = c.get_household(req(&county, get("A00000"))).await.unwrap().into_inner().household.unwrap();
    assert_eq!(first.version, 1, "the first slice was not kept");
    assert_eq!(c.get_household(req(&county, get("A49999"))).await.unwrap_err().code(), Code::NotFound);

    // One more household whose id needs escaping in JSON (a quote, a backslash, Chinese).
    let own = takeover.lines().filter(|l| !l.starts_with("Z1")).collect::<Vec<_>>().join("\n")
        + "\n\"Q\"\"\\李\",210502,urban,dibao,active,m1,41,false,true,\n";
    let r = import(&app, "210502", "csv", own.into_bytes(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    for (id, version) in [("A00000", 2), ("A44999", 2), ("A45000", 1), ("A49999", 1)] {
        let h = c.get_household(req(&county, get(id))).await.unwrap().into_inner().household.unwrap();
        assert_eq!((h.version, h.household.unwrap().members[0].age), (version, 41), "{id}");
    }
    let entries = roll_audit(&app, "210502").await;
    let after: serde_json::Value = serde_json::from_str(&entries.last().unwrap().after_json).unwrap();
    assert_eq!((after["created"].as_i64(), after["replaced"].as_i64()), (Some(5_001), Some(45_000)), "{after}");
    let odd = c.get_household(req(&county, get("Q\"\\李"))).await.unwrap().into_inner().household.unwrap();
    assert_eq!(odd.version, 1);

    // The what-if reads the whole roll into memory (on SQLite 2,000 households a round): every
    // household once, the odd id included.
    let r = c
        .what_if(req(
            &t(Role::Finance, "210502"),
            pb::WhatIfRequest {
                region_code: "210502".into(),
                on_date: "2019-07-01".into(),
                proposed: vec![pb::StandardValue {
                    key: "assistance.dibao.urban".into(),
                    region_code: "210500".into(),
                    value: "650".into(),
                    clause: String::new(),
                }],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.households_computed, 50_001);

    // Exported in pieces as it is read: each at most 1 MiB, together the single-message file.
    let ask = pb::ExportRollRequest { region_code: "210502".into(), format: "csv".into() };
    let whole = c.export_roll(req(&county, ask.clone())).await.unwrap().into_inner();
    assert_eq!(whole.households, 50_001);
    let mut stream = c.export_roll_stream(req(&county, in_pieces(ask))).await.unwrap().into_inner();
    let (mut file, mut sizes, mut heads) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(piece) = stream.message().await.unwrap() {
        sizes.push(piece.content.len());
        heads.push((piece.filename, piece.households));
        file.extend_from_slice(&piece.content);
    }
    assert!(sizes.len() >= 3 && sizes.iter().all(|n| *n <= 1 << 20), "{sizes:?}");
    assert_eq!(heads[0], (whole.filename, 50_001));
    assert!(heads[1..].iter().all(|(f, n)| f.is_empty() && *n == 0));
    assert!(file == whole.content, "the pieces differ from the whole file");
    // Read a page at a time: every household once, in id order (one member each here).
    let text = String::from_utf8(file).unwrap();
    let ids: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(ids.len(), 50_001);
    let plain: Vec<&str> = ids.iter().copied().filter(|id| id.starts_with('A')).collect();
    assert_eq!(plain.len(), 50_000);
    assert!(plain.windows(2).all(|w| w[0] < w[1]), "ids out of order or repeated");
    app.stop().await;
}
both_backends!(import_in_slices, super::import_in_slices);

/// On PostgreSQL a large roll is written while it is read, a slice at a time; what was written
/// is kept only if the whole file can be stored, and the answer is the one a whole-file check
/// gives. Three files of 45,000 households (two slices written before the file ends): one whose
/// last row adds a member to its fourth household (rows apart: the roll is checked and stored
/// whole, that household with both members), one whose last row has a problem (nothing stored,
/// the row named), the same streamed.
async fn import_written_while_read(backend: Backend) {
    let app = App::spawn(backend).await;
    let mut c = app.client().await;
    let county = t(Role::CivilAffairs, "210502");
    let header = CSV.lines().next().unwrap();
    let roll = |prefix: &str, last: &str| {
        let mut f = format!("{header}\n");
        for i in 0..45_000 {
            f.push_str(&format!("{prefix}{i:05},210502,urban,dibao,active,m1,40,false,true,\n"));
        }
        f.push_str(last);
        f.into_bytes()
    };
    let apart = roll("F", "F00003,210502,urban,dibao,active,m2,12,false,true,\n");
    let r = import(&app, "210502", "csv", apart, "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    assert_eq!((r.households, r.members), (45_000, 45_001));
    let get = |id: &str| pb::GetHouseholdRequest { household_id: id.into() };
    let h = c.get_household(req(&county, get("F00003"))).await.unwrap().into_inner().household.unwrap();
    assert_eq!((h.version, h.household.unwrap().members.len()), (1, 2));
    let entries = roll_audit(&app, "210502").await;
    let after: serde_json::Value = serde_json::from_str(&entries.last().unwrap().after_json).unwrap();
    assert_eq!((after["created"].as_i64(), after["replaced"].as_i64()), (Some(45_000), Some(0)), "{after}");

    let bad = roll("G", "G99999,210502,urban,dibao,active,m1,old,false,true,\n");
    let r = import(&app, "210502", "csv", bad.clone(), "2019-06-15").await;
    assert!(!r.stored);
    let rows: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(rows, vec![(45_002, "age")], "{:?}", r.errors);
    assert_eq!(c.get_household(req(&county, get("G00000"))).await.unwrap_err().code(), Code::NotFound);

    let pieces = csv_pieces("210502", &bad, 64 << 10);
    let r = c.import_roll_stream(req(&county, tokio_stream::iter(pieces))).await.unwrap().into_inner();
    assert!(!r.stored);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(c.get_household(req(&county, get("G00000"))).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(roll_audit(&app, "210502").await.len(), entries.len(), "a refused import is not audited");

    // Benefits that cannot be computed (no standard in force yet): nothing stored either.
    let r = import(&app, "210502", "csv", roll("H", ""), "2000-01-01").await;
    assert!(!r.stored && !r.errors.is_empty());
    assert!(r.errors[0].message.contains("standard"), "{:?}", r.errors[0]);
    assert_eq!(c.get_household(req(&county, get("H00000"))).await.unwrap_err().code(), Code::NotFound);
    app.stop().await;
}
both_backends!(import_written_while_read, super::import_written_while_read);

/// Two imports of the same 45,000 new households at once, one file in the other's reverse
/// order: each is stored whole or not at all (ABORTED: try again) — never a roll mixing the two
/// files — and each household is stored once, its version counting the imports stored.
async fn concurrent_imports_of_the_same_households(backend: Backend) {
    let app = App::spawn(backend).await;
    let county = t(Role::CivilAffairs, "210502");
    let header = CSV.lines().next().unwrap();
    let file = |age: u32, reverse: bool| {
        let mut ids: Vec<usize> = (0..45_000).collect();
        if reverse {
            ids.reverse();
        }
        let mut f = format!("{header}\n");
        for i in ids {
            f.push_str(&format!("C{i:05},210502,urban,dibao,active,m1,{age},false,true,\n"));
        }
        f.into_bytes()
    };
    let ask = |content: Vec<u8>| pb::ImportRollRequest {
        region_code: "210502".into(),
        format: "csv".into(),
        content,
        on_date: "2019-06-15".into(),
        reason: "roster".into(),
        dry_run: false,
    };
    let (mut ca, mut cb) = (app.client().await, app.client().await);
    let (a, b) = tokio::join!(
        ca.import_roll(req(&county, ask(file(40, false)))),
        cb.import_roll(req(&county, ask(file(41, true))))
    );
    let mut imports = 0i64;
    for r in [a, b] {
        match r {
            Ok(r) => {
                let r = r.into_inner();
                assert!(r.stored && r.households == 45_000, "{:?}", r.errors.first());
                imports += 1;
            }
            Err(e) => assert_eq!(e.code(), Code::Aborted, "{e:?}"),
        }
    }
    assert!(imports >= 1);
    let mut c = app.client().await;
    let csv = c
        .export_roll(req(&county, pb::ExportRollRequest { region_code: "210502".into(), format: "csv".into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(csv.households, 45_000);
    let text = String::from_utf8(csv.content).unwrap();
    let ages: std::collections::BTreeSet<&str> = text.lines().skip(1).filter_map(|l| l.split(',').nth(6)).collect();
    assert_eq!(ages.len(), 1, "one file's households, not a mix: {ages:?}");
    for id in ["C00000", "C22500", "C44999"] {
        assert_eq!(stored(&mut c, &county, id).await.version, imports, "{id}");
    }
    app.stop().await;
}
both_backends!(concurrent_imports_of_the_same_households, super::concurrent_imports_of_the_same_households);

/// A roll larger as CSV than one message may carry is refused by `ExportRoll` saying to stream
/// it, before the service holds more than a message; `ExportRollStream` exports it.
async fn export_beyond_one_message(backend: Backend) {
    let mut s = civic_testing::settings(civic_testing::fresh_database(backend).await);
    s.max_message_bytes = 8_000;
    let app = App::spawn_with(s, social_assistance::recalc::RecalcSettings::from_env()).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let header = CSV.lines().next().unwrap();
    let mut roll = format!("{header}\n");
    for i in 0..200 {
        roll.push_str(&format!("B{i:04},210502,urban,dibao,active,m1,40,false,true,\n"));
    }
    let pieces = csv_pieces("210500", roll.as_bytes(), 4_000);
    let r = c.import_roll_stream(req(&tok, tokio_stream::iter(pieces))).await.unwrap().into_inner();
    assert!(r.stored, "{:?}", r.errors);
    let ask = pb::ExportRollRequest { region_code: "210500".into(), format: "csv".into() };
    let e = c.export_roll(req(&tok, ask.clone())).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("ExportRollStream"), "{}", e.message());
    let mut stream = c.export_roll_stream(req(&tok, in_pieces(ask))).await.unwrap().into_inner();
    let mut file = Vec::new();
    while let Some(piece) = stream.message().await.unwrap() {
        file.extend_from_slice(&piece.content);
    }
    let text = String::from_utf8(file).unwrap();
    assert_eq!(text.lines().count(), 201);
    assert!(text.contains("B0199,210502,urban,dibao,active,m1,40,false,true,"), "{text}");
    app.stop().await;
}
both_backends!(export_beyond_one_message, super::export_beyond_one_message);

/// A streamed import carries a file, not a question: it runs under the stream limit
/// (`CIVIC_STREAM_TIMEOUT_SECS`), not the one for calls, and is cut when that passes.
async fn streamed_calls_have_their_own_deadline(backend: Backend) {
    let slow_pieces = || {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            for (i, part) in CSV.as_bytes().chunks(200).enumerate() {
                if i == 1 {
                    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
                }
                let piece = pb::ImportRollStreamRequest {
                    region_code: if i == 0 { "210500".into() } else { String::new() },
                    format: if i == 0 { "csv".into() } else { String::new() },
                    content: part.to_vec(),
                    on_date: if i == 0 { "2019-06-15".into() } else { String::new() },
                    ..Default::default()
                };
                if tx.send(piece).await.is_err() {
                    return;
                }
            }
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
    };
    let tok = t(Role::CivilAffairs, "210500");
    for (stream_secs, stored) in [(20, true), (1, false)] {
        let mut s = civic_testing::settings(civic_testing::fresh_database(backend).await);
        s.request_timeout_secs = 1;
        s.stream_timeout_secs = stream_secs;
        let app = App::spawn_with(s, social_assistance::recalc::RecalcSettings::from_env()).await;
        let mut c = app.client().await;
        let r = c.import_roll_stream(req(&tok, slow_pieces())).await;
        if stored {
            let r = r.unwrap().into_inner();
            assert!(r.stored && r.households == 4, "{r:?}");
        } else {
            assert_eq!(r.unwrap_err().code(), Code::DeadlineExceeded);
        }
        app.stop().await;
    }
}
both_backends!(streamed_calls_have_their_own_deadline, super::streamed_calls_have_their_own_deadline);

/// The same export asked of ExportRollStream.
fn in_pieces(ask: pb::ExportRollRequest) -> pb::ExportRollStreamRequest {
    pb::ExportRollStreamRequest { region_code: ask.region_code, format: ask.format }
}

/// A stored household, read back.
async fn stored(
    c: &mut SocialAssistanceServiceClient<tonic::transport::Channel>,
    tok: &str,
    id: &str,
) -> pb::RollHousehold {
    let asked = pb::GetHouseholdRequest { household_id: id.into() };
    c.get_household(req(tok, asked)).await.unwrap().into_inner().household.unwrap()
}
