//! A year's kept per-mu results in figures, for the budget's 效益 indicators (亩均税收, 亩均增加值
//! …): how many enterprises were evaluated and in which class, and each measure's mean over the
//! evaluated enterprises that have a figure for it, with every enterprise left out and why. The
//! means are this system's summary (rule `land.per_mu.summary`), not a figure of the scheme.

use std::collections::{BTreeMap, BTreeSet};

use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    DomainError,
};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::store::records::{EnterpriseYear, StoredResult};

/// Places a mean keeps (half away from zero).
pub const MEAN_PLACES: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub name: String,
    pub enterprises: i64,
    pub sum: Decimal,
    pub mean: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub enterprise_id: String,
    /// "" when left out of the whole summary.
    pub measure: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// A/B/C/D and UNRATED.
    pub by_class: BTreeMap<String, i64>,
    pub measures: Vec<Measure>,
    pub left_out: Vec<LeftOut>,
}

/// Summarize `results` (the kept results of one scheme) with the year's `figures`. Err names a
/// measure whose sum does not fit.
pub fn summarize(results: &[StoredResult], figures: &[EnterpriseYear]) -> Result<Summary, String> {
    let by_id: BTreeMap<&str, &EnterpriseYear> = figures.iter().map(|e| (e.enterprise_id.as_str(), e)).collect();
    let evaluated: BTreeSet<&str> = results.iter().map(|r| r.enterprise_id.as_str()).collect();
    let mut summary = Summary::default();
    for r in results {
        let class = if r.class.is_empty() { "UNRATED" } else { r.class.as_str() };
        *summary.by_class.entry(class.to_string()).or_default() += 1;
        if r.class.is_empty() {
            summary.left_out.push(LeftOut {
                enterprise_id: r.enterprise_id.clone(),
                measure: String::new(),
                reason: format!("不参评,不计入类别:{}", r.note),
            });
        }
    }
    // Every measure any evaluated enterprise reported, in name order.
    let names: BTreeSet<&str> = results
        .iter()
        .filter_map(|r| by_id.get(r.enterprise_id.as_str()))
        .flat_map(|e| e.values.keys().map(String::as_str))
        .collect();
    for name in names {
        let mut sum = Decimal::ZERO;
        let mut n: i64 = 0;
        for r in results {
            match by_id.get(r.enterprise_id.as_str()).and_then(|e| e.values.get(name).copied().flatten()) {
                Some(v) => {
                    sum = sum.checked_add(v).ok_or_else(|| format!("{name}: the sum is too large"))?;
                    n += 1;
                }
                None => summary.left_out.push(LeftOut {
                    enterprise_id: r.enterprise_id.clone(),
                    measure: name.to_string(),
                    reason: format!("无{name}数据,不计入其平均值"),
                }),
            }
        }
        let mean = match n {
            0 => None,
            _ => {
                let mut mean = sum
                    .checked_div(Decimal::from(n))
                    .ok_or_else(|| format!("{name}: the mean cannot be computed"))?
                    .round_dp_with_strategy(MEAN_PLACES, RoundingStrategy::MidpointAwayFromZero);
                // Always shown with its four places.
                mean.rescale(MEAN_PLACES);
                Some(mean)
            }
        };
        summary.measures.push(Measure { name: name.to_string(), enterprises: n, sum, mean });
    }
    for e in figures.iter().filter(|e| !evaluated.contains(e.enterprise_id.as_str())) {
        summary.left_out.push(LeftOut {
            enterprise_id: e.enterprise_id.clone(),
            measure: String::new(),
            reason: "有当年数据但无该方案保存的评价结果(导入晚于评价),不计入".into(),
        });
    }
    Ok(summary)
}

