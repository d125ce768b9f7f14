use civic_proto::land::v1::{self as pb, land_supervision_service_client::LandSupervisionServiceClient};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, token, violated_fields};
use tonic::{transport::Channel, Code};

async fn start() -> crate::Land {
    crate::Land::spawn(Backend::Sqlite).await
}

fn stalled(id: &str, developed: &str, invested: &str, due: &str) -> pb::ParcelFacts {
    pb::ParcelFacts {
        parcel_id: id.into(),
        construction_started: true,
        construction_started_on: "2020-01-01".into(),
        developed_area_mu: developed.into(),
        total_area_mu: "30".into(),
        invested_wan: invested.into(),
        total_investment_wan: "10000".into(),
        agreed_completion: due.into(),
        ..Default::default()
    }
}

async fn classify(
    c: &mut LandSupervisionServiceClient<Channel>,
    on: &str,
    parcels: Vec<pb::ParcelFacts>,
) -> Vec<pb::ParcelClassification> {
    c.classify_low_efficiency(authed(
        &token(Role::ClusterAdmin, "411702"),
        pb::ClassifyLowEfficiencyRequest {
            region_code: "411702".into(),
            on_date: on.into(),
            parcels,
            explain: true,
            use_stored_flags: false,
        },
    ))
    .await
    .unwrap()
    .into_inner()
    .parcels
}

