//! The cap on a government guarantor's liability (3.4.3(1)), and from 2021-01-01 the legal cap
//! by fault (法释〔2020〕28号 第十七条), side by side.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};

use crate::rules::{share_floor, RuleError};

/// Who was at fault, for the legal cap.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub creditor: bool,
    pub guarantor: bool,
    pub main_contract_void: bool,
}

#[derive(Debug, Clone)]
pub struct GuaranteeCap {
    pub plan_cap: Fen,
    pub legal_cap: Option<Fen>,
    pub trace: Trace,
}

pub fn guarantee_cap(
    book: &PolicyBook,
    region: RegionCode,
    on: NaiveDate,
    unpaid: Fen,
    guaranteed: Fen,
    fault: Fault,
) -> Result<GuaranteeCap, RuleError> {
    let ratio = book.value("budget.debt.guarantee_cap.plan_ratio", region, on)?;
    let half = share_floor(unpaid, ratio.value)?;
    let plan_cap = if guaranteed < half { guaranteed } else { half };
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.debt.guarantee_cap.plan".into(),
        description: "担保责任不超过债务人不能清偿部分的二分之一,且不超过担保额(按分向下取整)".into(),
        formula: format!(
            "min({} × {} = {}, 担保额 {}) = {}",
            unpaid.yuan_text(),
            ratio.value.normalize(),
            half.yuan_text(),
            guaranteed.yuan_text(),
            plan_cap.yuan_text()
        ),
        result: plan_cap.yuan_text(),
        parameters: vec![ratio.to_use()],
        source: Some(book.rule_source("budget.debt.guarantee_cap.plan", region, on)?),
    });
    let legal_cap = match book.rule_source("budget.debt.guarantee_cap.law", region, on) {
        Ok(src) => {
            let (cap, why) = match (fault.main_contract_void, fault.creditor, fault.guarantor) {
                (false, true, true) => {
                    (crate::rules::fraction_floor(unpaid, 1, 2)?, "主合同有效,债权人与担保人均有过错:不超过二分之一")
                }
                (false, false, true) => (unpaid, "主合同有效,担保人有过错而债权人无过错:承担赔偿责任(至不能清偿部分)"),
                (false, _, false) => (Fen::ZERO, "主合同有效,担保人无过错:不承担赔偿责任"),
                (true, _, true) => {
                    (crate::rules::fraction_floor(unpaid, 1, 3)?, "主合同无效,担保人有过错:不超过三分之一")
                }
                (true, _, false) => (Fen::ZERO, "主合同无效,担保人无过错:不承担赔偿责任"),
            };
            trace.push(Step {
                rule_id: "budget.debt.guarantee_cap.law".into(),
                description: why.into(),
                formula: format!("不能清偿部分 {} → {}", unpaid.yuan_text(), cap.yuan_text()),
                result: cap.yuan_text(),
                parameters: vec![],
                source: Some(src),
            });
            Some(cap)
        }
        Err(civic_domain::DomainError::NoRuleInForce { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(GuaranteeCap { plan_cap, legal_cap, trace })
}
