//! Tables in and out on both backends: programmes imported (Chinese headers, row errors, scope
//! checked row by row, nothing stored on any error, every change audited) and exported; a
//! checkpoint imported for many programmes with its warnings; the 监控表 and 自评表 exported.

use civic_proto::{
    budget::v1::{
        self as pb, evaluation_service_client::EvaluationServiceClient,
        monitoring_service_client::MonitoringServiceClient, programme_service_client::ProgrammeServiceClient,
    },
    common::v1::{audit_log_service_client::AuditLogServiceClient, ListAuditEntriesRequest},
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::both_backends;
use civic_testing::{authed, token};
use tonic::Code;

use crate::programmes::dibao_goals;

const HEADER: &str = "区划代码,预算年度,项目编码,项目名称,项目类型,预算类别,支出对象类型,主管部门角色,实施单位,项目责任人,年初预算数(元),全年预算数(元),是否新增,是否重大\n";

fn row(region: &str, code: &str, yuan: &str) -> String {
    format!("{region},2024,{code},城乡低保资金{code},政策,一般公共预算,无,civil-affairs,西平县民政局,李明,{yuan},{yuan},否,否\n")
}

async fn tables(backend: Backend) {
    let (ch, server) = crate::start_on(backend).await;
    let mut p = ProgrammeServiceClient::new(ch.clone());
    let mz = token(Role::CivilAffairs, "411721");
    let fin = token(Role::Finance, "411721");
    let pc = p.clone();
    let import = move |tok: String, region: &str, csv: String| {
        let mut p = pc.clone();
        let region = region.to_string();
        async move {
            p.import_programmes(authed(
                &tok,
                pb::ImportProgrammesRequest {
                    region_code: region,
                    format: "csv".into(),
                    content: csv.into_bytes(),
                    reason: "年初预算导入".into(),
                },
            ))
            .await
        }
    };
    // A bad amount, a row of another county: nothing is stored, each row named.
    let bad = format!(
        "{HEADER}{}{}{}",
        row("411721", "A1", "5000000"),
        row("411721", "A2", "12.345"),
        row("411722", "A3", "100")
    );
    let r = import(mz.clone(), "411721", bad).await.unwrap().into_inner();
    assert!(!r.stored);
    let errs: Vec<(i64, &str)> = r.errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(errs, [(3, "adjusted_budget_yuan"), (4, "region_code")]);
    let listed = p
        .list_programmes(authed(
            &fin,
            pb::ListProgrammesRequest { region_code: "411721".into(), budget_year: 2024, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.programmes.is_empty());
    // Another county's finance cannot import into this county at all.
    assert_eq!(
        import(token(Role::Finance, "411722"), "411721", HEADER.into()).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let good = format!(
        "{HEADER}{}{}{}",
        row("411721", "A1", "5000000"),
        row("411721", "A2", "12.34"),
        row("411721", "A3", "800000")
    );
    let r = import(mz.clone(), "411721", good).await.unwrap().into_inner();
    assert!(r.stored, "{:?}", r.errors);
    assert_eq!((r.created, r.changed, r.unchanged), (3, 0, 0));
    let again = format!(
        "{HEADER}{}{}{}",
        row("411721", "A1", "5000000"),
        row("411721", "A2", "12.34"),
        row("411721", "A3", "900000")
    );
    let r = import(mz.clone(), "411721", again).await.unwrap().into_inner();
    assert_eq!((r.created, r.changed, r.unchanged), (0, 1, 2));
    let entries = AuditLogServiceClient::new(ch.clone())
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
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["import.create", "import.create", "import.create", "import.update"]);
    assert!(entries[3].before_json.contains("80000000") && entries[3].after_json.contains("90000000"));
    // A bureau does not change another bureau's programme by import.
    let theirs = format!("{HEADER}{}", row("411721", "A1", "1").replace("civil-affairs", "natural-resources"));
    let r = import(mz.clone(), "411721", theirs).await.unwrap().into_inner();
    assert_eq!(r.errors[0].field, "owner_role");

    // Export in the import layout, CSV and XLSX.
    let exported = p
        .export_programmes(authed(
            &fin,
            pb::ExportProgrammesRequest { region_code: "411721".into(), budget_year: 2024, format: "csv".into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .table
        .unwrap();
    let text = String::from_utf8(exported.content).unwrap();
    assert_eq!(exported.rows, 3);
    assert!(text.starts_with("region_code,budget_year,code,"));
    assert!(text.contains("411721,2024,A3,城乡低保资金A3,POLICY,GENERAL_PUBLIC,NONE,civil-affairs,西平县民政局,李明,900000.00,900000.00,0,0"), "{text}");
    let xlsx = p
        .export_programmes(authed(
            &fin,
            pb::ExportProgrammesRequest { region_code: "411721".into(), budget_year: 2024, format: "xlsx".into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .table
        .unwrap();
    assert!(xlsx.content.starts_with(b"PK") && xlsx.filename.ends_with(".xlsx"));

    // Goals approved for A1 and A3 (not A2); a June checkpoint imported for all three.
    let list = p
        .list_programmes(authed(
            &fin,
            pb::ListProgrammesRequest { region_code: "411721".into(), budget_year: 2024, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .programmes;
    let id = |code: &str| list.iter().find(|x| x.code == code).unwrap().id.clone();
    for code in ["A1", "A3"] {
        p.submit_goals(authed(
            &mz,
            pb::SubmitGoalsRequest { programme_id: id(code), expected_version: 0, goals: Some(dibao_goals()) },
        ))
        .await
        .unwrap();
        p.review_goals(authed(
            &fin,
            pb::ReviewGoalsRequest {
                programme_id: id(code),
                version: 1,
                grade: pb::GoalReviewGrade::Excellent as i32,
                opinion: String::new(),
            },
        ))
        .await
        .unwrap();
    }
    let mut m = MonitoringServiceClient::new(ch.clone());
    let rules = crate::monitoring::june(0).rules;
    let checkpoint = |csv: &str, correction: &str| pb::ImportMonitoringRequest {
        region_code: "411721".into(),
        as_of: "2024-06-30".into(),
        format: "csv".into(),
        content: csv.as_bytes().to_vec(),
        rules: rules.clone(),
        correction_reason: correction.into(),
    };
    let csv = "项目编码,到位数(元),拨付数(元),支出数(元),progress:保障人数\nA1,3000000,2500000,1900000,6600\nA2,1,1,1,\nA3,900000,900000,450000,6000\n";
    let r = m.import_monitoring(authed(&mz, checkpoint(csv, ""))).await.unwrap().into_inner();
    assert!(!r.stored);
    assert_eq!((r.errors[0].row, r.errors[0].field.as_str()), (3, "programme_code"), "{:?}", r.errors);
    let csv = "项目编码,到位数(元),拨付数(元),支出数(元),progress:保障人数\nA1,3000000,2500000,1900000,6600\nA3,900000,900000,450000,6000\n";
    let r = m.import_monitoring(authed(&mz, checkpoint(csv, ""))).await.unwrap().into_inner();
    assert!(r.stored, "{:?}", r.errors);
    // A1: 38 % spent, three warnings; A3: 50 % spent, goal 50 %: none.
    assert_eq!((r.records, r.warnings), (2, 3));
    let again = m.import_monitoring(authed(&mz, checkpoint(csv, ""))).await.unwrap().into_inner();
    assert!(!again.stored && again.errors.len() == 2);
    let fixed = "项目编码,到位数(元),拨付数(元),支出数(元),progress:保障人数\nA1,3000000,2500000,2000000,6600\n";
    let r = m.import_monitoring(authed(&mz, checkpoint(fixed, "漏计一笔支出"))).await.unwrap().into_inner();
    assert_eq!((r.records, r.warnings), (1, 1));
    let open = m
        .list_warnings(authed(
            &fin,
            pb::ListWarningsRequest {
                region_code: "411721".into(),
                status: pb::WarningStatus::Open as i32,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .warnings;
    assert_eq!(open.iter().map(|w| w.rule_id.as_str()).collect::<Vec<_>>(), ["budget.monitoring.divergence"]);
    // The correction's audit entries show each warning as stored: who moved it and when.
    let moved = AuditLogServiceClient::new(ch.clone())
        .list_audit_entries(authed(
            &token(Role::Auditor, "411700"),
            ListAuditEntriesRequest { region_code: "411721".into(), entity: "warning".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    let mut actions: Vec<&str> = moved.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(actions, ["warning.reevaluate", "warning.resolve", "warning.resolve"]);
    for entry in &moved {
        let before: serde_json::Value = serde_json::from_str(&entry.before_json).unwrap();
        let after: serde_json::Value = serde_json::from_str(&entry.after_json).unwrap();
        assert_eq!(after["updated_by"], entry.actor.as_str(), "{}", entry.after_json);
        assert_ne!(after["updated_at"], before["updated_at"], "{}", entry.after_json);
        assert_eq!(after["version"], 2);
    }

    // The 监控表 of A1 and the 自评表 of its self-evaluation.
    let table = m
        .export_monitoring_table(authed(
            &fin,
            pb::ExportMonitoringTableRequest { programme_id: id("A1"), format: "csv".into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .table
        .unwrap();
    let text = String::from_utf8(table.content).unwrap();
    assert!(text.contains("2024-06-30,预算执行(支出),5000000.00,2000000.00,40.00%"), "{text}");
    assert!(text.contains("2024-06-30,保障人数,12000人,6600,55.00%"), "{text}");
    let mut e = EvaluationServiceClient::new(ch);
    let mut scored = crate::evaluation::xiping_dibao_2023();
    scored.region_code = String::new();
    scored.on_date = String::new();
    scored.budget_fen = 0;
    scored.executed_fen = 478_125_000; // 95.625 % of 5,000,000.00 yuan
    let ev = e
        .submit_evaluation(authed(
            &mz,
            pb::SubmitEvaluationRequest {
                programme_id: id("A1"),
                kind: pb::EvaluationKind::Self_ as i32,
                self_evaluation: Some(scored),
                evaluated_on: "2025-03-31".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    assert_eq!(ev.total, "90.16");
    let table = e
        .export_self_evaluation_table(authed(
            &fin,
            pb::ExportSelfEvaluationTableRequest { evaluation_id: ev.id, format: "csv".into() },
        ))
        .await
        .unwrap()
        .into_inner()
        .table
        .unwrap();
    let text = String::from_utf8(table.content).unwrap();
    assert!(text.contains("年度资金总额,5000000.00,5000000.00,4781250.00,10,95.63%,9.56"), "{text}");
    assert!(text.contains("产出指标(50分),成本指标,人均年补助支出,≤6900元,7245元,15,14.29"), "{text}");
    assert!(text.contains("总分,,,,,100,90.16,优"), "{text}");
    server.stop().await;
}
both_backends!(tables_on, super::tables);
