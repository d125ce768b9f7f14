//! The seeds' fiscal rules with the spec's worked examples (§4.3, §4.4) and their boundaries.
//!
//! (About 880 lines: one module of the api test binary per area; each worked example of the seeds'
//! fiscal rules is a short test with its boundaries, and they share the client and tokens.)
use civic_proto::budget::v1::{self as pb, fiscal_rules_service_client::FiscalRulesServiceClient};
use civic_runtime::identity::Role;
use civic_testing::{authed, error_reason, token, violated_fields, Server};
use tonic::Code;

const YUAN: i64 = 100;

async fn start() -> (FiscalRulesServiceClient<tonic::transport::Channel>, Server) {
    let (ch, server) = crate::start_sqlite().await;
    (FiscalRulesServiceClient::new(ch), server)
}

fn settle(zone: &str, year: i32) -> pb::SettleZoneRevenueRequest {
    pb::SettleZoneRevenueRequest {
        zone_code: zone.into(),
        year,
        plan_fen: 0,
        base_fen: 500_000_000 * YUAN,
        growth_percent: "4".into(),
        city_tax_fen: 61_834_567_891,
        fixed_source_fen: 40_000_000 * YUAN,
        nontax_fen: 1_234_567_899,
    }
}

#[tokio::test]
async fn zone_revenue_of_the_high_tech_zone_in_2021() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411700");
    let s = c.settle_zone_revenue(authed(&tok, settle("411772", 2021))).await.unwrap().into_inner();
    assert_eq!(s.plan_fen, 520_000_000 * YUAN);
    assert_eq!((s.countable_tax_fen, s.excess_fen), (57_834_567_891, 5_834_567_891));
    assert_eq!((s.zone_reward_fen, s.city_tax_share_fen), (4_667_654_313, 1_166_913_578));
    assert_eq!(s.zone_reward_fen + s.city_tax_share_fen, s.excess_fen);
    assert_eq!((s.zone_nontax_fen, s.city_nontax_fen), (987_654_319, 246_913_580));
    let steps = s.explanation.unwrap().steps;
    assert_eq!(steps[0].source.as_ref().unwrap().document, "驻政〔2020〕37号");
    assert!(
        steps.iter().any(|st| st.source.as_ref().unwrap().document == "civic"),
        "the rounding choice is cited as civic"
    );

    // Below plan: no reward. The plan may be given directly.
    let below = pb::SettleZoneRevenueRequest {
        plan_fen: 520_000_000 * YUAN,
        base_fen: 0,
        growth_percent: String::new(),
        city_tax_fen: 510_000_000 * YUAN,
        fixed_source_fen: 0,
        ..settle("411772", 2021)
    };
    assert_eq!(c.settle_zone_revenue(authed(&tok, below)).await.unwrap().into_inner().zone_reward_fen, 0);

    // The ledger: carried forward, and an overspend nobody covers.
    let ledger = |spent: i64| pb::ZoneSpendingLedgerRequest {
        zone_code: "411772".into(),
        year: 2021,
        base_fen: 300_000_000 * YUAN,
        reward_fen: 4_667_654_313,
        retention_fen: 987_654_319,
        prior_carry_fen: 0,
        spent_fen: spent,
    };
    let l = c.zone_spending_ledger(authed(&tok, ledger(350_000_000 * YUAN))).await.unwrap().into_inner();
    assert_eq!((l.available_fen, l.carry_forward_fen, l.overspend_fen), (35_655_308_632, 655_308_632, 0));
    let l = c.zone_spending_ledger(authed(&tok, ledger(360_000_000 * YUAN))).await.unwrap().into_inner();
    assert_eq!((l.carry_forward_fen, l.overspend_fen, l.city_top_up_fen), (0, 344_691_368, 0));

    // 411771 runs the 农产园 closed; 2020 is before the rule; fixed sources above the tax.
    let e = c.settle_zone_revenue(authed(&tok, settle("411771", 2021))).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "ZONE_CLOSED_OPERATION"));
    let e = c.settle_zone_revenue(authed(&tok, settle("411772", 2020))).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let e = c
        .settle_zone_revenue(authed(
            &tok,
            pb::SettleZoneRevenueRequest { fixed_source_fen: 70_000_000_000, ..settle("411772", 2021) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["fixed_source_fen"]);
    let e = c
        .settle_zone_revenue(authed(&tok, pb::SettleZoneRevenueRequest { nontax_fen: -1, ..settle("411772", 2021) }))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["nontax_fen"]);
    // Another city's finance bureau may not.
    let e = c.settle_zone_revenue(authed(&token(Role::Finance, "411200"), settle("411772", 2021))).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    server.stop().await;
}

