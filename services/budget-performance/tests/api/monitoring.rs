//! Monitoring checkpoints: the spec's §4.2 (end of June, 38 % executed) with thresholds brought
//! by the request, their boundaries, and a region without a rule set.

use civic_proto::budget::v1::{self as pb, monitoring_service_client::MonitoringServiceClient};
use civic_runtime::identity::Role;
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::Code;

pub(crate) fn june(spent_fen: i64) -> pb::EvaluateMonitoringRequest {
    pb::EvaluateMonitoringRequest {
        region_code: "411721".into(),
        as_of: "2024-06-30".into(),
        figures: Some(pb::MonitoringFigures {
            budget_fen: 500_000_000,
            arrived_fen: 300_000_000,
            paid_fen: 250_000_000,
            spent_fen,
            expected_carryover_fen: 0,
        }),
        indicators: vec![pb::IndicatorProgress {
            name: "保障人数".into(),
            unit: "人".into(),
            target: "12000".into(),
            progress: "6600".into(),
            progress_unit: "人".into(),
        }],
        rules: Some(pb::MonitoringRules {
            lag_tolerance_points: "10".into(),
            schedule: vec![
                pb::MonthSchedule { month: 4, min_percent: "25".into() },
                pb::MonthSchedule { month: 6, min_percent: "40".into() },
            ],
            divergence_points: "10".into(),
            document: "西平县预算绩效运行监控实施细则(示例)".into(),
            clause: "第五条".into(),
        }),
    }
}

#[tokio::test]
async fn june_checkpoint_at_38_percent_raises_three_warnings_and_40_percent_none_on_schedule() {
    let (ch, server) = super::start_sqlite().await;
    let mut c = MonitoringServiceClient::new(ch);
    let tok = token(Role::CivilAffairs, "411721");
    let r = c.evaluate_monitoring(authed(&tok, june(190_000_000))).await.unwrap().into_inner();
    assert_eq!(
        (r.execution_percent.as_str(), r.time_percent.as_str(), r.lag_points.as_str()),
        ("38.00", "50.00", "12.00")
    );
    assert_eq!(r.goals[0].percent, "55.00");
    let rules: Vec<&str> = r.warnings.iter().map(|w| w.rule_id.as_str()).collect();
    assert_eq!(rules, ["budget.monitoring.lag", "budget.monitoring.schedule", "budget.monitoring.divergence"]);
    assert!(r.warnings[1].message.contains("差 2.00 个百分点"), "{}", r.warnings[1].message);
    assert_eq!(r.warnings[2].figure, "17.00");
    let steps = r.explanation.unwrap().steps;
    let lag = steps.iter().find(|s| s.rule_id == "budget.monitoring.lag").unwrap();
    // The threshold cites the document the request named; the comparison cites the law.
    assert_eq!(lag.parameters[0].source.as_ref().unwrap().document, "西平县预算绩效运行监控实施细则(示例)");
    assert_eq!(lag.source.as_ref().unwrap().clause, "第一千二百五十九条");
    let dual = steps.iter().find(|s| s.rule_id == "budget.monitoring.execution_rate").unwrap();
    assert_eq!(dual.source.as_ref().unwrap().document, "驻政〔2020〕37号");

    // Exactly 40.00 %: "低于 40 %" is strict, and a lag of exactly 10 points is not "超过 10".
    let r = c.evaluate_monitoring(authed(&tok, june(200_000_000))).await.unwrap().into_inner();
    let rules: Vec<&str> = r.warnings.iter().map(|w| w.rule_id.as_str()).collect();
    assert_eq!(rules, ["budget.monitoring.divergence"]);
    assert_eq!(r.lag_points, "10.00");

    // A month without a schedule entry: no schedule test.
    let mut may = june(190_000_000);
    may.as_of = "2024-05-31".into();
    let r = c.evaluate_monitoring(authed(&tok, may)).await.unwrap().into_inner();
    assert!(r.warnings.iter().all(|w| w.rule_id != "budget.monitoring.schedule"));
    server.stop().await;
}

