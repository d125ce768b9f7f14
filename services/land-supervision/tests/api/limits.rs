use civic_proto::land::v1 as pb;
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, token, violated_fields};
use tonic::Code;

async fn published_minima_decide_the_hard_indicators(backend: Backend) {
    let land = crate::Land::spawn(backend).await;
    let mut c = land.client.clone();
    let city = token(Role::NaturalResources, "411700");
    let value = |key: &str, v: &str| pb::LimitValue {
        key: key.into(),
        region_code: "411700".into(),
        value: v.into(),
        clause: "二".into(),
    };
    let publish = pb::PublishLimitsRequest {
        region_code: "411700".into(),
        effective_from: "2023-01-01".into(),
        document: "驻发改〔2023〕8号".into(),
        title: "关于发布工业用地“标准地”控制性指标的通知(测试)".into(),
        values: vec![
            value("land.standard.investment_intensity_min.equipment_manufacturing", "250"),
            value("land.standard.tax_per_mu_min.equipment_manufacturing", "15"),
        ],
        reason: "年度调整".into(),
        validate_only: false,
    };
    // Only the city (or above) publishes; only land parameters; a county may not.
    assert_eq!(
        c.registry
            .publish_limits(authed(&token(Role::NaturalResources, "411702"), publish.clone()))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let mut wrong = publish.clone();
    wrong.values[0].key = "assistance.dibao.urban".into();
    assert_eq!(
        violated_fields(&c.registry.publish_limits(authed(&city, wrong)).await.unwrap_err()),
        vec!["values[0].key"]
    );
    // 附件3-1 第十八条: investment intensity is development-reform's, tax per mu the tax
    // bureau's; the land bureau publishes neither.
    assert_eq!(
        c.registry.publish_limits(authed(&city, publish.clone())).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let only = |i: usize| pb::PublishLimitsRequest { values: vec![publish.values[i].clone()], ..publish.clone() };
    let r = c
        .registry
        .publish_limits(authed(&token(Role::DevelopmentReform, "411700"), only(0)))
        .await
        .unwrap()
        .into_inner();
    assert!(r.stored);
    assert_eq!(r.limits[0].source.as_ref().unwrap().document, "驻发改〔2023〕8号");
    let tax = token(Role::Tax, "411700");
    assert!(c.registry.publish_limits(authed(&tax, only(1))).await.unwrap().into_inner().stored);
    assert_eq!(c.registry.publish_limits(authed(&tax, only(1))).await.unwrap_err().code(), Code::InvalidArgument);
    // With the minima in force, a plan meeting every limit passes; before them it cannot.
    let figures = pb::StandardLandFigures {
        area_mu: "30".into(),
        investment_wan: "7500".into(),
        tax_wan: "450".into(),
        floor_area_sqm: "20000".into(),
        building_footprint_sqm: "8000".into(),
        green_area_sqm: "4000".into(),
        office_land_area_sqm: "1400".into(),
        office_floor_area_sqm: "3000".into(),
        term_years: "20".into(),
        ..Default::default()
    };
    let sale = |on: &str, f: pb::StandardLandFigures| pb::CheckStandardLandRequest {
        region_code: "411702".into(),
        on_date: on.into(),
        industry: "equipment_manufacturing".into(),
        kind: pb::StandardLandCheckKind::Sale as i32,
        figures: Some(f),
        after_rectification: false,
        parcel_id: String::new(),
    };
    let tok = token(Role::ClusterAdmin, "411702");
    let ok = c.land.check_standard_land(authed(&tok, sale("2023-06-30", figures.clone()))).await.unwrap().into_inner();
    assert!(ok.passed, "{:?}", ok.indicators);
    let before =
        c.land.check_standard_land(authed(&tok, sale("2022-12-31", figures.clone()))).await.unwrap().into_inner();
    assert!(!before.passed);
    let mut low = figures;
    low.tax_wan = "449.99".into();
    let r = c.land.check_standard_land(authed(&tok, sale("2023-06-30", low))).await.unwrap().into_inner();
    assert_eq!(r.indicators.iter().find(|i| i.key == "tax_per_mu").unwrap().outcome, "FAIL");
    land.stop().await;
}

civic_testing::both_backends!(published_minima, super::published_minima_decide_the_hard_indicators);
