use civic_proto::{
    common::v1::{audit_log_service_client::AuditLogServiceClient, ListAuditEntriesRequest},
    land::v1::{self as pb},
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, channel, error_reason, token, unit_token, violated_fields};
use tonic::Code;

async fn workflows(backend: Backend) {
    let land = crate::Land::spawn(backend).await;
    let mut c = land.client.clone();
    let cluster = token(Role::ClusterAdmin, "411702");
    let bureau = token(Role::NaturalResources, "411702");

    // Low-efficiency identification: proposed by the cluster administration, classified.
    let parcel = pb::ParcelFacts {
        parcel_id: "ZMD-2019-031".into(),
        construction_started: true,
        construction_started_on: "2019-05-01".into(),
        developed_area_mu: "12".into(),
        total_area_mu: "30".into(),
        invested_wan: "1000".into(),
        total_investment_wan: "10000".into(),
        agreed_completion: "2021-12-31".into(),
        ..Default::default()
    };
    let open = pb::OpenCaseRequest {
        kind: pb::CaseKind::LowEfficiencyIdentification as i32,
        region_code: "411702".into(),
        subject_id: "ZMD-2019-031".into(),
        opened_on: "2023-03-01".into(),
        parcel: Some(parcel),
        note: "2023 年度排查".into(),
        unit: String::new(),
    };
    let case = c.cases.open_case(authed(&cluster, open.clone())).await.unwrap().into_inner().land_case.unwrap();
    assert_eq!(case.state, "PROPOSED");
    assert_eq!(case.classification.as_ref().unwrap().categories, vec!["STALLED"]);
    assert_eq!(case.next_states, vec!["REVIEWED"]);
    let step = |id: &str, to: &str, on: &str, v: i64| pb::AdvanceCaseRequest {
        case_id: id.into(),
        to_state: to.into(),
        on_date: on.into(),
        note: String::new(),
        expected_version: v,
        decided_categories: vec![],
        deadline_months: 0,
        treatment_outcome: String::new(),
        punishments: vec![],
    };
    // Out of order: named state, machine-readable reason.
    let e = c.cases.advance_case(authed(&bureau, step(&case.case_id, "DECIDED", "2023-03-10", 1))).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "STEP_OUT_OF_ORDER"));
    assert!(e.message().contains("PROPOSED"), "{}", e.message());
    // The cluster administration proposes; the county decides.
    assert_eq!(
        c.cases
            .advance_case(authed(&cluster, step(&case.case_id, "REVIEWED", "2023-03-10", 1)))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let reviewed = c
        .cases
        .advance_case(authed(&bureau, step(&case.case_id, "REVIEWED", "2023-03-10", 1)))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!(reviewed.version, 2);
    // A stale version is refused.
    let e = c.cases.advance_case(authed(&bureau, step(&case.case_id, "DECIDED", "2023-03-20", 1))).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::Aborted, "VERSION_CONFLICT"));
    let e = c.cases.advance_case(authed(&bureau, step(&case.case_id, "DECIDED", "2023-03-01", 2))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["on_date"]);
    let decided = c
        .cases
        .advance_case(authed(
            &bureau,
            pb::AdvanceCaseRequest {
                decided_categories: vec!["STALLED".into()],
                ..step(&case.case_id, "DECIDED", "2023-03-20", 2)
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!(decided.next_states, vec!["NOTIFIED"]);
    let e = c
        .cases
        .advance_case(authed(
            &bureau,
            pb::AdvanceCaseRequest { deadline_months: 13, ..step(&case.case_id, "NOTIFIED", "2023-03-25", 3) },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["deadline_months"]);
    let notified = c
        .cases
        .advance_case(authed(
            &bureau,
            pb::AdvanceCaseRequest { deadline_months: 12, ..step(&case.case_id, "NOTIFIED", "2023-03-25", 3) },
        ))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!(notified.deadline, "2024-03-25");
    let filed = c
        .cases
        .advance_case(authed(&bureau, step(&case.case_id, "FILED", "2023-04-01", 4)))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert!(filed.next_states.is_empty());
    assert_eq!(
        filed.history.iter().map(|h| h.state.as_str()).collect::<Vec<_>>(),
        vec!["PROPOSED", "REVIEWED", "DECIDED", "NOTIFIED", "FILED"]
    );
    let e = c.cases.advance_case(authed(&bureau, step(&case.case_id, "NOTIFIED", "2023-04-02", 5))).await.unwrap_err();
    assert!(e.message().contains("finished"), "{}", e.message());

    // The health check counts working days on the official calendar: from Friday 2024-09-27,
    // 10 working days include the make-up Sunday 09-29 and Saturday 10-12 and skip 10-01..07.
    // A town's staff must name their town; the case is then the town's.
    let unnamed = token(Role::Town, "411702");
    let e = c
        .cases
        .open_case(authed(
            &unnamed,
            pb::OpenCaseRequest {
                kind: pb::CaseKind::HealthCheck as i32,
                region_code: "411702".into(),
                subject_id: "ENT-0091".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::PermissionDenied, "UNIT_REQUIRED"));
    let town = unit_token(Role::Town, "411702", "顾山镇");
    let hc = c
        .cases
        .open_case(authed(
            &town,
            pb::OpenCaseRequest {
                kind: pb::CaseKind::HealthCheck as i32,
                region_code: "411702".into(),
                subject_id: "ENT-0091".into(),
                opened_on: "2024-09-27".into(),
                parcel: None,
                note: String::new(),
                unit: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!((hc.state.as_str(), hc.deadline.as_str(), hc.unit.as_str()), ("STARTED", "2024-10-16", "顾山镇"));
    let formula = &hc.explanation.as_ref().unwrap().steps[0].formula;
    assert!(
        formula.contains("2024-10-01 国庆节")
            && formula.contains("2024-10-12 调休上班")
            && formula.contains("2024-09-29 调休上班"),
        "{formula}"
    );
    // Done two days late: recorded as late; the next period runs 20 working days.
    let initial = c
        .cases
        .advance_case(authed(&bureau, step(&hc.case_id, "INITIAL_CHECK", "2024-10-18", 1)))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!(initial.deadline, "2024-11-15");
    assert!(initial.history[1].note.starts_with("逾期"), "{:?}", initial.history[1]);
    c.cases.advance_case(authed(&bureau, step(&hc.case_id, "RECTIFYING", "2024-11-10", 2))).await.unwrap();
    c.cases.advance_case(authed(&bureau, step(&hc.case_id, "CONSULTATION", "2024-11-20", 3))).await.unwrap();
    let e = c.cases.advance_case(authed(&bureau, step(&hc.case_id, "TREATMENT", "2024-11-25", 4))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["treatment_outcome"]);
    // Joint punishment names its measures from the plan's list.
    let punish = |measures: &[&str]| pb::AdvanceCaseRequest {
        treatment_outcome: "JOINT_PUNISHMENT".into(),
        punishments: measures.iter().map(|m| m.to_string()).collect(),
        ..step(&hc.case_id, "TREATMENT", "2024-11-25", 4)
    };
    let e = c.cases.advance_case(authed(&bureau, punish(&[]))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["punishments"]);
    let e = c.cases.advance_case(authed(&bureau, punish(&["CREDIT_DOWNGRADE", "FINE"]))).await.unwrap_err();
    assert_eq!(violated_fields(&e), vec!["punishments[1]"]);
    let treated = c
        .cases
        .advance_case(authed(&bureau, punish(&["CREDIT_DOWNGRADE", "DIFFERENTIAL_UTILITY_PRICES"])))
        .await
        .unwrap()
        .into_inner()
        .land_case
        .unwrap();
    assert_eq!(treated.next_states, vec!["SUPERVISION", "CLOSED"]);
    assert_eq!(
        treated.punishments.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        vec!["调整信用等级", "差别化实施水、电、气收费"]
    );
    let steps = treated.explanation.unwrap().steps;
    assert!(steps.iter().any(|s| s.description == "诊治:联合惩戒" && s.source.as_ref().unwrap().clause == "附件2"));

    // Who sees what: the county's bureau sees both cases; a town only its own; another town
    // neither; not a neighbouring county.
    let all = pb::ListCasesRequest { region_code: "411702".into(), ..Default::default() };
    assert_eq!(c.cases.list_cases(authed(&bureau, all.clone())).await.unwrap().into_inner().cases.len(), 2);
    let list = c.cases.list_cases(authed(&town, all.clone())).await.unwrap().into_inner();
    assert_eq!(list.cases.iter().map(|x| x.case_id.as_str()).collect::<Vec<_>>(), vec![hc.case_id.as_str()]);
    let neighbour = unit_token(Role::Town, "411702", "新桥镇");
    assert!(c.cases.list_cases(authed(&neighbour, all)).await.unwrap().into_inner().cases.is_empty());
    let e = c.cases.get_case(authed(&neighbour, pb::GetCaseRequest { case_id: hc.case_id.clone() })).await.unwrap_err();
    assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
    let e = c
        .cases
        .open_case(authed(
            &neighbour,
            pb::OpenCaseRequest {
                kind: pb::CaseKind::HealthCheck as i32,
                region_code: "411702".into(),
                subject_id: "ENT-0092".into(),
                unit: "顾山镇".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(error_reason(&e), "UNIT_OUT_OF_SCOPE");
    let other = token(Role::NaturalResources, "411721");
    assert_eq!(
        c.cases.get_case(authed(&other, pb::GetCaseRequest { case_id: hc.case_id.clone() })).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        c.cases.get_case(authed(&bureau, pb::GetCaseRequest { case_id: "nope".into() })).await.unwrap_err().code(),
        Code::NotFound
    );
    // Every step is audited.
    let mut audit = AuditLogServiceClient::new(channel(land.addr).await);
    let entries = audit
        .list_audit_entries(authed(
            &token(Role::Auditor, "411700"),
            ListAuditEntriesRequest {
                entity: "land_case".into(),
                entity_id: case.case_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(
        entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["case.open", "case.reviewed", "case.decided", "case.notified", "case.filed"]
    );
    land.stop().await;
}

civic_testing::both_backends!(case_workflows, super::workflows);

/// A deadline counted into a year whose holiday notice the calendar lacks is refused, naming
/// the year, instead of being counted as if the year had no holidays.
#[tokio::test]
async fn deadline_past_the_calendar_is_refused() {
    let land = crate::Land::spawn(Backend::Sqlite).await;
    let mut c = land.client.clone();
    // A health check's first deadline is counted in working days from the day it opens.
    let open = |on: &str| pb::OpenCaseRequest {
        kind: pb::CaseKind::HealthCheck as i32,
        region_code: "411702".into(),
        subject_id: format!("ENT-{on}"),
        opened_on: on.into(),
        parcel: None,
        note: String::new(),
        unit: String::new(),
    };
    let tok = unit_token(Role::Town, "411702", "顾山镇");
    let ok = c.cases.open_case(authed(&tok, open("2026-06-01"))).await.unwrap().into_inner().land_case.unwrap();
    assert!(ok.deadline.starts_with("2026-06"), "{}", ok.deadline);
    let e = c.cases.open_case(authed(&tok, open("2026-12-20"))).await.unwrap_err();
    assert_eq!((e.code(), error_reason(&e).as_str()), (Code::FailedPrecondition, "CALENDAR_NOT_COVERED"), "{e:?}");
    assert!(e.message().contains("2027"), "{}", e.message());
    land.stop().await;
}
