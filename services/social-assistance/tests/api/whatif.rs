//! What-if reforms and funding need over the stored roll; nothing is stored by either.

use civic_proto::assistance::v1 as pb;
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::violated_fields;

use crate::{
    both_backends,
    harness::{req, t, App},
    roll::{import, CSV},
};

/// What if `region`'s urban 低保 standard were 650 yuan on `on_date`.
pub(crate) fn urban_650(region: &str, on_date: &str) -> pb::WhatIfRequest {
    pb::WhatIfRequest {
        region_code: region.into(),
        on_date: on_date.into(),
        proposed: vec![pb::StandardValue {
            key: "assistance.dibao.urban".into(),
            region_code: region.into(),
            value: "650".into(),
            clause: String::new(),
        }],
    }
}

async fn what_if_650(backend: Backend) {
    let app = App::spawn(backend).await;
    import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-07-01").await;
    let mut c = app.client().await;
    let tok = t(Role::Finance, "210500");
    let proposed = |region: &str| pb::StandardValue {
        key: "assistance.dibao.urban".into(),
        region_code: region.into(),
        value: "650".into(),
        clause: String::new(),
    };
    let r = c
        .what_if(req(
            &tok,
            pb::WhatIfRequest {
                region_code: "210500".into(),
                on_date: "2019-07-01".into(),
                proposed: vec![proposed("210500"), proposed("210521")],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let total = r.total.unwrap();
    assert_eq!(total.current_monthly_fen, 96_600 + 124_400 + 66_800);
    assert_eq!(total.proposed_monthly_fen, 105_000 + 130_000 + 66_800 + 5_000);
    assert_eq!((total.gaining, total.losing, total.newly_eligible), (2, 0, 1));
    assert_eq!(r.households_computed, 4);
    let county: Vec<(&str, i64)> =
        r.counties.iter().map(|l| (l.region_code.as_str(), l.difference_monthly_fen)).collect();
    assert_eq!(county, vec![("210502", 8_400), ("210521", 5_600 + 5_000), ("210522", 0)]);
    // Nothing stored.
    let s = c
        .list_standards(req(
            &tok,
            pb::ListStandardsRequest {
                region_code: "210502".into(),
                on_date: "2019-07-01".into(),
                page_size: 1000,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.standards.iter().find(|p| p.key == "assistance.dibao.urban").unwrap().value, "622");
    // A proposal that breaks a published derived figure is refused like a publication.
    let bad = c
        .what_if(req(
            &tok,
            pb::WhatIfRequest {
                region_code: "210500".into(),
                on_date: "2019-07-01".into(),
                proposed: vec![pb::StandardValue { value: "x".into(), ..proposed("210500") }],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), vec!["proposed[0].value"]);
    app.stop().await;
}
both_backends!(what_if_650, super::what_if_650);

/// Two replicas over one database: a household created through one is in the other's very next
/// what-if (the roll's stored change count moved; before, the other replica kept the roll it
/// had read for up to a minute), and a what-if with nothing changed answers from the roll kept.
async fn a_change_through_another_replica_is_in_the_next_what_if(backend: Backend) {
    use crate::roll::roll_household;
    let a = App::spawn(backend).await;
    import(&a, "210500", "csv", CSV.as_bytes().to_vec(), "2019-07-01").await;
    let b = App::spawn_on(a.database_url.clone(), social_assistance::recalc::RecalcSettings::from_env()).await;
    let ask = || req(&t(Role::Finance, "210500"), urban_650("210500", "2019-07-01"));
    let mut ca = a.client().await;
    let before = ca.what_if(ask()).await.unwrap().into_inner();
    assert_eq!(before.households_computed, 4);
    let again = ca.what_if(ask()).await.unwrap().into_inner();
    assert_eq!((again.total, again.counties), (before.total.clone(), before.counties.clone()), "nothing changed");
    let created = pb::UpsertHouseholdRequest {
        household: Some(roll_household(
            crate::harness::household("P-1", "210502", pb::Residence::Urban, 3, 90_000),
            pb::RollCategory::Dibao,
        )),
        expected_version: 0,
        reason: "new application".into(),
        on_date: "2019-07-15".into(),
    };
    b.client().await.upsert_household(req(&t(Role::CivilAffairs, "210502"), created)).await.unwrap();
    let after = ca.what_if(ask()).await.unwrap().into_inner();
    assert_eq!(after.households_computed, 5, "the household created through the other replica");
    let (was, now) = (before.total.unwrap(), after.total.unwrap());
    // 622 × 3 − 900 = 966 yuan now, 650 × 3 − 900 = 1,050 yuan proposed.
    assert_eq!(now.current_monthly_fen - was.current_monthly_fen, 96_600);
    assert_eq!(now.proposed_monthly_fen - was.proposed_monthly_fen, 105_000);
    // An import through the other replica too.
    let more = format!("{CSV}H900,210522,urban,dibao,active,m1,45,false,true,\n");
    assert!(import(&b, "210500", "csv", more.into_bytes(), "2019-07-01").await.stored);
    assert_eq!(ca.what_if(ask()).await.unwrap().into_inner().households_computed, 6);
    b.stop().await;
    a.stop().await;
}
/// One query straight to the database.
async fn sql(database_url: &str, statement: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    if statement.starts_with("SELECT") {
        sqlx::query(statement).fetch_one(&mut conn).await.unwrap().try_get(0).unwrap()
    } else {
        sqlx::query(statement).execute(&mut conn).await.unwrap().rows_affected() as i64
    }
}

/// A roll read for a what-if is kept as a snapshot; a replica started afterwards answers its
/// first what-if from it while the roll has not changed, and reads the roll again once it has.
async fn the_first_what_if_after_a_start_reads_the_kept_snapshot(backend: Backend) {
    use crate::roll::roll_household;
    let mut s = civic_testing::settings(civic_testing::fresh_database(backend).await);
    s.roll_snapshot_min_households = 1;
    let recalc = social_assistance::recalc::RecalcSettings::from_env;
    let a = App::spawn_with(s.clone(), recalc()).await;
    import(&a, "210500", "csv", CSV.as_bytes().to_vec(), "2019-07-01").await;
    let ask = || req(&t(Role::Finance, "210500"), urban_650("210500", "2019-07-01"));
    let first = a.client().await.what_if(ask()).await.unwrap().into_inner();
    let url = a.database_url.clone();
    let count = "SELECT CAST(COUNT(*) AS BIGINT) FROM roll_snapshots WHERE prefix = '2105'";
    for _ in 0..100 {
        if sql(&url, count).await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sql(&url, count).await, 1, "the snapshot kept (one part)");
    a.stop().await;

    // Changed behind the service's back (not counted as a change): a replica that answers from
    // the snapshot does not see it, one that read the roll would.
    assert_eq!(sql(&url, "UPDATE households SET status = 'closed' WHERE id = 'H001'").await, 1);
    let b = App::spawn_with(s.clone(), recalc()).await;
    let mut c = b.client().await;
    let from_snapshot = c.what_if(ask()).await.unwrap().into_inner();
    assert_eq!((from_snapshot.total, from_snapshot.counties), (first.total.clone(), first.counties.clone()));

    // A counted change: the next what-if reads the roll, the closed household and the new one.
    let created = pb::UpsertHouseholdRequest {
        household: Some(roll_household(
            crate::harness::household("P-1", "210502", pb::Residence::Urban, 3, 90_000),
            pb::RollCategory::Dibao,
        )),
        reason: "new application".into(),
        on_date: "2019-07-15".into(),
        ..Default::default()
    };
    c.upsert_household(req(&t(Role::CivilAffairs, "210502"), created)).await.unwrap();
    let read = c.what_if(ask()).await.unwrap().into_inner();
    let (was, now) = (first.total.unwrap(), read.total.unwrap());
    // H001 (966 yuan now, 1,050 proposed) closed, P-1 (the same figures) added.
    assert_eq!(
        (now.current_monthly_fen, now.proposed_monthly_fen),
        (was.current_monthly_fen, was.proposed_monthly_fen)
    );
    assert_eq!(now.households, was.households, "{now:?}");
    b.stop().await;
}
both_backends!(
    the_first_what_if_after_a_start_reads_the_kept_snapshot,
    super::the_first_what_if_after_a_start_reads_the_kept_snapshot
);

both_backends!(
    a_change_through_another_replica_is_in_the_next_what_if,
    super::a_change_through_another_replica_is_in_the_next_what_if
);

async fn funding_need_when_standards_rise(backend: Backend) {
    let app = App::spawn(backend).await;
    import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await;
    let mut c = app.client().await;
    let r = c
        .estimate_funding_need(req(
            &t(Role::Finance, "210500"),
            pb::EstimateFundingNeedRequest { region_code: "210500".into(), effective_from: "2019-07-01".into() },
        ))
        .await
        .unwrap()
        .into_inner();
    let lines: Vec<(&str, &str, i64, i64, i64, i64)> = r
        .lines
        .iter()
        .map(|l| {
            (
                l.region_code.as_str(),
                l.category.as_str(),
                l.extra_monthly_fen,
                l.extra_rest_of_year_fen,
                l.extra_full_year_fen,
                l.newly_eligible_households,
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("210502", "dibao.urban", 11_700, 6 * 11_700, 12 * 11_700, 0),
            ("210521", "dibao.urban", 17_800, 6 * 17_800, 12 * 17_800, 1),
            ("210522", "dibao.rural", 18_400, 6 * 18_400, 12 * 18_400, 0),
        ]
    );
    let newly = r.lines.iter().find(|l| l.region_code == "210521").unwrap();
    assert_eq!(newly.newly_eligible_monthly_fen, 2_200);
    assert_eq!(r.total_full_year_fen, 12 * (11_700 + 17_800 + 18_400));
    app.stop().await;
}
both_backends!(funding_need, super::funding_need_when_standards_rise);

/// On a date with no 低保 standard, what-if and funding need refuse, as a benefit does, instead
/// of answering 0.
async fn no_standard_no_answer(backend: Backend) {
    let app = App::spawn(backend).await;
    import(&app, "210500", "csv", CSV.as_bytes().to_vec(), "2019-06-15").await;
    let mut c = app.client().await;
    let tok = t(Role::Finance, "210500");
    let proposed = pb::StandardValue {
        key: "assistance.dibao.urban".into(),
        region_code: "210500".into(),
        value: "650".into(),
        clause: String::new(),
    };
    let e = c
        .what_if(req(
            &tok,
            pb::WhatIfRequest { region_code: "210500".into(), on_date: "2018-01-01".into(), proposed: vec![proposed] },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    let e = c
        .estimate_funding_need(req(
            &tok,
            pb::EstimateFundingNeedRequest { region_code: "210500".into(), effective_from: "2018-01-01".into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    app.stop().await;
}
both_backends!(no_standard_no_answer, super::no_standard_no_answer);
