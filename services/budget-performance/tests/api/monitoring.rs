//! Monitoring checkpoints: the spec's §4.2 (end of June, 38 % executed) with thresholds brought
//! by the request, their boundaries, and a region without a rule set.

use civic_proto::budget::v1::{self as pb, monitoring_service_client::MonitoringServiceClient};
use civic_runtime::{
    identity::Role,
    testing::{authed, error_reason, token, violated_fields},
};
use tonic::Code;

fn june(spent_fen: i64) -> pb::EvaluateMonitoringRequest {
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
    let (ch, running, tx) = super::start_sqlite().await;
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
    let _ = tx.send(());
    running.wait().await;
}

#[tokio::test]
async fn monitoring_refusals() {
    let (ch, running, tx) = super::start_sqlite().await;
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
    let _ = tx.send(());
    running.wait().await;
}
