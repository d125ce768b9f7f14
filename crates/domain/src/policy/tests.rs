//! The policy book against the real `policies/` files: every figure of the 25号 table, before
//! and after 2019-07-01, for the regions the document names.

use super::*;
use crate::policy_files::PolicyFiles;

/// Every file of the repository's `policies/`, read as the services read it: the directory's
/// value and calendar files, whatever they are, not a list kept by hand.
pub(crate) fn real_files() -> PolicyFiles {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let read = |rel: &str| (rel.to_string(), std::fs::read_to_string(root.join(rel)).unwrap());
    let all = |sub: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        names.sort();
        names.iter().map(|n| read(&format!("{sub}/{n}"))).collect::<Vec<_>>()
    };
    PolicyFiles {
        regions: read("regions.csv"),
        calendars: all("calendar"),
        definitions: read("definitions.csv"),
        documents: read("documents.csv"),
        rules: read("rules.csv"),
        values: all("values"),
        publishing: Some(read("publishing.csv")),
    }
}

#[test]
fn every_value_file_is_read() {
    let files = real_files();
    let on_disk = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/values"))
        .unwrap()
        .count();
    assert_eq!(files.values.len(), on_disk);
    assert!(files.values.len() >= 6);
}

fn book() -> PolicyBook {
    PolicyBook::from_files(&real_files()).unwrap()
}

fn d(s: &str) -> NaiveDate {
    parse_date(s).unwrap()
}