#[tokio::test]
async fn low_efficiency_categories_on_both_sides_of_each_line() {
    let land = start().await;
    let mut c = land.client.clone();
    // 附件3-2 二(一)3: more than one third developed, or more than 25 % invested, and overdue.
    let cases = vec![
        (stalled("exactly-third", "10", "2500", "2022-12-31"), "2023-01-01", vec![]),
        (stalled("over-third", "10.01", "0", "2022-12-31"), "2023-01-01", vec!["STALLED"]),
        (stalled("over-quarter", "0", "2500.01", "2022-12-31"), "2023-01-01", vec!["STALLED"]),
        (stalled("not-yet-due", "20", "5000", "2022-12-31"), "2022-12-31", vec![]),
        // No agreed period: building more than three years.
        (stalled("three-years", "20", "5000", ""), "2023-01-01", vec![]),
        (stalled("over-three-years", "20", "5000", ""), "2023-01-02", vec!["STALLED"]),
        (
            pb::ParcelFacts { parcel_id: "no-profit-2".into(), years_without_main_profit: 2, ..Default::default() },
            "2023-01-01",
            vec![],
        ),
        (
            pb::ParcelFacts { parcel_id: "no-profit-3".into(), years_without_main_profit: 3, ..Default::default() },
            "2023-01-01",
            vec!["STALLED"],
        ),
        (
            pb::ParcelFacts {
                parcel_id: "eliminated".into(),
                prohibited_or_eliminated_industry: true,
                ..Default::default()
            },
            "2023-01-01",
            vec!["INDUSTRIAL_TRANSITION"],
        ),
    ];
    for (p, on, expected) in cases {
        let id = p.parcel_id.clone();
        let r = classify(&mut c.land, on, vec![p]).await;
        assert_eq!(r[0].categories, expected, "{id}");
        let steps = &r[0].explanation.as_ref().unwrap().steps;
        assert_eq!(steps[0].source.as_ref().unwrap().document, "驻政〔2020〕37号", "{id}");
    }
    // 粗放用地类: per-mu tax below the average two years running, and below the contract.
    let fig = |y: i32, v: &str, a: &str| pb::YearFigure { year: y, value: v.into(), jurisdiction_average: a.into() };
    let extensive = pb::ParcelFacts {
        parcel_id: "extensive".into(),
        in_production: true,
        contracted_investment_intensity: "300".into(),
        actual_investment_intensity: "250".into(),
        per_mu_tax: vec![fig(2022, "8", "10"), fig(2021, "9", "10")],
        per_mu_output: vec![fig(2021, "90", "100"), fig(2022, "110", "100")],
        ..Default::default()
    };
    let r = classify(&mut c.land, "2023-06-30", vec![extensive]).await;
    assert_eq!(r[0].categories, vec!["EXTENSIVE_USE"]);
    assert_eq!(r[0].reasons.len(), 2, "{:?}", r[0].reasons);
    assert!(r[0].reasons.iter().any(|x| x.contains("亩均税收连续 2 年")));
    // Bad figures name the parcel and field.
    let mut bad = stalled("bad", "40", "0", "");
    let e = c
        .land
        .classify_low_efficiency(authed(
            &token(Role::ClusterAdmin, "411702"),
            pb::ClassifyLowEfficiencyRequest {
                region_code: "411702".into(),
                on_date: "2023-01-01".into(),
                parcels: vec![bad.clone()],
                explain: false,
                use_stored_flags: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["parcels[0].developed_area_mu"]);
    bad.developed_area_mu = "-1".into();
    let e = c
        .land
        .classify_low_efficiency(authed(
            &token(Role::ClusterAdmin, "411702"),
            pb::ClassifyLowEfficiencyRequest {
                region_code: "411702".into(),
                on_date: "2023-01-01".into(),
                parcels: vec![bad],
                explain: false,
                use_stored_flags: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["parcels[0].developed_area_mu"]);
    // Before the notice, there are no thresholds; another county's cluster may not look.
    let e = c
        .land
        .classify_low_efficiency(authed(
            &token(Role::ClusterAdmin, "411702"),
            pb::ClassifyLowEfficiencyRequest {
                region_code: "411702".into(),
                on_date: "2020-01-01".into(),
                parcels: vec![],
                explain: false,
                use_stored_flags: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = c
        .land
        .classify_low_efficiency(authed(
            &token(Role::ClusterAdmin, "411721"),
            pb::ClassifyLowEfficiencyRequest {
                region_code: "411702".into(),
                on_date: "2023-01-01".into(),
                parcels: vec![],
                explain: false,
                use_stored_flags: false,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    land.stop().await;
}

#[tokio::test]
async fn idle_land_fee_and_recovery_by_years_and_cause() {
    let land = start().await;
    let mut c = land.client.clone();
    let tok = token(Role::NaturalResources, "411700");
    let ask =
        |on: &str, started: &str, developed: &str, stopped: &str, cause: pb::IdleCause| pb::AssessIdleLandRequest {
            region_code: "411702".into(),
            on_date: on.into(),
            agreed_start: "2021-03-01".into(),
            started_on: started.into(),
            developed_area_mu: developed.into(),
            total_area_mu: "30".into(),
            invested_wan: "100".into(),
            total_investment_wan: "10000".into(),
            stopped_on: stopped.into(),
            cause: cause as i32,
            land_price_fen: 123_456_789,
        };
    let e = pb::IdleCause::Enterprise;
    let cases = [
        (ask("2022-02-28", "", "0", "", e), false, "NOT_IDLE", 0),
        (ask("2022-03-01", "", "0", "", e), true, "IDLE_FEE", 24_691_358),
        (ask("2023-02-28", "", "0", "", e), true, "IDLE_FEE", 24_691_358),
        (ask("2023-03-01", "", "0", "", e), true, "RECOVER_WITHOUT_COMPENSATION", 0),
        (ask("2023-03-01", "", "0", "", pb::IdleCause::Government), true, "GOVERNMENT_REMEDY", 0),
        (ask("2023-03-01", "", "0", "", pb::IdleCause::Both), true, "NEGOTIATED_RECOVERY_OR_SWAP", 0),
        // Started, exactly one third developed: not idle however long it stops (investment 1 %
        // alone would make it idle, so give it 30 %).
        (
            pb::AssessIdleLandRequest {
                invested_wan: "3000".into(),
                ..ask("2024-01-01", "2021-03-01", "10", "2022-01-01", e)
            },
            false,
            "NOT_IDLE",
            0,
        ),
        (
            pb::AssessIdleLandRequest {
                invested_wan: "3000".into(),
                ..ask("2023-01-01", "2021-03-01", "9.99", "2022-01-01", e)
            },
            true,
            "IDLE_FEE",
            24_691_358,
        ),
        (
            pb::AssessIdleLandRequest {
                invested_wan: "3000".into(),
                ..ask("2022-12-31", "2021-03-01", "9.99", "2022-01-01", e)
            },
            false,
            "NOT_IDLE",
            0,
        ),
    ];
    for (r, idle, disposal, fee) in cases {
        let a = c.land.assess_idle_land(authed(&tok, r.clone())).await.unwrap().into_inner();
        assert_eq!((a.idle, a.disposal.as_str(), a.idle_fee_fen), (idle, disposal, fee), "{r:?}");
        assert_eq!(a.explanation.unwrap().steps[0].source.as_ref().unwrap().document, "国土资源部令第53号");
    }
    let bad =
        pb::AssessIdleLandRequest { stopped_on: "2020-01-01".into(), ..ask("2023-01-01", "2021-03-01", "1", "", e) };
    assert_eq!(violated_fields(&c.land.assess_idle_land(authed(&tok, bad)).await.unwrap_err()), vec!["stopped_on"]);
    let bad = ask("2023-01-01", "", "0", "", pb::IdleCause::Unspecified);
    assert_eq!(violated_fields(&c.land.assess_idle_land(authed(&tok, bad)).await.unwrap_err()), vec!["cause"]);
    // An agreed start on 29 February: its first year is full on 28 February of the next
    // year (month end), for the idle test and the count of idle years alike.
    let leap = |on: &str| pb::AssessIdleLandRequest { agreed_start: "2020-02-29".into(), ..ask(on, "", "0", "", e) };
    let a = c.land.assess_idle_land(authed(&tok, leap("2021-02-28"))).await.unwrap().into_inner();
    assert_eq!((a.idle, a.full_years_idle, a.disposal.as_str()), (true, 1, "IDLE_FEE"), "{a:?}");
    let a = c.land.assess_idle_land(authed(&tok, leap("2021-02-27"))).await.unwrap().into_inner();
    assert!(!a.idle, "{a:?}");
    land.stop().await;
}

#[tokio::test]
async fn per_mu_evaluation_with_the_huangyan_scheme() {
    let land = start().await;
    let mut c = land.client.clone();
    let ind = |name: &str, b: &str, w: &str| pb::PerMuIndicator {
        name: name.into(),
        benchmark: b.into(),
        weight: w.into(),
        higher_is_better: true,
        missing: pb::MissingValue::AverageScore as i32,
    };
    let scheme = pb::PerMuScheme {
        name: "黄岩区 2022".into(),
        document: "黄岩区工业企业亩均效益综合评价(2022年度数据)".into(),
        indicators: vec![
            ind("亩均税收", "24.097", "30"),
            ind("亩均增加值", "136.16", "20"),
            ind("单位能耗增加值", "2.694", "20"),
            ind("单位排放增加值", "4929.81", "10"),
            ind("全员劳动生产率", "18.14", "10"),
            ind("研发经费支出占比", "0.0302", "10"),
        ],
        classing: Some(pb::per_mu_scheme::Classing::RankShares(pb::RankShares {
            a: "0.2".into(),
            b: "0.6".into(),
            c: "0.95".into(),
        })),
    };
    let ent = |id: &str, tax: &str, emissions: &str| pb::EnterpriseFigures {
        enterprise_id: id.into(),
        values: vec![tax.into(), "136.16".into(), "2.694".into(), emissions.into(), "18.14".into(), "0.0302".into()],
    };
    let mut enterprises: Vec<pb::EnterpriseFigures> =
        (0..19).map(|i| ent(&format!("E{i:02}"), &format!("{}", 5 + i), "4929.81")).collect();
    enterprises.push(ent("BENCH", "24.097", ""));
    let r = c
        .per_mu
        .evaluate_per_mu(authed(
            &token(Role::ClusterAdmin, "411702"),
            pb::EvaluatePerMuRequest {
                region_code: "411702".into(),
                year: 2022,
                scheme: Some(scheme.clone()),
                enterprises,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let bench = r.enterprises.iter().find(|e| e.enterprise_id == "BENCH").unwrap();
    // The missing emissions figure takes the average score (10), so the benchmark firm scores 100.
    assert_eq!(bench.score, "100.0000");
    assert_eq!(bench.contributions[3], "10.0000");
    assert!(bench.note.contains("平均得分"));
    // 20 rated: A ⌊4⌋, B to 12, C to 19, D 1.
    let count = |k: &str| r.by_class.get(k).copied().unwrap_or(0);
    assert_eq!((count("A"), count("B"), count("C"), count("D")), (4, 8, 7, 1));
    assert_eq!(r.enterprises.iter().find(|e| e.enterprise_id == "E00").unwrap().rating_class, "D");
    assert_eq!(r.explanation.unwrap().steps.len(), 2);
    // A zero benchmark is refused with its field.
    let mut bad = scheme;
    bad.indicators[2].benchmark = "0".into();
    let e = c
        .per_mu
        .evaluate_per_mu(authed(
            &token(Role::ClusterAdmin, "411702"),
            pb::EvaluatePerMuRequest {
                region_code: "411702".into(),
                year: 2022,
                scheme: Some(bad),
                enterprises: vec![],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["scheme.indicators[2].benchmark"]);
    land.stop().await;
}
