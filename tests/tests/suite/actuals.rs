//! Goal indicators whose actuals the other services keep: budget-performance reads them at a
//! monitoring checkpoint — persons and money paid from social-assistance's `SummarizeAssistance`,
//! a per-mu mean from land-supervision's `SummarizePerMu` — on the clerk's behalf, keeps each with
//! its provenance, shows it in the explanation, and stores nothing when a service cannot answer.
//!
//! (About 700 lines: each kind of actual is one scenario across two or three services, built on the
//! shared fixtures at the top.)

use std::time::Duration;

use civic_proto::{
    assistance::v1::{social_assistance_service_client::SocialAssistanceServiceClient, RecordPaymentsRequest},
    budget::v1::{
        self as pb, monitoring_service_client::MonitoringServiceClient,
        programme_service_client::ProgrammeServiceClient,
    },
    land::v1::{
        self as land, campaign_service_client::CampaignServiceClient,
        per_mu_evaluation_service_client::PerMuEvaluationServiceClient,
    },
};
use civic_runtime::{config::Settings, identity::Role, server::Running, storage::Backend};
use civic_testing::{authed, channel, error_reason, fresh_database, settings, token, violated_fields};
use tonic::Code;

pub(super) fn indicator(
    group: pb::GoalGroup,
    name: &str,
    unit: &str,
    d: pb::IndicatorDirection,
    target: &str,
    points: &str,
) -> pb::GoalIndicator {
    pb::GoalIndicator {
        group: group as i32,
        name: name.into(),
        unit: unit.into(),
        direction: d as i32,
        target: target.into(),
        points: points.into(),
        value_basis: pb::ValueBasis::History as i32,
        basis_evidence: "上年实际".into(),
        data_source: "业务系统".into(),
        ..Default::default()
    }
}

pub(super) fn sourced(
    mut i: pb::GoalIndicator,
    service: pb::ActualService,
    measure: &str,
    filter: &str,
    year: i32,
) -> pb::GoalIndicator {
    i.actual_source =
        Some(pb::ActualSource { service: service as i32, measure: measure.into(), filter: filter.into(), year });
    i
}

/// Goals of 90 points plus 10 for the execution rate, with `first` and `second` read elsewhere.
pub(super) fn goals(first: pb::GoalIndicator, second: pb::GoalIndicator) -> pb::Goals {
    use pb::{GoalGroup as G, IndicatorDirection as D};
    pb::Goals {
        overall: "按月足额发放".into(),
        indicators: vec![
            first,
            second,
            indicator(G::Output, "按月足额发放月数", "月", D::AtLeast, "12", "15"),
            indicator(G::Benefit, "基本生活得到保障", "", D::Qualitative, "达成", "20"),
            indicator(G::Benefit, "动态管理率", "%", D::AtLeast, "95", "10"),
            indicator(G::Satisfaction, "受助对象满意度", "%", D::AtLeast, "90", "10"),
        ],
    }
}

fn rules() -> pb::MonitoringRules {
    pb::MonitoringRules {
        lag_tolerance_points: "10".into(),
        schedule: vec![],
        divergence_points: "10".into(),
        document: "运行监控实施细则(示例)".into(),
        clause: "第五条".into(),
    }
}

pub(super) fn checkpoint(
    programme_id: &str,
    as_of: &str,
    indicators: Vec<pb::RecordedProgress>,
    correction: &str,
) -> pb::RecordMonitoringRequest {
    pb::RecordMonitoringRequest {
        programme_id: programme_id.into(),
        as_of: as_of.into(),
        figures: Some(pb::MonitoringFigures {
            budget_fen: 0,
            arrived_fen: 40_000_000,
            paid_fen: 30_000_000,
            spent_fen: 30_000_000,
            expected_carryover_fen: 0,
        }),
        indicators,
        rules: Some(rules()),
        correction_reason: correction.into(),
    }
}

