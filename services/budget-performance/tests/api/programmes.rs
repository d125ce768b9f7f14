//! Programmes and goals over gRPC on both backends: versions, scope by region and bureau, goal
//! review, the budget precondition (三(七)), amendments only with a budget adjustment, coverage
//! (the spec's §4.8), and every write audited with its before and after.
//!
//! (About 500 lines: one module of the api test binary per area; the goal review, the precondition
//! and the amendments build on one programme step by step.)

use civic_proto::{
    budget::v1::{self as pb, programme_service_client::ProgrammeServiceClient},
    common::v1::{audit_log_service_client::AuditLogServiceClient, ListAuditEntriesRequest},
};
use civic_runtime::{identity::Role, request::china_today, storage::Backend};
use civic_testing::both_backends;
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::{transport::Channel, Code};

type Client = ProgrammeServiceClient<Channel>;

pub(crate) fn dibao(region: &str, code: &str, fen: i64) -> pb::Programme {
    pb::Programme {
        region_code: region.into(),
        budget_year: 2024,
        code: code.into(),
        name: "城乡低保资金".into(),
        kind: pb::ProgrammeKind::Policy as i32,
        budget_kind: pb::BudgetKind::GeneralPublic as i32,
        object_kind: pb::ObjectKind::None as i32,
        owner_role: "civil-affairs".into(),
        owner_unit: "西平县民政局".into(),
        responsible_person: "李明".into(),
        initial_budget_fen: fen,
        adjusted_budget_fen: fen,
        ..Default::default()
    }
}

fn indicator(
    group: pb::GoalGroup,
    name: &str,
    unit: &str,
    d: pb::IndicatorDirection,
    target: &str,
    points: &str,
) -> pb::GoalIndicator {
    pb::GoalIndicator {
        group: group as i32,
        level2: String::new(),
        name: name.into(),
        unit: unit.into(),
        direction: d as i32,
        target: target.into(),
        points: points.into(),
        value_basis: pb::ValueBasis::History as i32,
        basis_evidence: "2023 年实际 11,800 人".into(),
        data_source: "民政部门救助系统".into(),
        template_code: String::new(),
        actual_source: None,
    }
}

/// The §4.1 programme's goals: 90 points of indicators and 10 of the execution rate.
pub(crate) fn dibao_goals() -> pb::Goals {
    use pb::{GoalGroup as G, IndicatorDirection as D};
    pb::Goals {
        overall: "保障城乡低保对象基本生活，按月足额发放".into(),
        indicators: vec![
            indicator(G::Output, "保障人数", "人", D::AtLeast, "12000", "20"),
            indicator(G::Output, "按月足额发放月数", "月", D::AtLeast, "12", "15"),
            indicator(G::Cost, "人均年补助支出", "元", D::AtMost, "6900", "15"),
            indicator(G::Benefit, "困难群众基本生活得到保障", "", D::Qualitative, "达成", "20"),
            indicator(G::Benefit, "动态管理率", "%", D::AtLeast, "95", "10"),
            indicator(G::Satisfaction, "受助对象满意度", "%", D::AtLeast, "90", "10"),
        ],
    }
}

