//! Who sees and changes the roll: a county its own, the city all of its counties, auditors read
//! only, other bureaus nothing.

use civic_proto::assistance::v1::{self as pb, Residence};
use civic_runtime::{identity::Role, storage::Backend};
use tonic::Code;

use crate::{
    both_backends,
    harness::{household, req, t, App},
    roll::{import, roll_household, CSV},
};

async fn access_matrix(backend: Backend) {
    let app = App::spawn(backend).await;
    import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await;
    let mut c = app.client().await;
    let get = |id: &str| pb::GetHouseholdRequest { household_id: id.into() };
    // (role, scope, household in 210521, allowed to read)
    let reads = [
        (Role::CivilAffairs, "210521", true),
        (Role::CivilAffairs, "210522", false),
        (Role::CivilAffairs, "210500", true),
        (Role::Auditor, "210500", true),
        (Role::Auditor, "210522", false),
        (Role::Admin, "000000", true),
        (Role::Finance, "210500", false),
        (Role::NaturalResources, "210521", false),
        (Role::Town, "210521", false),
    ];
    for (role, scope, allowed) in reads {
        let r = c.get_household(req(&t(role, scope), get("H002"))).await;
        match (allowed, r) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert_eq!(e.code(), Code::PermissionDenied, "{role:?} {scope}"),
            (a, r) => panic!("{role:?} {scope}: expected allowed={a}, got {r:?}"),
        }
    }
    let list = |region: &str| pb::ListHouseholdsRequest { region_code: region.into(), ..Default::default() };
    assert_eq!(
        c.list_households(req(&t(Role::CivilAffairs, "210521"), list("210522"))).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        c.list_households(req(&t(Role::CivilAffairs, "210521"), list("210521")))
            .await
            .unwrap()
            .into_inner()
            .households
            .len(),
        2
    );
    // Writes: auditors never; a county only in its county.
    let new = |id: &str, region: &str| pb::UpsertHouseholdRequest {
        household: Some(roll_household(household(id, region, Residence::Urban, 1, 0), pb::RollCategory::Dibao)),
        expected_version: 0,
        reason: String::new(),
        on_date: "2019-07-01".into(),
    };
    let e = c.upsert_household(req(&t(Role::Auditor, "000000"), new("A1", "210521"))).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(civic_testing::error_reason(&e), "AUDITOR_READ_ONLY");
    assert_eq!(
        c.upsert_household(req(&t(Role::CivilAffairs, "210522"), new("A2", "210521"))).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    // Moving another county's household into your own is refused too.
    let mut steal = new("H002", "210522");
    steal.expected_version = 1;
    assert_eq!(
        c.upsert_household(req(&t(Role::CivilAffairs, "210522"), steal)).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    c.upsert_household(req(&t(Role::CivilAffairs, "210521"), new("A3", "210521"))).await.unwrap();
    // Unauthenticated.
    assert_eq!(c.get_household(tonic::Request::new(get("H002"))).await.unwrap_err().code(), Code::Unauthenticated);
    app.stop().await;
}
both_backends!(access_matrix, super::access_matrix);
