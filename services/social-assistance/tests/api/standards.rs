//! Standards: the 25号 table through the service, publishing a new set, and its checks.

use civic_proto::{assistance::v1 as pb, common::v1::ListAuditEntriesRequest};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::violated_fields;
use tonic::Code;

use crate::{
    both_backends,
    harness::{req, t, App},
};

/// (clause, key, region, before 2019-07-01, from 2019-07-01): the 14 rows of 本政办发〔2019〕25号.
const TABLE: &[(&str, &str, &str, &str, &str)] = &[
    ("一(一)1 各区", "assistance.dibao.urban", "210502", "583", "622"),
    ("一(一)1 两县", "assistance.dibao.urban", "210521", "533", "622"),
    ("一(一)2", "assistance.dibao.rural", "210522", "4452", "5004"),
    ("一(二) 各区", "assistance.tekun.urban", "210571", "875", "933"),
    ("一(二) 两县", "assistance.tekun.urban", "210522", "800", "933"),
    ("一(二) 农村", "assistance.tekun.rural", "210503", "668", "751"),
    ("一(三) 集中养育", "assistance.orphan.institutional", "210504", "1800", "1890"),
    ("一(三) 城镇散居", "assistance.orphan.urban_scattered", "210505", "1570", "1680"),
    ("一(三) 农村散居", "assistance.orphan.rural_scattered", "210521", "1320", "1415"),
    ("一(三) 成年孤儿", "assistance.orphan.adult_student_supplement", "210502", "330", "350"),
    ("一(四) 一档", "assistance.retiree_1960s.tier1", "210502", "405", "434"),
    ("一(四) 二档", "assistance.retiree_1960s.tier2", "210521", "439", "470"),
    ("一(四) 三档", "assistance.retiree_1960s.tier3", "210522", "473", "507"),
    ("一(四) 四档", "assistance.retiree_1960s.tier4", "210571", "506", "542"),
];

async fn standards(app: &App, token: &str, region: &str, date: &str) -> Vec<civic_proto::common::v1::Parameter> {
    let mut c = app.client().await;
    c.list_standards(req(
        token,
        pb::ListStandardsRequest {
            region_code: region.into(),
            on_date: date.into(),
            page_size: 1000,
            ..Default::default()
        },
    ))
    .await
    .unwrap()
    .into_inner()
    .standards
}

fn value_of(list: &[civic_proto::common::v1::Parameter], key: &str) -> String {
    list.iter().find(|p| p.key == key).map(|p| p.value.clone()).unwrap_or_else(|| panic!("{key} missing"))
}

async fn all_28_figures(backend: Backend) {
    let app = App::spawn(backend).await;
    let tok = t(Role::CivilAffairs, "210500");
    for (clause, key, region, before, after) in TABLE {
        let b = standards(&app, &tok, region, "2019-06-30").await;
        let a = standards(&app, &tok, region, "2019-07-01").await;
        assert_eq!(&value_of(&b, key), before, "{clause} {key} {region} on 2019-06-30");
        assert_eq!(&value_of(&a, key), after, "{clause} {key} {region} on 2019-07-01");
        let p = a.iter().find(|p| &p.key == key).unwrap();
        let src = p.source.as_ref().unwrap();
        assert_eq!(src.document, "本政办发〔2019〕25号", "{key}");
        assert_eq!(src.effective_from, "2019-07-01", "{key}");
    }
    // Derived figures carry their rule; the low-income threshold appears from 2019-07-01.
    let a = standards(&app, &tok, "210521", "2019-07-01").await;
    assert_eq!(a.iter().find(|p| p.key == "assistance.tekun.rural").unwrap().rule, "1.8 * assistance.dibao.rural / 12");
    assert_eq!(value_of(&a, "assistance.low_income.urban"), "746.4");
    assert_eq!(value_of(&a, "assistance.low_income.rural"), "6004.8");
    app.stop().await;
}
both_backends!(all_28_figures_of_25hao, super::all_28_figures);

fn publication(values: Vec<(&str, &str, &str)>) -> pb::PublishStandardsRequest {
    pb::PublishStandardsRequest {
        region_code: "210500".into(),
        effective_from: "2020-07-01".into(),
        document: "本政办发〔2020〕99号".into(),
        title: "关于再次提高城乡低保标准的通知(测试)".into(),
        values: values
            .into_iter()
            .map(|(k, r, v)| pb::StandardValue {
                key: k.into(),
                region_code: r.into(),
                value: v.into(),
                clause: "一".into(),
            })
            .collect(),
        reason: "annual adjustment".into(),
        validate_only: false,
    }
}