#[tokio::test]
async fn monitoring_refusals() {
    let (ch, server) = super::start_sqlite().await;
    let mut c = MonitoringServiceClient::new(ch);
    let tok = token(Role::CivilAffairs, "411721");
    // No rule set in the region's data and none brought: no invented thresholds.
    let mut bare = june(190_000_000);
    bare.rules = None;
    let e = c.evaluate_monitoring(authed(&tok, bare)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&e), "NO_MONITORING_RULES");
    type Edit = Box<dyn Fn(&mut pb::EvaluateMonitoringRequest)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|r| r.as_of = "2024-06-29".into()), "as_of"),
        // Spent above what arrived.
        (Box::new(|r| r.figures.as_mut().unwrap().spent_fen = 300_000_001), "spent_fen"),
        (Box::new(|r| r.figures.as_mut().unwrap().spent_fen = -1), "spent_fen"),
        // Spent above the year's budget, though it arrived.
        (
            Box::new(|r| {
                let f = r.figures.as_mut().unwrap();
                f.arrived_fen = 600_000_000;
                f.spent_fen = 500_000_001;
            }),
            "spent_fen",
        ),
        (Box::new(|r| r.indicators[0].progress_unit = "户".into()), "indicators[0].progress_unit"),
        (Box::new(|r| r.rules.as_mut().unwrap().document = String::new()), "rules.document"),
        (Box::new(|r| r.rules.as_mut().unwrap().schedule[0].month = 13), "rules.schedule[0].month"),
        (Box::new(|r| r.figures = None), "figures"),
    ];
    for (edit, field) in cases {
        let mut r = june(190_000_000);
        edit(&mut r);
        let e = c.evaluate_monitoring(authed(&tok, r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert_eq!(violated_fields(&e), vec![field]);
    }
    server.stop().await;
}

/// A stored checkpoint (§4.2) against approved goals: its warnings, a correction, handling the
/// warnings, a payment hold placed and lifted by finance, and the treasury's payment check.
mod stored {
    use civic_proto::{
        budget::v1::{
            self as pb, monitoring_service_client::MonitoringServiceClient,
            programme_service_client::ProgrammeServiceClient,
        },
        common::v1::{audit_log_service_client::AuditLogServiceClient, ListAuditEntriesRequest},
    };
    use civic_runtime::{identity::Role, storage::Backend};
    use civic_testing::both_backends;
    use civic_testing::{authed, error_reason, token, violated_fields};
    use tonic::Code;

    use crate::programmes::{dibao, dibao_goals};

    fn june(programme_id: &str, spent_fen: i64, correction: &str) -> pb::RecordMonitoringRequest {
        pb::RecordMonitoringRequest {
            programme_id: programme_id.into(),
            as_of: "2024-06-30".into(),
            figures: Some(pb::MonitoringFigures {
                budget_fen: 0,
                arrived_fen: 300_000_000,
                paid_fen: 250_000_000,
                spent_fen,
                expected_carryover_fen: 0,
            }),
            indicators: vec![pb::RecordedProgress {
                name: "保障人数".into(),
                progress: "6600".into(),
                likelihood: pb::Likelihood::Possible as i32,
                cause: pb::DeviationCause::Funding as i32,
                measures: "加快审核发放".into(),
                actual: None,
            }],
            rules: super::june(0).rules,
            correction_reason: correction.into(),
        }
    }

    async fn checkpoint_hold_and_payment(backend: Backend) {
        let (ch, server) = crate::start_on(backend).await;
        let mut programmes = ProgrammeServiceClient::new(ch.clone());
        let mut m = MonitoringServiceClient::new(ch.clone());
        let mz = token(Role::CivilAffairs, "411721");
        let fin = token(Role::Finance, "411721");
        let p = programmes
            .upsert_programme(authed(
                &mz,
                pb::UpsertProgrammeRequest {
                    programme: Some(dibao("411721", "411721-2024-001", 500_000_000)),
                    expected_version: 0,
                    reason: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .programme
            .unwrap();

        // No approved goals yet: nothing to measure progress against.
        let e = m.record_monitoring(authed(&mz, june(&p.id, 190_000_000, ""))).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "NO_APPROVED_GOALS"));
        programmes
            .submit_goals(authed(
                &mz,
                pb::SubmitGoalsRequest { programme_id: p.id.clone(), expected_version: 0, goals: Some(dibao_goals()) },
            ))
            .await
            .unwrap();
        programmes
            .review_goals(authed(
                &fin,
                pb::ReviewGoalsRequest {
                    programme_id: p.id.clone(),
                    version: 1,
                    grade: pb::GoalReviewGrade::Excellent as i32,
                    opinion: String::new(),
                },
            ))
            .await
            .unwrap();

        // End of June, 38 % spent: three warnings, open.
        let r = m.record_monitoring(authed(&mz, june(&p.id, 190_000_000, ""))).await.unwrap().into_inner();
        assert_eq!((r.version, r.goal_version), (1, 1));
        assert_eq!(r.evaluation.as_ref().unwrap().execution_percent, "38.00");
        let rules: Vec<&str> = r.warnings.iter().map(|w| w.rule_id.as_str()).collect();
        assert_eq!(rules, ["budget.monitoring.lag", "budget.monitoring.schedule", "budget.monitoring.divergence"]);
        assert!(r.warnings.iter().all(|w| w.status == pb::WarningStatus::Open as i32));
        let divergence = r.warnings[2].clone();
        // Recorded once; bad input.
        let e = m.record_monitoring(authed(&mz, june(&p.id, 190_000_000, ""))).await.unwrap_err();
        assert_eq!(e.code(), Code::AlreadyExists);
        let mut unknown = june(&p.id, 190_000_000, "");
        unknown.indicators[0].name = "救助人次".into();
        assert_eq!(
            violated_fields(&m.record_monitoring(authed(&mz, unknown)).await.unwrap_err()),
            vec!["indicators[0].name"]
        );
        let mut judged = june(&p.id, 190_000_000, "");
        judged.indicators[0].name = "困难群众基本生活得到保障".into();
        assert_eq!(
            violated_fields(&m.record_monitoring(authed(&mz, judged)).await.unwrap_err()),
            vec!["indicators[0].name"]
        );
        let mut next_year = june(&p.id, 190_000_000, "");
        next_year.as_of = "2025-06-30".into();
        assert_eq!(violated_fields(&m.record_monitoring(authed(&mz, next_year)).await.unwrap_err()), vec!["as_of"]);
        let mut over = june(&p.id, 300_000_001, "更正");
        over.figures.as_mut().unwrap().arrived_fen = 300_000_001;
        over.figures.as_mut().unwrap().spent_fen = 500_000_001;
        assert_eq!(violated_fields(&m.record_monitoring(authed(&mz, over)).await.unwrap_err()), vec!["spent_fen"]);
        let e =
            m.record_monitoring(authed(&token(Role::CivilAffairs, "411722"), june(&p.id, 1, ""))).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied);

        // Corrected to 40 %: the lag and schedule warnings are no longer raised and resolve
        // themselves; the divergence warning is the same warning, still open.
        let r =
            m.record_monitoring(authed(&mz, june(&p.id, 200_000_000, "支出数漏计一笔"))).await.unwrap().into_inner();
        assert_eq!(r.version, 2);
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].id, divergence.id);
        let list = |tok: String, region: &str, status: pb::WarningStatus| {
            let mut m = m.clone();
            let region = region.to_string();
            async move {
                m.list_warnings(authed(
                    &tok,
                    pb::ListWarningsRequest { region_code: region, status: status as i32, ..Default::default() },
                ))
                .await
            }
        };
        let all =
            list(token(Role::Finance, "411700"), "411700", pb::WarningStatus::Unspecified).await.unwrap().into_inner();
        assert_eq!(all.warnings.len(), 3);
        let resolved = list(fin.clone(), "411721", pb::WarningStatus::Resolved).await.unwrap().into_inner();
        assert_eq!(resolved.warnings.len(), 2);
        assert!(resolved.warnings.iter().all(|w| w.note.contains("不再触发")));
        // Another bureau sees none of them; another county none at all.
        assert!(list(token(Role::NaturalResources, "411721"), "411721", pb::WarningStatus::Unspecified)
            .await
            .unwrap()
            .into_inner()
            .warnings
            .is_empty());
        assert_eq!(
            list(token(Role::CivilAffairs, "411722"), "411721", pb::WarningStatus::Unspecified)
                .await
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );

        // The bureau acknowledges; finance escalates (the bureau may not).
        let w = m
            .acknowledge_warning(authed(
                &mz,
                pb::AcknowledgeWarningRequest {
                    warning_id: divergence.id.clone(),
                    expected_version: r.warnings[0].version,
                    note: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .warning
            .unwrap();
        assert_eq!(w.status, pb::WarningStatus::Acknowledged as i32);
        let stale =
            pb::ResolveWarningRequest {
                warning_id: divergence.id.clone(), expected_version: 1, note: "已核实".into()
            };
        assert_eq!(m.resolve_warning(authed(&mz, stale)).await.unwrap_err().code(), Code::Aborted);
        let up = pb::EscalateWarningRequest {
            warning_id: divergence.id.clone(),
            expected_version: w.version,
            note: "进度滞后".into(),
        };
        assert_eq!(m.escalate_warning(authed(&mz, up.clone())).await.unwrap_err().code(), Code::PermissionDenied);
        let w = m.escalate_warning(authed(&fin, up)).await.unwrap().into_inner().warning.unwrap();
        assert_eq!(w.status, pb::WarningStatus::Escalated as i32);

        // A hold: finance only, with its reason; never placed by itself.
        let check = |amount: i64, pending: i64| {
            let mut m = m.clone();
            let (fin, id) = (fin.clone(), p.id.clone());
            async move {
                m.check_payment(authed(
                    &fin,
                    pb::CheckPaymentRequest {
                        programme_id: id,
                        amount_fen: amount,
                        on_date: String::new(),
                        pending_fen: pending,
                    },
                ))
                .await
            }
        };
        let ok = check(10_000_000, 0).await.unwrap().into_inner();
        assert!(ok.allowed);
        assert_eq!(ok.remaining_after_fen, 240_000_000);
        let place = |tok: String, reason: &str| {
            let mut m = m.clone();
            let (id, reason, w) = (p.id.clone(), reason.to_string(), divergence.id.clone());
            async move {
                m.place_payment_hold(authed(
                    &tok,
                    pb::PlacePaymentHoldRequest {
                        programme_id: id,
                        kind: pb::HoldKind::Suspend as i32,
                        reason,
                        warning_ids: vec![w],
                        placed_on: String::new(),
                    },
                ))
                .await
            }
        };
        assert_eq!(place(mz.clone(), "进度滞后").await.unwrap_err().code(), Code::PermissionDenied);
        assert_eq!(violated_fields(&place(fin.clone(), " ").await.unwrap_err()), vec!["reason"]);
        let hold =
            place(fin.clone(), "目标完成与支出严重偏离，暂缓拨款至整改").await.unwrap().into_inner().hold.unwrap();
        assert!(hold.open);
        let e = check(10_000_000, 0).await.unwrap_err();
        assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "PAYMENT_HELD"));
        assert!(e.message().contains(&hold.id) && e.message().contains("附件2 三(八)"), "{}", e.message());
        assert_eq!(place(fin.clone(), "再次").await.unwrap_err().code(), Code::AlreadyExists);

        // Lifted with a reason; then two decisions at once: one hold, never two.
        let lift = |id: String| {
            let mut m = m.clone();
            let fin = fin.clone();
            async move {
                m.lift_payment_hold(authed(
                    &fin,
                    pb::LiftPaymentHoldRequest { hold_id: id, reason: "已整改".into(), lifted_on: String::new() },
                ))
                .await
            }
        };
        let lifted = lift(hold.id.clone()).await.unwrap().into_inner().hold.unwrap();
        assert!(!lifted.open);
        assert_eq!(error_reason(&lift(hold.id.clone()).await.unwrap_err()), "HOLD_LIFTED");
        let (a, b) = tokio::join!(place(fin.clone(), "甲"), place(fin.clone(), "乙"));
        let codes: Vec<Code> =
            [&a, &b].iter().map(|r| r.as_ref().map(|_| Code::Ok).unwrap_or_else(|e| e.code())).collect();
        assert!(codes.contains(&Code::Ok) && codes.contains(&Code::AlreadyExists), "{codes:?}");
        let open = if let Ok(h) = a { h.into_inner().hold.unwrap() } else { b.unwrap().into_inner().hold.unwrap() };
        lift(open.id).await.unwrap();

        // What is left of the budget: exactly nothing left is allowed, a fen more is not.
        let ok = check(10_000_000, 240_000_000).await.unwrap().into_inner();
        assert_eq!(ok.remaining_after_fen, 0);
        let e = check(10_000_001, 240_000_000).await.unwrap_err();
        assert_eq!(error_reason(&e), "ABOVE_BUDGET");
        assert_eq!(violated_fields(&check(0, 0).await.unwrap_err()), vec!["amount_fen"]);

        // Two clerks record the same new checkpoint at once: one record, one set of warnings.
        let mut july = june(&p.id, 200_000_000, "");
        july.as_of = "2024-07-31".into();
        let (mut m1, mut m2) = (m.clone(), m.clone());
        let (a, b) = tokio::join!(
            m1.record_monitoring(authed(&mz, july.clone())),
            m2.record_monitoring(authed(&mz, july.clone()))
        );
        assert_eq!([&a, &b].iter().filter(|r| r.is_ok()).count(), 1, "{a:?} {b:?}");
        let july_warnings = m
            .list_warnings(authed(
                &fin,
                pb::ListWarningsRequest {
                    region_code: "411721".into(),
                    as_of: "2024-07-31".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .warnings;
        let mut keys: Vec<(String, String)> =
            july_warnings.iter().map(|w| (w.rule_id.clone(), w.subject.clone())).collect();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);

        // Holds and checkpoints are audited.
        let entries = AuditLogServiceClient::new(ch)
            .list_audit_entries(authed(
                &token(Role::Auditor, "411700"),
                ListAuditEntriesRequest {
                    region_code: "411721".into(),
                    entity: "payment_hold".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["hold.place", "hold.lift", "hold.place", "hold.lift"]);
        assert!(entries[1].before_json.contains("暂缓拨款至整改") && entries[1].reason == "已整改");
        server.stop().await;
    }
    both_backends!(checkpoint_hold_and_payment_on, super::checkpoint_hold_and_payment);
}
