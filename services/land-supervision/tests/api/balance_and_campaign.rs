use civic_proto::land::v1::{self as pb};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, token, violated_fields};

#[tokio::test]
async fn farmland_balance_and_campaign_rules_at_their_lines() {
    let land = crate::Land::spawn(Backend::Sqlite).await;
    let mut c = land.client.clone();

    // 三政〔2017〕20号 四(七): 占一补一、先补后占、占优补优.
    let nr = token(Role::NaturalResources, "411200");
    let bal = |supplemented: &str, grade: i32, on: &str, key: bool, commitment: &str| pb::CheckFarmlandBalanceRequest {
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
        let x = c.land.check_farmland_balance(authed(&nr, r.clone())).await.unwrap().into_inner();
        assert_eq!(
            (x.balanced, x.quantity_ok, x.timing_ok, x.quality.as_str()),
            (balanced, quantity, timing, quality),
            "{r:?}"
        );
    }
    let e = c.land.check_farmland_balance(authed(&nr, bal("10", 16, "2023-05-01", false, ""))).await.unwrap_err();
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
    let at = c.campaign.check_campaign_list(authed(&town, list("60", "6000", "30"))).await.unwrap().into_inner();
    assert!(at.indicators.iter().all(|i| i.outcome == "PASS"), "{:?}", at.indicators);
    // 20 亩 not returned by 2024-12-31: 20 × 85 万元 = 1700 万元.
    assert_eq!(at.turnover_fee_fen, 1_700_000_000);
    assert_eq!(
        (at.report_by.as_str(), at.verify_by.as_str(), at.progress_percent.as_str()),
        ("2025-02-20", "2025-02-25", "75.00")
    );
    let past =
        c.campaign.check_campaign_list(authed(&town, list("59.99", "6000.01", "30.01"))).await.unwrap().into_inner();
    assert!(past.indicators.iter().all(|i| i.outcome == "FAIL"), "{:?}", past.indicators);
    // Within the year after borrowing there is no fee yet.
    let early = c
        .campaign
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
    assert!(c.land.check_redevelopment(authed(&nr, plan("1400", &["2", "1"]))).await.unwrap().into_inner().passed);
    let r = c.land.check_redevelopment(authed(&nr, plan("1401", &["3.01"]))).await.unwrap().into_inner();
    let failed: Vec<&str> = r.indicators.iter().filter(|i| i.outcome == "FAIL").map(|i| i.key.as_str()).collect();
    assert_eq!(failed, vec!["office_land_share", "odd_plot_0", "odd_plots_share"]);
    // The 5-year transition keeping the old use (附件3-2 三(二)).
    let t = |on: &str| pb::CheckRedevelopmentRequest {
        on_date: on.into(),
        transition_approved_on: "2021-03-01".into(),
        ..plan("1400", &[])
    };
    let within = c.land.check_redevelopment(authed(&nr, t("2026-02-28"))).await.unwrap().into_inner();
    assert_eq!((within.transition_ends_on.as_str(), within.in_transition), ("2026-02-28", true));
    assert!(!c.land.check_redevelopment(authed(&nr, t("2026-03-01"))).await.unwrap().into_inner().in_transition);
    let e = c.campaign.check_campaign_list(authed(&town, list("201", "6000", "30"))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["contiguous_area_mu"]);
    land.stop().await;
}
