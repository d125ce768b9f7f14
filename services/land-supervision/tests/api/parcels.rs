use civic_proto::land::v1::{self as pb};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::Code;

async fn clusters_and_parcels(backend: Backend) {
    let land = crate::Land::spawn(backend).await;
    let mut c = land.client.clone();
    let admin = token(Role::ClusterAdmin, "411702");
    let cluster = pb::Cluster {
        cluster_id: "ZMD-YC".into(),
        region_code: "411702".into(),
        name: "驿城区产业集聚区".into(),
        industry_led: true,
        planned_area_mu: "1000".into(),
        used_area_mu: "700".into(),
        version: 0,
    };
    c.registry
        .upsert_cluster(authed(
            &admin,
            pb::UpsertClusterRequest { cluster: Some(cluster.clone()), expected_version: 0, reason: "建档".into() },
        ))
        .await
        .unwrap();
    assert_eq!(
        c.registry
            .upsert_cluster(authed(
                &admin,
                pb::UpsertClusterRequest { cluster: Some(cluster), expected_version: 0, reason: String::new() }
            ))
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );
    let parcel = |id: &str, area: &str, use_: &str| pb::Parcel {
        parcel_id: id.into(),
        cluster_id: "ZMD-YC".into(),
        region_code: "411702".into(),
        area_mu: area.into(),
        land_use: use_.into(),
        supply_mode: "STANDARD_LAND".into(),
        contract_no: format!("驻出让{id}"),
        contracted: [("investment_intensity".to_string(), "300".to_string())].into_iter().collect(),
        milestones: [
            ("start".to_string(), "2022-03-01".to_string()),
            ("completion".to_string(), "2023-12-31".to_string()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    for (id, area, use_) in [
        ("P1", "300", "INDUSTRIAL"),
        ("P2", "250", "NEW_TYPE_INDUSTRIAL"),
        ("P3", "50", "WAREHOUSE"),
        ("P4", "400", "OTHER"),
    ] {
        let p = c
            .registry
            .upsert_parcel(authed(
                &admin,
                pb::UpsertParcelRequest {
                    parcel: Some(parcel(id, area, use_)),
                    expected_version: 0,
                    status_on: "2022-01-10".into(),
                    reason: "建档".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .parcel
            .unwrap();
        assert_eq!((p.status.as_str(), p.history.len()), ("PLANNED", 1));
    }
    // The cluster view applies the cluster rules to what is stored: (300 + 250 + 50) / 1000 = 60 %.
    let view = c
        .registry
        .get_cluster(authed(
            &admin,
            pb::GetClusterRequest { cluster_id: "ZMD-YC".into(), on_date: "2023-06-30".into() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(view.parcels, 4);
    // Towns read their county's clusters too.
    let town = token(Role::Town, "411702");
    assert!(c
        .registry
        .get_cluster(authed(&town, pb::GetClusterRequest { cluster_id: "ZMD-YC".into(), on_date: String::new() }))
        .await
        .is_ok());
    let rules = view.rules.unwrap();
    assert!(rules.may_expand);
    assert_eq!(rules.indicators.iter().find(|i| i.key == "industrial_share").unwrap().outcome, "PASS");
    // Status moves forward only, each change dated; RECOVERED ends it.
    let mut v = 1;
    for (status, on) in [("SOLD", "2022-02-01"), ("UNDER_CONSTRUCTION", "2022-03-01")] {
        let mut p = parcel("P1", "300", "INDUSTRIAL");
        p.status = status.into();
        let saved = c
            .registry
            .upsert_parcel(authed(
                &admin,
                pb::UpsertParcelRequest {
                    parcel: Some(p),
                    expected_version: v,
                    status_on: on.into(),
                    reason: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .parcel
            .unwrap();
        v = saved.version;
    }
    let mut back = parcel("P1", "300", "INDUSTRIAL");
    back.status = "SOLD".into();
    let e = c
        .registry
        .upsert_parcel(authed(
            &admin,
            pb::UpsertParcelRequest {
                parcel: Some(back.clone()),
                expected_version: v,
                status_on: "2022-04-01".into(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "STATUS_OUT_OF_ORDER");
    assert!(e.message().contains("UNDER_CONSTRUCTION"));
    let e = c
        .registry
        .upsert_parcel(authed(
            &admin,
            pb::UpsertParcelRequest {
                parcel: Some(back),
                expected_version: 1,
                status_on: "2022-04-01".into(),
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "VERSION_CONFLICT");
    let mut recovered = parcel("P1", "300", "INDUSTRIAL");
    recovered.status = "RECOVERED".into();
    let p = c
        .registry
        .upsert_parcel(authed(
            &admin,
            pb::UpsertParcelRequest {
                parcel: Some(recovered),
                expected_version: v,
                status_on: "2024-01-05".into(),
                reason: "协商退出".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .parcel
        .unwrap();
    assert_eq!(
        p.history.iter().map(|h| h.status.as_str()).collect::<Vec<_>>(),
        vec!["PLANNED", "SOLD", "UNDER_CONSTRUCTION", "RECOVERED"]
    );
    assert_eq!(p.history[3].on_date, "2024-01-05");
    // Recovered land no longer counts: 300 / 1000 of industrial + warehouse now 30 %.
    let view = c
        .registry
        .get_cluster(authed(
            &admin,
            pb::GetClusterRequest { cluster_id: "ZMD-YC".into(), on_date: "2024-06-30".into() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(view.rules.unwrap().indicators.iter().find(|i| i.key == "industrial_share").unwrap().outcome, "FAIL");
    // Bad input and other counties.
    let mut bad = parcel("P9", "-1", "INDUSTRIAL");
    assert_eq!(
        violated_fields(
            &c.registry
                .upsert_parcel(authed(
                    &admin,
                    pb::UpsertParcelRequest {
                        parcel: Some(bad.clone()),
                        expected_version: 0,
                        status_on: String::new(),
                        reason: String::new()
                    }
                ))
                .await
                .unwrap_err()
        ),
        vec!["parcel.area_mu"]
    );
    bad.area_mu = "10".into();
    bad.milestones.insert("start".into(), "2022-02-30".into());
    assert_eq!(
        violated_fields(
            &c.registry
                .upsert_parcel(authed(
                    &admin,
                    pb::UpsertParcelRequest {
                        parcel: Some(bad),
                        expected_version: 0,
                        status_on: String::new(),
                        reason: String::new()
                    }
                ))
                .await
                .unwrap_err()
        ),
        vec!["parcel.milestones[start]"]
    );
    let other = token(Role::ClusterAdmin, "411721");
    assert_eq!(
        c.registry
            .get_parcel(authed(&other, pb::GetParcelRequest { parcel_id: "P2".into() }))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let list = c
        .registry
        .list_parcels(authed(
            &admin,
            pb::ListParcelsRequest { region_code: "411702".into(), cluster_id: "ZMD-YC".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.parcels.len(), 4);
    // Production acceptance against the parcel's contract: 300 万元/亩 contracted.
    let accept = |investment: &str| pb::CheckStandardLandRequest {
        region_code: "411702".into(),
        on_date: "2024-06-30".into(),
        industry: "equipment_manufacturing".into(),
        kind: pb::StandardLandCheckKind::Acceptance as i32,
        figures: Some(pb::StandardLandFigures {
            area_mu: "250".into(),
            investment_wan: investment.into(),
            ..Default::default()
        }),
        after_rectification: false,
        parcel_id: "P2".into(),
    };
    let outcome = |r: &pb::CheckStandardLandResponse| {
        r.indicators.iter().find(|i| i.key == "contract:investment_intensity").unwrap().outcome.clone()
    };
    let below = c.land.check_standard_land(authed(&admin, accept("74750"))).await.unwrap().into_inner();
    assert_eq!(outcome(&below), "FAIL");
    assert_eq!(below.rectification_deadline, "2026-06-30");
    let at = c.land.check_standard_land(authed(&admin, accept("75000"))).await.unwrap().into_inner();
    assert_eq!(outcome(&at), "PASS");
    land.stop().await;
}

civic_testing::both_backends!(clusters_and_parcels, super::clusters_and_parcels);
