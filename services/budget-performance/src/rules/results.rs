//! What an evaluation's grade means for next year's budget (结果应用, 驻政〔2020〕37号 附件2
//! 三(十); nationally 财预〔2020〕10号): the measures of the grade, each from its rule, and an
//! amount only where the region has a dated rate — otherwise an explicit "no rate", never a
//! number without a source. A proposal, not a decision.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};

use super::{grades::Grade, share_half_up, RuleError};

#[derive(Debug, Clone)]
pub struct Proposal {
    pub measures: Vec<String>,
    pub rate: Option<rust_decimal::Decimal>,
    pub amount: Option<Fen>,
    pub trace: Trace,
}

fn key(g: Grade) -> &'static str {
    match g {
        Grade::Excellent => "excellent",
        Grade::Good => "good",
        Grade::Fair => "fair",
        Grade::Poor => "poor",
    }
}

pub fn propose(
    book: &PolicyBook,
    region: RegionCode,
    date: NaiveDate,
    grade: Grade,
    base: Fen,
) -> Result<Proposal, RuleError> {
    let rule_id = format!("budget.results.{}", key(grade));
    let rule = book.rule(&rule_id, region, date)?;
    let measures: Vec<String> =
        rule.description.split('；').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: rule_id.clone(),
        description: format!("评价等级“{}”的结果应用", grade.chinese()),
        formula: measures.join("；"),
        result: grade.chinese().into(),
        parameters: vec![],
        source: Some(book.rule_source(&rule_id, region, date)?),
    });
    let rate = book.value_if_in_force(&format!("budget.results.rate.{}", key(grade)), region, date)?;
    let (rate_value, amount) = match &rate {
        Some(r) => {
            let amount = share_half_up(base, r.value)?;
            trace.push(Step {
                rule_id: "budget.results.rate".into(),
                description: "按本地区规定比例测算下年度预算调整额".into(),
                formula: format!("{} × {} = {}", base.yuan_text(), r.value.normalize(), amount.yuan_text()),
                result: amount.yuan_text(),
                parameters: vec![r.to_use()],
                source: None,
            });
            (Some(r.value), Some(amount))
        }
        None => {
            trace.push(Step {
                rule_id: "budget.results.rate".into(),
                description: "本地区未规定该等级的预算调整比例".into(),
                formula: "无比例:只提出措施，不测算金额".into(),
                result: "rate: none".into(),
                parameters: vec![],
                source: None,
            });
            (None, None)
        }
    };
    Ok(Proposal { measures, rate: rate_value, amount, trace })
}
