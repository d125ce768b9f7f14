//! Goal indicators whose actuals another service keeps (§3.5 of the spec): which measure of
//! which service, in which unit, and the value read from the other service's answer. The calls
//! themselves are in `api::actuals`; this module only decides what to ask and what the answer
//! means, so a value can be recomputed from what was stored.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActualService {
    Assistance,
    Land,
}

impl ActualService {
    pub fn name(self) -> &'static str {
        match self {
            ActualService::Assistance => "social-assistance",
            ActualService::Land => "land-supervision",
        }
    }

    pub fn rpc(self) -> &'static str {
        match self {
            ActualService::Assistance => "civic.assistance.v1.SocialAssistanceService/SummarizeAssistance",
            ActualService::Land => "civic.land.v1.PerMuEvaluationService/SummarizePerMu",
        }
    }
}

/// Where a goal indicator's actual is read (kept with the goals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActualSource {
    pub service: ActualService,
    pub measure: String,
    #[serde(default)]
    pub filter: String,
    /// LAND: the evaluation year; 0 for the programme's budget year.
    #[serde(default)]
    pub year: i32,
}

/// A measure understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// Persons paid in the checkpoint's month.
    Persons,
    /// Households paid in the checkpoint's month.
    Households,
    /// Fen paid from January to the checkpoint's month.
    Paid,
    /// Enterprises with a kept per-mu result.
    Evaluated,
    /// Enterprises of one class (A–D).
    Class(String),
    /// The mean of one measure over the evaluated enterprises.
    Mean(String),
    /// 危污乱散低 campaign: verified area cleared (亩), of the region or of one town (filter).
    CampaignArea,
    /// The same against the year's target, percent.
    CampaignProgress,
    /// Parks verified as contiguously cleared.
    CampaignParks,
}

/// The gRPC method a land measure is read with: the campaign's progress, or the per-mu summary.
pub fn land_rpc(m: &Measure) -> &'static str {
    match m {
        Measure::CampaignArea | Measure::CampaignProgress | Measure::CampaignParks => {
            "civic.land.v1.CampaignService/GetCampaignProgress"
        }
        _ => ActualService::Land.rpc(),
    }
}

/// The measure of `source`, checked against the goal's `unit`; Err says what is wrong.
pub fn measure(source: &ActualSource, unit: &str) -> Result<Measure, String> {
    let m = source.measure.trim();
    let unit = unit.trim();
    let wants = |units: &[&str], m: Measure| {
        if units.contains(&unit) {
            Ok(m)
        } else {
            Err(format!("'{}' is counted in {}, not '{unit}'", source.measure, units.join(" or ")))
        }
    };
    match source.service {
        ActualService::Assistance => match m {
            "persons" => wants(&["人"], Measure::Persons),
            "households" => wants(&["户"], Measure::Households),
            "paid" => wants(&["元", "万元"], Measure::Paid),
            _ => Err(format!("'{m}': social-assistance offers persons, households or paid")),
        },
        ActualService::Land => {
            if source.year != 0 && !(2000..=2100).contains(&source.year) {
                return Err(format!("year {}: an evaluation year, or 0 for the budget year", source.year));
            }
            // The campaign's figures: the whole region, or the town named in the filter.
            match m {
                "campaign:verified_area" => return wants(&["亩"], Measure::CampaignArea),
                "campaign:progress" => return wants(&["%"], Measure::CampaignProgress),
                "campaign:parks" => return wants(&["个"], Measure::CampaignParks),
                _ => {}
            }
            if source.filter.trim().is_empty() {
                return Err(
                    "a land-supervision actual names the scheme its per-mu results were kept under (filter)".into()
                );
            }
            if m == "evaluated" {
                return wants(&["家", "个"], Measure::Evaluated);
            }
            if let Some(class) = m.strip_prefix("class:") {
                return match class {
                    "A" | "B" | "C" | "D" => wants(&["家", "个"], Measure::Class(class.to_string())),
                    _ => Err(format!("'{m}': a class is A, B, C or D")),
                };
            }
            match m.strip_prefix("mean:") {
                Some(name) if !name.trim().is_empty() => Ok(Measure::Mean(name.trim().to_string())),
                _ => Err(format!(
                    "'{m}': land-supervision offers evaluated, class:A … class:D, mean:<measure>, \
                     campaign:verified_area, campaign:progress or campaign:parks"
                )),
            }
        }
    }
}

/// One month of social-assistance's summary, as it answered.
#[derive(Debug, Clone)]
pub struct AssistanceMonth<'a> {
    pub month: &'a str,
    pub category: &'a str,
    pub households: i64,
    pub persons: i64,
    pub paid_fen: i64,
}

