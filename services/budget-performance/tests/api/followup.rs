//! Publication deadlines (the spec's §4.6) and rectification orders and disclosure records over
//! gRPC on both backends.

use civic_proto::budget::v1::{
    self as pb, disclosure_service_client::DisclosureServiceClient, programme_service_client::ProgrammeServiceClient,
    rectification_service_client::RectificationServiceClient,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::both_backends;
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::Code;

use crate::programmes::dibao;

#[tokio::test]
async fn statutory_disclosure_dates() {
    let (ch, server) = crate::start_sqlite().await;
    let c = DisclosureServiceClient::new(ch);
    let tok = token(Role::Finance, "411721");
    let due = |item: pb::DisclosureItem, start: &str| {
        let mut c = c.clone();
        let (tok, start) = (tok.clone(), start.to_string());
        async move {
            c.disclosure_due(authed(
                &tok,
                pb::DisclosureDueRequest { region_code: "411721".into(), item: item as i32, start_on: start },
            ))
            .await
        }
    };
    use pb::DisclosureItem as I;
    // A department budget 批复 on 2024-03-01 is published by 2024-03-21 (预算法 第十四条第二款).
    let r = due(I::DepartmentBudget, "2024-03-01").await.unwrap().into_inner();
    assert_eq!(r.due_on, "2024-03-21");
    let steps = r.explanation.unwrap().steps;
    assert_eq!(steps[0].source.as_ref().unwrap().clause, "第十四条第二款");
    assert_eq!(steps[1].rule_id, "law.period");
    // An evaluation report formed 2024-09-20: 20 working days over the National Day holiday.
    let r = due(I::GovernmentInformation, "2024-09-20").await.unwrap().into_inner();
    assert_eq!(r.due_on, "2024-10-23");
    assert_eq!(r.explanation.unwrap().steps[0].source.as_ref().unwrap().document, "国务院令第711号");
    // The people's congress approves on 2024-01-10: departments by 01-30; a department
    // receiving its budget on 01-25 issues its units theirs by 02-09 (a Friday before 春节).
    assert_eq!(due(I::ApprovalToDepartments, "2024-01-10").await.unwrap().into_inner().due_on, "2024-01-30");
    let r = due(I::ApprovalToUnits, "2024-01-25").await.unwrap().into_inner();
    assert_eq!((r.due_on.as_str(), r.moved_over.len()), ("2024-02-09", 0));
    // Received on 01-27: the count lands on 02-11, in the holiday; due the day after it, 02-18.
    let r = due(I::ApprovalToUnits, "2024-01-27").await.unwrap().into_inner();
    assert_eq!((r.nominal_date.as_str(), r.due_on.as_str()), ("2024-02-11", "2024-02-18"));
    assert_eq!(r.moved_over.len(), 7);
    // No holiday notice for the year: refused, not guessed.
    let e = due(I::GovernmentInformation, "2026-12-20").await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "CALENDAR_NOT_COVERED"));
    assert_eq!(violated_fields(&due(I::Unspecified, "2024-01-10").await.unwrap_err()), vec!["item"]);
    server.stop().await;
}

fn item(problem: &str, deadline: &str, unit: &str) -> pb::RectificationItem {
    pb::RectificationItem {
        problem: problem.into(),
        manifestation: "6月末执行率38%，低于序时进度12个百分点".into(),
        measures: "加快审核发放，按月拨付".into(),
        deadline: deadline.into(),
        responsible_unit: unit.into(),
        ..Default::default()
    }
}

