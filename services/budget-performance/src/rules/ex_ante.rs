//! Ex-ante assessment (事前绩效评估, 驻政〔2020〕37号 附件2 三(六)): the seven points the seed names,
//! scored with weights and conclusion bands that are region data — or brought by the request
//! with the document that sets them, since no national text gives any — and the budget asked
//! for set against the cost estimate (reported as a ratio; no text gives a threshold).

use chrono::NaiveDate;
use civic_domain::{
    explanation::{ParameterUse, SourceRef, Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::RuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Necessity,
    Economy,
    Goals,
    Feasibility,
    FundingCompliance,
    SupportMode,
    Budgeting,
}

impl Dimension {
    pub const ALL: [Dimension; 7] = [
        Dimension::Necessity,
        Dimension::Economy,
        Dimension::Goals,
        Dimension::Feasibility,
        Dimension::FundingCompliance,
        Dimension::SupportMode,
        Dimension::Budgeting,
    ];

    fn key(self) -> &'static str {
        match self {
            Dimension::Necessity => "necessity",
            Dimension::Economy => "economy",
            Dimension::Goals => "goals",
            Dimension::Feasibility => "feasibility",
            Dimension::FundingCompliance => "funding_compliance",
            Dimension::SupportMode => "support_mode",
            Dimension::Budgeting => "budgeting",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Dimension::Necessity => "立项必要性",
            Dimension::Economy => "投入经济性",
            Dimension::Goals => "绩效目标合理性",
            Dimension::Feasibility => "实施方案可行性",
            Dimension::FundingCompliance => "筹资合规性",
            Dimension::SupportMode => "财政支持方式科学性",
            Dimension::Budgeting => "预算编制合理性",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Score {
    pub dimension: Dimension,
    pub weight: Option<Decimal>,
    pub points: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Support,
    SupportAfterRevision,
    NotSupported,
}

impl Conclusion {
    pub fn chinese(self) -> &'static str {
        match self {
            Conclusion::Support => "予以支持",
            Conclusion::SupportAfterRevision => "调整完善后予以支持",
            Conclusion::NotSupported => "不予支持",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Input {
    pub scores: Vec<Score>,
    /// (support_min, revise_min) brought with the request.
    pub bands: Option<(Decimal, Decimal)>,
    pub rules_document: String,
    pub requested: Fen,
    /// The cost estimate and where it comes from.
    pub estimate: Option<(Fen, String)>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub total: Decimal,
    pub conclusion: Option<Conclusion>,
    pub ratio_percent: Option<Decimal>,
    pub findings: Vec<String>,
    pub trace: Trace,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> RuleError {
    RuleError::InputAt { field: field.into(), message: message.into() }
}

use super::two_places as two;

pub fn score(book: &PolicyBook, region: RegionCode, date: NaiveDate, input: &Input) -> Result<Outcome, RuleError> {
    let total_points = book.value("budget.score.total", region, date)?;
    for d in Dimension::ALL {
        let n = input.scores.iter().filter(|s| s.dimension == d).count();
        if n != 1 {
            return Err(bad("scores", format!("each of the seven points once: {} appears {n} times", d.chinese())));
        }
    }
    if input.scores.len() != 7 {
        return Err(bad("scores", "the seven points of 三(六), each once"));
    }
    let brought = input.scores.iter().filter(|s| s.weight.is_some()).count();
    if brought != 0 && brought != 7 {
        return Err(bad("scores", "give every weight or none (the region's then apply)"));
    }
    if (brought == 7 || input.bands.is_some()) && input.rules_document.trim().is_empty() {
        return Err(bad(
            "rules_document",
            "weights or bands brought with the request must name the document that sets them",
        ));
    }
    let request_source = |key: &str, value: Decimal, unit: &str| ParameterUse {
        key: key.into(),
        name: book.definition(key).map(|d| d.name.clone()).unwrap_or_default(),
        region: region.to_string(),
        value,
        unit: unit.into(),
        source: SourceRef {
            document: input.rules_document.trim().into(),
            note: "given with the request".into(),
            ..SourceRef::default()
        },
    };
    let mut weights = Vec::with_capacity(7);
    let mut parameters = Vec::new();
    for (i, s) in input.scores.iter().enumerate() {
        let key = format!("budget.ex_ante.weight.{}", s.dimension.key());
        let w = match s.weight {
            Some(w) => {
                parameters.push(request_source(&key, w, "points"));
                w
            }
            None => match book.value_if_in_force(&key, region, date)? {
                Some(r) => {
                    parameters.push(r.to_use());
                    r.value
                }
                None => {
                    return Err(RuleError::Forbidden {
                        reason: "NO_EX_ANTE_WEIGHTS",
                        message: format!(
                            "region {region} has no ex-ante weights in force on {date} and the request brings none \
                             (no national text gives them: bring them with the document that sets them)"
                        ),
                    })
                }
            },
        };
        if w <= Decimal::ZERO {
            return Err(bad(format!("scores[{i}].weight"), "must be positive"));
        }
        if s.points < Decimal::ZERO || s.points > w {
            return Err(bad(format!("scores[{i}].points"), format!("between 0 and the weight {w}")));
        }
        weights.push(w);
    }
    let sum: Decimal = weights.iter().sum();
    if sum != total_points.value {
        return Err(bad("scores", format!("the weights sum to {sum}, not {}", total_points.value)));
    }
    let total: Decimal = input.scores.iter().map(|s| s.points).sum();
    let mut trace = Trace::default();
    let lines: Vec<String> = input
        .scores
        .iter()
        .zip(&weights)
        .map(|(s, w)| format!("{} {}/{}", s.dimension.chinese(), s.points.normalize(), w.normalize()))
        .collect();
    trace.push(Step {
        rule_id: "budget.ex_ante.score".into(),
        description: "事前绩效评估:重点论证的七个方面".into(),
        formula: format!("{} = {}", lines.join(" + "), two(total)),
        result: two(total),
        parameters,
        source: Some(book.rule_source("budget.ex_ante.score", region, date)?),
    });
    let bands = match input.bands {
        Some((support, revise)) => {
            if !(Decimal::ZERO..=total_points.value).contains(&revise)
                || revise > support
                || support > total_points.value
            {
                return Err(bad("bands", "0 ≤ revise_min ≤ support_min ≤ the total"));
            }
            Some((
                request_source("budget.ex_ante.band.support_min", support, "points"),
                request_source("budget.ex_ante.band.revise_min", revise, "points"),
            ))
        }
        None => match (
            book.value_if_in_force("budget.ex_ante.band.support_min", region, date)?,
            book.value_if_in_force("budget.ex_ante.band.revise_min", region, date)?,
        ) {
            (Some(a), Some(b)) => Some((a.to_use(), b.to_use())),
            _ => None,
        },
    };
    let conclusion = bands.map(|(support, revise)| {
        let c = if total >= support.value {
            Conclusion::Support
        } else if total >= revise.value {
            Conclusion::SupportAfterRevision
        } else {
            Conclusion::NotSupported
        };
        trace.push(Step {
            rule_id: "budget.ex_ante.conclusion".into(),
            description: "按结论档次得出评估结论".into(),
            formula: format!(
                "{} 分:≥ {} 予以支持;≥ {} 调整完善后予以支持;以下不予支持",
                two(total),
                support.value,
                revise.value
            ),
            result: c.chinese().into(),
            parameters: vec![support, revise],
            source: None,
        });
        c
    });
    if input.requested.get() <= 0 {
        return Err(bad("requested_fen", "the budget requested is positive"));
    }
    let mut findings = Vec::new();
    let ratio = match &input.estimate {
        Some((est, source)) if est.get() > 0 => {
            let ratio = Decimal::from(input.requested.get()) * Decimal::ONE_HUNDRED / Decimal::from(est.get());
            let gap = ratio - Decimal::ONE_HUNDRED;
            if !gap.is_zero() {
                findings.push(format!(
                    "申请额{}测算 {} %",
                    if gap > Decimal::ZERO { "高于" } else { "低于" },
                    two(gap.abs())
                ));
            }
            trace.push(Step {
                rule_id: "budget.ex_ante.budget_check".into(),
                description: format!("预算编制合理性:申请额与测算额({source})之比"),
                formula: format!("{} ÷ {} = {} %", input.requested.yuan_text(), est.yuan_text(), two(ratio)),
                result: findings.first().cloned().unwrap_or_else(|| "与测算一致".into()),
                parameters: vec![],
                source: Some(book.rule_source("budget.ex_ante.budget_check", region, date)?),
            });
            Some(ratio)
        }
        Some(_) => return Err(bad("estimated_fen", "the estimate is positive")),
        None => None,
    };
    Ok(Outcome { total, conclusion, ratio_percent: ratio, findings, trace })
}
