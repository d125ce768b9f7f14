use civic_proto::land::v1 as pb;
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, error_reason, token, unit_token, violated_fields};
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
    let t = c
        .campaign
        .set_campaign_targets(authed(&office, set(first.clone(), 0)))
        .await
        .unwrap()
        .into_inner()
        .targets
        .unwrap();
    let outcome = |t: &pb::CampaignTargets, key: &str| {
        t.checks.iter().find(|x| x.key == key).map(|x| x.outcome.clone()).unwrap_or_default()
    };
    assert_eq!(t.version, 1);
    assert_eq!(outcome(&t, "contiguous_share/顾山镇"), "PASS");
    assert_eq!(outcome(&t, "contiguous_share/新桥镇"), "FAIL");
    assert_eq!(outcome(&t, "annual_area"), "FAIL");
    assert_eq!(outcome(&t, "contiguous_parks"), "PASS");
    assert_eq!(
        c.campaign.set_campaign_targets(authed(&office, set(first, 0))).await.unwrap_err().code(),
        Code::AlreadyExists
    );
    let second = vec![target("顾山镇", "2000", "600", 7), target("新桥镇", "2000", "600", 5)];
    assert_eq!(
        error_reason(&c.campaign.set_campaign_targets(authed(&office, set(second.clone(), 7))).await.unwrap_err()),
        "VERSION_CONFLICT"
    );
    let t =
        c.campaign.set_campaign_targets(authed(&office, set(second, 1))).await.unwrap().into_inner().targets.unwrap();
    assert_eq!((t.version, outcome(&t, "annual_area")), (2, "PASS".to_string()));
    // Bad targets: a town twice, contiguous above the total; a town may not set targets.
    let twice = vec![target("顾山镇", "1", "0", 0), target("顾山镇", "1", "0", 0)];
    assert_eq!(
        violated_fields(&c.campaign.set_campaign_targets(authed(&office, set(twice, 2))).await.unwrap_err()),
        vec!["towns[1].town"]
    );
    let over = vec![target("顾山镇", "10", "11", 0)];
    assert_eq!(
        violated_fields(&c.campaign.set_campaign_targets(authed(&office, set(over, 2))).await.unwrap_err()),
        vec!["towns[0].contiguous_area_mu"]
    );
    let gushan = unit_token(Role::Town, "411702", "顾山镇");
    assert_eq!(
        c.campaign
            .set_campaign_targets(authed(&gushan, set(vec![target("顾山镇", "1", "0", 0)], 2)))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );

    // Reports: on time by the 20th, late after it; a town reports for itself only.
    let r =
        c.campaign.report_campaign_progress(authed(&gushan, report("顾山镇", 3, "300", "2024-03-20"))).await.unwrap();
    let r = r.into_inner().report.unwrap();
    assert_eq!((r.report_due.as_str(), r.report_late, r.verify_due.as_str()), ("2024-03-20", false, "2024-03-25"));
    let r = c
        .campaign
        .report_campaign_progress(authed(&gushan, report("顾山镇", 4, "200", "2024-04-22")))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert!(r.report_late);
    let e = c
        .campaign
        .report_campaign_progress(authed(&gushan, report("新桥镇", 3, "200", "2024-03-20")))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
    assert_eq!(
        violated_fields(
            &c.campaign
                .report_campaign_progress(authed(&office, report("东风镇", 3, "200", "2024-03-20")))
                .await
                .unwrap_err()
        ),
        vec!["town"]
    );
    assert_eq!(
        violated_fields(
            &c.campaign
                .report_campaign_progress(authed(&gushan, report("顾山镇", 5, "200", "2024-04-30")))
                .await
                .unwrap_err()
        ),
        vec!["reported_on"]
    );
    let mut old = report("顾山镇", 3, "200", "2023-03-20");
    old.year = 2023;
    assert_eq!(
        error_reason(&c.campaign.report_campaign_progress(authed(&gushan, old)).await.unwrap_err()),
        "NO_CAMPAIGN_TARGETS"
    );
    // Verification by the office, at most what was reported, once.
    assert_eq!(
        violated_fields(
            &c.campaign
                .verify_campaign_report(authed(&office, verify("顾山镇", 3, "301", "2024-03-25")))
                .await
                .unwrap_err()
        ),
        vec!["verified_area_mu"]
    );
    assert_eq!(
        c.campaign
            .verify_campaign_report(authed(&gushan, verify("顾山镇", 3, "280", "2024-03-25")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let v = c
        .campaign
        .verify_campaign_report(authed(&office, verify("顾山镇", 3, "280", "2024-03-25")))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert!(v.verified && !v.verify_late);
    assert_eq!(
        error_reason(
            &c.campaign
                .verify_campaign_report(authed(&office, verify("顾山镇", 3, "280", "2024-03-26")))
                .await
                .unwrap_err()
        ),
        "REPORT_VERIFIED"
    );
    assert_eq!(
        error_reason(
            &c.campaign
                .report_campaign_progress(authed(&gushan, report("顾山镇", 3, "320", "2024-03-27")))
                .await
                .unwrap_err()
        ),
        "REPORT_VERIFIED"
    );
    assert_eq!(
        c.campaign
            .verify_campaign_report(authed(&office, verify("新桥镇", 3, "1", "2024-03-25")))
            .await
            .unwrap_err()
            .code(),
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
    let p = c.campaign.get_campaign_progress(authed(&office, ask(""))).await.unwrap().into_inner();
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
    let own = c.campaign.get_campaign_progress(authed(&gushan, ask(""))).await.unwrap().into_inner();
    assert_eq!((own.towns.len(), own.goals.len()), (1, 0));
    assert_eq!(
        error_reason(&c.campaign.get_campaign_progress(authed(&gushan, ask("新桥镇"))).await.unwrap_err()),
        "UNIT_OUT_OF_SCOPE"
    );
    let targets = c
        .campaign
        .get_campaign_targets(authed(
            &gushan,
            pb::GetCampaignTargetsRequest { region_code: "411702".into(), year: 2024 },
        ))
        .await
        .unwrap()
        .into_inner()
        .targets
        .unwrap();
    assert_eq!(targets.towns.len(), 1);
    assert_eq!(
        c.campaign
            .get_campaign_progress(authed(&token(Role::NaturalResources, "411721"), ask("")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    land.stop().await;
}

civic_testing::both_backends!(campaign_targets, super::targets_reports_progress);
