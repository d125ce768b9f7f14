//! Benefits: the worked checks of the spec, persons, low income, the subsidy split, bad input.
//! Computations store nothing, so SQLite suffices.

use civic_proto::assistance::v1::{self as pb, Residence};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{fresh_database, violated_fields};
use tonic::Code;

use crate::harness::{household, member, req, t, App};

async fn benefit(
    app: &App,
    h: pb::Household,
    date: &str,
) -> Result<pb::ComputeHouseholdBenefitResponse, tonic::Status> {
    let mut c = app.client().await;
    c.compute_household_benefit(req(
        &t(Role::CivilAffairs, "210500"),
        pb::ComputeHouseholdBenefitRequest { household: Some(h), on_date: date.into() },
    ))
    .await
    .map(|r| r.into_inner())
}

#[tokio::test]
async fn worked_checks_of_the_spec() {
    let app = App::spawn(Backend::Sqlite).await;
    // 平山区, urban, 3 members, 900 yuan: July 622×3−900 = 966; June 583×3−900 = 849.
    let h = household("h1", "210502", Residence::Urban, 3, 90_000);
    assert_eq!(benefit(&app, h.clone(), "2019-07-15").await.unwrap().monthly_benefit_fen, 96_600);
    assert_eq!(benefit(&app, h.clone(), "2019-06-15").await.unwrap().monthly_benefit_fen, 84_900);
    // Boundary days.
    assert_eq!(benefit(&app, h.clone(), "2019-06-30").await.unwrap().monthly_benefit_fen, 84_900);
    assert_eq!(benefit(&app, h, "2019-07-01").await.unwrap().monthly_benefit_fen, 96_600);
    // 本溪满族自治县, urban, 2 members, no income: June 533×2 = 1066; July 1244.
    let h = household("h2", "210521", Residence::Urban, 2, 0);
    assert_eq!(benefit(&app, h.clone(), "2019-06-30").await.unwrap().monthly_benefit_fen, 106_600);
    assert_eq!(benefit(&app, h, "2019-07-01").await.unwrap().monthly_benefit_fen, 124_400);
    // Rural, 4 members, 1000 yuan, July: 5004/12 = 417; 417×4−1000 = 668.
    let b = benefit(&app, household("h3", "210522", Residence::Rural, 4, 100_000), "2019-07-01").await.unwrap();
    assert_eq!(b.monthly_benefit_fen, 66_800);
    assert_eq!(b.standard_per_person_fen, 41_700);
    // The explanation cites the standard with its document, clause and date, and the arithmetic.
    let steps = b.explanation.unwrap().steps;
    let std = steps.iter().find(|s| s.rule_id == "dibao.standard").unwrap();
    assert_eq!(std.formula, "农村低保标准(年) 5004 ÷ 12 = 417");
    let p = &std.parameters[0];
    assert_eq!((p.key.as_str(), p.value.as_str()), ("assistance.dibao.rural", "5004"));
    assert_eq!(p.source.as_ref().unwrap().effective_from, "2019-07-01");
    let gap = steps.iter().find(|s| s.rule_id == "dibao.gap_payment").unwrap();
    assert_eq!(gap.formula, "417 × 4 − 1000 = 668 元");
    assert_eq!(gap.source.as_ref().unwrap().document, "国务院令第649号");
    // Income above the standard: never below zero, and not eligible.
    let b = benefit(&app, household("h4", "210502", Residence::Urban, 1, 70_000), "2019-07-01").await.unwrap();
    assert_eq!((b.monthly_benefit_fen, b.eligible), (0, false));
    app.stop().await;
}

