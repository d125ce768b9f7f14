//! The explanation trace every computation returns: each rule applied and each parameter used,
//! with its document, clause and effective date, and the intermediate figures.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Where a figure or rule comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRef {
    pub document: String,
    pub title: String,
    pub clause: String,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterUse {
    pub key: String,
    pub name: String,
    pub region: String,
    pub value: Decimal,
    pub unit: String,
    pub source: SourceRef,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    pub rule_id: String,
    pub description: String,
    pub formula: String,
    pub result: String,
    pub parameters: Vec<ParameterUse>,
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub steps: Vec<Step>,
}

impl Trace {
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    pub fn step(&self, rule_id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.rule_id == rule_id)
    }
}