async fn rectification_and_disclosure(backend: Backend) {
    let (ch, server) = crate::start_on(backend).await;
    let mut programmes = ProgrammeServiceClient::new(ch.clone());
    let mut r = RectificationServiceClient::new(ch.clone());
    let mut d = DisclosureServiceClient::new(ch);
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
    let issue = |items: Vec<pb::RectificationItem>| pb::IssueRectificationRequest {
        region_code: "411721".into(),
        programme_id: p.id.clone(),
        source: pb::RectificationSource::Warning as i32,
        source_ref: "2024-06-30 预警".into(),
        items,
        issued_on: "2024-07-15".into(),
    };
    let two =
        vec![item("支出进度滞后", "2024-10-01", "西平县民政局"), item("发放不及时", "2024-09-30", "西平县民政局")];
    assert_eq!(
        r.issue_rectification(authed(&mz, issue(two.clone()))).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let e =
        r.issue_rectification(authed(&fin, issue(vec![item("x", "2024-07-14", "西平县民政局")]))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["items[0].deadline"]);
    let e = r.issue_rectification(authed(&fin, issue(vec![item("x", "2024-09-30", "")]))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["items[0].responsible_unit"]);
    let o = r.issue_rectification(authed(&fin, issue(two))).await.unwrap().into_inner().order.unwrap();
    assert_eq!(o.status, pb::RectificationStatus::Issued as i32);
    // 10-01 is National Day: its last day moves to 10-08.
    assert_eq!(o.items[0].effective_deadline, "2024-10-08");

    let (rc, finc) = (r.clone(), fin.clone());
    let overdue = move |on: &str| {
        let mut r = rc.clone();
        let (fin, on) = (finc.clone(), on.to_string());
        async move {
            r.list_rectifications(authed(
                &fin,
                pb::ListRectificationsRequest {
                    region_code: "411721".into(),
                    on_date: on,
                    overdue_only: true,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .orders
        }
    };
    let on = overdue("2024-10-08").await;
    assert_eq!(on[0].items.iter().map(|i| i.overdue).collect::<Vec<_>>(), [false, true]);
    let on = overdue("2024-10-09").await;
    assert_eq!(on[0].items.iter().map(|i| i.overdue).collect::<Vec<_>>(), [true, true]);
    assert!(overdue("2024-09-30").await.is_empty());

    // Reported item by item, reopened with notes, reported again, verified.
    let results = |n: u32| {
        (0..n).map(|i| pb::ItemResult { item: i, result: "已按月拨付".into(), evidence: "拨付凭证".into() }).collect()
    };
    let e = r
        .report_rectification(authed(
            &mz,
            pb::ReportRectificationRequest { order_id: o.id.clone(), expected_version: 1, results: results(1) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["results"]);
    let o = r
        .report_rectification(authed(
            &mz,
            pb::ReportRectificationRequest { order_id: o.id.clone(), expected_version: 1, results: results(2) },
        ))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(o.status, pb::RectificationStatus::Reported as i32);
    let (rc, oid) = (r.clone(), o.id.clone());
    let verify = move |tok: String, version: i64, accepted: bool, notes: &str| {
        let mut r = rc.clone();
        let (id, notes) = (oid.clone(), notes.to_string());
        async move {
            r.verify_rectification(authed(
                &tok,
                pb::VerifyRectificationRequest { order_id: id, expected_version: version, accepted, notes },
            ))
            .await
        }
    };
    assert_eq!(verify(mz.clone(), 2, true, "").await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(violated_fields(&verify(fin.clone(), 2, false, "").await.unwrap_err()), vec!["notes"]);
    assert_eq!(verify(fin.clone(), 1, true, "").await.unwrap_err().code(), Code::Aborted);
    let reopened = verify(fin.clone(), 2, false, "凭证不全").await.unwrap().into_inner().order.unwrap();
    assert_eq!(reopened.status, pb::RectificationStatus::Reopened as i32);
    let o = r
        .report_rectification(authed(
            &mz,
            pb::ReportRectificationRequest { order_id: o.id.clone(), expected_version: 3, results: results(2) },
        ))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    let done = verify(fin.clone(), o.version, true, "").await.unwrap().into_inner().order.unwrap();
    assert_eq!(done.status, pb::RectificationStatus::Verified as i32);
    assert!(overdue("2025-01-01").await.is_empty());
    assert_eq!(error_reason(&verify(fin.clone(), done.version, true, "").await.unwrap_err()), "STEP_OUT_OF_ORDER");

    // A disclosure: an evaluation report formed 2024-09-20 is due 2024-10-23; published on
    // 10-25 it is late.
    let rec = d
        .record_disclosure(authed(
            &fin,
            pb::RecordDisclosureRequest {
                region_code: "411721".into(),
                programme_id: p.id.clone(),
                item: pb::DisclosureItem::GovernmentInformation as i32,
                title: "2023年城乡低保资金绩效评价报告".into(),
                start_on: "2024-09-20".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .disclosure
        .unwrap();
    assert_eq!(rec.due_on, "2024-10-23");
    let list = |on: &str| {
        let mut d = d.clone();
        let (fin, on) = (fin.clone(), on.to_string());
        async move {
            d.list_disclosures(authed(
                &fin,
                pb::ListDisclosuresRequest {
                    region_code: "411721".into(),
                    on_date: on,
                    overdue_only: true,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .disclosures
        }
    };
    assert!(list("2024-10-23").await.is_empty());
    assert!(list("2024-10-24").await[0].overdue);
    let publish = |date: &str, version: i64| {
        let mut d = d.clone();
        let (fin, id, date) = (fin.clone(), rec.id.clone(), date.to_string());
        async move {
            d.record_disclosure(authed(
                &fin,
                pb::RecordDisclosureRequest {
                    id,
                    expected_version: version,
                    published_on: date,
                    url: "http://www.xiping.gov.cn/czj/jxpj/2023dibao".into(),
                    ..Default::default()
                },
            ))
            .await
        }
    };
    assert_eq!(violated_fields(&publish("2024-09-19", 1).await.unwrap_err()), vec!["published_on"]);
    let late = publish("2024-10-25", 1).await.unwrap().into_inner().disclosure.unwrap();
    assert!(late.late && !late.overdue);
    assert_eq!(publish("2024-10-26", 1).await.unwrap_err().code(), Code::Aborted);
    server.stop().await;
}
both_backends!(rectification_and_disclosure_on, super::rectification_and_disclosure);

/// Orders and disclosure records page in order of issue and of due date (ties by id), whatever
/// the page size; a filtered page may be short and still lead on; a token that is not ours is
/// refused.
async fn paged_lists(backend: Backend) {
    let (ch, server) = crate::start_on(backend).await;
    let mut r = RectificationServiceClient::new(ch.clone());
    let mut d = DisclosureServiceClient::new(ch);
    let fin = token(Role::Finance, "411721");
    // Issued on 07-15, 07-15, 07-16, 08-01, 09-02: the first with a deadline already passed on 09-30.
    for (n, (on, deadline)) in [
        ("2024-07-16", "2024-12-31"),
        ("2024-07-15", "2024-08-30"),
        ("2024-09-02", "2024-12-31"),
        ("2024-07-15", "2024-12-31"),
        ("2024-08-01", "2024-12-31"),
    ]
    .into_iter()
    .enumerate()
    {
        r.issue_rectification(authed(
            &fin,
            pb::IssueRectificationRequest {
                region_code: "411721".into(),
                source: pb::RectificationSource::Warning as i32,
                source_ref: format!("预警 {n}"),
                items: vec![item(&format!("问题{n}"), deadline, "西平县民政局")],
                issued_on: on.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    }
    let mut pages = Vec::new();
    let mut token_ = String::new();
    loop {
        let page = r
            .list_rectifications(authed(
                &fin,
                pb::ListRectificationsRequest {
                    region_code: "411721".into(),
                    on_date: "2024-09-30".into(),
                    page_size: 2,
                    page_token: token_.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        pages.push(page.orders.iter().map(|o| o.issued_on.clone()).collect::<Vec<_>>());
        if page.next_page_token.is_empty() {
            break;
        }
        token_ = page.next_page_token;
    }
    assert_eq!(pages, [vec!["2024-07-15", "2024-07-15"], vec!["2024-07-16", "2024-08-01"], vec!["2024-09-02"]]);
    // Overdue only, one a page: the overdue order first, then pages that hold none.
    let first = r
        .list_rectifications(authed(
            &fin,
            pb::ListRectificationsRequest {
                region_code: "411721".into(),
                on_date: "2024-09-30".into(),
                overdue_only: true,
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let second = r
        .list_rectifications(authed(
            &fin,
            pb::ListRectificationsRequest {
                region_code: "411721".into(),
                on_date: "2024-09-30".into(),
                overdue_only: true,
                page_size: 1,
                page_token: first.next_page_token.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let firsts: Vec<&str> = first.orders.iter().chain(&second.orders).map(|o| o.source_ref.as_str()).collect();
    assert!(firsts.len() == 1 && !second.next_page_token.is_empty(), "{firsts:?}");
    for bad in ["x", "2024-07-15/';DROP", "../..", "2024-07-15/"] {
        let e = r
            .list_rectifications(authed(
                &fin,
                pb::ListRectificationsRequest {
                    region_code: "411721".into(),
                    page_token: bad.into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), vec!["page_token"], "{bad}");
    }

    for start in ["2024-09-20", "2024-03-01", "2024-06-01"] {
        d.record_disclosure(authed(
            &fin,
            pb::RecordDisclosureRequest {
                region_code: "411721".into(),
                item: pb::DisclosureItem::DepartmentBudget as i32,
                title: format!("{start} 批复的部门预算"),
                start_on: start.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    }
    let list = |page_token: String| {
        let mut d = d.clone();
        let fin = fin.clone();
        async move {
            d.list_disclosures(authed(
                &fin,
                pb::ListDisclosuresRequest {
                    region_code: "411721".into(),
                    on_date: "2024-12-31".into(),
                    page_size: 2,
                    page_token,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
        }
    };
    let one = list(String::new()).await;
    let two = list(one.next_page_token.clone()).await;
    let due: Vec<&str> = one.disclosures.iter().chain(&two.disclosures).map(|x| x.due_on.as_str()).collect();
    assert_eq!(due, ["2024-03-21", "2024-06-21", "2024-10-10"]);
    assert!(two.next_page_token.is_empty());
    server.stop().await;
}
both_backends!(paged_lists_on, super::paged_lists);