/// The summary's explanation: the class counts and each mean as computed, cited to the rule.
pub fn explain(
    book: &PolicyBook,
    region: civic_domain::RegionCode,
    on: chrono::NaiveDate,
    scheme: &str,
    s: &Summary,
) -> Result<Trace, DomainError> {
    let rule = book.rule_source("land.per_mu.summary", region, on)?;
    let mut trace = Trace::default();
    let classes: Vec<String> = s.by_class.iter().map(|(c, n)| format!("{c} {n}")).collect();
    trace.push(Step {
        rule_id: "land.per_mu.summary".into(),
        description: format!("按方案“{scheme}”保存的评价结果计各类企业数"),
        formula: String::new(),
        result: classes.join(","),
        parameters: vec![],
        source: Some(rule.clone()),
    });
    for m in &s.measures {
        trace.push(Step {
            rule_id: "land.per_mu.summary".into(),
            description: format!(
                "{}平均值 = 有该数据的参评企业{}之和 ÷ 企业数,保留{MEAN_PLACES}位小数(四舍五入)",
                m.name, m.name
            ),
            formula: format!("{} ÷ {}", m.sum, m.enterprises),
            result: m.mean.map(|d| d.to_string()).unwrap_or_else(|| "无数据".into()),
            parameters: vec![],
            source: Some(rule.clone()),
        });
    }
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, class: &str) -> StoredResult {
        StoredResult {
            enterprise_id: id.into(),
            region: "411702".into(),
            score: String::new(),
            rank: 0,
            class: class.into(),
            note: if class.is_empty() { "缺失不参评".into() } else { String::new() },
            evaluated_at: String::new(),
        }
    }

    fn figures(id: &str, values: &[(&str, Option<&str>)]) -> EnterpriseYear {
        EnterpriseYear {
            enterprise_id: id.into(),
            name: id.into(),
            region: civic_domain::RegionCode::parse("411702").unwrap(),
            values: values.iter().map(|(k, v)| (k.to_string(), v.map(|s| s.parse().unwrap()))).collect(),
            row: 0,
        }
    }

    #[test]
    fn means_over_those_with_a_figure_and_everyone_left_out_named() {
        let results = [result("E1", "A"), result("E2", "B"), result("E3", "")];
        let figs = [
            figures("E1", &[("亩均税收", Some("10")), ("亩均增加值", Some("100"))]),
            figures("E2", &[("亩均税收", Some("12.5")), ("亩均增加值", None)]),
            figures("E3", &[("亩均税收", Some("0.01")), ("亩均增加值", Some("1"))]),
            figures("E4", &[("亩均税收", Some("99"))]),
        ];
        let s = summarize(&results, &figs).unwrap();
        assert_eq!(s.by_class, BTreeMap::from([("A".into(), 1), ("B".into(), 1), ("UNRATED".into(), 1)]));
        let tax = s.measures.iter().find(|m| m.name == "亩均税收").unwrap();
        // (10 + 12.5 + 0.01) ÷ 3 = 7.50333… → 7.5033
        assert_eq!(
            (tax.enterprises, tax.sum.to_string(), tax.mean.unwrap().to_string()),
            (3, "22.51".into(), "7.5033".into())
        );
        let va = s.measures.iter().find(|m| m.name == "亩均增加值").unwrap();
        assert_eq!((va.enterprises, va.mean.unwrap().to_string()), (2, "50.5000".into()));
        let out: Vec<(&str, &str)> =
            s.left_out.iter().map(|l| (l.enterprise_id.as_str(), l.measure.as_str())).collect();
        assert_eq!(out, [("E3", ""), ("E2", "亩均增加值"), ("E4", "")]);
    }

    #[test]
    fn halves_round_away_from_zero() {
        let results = [result("E1", "A"), result("E2", "A")];
        let figs = [figures("E1", &[("m", Some("0.00001"))]), figures("E2", &[("m", Some("0"))])];
        // 0.00001 ÷ 2 = 0.000005 → 0.0000 at four places; 0.0001 ÷ 2 = 0.00005 → 0.0001.
        assert_eq!(summarize(&results, &figs).unwrap().measures[0].mean.unwrap().to_string(), "0.0000");
        let figs = [figures("E1", &[("m", Some("0.0001"))]), figures("E2", &[("m", Some("0"))])];
        assert_eq!(summarize(&results, &figs).unwrap().measures[0].mean.unwrap().to_string(), "0.0001");
    }
}
