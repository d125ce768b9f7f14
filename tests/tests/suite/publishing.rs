//! Who may publish what, as a matrix over both publishing RPCs: the rights are data
//! (policies/publishing.csv) and each cell is called over gRPC.

use civic_proto::{
    assistance::v1::{self as apb, social_assistance_service_client::SocialAssistanceServiceClient},
    land::v1::{self as lpb, land_registry_service_client::LandRegistryServiceClient},
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, channel, error_reason, fresh_database, settings, token};
use tonic::Code;

fn limit(key: &str, region: &str) -> lpb::PublishLimitsRequest {
    lpb::PublishLimitsRequest {
        region_code: region.into(),
        effective_from: "2024-01-01".into(),
        document: "测试〔2024〕1号".into(),
        title: "测试".into(),
        values: vec![lpb::LimitValue {
            key: key.into(),
            region_code: region.into(),
            value: "1".into(),
            clause: "一".into(),
        }],
        reason: String::new(),
        validate_only: true,
    }
}

#[tokio::test]
async fn publishing_rights_matrix() {
    let (ltx, lrx) = tokio::sync::oneshot::channel::<()>();
    let land = land_supervision::start(settings(fresh_database(Backend::Sqlite).await), async move {
        let _ = lrx.await;
    })
    .await
    .unwrap();
    let mut l = LandRegistryServiceClient::new(channel(land.grpc_addr).await);
    // (role, token scope, key, figure region, allowed)
    let cells: &[(Role, &str, &str, &str, bool)] = &[
        (Role::Tax, "411700", "land.standard.tax_per_mu_min.equipment_manufacturing", "411700", true),
        (Role::Tax, "411702", "land.standard.tax_per_mu_min.equipment_manufacturing", "411702", true),
        (
            Role::DevelopmentReform,
            "411700",
            "land.standard.investment_intensity_min.equipment_manufacturing",
            "411700",
            true,
        ),
        (Role::NaturalResources, "411700", "land.standard.floor_area_ratio_min", "411700", true),
        (Role::NaturalResources, "411700", "land.industrial.green_ratio_max", "411700", true),
        (Role::NaturalResources, "411700", "land.cluster_eval.reward_quota_mu", "411700", true),
        // Another bureau's minimum.
        (Role::NaturalResources, "411700", "land.standard.tax_per_mu_min.equipment_manufacturing", "411700", false),
        (
            Role::NaturalResources,
            "411700",
            "land.standard.investment_intensity_min.equipment_manufacturing",
            "411700",
            false,
        ),
        (Role::Tax, "411700", "land.standard.investment_intensity_min.equipment_manufacturing", "411700", false),
        (Role::IndustryIt, "411700", "land.standard.tax_per_mu_min.equipment_manufacturing", "411700", false),
        // National statute figures are not published by a city.
        (Role::NaturalResources, "411700", "land.idle.fee_rate", "411700", false),
        (Role::NaturalResources, "411700", "land.idle.recovery_years", "411700", false),
        // City-only figures, not a county's.
        (Role::NaturalResources, "411702", "land.cluster_eval.reward_quota_mu", "411702", false),
        // Outside the caller's region; auditors never write.
        (Role::Tax, "411721", "land.standard.tax_per_mu_min.equipment_manufacturing", "411702", false),
        (Role::Auditor, "000000", "land.standard.tax_per_mu_min.equipment_manufacturing", "411700", false),
    ];
    for (role, scope, key, region, allowed) in cells {
        let r = l.publish_limits(authed(&token(*role, scope), limit(key, region))).await;
        match (allowed, r) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert_eq!(e.code(), Code::PermissionDenied, "{role:?} {scope} {key}: {e:?}"),
            (true, Err(e)) => panic!("{role:?} {scope} {key} {region} refused: {e:?}"),
            (false, Ok(_)) => panic!("{role:?} {scope} {key} {region} was allowed"),
        }
    }
    let e = l
        .publish_limits(authed(&token(Role::NaturalResources, "411700"), limit("land.idle.fee_rate", "411700")))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "NO_PUBLISHING_RIGHT");
    let e = l
        .publish_limits(authed(
            &token(Role::NaturalResources, "411700"),
            limit("land.standard.tax_per_mu_min.x", "411700"),
        ))
        .await
        .unwrap_err();
    assert!(e.message().contains("tax") && e.message().contains("第十八条"), "{}", e.message());
    let _ = ltx.send(());
    land.wait().await;

    let (atx, arx) = tokio::sync::oneshot::channel::<()>();
    let assist = social_assistance::start(settings(fresh_database(Backend::Sqlite).await), async move {
        let _ = arx.await;
    })
    .await
    .unwrap();
    let mut a = SocialAssistanceServiceClient::new(channel(assist.grpc_addr).await);
    let standard = |region: &str| apb::PublishStandardsRequest {
        region_code: region.into(),
        effective_from: "2024-01-01".into(),
        document: "测试〔2024〕2号".into(),
        title: "测试".into(),
        values: vec![apb::StandardValue {
            key: "assistance.dibao.urban".into(),
            region_code: region.into(),
            value: "700".into(),
            clause: "一".into(),
        }],
        reason: String::new(),
        validate_only: true,
    };
    let cells: &[(Role, &str, &str, bool)] = &[
        (Role::Finance, "210500", "210500", true),
        (Role::CivilAffairs, "210500", "210500", true),
        (Role::CivilAffairs, "210500", "210521", false),
        (Role::CivilAffairs, "210521", "210521", false),
        (Role::NaturalResources, "210500", "210500", false),
        (Role::Tax, "210500", "210500", false),
    ];
    for (role, scope, region, allowed) in cells {
        let r = a.publish_standards(authed(&token(*role, scope), standard(region))).await;
        match (allowed, r) {
            (true, Ok(_)) => {}
            (false, Err(e)) => assert_eq!(e.code(), Code::PermissionDenied, "{role:?} {scope} {region}: {e:?}"),
            (true, Err(e)) => panic!("{role:?} {scope} {region} refused: {e:?}"),
            (false, Ok(_)) => panic!("{role:?} {scope} {region} was allowed"),
        }
    }
    let _ = atx.send(());
    assist.wait().await;
}
