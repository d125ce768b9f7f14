use civic_proto::land::v1::{self as pb};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, error_reason, token};

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
    let r = c.per_mu.import_enterprise_figures(authed(&city, import(bad))).await.unwrap().into_inner();
    assert!(!r.stored);
    let found: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(found, vec![(5, "亩均税收"), (6, "region_code")]);
    let e = c
        .per_mu
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
    let r = c.per_mu.import_enterprise_figures(authed(&city, import(csv(20)))).await.unwrap().into_inner();
    assert_eq!((r.enterprises, r.stored), (20, true));
    let eval = c
        .per_mu
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
        .per_mu
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
        c.per_mu.summarize_per_mu(authed(&city, summarize("411700", "驻马店 2023 试行"))).await.unwrap().into_inner();
    assert_eq!(sum.enterprises_evaluated, 20);
    assert_eq!(sum.by_class, eval.by_class);
    let measure = |s: &pb::SummarizePerMuResponse, name: &str| {
        let m = s.measures.iter().find(|m| m.name == name).unwrap();
        (m.enterprises, m.sum.clone(), m.mean.clone())
    };
    // Σ(5 + i) = 290 over 20; Σ(100 + i) − 103 = 2,087 over 19 = 109.84210… → 109.8421.
    assert_eq!(measure(&sum, "亩均税收"), (20, "290".into(), "14.5000".into()));
    assert_eq!(measure(&sum, "亩均增加值"), (19, "2087".into(), "109.8421".into()));
    let out: Vec<(&str, &str)> = sum.left_out.iter().map(|l| (l.enterprise_id.as_str(), l.measure.as_str())).collect();
    assert_eq!(out, [("E003", "亩均增加值")]);
    assert!(!sum.evaluated_at.is_empty());
    let steps = sum.explanation.unwrap().steps;
    assert_eq!(steps[0].rule_id, "land.per_mu.summary");
    assert_eq!(steps[0].source.as_ref().unwrap().document, "civic");
    assert!(steps.iter().any(|st| st.formula == "2087 ÷ 19" && st.result == "109.8421"), "{steps:?}");
    // A county's own: the odd enterprises, Σ(5 + i) = 150 over 10.
    let own = c
        .per_mu
        .summarize_per_mu(authed(&token(Role::NaturalResources, "411721"), summarize("411721", "驻马店 2023 试行")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((own.enterprises_evaluated, measure(&own, "亩均税收").2), (10, "15.0000".into()));
    // Another county's, or a scheme never kept: refused.
    let e = c
        .per_mu
        .summarize_per_mu(authed(&token(Role::NaturalResources, "411721"), summarize("411702", "驻马店 2023 试行")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    let e = c.per_mu.summarize_per_mu(authed(&city, summarize("411700", "另一方案"))).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e)), (tonic::Code::FailedPrecondition, "NO_RESULTS".to_string()));
    let e = c.per_mu.summarize_per_mu(authed(&city, summarize("411700", " "))).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument, "{e:?}");
    // The kept results come out as a spreadsheet, best first.
    let export = c
        .per_mu
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
        .per_mu
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
    let s = c.per_mu.seed_rectification(authed(&city, seed.clone())).await.unwrap().into_inner();
    assert_eq!(s.enterprise_ids, vec!["E000"]);
    let case = c
        .cases
        .get_case(authed(&city, pb::GetCaseRequest { case_id: s.case_ids[0].clone() }))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!((case.state.as_str(), case.region_code.as_str()), ("STARTED", "411702"));
    assert!(case.history[0].note.contains("D 类企业"));
    let again = c.per_mu.seed_rectification(authed(&city, seed)).await.unwrap().into_inner();
    assert_eq!((again.case_ids.len(), again.already_open), (0, 1));
    // The tax bureau imports the indicator it owns; the others stay as imported.
    let tax = token(Role::Tax, "411700");
    let only_tax = "enterprise_id,enterprise_name,region_code,亩均税收\nE000,企业0,411702,50\n".to_string();
    let r = c.per_mu.import_enterprise_figures(authed(&tax, import(only_tax))).await.unwrap().into_inner();
    assert!(r.stored);
    let eval = c
        .per_mu
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
        c.per_mu
            .import_enterprise_figures(authed(&token(Role::Town, "411702"), import(csv(1))))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );
    land.stop().await;
}

civic_testing::both_backends!(import_evaluate_and_seed, super::import_evaluate_seed);

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
        .per_mu
        .import_enterprise_figures(authed(&a, import("411702", &format!("{header}E1,甲,411702,10\n"))))
        .await
        .unwrap()
        .into_inner();
    assert!(r.stored, "{:?}", r.errors);
    let b = token(Role::NaturalResources, "411721");
    let takeover = format!("{header}E2,乙,411721,5\nE1,甲,411721,99\n");
    let r = c.per_mu.import_enterprise_figures(authed(&b, import("411721", &takeover))).await.unwrap().into_inner();
    assert!(!r.stored);
    let found: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(found, vec![(3, "enterprise_id")]);
    assert!(!r.errors[0].message.contains("411702"), "{}", r.errors[0].message);
    // E1 is still 411702's, with its figure; E2 was not stored either.
    let r = c
        .per_mu
        .import_enterprise_figures(authed(&a, import("411702", &format!("{header}E1,甲,411702,12\n"))))
        .await
        .unwrap()
        .into_inner();
    assert!(r.stored, "{:?}", r.errors);
    let mut audit = civic_proto::common::v1::audit_log_service_client::AuditLogServiceClient::new(
        civic_testing::channel(land.addr).await,
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
civic_testing::both_backends!(import_scope, super::import_respects_county_scope);