/// Creates a programme with `goals` and has finance approve them; its id.
pub(super) async fn approved(
    c: &mut ProgrammeServiceClient<tonic::transport::Channel>,
    owner: &str,
    finance: &str,
    programme: pb::Programme,
    goals: pb::Goals,
) -> String {
    let p = c
        .upsert_programme(authed(
            owner,
            pb::UpsertProgrammeRequest { programme: Some(programme), expected_version: 0, reason: String::new() },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap();
    c.submit_goals(authed(
        owner,
        pb::SubmitGoalsRequest { programme_id: p.id.clone(), expected_version: 0, goals: Some(goals) },
    ))
    .await
    .unwrap();
    c.review_goals(authed(
        finance,
        pb::ReviewGoalsRequest {
            programme_id: p.id.clone(),
            version: 1,
            grade: pb::GoalReviewGrade::Excellent as i32,
            opinion: String::new(),
        },
    ))
    .await
    .unwrap();
    p.id
}

/// 2023's per-mu results of `region` kept under the scheme "2023 评价": three enterprises whose
/// 亩均税收 are 10, 20 and 33 (mean 21), imported and evaluated by natural resources (`nr`).
pub(super) async fn per_mu_results(land: &tonic::transport::Channel, nr: &str, region: &str) {
    let mut land_client = PerMuEvaluationServiceClient::new(land.clone());
    let figures = format!(
        "enterprise_id,enterprise_name,region_code,亩均税收\nE1,甲,{region},10\nE2,乙,{region},20\nE3,丙,{region},33\n"
    );
    let r = land_client
        .import_enterprise_figures(authed(
            nr,
            land::ImportEnterpriseFiguresRequest {
                region_code: region.into(),
                year: 2023,
                format: "csv".into(),
                content: figures.into_bytes(),
                dry_run: false,
                reason: "税务部门报送".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(r.stored, "{:?}", r.errors);
    let scheme = land::PerMuScheme {
        name: "2023 评价".into(),
        document: String::new(),
        indicators: vec![land::PerMuIndicator {
            name: "亩均税收".into(),
            benchmark: "15".into(),
            weight: "100".into(),
            higher_is_better: true,
            missing: land::MissingValue::AverageScore as i32,
        }],
        classing: Some(land::per_mu_scheme::Classing::RankShares(land::RankShares {
            a: "0.3".into(),
            b: "0.6".into(),
            c: "0.9".into(),
        })),
    };
    land_client
        .evaluate_stored_per_mu(authed(
            nr,
            land::EvaluateStoredPerMuRequest {
                region_code: region.into(),
                year: 2023,
                scheme: Some(scheme),
                store_results: true,
            },
        ))
        .await
        .unwrap();
}

/// The 危污乱散低 campaign of 驿城区 in 2024: 顾山镇 was to clear 2000 亩; its March report says 300,
/// of which the office verified 280 亩 (natural resources is `nr`).
pub(super) async fn campaign_march(land: &tonic::transport::Channel, nr: &str) {
    let mut land_client = CampaignServiceClient::new(land.clone());
    let town = civic_testing::unit_token(Role::Town, "411702", "顾山镇");
    land_client
        .set_campaign_targets(authed(
            nr,
            land::SetCampaignTargetsRequest {
                region_code: "411702".into(),
                year: 2024,
                towns: vec![land::TownTarget {
                    town: "顾山镇".into(),
                    area_mu: "2000".into(),
                    contiguous_area_mu: "600".into(),
                    contiguous_parks: 7,
                }],
                document: "2024年度全市“危污乱散低”专项治理任务分解表".into(),
                expected_version: 0,
                reason: String::new(),
            },
        ))
        .await
        .unwrap();
    land_client
        .report_campaign_progress(authed(
            &town,
            land::ReportCampaignProgressRequest {
                region_code: "411702".into(),
                year: 2024,
                town: "顾山镇".into(),
                month: 3,
                completed_area_mu: "300".into(),
                contiguous_area_mu: "100".into(),
                contiguous_parks_started: 1,
                reported_on: "2024-03-20".into(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    land_client
        .verify_campaign_report(authed(
            nr,
            land::VerifyCampaignReportRequest {
                region_code: "411702".into(),
                year: 2024,
                town: "顾山镇".into(),
                month: 3,
                verified_area_mu: "280".into(),
                verified_parks: 1,
                verified_on: "2024-03-25".into(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
}

async fn start_assistance(url: String, listen: &str) -> (tokio::sync::oneshot::Sender<()>, Running) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let s = Settings { listen_addr: listen.into(), ..settings(url) };
    let r = social_assistance::start(s, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    (tx, r)
}

async fn actuals_on(backend: Backend) {
    let sa_db = fresh_database(backend).await;
    let (sa_stop, sa) = start_assistance(sa_db.clone(), "127.0.0.1:0").await;
    let (ls_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let ls = land_supervision::start(settings(fresh_database(backend).await), async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    let (bp_stop, rx) = tokio::sync::oneshot::channel::<()>();
    let bp = budget_performance::start_with_peers(
        settings(fresh_database(backend).await),
        &format!("http://{}", sa.grpc_addr),
        &format!("http://{}", ls.grpc_addr),
        async move {
            let _ = rx.await;
        },
    )
    .await
    .unwrap();

    // social-assistance: the roll on 2024-07-01 and three months paid. 平山区's H1: three
    // persons, 966 yuan a month.
    let civil_city = token(Role::CivilAffairs, "210500");
    let mut sa_client = SocialAssistanceServiceClient::new(channel(sa.grpc_addr).await);
    super::import_roll(&mut sa_client, &format!("{}{}", super::H1, super::H2), "2024-07-01").await.unwrap();
    for month in ["2024-07", "2024-08", "2024-09"] {
        sa_client
            .record_payments(authed(
                &civil_city,
                RecordPaymentsRequest { region_code: "210500".into(), month: month.into() },
            ))
            .await
            .unwrap();
    }

    // budget-performance: 平山区's 低保 programme, two indicators read from social-assistance.
    use pb::{ActualService as S, GoalGroup as G, IndicatorDirection as D};
    let civil = token(Role::CivilAffairs, "210502");
    let finance = token(Role::Finance, "210502");
    let mut programmes = ProgrammeServiceClient::new(channel(bp.grpc_addr).await);
    let dibao = pb::Programme {
        region_code: "210502".into(),
        budget_year: 2024,
        code: "210502-2024-001".into(),
        name: "城市低保资金".into(),
        kind: pb::ProgrammeKind::Policy as i32,
        budget_kind: pb::BudgetKind::GeneralPublic as i32,
        object_kind: pb::ObjectKind::None as i32,
        owner_role: "civil-affairs".into(),
        owner_unit: "平山区民政局".into(),
        responsible_person: "王芳".into(),
        initial_budget_fen: 100_000_000,
        adjusted_budget_fen: 100_000_000,
        ..Default::default()
    };
    let dibao_goals = goals(
        sourced(indicator(G::Output, "保障人数", "人", D::AtLeast, "3", "20"), S::Assistance, "persons", "dibao", 0),
        sourced(indicator(G::Cost, "发放金额", "元", D::AtMost, "12000", "15"), S::Assistance, "paid", "dibao", 0),
    );
    // A measure the service does not offer, or in the wrong unit: refused when the goals are set.
    let mut wrong = dibao_goals.clone();
    wrong.indicators[0].actual_source.as_mut().unwrap().measure = "recipients".into();
    let p = programmes
        .upsert_programme(authed(
            &civil,
            pb::UpsertProgrammeRequest { programme: Some(dibao.clone()), expected_version: 0, reason: String::new() },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap();
    let e = programmes
        .submit_goals(authed(
            &civil,
            pb::SubmitGoalsRequest { programme_id: p.id.clone(), expected_version: 0, goals: Some(wrong) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["goals.indicators[0].actual_source.measure"]);
    let mut wrong_unit = dibao_goals.clone();
    wrong_unit.indicators[1].unit = "人".into();
    let e = programmes
        .submit_goals(authed(
            &civil,
            pb::SubmitGoalsRequest { programme_id: p.id.clone(), expected_version: 0, goals: Some(wrong_unit) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["goals.indicators[1].actual_source.measure"]);
    let mut other = dibao.clone();
    other.code = "210502-2024-002".into();
    let programme = approved(&mut programmes, &civil, &finance, other, dibao_goals.clone()).await;
    let kept = programmes
        .get_goals(authed(&civil, pb::GetGoalsRequest { programme_id: programme.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .goal_set
        .unwrap();
    assert_eq!(
        format!("{:?}", kept.goals.unwrap().indicators[0].actual_source),
        format!("{:?}", dibao_goals.indicators[0].actual_source)
    );

    // The September checkpoint: the clerk gives the likelihood of one, the service reads both.
    let mut monitoring = MonitoringServiceClient::new(channel(bp.grpc_addr).await);
    let clerk_row = pb::RecordedProgress {
        name: "保障人数".into(),
        likelihood: pb::Likelihood::Certain as i32,
        ..Default::default()
    };
    let mut typed = clerk_row.clone();
    typed.progress = "4".into();
    let e = monitoring
        .record_monitoring(authed(&civil, checkpoint(&programme, "2024-09-30", vec![typed], "")))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["indicators[0].progress"], "a sourced figure is never typed in");
    let mut ask = authed(&civil, checkpoint(&programme, "2024-09-30", vec![clerk_row.clone()], ""));
    ask.metadata_mut().insert("x-request-id", "monitoring-2024-09".parse().unwrap());
    let record = monitoring.record_monitoring(ask).await.unwrap().into_inner();
    let row = |name: &str| record.indicators.iter().find(|i| i.name == name).unwrap().clone();
    let persons = row("保障人数");
    assert_eq!((persons.progress.as_str(), persons.likelihood), ("3", pb::Likelihood::Certain as i32));
    let provenance = persons.actual.unwrap();
    assert_eq!(
        (provenance.value.as_str(), provenance.unit.as_str(), provenance.service.as_str(), provenance.as_of.as_str()),
        ("3", "人", "social-assistance", "2024-01..2024-09")
    );
    assert_eq!(provenance.rpc, "civic.assistance.v1.SocialAssistanceService/SummarizeAssistance");
    assert_eq!(provenance.request_id, "monitoring-2024-09", "the request id crossed the boundary");
    assert!(!provenance.fetched_at.is_empty());
    // Three months of 966 yuan.
    let paid = row("发放金额");
    assert_eq!((paid.progress.as_str(), paid.actual.unwrap().value.as_str()), ("2898", "2898"));
    let steps = record.evaluation.unwrap().explanation.unwrap().steps;
    let read: Vec<&str> =
        steps.iter().filter(|s| s.rule_id == "budget.actual_source").map(|s| s.result.as_str()).collect();
    assert_eq!(read, ["3 人", "2898 元"]);
    assert_eq!(
        steps.iter().find(|s| s.rule_id == "budget.actual_source").unwrap().source.as_ref().unwrap().document,
        "civic"
    );

    // social-assistance down: UNAVAILABLE naming it, and nothing stored.
    let sa_addr = sa.grpc_addr;
    let _ = sa_stop.send(());
    sa.wait().await;
    let mut ask = authed(&civil, checkpoint(&programme, "2024-09-30", vec![clerk_row.clone()], "补录"));
    ask.set_timeout(Duration::from_secs(8));
    let e = monitoring.record_monitoring(ask).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(e.message().contains("social-assistance"), "{e:?}");
    // Back on the same address: the correction is version 2 (the failed one left nothing).
    let (sa_stop, sa) = start_assistance(sa_db, &sa_addr.to_string()).await;
    let mut again = None;
    for _ in 0..20 {
        match monitoring
            .record_monitoring(authed(&civil, checkpoint(&programme, "2024-09-30", vec![clerk_row.clone()], "补录")))
            .await
        {
            Ok(r) => {
                again = Some(r.into_inner());
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), Code::Unavailable, "{e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(again.expect("works again once social-assistance is back").version, 2);

    // The self-evaluation at the end of November reads both again, for January to November, and
    // keeps what it read: a FINAL evaluation does not change when the source does.
    for month in ["2024-10", "2024-11"] {
        sa_client = SocialAssistanceServiceClient::new(channel(sa.grpc_addr).await);
        sa_client
            .record_payments(authed(
                &civil_city,
                RecordPaymentsRequest { region_code: "210500".into(), month: month.into() },
            ))
            .await
            .unwrap();
    }
    let quant = |group: pb::IndicatorGroup, name: &str, unit: &str, d: D, target: &str, actual: &str, points: &str| {
        pb::SelfEvaluationIndicator {
            group: group as i32,
            level2: String::new(),
            name: name.into(),
            unit: unit.into(),
            direction: d as i32,
            target: target.into(),
            actual: actual.into(),
            points: points.into(),
            ..Default::default()
        }
    };
    let self_evaluation = |persons_actual: &str| pb::ScoreSelfEvaluationRequest {
        indicators: vec![
            quant(pb::IndicatorGroup::Output, "保障人数", "人", D::AtLeast, "3", persons_actual, "25"),
            quant(pb::IndicatorGroup::Output, "发放金额", "元", D::AtMost, "12000", "", "25"),
            pb::SelfEvaluationIndicator {
                group: pb::IndicatorGroup::Benefit as i32,
                name: "基本生活得到保障".into(),
                direction: D::Qualitative as i32,
                target: "达成".into(),
                points: "30".into(),
                band: pb::QualitativeBand::Achieved as i32,
                share_percent: "100".into(),
                ..Default::default()
            },
            quant(pb::IndicatorGroup::Satisfaction, "受助对象满意度", "%", D::AtLeast, "90", "95", "10"),
        ],
        executed_fen: 100_000_000,
        ..Default::default()
    };
    let submit = |persons_actual: &str| pb::SubmitEvaluationRequest {
        programme_id: programme.clone(),
        kind: pb::EvaluationKind::Self_ as i32,
        category: "assistance".into(),
        evaluator: "平山区民政局".into(),
        self_evaluation: Some(self_evaluation(persons_actual)),
        evaluated_on: "2024-11-30".into(),
        ..Default::default()
    };
    let mut evaluations = pb::evaluation_service_client::EvaluationServiceClient::new(channel(bp.grpc_addr).await);
    let e = evaluations.submit_evaluation(authed(&civil, submit("3"))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["self_evaluation.indicators[0].actual"]);
    let submitted =
        evaluations.submit_evaluation(authed(&civil, submit(""))).await.unwrap().into_inner().evaluation.unwrap();
    let read: Vec<(String, String, String)> = submitted
        .actuals
        .iter()
        .map(|a| {
            let p = a.provenance.clone().unwrap();
            (a.indicator.clone(), p.value, p.as_of)
        })
        .collect();
    // Persons in November; five months of 966 yuan.
    assert_eq!(
        read,
        [
            ("保障人数".to_string(), "3".to_string(), "2024-01..2024-11".to_string()),
            ("发放金额".to_string(), "4830".to_string(), "2024-01..2024-11".to_string())
        ]
    );
    assert_eq!((submitted.total.as_str(), submitted.grade.as_str()), ("100.00", "优"));
    assert!(submitted
        .explanation
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .any(|s| s.rule_id == "budget.actual_source" && s.result == "4830 元"));
    let final_ = evaluations
        .review_evaluation(authed(
            &finance,
            pb::ReviewEvaluationRequest {
                evaluation_id: submitted.id.clone(),
                expected_version: submitted.version,
                decision: pb::ReviewDecision::Accept as i32,
                notes: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    assert_eq!(final_.status, pb::EvaluationStatus::Final as i32);
    sa_client
        .record_payments(authed(
            &civil_city,
            RecordPaymentsRequest { region_code: "210500".into(), month: "2024-12".into() },
        ))
        .await
        .unwrap();
    let later = evaluations
        .get_evaluation(authed(&finance, pb::GetEvaluationRequest { evaluation_id: submitted.id.clone() }))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    assert_eq!(format!("{:?}", later.actuals), format!("{:?}", submitted.actuals), "kept as read");
    assert_eq!(later.total, submitted.total);

    // land-supervision: 2023's per-mu results of 驿城区, and a land programme whose 亩均税收 is
    // their mean: (10 + 20 + 33) ÷ 3 = 21.
    let nr = token(Role::NaturalResources, "411702");
    let land = channel(ls.grpc_addr).await;
    per_mu_results(&land, &nr, "411702").await;
    let nr_finance = token(Role::Finance, "411702");
    let land_goals = goals(
        sourced(
            indicator(G::Benefit, "亩均税收", "万元/亩", D::AtLeast, "20", "20"),
            S::Land,
            "mean:亩均税收",
            "2023 评价",
            2023,
        ),
        indicator(G::Cost, "整治成本", "万元", D::AtMost, "500", "15"),
    );
    let land_programme = approved(
        &mut programmes,
        &nr,
        &nr_finance,
        pb::Programme {
            region_code: "411702".into(),
            budget_year: 2024,
            code: "411702-2024-007".into(),
            name: "低效用地整治".into(),
            owner_role: "natural-resources".into(),
            owner_unit: "驿城区自然资源局".into(),
            ..dibao.clone()
        },
        land_goals,
    )
    .await;
    let mut ask = checkpoint(&land_programme, "2024-06-30", vec![], "");
    ask.indicators
        .push(pb::RecordedProgress { name: "整治成本".into(), progress: "200".into(), ..Default::default() });
    let record = monitoring.record_monitoring(authed(&nr, ask)).await.unwrap().into_inner();
    let mean = record.indicators.iter().find(|i| i.name == "亩均税收").unwrap().clone();
    assert_eq!(mean.progress, "21");
    let provenance = mean.actual.unwrap();
    assert_eq!(
        (provenance.service.as_str(), provenance.rpc.as_str(), provenance.as_of.as_str()),
        ("land-supervision", "civic.land.v1.PerMuEvaluationService/SummarizePerMu", "2023 (2023 评价)")
    );
    // A scheme that was never kept: the read fails and nothing is stored.
    let mut bad_goals = goals(
        sourced(
            indicator(G::Benefit, "亩均税收", "万元/亩", D::AtLeast, "20", "20"),
            S::Land,
            "mean:亩均税收",
            "没有的方案",
            2023,
        ),
        indicator(G::Cost, "整治成本", "万元", D::AtMost, "500", "15"),
    );
    bad_goals.overall = "另一项目".into();
    let other_programme = approved(
        &mut programmes,
        &nr,
        &nr_finance,
        pb::Programme {
            code: "411702-2024-008".into(),
            ..pb::Programme {
                region_code: "411702".into(),
                budget_year: 2024,
                name: "低效用地整治二期".into(),
                owner_role: "natural-resources".into(),
                owner_unit: "驿城区自然资源局".into(),
                ..dibao.clone()
            }
        },
        bad_goals,
    )
    .await;
    let e = monitoring
        .record_monitoring(authed(&nr, checkpoint(&other_programme, "2024-06-30", vec![], "")))
        .await
        .unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "ACTUAL_UNAVAILABLE"), "{e:?}");
    assert!(e.message().contains("NO_RESULTS") || e.message().contains("没有的方案"), "{e:?}");

    // The 危污乱散低 campaign: 顾山镇 was to clear 2000 亩 in 2024; 280 亩 of its March report were
    // verified. A programme's area and the town's progress are read from GetCampaignProgress on
    // the checkpoint's date.
    campaign_march(&land, &nr).await;
    let mut campaign_goals = goals(
        sourced(
            indicator(G::Output, "整治面积", "亩", D::AtLeast, "1000", "20"),
            S::Land,
            "campaign:verified_area",
            "",
            2024,
        ),
        indicator(G::Cost, "整治成本", "万元", D::AtMost, "500", "15"),
    );
    campaign_goals.overall = "危污乱散低专项治理".into();
    let rate = campaign_goals.indicators.iter_mut().find(|i| i.name == "动态管理率").unwrap();
    *rate = sourced(
        indicator(G::Benefit, "顾山镇整治进度", "%", D::AtLeast, "50", "10"),
        S::Land,
        "campaign:progress",
        "顾山镇",
        0,
    );
    let campaign_programme = approved(
        &mut programmes,
        &nr,
        &nr_finance,
        pb::Programme {
            region_code: "411702".into(),
            budget_year: 2024,
            code: "411702-2024-009".into(),
            name: "危污乱散低专项治理".into(),
            owner_role: "natural-resources".into(),
            owner_unit: "驿城区自然资源局".into(),
            ..dibao.clone()
        },
        campaign_goals,
    )
    .await;
    let mut ask = checkpoint(&campaign_programme, "2024-06-30", vec![], "");
    ask.indicators
        .push(pb::RecordedProgress { name: "整治成本".into(), progress: "120".into(), ..Default::default() });
    let record = monitoring.record_monitoring(authed(&nr, ask)).await.unwrap().into_inner();
    let read = |name: &str| record.indicators.iter().find(|i| i.name == name).unwrap().clone();
    let (area, progress) = (read("整治面积"), read("顾山镇整治进度"));
    assert_eq!((area.progress.as_str(), progress.progress.as_str()), ("280", "14"));
    let provenance = area.actual.unwrap();
    assert_eq!(
        (provenance.rpc.as_str(), provenance.unit.as_str(), provenance.as_of.as_str()),
        ("civic.land.v1.CampaignService/GetCampaignProgress", "亩", "2024 危污乱散低 411702 as of 2024-06-30")
    );
    assert!(progress.actual.unwrap().as_of.contains("顾山镇"));

    for (stop, running) in [(bp_stop, bp), (ls_stop, ls), (sa_stop, sa)] {
        let _ = stop.send(());
        running.wait().await;
    }
}

#[tokio::test]
async fn monitoring_reads_actuals_from_the_other_services_on_sqlite() {
    actuals_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn monitoring_reads_actuals_from_the_other_services_on_postgres() {
    actuals_on(Backend::Postgres).await;
}