#[tokio::test]
async fn destitute_orphans_and_retirees() {
    let app = App::spawn(Backend::Sqlite).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210500");
    let ask = |region: &str, residence: Residence, category: pb::PersonCategory, adult: bool, tier: i32, date: &str| {
        pb::ComputePersonBenefitRequest {
            region_code: region.into(),
            residence: residence as i32,
            category: category as i32,
            adult_in_school_not_employed: adult,
            retiree_tier: tier,
            on_date: date.into(),
        }
    };
    let cases = [
        // Spec §4: urban 特困 in 210521 is 800 on 2019-06-30 and 933 on 2019-07-01.
        (ask("210521", Residence::Urban, pb::PersonCategory::Destitute, false, 0, "2019-06-30"), 80_000),
        (ask("210521", Residence::Urban, pb::PersonCategory::Destitute, false, 0, "2019-07-01"), 93_300),
        (ask("210502", Residence::Urban, pb::PersonCategory::Destitute, false, 0, "2019-06-30"), 87_500),
        (ask("210522", Residence::Rural, pb::PersonCategory::Destitute, false, 0, "2019-07-01"), 75_100),
        (ask("210502", Residence::Urban, pb::PersonCategory::OrphanUrbanScattered, false, 0, "2019-07-01"), 168_000),
        (ask("210502", Residence::Urban, pb::PersonCategory::OrphanUrbanScattered, true, 0, "2019-07-01"), 203_000),
        (ask("210522", Residence::Rural, pb::PersonCategory::OrphanRuralScattered, true, 0, "2019-06-30"), 165_000),
        (ask("210500", Residence::Urban, pb::PersonCategory::OrphanInstitutional, false, 0, "2019-07-01"), 189_000),
        (ask("210500", Residence::Urban, pb::PersonCategory::Downsized1960sRetiree, false, 3, "2019-07-01"), 50_700),
        (ask("210500", Residence::Urban, pb::PersonCategory::Downsized1960sRetiree, false, 4, "2019-06-30"), 50_600),
    ];
    for (r, expected) in cases.clone() {
        let got = c.compute_person_benefit(req(&tok, r.clone())).await.unwrap().into_inner();
        assert_eq!(got.monthly_amount_fen, expected, "{r:?}");
        assert!(!got.explanation.unwrap().steps.is_empty());
    }
    let derived = c.compute_person_benefit(req(&tok, cases[0].0.clone())).await.unwrap().into_inner();
    assert!(derived.explanation.unwrap().steps[0].formula.contains("1.5 × 533 = 799.5 → 800"));
    let bad = c
        .compute_person_benefit(req(
            &tok,
            ask("210500", Residence::Urban, pb::PersonCategory::Downsized1960sRetiree, false, 5, "2019-07-01"),
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), vec!["retiree_tier"]);
    app.stop().await;
}

