use civic_proto::{
    common::v1::{audit_log_service_client::AuditLogServiceClient, ListAuditEntriesRequest},
    land::v1 as pb,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, channel, token, violated_fields};
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
        c.registry
            .set_enterprise_flag(authed(&industry, set("HIGH_POLLUTION_OR_HIGH_ENERGY", true, "2024-03-01", "x")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let e = c.registry.set_enterprise_flag(authed(&ecology, set("DIRTY", true, "2024-03-01", "x"))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["flag"]);
    let e = c
        .registry
        .set_enterprise_flag(authed(&ecology, set("HIGH_POLLUTION_OR_HIGH_ENERGY", true, "2024-03-01", " ")))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["document"]);
    let f = c
        .registry
        .set_enterprise_flag(authed(
            &ecology,
            set("HIGH_POLLUTION_OR_HIGH_ENERGY", true, "2024-03-01", "驿环罚〔2024〕12号"),
        ))
        .await
        .unwrap()
        .into_inner()
        .flag
        .unwrap();
    assert_eq!((f.flag_name.as_str(), f.bureau.as_str()), ("高污染、高耗能", "ecology-environment"));

    // Classification counts the flag from its date, citing the bureau's document.
    let r = c.land.classify_low_efficiency(authed(&nr, classify("2024-06-30", true))).await.unwrap().into_inner();
    assert_eq!(r.parcels[0].categories, vec!["INDUSTRIAL_TRANSITION"]);
    let steps = &r.parcels[0].explanation.as_ref().unwrap().steps;
    assert_eq!(steps[0].source.as_ref().unwrap().document, "驿环罚〔2024〕12号");
    let before = c.land.classify_low_efficiency(authed(&nr, classify("2024-02-29", true))).await.unwrap().into_inner();
    assert!(before.parcels[0].categories.is_empty());
    let without =
        c.land.classify_low_efficiency(authed(&nr, classify("2024-06-30", false))).await.unwrap().into_inner();
    assert!(without.parcels[0].categories.is_empty());

    // A low-efficiency case on the enterprise's parcel uses the flags too.
    c.registry
        .set_enterprise_flag(authed(&industry, set("LISTED_FOR_CLOSURE", true, "2024-04-01", "驿工信〔2024〕5号")))
        .await
        .unwrap();
    let case = c
        .cases
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
        .into_inner()
        .land_case
        .unwrap();
    let reasons = case.classification.unwrap().reasons;
    assert_eq!(reasons.len(), 2, "{reasons:?}");

    // Cleared from a date: gone from the current list, kept in the history; a change cannot
    // be dated before the last one.
    let e = c
        .registry
        .set_enterprise_flag(authed(
            &ecology,
            set("HIGH_POLLUTION_OR_HIGH_ENERGY", false, "2024-02-01", "驿环〔2024〕30号"),
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["on_date"]);
    c.registry
        .set_enterprise_flag(authed(
            &ecology,
            set("HIGH_POLLUTION_OR_HIGH_ENERGY", false, "2024-09-01", "驿环〔2024〕30号"),
        ))
        .await
        .unwrap();
    let later = c.land.classify_low_efficiency(authed(&nr, classify("2024-10-01", true))).await.unwrap().into_inner();
    assert_eq!(later.parcels[0].reasons.len(), 1, "{:?}", later.parcels[0].reasons);
    let list = |history: bool, token: &str| pb::ListEnterpriseFlagsRequest {
        region_code: "411702".into(),
        enterprise_id: String::new(),
        history,
        page_size: 1,
        page_token: token.into(),
    };
    let current = c.registry.list_enterprise_flags(authed(&nr, list(false, ""))).await.unwrap().into_inner();
    assert_eq!(current.flags.iter().map(|f| f.flag.as_str()).collect::<Vec<_>>(), vec!["LISTED_FOR_CLOSURE"]);
    let mut seen = Vec::new();
    let mut next = String::new();
    loop {
        let page = c.registry.list_enterprise_flags(authed(&nr, list(true, &next))).await.unwrap().into_inner();
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
        c.registry
            .list_enterprise_flags(authed(&token(Role::Town, "411702"), list(false, "")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        c.registry
            .list_enterprise_flags(authed(&token(Role::NaturalResources, "411721"), list(false, "")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let mut audit = AuditLogServiceClient::new(channel(land.addr).await);
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

civic_testing::both_backends!(enterprise_flags, super::bureaus_flag_enterprises);
