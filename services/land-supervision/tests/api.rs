//! land-supervision over real gRPC: the farmland ratio of 三政〔2017〕20号 八(十八) on both sides
//! of its 10 % and 15 % lines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use civic_proto::land::v1::{land_supervision_client::LandSupervisionClient, AssessFarmlandOccupationRequest};
use civic_runtime::{
    identity::Role,
    storage::Backend,
    testing::{authed, channel, fresh_database, settings, token, violated_fields},
};
use tonic::Code;

/// A land-supervision server on port 0 with its own fresh database, and a client for it.
pub struct Land {
    pub client: LandSupervisionClient<tonic::transport::Channel>,
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    running: civic_runtime::server::Running,
}

impl Land {
    pub async fn spawn(backend: Backend) -> Land {
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let running = land_supervision::start(settings(fresh_database(backend).await), async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let addr = running.grpc_addr;
        Land { client: LandSupervisionClient::new(channel(addr).await), addr, stop, running }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.running.wait().await;
    }
}

#[tokio::test]
async fn farmland_ratio_outcomes_at_their_boundaries() {
    let land = crate::Land::spawn(Backend::Sqlite).await;
    let mut c = land.client.clone();
    let tok = token(Role::NaturalResources, "411200");
    let ask = |region: &str, illegal: &str, total: &str| AssessFarmlandOccupationRequest {
        region_code: region.into(),
        year: 2023,
        illegal_occupation_mu: illegal.into(),
        new_construction_occupation_mu: total.into(),
    };
    for (illegal, total, outcome, pct) in [
        ("9.99", "100", "NONE", "9.99"),
        ("10", "100", "WARNING_TALK", "10.00"),
        ("14.99", "100", "WARNING_TALK", "14.99"),
        ("15", "100", "ACCOUNTABILITY", "15.00"),
        ("1", "6.6667", "WARNING_TALK", "15.00"),
        ("0", "250.5", "NONE", "0.00"),
        ("250.5", "250.5", "ACCOUNTABILITY", "100.00"),
    ] {
        let r = c.assess_farmland_occupation(authed(&tok, ask("411221", illegal, total))).await.unwrap().into_inner();
        assert_eq!((r.outcome.as_str(), r.ratio_percent.as_str()), (outcome, pct), "{illegal}/{total}");
        let steps = r.explanation.unwrap().steps;
        assert_eq!(steps[1].parameters.len(), 2);
        assert_eq!(steps[1].source.as_ref().unwrap().document, "三政〔2017〕20号");
    }
    // 1 ÷ 6.6667 is just under 15 %: shown as 15.00 but exactly below the line.
    for (illegal, total, field) in [
        ("101", "100", "illegal_occupation_mu"),
        ("1", "0", "new_construction_occupation_mu"),
        ("-1", "100", "illegal_occupation_mu"),
        ("x", "100", "illegal_occupation_mu"),
        ("1", "", "new_construction_occupation_mu"),
    ] {
        let e = c.assess_farmland_occupation(authed(&tok, ask("411221", illegal, total))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec![field], "{illegal}/{total}");
    }
    // Benxi has no such thresholds in the policy book; civil-affairs may not assess; a county
    // may not assess its neighbour.
    let admin = token(Role::Admin, "000000");
    assert_eq!(
        c.assess_farmland_occupation(authed(&admin, ask("210521", "1", "10"))).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        c.assess_farmland_occupation(authed(&token(Role::CivilAffairs, "411200"), ask("411221", "1", "10")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        c.assess_farmland_occupation(authed(&token(Role::NaturalResources, "411224"), ask("411221", "1", "10")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    land.stop().await;
}

mod assessments {
    use civic_proto::land::v1::{self as pb, land_supervision_client::LandSupervisionClient};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, token, violated_fields},
    };
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
        c: &mut LandSupervisionClient<Channel>,
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
            let r = classify(&mut c, on, vec![p]).await;
            assert_eq!(r[0].categories, expected, "{id}");
            let steps = &r[0].explanation.as_ref().unwrap().steps;
            assert_eq!(steps[0].source.as_ref().unwrap().document, "驻政〔2020〕37号", "{id}");
        }
        // 粗放用地类: per-mu tax below the average two years running, and below the contract.
        let fig =
            |y: i32, v: &str, a: &str| pb::YearFigure { year: y, value: v.into(), jurisdiction_average: a.into() };
        let extensive = pb::ParcelFacts {
            parcel_id: "extensive".into(),
            in_production: true,
            contracted_investment_intensity: "300".into(),
            actual_investment_intensity: "250".into(),
            per_mu_tax: vec![fig(2022, "8", "10"), fig(2021, "9", "10")],
            per_mu_output: vec![fig(2021, "90", "100"), fig(2022, "110", "100")],
            ..Default::default()
        };
        let r = classify(&mut c, "2023-06-30", vec![extensive]).await;
        assert_eq!(r[0].categories, vec!["EXTENSIVE_USE"]);
        assert_eq!(r[0].reasons.len(), 2, "{:?}", r[0].reasons);
        assert!(r[0].reasons.iter().any(|x| x.contains("亩均税收连续 2 年")));
        // Bad figures name the parcel and field.
        let mut bad = stalled("bad", "40", "0", "");
        let e = c
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
            let a = c.assess_idle_land(authed(&tok, r.clone())).await.unwrap().into_inner();
            assert_eq!((a.idle, a.disposal.as_str(), a.idle_fee_fen), (idle, disposal, fee), "{r:?}");
            assert_eq!(a.explanation.unwrap().steps[0].source.as_ref().unwrap().document, "国土资源部令第53号");
        }
        let bad = pb::AssessIdleLandRequest {
            stopped_on: "2020-01-01".into(),
            ..ask("2023-01-01", "2021-03-01", "1", "", e)
        };
        assert_eq!(violated_fields(&c.assess_idle_land(authed(&tok, bad)).await.unwrap_err()), vec!["stopped_on"]);
        let bad = ask("2023-01-01", "", "0", "", pb::IdleCause::Unspecified);
        assert_eq!(violated_fields(&c.assess_idle_land(authed(&tok, bad)).await.unwrap_err()), vec!["cause"]);
        // An agreed start on 29 February: its first year is full on 28 February of the next
        // year (month end), for the idle test and the count of idle years alike.
        let leap =
            |on: &str| pb::AssessIdleLandRequest { agreed_start: "2020-02-29".into(), ..ask(on, "", "0", "", e) };
        let a = c.assess_idle_land(authed(&tok, leap("2021-02-28"))).await.unwrap().into_inner();
        assert_eq!((a.idle, a.full_years_idle, a.disposal.as_str()), (true, 1, "IDLE_FEE"), "{a:?}");
        let a = c.assess_idle_land(authed(&tok, leap("2021-02-27"))).await.unwrap().into_inner();
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
            values: vec![
                tax.into(),
                "136.16".into(),
                "2.694".into(),
                emissions.into(),
                "18.14".into(),
                "0.0302".into(),
            ],
        };
        let mut enterprises: Vec<pb::EnterpriseFigures> =
            (0..19).map(|i| ent(&format!("E{i:02}"), &format!("{}", 5 + i), "4929.81")).collect();
        enterprises.push(ent("BENCH", "24.097", ""));
        let r = c
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
}

mod checks {
    use civic_proto::land::v1::{self as pb};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, error_reason, token, violated_fields},
    };
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
        let ask =
            |f: pb::StandardLandFigures, kind: pb::StandardLandCheckKind, after: bool| pb::CheckStandardLandRequest {
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
            .check_standard_land(authed(&tok, ask(f.clone(), pb::StandardLandCheckKind::Acceptance, false)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.rectification_deadline, "2025-06-30");
        let r = c
            .check_standard_land(authed(&tok, ask(f, pb::StandardLandCheckKind::Acceptance, true)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.rectification_deadline, "");
        assert!(r.consequence.contains("协商退出"));
        // Impossible figures.
        let mut f = at_limits();
        f.green_area_sqm = "20001".into();
        let e = c.check_standard_land(authed(&tok, ask(f, pb::StandardLandCheckKind::Sale, false))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["figures.green_area_sqm"]);

        // Extensions: once per milestone, asked at least a month before it (附件3-1 第十三条).
        let ext = |asked: &str, before: i32| pb::CheckExtensionRequest {
            region_code: "411702".into(),
            milestone_date: "2024-06-30".into(),
            asked_on: asked.into(),
            extensions_before: before,
        };
        assert!(c.check_extension(authed(&tok, ext("2024-05-30", 0))).await.unwrap().into_inner().allowed);
        let late = c.check_extension(authed(&tok, ext("2024-05-31", 0))).await.unwrap_err();
        assert_eq!((late.code(), error_reason(&late).as_str()), (Code::FailedPrecondition, "EXTENSION_NOT_ALLOWED"));
        assert_eq!(
            c.check_extension(authed(&tok, ext("2024-01-01", 1))).await.unwrap_err().code(),
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
        let at = c.check_cluster(authed(&tok, cl("700", "550", "50"))).await.unwrap().into_inner();
        assert!(at.may_expand);
        assert!(at.indicators.iter().all(|i| i.outcome == "PASS"), "{:?}", at.indicators);
        assert_eq!(at.tax_target_progress_percent, "80.00");
        let below = c.check_cluster(authed(&tok, cl("699.99", "549.99", "49.99"))).await.unwrap().into_inner();
        assert!(!below.may_expand);
        assert!(below.indicators.iter().all(|i| i.outcome == "FAIL"), "{:?}", below.indicators);
        let e = c.check_cluster(authed(&tok, cl("1001", "550", "50"))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["used_construction_land_mu"]);
        land.stop().await;
    }
}

mod cases {
    use civic_proto::{
        common::v1::{audit_log_client::AuditLogClient, ListAuditEntriesRequest},
        land::v1::{self as pb},
    };
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, channel, error_reason, token, unit_token, violated_fields},
    };
    use tonic::Code;

    async fn workflows(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let cluster = token(Role::ClusterAdmin, "411702");
        let bureau = token(Role::NaturalResources, "411702");

        // Low-efficiency identification: proposed by the cluster administration, classified.
        let parcel = pb::ParcelFacts {
            parcel_id: "ZMD-2019-031".into(),
            construction_started: true,
            construction_started_on: "2019-05-01".into(),
            developed_area_mu: "12".into(),
            total_area_mu: "30".into(),
            invested_wan: "1000".into(),
            total_investment_wan: "10000".into(),
            agreed_completion: "2021-12-31".into(),
            ..Default::default()
        };
        let open = pb::OpenCaseRequest {
            kind: pb::CaseKind::LowEfficiencyIdentification as i32,
            region_code: "411702".into(),
            subject_id: "ZMD-2019-031".into(),
            opened_on: "2023-03-01".into(),
            parcel: Some(parcel),
            note: "2023 年度排查".into(),
            unit: String::new(),
        };
        let case = c.open_case(authed(&cluster, open.clone())).await.unwrap().into_inner();
        assert_eq!(case.state, "PROPOSED");
        assert_eq!(case.classification.as_ref().unwrap().categories, vec!["STALLED"]);
        assert_eq!(case.next_states, vec!["REVIEWED"]);
        let step = |id: &str, to: &str, on: &str, v: i64| pb::AdvanceCaseRequest {
            case_id: id.into(),
            to_state: to.into(),
            on_date: on.into(),
            note: String::new(),
            expected_version: v,
            decided_categories: vec![],
            deadline_months: 0,
            treatment_outcome: String::new(),
            punishments: vec![],
        };
        // Out of order: named state, machine-readable reason.
        let e = c.advance_case(authed(&bureau, step(&case.case_id, "DECIDED", "2023-03-10", 1))).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "STEP_OUT_OF_ORDER"));
        assert!(e.message().contains("PROPOSED"), "{}", e.message());
        // The cluster administration proposes; the county decides.
        assert_eq!(
            c.advance_case(authed(&cluster, step(&case.case_id, "REVIEWED", "2023-03-10", 1)))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let reviewed = c
            .advance_case(authed(&bureau, step(&case.case_id, "REVIEWED", "2023-03-10", 1)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reviewed.version, 2);
        // A stale version is refused.
        let e = c.advance_case(authed(&bureau, step(&case.case_id, "DECIDED", "2023-03-20", 1))).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::Aborted, "VERSION_CONFLICT"));
        let e = c.advance_case(authed(&bureau, step(&case.case_id, "DECIDED", "2023-03-01", 2))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["on_date"]);
        let decided = c
            .advance_case(authed(
                &bureau,
                pb::AdvanceCaseRequest {
                    decided_categories: vec!["STALLED".into()],
                    ..step(&case.case_id, "DECIDED", "2023-03-20", 2)
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(decided.next_states, vec!["NOTIFIED"]);
        let e = c
            .advance_case(authed(
                &bureau,
                pb::AdvanceCaseRequest { deadline_months: 13, ..step(&case.case_id, "NOTIFIED", "2023-03-25", 3) },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec!["deadline_months"]);
        let notified = c
            .advance_case(authed(
                &bureau,
                pb::AdvanceCaseRequest { deadline_months: 12, ..step(&case.case_id, "NOTIFIED", "2023-03-25", 3) },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(notified.deadline, "2024-03-25");
        let filed =
            c.advance_case(authed(&bureau, step(&case.case_id, "FILED", "2023-04-01", 4))).await.unwrap().into_inner();
        assert!(filed.next_states.is_empty());
        assert_eq!(
            filed.history.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(),
            vec!["PROPOSED", "REVIEWED", "DECIDED", "NOTIFIED", "FILED"]
        );
        let e = c.advance_case(authed(&bureau, step(&case.case_id, "NOTIFIED", "2023-04-02", 5))).await.unwrap_err();
        assert!(e.message().contains("finished"), "{}", e.message());

        // The health check counts working days on the official calendar: from Friday 2024-09-27,
        // 10 working days include the make-up Sunday 09-29 and Saturday 10-12 and skip 10-01..07.
        // A town's staff must name their town; the case is then the town's.
        let unnamed = token(Role::Town, "411702");
        let e = c
            .open_case(authed(
                &unnamed,
                pb::OpenCaseRequest {
                    kind: pb::CaseKind::HealthCheck as i32,
                    region_code: "411702".into(),
                    subject_id: "ENT-0091".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::PermissionDenied, "UNIT_REQUIRED"));
        let town = unit_token(Role::Town, "411702", "顾山镇");
        let hc = c
            .open_case(authed(
                &town,
                pb::OpenCaseRequest {
                    kind: pb::CaseKind::HealthCheck as i32,
                    region_code: "411702".into(),
                    subject_id: "ENT-0091".into(),
                    opened_on: "2024-09-27".into(),
                    parcel: None,
                    note: String::new(),
                    unit: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((hc.state.as_str(), hc.deadline.as_str(), hc.unit.as_str()), ("STARTED", "2024-10-16", "顾山镇"));
        let formula = &hc.explanation.as_ref().unwrap().steps[0].formula;
        assert!(
            formula.contains("2024-10-01 国庆节")
                && formula.contains("2024-10-12 调休上班")
                && formula.contains("2024-09-29 调休上班"),
            "{formula}"
        );
        // Done two days late: recorded as late; the next period runs 20 working days.
        let initial = c
            .advance_case(authed(&bureau, step(&hc.case_id, "INITIAL_CHECK", "2024-10-18", 1)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(initial.deadline, "2024-11-15");
        assert!(initial.history[1].note.starts_with("逾期"), "{:?}", initial.history[1]);
        c.advance_case(authed(&bureau, step(&hc.case_id, "RECTIFYING", "2024-11-10", 2))).await.unwrap();
        c.advance_case(authed(&bureau, step(&hc.case_id, "CONSULTATION", "2024-11-20", 3))).await.unwrap();
        let e = c.advance_case(authed(&bureau, step(&hc.case_id, "TREATMENT", "2024-11-25", 4))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["treatment_outcome"]);
        // Joint punishment names its measures from the plan's list.
        let punish = |measures: &[&str]| pb::AdvanceCaseRequest {
            treatment_outcome: "JOINT_PUNISHMENT".into(),
            punishments: measures.iter().map(|m| m.to_string()).collect(),
            ..step(&hc.case_id, "TREATMENT", "2024-11-25", 4)
        };
        let e = c.advance_case(authed(&bureau, punish(&[]))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["punishments"]);
        let e = c.advance_case(authed(&bureau, punish(&["CREDIT_DOWNGRADE", "FINE"]))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["punishments[1]"]);
        let treated = c
            .advance_case(authed(&bureau, punish(&["CREDIT_DOWNGRADE", "DIFFERENTIAL_UTILITY_PRICES"])))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(treated.next_states, vec!["SUPERVISION", "CLOSED"]);
        assert_eq!(
            treated.punishments.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["调整信用等级", "差别化实施水、电、气收费"]
        );
        let steps = treated.explanation.unwrap().steps;
        assert!(steps.iter().any(|s| s.description == "诊治:联合惩戒" && s.source.as_ref().unwrap().clause == "附件2"));

        // Who sees what: the county's bureau sees both cases; a town only its own; another town
        // neither; not a neighbouring county.
        let all = pb::ListCasesRequest { region_code: "411702".into(), ..Default::default() };
        assert_eq!(c.list_cases(authed(&bureau, all.clone())).await.unwrap().into_inner().cases.len(), 2);
        let list = c.list_cases(authed(&town, all.clone())).await.unwrap().into_inner();
        assert_eq!(list.cases.iter().map(|x| x.case_id.as_str()).collect::<Vec<_>>(), vec![hc.case_id.as_str()]);
        let neighbour = unit_token(Role::Town, "411702", "新桥镇");
        assert!(c.list_cases(authed(&neighbour, all)).await.unwrap().into_inner().cases.is_empty());
        let e = c.get_case(authed(&neighbour, pb::GetCaseRequest { case_id: hc.case_id.clone() })).await.unwrap_err();
        assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
        let e = c
            .open_case(authed(
                &neighbour,
                pb::OpenCaseRequest {
                    kind: pb::CaseKind::HealthCheck as i32,
                    region_code: "411702".into(),
                    subject_id: "ENT-0092".into(),
                    unit: "顾山镇".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
        let other = token(Role::NaturalResources, "411721");
        assert_eq!(
            c.get_case(authed(&other, pb::GetCaseRequest { case_id: hc.case_id.clone() })).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        assert_eq!(
            c.get_case(authed(&bureau, pb::GetCaseRequest { case_id: "nope".into() })).await.unwrap_err().code(),
            Code::NotFound
        );
        // Every step is audited.
        let mut audit = AuditLogClient::new(channel(land.addr).await);
        let entries = audit
            .list_audit_entries(authed(
                &token(Role::Auditor, "411700"),
                ListAuditEntriesRequest {
                    entity: "land_case".into(),
                    entity_id: case.case_id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(
            entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec!["case.open", "case.reviewed", "case.decided", "case.notified", "case.filed"]
        );
        land.stop().await;
    }

    civic_runtime::both_backends!(case_workflows, super::workflows);

    /// A deadline counted into a year whose holiday notice the calendar lacks is refused, naming
    /// the year, instead of being counted as if the year had no holidays.
    #[tokio::test]
    async fn deadline_past_the_calendar_is_refused() {
        let land = crate::Land::spawn(Backend::Sqlite).await;
        let mut c = land.client.clone();
        // A health check's first deadline is counted in working days from the day it opens.
        let open = |on: &str| pb::OpenCaseRequest {
            kind: pb::CaseKind::HealthCheck as i32,
            region_code: "411702".into(),
            subject_id: format!("ENT-{on}"),
            opened_on: on.into(),
            parcel: None,
            note: String::new(),
            unit: String::new(),
        };
        let tok = unit_token(Role::Town, "411702", "顾山镇");
        let ok = c.open_case(authed(&tok, open("2026-06-01"))).await.unwrap().into_inner();
        assert!(ok.deadline.starts_with("2026-06"), "{}", ok.deadline);
        let e = c.open_case(authed(&tok, open("2026-12-20"))).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "CALENDAR_NOT_COVERED"), "{e:?}");
        assert!(e.message().contains("2027"), "{}", e.message());
        land.stop().await;
    }
}

mod balance_and_campaign {
    use civic_proto::land::v1::{self as pb};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, token, violated_fields},
    };

    #[tokio::test]
    async fn farmland_balance_and_campaign_rules_at_their_lines() {
        let land = crate::Land::spawn(Backend::Sqlite).await;
        let mut c = land.client.clone();

        // 三政〔2017〕20号 四(七): 占一补一、先补后占、占优补优.
        let nr = token(Role::NaturalResources, "411200");
        let bal =
            |supplemented: &str, grade: i32, on: &str, key: bool, commitment: &str| pb::CheckFarmlandBalanceRequest {
                region_code: "411221".into(),
                occupied_mu: "10".into(),
                occupied_grade: 5,
                occupied_on: "2023-05-01".into(),
                supplemented_mu: supplemented.into(),
                supplemented_grade: grade,
                supplemented_on: on.into(),
                key_project: key,
                commitment_deadline: commitment.into(),
            };
        let cases = [
            (bal("10", 5, "2023-05-01", false, ""), true, true, true, "QUALITY_OK"),
            (bal("9.99", 5, "2023-05-01", false, ""), false, false, true, "QUALITY_OK"),
            (bal("10", 5, "2023-05-02", false, ""), false, true, false, "QUALITY_OK"),
            (bal("10", 5, "", false, ""), false, true, false, "QUALITY_OK"),
            (bal("12", 6, "2023-04-01", false, ""), false, true, true, "QUALITY_SHORTFALL"),
            (bal("12", 6, "2023-04-01", true, "2024-12-31"), true, true, true, "QUALITY_COMMITMENT"),
            (bal("12", 4, "2023-04-01", false, ""), true, true, true, "QUALITY_OK"),
        ];
        for (r, balanced, quantity, timing, quality) in cases {
            let x = c.check_farmland_balance(authed(&nr, r.clone())).await.unwrap().into_inner();
            assert_eq!(
                (x.balanced, x.quantity_ok, x.timing_ok, x.quality.as_str()),
                (balanced, quantity, timing, quality),
                "{r:?}"
            );
        }
        let e = c.check_farmland_balance(authed(&nr, bal("10", 16, "2023-05-01", false, ""))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["supplemented_grade"]);

        // A town's list: 30 % contiguous, ≤ 60 万元/亩, ≤ 30 % turnover, 85 万元/亩 when not returned.
        let town = token(Role::Town, "411702");
        let list = |contiguous: &str, cost: &str, borrowed: &str| pb::CheckCampaignListRequest {
            region_code: "411702".into(),
            on_date: "2025-02-10".into(),
            town: "顾山镇".into(),
            total_area_mu: "200".into(),
            contiguous_area_mu: contiguous.into(),
            purchased_area_mu: "100".into(),
            purchase_cost_wan: cost.into(),
            planned_reclaimed_area_mu: "100".into(),
            borrowed_quota_mu: borrowed.into(),
            returned_quota_mu: "10".into(),
            borrowed_in_year: 2023,
            target_area_mu: "200".into(),
            completed_area_mu: "150".into(),
        };
        let at = c.check_campaign_list(authed(&town, list("60", "6000", "30"))).await.unwrap().into_inner();
        assert!(at.indicators.iter().all(|i| i.outcome == "PASS"), "{:?}", at.indicators);
        // 20 亩 not returned by 2024-12-31: 20 × 85 万元 = 1700 万元.
        assert_eq!(at.turnover_fee_fen, 1_700_000_000);
        assert_eq!(
            (at.report_by.as_str(), at.verify_by.as_str(), at.progress_percent.as_str()),
            ("2025-02-20", "2025-02-25", "75.00")
        );
        let past = c.check_campaign_list(authed(&town, list("59.99", "6000.01", "30.01"))).await.unwrap().into_inner();
        assert!(past.indicators.iter().all(|i| i.outcome == "FAIL"), "{:?}", past.indicators);
        // Within the year after borrowing there is no fee yet.
        let early = c
            .check_campaign_list(authed(
                &town,
                pb::CheckCampaignListRequest { on_date: "2024-12-31".into(), ..list("60", "6000", "30") },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(early.turnover_fee_fen, 0);
        // Contiguous redevelopment: facilities ≤ 7 % / 15 %, odd plots ≤ 3 亩 each and ≤ 10 % together.
        let nr = token(Role::NaturalResources, "411702");
        let plan = |office: &str, plots: &[&str]| pb::CheckRedevelopmentRequest {
            region_code: "411702".into(),
            on_date: "2023-06-30".into(),
            project_area_sqm: "20000".into(),
            project_floor_area_sqm: "30000".into(),
            office_land_area_sqm: office.into(),
            office_floor_area_sqm: "4500".into(),
            odd_plots_mu: plots.iter().map(|p| p.to_string()).collect(),
            transition_approved_on: String::new(),
        };
        assert!(c.check_redevelopment(authed(&nr, plan("1400", &["2", "1"]))).await.unwrap().into_inner().passed);
        let r = c.check_redevelopment(authed(&nr, plan("1401", &["3.01"]))).await.unwrap().into_inner();
        let failed: Vec<&str> = r.indicators.iter().filter(|i| i.outcome == "FAIL").map(|i| i.key.as_str()).collect();
        assert_eq!(failed, vec!["office_land_share", "odd_plot_0", "odd_plots_share"]);
        // The 5-year transition keeping the old use (附件3-2 三(二)).
        let t = |on: &str| pb::CheckRedevelopmentRequest {
            on_date: on.into(),
            transition_approved_on: "2021-03-01".into(),
            ..plan("1400", &[])
        };
        let within = c.check_redevelopment(authed(&nr, t("2026-02-28"))).await.unwrap().into_inner();
        assert_eq!((within.transition_ends_on.as_str(), within.in_transition), ("2026-02-28", true));
        assert!(!c.check_redevelopment(authed(&nr, t("2026-03-01"))).await.unwrap().into_inner().in_transition);
        let e = c.check_campaign_list(authed(&town, list("201", "6000", "30"))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["contiguous_area_mu"]);
        land.stop().await;
    }
}

mod records {
    use civic_proto::land::v1::{self as pb};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, error_reason, token},
    };

    fn csv(rows: usize) -> String {
        let mut s = String::from("enterprise_id,enterprise_name,region_code,亩均税收,亩均增加值\n");
        for i in 0..rows {
            let region = if i % 2 == 0 { "411702" } else { "411721" };
            let va = if i == 3 { String::new() } else { format!("{}", 100 + i) };
            s.push_str(&format!("E{i:03},企业{i},{region},{},{va}\n", 5 + i));
        }
        s
    }

    fn scheme() -> pb::PerMuScheme {
        let ind = |name: &str, b: &str, w: &str| pb::PerMuIndicator {
            name: name.into(),
            benchmark: b.into(),
            weight: w.into(),
            higher_is_better: true,
            missing: pb::MissingValue::AverageScore as i32,
        };
        pb::PerMuScheme {
            name: "驻马店 2023 试行".into(),
            document: String::new(),
            indicators: vec![ind("亩均税收", "15", "60"), ind("亩均增加值", "120", "40")],
            classing: Some(pb::per_mu_scheme::Classing::RankShares(pb::RankShares {
                a: "0.2".into(),
                b: "0.6".into(),
                c: "0.95".into(),
            })),
        }
    }

    async fn import_evaluate_seed(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let city = token(Role::NaturalResources, "411700");
        let import = |content: String| pb::ImportEnterpriseFiguresRequest {
            region_code: "411700".into(),
            year: 2023,
            format: "csv".into(),
            content: content.into_bytes(),
            dry_run: false,
            reason: "税务、统计部门报送".into(),
        };
        // Row-level errors; nothing stored.
        let bad = format!("{}E900,坏,411702,abc,1\nE901,外,210502,1,1\n", csv(3));
        let r = c.import_enterprise_figures(authed(&city, import(bad))).await.unwrap().into_inner();
        assert!(!r.stored);
        let found: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(found, vec![(5, "亩均税收"), (6, "region_code")]);
        let e = c
            .evaluate_stored_per_mu(authed(
                &city,
                pb::EvaluateStoredPerMuRequest {
                    region_code: "411700".into(),
                    year: 2023,
                    scheme: Some(scheme()),
                    store_results: false,
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(error_reason(&e), "NO_FIGURES");
        // Twenty enterprises; one has no value-added figure (it takes the average score).
        let r = c.import_enterprise_figures(authed(&city, import(csv(20)))).await.unwrap().into_inner();
        assert_eq!((r.enterprises, r.stored), (20, true));
        let eval = c
            .evaluate_stored_per_mu(authed(
                &city,
                pb::EvaluateStoredPerMuRequest {
                    region_code: "411700".into(),
                    year: 2023,
                    scheme: Some(scheme()),
                    store_results: true,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(eval.enterprises.len(), 20);
        assert_eq!(eval.by_class.get("D").copied(), Some(1));
        let d = eval.enterprises.iter().find(|e| e.rating_class == "D").unwrap();
        assert_eq!(d.enterprise_id, "E000");
        assert!(eval.enterprises.iter().find(|e| e.enterprise_id == "E003").unwrap().note.contains("平均得分"));
        // A county sees its own enterprises only.
        let county = c
            .evaluate_stored_per_mu(authed(
                &token(Role::NaturalResources, "411721"),
                pb::EvaluateStoredPerMuRequest {
                    region_code: "411721".into(),
                    year: 2023,
                    scheme: Some(scheme()),
                    store_results: false,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(county.enterprises.len(), 10);
        // The kept results in figures, for the budget's indicators: class counts as evaluated,
        // each measure's mean over those with a figure (E003 has no 亩均增加值).
        let summarize = |region: &str, scheme: &str| pb::SummarizePerMuRequest {
            region_code: region.into(),
            year: 2023,
            scheme_name: scheme.into(),
        };
        let sum =
            c.summarize_per_mu(authed(&city, summarize("411700", "驻马店 2023 试行"))).await.unwrap().into_inner();
        assert_eq!(sum.enterprises_evaluated, 20);
        assert_eq!(sum.by_class, eval.by_class);
        let measure = |s: &pb::SummarizePerMuResponse, name: &str| {
            let m = s.measures.iter().find(|m| m.name == name).unwrap();
            (m.enterprises, m.sum.clone(), m.mean.clone())
        };
        // Σ(5 + i) = 290 over 20; Σ(100 + i) − 103 = 2,087 over 19 = 109.84210… → 109.8421.
        assert_eq!(measure(&sum, "亩均税收"), (20, "290".into(), "14.5000".into()));
        assert_eq!(measure(&sum, "亩均增加值"), (19, "2087".into(), "109.8421".into()));
        let out: Vec<(&str, &str)> =
            sum.left_out.iter().map(|l| (l.enterprise_id.as_str(), l.measure.as_str())).collect();
        assert_eq!(out, [("E003", "亩均增加值")]);
        assert!(!sum.evaluated_at.is_empty());
        let steps = sum.explanation.unwrap().steps;
        assert_eq!(steps[0].rule_id, "land.per_mu.summary");
        assert_eq!(steps[0].source.as_ref().unwrap().document, "civic");
        assert!(steps.iter().any(|st| st.formula == "2087 ÷ 19" && st.result == "109.8421"), "{steps:?}");
        // A county's own: the odd enterprises, Σ(5 + i) = 150 over 10.
        let own = c
            .summarize_per_mu(authed(&token(Role::NaturalResources, "411721"), summarize("411721", "驻马店 2023 试行")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((own.enterprises_evaluated, measure(&own, "亩均税收").2), (10, "15.0000".into()));
        // Another county's, or a scheme never kept: refused.
        let e = c
            .summarize_per_mu(authed(&token(Role::NaturalResources, "411721"), summarize("411702", "驻马店 2023 试行")))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
        let e = c.summarize_per_mu(authed(&city, summarize("411700", "另一方案"))).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e)), (tonic::Code::FailedPrecondition, "NO_RESULTS".to_string()));
        let e = c.summarize_per_mu(authed(&city, summarize("411700", " "))).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
        // The kept results come out as a spreadsheet, best first.
        let export = c
            .export_per_mu_results(authed(
                &city,
                pb::ExportPerMuResultsRequest {
                    region_code: "411700".into(),
                    year: 2023,
                    scheme_name: "驻马店 2023 试行".into(),
                    format: "csv".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let text = String::from_utf8(export.content).unwrap();
        assert_eq!(text.lines().count(), 21);
        assert!(text.lines().nth(1).unwrap().starts_with("E019,"), "{text}");
        assert!(text.lines().last().unwrap().contains(",D,"), "{text}");
        let xlsx = c
            .export_per_mu_results(authed(
                &city,
                pb::ExportPerMuResultsRequest {
                    region_code: "411700".into(),
                    year: 2023,
                    scheme_name: "驻马店 2023 试行".into(),
                    format: "xlsx".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(xlsx.content.starts_with(b"PK"), "an XLSX file is a zip");
        // D-class enterprises seed health-check cases, once.
        let seed = pb::SeedRectificationRequest {
            region_code: "411700".into(),
            year: 2023,
            scheme_name: "驻马店 2023 试行".into(),
            opened_on: "2024-03-01".into(),
        };
        let s = c.seed_rectification(authed(&city, seed.clone())).await.unwrap().into_inner();
        assert_eq!(s.enterprise_ids, vec!["E000"]);
        let case = c
            .get_case(authed(&city, pb::GetCaseRequest { case_id: s.case_ids[0].clone() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((case.state.as_str(), case.region_code.as_str()), ("STARTED", "411702"));
        assert!(case.history[0].note.contains("D 类企业"));
        let again = c.seed_rectification(authed(&city, seed)).await.unwrap().into_inner();
        assert_eq!((again.case_ids.len(), again.already_open), (0, 1));
        // The tax bureau imports the indicator it owns; the others stay as imported.
        let tax = token(Role::Tax, "411700");
        let only_tax = "enterprise_id,enterprise_name,region_code,亩均税收\nE000,企业0,411702,50\n".to_string();
        let r = c.import_enterprise_figures(authed(&tax, import(only_tax))).await.unwrap().into_inner();
        assert!(r.stored);
        let eval = c
            .evaluate_stored_per_mu(authed(
                &city,
                pb::EvaluateStoredPerMuRequest {
                    region_code: "411700".into(),
                    year: 2023,
                    scheme: Some(scheme()),
                    store_results: false,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let e0 = eval.enterprises.iter().find(|e| e.enterprise_id == "E000").unwrap();
        // 50 ÷ 15 × 60 + 100 ÷ 120 × 40.
        assert_eq!((e0.contributions[0].as_str(), e0.contributions[1].as_str()), ("200.0000", "33.3333"));
        assert_eq!(
            c.import_enterprise_figures(authed(&token(Role::Town, "411702"), import(csv(1)))).await.unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        land.stop().await;
    }

    civic_runtime::both_backends!(import_evaluate_and_seed, super::import_evaluate_seed);

    /// A county's import cannot take over another county's enterprise by reusing its id; each
    /// enterprise an import changes is audited with its figures before.
    async fn import_respects_county_scope(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let import = |region: &str, content: &str| pb::ImportEnterpriseFiguresRequest {
            region_code: region.into(),
            year: 2023,
            format: "csv".into(),
            content: content.as_bytes().to_vec(),
            dry_run: false,
            reason: "报送".into(),
        };
        let header = "enterprise_id,enterprise_name,region_code,亩均税收\n";
        let a = token(Role::NaturalResources, "411702");
        let r = c
            .import_enterprise_figures(authed(&a, import("411702", &format!("{header}E1,甲,411702,10\n"))))
            .await
            .unwrap()
            .into_inner();
        assert!(r.stored, "{:?}", r.errors);
        let b = token(Role::NaturalResources, "411721");
        let takeover = format!("{header}E2,乙,411721,5\nE1,甲,411721,99\n");
        let r = c.import_enterprise_figures(authed(&b, import("411721", &takeover))).await.unwrap().into_inner();
        assert!(!r.stored);
        let found: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(found, vec![(3, "enterprise_id")]);
        assert!(!r.errors[0].message.contains("411702"), "{}", r.errors[0].message);
        // E1 is still 411702's, with its figure; E2 was not stored either.
        let r = c
            .import_enterprise_figures(authed(&a, import("411702", &format!("{header}E1,甲,411702,12\n"))))
            .await
            .unwrap()
            .into_inner();
        assert!(r.stored, "{:?}", r.errors);
        let mut audit = civic_proto::common::v1::audit_log_client::AuditLogClient::new(
            civic_runtime::testing::channel(land.addr).await,
        );
        let entries = audit
            .list_audit_entries(authed(
                &token(Role::Auditor, "000000"),
                civic_proto::common::v1::ListAuditEntriesRequest {
                    region_code: "411700".into(),
                    entity: "enterprise".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let actions: Vec<(&str, &str)> = entries.iter().map(|e| (e.action.as_str(), e.entity_id.as_str())).collect();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(actions.contains(&("enterprise_figures.create", "E1/2023")));
        let replaced = entries.iter().find(|e| e.action == "enterprise_figures.replace").unwrap();
        assert!(replaced.before_json.contains("\"10\""), "{}", replaced.before_json);
        assert!(replaced.after_json.contains("\"12\""), "{}", replaced.after_json);
        land.stop().await;
    }
    civic_runtime::both_backends!(import_scope, super::import_respects_county_scope);
}

mod registry {
    use civic_proto::land::v1::{self as pb};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, error_reason, token, violated_fields},
    };
    use tonic::Code;

    async fn dynamic_zero(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let wuyang = token(Role::NaturalResources, "411121");
        let linying = token(Role::NaturalResources, "411122");
        let entry = |region: &str, name: &str, disposition: &str, found_by: &str| pb::RegisterSanluanwuRequest {
            entry: Some(pb::SanluanwuEntry {
                region_code: region.into(),
                name: name.into(),
                sector: "INDUSTRIAL".into(),
                trade: "砂石料场".into(),
                disposition: disposition.into(),
                found_by: found_by.into(),
                found_on: "2020-08-01".into(),
                ..Default::default()
            }),
            reason: "漯发〔2020〕13号 动态清零排查".into(),
        };
        let a = c
            .register_sanluanwu(authed(&wuyang, entry("411121", "甲砂石料场", "BAN", "LOCAL")))
            .await
            .unwrap()
            .into_inner();
        let b = c
            .register_sanluanwu(authed(&wuyang, entry("411121", "乙木材加工", "RELOCATE", "HIGHER_INSPECTION")))
            .await
            .unwrap()
            .into_inner();
        c.register_sanluanwu(authed(&linying, entry("411122", "丙水泥预制", "RECTIFY", "LOCAL"))).await.unwrap();
        // A county registers only its own; bad input names the field.
        assert_eq!(
            c.register_sanluanwu(authed(&wuyang, entry("411122", "丁", "BAN", "LOCAL"))).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        let mut bad = entry("411121", "戊", "BAN", "LOCAL");
        bad.entry.as_mut().unwrap().sector = "MINING".into();
        assert_eq!(
            violated_fields(&c.register_sanluanwu(authed(&wuyang, bad)).await.unwrap_err()),
            vec!["entry.sector"]
        );
        // Closing entries: versioned, dated after they were found.
        let done = |id: &str, v: i64, on: &str| pb::UpdateSanluanwuRequest {
            entry_id: id.into(),
            expected_version: v,
            disposition: String::new(),
            status: "DONE".into(),
            done_on: on.into(),
            reason: "取缔到位".into(),
        };
        assert_eq!(
            violated_fields(
                &c.update_sanluanwu(authed(&wuyang, done(&a.entry_id, 1, "2020-07-01"))).await.unwrap_err()
            ),
            vec!["done_on"]
        );
        c.update_sanluanwu(authed(&wuyang, done(&a.entry_id, 1, "2020-09-30"))).await.unwrap();
        assert_eq!(
            error_reason(&c.update_sanluanwu(authed(&wuyang, done(&a.entry_id, 1, "2020-10-01"))).await.unwrap_err()),
            "VERSION_CONFLICT"
        );
        let city = token(Role::NaturalResources, "411100");
        let t = c
            .sanluanwu_tally(authed(&city, pb::SanluanwuTallyRequest { region_code: "411100".into() }))
            .await
            .unwrap()
            .into_inner()
            .counties;
        let wy = t.iter().find(|x| x.region_code == "411121").unwrap();
        assert_eq!(
            (wy.open, wy.done, wy.cleared_to_zero, wy.higher_inspection_found, wy.higher_inspection_open),
            (1, 1, false, 1, 1)
        );
        assert_eq!(wy.open_by_disposition.get("RELOCATE").copied(), Some(1));
        assert_eq!(wy.region_name, "舞阳县");
        c.update_sanluanwu(authed(&wuyang, done(&b.entry_id, 1, "2020-12-31"))).await.unwrap();
        let t = c
            .sanluanwu_tally(authed(&city, pb::SanluanwuTallyRequest { region_code: "411100".into() }))
            .await
            .unwrap()
            .into_inner()
            .counties;
        let wy = t.iter().find(|x| x.region_code == "411121").unwrap();
        assert!(wy.cleared_to_zero);
        assert_eq!((wy.higher_inspection_found, wy.higher_inspection_open), (1, 0));
        assert!(!t.iter().find(|x| x.region_code == "411122").unwrap().cleared_to_zero);
        let open = c
            .list_sanluanwu(authed(
                &city,
                pb::ListSanluanwuRequest { region_code: "411100".into(), status: "OPEN".into(), ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(open.entries.len(), 1);
        land.stop().await;
    }

    civic_runtime::both_backends!(dynamic_zero, super::dynamic_zero);
}

mod parcels {
    use civic_proto::land::v1::{self as pb};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, error_reason, token, violated_fields},
    };
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
        c.upsert_cluster(authed(
            &admin,
            pb::UpsertClusterRequest { cluster: Some(cluster.clone()), expected_version: 0, reason: "建档".into() },
        ))
        .await
        .unwrap();
        assert_eq!(
            c.upsert_cluster(authed(
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
                .into_inner();
            assert_eq!((p.status.as_str(), p.history.len()), ("PLANNED", 1));
        }
        // The cluster view applies the cluster rules to what is stored: (300 + 250 + 50) / 1000 = 60 %.
        let view = c
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
                .into_inner();
            v = saved.version;
        }
        let mut back = parcel("P1", "300", "INDUSTRIAL");
        back.status = "SOLD".into();
        let e = c
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
            .into_inner();
        assert_eq!(
            p.history.iter().map(|h| h.status.as_str()).collect::<Vec<_>>(),
            vec!["PLANNED", "SOLD", "UNDER_CONSTRUCTION", "RECOVERED"]
        );
        assert_eq!(p.history[3].on_date, "2024-01-05");
        // Recovered land no longer counts: 300 / 1000 of industrial + warehouse now 30 %.
        let view = c
            .get_cluster(authed(
                &admin,
                pb::GetClusterRequest { cluster_id: "ZMD-YC".into(), on_date: "2024-06-30".into() },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            view.rules.unwrap().indicators.iter().find(|i| i.key == "industrial_share").unwrap().outcome,
            "FAIL"
        );
        // Bad input and other counties.
        let mut bad = parcel("P9", "-1", "INDUSTRIAL");
        assert_eq!(
            violated_fields(
                &c.upsert_parcel(authed(
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
                &c.upsert_parcel(authed(
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
            c.get_parcel(authed(&other, pb::GetParcelRequest { parcel_id: "P2".into() })).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        let list = c
            .list_parcels(authed(
                &admin,
                pb::ListParcelsRequest {
                    region_code: "411702".into(),
                    cluster_id: "ZMD-YC".into(),
                    ..Default::default()
                },
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
        let below = c.check_standard_land(authed(&admin, accept("74750"))).await.unwrap().into_inner();
        assert_eq!(outcome(&below), "FAIL");
        assert_eq!(below.rectification_deadline, "2026-06-30");
        let at = c.check_standard_land(authed(&admin, accept("75000"))).await.unwrap().into_inner();
        assert_eq!(outcome(&at), "PASS");
        land.stop().await;
    }

    civic_runtime::both_backends!(clusters_and_parcels, super::clusters_and_parcels);
}

mod limits {
    use civic_proto::land::v1 as pb;
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, token, violated_fields},
    };
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
            c.publish_limits(authed(&token(Role::NaturalResources, "411702"), publish.clone()))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let mut wrong = publish.clone();
        wrong.values[0].key = "assistance.dibao.urban".into();
        assert_eq!(violated_fields(&c.publish_limits(authed(&city, wrong)).await.unwrap_err()), vec!["values[0].key"]);
        // 附件3-1 第十八条: investment intensity is development-reform's, tax per mu the tax
        // bureau's; the land bureau publishes neither.
        assert_eq!(c.publish_limits(authed(&city, publish.clone())).await.unwrap_err().code(), Code::PermissionDenied);
        let only = |i: usize| pb::PublishLimitsRequest { values: vec![publish.values[i].clone()], ..publish.clone() };
        let r =
            c.publish_limits(authed(&token(Role::DevelopmentReform, "411700"), only(0))).await.unwrap().into_inner();
        assert!(r.stored);
        assert_eq!(r.limits[0].source.as_ref().unwrap().document, "驻发改〔2023〕8号");
        let tax = token(Role::Tax, "411700");
        assert!(c.publish_limits(authed(&tax, only(1))).await.unwrap().into_inner().stored);
        assert_eq!(c.publish_limits(authed(&tax, only(1))).await.unwrap_err().code(), Code::InvalidArgument);
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
        let ok = c.check_standard_land(authed(&tok, sale("2023-06-30", figures.clone()))).await.unwrap().into_inner();
        assert!(ok.passed, "{:?}", ok.indicators);
        let before =
            c.check_standard_land(authed(&tok, sale("2022-12-31", figures.clone()))).await.unwrap().into_inner();
        assert!(!before.passed);
        let mut low = figures;
        low.tax_wan = "449.99".into();
        let r = c.check_standard_land(authed(&tok, sale("2023-06-30", low))).await.unwrap().into_inner();
        assert_eq!(r.indicators.iter().find(|i| i.key == "tax_per_mu").unwrap().outcome, "FAIL");
        land.stop().await;
    }

    civic_runtime::both_backends!(published_minima, super::published_minima_decide_the_hard_indicators);
}

mod cluster_evaluation {
    use civic_proto::{
        common::v1::{audit_log_client::AuditLogClient, ListAuditEntriesRequest},
        land::v1 as pb,
    };
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, channel, error_reason, token, unit_token, violated_fields},
    };
    use tonic::Code;

    fn scheme() -> pb::PerMuScheme {
        let ind = |name: &str, benchmark: &str, weight: &str| pb::PerMuIndicator {
            name: name.into(),
            benchmark: benchmark.into(),
            weight: weight.into(),
            higher_is_better: true,
            missing: pb::MissingValue::NotRated as i32,
        };
        pb::PerMuScheme {
            name: "驻马店市产业集聚区土地高效利用评价 2024".into(),
            document: String::new(),
            indicators: vec![ind("亩均税收", "15", "60"), ind("土地开发率", "0.9", "40")],
            classing: Some(pb::per_mu_scheme::Classing::Cutoffs(pb::ScoreCutoffs {
                a: "100".into(),
                b: "80".into(),
                c: "60".into(),
            })),
        }
    }

    fn figures(id: &str, tax: &str, developed: &str) -> pb::ClusterEfficiencyFigures {
        pb::ClusterEfficiencyFigures { cluster_id: id.into(), values: vec![tax.into(), developed.into()] }
    }

    async fn rewards_and_penalties(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let city = token(Role::NaturalResources, "411700");
        for (id, region) in [("ZMD-A", "411702"), ("ZMD-B", "411702"), ("ZMD-C", "411721"), ("ZMD-D", "411721")] {
            let cluster = pb::Cluster {
                cluster_id: id.into(),
                region_code: region.into(),
                name: format!("{id} 集聚区"),
                industry_led: true,
                planned_area_mu: "1000".into(),
                used_area_mu: "800".into(),
                version: 0,
            };
            c.upsert_cluster(authed(
                &city,
                pb::UpsertClusterRequest { cluster: Some(cluster), expected_version: 0, reason: String::new() },
            ))
            .await
            .unwrap();
        }
        // 18/15×60 + 0.9/0.9×40 = 112 → A; 12/15×60 + 0.72/0.9×40 = 80 exactly → B; 48 → D; a
        // missing figure is not rated.
        let ask = |record: bool, on: &str| pb::EvaluateClustersRequest {
            region_code: "411700".into(),
            year: 2024,
            scheme: Some(scheme()),
            clusters: vec![
                figures("ZMD-A", "18", "0.9"),
                figures("ZMD-B", "12", "0.72"),
                figures("ZMD-C", "6", "0.54"),
                figures("ZMD-D", "", "0.8"),
            ],
            on_date: on.into(),
            record,
            reason: "2024 年度评价".into(),
        };
        let r = c.evaluate_clusters(authed(&city, ask(false, "2024-06-30"))).await.unwrap().into_inner();
        let got: Vec<(&str, &str, &str, &str)> = r
            .clusters
            .iter()
            .map(|x| (x.score.as_str(), x.rating_class.as_str(), x.outcome.as_str(), x.quota_change_mu.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("112.0000", "A", "REWARD", ""),
                ("80.0000", "B", "NONE", ""),
                ("48.0000", "D", "PENALTY", ""),
                ("", "", "UNRATED", ""),
            ]
        );
        assert!(r.clusters[0].expansion_priority && !r.clusters[0].new_approvals_suspended);
        assert!(r.clusters[2].new_approvals_suspended);
        assert_eq!(r.clusters[2].measures, vec!["核减新增建设用地指标", "暂停新增建设用地审批"]);
        assert!(!r.recorded);
        let steps = r.explanation.unwrap().steps;
        let last = steps.last().unwrap();
        assert_eq!(last.source.as_ref().unwrap().clause, "附件3 四(十三)");
        assert!(last.formula.contains("数额未发布"), "{}", last.formula);

        // The city publishes the quota amounts; the result then carries them.
        let value = |key: &str, v: &str| pb::LimitValue {
            key: key.into(),
            region_code: "411700".into(),
            value: v.into(),
            clause: "三".into(),
        };
        c.publish_limits(authed(
            &city,
            pb::PublishLimitsRequest {
                region_code: "411700".into(),
                effective_from: "2024-01-01".into(),
                document: "驻自然资〔2024〕3号".into(),
                title: "产业集聚区土地高效利用评价结果运用办法(测试)".into(),
                values: vec![
                    value("land.cluster_eval.reward_quota_mu", "50"),
                    value("land.cluster_eval.cut_quota_mu", "30"),
                ],
                reason: String::new(),
                validate_only: false,
            },
        ))
        .await
        .unwrap();
        // Cluster administrations evaluate for themselves but do not record; the bureau records.
        let cluster_admin = token(Role::ClusterAdmin, "411700");
        assert!(c.evaluate_clusters(authed(&cluster_admin, ask(false, "2024-06-30"))).await.is_ok());
        assert_eq!(
            c.evaluate_clusters(authed(&cluster_admin, ask(true, "2024-06-30"))).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        let r = c.evaluate_clusters(authed(&city, ask(true, "2024-06-30"))).await.unwrap().into_inner();
        assert!(r.recorded);
        assert_eq!(
            r.clusters.iter().map(|x| x.quota_change_mu.as_str()).collect::<Vec<_>>(),
            vec!["50", "", "-30", ""]
        );
        assert_eq!(r.by_outcome.get("PENALTY"), Some(&1));
        // The stored cluster shows its latest result; its own administration sees it, another's not.
        let own = unit_token(Role::ClusterAdmin, "411702", "ZMD-A");
        let view = c
            .get_cluster(authed(&own, pb::GetClusterRequest { cluster_id: "ZMD-A".into(), on_date: String::new() }))
            .await
            .unwrap()
            .into_inner();
        let latest = view.latest_evaluation.unwrap();
        assert_eq!(
            (view.latest_evaluation_year, latest.outcome.as_str(), latest.quota_change_mu.as_str()),
            (2024, "REWARD", "50")
        );
        let e = c
            .get_cluster(authed(&own, pb::GetClusterRequest { cluster_id: "ZMD-B".into(), on_date: String::new() }))
            .await
            .unwrap_err();
        assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
        let e = c
            .list_parcels(authed(
                &own,
                pb::ListParcelsRequest {
                    region_code: "411702".into(),
                    cluster_id: "ZMD-B".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
        let view = c
            .get_cluster(authed(&city, pb::GetClusterRequest { cluster_id: "ZMD-C".into(), on_date: String::new() }))
            .await
            .unwrap()
            .into_inner();
        assert!(view.latest_evaluation.unwrap().new_approvals_suspended);
        // Bad input: unknown or repeated clusters, a cluster outside the region, figures that do
        // not fit the scheme.
        let mut bad = ask(true, "2024-06-30");
        bad.clusters[1].cluster_id = "NOPE".into();
        assert_eq!(
            violated_fields(&c.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
            vec!["clusters[1].cluster_id"]
        );
        let mut bad = ask(false, "2024-06-30");
        bad.clusters[1].cluster_id = "ZMD-A".into();
        assert_eq!(
            violated_fields(&c.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
            vec!["clusters[1].cluster_id"]
        );
        let county = token(Role::NaturalResources, "411702");
        let mut outside = ask(true, "2024-06-30");
        outside.region_code = "411702".into();
        outside.clusters.truncate(3);
        assert_eq!(
            violated_fields(&c.evaluate_clusters(authed(&county, outside)).await.unwrap_err()),
            vec!["clusters[2].cluster_id"]
        );
        let mut bad = ask(false, "2024-06-30");
        bad.clusters[0].values.push("1".into());
        assert_eq!(
            violated_fields(&c.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
            vec!["clusters[0].values"]
        );
        let mut bad = ask(false, "2024-06-30");
        bad.clusters[0].values[0] = "-1".into();
        assert_eq!(
            violated_fields(&c.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
            vec!["clusters[0].values[0]"]
        );
        // Recorded evaluations are in the audit log.
        let mut audit = AuditLogClient::new(channel(land.addr).await);
        let entries = audit
            .list_audit_entries(authed(
                &token(Role::Auditor, "411700"),
                ListAuditEntriesRequest { entity: "cluster_evaluations".into(), ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["cluster.evaluate"]);
        land.stop().await;
    }

    civic_runtime::both_backends!(cluster_evaluation, super::rewards_and_penalties);
}

mod campaign_targets {
    use civic_proto::land::v1 as pb;
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, error_reason, token, unit_token, violated_fields},
    };
    use tonic::Code;

    fn target(town: &str, area: &str, contiguous: &str, parks: i32) -> pb::TownTarget {
        pb::TownTarget {
            town: town.into(),
            area_mu: area.into(),
            contiguous_area_mu: contiguous.into(),
            contiguous_parks: parks,
        }
    }

    fn report(town: &str, month: i32, area: &str, on: &str) -> pb::ReportCampaignProgressRequest {
        pb::ReportCampaignProgressRequest {
            region_code: "411702".into(),
            year: 2024,
            town: town.into(),
            month,
            completed_area_mu: area.into(),
            contiguous_area_mu: "100".into(),
            contiguous_parks_started: 1,
            reported_on: on.into(),
            note: String::new(),
        }
    }

    fn verify(town: &str, month: i32, area: &str, on: &str) -> pb::VerifyCampaignReportRequest {
        pb::VerifyCampaignReportRequest {
            region_code: "411702".into(),
            year: 2024,
            town: town.into(),
            month,
            verified_area_mu: area.into(),
            verified_parks: 1,
            verified_on: on.into(),
            note: String::new(),
        }
    }

    async fn targets_reports_progress(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let office = token(Role::NaturalResources, "411702");
        let set = |towns: Vec<pb::TownTarget>, expected: i64| pb::SetCampaignTargetsRequest {
            region_code: "411702".into(),
            year: 2024,
            towns,
            document: "2024年度全市“危污乱散低”专项治理任务分解表".into(),
            expected_version: expected,
            reason: String::new(),
        };
        // 600 of 2000 亩 is exactly 30 % contiguous; 500 of 1999 is not; 3999 亩 misses the 4000 goal
        // by one; 12 parks meet theirs.
        let first = vec![target("顾山镇", "2000", "600", 7), target("新桥镇", "1999", "500", 5)];
        let t = c.set_campaign_targets(authed(&office, set(first.clone(), 0))).await.unwrap().into_inner();
        let outcome = |t: &pb::CampaignTargets, key: &str| {
            t.checks.iter().find(|x| x.key == key).map(|x| x.outcome.clone()).unwrap_or_default()
        };
        assert_eq!(t.version, 1);
        assert_eq!(outcome(&t, "contiguous_share/顾山镇"), "PASS");
        assert_eq!(outcome(&t, "contiguous_share/新桥镇"), "FAIL");
        assert_eq!(outcome(&t, "annual_area"), "FAIL");
        assert_eq!(outcome(&t, "contiguous_parks"), "PASS");
        assert_eq!(
            c.set_campaign_targets(authed(&office, set(first, 0))).await.unwrap_err().code(),
            Code::AlreadyExists
        );
        let second = vec![target("顾山镇", "2000", "600", 7), target("新桥镇", "2000", "600", 5)];
        assert_eq!(
            error_reason(&c.set_campaign_targets(authed(&office, set(second.clone(), 7))).await.unwrap_err()),
            "VERSION_CONFLICT"
        );
        let t = c.set_campaign_targets(authed(&office, set(second, 1))).await.unwrap().into_inner();
        assert_eq!((t.version, outcome(&t, "annual_area")), (2, "PASS".to_string()));
        // Bad targets: a town twice, contiguous above the total; a town may not set targets.
        let twice = vec![target("顾山镇", "1", "0", 0), target("顾山镇", "1", "0", 0)];
        assert_eq!(
            violated_fields(&c.set_campaign_targets(authed(&office, set(twice, 2))).await.unwrap_err()),
            vec!["towns[1].town"]
        );
        let over = vec![target("顾山镇", "10", "11", 0)];
        assert_eq!(
            violated_fields(&c.set_campaign_targets(authed(&office, set(over, 2))).await.unwrap_err()),
            vec!["towns[0].contiguous_area_mu"]
        );
        let gushan = unit_token(Role::Town, "411702", "顾山镇");
        assert_eq!(
            c.set_campaign_targets(authed(&gushan, set(vec![target("顾山镇", "1", "0", 0)], 2)))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );

        // Reports: on time by the 20th, late after it; a town reports for itself only.
        let r = c.report_campaign_progress(authed(&gushan, report("顾山镇", 3, "300", "2024-03-20"))).await.unwrap();
        let r = r.into_inner();
        assert_eq!((r.report_due.as_str(), r.report_late, r.verify_due.as_str()), ("2024-03-20", false, "2024-03-25"));
        let r = c
            .report_campaign_progress(authed(&gushan, report("顾山镇", 4, "200", "2024-04-22")))
            .await
            .unwrap()
            .into_inner();
        assert!(r.report_late);
        let e =
            c.report_campaign_progress(authed(&gushan, report("新桥镇", 3, "200", "2024-03-20"))).await.unwrap_err();
        assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
        assert_eq!(
            violated_fields(
                &c.report_campaign_progress(authed(&office, report("东风镇", 3, "200", "2024-03-20")))
                    .await
                    .unwrap_err()
            ),
            vec!["town"]
        );
        assert_eq!(
            violated_fields(
                &c.report_campaign_progress(authed(&gushan, report("顾山镇", 5, "200", "2024-04-30")))
                    .await
                    .unwrap_err()
            ),
            vec!["reported_on"]
        );
        let mut old = report("顾山镇", 3, "200", "2023-03-20");
        old.year = 2023;
        assert_eq!(
            error_reason(&c.report_campaign_progress(authed(&gushan, old)).await.unwrap_err()),
            "NO_CAMPAIGN_TARGETS"
        );
        // Verification by the office, at most what was reported, once.
        assert_eq!(
            violated_fields(
                &c.verify_campaign_report(authed(&office, verify("顾山镇", 3, "301", "2024-03-25"))).await.unwrap_err()
            ),
            vec!["verified_area_mu"]
        );
        assert_eq!(
            c.verify_campaign_report(authed(&gushan, verify("顾山镇", 3, "280", "2024-03-25")))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let v = c
            .verify_campaign_report(authed(&office, verify("顾山镇", 3, "280", "2024-03-25")))
            .await
            .unwrap()
            .into_inner();
        assert!(v.verified && !v.verify_late);
        assert_eq!(
            error_reason(
                &c.verify_campaign_report(authed(&office, verify("顾山镇", 3, "280", "2024-03-26"))).await.unwrap_err()
            ),
            "REPORT_VERIFIED"
        );
        assert_eq!(
            error_reason(
                &c.report_campaign_progress(authed(&gushan, report("顾山镇", 3, "320", "2024-03-27")))
                    .await
                    .unwrap_err()
            ),
            "REPORT_VERIFIED"
        );
        assert_eq!(
            c.verify_campaign_report(authed(&office, verify("新桥镇", 3, "1", "2024-03-25"))).await.unwrap_err().code(),
            Code::NotFound
        );

        // Progress on 30 May: verified 280 of 2000 亩; January, February and May unreported;
        // April reported but not verified by the 25th.
        let ask = |town: &str| pb::GetCampaignProgressRequest {
            region_code: "411702".into(),
            year: 2024,
            on_date: "2024-05-30".into(),
            town: town.into(),
        };
        let p = c.get_campaign_progress(authed(&office, ask(""))).await.unwrap().into_inner();
        let g = &p.towns[0];
        assert_eq!(g.target.as_ref().unwrap().town, "顾山镇");
        assert_eq!(
            (g.reported_area_mu.as_str(), g.verified_area_mu.as_str(), g.progress_percent.as_str()),
            ("500", "280", "14.00")
        );
        assert_eq!((g.missing_months.clone(), g.unverified_months.clone()), (vec![1, 2, 5], vec![4]));
        assert_eq!(g.verified_contiguous_area_mu, "93.3333");
        assert_eq!(p.towns[1].missing_months, vec![1, 2, 3, 4, 5]);
        assert_eq!((p.target_area_mu.as_str(), p.progress_percent.as_str()), ("4000", "7.00"));
        assert_eq!(p.goals.iter().find(|x| x.key == "annual_area").unwrap().outcome, "FAIL");
        // A town sees its own line only, and not another's.
        let own = c.get_campaign_progress(authed(&gushan, ask(""))).await.unwrap().into_inner();
        assert_eq!((own.towns.len(), own.goals.len()), (1, 0));
        assert_eq!(
            error_reason(&c.get_campaign_progress(authed(&gushan, ask("新桥镇"))).await.unwrap_err()),
            "UNIT_OUT_OF_SCOPE"
        );
        let targets = c.get_campaign_targets(authed(&gushan, ask(""))).await.unwrap().into_inner();
        assert_eq!(targets.towns.len(), 1);
        assert_eq!(
            c.get_campaign_progress(authed(&token(Role::NaturalResources, "411721"), ask("")))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        land.stop().await;
    }

    civic_runtime::both_backends!(campaign_targets, super::targets_reports_progress);
}

mod flags {
    use civic_proto::{
        common::v1::{audit_log_client::AuditLogClient, ListAuditEntriesRequest},
        land::v1 as pb,
    };
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, channel, token, violated_fields},
    };
    use tonic::Code;

    fn set(flag: &str, raised: bool, on: &str, document: &str) -> pb::SetEnterpriseFlagRequest {
        pb::SetEnterpriseFlagRequest {
            enterprise_id: "ENT-7".into(),
            region_code: "411702".into(),
            flag: flag.into(),
            raised,
            on_date: on.into(),
            document: document.into(),
            note: String::new(),
        }
    }

    fn classify(on: &str, stored: bool) -> pb::ClassifyLowEfficiencyRequest {
        pb::ClassifyLowEfficiencyRequest {
            region_code: "411702".into(),
            on_date: on.into(),
            parcels: vec![pb::ParcelFacts {
                parcel_id: "P-7".into(),
                enterprise_id: "ENT-7".into(),
                in_production: true,
                ..Default::default()
            }],
            explain: true,
            use_stored_flags: stored,
        }
    }

    async fn bureaus_flag_enterprises(backend: Backend) {
        let land = crate::Land::spawn(backend).await;
        let mut c = land.client.clone();
        let ecology = token(Role::EcologyEnvironment, "411702");
        let industry = token(Role::IndustryIt, "411702");
        let nr = token(Role::NaturalResources, "411702");
        // Each bureau sets the flags it owns, with its document.
        assert_eq!(
            c.set_enterprise_flag(authed(&industry, set("HIGH_POLLUTION_OR_HIGH_ENERGY", true, "2024-03-01", "x")))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let e = c.set_enterprise_flag(authed(&ecology, set("DIRTY", true, "2024-03-01", "x"))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec!["flag"]);
        let e = c
            .set_enterprise_flag(authed(&ecology, set("HIGH_POLLUTION_OR_HIGH_ENERGY", true, "2024-03-01", " ")))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec!["document"]);
        let f = c
            .set_enterprise_flag(authed(
                &ecology,
                set("HIGH_POLLUTION_OR_HIGH_ENERGY", true, "2024-03-01", "驿环罚〔2024〕12号"),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((f.flag_name.as_str(), f.bureau.as_str()), ("高污染、高耗能", "ecology-environment"));

        // Classification counts the flag from its date, citing the bureau's document.
        let r = c.classify_low_efficiency(authed(&nr, classify("2024-06-30", true))).await.unwrap().into_inner();
        assert_eq!(r.parcels[0].categories, vec!["INDUSTRIAL_TRANSITION"]);
        let steps = &r.parcels[0].explanation.as_ref().unwrap().steps;
        assert_eq!(steps[0].source.as_ref().unwrap().document, "驿环罚〔2024〕12号");
        let before = c.classify_low_efficiency(authed(&nr, classify("2024-02-29", true))).await.unwrap().into_inner();
        assert!(before.parcels[0].categories.is_empty());
        let without = c.classify_low_efficiency(authed(&nr, classify("2024-06-30", false))).await.unwrap().into_inner();
        assert!(without.parcels[0].categories.is_empty());

        // A low-efficiency case on the enterprise's parcel uses the flags too.
        c.set_enterprise_flag(authed(&industry, set("LISTED_FOR_CLOSURE", true, "2024-04-01", "驿工信〔2024〕5号")))
            .await
            .unwrap();
        let case = c
            .open_case(authed(
                &nr,
                pb::OpenCaseRequest {
                    kind: pb::CaseKind::LowEfficiencyIdentification as i32,
                    region_code: "411702".into(),
                    subject_id: "P-7".into(),
                    opened_on: "2024-07-01".into(),
                    parcel: classify("2024-07-01", true).parcels.pop(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let reasons = case.classification.unwrap().reasons;
        assert_eq!(reasons.len(), 2, "{reasons:?}");

        // Cleared from a date: gone from the current list, kept in the history; a change cannot
        // be dated before the last one.
        let e = c
            .set_enterprise_flag(authed(
                &ecology,
                set("HIGH_POLLUTION_OR_HIGH_ENERGY", false, "2024-02-01", "驿环〔2024〕30号"),
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec!["on_date"]);
        c.set_enterprise_flag(authed(
            &ecology,
            set("HIGH_POLLUTION_OR_HIGH_ENERGY", false, "2024-09-01", "驿环〔2024〕30号"),
        ))
        .await
        .unwrap();
        let later = c.classify_low_efficiency(authed(&nr, classify("2024-10-01", true))).await.unwrap().into_inner();
        assert_eq!(later.parcels[0].reasons.len(), 1, "{:?}", later.parcels[0].reasons);
        let list = |history: bool, token: &str| pb::ListEnterpriseFlagsRequest {
            region_code: "411702".into(),
            enterprise_id: String::new(),
            history,
            page_size: 1,
            page_token: token.into(),
        };
        let current = c.list_enterprise_flags(authed(&nr, list(false, ""))).await.unwrap().into_inner();
        assert_eq!(current.flags.iter().map(|f| f.flag.as_str()).collect::<Vec<_>>(), vec!["LISTED_FOR_CLOSURE"]);
        let mut seen = Vec::new();
        let mut next = String::new();
        loop {
            let page = c.list_enterprise_flags(authed(&nr, list(true, &next))).await.unwrap().into_inner();
            seen.extend(page.flags.iter().map(|f| (f.flag.clone(), f.raised)));
            if page.next_page_token.is_empty() {
                break;
            }
            next = page.next_page_token;
        }
        assert_eq!(
            seen,
            vec![
                ("HIGH_POLLUTION_OR_HIGH_ENERGY".to_string(), true),
                ("HIGH_POLLUTION_OR_HIGH_ENERGY".to_string(), false),
                ("LISTED_FOR_CLOSURE".to_string(), true),
            ]
        );
        // Towns do not read them; another county's bureau neither.
        assert_eq!(
            c.list_enterprise_flags(authed(&token(Role::Town, "411702"), list(false, ""))).await.unwrap_err().code(),
            Code::PermissionDenied
        );
        assert_eq!(
            c.list_enterprise_flags(authed(&token(Role::NaturalResources, "411721"), list(false, "")))
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        let mut audit = AuditLogClient::new(channel(land.addr).await);
        let entries = audit
            .list_audit_entries(authed(
                &token(Role::Auditor, "411700"),
                ListAuditEntriesRequest { entity: "enterprise_flag".into(), ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(
            entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            vec!["flag.raise", "flag.raise", "flag.clear"]
        );
        land.stop().await;
    }

    civic_runtime::both_backends!(enterprise_flags, super::bureaus_flag_enterprises);
}

/// Extreme values in every decimal field of the land checks: each answer is a verdict or a
/// field error, never a panic (CANCELLED), INTERNAL or UNKNOWN.
mod extremes {
    use civic_proto::land::v1::{self as pb};
    use civic_runtime::{
        identity::Role,
        storage::Backend,
        testing::{authed, token},
    };

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
                let code = match c.check_standard_land(authed(&tok, r)).await {
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
                let code = match c.evaluate_per_mu(authed(&tok, r)).await {
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
        let code = match c.evaluate_per_mu(authed(&tok, r)).await {
            Ok(_) => tonic::Code::Ok,
            Err(e) => e.code(),
        };
        assert!(acceptable(code), "EvaluatePerMu all at the bounds: {code:?}");
        land.stop().await;
    }
}
