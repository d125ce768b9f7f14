//! The roll: create, update with versions, list, import with row errors, export and re-import.

use civic_proto::assistance::v1::{self as pb, Residence};
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
    let saved = c.upsert_household(req(&tok, create.clone())).await.unwrap().into_inner();
    assert_eq!((saved.version, saved.monthly_benefit_fen), (1, 96_600));
    // Creating it again, or updating with a stale version, is refused.
    assert_eq!(c.upsert_household(req(&tok, create.clone())).await.unwrap_err().code(), Code::AlreadyExists);
    let mut update = create.clone();
    update.expected_version = 1;
    update.household.as_mut().unwrap().household.as_mut().unwrap().members[0].incomes[0].monthly_fen = 120_000;
    let v2 = c.upsert_household(req(&tok, update.clone())).await.unwrap().into_inner();
    assert_eq!((v2.version, v2.monthly_benefit_fen), (2, 66_600));
    let stale = c.upsert_household(req(&tok, update)).await.unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert_eq!(civic_runtime::testing::error_reason(&stale), "VERSION_CONFLICT");
    let got =
        c.get_household(req(&tok, pb::GetHouseholdRequest { household_id: "P-1".into() })).await.unwrap().into_inner();
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
    let h1 =
        c.get_household(req(&tok, pb::GetHouseholdRequest { household_id: "H001".into() })).await.unwrap().into_inner();
    assert_eq!(h1.monthly_benefit_fen, 84_900);
    let h2 =
        c.get_household(req(&tok, pb::GetHouseholdRequest { household_id: "H002".into() })).await.unwrap().into_inner();
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
        let again = oc
            .get_household(req(&tok, pb::GetHouseholdRequest { household_id: "H001".into() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.household, h1.household, "{format}");
        other.stop().await;
    }
    app.stop().await;
}
both_backends!(import_export_round_trip, super::import_export_round_trip);
