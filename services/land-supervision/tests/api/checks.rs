use civic_proto::land::v1::{self as pb};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::Code;

/// 30 亩 = 20000 m²: every general limit of 附件3 一(三) exactly met.
pub fn at_limits() -> pb::StandardLandFigures {
    pb::StandardLandFigures {
        area_mu: "30".into(),
        investment_wan: "9000".into(),
        tax_wan: "450".into(),
        floor_area_sqm: "20000".into(),
        building_footprint_sqm: "8000".into(),
        green_area_sqm: "4000".into(),
        office_land_area_sqm: "1400".into(),
        office_floor_area_sqm: "3000".into(),
        term_years: "20".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn standard_land_indicators_on_both_sides_of_each_limit() {
    let land = crate::Land::spawn(Backend::Sqlite).await;
    let mut c = land.client.clone();
    let tok = token(Role::ClusterAdmin, "411702");
    let ask = |f: pb::StandardLandFigures, kind: pb::StandardLandCheckKind, after: bool| pb::CheckStandardLandRequest {
        region_code: "411702".into(),
        on_date: "2023-06-30".into(),
        industry: "equipment_manufacturing".into(),
        kind: kind as i32,
        figures: Some(f),
        after_rectification: after,
        parcel_id: String::new(),
    };
    let outcome = |r: &pb::CheckStandardLandResponse, key: &str| {
        r.indicators.iter().find(|i| i.key == key).map(|i| i.outcome.clone()).unwrap()
    };
    let r = c
        .land
        .check_standard_land(authed(&tok, ask(at_limits(), pb::StandardLandCheckKind::Sale, false)))
        .await
        .unwrap()
        .into_inner();
    for key in [
        "floor_area_ratio",
        "building_coverage",
        "green_ratio",
        "office_land_share",
        "office_floor_share",
        "term_years",
    ] {
        assert_eq!(outcome(&r, key), "PASS", "{key} at its limit");
    }
    // The hard minima of the "3" are published per region and industry; none is here.
    assert_eq!(outcome(&r, "investment_intensity"), "UNDETERMINED");
    assert!(!r.passed);
    let steps = r.explanation.unwrap().steps;
    let far = steps.iter().find(|s| s.rule_id == "land.standard.floor_area_ratio").unwrap();
    assert_eq!(far.parameters[0].source.as_ref().unwrap().clause, "附件3 一(三)");
    // One step past each limit fails.
    type Change = Box<dyn Fn(&mut pb::StandardLandFigures)>;
    let past: Vec<(&str, Change)> = vec![
        ("floor_area_ratio", Box::new(|f| f.floor_area_sqm = "19999".into())),
        ("building_coverage", Box::new(|f| f.building_footprint_sqm = "7999".into())),
        ("green_ratio", Box::new(|f| f.green_area_sqm = "4001".into())),
        ("office_land_share", Box::new(|f| f.office_land_area_sqm = "1401".into())),
        ("office_floor_share", Box::new(|f| f.office_floor_area_sqm = "3001".into())),
        ("term_years", Box::new(|f| f.term_years = "21".into())),
    ];
    for (key, change) in past {
        let mut f = at_limits();
        change(&mut f);
        let r = c
            .land
            .check_standard_land(authed(&tok, ask(f, pb::StandardLandCheckKind::Sale, false)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(outcome(&r, key), "FAIL", "{key}");
    }
    // A failed acceptance opens a rectification period of at most two years; failing again
    // leads to negotiated exit.
    let mut f = at_limits();
    f.floor_area_sqm = "15000".into();
    let r = c
        .land
        .check_standard_land(authed(&tok, ask(f.clone(), pb::StandardLandCheckKind::Acceptance, false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.rectification_deadline, "2025-06-30");
    let r = c
        .land
        .check_standard_land(authed(&tok, ask(f, pb::StandardLandCheckKind::Acceptance, true)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.rectification_deadline, "");
    assert!(r.consequence.contains("协商退出"));
    // Impossible figures.
    let mut f = at_limits();
    f.green_area_sqm = "20001".into();
    let e = c.land.check_standard_land(authed(&tok, ask(f, pb::StandardLandCheckKind::Sale, false))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["figures.green_area_sqm"]);

    // Extensions: once per milestone, asked at least a month before it (附件3-1 第十三条).
    let ext = |asked: &str, before: i32| pb::CheckExtensionRequest {
        region_code: "411702".into(),
        milestone_date: "2024-06-30".into(),
        asked_on: asked.into(),
        extensions_before: before,
    };
    assert!(c.land.check_extension(authed(&tok, ext("2024-05-30", 0))).await.unwrap().into_inner().allowed);
    let late = c.land.check_extension(authed(&tok, ext("2024-05-31", 0))).await.unwrap_err();
    assert_eq!((late.code(), error_reason(&late).as_str()), (Code::FailedPrecondition, "EXTENSION_NOT_ALLOWED"));
    assert_eq!(
        c.land.check_extension(authed(&tok, ext("2024-01-01", 1))).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    // Cluster rules: 60 % industrial and warehouse, 70 % in use to expand, 50 % "标准地".
    let cl = |used: &str, industrial: &str, standard: &str| pb::CheckClusterRequest {
        region_code: "411702".into(),
        on_date: "2023-06-30".into(),
        industry_led: true,
        planned_construction_land_mu: "1000".into(),
        used_construction_land_mu: used.into(),
        industrial_land_mu: industrial.into(),
        warehouse_land_mu: "50".into(),
        new_industrial_land_mu: "100".into(),
        new_standard_land_mu: standard.into(),
        tax_per_mu_wan: "12".into(),
    };
    let at = c.land.check_cluster(authed(&tok, cl("700", "550", "50"))).await.unwrap().into_inner();
    assert!(at.may_expand);
    assert!(at.indicators.iter().all(|i| i.outcome == "PASS"), "{:?}", at.indicators);
    assert_eq!(at.tax_target_progress_percent, "80.00");
    let below = c.land.check_cluster(authed(&tok, cl("699.99", "549.99", "49.99"))).await.unwrap().into_inner();
    assert!(!below.may_expand);
    assert!(below.indicators.iter().all(|i| i.outcome == "FAIL"), "{:?}", below.indicators);
    let e = c.land.check_cluster(authed(&tok, cl("1001", "550", "50"))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["used_construction_land_mu"]);
    land.stop().await;
}
