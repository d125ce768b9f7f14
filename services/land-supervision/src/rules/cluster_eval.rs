//! Cluster land-efficiency evaluation (产业集聚区土地高效利用评价, 驻政〔2020〕37号 附件3 四(十三)):
//! clusters are scored and classed under a configurable scheme (the same machinery as the per-mu
//! evaluation); a good result (class A) earns extra new construction-land quota and priority for
//! adjusting, expanding and upgrading the cluster; a poor one (class D) cuts the quota and
//! suspends new construction-land approvals. The seeds name the measures, not the amounts: the
//! quota changes are parameters a region publishes (`land.cluster_eval.reward_quota_mu`,
//! `land.cluster_eval.cut_quota_mu`); until it does, the change is reported as not determined.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::{PolicyBook, Resolved},
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::per_mu::Class;

const RULE: &str = "land.cluster.efficiency_evaluation";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Reward,
    None,
    Penalty,
    Unrated,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Reward => "REWARD",
            Outcome::None => "NONE",
            Outcome::Penalty => "PENALTY",
            Outcome::Unrated => "UNRATED",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Outcome::Reward => "评价结果好:奖励",
            Outcome::None => "评价结果一般",
            Outcome::Penalty => "评价结果差:惩戒",
            Outcome::Unrated => "未参评",
        }
    }

    pub fn parse(code: &str) -> Option<Outcome> {
        [Outcome::Reward, Outcome::None, Outcome::Penalty, Outcome::Unrated].into_iter().find(|o| o.code() == code)
    }
}

#[derive(Debug, Clone)]
pub struct Consequence {
    pub outcome: Outcome,
    pub measures: Vec<String>,
    /// Positive for a reward, negative for a cut; None when the amount is not published.
    pub quota_change: Option<Decimal>,
    pub expansion_priority: bool,
    pub approvals_suspended: bool,
}

/// The quota amounts in force for `region` on `on` (either may be unpublished).
pub struct Amounts {
    pub reward: Option<Resolved>,
    pub cut: Option<Resolved>,
}

pub fn amounts(book: &PolicyBook, region: RegionCode, on: NaiveDate) -> Result<Amounts, DomainError> {
    Ok(Amounts {
        reward: book.value_if_in_force("land.cluster_eval.reward_quota_mu", region, on)?,
        cut: book.value_if_in_force("land.cluster_eval.cut_quota_mu", region, on)?,
    })
}

/// What a class brings.
pub fn consequence(class: Option<Class>, a: &Amounts) -> Consequence {
    match class {
        Some(Class::A) => Consequence {
            outcome: Outcome::Reward,
            measures: vec!["给予新增建设用地指标奖励".into(), "优先支持调区、扩区和升级".into()],
            quota_change: a.reward.as_ref().map(|r| r.value),
            expansion_priority: true,
            approvals_suspended: false,
        },
        Some(Class::D) => Consequence {
            outcome: Outcome::Penalty,
            measures: vec!["核减新增建设用地指标".into(), "暂停新增建设用地审批".into()],
            quota_change: a.cut.as_ref().map(|r| -r.value),
            expansion_priority: false,
            approvals_suspended: true,
        },
        Some(Class::B | Class::C) => Consequence {
            outcome: Outcome::None,
            measures: vec![],
            quota_change: None,
            expansion_priority: false,
            approvals_suspended: false,
        },
        None => Consequence {
            outcome: Outcome::Unrated,
            measures: vec![],
            quota_change: None,
            expansion_priority: false,
            approvals_suspended: false,
        },
    }
}

/// The explanation of the outcomes: which class earns what, with the amounts in force.
pub fn explain(book: &PolicyBook, region: RegionCode, on: NaiveDate, a: &Amounts) -> Result<Trace, DomainError> {
    let src = book.rule_source(RULE, region, on)?;
    let amount =
        |r: &Option<Resolved>| r.as_ref().map(|r| format!("{} 亩", r.value)).unwrap_or_else(|| "数额未发布".into());
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: RULE.into(),
        description: "评价结果好(A 类)".into(),
        formula: format!("新增建设用地指标奖励 {};优先支持调区、扩区和升级", amount(&a.reward)),
        result: Outcome::Reward.code().into(),
        parameters: a.reward.iter().map(Resolved::to_use).collect(),
        source: Some(src.clone()),
    });
    trace.push(Step {
        rule_id: RULE.into(),
        description: "评价结果差(D 类)".into(),
        formula: format!("核减新增建设用地指标 {};暂停新增建设用地审批", amount(&a.cut)),
        result: Outcome::Penalty.code().into(),
        parameters: a.cut.iter().map(Resolved::to_use).collect(),
        source: Some(src),
    });
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_outcomes() {
        let none = Amounts { reward: None, cut: None };
        assert_eq!(consequence(Some(Class::A), &none).outcome, Outcome::Reward);
        assert!(consequence(Some(Class::A), &none).expansion_priority);
        assert_eq!(consequence(Some(Class::A), &none).quota_change, None);
        let d = consequence(Some(Class::D), &none);
        assert!(d.approvals_suspended && d.outcome == Outcome::Penalty);
        assert_eq!(consequence(Some(Class::C), &none).outcome, Outcome::None);
        assert_eq!(consequence(None, &none).outcome, Outcome::Unrated);
        for o in [Outcome::Reward, Outcome::None, Outcome::Penalty, Outcome::Unrated] {
            assert_eq!(Outcome::parse(o.code()), Some(o));
        }
    }
}
