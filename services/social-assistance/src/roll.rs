//! The roll as records: a household with its category, status and approved benefit.

use chrono::NaiveDate;
use civic_domain::Fen;
use serde::{Deserialize, Serialize};

use crate::rules::household::{Household, Income, Member};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Dibao,
    LowIncome,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Dibao => "dibao",
            Category::LowIncome => "low_income",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "dibao" | "低保" | "DIBAO" => Some(Category::Dibao),
            "low_income" | "低收入" | "LOW_INCOME" => Some(Category::LowIncome),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Active,
    Suspended,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "active" => Some(Status::Active),
            "suspended" => Some(Status::Suspended),
            "closed" => Some(Status::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RollRecord {
    pub household: Household,
    pub category: Category,
    pub status: Status,
    pub monthly_benefit: Fen,
    pub computed_on: NaiveDate,
    pub version: i64,
}

/// How members are kept in `households.members_json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredMember {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub age: u32,
    #[serde(default)]
    pub able: bool,
    #[serde(default)]
    pub proof: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomes: Vec<(String, i64)>,
}

pub fn members_to_json(h: &Household) -> String {
    let v: Vec<StoredMember> = h
        .members()
        .iter()
        .map(|m| StoredMember {
            id: m.id.clone(),
            age: m.age,
            able: m.able_bodied,
            proof: m.has_income_proof,
            incomes: m.incomes.iter().map(|i| (i.kind.clone(), i.monthly.get())).collect(),
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

pub fn members_from_json(s: &str) -> Result<Vec<Member>, serde_json::Error> {
    let v: Vec<StoredMember> = serde_json::from_str(s)?;
    Ok(v.into_iter()
        .map(|m| Member {
            id: m.id,
            age: m.age,
            able_bodied: m.able,
            has_income_proof: m.proof,
            incomes: m.incomes.into_iter().map(|(kind, fen)| Income { kind, monthly: Fen::new(fen) }).collect(),
        })
        .collect())
}