/// The value of an assistance measure in the goal's unit. `last_month` is the checkpoint's
/// month ("YYYY-MM"); `category` "" counts every category.
pub fn assistance_value(
    m: &Measure,
    unit: &str,
    months: &[AssistanceMonth<'_>],
    last_month: &str,
    category: &str,
) -> Result<Decimal, String> {
    let wanted = |x: &&AssistanceMonth<'_>| category.is_empty() || x.category == category;
    let sum = |f: fn(&AssistanceMonth<'_>) -> i64, only_last: bool| -> Result<i64, String> {
        months
            .iter()
            .filter(wanted)
            .filter(|x| !only_last || x.month == last_month)
            .try_fold(0i64, |acc, x| acc.checked_add(f(x)).ok_or_else(|| "the sum is too large".to_string()))
    };
    Ok(match m {
        Measure::Persons => Decimal::from(sum(|x| x.persons, true)?),
        Measure::Households => Decimal::from(sum(|x| x.households, true)?),
        Measure::Paid => {
            let fen = Decimal::from(sum(|x| x.paid_fen, false)?);
            // 元 and 万元 exactly: a fen is 0.01 元.
            let per = if unit.trim() == "万元" { Decimal::from(1_000_000) } else { Decimal::ONE_HUNDRED };
            (fen / per).normalize()
        }
        _ => return Err("not a social-assistance measure".into()),
    })
}

/// The value of a land measure from SummarizePerMu's answer.
pub fn land_value(
    m: &Measure,
    evaluated: i64,
    by_class: &std::collections::HashMap<String, i64>,
    means: &[(String, String)],
) -> Result<Decimal, String> {
    match m {
        Measure::Evaluated => Ok(Decimal::from(evaluated)),
        Measure::Class(c) => Ok(Decimal::from(by_class.get(c).copied().unwrap_or(0))),
        Measure::Mean(name) => {
            let (_, mean) = means
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| format!("the kept results have no figure '{name}'"))?;
            if mean.is_empty() {
                return Err(format!("no evaluated enterprise has a figure '{name}'"));
            }
            mean.parse::<Decimal>().map(|d| d.normalize()).map_err(|_| format!("'{mean}' is not a number"))
        }
        _ => Err("not a land-supervision measure".into()),
    }
}

/// A campaign's figures as GetCampaignProgress answered them (of the region or of one town).
pub struct CampaignFigures<'a> {
    pub verified_area_mu: &'a str,
    pub progress_percent: &'a str,
    pub verified_parks: i32,
}

/// The value of a campaign measure.
pub fn campaign_value(m: &Measure, f: &CampaignFigures<'_>) -> Result<Decimal, String> {
    let number = |s: &str| s.parse::<Decimal>().map(|d| d.normalize()).map_err(|_| format!("'{s}' is not a number"));
    match m {
        Measure::CampaignArea => number(f.verified_area_mu),
        Measure::CampaignProgress => number(f.progress_percent),
        Measure::CampaignParks => Ok(Decimal::from(f.verified_parks)),
        _ => Err("not a campaign measure".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(service: ActualService, measure: &str, filter: &str) -> ActualSource {
        ActualSource { service, measure: measure.into(), filter: filter.into(), year: 0 }
    }

    #[test]
    fn measures_and_their_units() {
        use ActualService::*;
        assert_eq!(measure(&src(Assistance, "persons", ""), "人"), Ok(Measure::Persons));
        assert!(measure(&src(Assistance, "persons", ""), "户").is_err());
        assert_eq!(measure(&src(Assistance, "paid", "dibao"), "万元"), Ok(Measure::Paid));
        assert!(measure(&src(Assistance, "recipients", ""), "人").is_err());
        assert_eq!(measure(&src(Land, "class:D", "方案"), "家"), Ok(Measure::Class("D".into())));
        assert!(measure(&src(Land, "class:E", "方案"), "家").is_err());
        assert!(measure(&src(Land, "evaluated", ""), "家").is_err(), "the scheme is required");
        assert_eq!(measure(&src(Land, "mean:亩均税收", "方案"), "万元/亩"), Ok(Measure::Mean("亩均税收".into())));
        // The campaign: no scheme needed, a town optional.
        assert_eq!(measure(&src(Land, "campaign:verified_area", ""), "亩"), Ok(Measure::CampaignArea));
        assert_eq!(measure(&src(Land, "campaign:progress", "顾山镇"), "%"), Ok(Measure::CampaignProgress));
        assert!(measure(&src(Land, "campaign:progress", ""), "亩").is_err());
        assert_eq!(measure(&src(Land, "campaign:parks", ""), "个"), Ok(Measure::CampaignParks));
        assert_eq!(land_rpc(&Measure::CampaignParks), "civic.land.v1.CampaignService/GetCampaignProgress");
        assert_eq!(land_rpc(&Measure::Evaluated), "civic.land.v1.PerMuEvaluationService/SummarizePerMu");
        let f = CampaignFigures { verified_area_mu: "280.50", progress_percent: "14.03", verified_parks: 2 };
        assert_eq!(campaign_value(&Measure::CampaignArea, &f).map(|d| d.to_string()), Ok("280.5".into()));
        assert_eq!(campaign_value(&Measure::CampaignParks, &f).map(|d| d.to_string()), Ok("2".into()));
    }

    #[test]
    fn assistance_values_in_the_goals_unit() {
        let months = [
            AssistanceMonth { month: "2024-05", category: "dibao", households: 2, persons: 5, paid_fen: 150_001 },
            AssistanceMonth { month: "2024-06", category: "dibao", households: 3, persons: 7, paid_fen: 200_000 },
            AssistanceMonth { month: "2024-06", category: "tekun", households: 1, persons: 1, paid_fen: 99_999 },
        ];
        let v = |m: Measure, unit: &str, cat: &str| {
            assistance_value(&m, unit, &months, "2024-06", cat).unwrap().to_string()
        };
        assert_eq!(v(Measure::Persons, "人", "dibao"), "7");
        assert_eq!(v(Measure::Persons, "人", ""), "8");
        assert_eq!(v(Measure::Households, "户", ""), "4");
        // 150,001 + 200,000 fen = 3,500.01 元 = 0.350001 万元.
        assert_eq!(v(Measure::Paid, "元", "dibao"), "3500.01");
        assert_eq!(v(Measure::Paid, "万元", "dibao"), "0.350001");
        assert_eq!(v(Measure::Paid, "元", ""), "4500");
    }
}