#[test]
fn dates_are_strict_iso() {
    assert_eq!(d("2019-07-01"), NaiveDate::from_ymd_opt(2019, 7, 1).unwrap());
    assert_eq!(d(" 2024-02-29 "), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    assert_eq!(d("0001-01-01"), NaiveDate::from_ymd_opt(1, 1, 1).unwrap());
    for bad in [
        "2023-02-29",
        "2019-13-01",
        "2019-00-10",
        "2019-07-00",
        "2019-7-001",
        "+201-07-01",
        "2019-07-0a",
        "2019/07/01",
        "20190701",
        "",
        "２０１９-07-01",
        "2019-07-01T00",
    ] {
        assert!(matches!(parse_date(bad), Err(DomainError::InvalidDate(s)) if s == bad), "{bad}");
    }
}

fn v(book: &PolicyBook, key: &str, region: &str, date: &str) -> Decimal {
    book.value(key, RegionCode::parse(region).unwrap(), d(date)).unwrap().value
}

const BEFORE: &str = "2019-06-30";
const AFTER: &str = "2019-07-01";

/// (clause, key, region, before, after): the 14 rows × 2 dates of 本政办发〔2019〕25号.
const TABLE: &[(&str, &str, &str, &str, &str)] = &[
    ("一(一)1", "assistance.dibao.urban", "210502", "583", "622"),
    ("一(一)1", "assistance.dibao.urban", "210521", "533", "622"),
    ("一(一)2", "assistance.dibao.rural", "210500", "4452", "5004"),
    ("一(二)", "assistance.tekun.urban", "210503", "875", "933"),
    ("一(二)", "assistance.tekun.urban", "210522", "800", "933"),
    ("一(二)", "assistance.tekun.rural", "210521", "668", "751"),
    ("一(三)", "assistance.orphan.institutional", "210500", "1800", "1890"),
    ("一(三)", "assistance.orphan.urban_scattered", "210504", "1570", "1680"),
    ("一(三)", "assistance.orphan.rural_scattered", "210522", "1320", "1415"),
    ("一(三)", "assistance.orphan.adult_student_supplement", "210505", "330", "350"),
    ("一(四)", "assistance.retiree_1960s.tier1", "210500", "405", "434"),
    ("一(四)", "assistance.retiree_1960s.tier2", "210500", "439", "470"),
    ("一(四)", "assistance.retiree_1960s.tier3", "210500", "473", "507"),
    ("一(四)", "assistance.retiree_1960s.tier4", "210500", "506", "542"),
];

#[test]
fn all_28_figures_of_25hao() {
    let b = book();
    for (clause, key, region, before, after) in TABLE {
        assert_eq!(v(&b, key, region, BEFORE), before.parse::<Decimal>().unwrap(), "{clause} {key} {region} before");
        assert_eq!(v(&b, key, region, AFTER), after.parse::<Decimal>().unwrap(), "{clause} {key} {region} after");
        let r = b.value(key, RegionCode::parse(region).unwrap(), d(AFTER)).unwrap();
        assert_eq!(r.source.document, "本政办发〔2019〕25号");
        assert!(r.source.clause.starts_with(clause), "{key}: {}", r.source.clause);
    }
}

#[test]
fn high_tech_zone_follows_the_districts() {
    let b = book();
    assert_eq!(v(&b, "assistance.dibao.urban", "210571", BEFORE), Decimal::from(583));
    assert_eq!(v(&b, "assistance.tekun.urban", "210571", BEFORE), Decimal::from(875));
}

#[test]
fn derived_standards_show_their_arithmetic() {
    let b = book();
    let r = b.value("assistance.tekun.urban", RegionCode::parse("210502").unwrap(), d(BEFORE)).unwrap();
    assert_eq!(r.derivation.as_deref(), Some("1.5 × 583 = 874.5 → 875 (四舍五入到 1)"));
    assert_eq!(r.operands[0].key, "assistance.dibao.urban");
    assert_eq!(r.source.effective_to, Some(d(BEFORE)));
    let r = b.value("assistance.tekun.rural", RegionCode::parse("210521").unwrap(), d(AFTER)).unwrap();
    assert_eq!(r.derivation.as_deref(), Some("1.8 × 5004 ÷ 12 = 750.6 → 751 (四舍五入到 1)"));
    assert_eq!(r.uses().len(), 2);
}

#[test]
fn low_income_thresholds_are_120_percent() {
    let b = book();
    assert_eq!(v(&b, "assistance.low_income.urban", "210521", AFTER), "746.4".parse::<Decimal>().unwrap());
    assert_eq!(v(&b, "assistance.low_income.rural", "210500", AFTER), "6004.8".parse::<Decimal>().unwrap());
    assert!(b.value("assistance.low_income.urban", RegionCode::parse("210521").unwrap(), d(BEFORE)).is_err());
}

#[test]
fn a_published_figure_that_disagrees_with_its_rule_stops_loading() {
    let mut files = real_files();
    files.values[0].1 = files.values[0].1.replacen(",800,1.5", ",801,1.5", 1);
    let err = PolicyBook::from_files(&files).unwrap_err().to_string();
    assert!(err.contains("publishes 801"), "{err}");
    assert!(err.contains("values/benxi-assistance.csv:"), "{err}");
}

#[test]
fn bad_value_names_file_and_line() {
    let mut files = real_files();
    files.values[0].1 = files.values[0].1.replacen(",583,", ",58x,", 1);
    let err = PolicyBook::from_files(&files).unwrap_err().to_string();
    assert!(err.starts_with("values/benxi-assistance.csv:6:"), "{err}");
}

#[test]
fn nothing_in_force_before_the_first_entry() {
    let b = book();
    let e = b
        .value("land.farmland.illegal_ratio.warning", RegionCode::parse("411221").unwrap(), d("2016-12-31"))
        .unwrap_err();
    assert!(matches!(e, DomainError::NoValueInForce { .. }));
    assert_eq!(
        v(&b, "land.farmland.illegal_ratio.warning", "411221", "2017-01-01"),
        "0.10".parse::<Decimal>().unwrap()
    );
    // Benxi has no land thresholds: they are Sanmenxia's.
    assert!(b
        .value("land.farmland.illegal_ratio.warning", RegionCode::parse("210521").unwrap(), d("2020-01-01"))
        .is_err());
}

#[test]
fn nothing_before_the_date_a_figure_is_documented() {
    // 25号 is dated 2019-05-30 and quotes the old figures as current; earlier they are unknown.
    let b = book();
    assert_eq!(v(&b, "assistance.dibao.urban", "210502", "2019-05-30"), Decimal::from(583));
    let e = b.value("assistance.dibao.urban", RegionCode::parse("210502").unwrap(), d("2019-05-29")).unwrap_err();
    assert!(matches!(e, DomainError::NoValueInForce { .. }));
    let r = b.value("assistance.dibao.urban", RegionCode::parse("210502").unwrap(), d("2019-06-01")).unwrap();
    assert!(r.source.note.contains("documented as in force on 2019-05-30"), "{}", r.source.note);
}

#[test]
fn history_lists_each_version_once() {
    let b = book();
    let h = b.history("assistance.tekun.urban", RegionCode::parse("210521").unwrap()).unwrap();
    let values: Vec<String> = h.iter().map(|r| r.value.to_string()).collect();
    assert_eq!(values, vec!["800", "933"]);
}

#[test]
fn calendar_covers_2019_onward() {
    let b = book();
    let (first, last) = b.calendar.covered_years().unwrap();
    assert!(first <= 2019 && last >= 2026);
    assert!(b.calendar.is_working_day(d("2026-02-14"))); // 春节调休 Saturday
    assert!(!b.calendar.is_working_day(d("2026-10-01")));
}

#[test]
fn rules_are_cited_by_the_jurisdiction_that_states_them() {
    let b = book();
    let r = |id: &str, region: &str, date: &str| {
        b.rule(id, RegionCode::parse(region).unwrap(), d(date)).map(|c| c.document.clone())
    };
    // Benxi's own notice for Benxi and its counties; national law everywhere.
    assert_eq!(r("dibao.standard", "210521", "2019-07-01").unwrap(), "本政办发〔2019〕25号");
    assert_eq!(r("dibao.gap_payment", "411702", "2019-07-01").unwrap(), "国务院令第649号");
    // Another city has no rule of its own: an error, never Benxi's citation.
    assert!(matches!(r("dibao.standard", "411702", "2019-07-01"), Err(DomainError::NoRuleInForce { .. })));
    // 驻马店 cites its own 2021 document; Benxi, in 2019 or later, the national one.
    assert_eq!(r("budget.ex_ante.cost", "411702", "2022-01-01").unwrap(), "驻政〔2020〕37号");
    assert_eq!(r("budget.ex_ante.cost", "411702", "2020-01-01").unwrap(), "中发〔2018〕34号");
    assert_eq!(r("budget.ex_ante.cost", "210500", "2019-07-01").unwrap(), "中发〔2018〕34号");
    assert!(r("budget.ex_ante.cost", "210500", "2017-01-01").is_err());
}