async fn create(c: &Client, tok: &str, p: pb::Programme) -> pb::Programme {
    c.clone()
        .upsert_programme(authed(
            tok,
            pb::UpsertProgrammeRequest { programme: Some(p), expected_version: 0, reason: String::new() },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap()
}

async fn goals_review_and_precondition(backend: Backend) {
    let (ch, server) = super::start_on(backend).await;
    let c = ProgrammeServiceClient::new(ch.clone());
    let mz = token(Role::CivilAffairs, "411721");
    let fin = token(Role::Finance, "411721");
    let p = create(&c, &mz, dibao("411721", "411721-2024-001", 800_000_000)).await;
    assert_eq!(p.version, 1);
    assert!(!p.id.is_empty());

    // The same code again; a stale version; a bureau creating for another.
    let again = c
        .clone()
        .upsert_programme(authed(
            &mz,
            pb::UpsertProgrammeRequest {
                programme: Some(dibao("411721", "411721-2024-001", 1)),
                expected_version: 0,
                reason: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    let mut changed = p.clone();
    changed.adjusted_budget_fen = 820_000_000;
    let stale = c
        .clone()
        .upsert_programme(authed(
            &mz,
            pb::UpsertProgrammeRequest {
                programme: Some(changed.clone()), expected_version: 2, reason: "追加".into()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!((stale.code(), error_reason(&stale).as_str()), (Code::Aborted, "VERSION_CONFLICT"));
    let p = c
        .clone()
        .upsert_programme(authed(
            &mz,
            pb::UpsertProgrammeRequest { programme: Some(changed), expected_version: 1, reason: "追加".into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap();
    assert_eq!((p.version, p.adjusted_budget_fen), (2, 820_000_000));
    let mut theirs = dibao("411721", "411721-2024-002", 1_000);
    theirs.owner_role = "natural-resources".into();
    let e = c
        .clone()
        .upsert_programme(authed(
            &mz,
            pb::UpsertProgrammeRequest { programme: Some(theirs), expected_version: 0, reason: String::new() },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // Bad input.
    for (edit, field) in [
        (
            Box::new(|p: &mut pb::Programme| p.budget_year = 1999) as Box<dyn Fn(&mut pb::Programme)>,
            "programme.budget_year",
        ),
        (Box::new(|p: &mut pb::Programme| p.adjusted_budget_fen = 0), "programme.adjusted_budget_fen"),
        (Box::new(|p: &mut pb::Programme| p.initial_budget_fen = -1), "programme.initial_budget_fen"),
        (Box::new(|p: &mut pb::Programme| p.budget_kind = 0), "programme.budget_kind"),
        (Box::new(|p: &mut pb::Programme| p.owner_role = "auditor".into()), "programme.owner_role"),
        (Box::new(|p: &mut pb::Programme| p.code = String::new()), "programme.code"),
    ] {
        let mut bad = dibao("411721", "411721-2024-009", 1_000);
        edit(&mut bad);
        let e = c
            .clone()
            .upsert_programme(authed(
                &mz,
                pb::UpsertProgrammeRequest { programme: Some(bad), expected_version: 0, reason: String::new() },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec![field]);
    }

    // Who reads: the owner, finance and auditors in scope; not another county, not another bureau.
    let get = |tok: String, id: String| {
        let mut c = c.clone();
        async move { c.get_programme(authed(&tok, pb::GetProgrammeRequest { id })).await }
    };
    assert!(get(token(Role::Auditor, "411700"), p.id.clone()).await.is_ok());
    assert!(get(fin.clone(), p.id.clone()).await.is_ok());
    for tok in
        [token(Role::CivilAffairs, "411722"), token(Role::NaturalResources, "411721"), token(Role::Finance, "411200")]
    {
        assert_eq!(get(tok, p.id.clone()).await.unwrap_err().code(), Code::PermissionDenied);
    }
    assert_eq!(get(fin.clone(), "no-such".into()).await.unwrap_err().code(), Code::NotFound);
    let e = c
        .clone()
        .upsert_programme(authed(
            &token(Role::Auditor, "411700"),
            pb::UpsertProgrammeRequest { programme: Some(p.clone()), expected_version: 2, reason: String::new() },
        ))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "AUDITOR_READ_ONLY");

    // No goals: no budget (三(七)).
    let pre = || {
        let mut c = c.clone();
        let (fin, id) = (fin.clone(), p.id.clone());
        async move {
            c.check_budget_precondition(authed(&fin, pb::CheckBudgetPreconditionRequest { programme_ids: vec![id] }))
                .await
                .unwrap()
                .into_inner()
                .results
                .remove(0)
        }
    };
    let r = pre().await;
    assert!(!r.allowed);
    assert_eq!(r.reasons[0].code, "NO_APPROVED_GOALS");
    let src = r.reasons[0].source.as_ref().unwrap();
    assert_eq!((src.document.as_str(), src.clause.as_str()), ("驻政〔2020〕37号", "附件2 三(七)"));

    // A set without cost indicators is checked (findings) and refused on submission.
    let mut no_cost = dibao_goals();
    no_cost.indicators.retain(|i| i.group != pb::GoalGroup::Cost as i32);
    let check = c
        .clone()
        .check_goals(authed(
            &mz,
            pb::CheckGoalsRequest {
                region_code: "411721".into(),
                on_date: "2024-01-10".into(),
                goals: Some(no_cost.clone()),
                adjusted_budget_fen: 820_000_000,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!check.ok);
    let codes: Vec<&str> = check.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["MISSING_COST", "POINTS_NOT_100"]);
    let submit = |goals: pb::Goals, expected: i64| {
        let mut c = c.clone();
        let (mz, id) = (mz.clone(), p.id.clone());
        async move {
            c.submit_goals(authed(
                &mz,
                pb::SubmitGoalsRequest { programme_id: id, expected_version: expected, goals: Some(goals) },
            ))
            .await
        }
    };
    let e = submit(no_cost, 0).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "GOALS_INCOMPLETE"));
    // A qualitative target given as a number, a quantitative one without a unit.
    let mut bad = dibao_goals();
    bad.indicators[3].target = "80".into();
    assert_eq!(violated_fields(&submit(bad, 0).await.unwrap_err()), vec!["goals.indicators[3].target"]);
    let mut bad = dibao_goals();
    bad.indicators[0].unit = String::new();
    assert_eq!(violated_fields(&submit(bad, 0).await.unwrap_err()), vec!["goals.indicators[0].unit"]);

    // Two clerks submit the first set at once: one version 1, the other told it is stale.
    let (a, b) = tokio::join!(submit(dibao_goals(), 0), submit(dibao_goals(), 0));
    let oks = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, 1, "{a:?} {b:?}");
    let lost = match (a, b) {
        (Err(e), _) | (_, Err(e)) => e,
        _ => unreachable!(),
    };
    assert_eq!(lost.code(), Code::Aborted, "{lost:?}");
    // Submitted goals are not submitted again.
    let e = submit(dibao_goals(), 1).await.unwrap_err();
    assert_eq!(error_reason(&e), "STEP_OUT_OF_ORDER");

    // Review: finance only; 中 returns them.
    let review = |tok: String, version: i64, grade: pb::GoalReviewGrade, opinion: &str| {
        let mut c = c.clone();
        let (id, opinion) = (p.id.clone(), opinion.to_string());
        async move {
            c.review_goals(authed(
                &tok,
                pb::ReviewGoalsRequest { programme_id: id, version, grade: grade as i32, opinion },
            ))
            .await
        }
    };
    let e = review(mz.clone(), 1, pb::GoalReviewGrade::Excellent, "").await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = review(fin.clone(), 1, pb::GoalReviewGrade::Fair, "").await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["opinion"]);
    let g = review(fin.clone(), 1, pb::GoalReviewGrade::Fair, "保障人数目标低于上年实际，请修改")
        .await
        .unwrap()
        .into_inner()
        .goal_set
        .unwrap();
    assert_eq!(g.status, pb::GoalStatus::Returned as i32);
    let r = pre().await;
    assert!(!r.allowed);
    assert!(r.reasons[0].message.contains("RETURNED"), "{}", r.reasons[0].message);

    // Revised and approved: budget may be arranged.
    let mut revised = dibao_goals();
    revised.indicators[0].target = "12500".into();
    let g = submit(revised, 1).await.unwrap().into_inner().goal_set.unwrap();
    assert_eq!((g.version, g.status), (2, pb::GoalStatus::Submitted as i32));
    let g = review(fin.clone(), 2, pb::GoalReviewGrade::Excellent, "").await.unwrap().into_inner().goal_set.unwrap();
    assert_eq!(g.status, pb::GoalStatus::Approved as i32);
    assert_eq!(g.in_force_from, "2024-01-01");
    assert!(pre().await.allowed);
    let e = review(fin.clone(), 2, pb::GoalReviewGrade::Good, "再审").await.unwrap_err();
    assert_eq!(error_reason(&e), "STEP_OUT_OF_ORDER");

    // Approved goals change only with a budget adjustment; the old version stays.
    let amend = |adjustment: Option<pb::BudgetAdjustment>, expected: i64| {
        let mut c = c.clone();
        let (mz, id) = (mz.clone(), p.id.clone());
        let mut goals = dibao_goals();
        goals.indicators[0].target = "13000".into();
        async move {
            c.amend_goals(authed(
                &mz,
                pb::AmendGoalsRequest { programme_id: id, expected_version: expected, goals: Some(goals), adjustment },
            ))
            .await
        }
    };
    let e = amend(None, 2).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "ADJUSTMENT_REQUIRED"));
    assert!(e.message().contains("附件2 三(七)"), "{}", e.message());
    let today = china_today().to_string();
    let adj = pb::BudgetAdjustment { document: "西财预〔2026〕12号".into(), date: today.clone() };
    let e = amend(Some(adj.clone()), 1).await.unwrap_err();
    assert_eq!(e.code(), Code::Aborted);
    let g = amend(Some(adj), 2).await.unwrap().into_inner().goal_set.unwrap();
    assert_eq!((g.version, g.status), (3, pb::GoalStatus::Approved as i32));
    let v2 = c
        .clone()
        .get_goals(authed(
            &mz,
            pb::GetGoalsRequest { programme_id: p.id.clone(), version: 2, in_force_on: String::new() },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal_set
        .unwrap();
    assert_eq!(
        (v2.status, v2.goals.unwrap().indicators[0].target.as_str()),
        (pb::GoalStatus::Superseded as i32, "12500")
    );
    let now = c
        .clone()
        .get_goals(authed(&mz, pb::GetGoalsRequest { programme_id: p.id.clone(), version: 0, in_force_on: today }))
        .await
        .unwrap()
        .into_inner()
        .goal_set
        .unwrap();
    assert_eq!(now.version, 3);
    assert!(pre().await.allowed);

    // Every write is in the audit log with its before and after.
    let mut audit = AuditLogServiceClient::new(ch);
    let entries = audit
        .list_audit_entries(authed(
            &token(Role::Auditor, "411700"),
            ListAuditEntriesRequest { region_code: "411721".into(), entity: "goal_set".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["goals.submit", "goals.review", "goals.submit", "goals.review", "goals.amend"]);
    assert!(entries[4].before_json.contains("\"APPROVED\"") && entries[4].after_json.contains("13000"));
    assert!(entries[4].reason.contains("西财预〔2026〕12号"));
    let programme_entries = audit
        .list_audit_entries(authed(
            &token(Role::Auditor, "411700"),
            ListAuditEntriesRequest {
                region_code: "411721".into(),
                entity: "budget_programme".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(programme_entries.len(), 2);
    assert!(
        programme_entries[1].before_json.contains("800000000") && programme_entries[1].after_json.contains("820000000")
    );

    // A new major programme needs its ex-ante assessment besides approved goals.
    let mut major = dibao("411721", "411721-2024-003", 5_000_000);
    major.is_new = true;
    major.is_major = true;
    let major = create(&c, &mz, major).await;
    let r = c
        .clone()
        .check_budget_precondition(authed(&fin, pb::CheckBudgetPreconditionRequest { programme_ids: vec![major.id] }))
        .await
        .unwrap()
        .into_inner()
        .results
        .remove(0);
    let codes: Vec<&str> = r.reasons.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["NO_APPROVED_GOALS", "EX_ANTE_REQUIRED"]);
    assert_eq!(r.reasons[1].source.as_ref().unwrap().clause, "附件2 三(六)");
    server.stop().await;
}
both_backends!(goals_review_and_precondition_on, super::goals_review_and_precondition);

/// §4.8: 驻马店 city level 2020, 118 of 120 programmes with approved goals (98.33 %), 495,000,000.00
/// of 500,000,000.00 yuan (99.00 %): the 100 % target is not met and the two are listed.
async fn coverage_of_the_city_level_in_2020(backend: Backend) {
    let (ch, server) = super::start_on(backend).await;
    let c = ProgrammeServiceClient::new(ch);
    let fin = token(Role::Finance, "411700");
    let mut ids = Vec::new();
    for i in 0..120 {
        let fen = match i {
            0..=116 => 420_000_000,
            117 => 360_000_000,
            _ => 250_000_000,
        };
        let mut p = dibao("411700", &format!("411700-2020-{i:03}"), fen);
        p.budget_year = 2020;
        p.owner_unit = "驻马店市民政局".into();
        ids.push(create(&c, &fin, p).await.id);
    }
    // A county's programme is the county's, not the city level's.
    let mut county = dibao("411721", "411721-2020-001", 100_000_000);
    county.budget_year = 2020;
    create(&c, &fin, county).await;
    let approve = |id: String| {
        let mut c = c.clone();
        let fin = fin.clone();
        async move {
            c.submit_goals(authed(
                &fin,
                pb::SubmitGoalsRequest { programme_id: id.clone(), expected_version: 0, goals: Some(dibao_goals()) },
            ))
            .await
            .unwrap();
            c.review_goals(authed(
                &fin,
                pb::ReviewGoalsRequest {
                    programme_id: id,
                    version: 1,
                    grade: pb::GoalReviewGrade::Good as i32,
                    opinion: "按审核意见完善指标解释".into(),
                },
            ))
            .await
            .unwrap();
        }
    };
    for id in &ids[..118] {
        approve(id.clone()).await;
    }
    let cov = || {
        let mut c = c.clone();
        let fin = fin.clone();
        async move {
            c.goal_coverage(authed(&fin, pb::GoalCoverageRequest { region_code: "411700".into(), budget_year: 2020 }))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let r = cov().await;
    assert_eq!((r.programmes, r.with_approved_goals, r.count_percent.as_str()), (120, 118, "98.33"));
    assert_eq!(
        (r.amount_fen, r.amount_with_approved_goals_fen, r.amount_percent.as_str()),
        (50_000_000_000, 49_500_000_000, "99.00")
    );
    assert_eq!((r.target_percent.as_str(), r.target_met), ("100", false));
    let missing: Vec<&str> = r.missing.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(missing, ["411700-2020-118", "411700-2020-119"]);
    let step = &r.explanation.unwrap().steps[0];
    assert_eq!(step.source.as_ref().unwrap().clause, "附件2 一(二)");
    // Exactly 100 % meets it ("全覆盖").
    for id in &ids[118..] {
        approve(id.clone()).await;
    }
    let r = cov().await;
    assert_eq!((r.count_percent.as_str(), r.target_met), ("100.00", true));
    // A county has no target of its own: none is borrowed from the city.
    let r = c
        .clone()
        .goal_coverage(authed(&fin, pb::GoalCoverageRequest { region_code: "411721".into(), budget_year: 2020 }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.programmes, r.target_percent.as_str(), r.target_met), (1, "", false));
    // A county's finance does not read the city's coverage.
    let e = c
        .clone()
        .goal_coverage(authed(
            &token(Role::Finance, "411721"),
            pb::GoalCoverageRequest { region_code: "411700".into(), budget_year: 2020 },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    server.stop().await;
}
both_backends!(coverage_of_the_city_level_in_2020_on, super::coverage_of_the_city_level_in_2020);
