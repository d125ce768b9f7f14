//! Extreme values in every decimal field of the land checks: each answer is a verdict or a
//! field error, never a panic (CANCELLED), INTERNAL or UNKNOWN.

use civic_proto::land::v1::{self as pb};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, token};

pub const EXTREMES: &[&str] = &[
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "1e30",
    "1000000000000",
    "-1000000000000",
    "999999999999.9999999999",
    "0.0000000001",
    "0.00000000000000000000000001",
    "0",
    "-0.5",
    "NaN",
];

fn acceptable(code: tonic::Code) -> bool {
    matches!(code, tonic::Code::Ok | tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition)
}

type Field<T> = (&'static str, fn(&mut T) -> &mut String);

#[tokio::test]
async fn extreme_decimals_never_panic() {
    let land = crate::Land::spawn(Backend::Sqlite).await;
    let mut c = land.client.clone();
    let tok = token(Role::ClusterAdmin, "411702");
    let figures: Vec<Field<pb::StandardLandFigures>> = vec![
        ("area_mu", |f| &mut f.area_mu),
        ("investment_wan", |f| &mut f.investment_wan),
        ("tax_wan", |f| &mut f.tax_wan),
        ("floor_area_sqm", |f| &mut f.floor_area_sqm),
        ("building_footprint_sqm", |f| &mut f.building_footprint_sqm),
        ("green_area_sqm", |f| &mut f.green_area_sqm),
        ("office_land_area_sqm", |f| &mut f.office_land_area_sqm),
        ("office_floor_area_sqm", |f| &mut f.office_floor_area_sqm),
        ("term_years", |f| &mut f.term_years),
        ("industrial_land_area_sqm", |f| &mut f.industrial_land_area_sqm),
        ("industrial_floor_area_sqm", |f| &mut f.industrial_floor_area_sqm),
    ];
    for (name, field) in &figures {
        for v in EXTREMES {
            let mut f = super::checks::at_limits();
            *field(&mut f) = v.to_string();
            let r = pb::CheckStandardLandRequest {
                region_code: "411702".into(),
                on_date: "2023-06-30".into(),
                industry: "equipment_manufacturing".into(),
                kind: pb::StandardLandCheckKind::Sale as i32,
                figures: Some(f),
                after_rectification: false,
                parcel_id: String::new(),
            };
            let code = match c.land.check_standard_land(authed(&tok, r)).await {
                Ok(_) => tonic::Code::Ok,
                Err(e) => e.code(),
            };
            assert!(acceptable(code), "CheckStandardLand {name} = {v}: {code:?}");
        }
    }

    let scheme = || pb::PerMuScheme {
        name: "test".into(),
        document: String::new(),
        indicators: vec![
            pb::PerMuIndicator {
                name: "亩均税收".into(),
                benchmark: "15".into(),
                weight: "60".into(),
                higher_is_better: true,
                missing: pb::MissingValue::AverageScore as i32,
            },
            pb::PerMuIndicator {
                name: "能耗".into(),
                benchmark: "2".into(),
                weight: "40".into(),
                higher_is_better: false,
                missing: pb::MissingValue::AverageScore as i32,
            },
        ],
        classing: Some(pb::per_mu_scheme::Classing::RankShares(pb::RankShares {
            a: "0.2".into(),
            b: "0.6".into(),
            c: "0.95".into(),
        })),
    };
    let enterprises = || {
        (0..4)
            .map(|i| pb::EnterpriseFigures {
                enterprise_id: format!("E{i}"),
                values: vec![format!("{}", 10 + i), format!("{}", 1 + i)],
            })
            .collect::<Vec<_>>()
    };
    type Setter = fn(&mut pb::EvaluatePerMuRequest) -> &mut String;
    let fields: Vec<(&str, Setter)> = vec![
        ("benchmark[0]", |r| &mut r.scheme.as_mut().unwrap().indicators[0].benchmark),
        ("benchmark[1]", |r| &mut r.scheme.as_mut().unwrap().indicators[1].benchmark),
        ("weight[0]", |r| &mut r.scheme.as_mut().unwrap().indicators[0].weight),
        ("weight[1]", |r| &mut r.scheme.as_mut().unwrap().indicators[1].weight),
        ("values[0][0]", |r| &mut r.enterprises[0].values[0]),
        ("values[1][1]", |r| &mut r.enterprises[1].values[1]),
        ("rank a", |r| match r.scheme.as_mut().unwrap().classing.as_mut().unwrap() {
            pb::per_mu_scheme::Classing::RankShares(s) => &mut s.a,
            pb::per_mu_scheme::Classing::Cutoffs(s) => &mut s.a,
        }),
    ];
    for (name, field) in &fields {
        for v in EXTREMES {
            let mut r = pb::EvaluatePerMuRequest {
                region_code: "411702".into(),
                year: 2022,
                scheme: Some(scheme()),
                enterprises: enterprises(),
            };
            *field(&mut r) = v.to_string();
            let code = match c.per_mu.evaluate_per_mu(authed(&tok, r)).await {
                Ok(_) => tonic::Code::Ok,
                Err(e) => e.code(),
            };
            assert!(acceptable(code), "EvaluatePerMu {name} = {v}: {code:?}");
        }
    }
    // Every value at the largest magnitude accepted at once.
    let mut r = pb::EvaluatePerMuRequest {
        region_code: "411702".into(),
        year: 2022,
        scheme: Some(scheme()),
        enterprises: enterprises(),
    };
    for e in &mut r.enterprises {
        for v in &mut e.values {
            *v = "999999999999.9999999999".into();
        }
    }
    for i in &mut r.scheme.as_mut().unwrap().indicators {
        i.benchmark = "0.0000000001".into();
    }
    let code = match c.per_mu.evaluate_per_mu(authed(&tok, r)).await {
        Ok(_) => tonic::Code::Ok,
        Err(e) => e.code(),
    };
    assert!(acceptable(code), "EvaluatePerMu all at the bounds: {code:?}");
    land.stop().await;
}
