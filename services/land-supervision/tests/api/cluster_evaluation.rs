use civic_proto::{
    common::v1::{audit_log_service_client::AuditLogServiceClient, ListAuditEntriesRequest},
    land::v1 as pb,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, channel, error_reason, token, unit_token, violated_fields};
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
        c.registry
            .upsert_cluster(authed(
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
    let r = c.land.evaluate_clusters(authed(&city, ask(false, "2024-06-30"))).await.unwrap().into_inner();
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
    c.registry
        .publish_limits(authed(
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
    assert!(c.land.evaluate_clusters(authed(&cluster_admin, ask(false, "2024-06-30"))).await.is_ok());
    assert_eq!(
        c.land.evaluate_clusters(authed(&cluster_admin, ask(true, "2024-06-30"))).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let r = c.land.evaluate_clusters(authed(&city, ask(true, "2024-06-30"))).await.unwrap().into_inner();
    assert!(r.recorded);
    assert_eq!(r.clusters.iter().map(|x| x.quota_change_mu.as_str()).collect::<Vec<_>>(), vec!["50", "", "-30", ""]);
    assert_eq!(r.by_outcome.get("PENALTY"), Some(&1));
    // The stored cluster shows its latest result; its own administration sees it, another's not.
    let own = unit_token(Role::ClusterAdmin, "411702", "ZMD-A");
    let view = c
        .registry
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
        .registry
        .get_cluster(authed(&own, pb::GetClusterRequest { cluster_id: "ZMD-B".into(), on_date: String::new() }))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
    let e = c
        .registry
        .list_parcels(authed(
            &own,
            pb::ListParcelsRequest { region_code: "411702".into(), cluster_id: "ZMD-B".into(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
    let view = c
        .registry
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
        violated_fields(&c.land.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
        vec!["clusters[1].cluster_id"]
    );
    let mut bad = ask(false, "2024-06-30");
    bad.clusters[1].cluster_id = "ZMD-A".into();
    assert_eq!(
        violated_fields(&c.land.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
        vec!["clusters[1].cluster_id"]
    );
    let county = token(Role::NaturalResources, "411702");
    let mut outside = ask(true, "2024-06-30");
    outside.region_code = "411702".into();
    outside.clusters.truncate(3);
    assert_eq!(
        violated_fields(&c.land.evaluate_clusters(authed(&county, outside)).await.unwrap_err()),
        vec!["clusters[2].cluster_id"]
    );
    let mut bad = ask(false, "2024-06-30");
    bad.clusters[0].values.push("1".into());
    assert_eq!(
        violated_fields(&c.land.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
        vec!["clusters[0].values"]
    );
    let mut bad = ask(false, "2024-06-30");
    bad.clusters[0].values[0] = "-1".into();
    assert_eq!(
        violated_fields(&c.land.evaluate_clusters(authed(&city, bad)).await.unwrap_err()),
        vec!["clusters[0].values[0]"]
    );
    // Recorded evaluations are in the audit log.
    let mut audit = AuditLogServiceClient::new(channel(land.addr).await);
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

civic_testing::both_backends!(cluster_evaluation, super::rewards_and_penalties);