/// The 城乡一体化示范区 has no code in the shipped book (none of the seeds or the spec gives one,
/// and none is invented). A city adds it as region data — its local code under the city in
/// `regions.csv` and the `budget.zone.member.<code>` row citing 附件4 一 — and it settles on its
/// own plan, beside the 高新区 and without changing it.
#[tokio::test]
async fn a_zone_added_to_the_book_by_the_city_settles_on_its_own_plan() {
    let tok = token(Role::Finance, "411700");
    let demo = pb::SettleZoneRevenueRequest {
        plan_fen: 300_000_000 * YUAN,
        base_fen: 0,
        growth_percent: String::new(),
        city_tax_fen: 42_345_678_901,
        fixed_source_fen: 10_000_000 * YUAN,
        nontax_fen: 555_555_557,
        ..settle("411773", 2021)
    };

    // The shipped book: an unknown region; a district is not one of the 两区, and the refusal
    // says how a zone is added.
    let (mut c, server) = start().await;
    let e = c.settle_zone_revenue(authed(&tok, demo.clone())).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["zone_code"], "{e:?}");
    let district = pb::SettleZoneRevenueRequest { zone_code: "411702".into(), ..demo.clone() };
    let e = c.settle_zone_revenue(authed(&tok, district)).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "NOT_A_PLANNED_ZONE"), "{e:?}");
    assert!(e.message().contains("regions.csv"), "{}", e.message());
    server.stop().await;

    let book = civic_testing::PolicyCopy::new();
    book.append("regions.csv", "411773,驻马店市城乡一体化示范区,functional_zone,411700\n").append(
        "values/zhumadian-budget.csv",
        "budget.zone.member.411773,411700,2021-01-01,,1,,,驻政〔2020〕37号,附件4 一,两区:城乡一体化示范区(代码由本市维护),\n",
    );
    let mut settings = civic_testing::settings(civic_testing::fresh_database(civic_testing::Backend::Sqlite).await);
    settings.policies_dir = book.dir.clone();
    let server = Server::start(settings, budget_performance::start).await;
    let mut c = FiscalRulesServiceClient::new(server.channel().await);
    let s = c.settle_zone_revenue(authed(&tok, demo.clone())).await.unwrap().into_inner();
    // countable 413,456,789.01 − plan 300,000,000 = 113,456,789.01 yuan; × 0.8 = 90,765,431.208 → .21
    assert_eq!((s.countable_tax_fen, s.excess_fen), (41_345_678_901, 11_345_678_901));
    assert_eq!((s.zone_reward_fen, s.city_tax_share_fen), (9_076_543_121, 2_269_135_780));
    // non-tax 5,555,555.57 × 0.8 = 4,444,444.456 → 4,444,444.46
    assert_eq!((s.zone_nontax_fen, s.city_nontax_fen), (444_444_446, 111_111_111));
    let steps = s.explanation.unwrap().steps;
    let src = steps[0].source.as_ref().unwrap();
    assert_eq!((src.document.as_str(), src.clause.as_str()), ("驻政〔2020〕37号", "附件4 一.1"));
    // The 高新区 is settled as before, and 2020 is still before the rule for the new zone.
    let h = c.settle_zone_revenue(authed(&tok, settle("411772", 2021))).await.unwrap().into_inner();
    assert_eq!((h.zone_reward_fen, h.city_tax_share_fen), (4_667_654_313, 1_166_913_578));
    let e = c.settle_zone_revenue(authed(&tok, pb::SettleZoneRevenueRequest { year: 2020, ..demo })).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    server.stop().await;
}

