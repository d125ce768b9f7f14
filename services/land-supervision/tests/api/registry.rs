use civic_proto::land::v1::{self as pb};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, error_reason, token, violated_fields};
use tonic::Code;

async fn dynamic_zero(backend: Backend) {
    let land = crate::Land::spawn(backend).await;
    let mut c = land.client.clone();
    let wuyang = token(Role::NaturalResources, "411121");
    let linying = token(Role::NaturalResources, "411122");
    let entry = |region: &str, name: &str, disposition: &str, found_by: &str| pb::RegisterSanluanwuRequest {
        entry: Some(pb::SanluanwuEntry {
            region_code: region.into(),
            name: name.into(),
            sector: "INDUSTRIAL".into(),
            trade: "砂石料场".into(),
            disposition: disposition.into(),
            found_by: found_by.into(),
            found_on: "2020-08-01".into(),
            ..Default::default()
        }),
        reason: "漯发〔2020〕13号 动态清零排查".into(),
    };
    let a = c
        .sanluanwu
        .register_sanluanwu(authed(&wuyang, entry("411121", "甲砂石料场", "BAN", "LOCAL")))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    let b = c
        .sanluanwu
        .register_sanluanwu(authed(&wuyang, entry("411121", "乙木材加工", "RELOCATE", "HIGHER_INSPECTION")))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    c.sanluanwu.register_sanluanwu(authed(&linying, entry("411122", "丙水泥预制", "RECTIFY", "LOCAL"))).await.unwrap();
    // A county registers only its own; bad input names the field.
    assert_eq!(
        c.sanluanwu
            .register_sanluanwu(authed(&wuyang, entry("411122", "丁", "BAN", "LOCAL")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let mut bad = entry("411121", "戊", "BAN", "LOCAL");
    bad.entry.as_mut().unwrap().sector = "MINING".into();
    assert_eq!(
        violated_fields(&c.sanluanwu.register_sanluanwu(authed(&wuyang, bad)).await.unwrap_err()),
        vec!["entry.sector"]
    );
    // Closing entries: versioned, dated after they were found.
    let done = |id: &str, v: i64, on: &str| pb::UpdateSanluanwuRequest {
        entry_id: id.into(),
        expected_version: v,
        disposition: String::new(),
        status: "DONE".into(),
        done_on: on.into(),
        reason: "取缔到位".into(),
    };
    assert_eq!(
        violated_fields(
            &c.sanluanwu.update_sanluanwu(authed(&wuyang, done(&a.entry_id, 1, "2020-07-01"))).await.unwrap_err()
        ),
        vec!["done_on"]
    );
    c.sanluanwu.update_sanluanwu(authed(&wuyang, done(&a.entry_id, 1, "2020-09-30"))).await.unwrap();
    assert_eq!(
        error_reason(
            &c.sanluanwu.update_sanluanwu(authed(&wuyang, done(&a.entry_id, 1, "2020-10-01"))).await.unwrap_err()
        ),
        "VERSION_CONFLICT"
    );
    let city = token(Role::NaturalResources, "411100");
    let t = c
        .sanluanwu
        .sanluanwu_tally(authed(&city, pb::SanluanwuTallyRequest { region_code: "411100".into() }))
        .await
        .unwrap()
        .into_inner()
        .counties;
    let wy = t.iter().find(|x| x.region_code == "411121").unwrap();
    assert_eq!(
        (wy.open, wy.done, wy.cleared_to_zero, wy.higher_inspection_found, wy.higher_inspection_open),
        (1, 1, false, 1, 1)
    );
    assert_eq!(wy.open_by_disposition.get("RELOCATE").copied(), Some(1));
    assert_eq!(wy.region_name, "舞阳县");
    c.sanluanwu.update_sanluanwu(authed(&wuyang, done(&b.entry_id, 1, "2020-12-31"))).await.unwrap();
    let t = c
        .sanluanwu
        .sanluanwu_tally(authed(&city, pb::SanluanwuTallyRequest { region_code: "411100".into() }))
        .await
        .unwrap()
        .into_inner()
        .counties;
    let wy = t.iter().find(|x| x.region_code == "411121").unwrap();
    assert!(wy.cleared_to_zero);
    assert_eq!((wy.higher_inspection_found, wy.higher_inspection_open), (1, 0));
    assert!(!t.iter().find(|x| x.region_code == "411122").unwrap().cleared_to_zero);
    let open = c
        .sanluanwu
        .list_sanluanwu(authed(
            &city,
            pb::ListSanluanwuRequest { region_code: "411100".into(), status: "OPEN".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.entries.len(), 1);
    land.stop().await;
}

civic_testing::both_backends!(dynamic_zero, super::dynamic_zero);