async fn publish_new_standards(backend: Backend) {
    let app = App::spawn(backend).await;
    let finance = t(Role::Finance, "210500");
    let mut c = app.client().await;

    // A published 特困 figure that disagrees with 1.5 × the new 低保 is refused, naming the field.
    let wrong = c
        .publish_standards(req(
            &finance,
            publication(vec![("assistance.dibao.urban", "210500", "650"), ("assistance.tekun.urban", "210500", "980")]),
        ))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&wrong), vec!["values[1].value"]);
    assert!(wrong.message().contains("975"), "{}", wrong.message());

    // Preview: nothing stored.
    let mut preview =
        publication(vec![("assistance.dibao.urban", "210500", "650"), ("assistance.tekun.urban", "210500", "975")]);
    preview.validate_only = true;
    let p = c.publish_standards(req(&finance, preview.clone())).await.unwrap().into_inner();
    assert!(!p.stored);
    assert_eq!(value_of(&standards(&app, &finance, "210502", "2020-07-01").await, "assistance.dibao.urban"), "622");

    // Accepted: districts move to 650, 特困 follows its rule; the counties keep their own 622.
    preview.validate_only = false;
    let p = c.publish_standards(req(&finance, preview.clone())).await.unwrap().into_inner();
    assert!(p.stored);
    let d = standards(&app, &finance, "210502", "2020-07-01").await;
    assert_eq!(
        (value_of(&d, "assistance.dibao.urban"), value_of(&d, "assistance.tekun.urban")),
        ("650".into(), "975".into())
    );
    assert_eq!(value_of(&d, "assistance.low_income.urban"), "780");
    assert_eq!(value_of(&standards(&app, &finance, "210521", "2020-07-01").await, "assistance.tekun.urban"), "933");
    assert_eq!(value_of(&standards(&app, &finance, "210502", "2020-06-30").await, "assistance.dibao.urban"), "622");

    // The same figure twice is refused.
    let again = c.publish_standards(req(&finance, preview.clone())).await.unwrap_err();
    assert!(matches!(again.code(), Code::InvalidArgument | Code::AlreadyExists), "{again:?}");

    // Who may publish: not a county, not an auditor, not the land bureau.
    for (role, region) in
        [(Role::CivilAffairs, "210521"), (Role::Auditor, "000000"), (Role::NaturalResources, "210500")]
    {
        let mut other = preview.clone();
        other.effective_from = "2021-07-01".into();
        let e = c.publish_standards(req(&t(role, region), other)).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{role:?} {region}");
    }

    // The publication is audited.
    let mut audit = app.audit().await;
    let entries = audit
        .list_audit_entries(req(
            &t(Role::Auditor, "000000"),
            ListAuditEntriesRequest {
                region_code: "210500".into(),
                entity: "standard_set".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "standards.publish");
    assert_eq!(entries[0].actor_role, "finance");
    assert!(entries[0].after_json.contains("650"));
    assert_eq!(entries[0].reason, "annual adjustment");
    // Civil-affairs staff do not read the audit log.
    let e = audit.list_audit_entries(req(&finance, ListAuditEntriesRequest::default())).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    // A restart keeps what was published.
    let url = app.database_url.clone();
    app.stop().await;
    let app = App::spawn_on(url, social_assistance::recalc::RecalcSettings::from_env()).await;
    assert_eq!(value_of(&standards(&app, &finance, "210502", "2020-07-01").await, "assistance.tekun.urban"), "975");
    app.stop().await;
}
both_backends!(publish_standards, super::publish_new_standards);

async fn publish_rejects_bad_input(backend: Backend) {
    let app = App::spawn(backend).await;
    let finance = t(Role::Finance, "210500");
    let mut c = app.client().await;
    let cases: Vec<(pb::PublishStandardsRequest, &str)> = vec![
        (publication(vec![("assistance.dibao.urban", "210500", "-1")]), "values[0].value"),
        (publication(vec![("assistance.dibao.urban", "210500", "650.001")]), "values[0].value"),
        (publication(vec![("assistance.nothing", "210500", "1")]), "values[0].key"),
        (publication(vec![("assistance.dibao.urban", "411702", "650")]), "values[0].region_code"),
        (publication(vec![("assistance.dibao.urban", "999999", "650")]), "values[0].region_code"),
        (
            pb::PublishStandardsRequest {
                effective_from: "2020-02-30".into(),
                ..publication(vec![("assistance.dibao.urban", "210500", "650")])
            },
            "effective_from",
        ),
        (
            pb::PublishStandardsRequest {
                document: String::new(),
                ..publication(vec![("assistance.dibao.urban", "210500", "650")])
            },
            "document",
        ),
    ];
    for (r, field) in cases {
        let e = c.publish_standards(req(&finance, r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert!(violated_fields(&e).contains(&field.to_string()), "{field}: {:?}", violated_fields(&e));
    }
    app.stop().await;
}
both_backends!(publish_bad_input, super::publish_rejects_bad_input);

/// A back-dated 低保 that would make the published 特困 figure of 875 (1.5 × 583) disagree with
/// its rule is refused, saying which figure; with the 特困 figure published anew beside it, it is
/// accepted. Whatever is accepted, the service starts again on the same database.
async fn back_dated_publication(backend: Backend) {
    let app = App::spawn(backend).await;
    let finance = t(Role::Finance, "210500");
    let mut c = app.client().await;
    let back_dated =
        |values| pb::PublishStandardsRequest { effective_from: "2019-06-01".into(), ..publication(values) };

    let e = c
        .publish_standards(req(&finance, back_dated(vec![("assistance.dibao.urban", "210500", "600")])))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("875"), "{}", e.message());

    let ok = c
        .publish_standards(req(
            &finance,
            back_dated(vec![("assistance.dibao.urban", "210500", "600"), ("assistance.tekun.urban", "210500", "900")]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(ok.stored);

    // Dates outside the years served are typing errors.
    for date in ["1899-01-01", "9999-12-31"] {
        let r = pb::PublishStandardsRequest {
            effective_from: date.into(),
            ..publication(vec![("assistance.dibao.urban", "210500", "700")])
        };
        let e = c.publish_standards(req(&finance, r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{date}");
        assert_eq!(violated_fields(&e), vec!["effective_from"]);
    }

    let url = app.database_url.clone();
    app.stop().await;
    let app = App::spawn_on(url, social_assistance::recalc::RecalcSettings::from_env()).await;
    let d = standards(&app, &finance, "210502", "2019-06-15").await;
    assert_eq!(
        (value_of(&d, "assistance.dibao.urban"), value_of(&d, "assistance.tekun.urban")),
        ("600".into(), "900".into())
    );
    app.stop().await;
}
both_backends!(back_dated_publication_keeps_the_book_whole, super::back_dated_publication);

/// Publishing over months already paid is accepted and says so: who was paid since the date,
/// and for which months — a recalculation from that date pays the difference, once.
async fn publication_over_paid_months(backend: Backend) {
    let app = App::spawn(backend).await;
    let r = crate::roll::import(&app, "210500", "csv", crate::roll::CSV.as_bytes().to_vec(), "2019-06-15").await;
    assert!(r.stored, "{:?}", r.errors);
    let mut c = app.client().await;
    let ca = t(Role::CivilAffairs, "210500");
    for month in ["2019-07", "2019-08"] {
        c.record_payments(req(&ca, pb::RecordPaymentsRequest { region_code: "210500".into(), month: month.into() }))
            .await
            .unwrap();
    }
    let mut p = pb::PublishStandardsRequest {
        effective_from: "2019-08-01".into(),
        ..publication(vec![("assistance.dibao.urban", "210500", "650")])
    };
    p.validate_only = true;
    let r = c.publish_standards(req(&t(Role::Finance, "210500"), p)).await.unwrap().into_inner();
    assert_eq!((r.households_paid_since, r.months_paid_since), (3, vec!["2019-08".to_string()]));
    app.stop().await;
}
both_backends!(publication_over_paid_months, super::publication_over_paid_months);

/// ListStandards pages: small pages together are the whole list, in the same order.
#[tokio::test]
async fn standards_page() {
    let app = App::spawn(Backend::Sqlite).await;
    let tok = t(Role::CivilAffairs, "210500");
    let all = standards(&app, &tok, "210502", "2019-07-01").await;
    assert!(all.len() > 5);
    let mut c = app.client().await;
    let (mut got, mut token) = (Vec::new(), String::new());
    loop {
        let r = c
            .list_standards(req(
                &tok,
                pb::ListStandardsRequest {
                    region_code: "210502".into(),
                    on_date: "2019-07-01".into(),
                    page_size: 4,
                    page_token: token.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(r.standards.len() <= 4);
        got.extend(r.standards.into_iter().map(|p| p.key));
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(got, all.into_iter().map(|p| p.key).collect::<Vec<_>>());
    let e = c
        .list_standards(req(
            &tok,
            pb::ListStandardsRequest { region_code: "210502".into(), page_token: "x".into(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    app.stop().await;
}