#[tokio::test]
async fn restructuring_guarantee_and_report_deadlines_in_sanmenxia() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    let trigger = |general: i64, special: i64| pb::CheckRestructuringTriggerRequest {
        region_code: "411221".into(),
        year: 2024,
        general_interest_fen: general * YUAN,
        general_expenditure_fen: 1_200_000_000 * YUAN,
        special_interest_fen: special * YUAN,
        fund_expenditure_fen: 800_000_000 * YUAN,
    };
    let t = c.check_restructuring_trigger(authed(&tok, trigger(125_000_000, 60_000_000))).await.unwrap().into_inner();
    let got: Vec<(&str, &str, bool)> =
        t.tests.iter().map(|x| (x.debt.as_str(), x.ratio_percent.as_str(), x.mandatory)).collect();
    assert_eq!(got, vec![("GENERAL", "10.4167", true), ("SPECIAL", "7.5000", false)]);
    assert!(t.mandatory);
    // Exactly 10 %: 超过 excludes the number, so not mandatory.
    let t = c.check_restructuring_trigger(authed(&tok, trigger(120_000_000, 0))).await.unwrap().into_inner();
    assert!(!t.mandatory);
    assert_eq!(t.tests[0].ratio_percent, "10.0000");
    let steps = t.explanation.unwrap().steps;
    assert!(steps.iter().any(|s| s.source.as_ref().unwrap().clause == "第一千二百五十九条"));
    let e = c
        .check_restructuring_trigger(authed(
            &tok,
            pb::CheckRestructuringTriggerRequest { general_expenditure_fen: 0, ..trigger(1, 0) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["general_expenditure_fen"]);

    let cap = |unpaid: i64, guaranteed: i64, on: &str, creditor: bool, guarantor: bool, void: bool| {
        pb::ComputeGuaranteeCapRequest {
            region_code: "411221".into(),
            unpaid_fen: unpaid,
            guaranteed_fen: guaranteed,
            on_date: on.into(),
            creditor_at_fault: creditor,
            guarantor_at_fault: guarantor,
            main_contract_void: void,
        }
    };
    let r = c
        .compute_guarantee_cap(authed(&tok, cap(30_000_000 * YUAN, 10_000_000 * YUAN, "2019-06-01", true, true, false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.plan_cap_fen, r.legal_cap_applies), (10_000_000 * YUAN, false));
    let r = c
        .compute_guarantee_cap(authed(&tok, cap(30_000_000 * YUAN, 20_000_000 * YUAN, "2019-06-01", true, true, false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.plan_cap_fen, 15_000_000 * YUAN);
    let r = c
        .compute_guarantee_cap(authed(&tok, cap(3_000_000_001, 5_000_000_000, "2019-06-01", true, true, false)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.plan_cap_fen, 1_500_000_000, "a cap is never rounded up");
    for (creditor, guarantor, void, legal) in [
        (true, true, false, 15_000_000 * YUAN),
        (false, true, false, 30_000_000 * YUAN),
        (true, false, false, 0),
        (false, true, true, 10_000_000 * YUAN),
    ] {
        let r = c
            .compute_guarantee_cap(authed(
                &tok,
                cap(30_000_000 * YUAN, 20_000_000 * YUAN, "2024-06-01", creditor, guarantor, void),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((r.legal_cap_applies, r.legal_cap_fen), (true, legal), "{creditor} {guarantor} {void}");
    }
    let e = c.compute_guarantee_cap(authed(&tok, cap(1, 1, "2017-01-01", true, true, false))).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "before the plan: {e:?}");

    let report = |due: &str, kind: pb::DebtKind| pb::DebtReportDeadlineRequest {
        region_code: "411221".into(),
        due_date: due.into(),
        kind: kind as i32,
    };
    for (due, kind, by) in [
        ("2024-12-15", pb::DebtKind::Government, "2024-10-15"),
        ("2024-12-15", pb::DebtKind::Contingent, "2024-11-15"),
        ("2024-04-30", pb::DebtKind::Government, "2024-02-29"),
        ("2025-12-01", pb::DebtKind::Government, "2025-09-30"),
    ] {
        let r = c.debt_report_deadline(authed(&tok, report(due, kind))).await.unwrap().into_inner();
        assert_eq!(r.report_by, by, "{due} {kind:?}");
    }
    let r = c
        .debt_report_deadline(authed(&tok, report("2025-12-01", pb::DebtKind::Government)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.nominal_date, "2025-10-01");
    assert!(r.moved_over[0].starts_with("2025-10-01"), "{:?}", r.moved_over);
    let e = c.debt_report_deadline(authed(&tok, report("2024-12-15", pb::DebtKind::Unspecified))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["kind"]);
    // Another city has no such plan: refused, never 三门峡's figures.
    let e = c
        .debt_report_deadline(authed(
            &token(Role::Finance, "411700"),
            pb::DebtReportDeadlineRequest {
                region_code: "411702".into(),
                ..report("2024-12-15", pb::DebtKind::Government)
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    server.stop().await;
}

#[tokio::test]
async fn pooled_agricultural_funds() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    let check = |pooled: i64, poverty: i64| pb::CheckPooledFundsRequest {
        region_code: "411221".into(),
        year: 2024,
        pooled_fen: pooled,
        poverty_allocation_fen: poverty,
        on_date: "2024-05-10".into(),
        balances: vec![],
    };
    let r = c.check_pooled_funds(authed(&tok, check(12_345_678_900, 6_172_839_450))).await.unwrap().into_inner();
    assert_eq!(
        (r.share_percent.as_str(), r.passed, r.minimum_fen, r.shortfall_fen),
        ("50.0000", true, 6_172_839_450, 0)
    );
    let r = c.check_pooled_funds(authed(&tok, check(12_345_678_900, 6_172_839_449))).await.unwrap().into_inner();
    assert_eq!((r.passed, r.shortfall_fen), (false, 1));
    let r = c.check_pooled_funds(authed(&tok, check(12_345_678_901, 0))).await.unwrap().into_inner();
    assert_eq!(r.minimum_fen, 6_172_839_451, "the minimum is rounded up to the fen");
    let e = c.check_pooled_funds(authed(&tok, check(100, 101))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["poverty_allocation_fen"]);

    // Balances carried since 2023-05-10: on 2024-05-10 a full year (以上 includes it).
    let balance = |id: &str, surplus: bool, needed: bool| pb::PooledBalance {
        id: id.into(),
        amount_fen: 1_000,
        carried_since: "2023-05-10".into(),
        net_surplus: surplus,
        needed_for_original_use: needed,
    };
    let classes = |on: &str| pb::CheckPooledFundsRequest {
        on_date: on.into(),
        balances: vec![balance("a", false, true), balance("b", false, false), balance("c", true, true)],
        ..check(100, 50)
    };
    let r = c.check_pooled_funds(authed(&tok, classes("2024-05-10"))).await.unwrap().into_inner();
    let got: Vec<i32> = r.balances.iter().map(|b| b.class).collect();
    assert_eq!(got, vec![pb::BalanceClass::MustRecall as i32; 3]);
    let r = c.check_pooled_funds(authed(&tok, classes("2024-05-09"))).await.unwrap().into_inner();
    let got: Vec<i32> = r.balances.iter().map(|b| b.class).collect();
    assert_eq!(
        got,
        vec![
            pb::BalanceClass::Keep as i32,
            pb::BalanceClass::MayRecallAfterFiling as i32,
            pb::BalanceClass::MustRecall as i32
        ]
    );

    let d = c
        .pooled_fund_deadlines(authed(
            &tok,
            pb::PooledFundDeadlinesRequest {
                region_code: "411221".into(),
                summary_received_on: "2024-09-20".into(),
                opinion_received_on: "2024-09-27".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (d.opinion_nominal.as_str(), d.opinion_due.as_str(), d.plan_due.as_str()),
        ("2024-10-05", "2024-10-08", "2024-10-12")
    );
    let e = c
        .pooled_fund_deadlines(authed(
            &tok,
            pb::PooledFundDeadlinesRequest {
                region_code: "411221".into(),
                summary_received_on: "2026-12-25".into(),
                opinion_received_on: String::new(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "CALENDAR_NOT_COVERED"));
    // The seed's own year: the summary on 2017-09-25 gives the opinion until 2017-10-10; the
    // opinion on 2017-09-28 gives the plan 7 working days: 09-29, Saturday 09-30 (worked, 国办发明电
    // 〔2016〕17号), then 10-09 … 10-13 after the eight-day National Day and Mid-Autumn break.
    let d = c
        .pooled_fund_deadlines(authed(
            &tok,
            pb::PooledFundDeadlinesRequest {
                region_code: "411221".into(),
                summary_received_on: "2017-09-25".into(),
                opinion_received_on: "2017-09-28".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((d.opinion_due.as_str(), d.plan_due.as_str()), ("2017-10-10", "2017-10-13"));
    server.stop().await;
}

/// §4.3: 渑池县 alone defaults 6.50 % of principal and 3.00 % of interest → Ⅱ, and the variants.
#[tokio::test]
async fn debt_risk_level_in_sanmenxia() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    let ask = |principal_defaulted: i64, unable: bool| pb::AssessDebtRiskRequest {
        city_code: "411200".into(),
        on_date: "2024-06-30".into(),
        city: Some(pb::GovernmentDebt {
            principal_due_fen: 1_300_000_000 * YUAN,
            interest_due_fen: 200_000_000 * YUAN,
            ..Default::default()
        }),
        counties: vec![pb::GovernmentDebt {
            region_code: "411221".into(),
            principal_due_fen: 200_000_000 * YUAN,
            principal_defaulted_fen: principal_defaulted,
            interest_due_fen: 30_000_000 * YUAN,
            interest_defaulted_fen: 900_000 * YUAN,
            unable_to_pay: unable,
            unable_contingent: false,
        }],
        ..Default::default()
    };
    let r = c.assess_debt_risk(authed(&tok, ask(13_000_000 * YUAN, false))).await.unwrap().into_inner();
    assert_eq!(r.level, pb::DebtRiskLevel::Ii as i32);
    let clauses: Vec<&str> = r.criteria.iter().map(|x| x.clause.as_str()).collect();
    assert_eq!(clauses, vec!["4.1.2(3)", "4.1.3(1)"], "{:?}", r.criteria);
    assert!(r.criteria[0].finding.contains("6.5000%"), "{}", r.criteria[0].finding);
    assert!(r.open_determinations.is_empty());
    // (a) 渑池县 determined unable to pay: 1/6 = 16.67 % ≥ 15 % → Ⅰ.
    let r = c.assess_debt_risk(authed(&tok, ask(13_000_000 * YUAN, true))).await.unwrap().into_inner();
    assert_eq!(r.level, pb::DebtRiskLevel::I as i32);
    // (b) 12.00 % without a determination: no band fits a single county → open, at least Ⅱ.
    let r = c.assess_debt_risk(authed(&tok, ask(24_000_000 * YUAN, false))).await.unwrap().into_inner();
    assert_eq!(r.at_least, pb::DebtRiskLevel::Ii as i32);
    assert_eq!(r.open_determinations.len(), 1, "{:?}", r.open_determinations);
    assert!(r.open_determinations[0].contains("4.1.1(5)"));
    // (c) exactly 5.00 %: 以上 includes it → Ⅱ.
    let r = c.assess_debt_risk(authed(&tok, ask(10_000_000 * YUAN, false))).await.unwrap().into_inner();
    assert_eq!(r.level, pb::DebtRiskLevel::Ii as i32);
    // (d) the whole city at exactly 10.00 % of principal → Ⅰ.
    let mut d = ask(13_000_000 * YUAN, false);
    d.city.as_mut().unwrap().principal_defaulted_fen = 137_000_000 * YUAN;
    let r = c.assess_debt_risk(authed(&tok, d)).await.unwrap().into_inner();
    assert_eq!(r.level, pb::DebtRiskLevel::I as i32);
    assert!(r.criteria.iter().any(|x| x.clause == "4.1.1(4)"));
    // Bad input and rules.
    let mut bad = ask(13_000_000 * YUAN, false);
    bad.counties[0].principal_defaulted_fen = 300_000_000 * YUAN;
    assert_eq!(
        violated_fields(&c.assess_debt_risk(authed(&tok, bad)).await.unwrap_err()),
        vec!["counties[0].principal_defaulted_fen"]
    );
    let mut zone = ask(0, false);
    zone.counties[0].region_code = "411271".into();
    assert_eq!(
        violated_fields(&c.assess_debt_risk(authed(&tok, zone)).await.unwrap_err()),
        vec!["counties[0].region_code"]
    );
    let mut foreign = ask(0, false);
    foreign.counties[0].region_code = "411702".into();
    let e = c.assess_debt_risk(authed(&token(Role::Finance, "410000"), foreign)).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "COUNTY_NOT_UNDER_CITY"));
    // A county's finance bureau does not assess the city; an auditor reads.
    let e = c.assess_debt_risk(authed(&token(Role::Finance, "411221"), ask(0, false))).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(c.assess_debt_risk(authed(&token(Role::Auditor, "411200"), ask(0, false))).await.is_ok());
    server.stop().await;
}

/// §4.8: 高龄补贴 in 湖滨区, one month, 92,000.00 → city 27,600.00 and district 64,400.00 (3:7);
/// 灵宝市 bears it all; before 2017 there is no rule.
#[tokio::test]
async fn elderly_allowance_cost_share() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    let ask = |region: &str, on: &str| pb::SplitCostShareRequest {
        region_code: region.into(),
        programme: "elderly_allowance".into(),
        total_fen: (1_200 * 50 + 300 * 100 + 10 * 200) * YUAN,
        on_date: on.into(),
    };
    let r = c.split_cost_share(authed(&tok, ask("411202", "2017-06-30"))).await.unwrap().into_inner();
    assert_eq!((r.city_share.as_str(), r.city_fen, r.local_fen), ("0.3", 27_600 * YUAN, 64_400 * YUAN));
    assert_eq!(r.explanation.unwrap().steps[0].source.as_ref().unwrap().document, "三政〔2017〕23号");
    let r = c.split_cost_share(authed(&tok, ask("411282", "2017-06-30"))).await.unwrap().into_inner();
    assert_eq!((r.city_fen, r.local_fen), (0, 92_000 * YUAN));
    let e = c.split_cost_share(authed(&tok, ask("411202", "2016-12-31"))).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = c
        .split_cost_share(authed(
            &tok,
            pb::SplitCostShareRequest { programme: "x y".into(), ..ask("411202", "2017-06-30") },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["programme"]);
    server.stop().await;
}

/// A restructuring budget of 渑池县 against 三政办〔2017〕25号 4.3(2): other spending at zero growth
/// (exactly last year's is compliant, a fen more is not), the zero items, exempt lines.
#[tokio::test]
async fn restructuring_budget_in_sanmenxia() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    use pb::RestructuringCategory as K;
    let line = |k: K, name: &str, prior: i64, proposed: i64| pb::RestructuringLine {
        category: k as i32,
        name: name.into(),
        prior_fen: prior * YUAN,
        proposed_fen: proposed * YUAN,
    };
    let budget = |lines: Vec<pb::RestructuringLine>| pb::CheckRestructuringBudgetRequest {
        region_code: "411221".into(),
        year: 2024,
        lines,
    };
    // Livelihood may grow; the other spending stays exactly at last year's: compliant.
    let ok = vec![
        line(K::BasicLivelihood, "城乡低保", 5_000_000, 5_600_000),
        line(K::GovernmentOperation, "机关运转", 3_000_000, 3_000_000),
        line(K::Other, "农业产业扶持", 1_200_000, 1_150_000),
        line(K::ZeroSpend, "公务接待", 50_000, 0),
        line(K::NewInvestment, "新建项目", 0, 0),
    ];
    let r = c.check_restructuring_budget(authed(&tok, budget(ok.clone()))).await.unwrap().into_inner();
    assert!(r.compliant, "{:?}", r.violations);
    assert_eq!((r.other_prior_fen, r.other_proposed_fen), (125_000_000, 115_000_000));
    let steps = r.explanation.unwrap().steps;
    assert!(steps.iter().all(|s| s.source.as_ref().unwrap().document == "三政办〔2017〕25号"));
    // Exactly zero growth is compliant; one fen more is not.
    let mut at = ok.clone();
    at[2].proposed_fen = 1_250_000 * YUAN;
    assert!(c.check_restructuring_budget(authed(&tok, budget(at.clone()))).await.unwrap().into_inner().compliant);
    at[2].proposed_fen += 1;
    let r = c.check_restructuring_budget(authed(&tok, budget(at))).await.unwrap().into_inner();
    assert_eq!(
        (r.compliant, r.violations[0].line, r.violations[0].rule_id.as_str()),
        (false, -1, "budget.debt.restructure.zero_growth")
    );
    // Zero items: training, a new project, a local subsidy, a land provision.
    let mut zero = ok.clone();
    zero.push(line(K::ZeroSpend, "培训", 0, 1));
    zero.push(line(K::NewInvestment, "新上政府投资项目", 0, 100));
    zero.push(line(K::LocalSubsidy, "企业贴息", 300, 200));
    zero.push(line(K::LandProvision, "农田水利计提", 100, 100));
    zero[2].proposed_fen = 0;
    let r = c.check_restructuring_budget(authed(&tok, budget(zero))).await.unwrap().into_inner();
    let hit: Vec<(i32, &str)> = r.violations.iter().map(|v| (v.line, v.rule_id.as_str())).collect();
    assert_eq!(
        hit,
        [
            (5, "budget.debt.restructure.zero_spend"),
            (6, "budget.debt.restructure.no_new_investment"),
            (7, "budget.debt.restructure.suspended"),
            (8, "budget.debt.restructure.suspended"),
        ]
    );
    // Bad lines; a region whose plan this is not.
    let mut bad = ok.clone();
    bad[0].proposed_fen = -1;
    assert_eq!(
        violated_fields(&c.check_restructuring_budget(authed(&tok, budget(bad))).await.unwrap_err()),
        vec!["lines[0].proposed_fen"]
    );
    let mut bad = ok.clone();
    bad[1].category = 0;
    assert_eq!(
        violated_fields(&c.check_restructuring_budget(authed(&tok, budget(bad))).await.unwrap_err()),
        vec!["lines[1].category"]
    );
    let mut elsewhere = budget(ok);
    elsewhere.region_code = "411721".into();
    let e = c.check_restructuring_budget(authed(&token(Role::Finance, "411700"), elsewhere)).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "NO_RULE_IN_FORCE"));
    server.stop().await;
}

/// Debt-risk events (三政办〔2017〕25号 4.2–5.2) on both backends: opened at a level with its
/// cumulative responses, raised but never lowered, terminated only with the higher group's
/// approval and then due for evaluation within 15 days; no new government investment project
/// while one is open, except the State Council's key projects.
mod debt_events {
    use civic_proto::budget::v1::{self as pb, fiscal_rules_service_client::FiscalRulesServiceClient};
    use civic_runtime::{identity::Role, storage::Backend};
    use civic_testing::both_backends;
    use civic_testing::{authed, error_reason, token, violated_fields};
    use tonic::Code;

    fn check(region: &str, on: &str, key: bool) -> pb::CheckNewInvestmentRequest {
        pb::CheckNewInvestmentRequest { region_code: region.into(), on_date: on.into(), state_council_key_project: key }
    }

    fn advance(
        id: &str,
        version: i64,
        on: &str,
        level: i32,
        terminate: bool,
        approved_by: &str,
    ) -> pb::AdvanceDebtEventRequest {
        pb::AdvanceDebtEventRequest {
            event_id: id.into(),
            expected_version: version,
            on: on.into(),
            basis: "市债务应急领导小组研判".into(),
            level,
            terminate,
            approved_by: approved_by.into(),
        }
    }

    async fn lifecycle(backend: Backend) {
        let (ch, server) = crate::start_on(backend).await;
        let mut c = FiscalRulesServiceClient::new(ch);
        let city = token(Role::Finance, "411200");
        let fgw = token(Role::DevelopmentReform, "411221");

        // No event: a new project may start.
        let ok = c.check_new_investment(authed(&fgw, check("411221", "2024-03-01", false))).await.unwrap().into_inner();
        assert!(ok.allowed && ok.event_id.is_empty());

        // 渑池县: a Ⅲ event from 2024-03-04 with the responses of Ⅳ and Ⅲ.
        let open = pb::OpenDebtEventRequest {
            region_code: "411221".into(),
            level: 3,
            started_on: "2024-03-04".into(),
            basis: "市债务管理领导小组认定:一般债务本息逾期".into(),
        };
        let e = c.open_debt_event(authed(&city, open.clone())).await.unwrap().into_inner().event.unwrap();
        assert_eq!((e.level, e.open, e.version, e.daily_report), (3, true, 1, false));
        let rules: Vec<&str> = e.measures.iter().map(|m| m.rule_id.as_str()).collect();
        assert_eq!(rules, ["budget.debt.response.l4", "budget.debt.response.l3"]);
        assert_eq!(e.measures[1].source.as_ref().unwrap().clause, "4.2.2");
        // One open event per government, kept by the database.
        let again = c.open_debt_event(authed(&city, open.clone())).await.unwrap_err();
        assert_eq!((again.code(), error_reason(&again).as_str()), (Code::FailedPrecondition, "DEBT_EVENT_OPEN"));
        // Only finance opens events; a level outside Ⅰ–Ⅳ is refused.
        let e2 = c.open_debt_event(authed(&fgw, open.clone())).await.unwrap_err();
        assert_eq!(e2.code(), Code::PermissionDenied);
        let mut bad = open.clone();
        bad.level = 5;
        assert_eq!(violated_fields(&c.open_debt_event(authed(&city, bad)).await.unwrap_err()), vec!["level"]);
        // A region whose plan this is not: no responses to cite.
        let mut elsewhere = open.clone();
        elsewhere.region_code = "411721".into();
        let e3 = c.open_debt_event(authed(&token(Role::Finance, "411700"), elsewhere)).await.unwrap_err();
        assert_eq!(e3.code(), Code::FailedPrecondition, "{e3:?}");

        // While it is open: no new project there (the event named), a State Council key project
        // may start, another county is not affected, and the day before it started was free.
        let refused = c.check_new_investment(authed(&fgw, check("411221", "2024-03-05", false))).await.unwrap_err();
        assert_eq!((refused.code(), error_reason(&refused).as_str()), (Code::FailedPrecondition, "DEBT_EVENT_OPEN"));
        assert!(refused.message().contains(&e.id) && refused.message().contains("4.2.1(1)"), "{refused:?}");
        let key = c.check_new_investment(authed(&fgw, check("411221", "2024-03-05", true))).await.unwrap().into_inner();
        assert_eq!((key.allowed, key.event_id.as_str()), (true, e.id.as_str()));
        let other = token(Role::DevelopmentReform, "411224");
        assert!(
            c.check_new_investment(authed(&other, check("411224", "2024-03-05", false)))
                .await
                .unwrap()
                .into_inner()
                .allowed
        );
        assert!(
            c.check_new_investment(authed(&fgw, check("411221", "2024-03-03", false)))
                .await
                .unwrap()
                .into_inner()
                .allowed
        );

        // Raised to Ⅰ: every response, daily reports.
        let e = c
            .advance_debt_event(authed(&city, advance(&e.id, 1, "2024-04-01", 1, false, "")))
            .await
            .unwrap()
            .into_inner()
            .event
            .unwrap();
        assert_eq!((e.level, e.version, e.daily_report, e.history.len()), (1, 2, true, 2));
        assert_eq!(e.measures.len(), 4);
        // Never lowered; a stale version; a change dated before the last one.
        let lower =
            c.advance_debt_event(authed(&city, advance(&e.id, 2, "2024-05-01", 2, false, ""))).await.unwrap_err();
        assert_eq!((lower.code(), error_reason(&lower).as_str()), (Code::FailedPrecondition, "LEVEL_NOT_RAISED"));
        let stale = c
            .advance_debt_event(authed(&city, advance(&e.id, 1, "2024-05-01", 0, true, "省债务管理领导小组")))
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted);
        let early = c
            .advance_debt_event(authed(&city, advance(&e.id, 2, "2024-03-31", 0, true, "省债务管理领导小组")))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&early), vec!["on"]);
        // Termination needs the higher group's approval (4.5).
        let alone =
            c.advance_debt_event(authed(&city, advance(&e.id, 2, "2024-09-20", 0, true, ""))).await.unwrap_err();
        assert_eq!(violated_fields(&alone), vec!["approved_by"]);
        // Ended on 2024-09-20: 15 days is 2024-10-05, inside the National Day holiday, so the
        // evaluation is due on 2024-10-08 (5.2).
        let ended = c
            .advance_debt_event(authed(&city, advance(&e.id, 2, "2024-09-20", 0, true, "市政府债务管理领导小组")))
            .await
            .unwrap()
            .into_inner()
            .event
            .unwrap();
        assert_eq!(
            (ended.open, ended.ended_on.as_str(), ended.evaluation_due.as_str()),
            (false, "2024-09-20", "2024-10-08")
        );
        assert!(!ended.daily_report);
        let steps = ended.explanation.unwrap().steps;
        assert!(
            steps.iter().any(|s| s.rule_id == "budget.debt.post_evaluation" && s.formula.contains("顺延至 2024-10-08")),
            "{steps:?}"
        );
        // From the day it ended, projects may start again; the day before they could not.
        assert!(
            c.check_new_investment(authed(&fgw, check("411221", "2024-09-20", false)))
                .await
                .unwrap()
                .into_inner()
                .allowed
        );
        assert!(c.check_new_investment(authed(&fgw, check("411221", "2024-09-19", false))).await.is_err());
        let after =
            c.advance_debt_event(authed(&city, advance(&e.id, 3, "2024-10-01", 1, false, ""))).await.unwrap_err();
        assert_eq!((after.code(), error_reason(&after).as_str()), (Code::FailedPrecondition, "DEBT_EVENT_ENDED"));
        // Two finance officers opening 卢氏县's event at once: one event, the other refused.
        let race = pb::OpenDebtEventRequest { region_code: "411224".into(), ..open.clone() };
        let (c1, c2) = (c.clone(), c.clone());
        let (t1, t2) = (city.clone(), city.clone());
        let (r1, r2) = (race.clone(), race);
        let (a, b) = tokio::join!(async move { c1.clone().open_debt_event(authed(&t1, r1)).await }, async move {
            c2.clone().open_debt_event(authed(&t2, r2)).await
        });
        let refused: Vec<String> = [&a, &b].iter().filter_map(|r| r.as_ref().err()).map(error_reason).collect();
        assert_eq!((a.is_ok() as u8 + b.is_ok() as u8, refused), (1, vec!["DEBT_EVENT_OPEN".to_string()]));
        // A new event may open now; another county's finance does not see this one.
        let mut next = open.clone();
        next.started_on = "2024-10-10".into();
        assert_eq!(c.open_debt_event(authed(&city, next)).await.unwrap().into_inner().event.unwrap().level, 3);
        let hidden = c
            .get_debt_event(authed(&token(Role::Finance, "411224"), pb::GetDebtEventRequest { event_id: e.id.clone() }))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        let seen = c
            .get_debt_event(authed(&city, pb::GetDebtEventRequest { event_id: e.id.clone() }))
            .await
            .unwrap()
            .into_inner()
            .event
            .unwrap();
        assert_eq!((seen.version, seen.approved_by.as_str()), (3, "市政府债务管理领导小组"));
        server.stop().await;
    }
    both_backends!(lifecycle_on, super::lifecycle);
}

/// 三政〔2017〕23号 三(四): 50 % 以上 of the welfare-lottery funds to elderly services — exactly
/// half passes, a fen less fails by a fen, the minimum of an odd amount rounds up.
#[tokio::test]
async fn welfare_lottery_share_for_elderly_services() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    let ask = |lottery: i64, elderly: i64| pb::CheckLotteryShareRequest {
        region_code: "411200".into(),
        year: 2017,
        welfare_lottery_fen: lottery,
        elderly_services_fen: elderly,
    };
    let r = c.check_lottery_share(authed(&tok, ask(1_000_000, 500_000))).await.unwrap().into_inner();
    assert_eq!((r.share_percent.as_str(), r.required_percent.as_str(), r.passed), ("50.0000", "50", true));
    let r = c.check_lottery_share(authed(&tok, ask(1_000_000, 499_999))).await.unwrap().into_inner();
    assert_eq!((r.passed, r.shortfall_fen, r.minimum_fen), (false, 1, 500_000));
    // 1,000,001 fen × 50 % = 500,000.5 fen → at least 500,001 fen.
    let r = c.check_lottery_share(authed(&tok, ask(1_000_001, 500_000))).await.unwrap().into_inner();
    assert_eq!((r.minimum_fen, r.passed, r.shortfall_fen), (500_001, false, 1));
    let steps = r.explanation.unwrap().steps;
    assert_eq!(steps[0].source.as_ref().unwrap().clause, "三(四)");
    // More for elderly services than the funds, or a region without the rule.
    let e = c.check_lottery_share(authed(&tok, ask(100, 101))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["elderly_services_fen"]);
    let mut zmd = ask(100, 60);
    zmd.region_code = "411700".into();
    let e = c.check_lottery_share(authed(&token(Role::Finance, "411700"), zmd)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    server.stop().await;
}

/// 三政〔2017〕14号: a mine closed in 2017 earns 1,000,000 yuan from the city and as much from the
/// county once accepted; one closed in 2018 earns nothing; before 2017 the opinion says nothing.
#[tokio::test]
async fn coal_mine_closure_rewards() {
    let (mut c, server) = start().await;
    let tok = token(Role::Finance, "411200");
    let mine = |name: &str, closed: &str, accepted: &str| pb::ClosedMine {
        name: name.into(),
        closed_on: closed.into(),
        accepted_on: accepted.into(),
    };
    let ask = |mines: Vec<pb::ClosedMine>| pb::ComputeClosureRewardRequest { region_code: "411281".into(), mines };
    let r = c
        .compute_closure_reward(authed(
            &tok,
            ask(vec![
                mine("义马某煤矿", "2017-06-30", "2017-08-15"),
                mine("另一煤矿", "2017-12-31", ""),
                mine("晚关煤矿", "2018-01-01", "2018-02-01"),
            ]),
        ))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(i64, i64, bool)> = r.mines.iter().map(|m| (m.city_fen, m.county_fen, m.payable)).collect();
    assert_eq!(got, [(100_000_000, 100_000_000, true), (100_000_000, 100_000_000, false), (0, 0, false)]);
    assert_eq!((r.city_fen, r.county_fen), (200_000_000, 200_000_000));
    assert!(r.mines[1].note.contains("验收"), "{}", r.mines[1].note);
    assert!(r.mines[2].note.contains("不再奖励"), "{}", r.mines[2].note);
    let e = c.compute_closure_reward(authed(&tok, ask(vec![mine("早关煤矿", "2016-12-31", "")]))).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let e =
        c.compute_closure_reward(authed(&tok, ask(vec![mine("倒签", "2017-06-30", "2017-06-01")]))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["mines[0].accepted_on"]);
    server.stop().await;
}

/// Who may use the fiscal rules (spec §3.6), as a matrix on both backends: finance of the city
/// and of a county in it for their own regions, development-reform for the investment check,
/// auditors read and never write; another county, another bureau and another city's auditor are
/// refused. An allowed caller passes authorization (and may then meet the rules: an event
/// already open); a refused one gets PERMISSION_DENIED.
mod matrix {
    use civic_proto::budget::v1::{self as pb, fiscal_rules_service_client::FiscalRulesServiceClient};
    use civic_runtime::{identity::Role, storage::Backend};
    use civic_testing::authed;
    use civic_testing::both_backends;
    use tonic::transport::Channel;

    use crate::access::{check_cells, Cell};

    const CALLERS: [(&str, Role, &str); 8] = [
        ("finance-county", Role::Finance, "411221"),
        ("finance-city", Role::Finance, "411200"),
        ("finance-other-county", Role::Finance, "411224"),
        ("other-bureau", Role::CivilAffairs, "411221"),
        ("development-reform", Role::DevelopmentReform, "411221"),
        ("auditor", Role::Auditor, "411200"),
        ("auditor-other-city", Role::Auditor, "411700"),
        ("finance-other-city", Role::Finance, "411700"),
    ];

    fn cells(c: &FiscalRulesServiceClient<Channel>) -> Vec<Cell> {
        let (c1, c2, c3, c4, c5) = (c.clone(), c.clone(), c.clone(), c.clone(), c.clone());
        vec![
            (
                "OpenDebtEvent(411221)",
                &["finance-county", "finance-city"],
                Box::new(move |t| {
                    let mut c = c1.clone();
                    Box::pin(async move {
                        c.open_debt_event(authed(
                            &t,
                            pb::OpenDebtEventRequest {
                                region_code: "411221".into(),
                                level: 4,
                                started_on: "2024-03-04".into(),
                                basis: "认定".into(),
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }),
            ),
            (
                "CheckNewInvestment(411221)",
                &["finance-county", "finance-city", "development-reform", "auditor"],
                Box::new(move |t| {
                    let mut c = c2.clone();
                    Box::pin(async move {
                        c.check_new_investment(authed(
                            &t,
                            pb::CheckNewInvestmentRequest {
                                region_code: "411221".into(),
                                on_date: "2024-01-02".into(),
                                state_council_key_project: false,
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }),
            ),
            (
                "CheckLotteryShare(411200)",
                &["finance-city", "auditor"],
                Box::new(move |t| {
                    let mut c = c3.clone();
                    Box::pin(async move {
                        c.check_lottery_share(authed(
                            &t,
                            pb::CheckLotteryShareRequest {
                                region_code: "411200".into(),
                                year: 2024,
                                welfare_lottery_fen: 100,
                                elderly_services_fen: 50,
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }),
            ),
            (
                "CheckRestructuringTrigger(411221)",
                &["finance-county", "finance-city", "auditor"],
                Box::new(move |t| {
                    let mut c = c4.clone();
                    Box::pin(async move {
                        c.check_restructuring_trigger(authed(
                            &t,
                            pb::CheckRestructuringTriggerRequest {
                                region_code: "411221".into(),
                                year: 2024,
                                general_interest_fen: 10,
                                general_expenditure_fen: 100,
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }),
            ),
            (
                "ComputeClosureReward(411281)",
                &["finance-city", "auditor"],
                Box::new(move |t| {
                    let mut c = c5.clone();
                    Box::pin(async move {
                        c.compute_closure_reward(authed(
                            &t,
                            pb::ComputeClosureRewardRequest {
                                region_code: "411281".into(),
                                mines: vec![pb::ClosedMine {
                                    name: "煤矿".into(),
                                    closed_on: "2017-06-30".into(),
                                    accepted_on: String::new(),
                                }],
                            },
                        ))
                        .await
                        .map(|_| ())
                    })
                }),
            ),
        ]
    }

    async fn matrix(backend: Backend) {
        let (ch, server) = crate::start_on(backend).await;
        let client = FiscalRulesServiceClient::new(ch);
        check_cells(&cells(&client), &CALLERS).await;
        server.stop().await;
    }
    both_backends!(fiscal_matrix_on, super::matrix);
}
