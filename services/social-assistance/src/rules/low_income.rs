//! Low-income families (低收入家庭): per-capita income at or below the threshold (120 % of the
//! 低保 standard, 本政办发〔2019〕25号 四(三)四) and not a 低保 household.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    DomainError, Fen,
};

use super::{
    benefit::{counted_income, per_capita},
    household::{Household, Residence},
    standards,
};

#[derive(Debug, Clone)]
pub struct LowIncome {
    pub low_income: bool,
    pub threshold: Fen,
    pub per_capita_income: Fen,
    pub trace: Trace,
}

pub fn identify(
    book: &PolicyBook,
    h: &Household,
    date: NaiveDate,
    is_dibao_household: bool,
) -> Result<LowIncome, DomainError> {
    let mut trace = Trace::default();
    let key = match h.residence {
        Residence::Urban => "assistance.low_income.urban",
        Residence::Rural => "assistance.low_income.rural",
    };
    let t = standards::monthly(book, key, h.region, date)?;
    let income = counted_income(book, h, date, &mut trace)?;
    let pc = per_capita(income, h.size());
    let below = pc <= t.per_person;
    let low_income = below && !is_dibao_household;
    let mut formula = match &t.resolved.derivation {
        Some(d) => format!("界定标准 = {} ({d})", t.resolved.rule.clone().unwrap_or_default()),
        None => format!("界定标准 {}", t.resolved.value),
    };
    if !t.conversion.is_empty() {
        formula.push_str(&format!(";按月 {}", t.conversion));
    }
    trace.push(Step {
        rule_id: "low_income.threshold".into(),
        description: format!("{}低收入家庭界定标准", h.residence.chinese()),
        formula,
        result: format!("{}/人·月", t.per_person.yuan_text()),
        parameters: t.uses.clone(),
        source: Some(book.rule_source("low_income.threshold", h.region, date)?),
    });
    let verdict = match (below, is_dibao_household) {
        (true, false) => "属于低收入家庭",
        (true, true) => "人均收入在界定标准内,但已是低保家庭,不另认定",
        (false, _) => "人均收入高于界定标准,不属于低收入家庭",
    };
    trace.push(Step {
        rule_id: "low_income.threshold".into(),
        description: "人均收入不高于界定标准且不属于低保家庭".into(),
        formula: format!(
            "{} ÷ {} = {} {} {}",
            income.yuan_text(),
            h.size(),
            pc.yuan_text(),
            if below { "≤" } else { ">" },
            t.per_person.yuan_text()
        ),
        result: verdict.into(),
        parameters: vec![],
        source: Some(book.rule_source("low_income.threshold", h.region, date)?),
    });
    // A household below the 低保 standard itself may qualify for 低保 rather than low-income status.
    let dibao = standards::dibao(book, h.residence, h.region, date)?;
    if low_income && pc < dibao.per_person {
        trace.push(Step {
            rule_id: "dibao.gap_payment".into(),
            description: "人均收入低于低保标准:可申请最低生活保障".into(),
            formula: format!("{} < {}", pc.yuan_text(), dibao.per_person.yuan_text()),
            result: "符合低保收入条件".into(),
            parameters: dibao.uses,
            source: Some(book.rule_source("dibao.gap_payment", h.region, date)?),
        });
    }
    Ok(LowIncome { low_income, threshold: t.per_person, per_capita_income: pc, trace })
}
