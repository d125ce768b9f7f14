//! The farmland ratio of 三政〔2017〕20号 八(十八) on both sides of its 10 % and 15 % lines.

use civic_proto::land::v1::AssessFarmlandOccupationRequest;
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, token, violated_fields};
use tonic::Code;

#[tokio::test]
async fn farmland_ratio_outcomes_at_their_boundaries() {
    let land = crate::Land::spawn(Backend::Sqlite).await;
    let mut c = land.client.clone();
    let tok = token(Role::NaturalResources, "411200");
    let ask = |region: &str, illegal: &str, total: &str| AssessFarmlandOccupationRequest {
        region_code: region.into(),
        year: 2023,
        illegal_occupation_mu: illegal.into(),
        new_construction_occupation_mu: total.into(),
    };
    for (illegal, total, outcome, pct) in [
        ("9.99", "100", "NONE", "9.99"),
        ("10", "100", "WARNING_TALK", "10.00"),
        ("14.99", "100", "WARNING_TALK", "14.99"),
        ("15", "100", "ACCOUNTABILITY", "15.00"),
        ("1", "6.6667", "WARNING_TALK", "15.00"),
        ("0", "250.5", "NONE", "0.00"),
        ("250.5", "250.5", "ACCOUNTABILITY", "100.00"),
    ] {
        let r =
            c.land.assess_farmland_occupation(authed(&tok, ask("411221", illegal, total))).await.unwrap().into_inner();
        assert_eq!((r.outcome.as_str(), r.ratio_percent.as_str()), (outcome, pct), "{illegal}/{total}");
        let steps = r.explanation.unwrap().steps;
        assert_eq!(steps[1].parameters.len(), 2);
        assert_eq!(steps[1].source.as_ref().unwrap().document, "三政〔2017〕20号");
    }
    // 1 ÷ 6.6667 is just under 15 %: shown as 15.00 but exactly below the line.
    for (illegal, total, field) in [
        ("101", "100", "illegal_occupation_mu"),
        ("1", "0", "new_construction_occupation_mu"),
        ("-1", "100", "illegal_occupation_mu"),
        ("x", "100", "illegal_occupation_mu"),
        ("1", "", "new_construction_occupation_mu"),
    ] {
        let e = c.land.assess_farmland_occupation(authed(&tok, ask("411221", illegal, total))).await.unwrap_err();
        assert_eq!(violated_fields(&e), vec![field], "{illegal}/{total}");
    }
    // Benxi has no such thresholds in the policy book; civil-affairs may not assess; a county
    // may not assess its neighbour.
    let admin = token(Role::Admin, "000000");
    assert_eq!(
        c.land.assess_farmland_occupation(authed(&admin, ask("210521", "1", "10"))).await.unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        c.land
            .assess_farmland_occupation(authed(&token(Role::CivilAffairs, "411200"), ask("411221", "1", "10")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        c.land
            .assess_farmland_occupation(authed(&token(Role::NaturalResources, "411224"), ask("411221", "1", "10")))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    land.stop().await;
}