#[tokio::test]
async fn low_income_is_at_most_120_percent_and_not_dibao() {
    let app = App::spawn(Backend::Sqlite).await;
    let mut c = app.client().await;
    let tok = t(Role::CivilAffairs, "210521");
    let ask = |income: i64, dibao: bool| pb::IdentifyLowIncomeRequest {
        household: Some(household("l", "210521", Residence::Urban, 1, income)),
        on_date: "2019-07-01".into(),
        is_dibao_household: dibao,
    };
    // Threshold 622 × 1.2 = 746.40: at the threshold yes, one fen above no.
    let at = c.identify_low_income(req(&tok, ask(74_640, false))).await.unwrap().into_inner();
    assert!(at.low_income);
    assert_eq!(at.threshold_per_person_fen, 74_640);
    assert!(!c.identify_low_income(req(&tok, ask(74_641, false))).await.unwrap().into_inner().low_income);
    assert!(!c.identify_low_income(req(&tok, ask(70_000, true))).await.unwrap().into_inner().low_income);
    // Rural: 6004.80 a year = 500.40 a month.
    let rural = pb::IdentifyLowIncomeRequest {
        household: Some(household("r", "210521", Residence::Rural, 2, 100_080)),
        on_date: "2019-07-01".into(),
        is_dibao_household: false,
    };
    let r = c.identify_low_income(req(&tok, rural)).await.unwrap().into_inner();
    assert_eq!((r.threshold_per_person_fen, r.per_capita_income_fen, r.low_income), (50_040, 50_040, true));
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field() {
    let app = App::spawn(Backend::Sqlite).await;
    let ok = household("x", "210502", Residence::Urban, 2, 10_000);
    let mut zero = ok.clone();
    zero.members.clear();
    let mut negative = ok.clone();
    negative.members[0].incomes[0].monthly_fen = -1;
    let mut absurd = ok.clone();
    absurd.members[0].incomes[0].monthly_fen = i64::MAX;
    let mut overflow = ok.clone();
    overflow.members = (0..50).map(|_| member(30, &[("wage", 1_000_000_000), ("pension", 1_000_000_000)])).collect();
    let mut old = ok.clone();
    old.members[1].age = 200;
    let mut unknown = ok.clone();
    unknown.region_code = "219999".into();
    let mut no_residence = ok.clone();
    no_residence.residence = 0;
    let cases: Vec<(pb::Household, &str, &str)> = vec![
        (zero, "2019-07-01", "household.members"),
        (negative, "2019-07-01", "household.members[0].incomes[0].monthly_fen"),
        (absurd, "2019-07-01", "household.members[0].incomes[0].monthly_fen"),
        (old, "2019-07-01", "household.members[1].age"),
        (unknown, "2019-07-01", "household.region_code"),
        (no_residence, "2019-07-01", "household.residence"),
        (ok.clone(), "", "on_date"),
        (ok.clone(), "2019-7-1", "on_date"),
        // Before any standard: 25号 documents the old figures from 2019-05-30 only.
        (ok.clone(), "2018-01-01", "on_date"),
    ];
    for (h, date, field) in cases {
        let e = benefit(&app, h, date).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert!(violated_fields(&e).contains(&field.to_string()), "{field}: {:?}", violated_fields(&e));
    }
    // Fifty members at the income cap: large, but computed without overflow (benefit 0).
    let b = benefit(&app, overflow, "2019-07-01").await.unwrap();
    assert_eq!(b.monthly_benefit_fen, 0);
    // A region without standards.
    let mut elsewhere = ok;
    elsewhere.region_code = "411702".into();
    let mut c = app.client().await;
    let e = c
        .compute_household_benefit(req(
            &t(Role::CivilAffairs, "000000"),
            pb::ComputeHouseholdBenefitRequest { household: Some(elsewhere), on_date: "2019-07-01".into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), vec!["on_date"]);
    app.stop().await;
}

#[tokio::test]
async fn casual_income_and_excluded_income_are_dated_parameters() {
    let app = App::spawn(Backend::Sqlite).await;
    let mut worker = member(35, &[("wage", 20_000)]);
    worker.able_bodied = true;
    worker.has_income_proof = false;
    let h = pb::Household {
        id: "c".into(),
        region_code: "210502".into(),
        residence: Residence::Urban as i32,
        members: vec![worker, member(70, &[("special_care", 50_000)])],
    };
    // No 零工收入标准 in the seeds: the caller is told to publish one.
    let e = benefit(&app, h.clone(), "2019-07-01").await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let finance = t(Role::CivilAffairs, "210500");
    let mut c = app.client().await;
    let values = [
        ("assistance.casual_income.monthly", "1200"),
        ("assistance.working_age.min", "16"),
        ("assistance.working_age.max", "60"),
        ("assistance.income_excluded.special_care", "1"),
    ];
    c.publish_standards(req(
        &finance,
        pb::PublishStandardsRequest {
            region_code: "210500".into(),
            effective_from: "2019-06-10".into(),
            document: "本民发〔2019〕1号".into(),
            title: "零工收入标准(测试)".into(),
            values: values
                .iter()
                .map(|(k, v)| pb::StandardValue {
                    key: k.to_string(),
                    region_code: "210500".into(),
                    value: v.to_string(),
                    clause: "一".into(),
                })
                .collect(),
            reason: "25号 四(三)一".into(),
            validate_only: false,
        },
    ))
    .await
    .unwrap();
    // 622 × 2 − max(200, 1200) − 0 (the special-care income is not counted) = 44.
    let b = benefit(&app, h.clone(), "2019-07-01").await.unwrap();
    assert_eq!((b.counted_income_fen, b.monthly_benefit_fen), (120_000, 4_400));
    let steps = b.explanation.unwrap().steps;
    assert!(steps.iter().any(|s| s.rule_id == "dibao.casual_income_floor" && s.formula.contains("1200")));
    assert!(steps.iter().any(|s| s.rule_id == "dibao.excluded_income"));
    // Before the casual-income standard took effect it cannot be imputed.
    assert_eq!(benefit(&app, h, "2019-06-09").await.unwrap_err().code(), Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn city_subsidy_split_is_fen_exact() {
    let app = App::spawn(Backend::Sqlite).await;
    let mut c = app.client().await;
    let f = |name: &str, w: &str, d: pb::FactorDirection| pb::SubsidyFactor {
        name: name.into(),
        weight: w.into(),
        direction: d as i32,
        ..Default::default()
    };
    let county = |code: &str, v: &[&str]| pb::CountyFactorValues {
        region_code: code.into(),
        values: v.iter().map(|s| s.to_string()).collect(),
    };
    let r = pb::SplitCitySubsidyRequest {
        region_code: "210500".into(),
        pot_fen: 100_000_001,
        factors: vec![
            f("财力", "0.3", pb::FactorDirection::LessGetsMore),
            f("保障任务", "0.4", pb::FactorDirection::MoreGetsMore),
            f("资金使用效率", "0.1", pb::FactorDirection::MoreGetsMore),
            f("工作绩效", "0.1", pb::FactorDirection::MoreGetsMore),
            f("资金滚存结余", "0.1", pb::FactorDirection::LessGetsMore),
        ],
        counties: vec![
            county("210502", &["12000", "3100", "0.92", "88", "150"]),
            county("210521", &["6000", "4200", "0.85", "91", "80"]),
            county("210522", &["5000", "3900", "0.95", "79", "60"]),
        ],
    };
    let s = c.split_city_subsidy(req(&t(Role::Finance, "210500"), r.clone())).await.unwrap().into_inner();
    assert_eq!(s.total_fen, 100_000_001);
    assert_eq!(s.counties.iter().map(|c| c.amount_fen).sum::<i64>(), 100_000_001);
    // The poorer, busier counties get more than the district.
    assert!(s.counties[1].amount_fen > s.counties[0].amount_fen);
    assert_eq!(s.explanation.unwrap().steps.len(), 6);
    let mut bad = r.clone();
    bad.factors[0].weight = "0.35".into();
    assert_eq!(
        violated_fields(&c.split_city_subsidy(req(&t(Role::Finance, "210500"), bad)).await.unwrap_err()),
        vec!["factors"]
    );
    let mut bad = r.clone();
    bad.counties[0].region_code = "411702".into();
    assert_eq!(
        violated_fields(&c.split_city_subsidy(req(&t(Role::Finance, "210500"), bad)).await.unwrap_err()),
        vec!["counties[0].region_code"]
    );
    let mut bad = r;
    bad.counties[2].values[4] = "0".into();
    assert_eq!(
        violated_fields(&c.split_city_subsidy(req(&t(Role::Finance, "210500"), bad)).await.unwrap_err()),
        vec!["counties[2].values[4]"]
    );
    app.stop().await;
}

/// Extreme values in every decimal field of the subsidy split, and extreme pots: each answer is
/// a split or a field error, never a panic (CANCELLED), INTERNAL or UNKNOWN.
#[tokio::test]
async fn extreme_values_never_panic() {
    const EXTREMES: &[&str] = &[
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "1000000000000",
        "999999999999.9999999999",
        "0.0000000001",
        "0.00000000000000000000000001",
        "0",
        "-1",
        "1e5",
    ];
    let app = App::spawn(Backend::Sqlite).await;
    let mut c = app.client().await;
    let tok = t(Role::Finance, "210500");
    let base = || pb::SplitCitySubsidyRequest {
        region_code: "210500".into(),
        pot_fen: 100_000_001,
        factors: [("a", "0.5", pb::FactorDirection::LessGetsMore), ("b", "0.5", pb::FactorDirection::MoreGetsMore)]
            .into_iter()
            .map(|(n, w, d)| pb::SubsidyFactor {
                name: n.into(),
                weight: w.into(),
                direction: d as i32,
                ..Default::default()
            })
            .collect(),
        counties: ["210502", "210521", "210522"]
            .into_iter()
            .map(|code| pb::CountyFactorValues { region_code: code.into(), values: vec!["10".into(), "20".into()] })
            .collect(),
    };
    let ok = |r: Result<tonic::Response<pb::SplitCitySubsidyResponse>, tonic::Status>| match r {
        Ok(_) => Code::Ok,
        Err(e) => e.code(),
    };
    let acceptable = |code: Code| matches!(code, Code::Ok | Code::InvalidArgument | Code::FailedPrecondition);
    for v in EXTREMES {
        for (f, i) in [(0usize, 0usize), (0, 1), (1, 0), (2, 1)] {
            let mut r = base();
            r.counties[f].values[i] = v.to_string();
            let code = ok(c.split_city_subsidy(req(&tok, r)).await);
            assert!(acceptable(code), "counties[{f}].values[{i}] = {v}: {code:?}");
        }
        for f in 0..2 {
            let mut r = base();
            r.factors[f].weight = v.to_string();
            let code = ok(c.split_city_subsidy(req(&tok, r)).await);
            assert!(acceptable(code), "factors[{f}].weight = {v}: {code:?}");
        }
        // Every county value at once.
        let mut r = base();
        for county in &mut r.counties {
            for x in &mut county.values {
                *x = v.to_string();
            }
        }
        let code = ok(c.split_city_subsidy(req(&tok, r)).await);
        assert!(acceptable(code), "all values = {v}: {code:?}");
    }
    for pot in [i64::MAX, i64::MIN, -1, 0, 1] {
        let code = ok(c.split_city_subsidy(req(&tok, pb::SplitCitySubsidyRequest { pot_fen: pot, ..base() })).await);
        assert!(acceptable(code), "pot {pot}: {code:?}");
    }
    app.stop().await;
}

/// A city added through `policies/` with its own standards but no rules of its own: its
/// benefits are refused with NO_RULE_IN_FORCE, never explained with Benxi's notice.
#[tokio::test]
async fn another_city_is_never_cited_to_benxi() {
    let book = civic_testing::PolicyCopy::new();
    book.write(
        "values/zhumadian-assistance.csv",
        "key,region,effective_from,known_from,value,rule,rounding,document,clause,note\n\
assistance.dibao.urban,411700,2021-02-15,,600,,,驻政〔2020〕37号,测试,\n\
assistance.dibao.rural,411700,2021-02-15,,5000,,,驻政〔2020〕37号,测试,\n",
    );
    let mut s = civic_testing::settings(fresh_database(Backend::Sqlite).await);
    s.policies_dir = book.dir.clone();
    let app = App::spawn_with(s, social_assistance::recalc::RecalcSettings::from_env()).await;
    let mut c = app.client().await;
    let e = c
        .compute_household_benefit(req(
            &t(Role::CivilAffairs, "411700"),
            pb::ComputeHouseholdBenefitRequest {
                household: Some(household("", "411702", pb::Residence::Urban, 2, 10_000)),
                on_date: "2022-01-01".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert_eq!(civic_testing::error_reason(&e), "NO_RULE_IN_FORCE");
    assert!(!e.message().contains("本政办发"), "{}", e.message());
    app.stop().await;
}
