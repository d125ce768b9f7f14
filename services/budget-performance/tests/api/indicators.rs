//! The indicator library on both backends: kept by finance of a city or above, read down the
//! region tree, named by goals.

use civic_proto::budget::v1::{
    self as pb, indicator_library_service_client::IndicatorLibraryServiceClient,
    programme_service_client::ProgrammeServiceClient,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::both_backends;
use civic_testing::{authed, token, violated_fields};
use tonic::Code;

use crate::programmes::{dibao, dibao_goals};

fn template(region: &str, code: &str) -> pb::IndicatorTemplate {
    pb::IndicatorTemplate {
        code: code.into(),
        region_code: region.into(),
        level1: "产出指标".into(),
        level2: "数量指标".into(),
        level3: "保障人数".into(),
        unit: "人".into(),
        direction: pb::IndicatorDirection::AtLeast as i32,
        formula: "年末在册保障人数".into(),
        explanation: "反映低保对象保障覆盖情况".into(),
        value_basis: "历史标准".into(),
        source: "共性指标库".into(),
        domains: vec!["assistance".into()],
        effective_from: "2021-01-01".into(),
        ..Default::default()
    }
}

async fn library(backend: Backend) {
    let (ch, server) = crate::start_on(backend).await;
    let c = IndicatorLibraryServiceClient::new(ch.clone());
    let city = token(Role::Finance, "411700");
    let upsert = |tok: String, t: pb::IndicatorTemplate, v: i64| {
        let mut c = c.clone();
        async move {
            c.upsert_indicator_template(authed(
                &tok,
                pb::UpsertIndicatorTemplateRequest { template: Some(t), expected_version: v },
            ))
            .await
        }
    };
    let t = upsert(city.clone(), template("411700", "gx010101"), 0).await.unwrap().into_inner().template.unwrap();
    assert_eq!(t.version, 1);
    upsert(token(Role::Finance, "000000"), template("000000", "n0001"), 0).await.unwrap();
    assert_eq!(upsert(city.clone(), template("411700", "gx010101"), 0).await.unwrap_err().code(), Code::AlreadyExists);
    assert_eq!(upsert(city.clone(), template("411700", "gx010101"), 3).await.unwrap_err().code(), Code::Aborted);
    let mut changed = template("411700", "gx010101");
    changed.explanation = "反映低保对象应保尽保情况".into();
    assert_eq!(upsert(city.clone(), changed, 1).await.unwrap().into_inner().template.unwrap().version, 2);
    // A county's finance reads the library, it does not keep it; nor does another bureau.
    assert_eq!(
        upsert(token(Role::Finance, "411721"), template("411721", "x1"), 0).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        upsert(token(Role::CivilAffairs, "411700"), template("411700", "x1"), 0).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let mut deduct = template("411700", "d1");
    deduct.deduction = true;
    assert_eq!(violated_fields(&upsert(city.clone(), deduct, 0).await.unwrap_err()), vec!["template.deduction_step"]);
    let mut no_unit = template("411700", "u1");
    no_unit.unit = String::new();
    assert_eq!(violated_fields(&upsert(city.clone(), no_unit, 0).await.unwrap_err()), vec!["template.unit"]);

    let list = |region: &str, domain: &str| {
        let mut c = c.clone();
        let (region, domain) = (region.to_string(), domain.to_string());
        async move {
            c.list_indicator_templates(authed(
                &token(Role::CivilAffairs, &region),
                pb::ListIndicatorTemplatesRequest {
                    region_code: region.clone(),
                    on_date: "2024-01-01".into(),
                    domain,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .templates
            .iter()
            .map(|t| t.code.clone())
            .collect::<Vec<_>>()
        }
    };
    // A county sees its city's templates and the national ones; another city only the national.
    assert_eq!(list("411721", "").await, ["gx010101", "n0001"]);
    // One a page: the nearest library first, the token leading on to the one above.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = c
            .clone()
            .list_indicator_templates(authed(
                &token(Role::CivilAffairs, "411721"),
                pb::ListIndicatorTemplatesRequest {
                    region_code: "411721".into(),
                    on_date: "2024-01-01".into(),
                    page_size: 1,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.templates.into_iter().map(|t| t.code));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(paged, ["gx010101", "n0001"]);
    let e = c
        .clone()
        .list_indicator_templates(authed(
            &token(Role::CivilAffairs, "411721"),
            pb::ListIndicatorTemplatesRequest {
                region_code: "411721".into(),
                page_token: "210500/gx010101".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["page_token"]);
    assert_eq!(list("411721", "land").await, Vec::<String>::new());
    assert_eq!(list("210500", "").await, ["n0001"]);

    // Goals name templates of their region's library only.
    let mut p = ProgrammeServiceClient::new(ch);
    let mz = token(Role::CivilAffairs, "411721");
    let prog = p
        .upsert_programme(authed(
            &mz,
            pb::UpsertProgrammeRequest {
                programme: Some(dibao("411721", "411721-2024-001", 800_000_000)),
                expected_version: 0,
                reason: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .programme
        .unwrap();
    let mut goals = dibao_goals();
    goals.indicators[0].template_code = "zz999".into();
    let e = p
        .submit_goals(authed(
            &mz,
            pb::SubmitGoalsRequest { programme_id: prog.id.clone(), expected_version: 0, goals: Some(goals.clone()) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["goals.indicators[0].template_code"]);
    goals.indicators[0].template_code = "gx010101".into();
    let g = p
        .submit_goals(authed(
            &mz,
            pb::SubmitGoalsRequest { programme_id: prog.id, expected_version: 0, goals: Some(goals) },
        ))
        .await
        .unwrap()
        .into_inner()
        .goal_set
        .unwrap();
    assert_eq!(g.goals.unwrap().indicators[0].template_code, "gx010101");
    server.stop().await;
}
both_backends!(library_on, super::library);
