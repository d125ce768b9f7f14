//! The roll as records: a household with its category, status and approved benefit.

use chrono::NaiveDate;
use civic_domain::Fen;
use serde::Deserialize;

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

/// A stored member of `households.members_json`, read in either of its two forms: the compact
/// array written since 2026-12 (`["m1",37,false,true,[["wage",165800]]]`: id, age, able-bodied,
/// income proof, incomes — trailing incomes left out when there are none) and the object form
/// written before (`{"id":"m1","age":37,"able":false,"proof":true,"incomes":[…]}`). Serde reads a
/// struct from an array field by field in this order, with the defaults where an array ends.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredMember {
    #[serde(default)]
    pub id: String,
    pub age: u32,
    #[serde(default)]
    pub able: bool,
    #[serde(default)]
    pub proof: bool,
    #[serde(default)]
    pub incomes: Vec<(String, i64)>,
}

/// A household's members in the compact stored form (about half the object form's size: the
/// roll's largest column, written by every import and read by every what-if load).
pub fn members_to_json(h: &Household) -> String {
    let mut out = String::with_capacity(16 + 48 * h.members().len());
    write_members_json(&mut out, h);
    out
}

/// [`members_to_json`] appended to `out`.
pub fn write_members_json(out: &mut String, h: &Household) {
    use std::fmt::Write as _;
    fn string(out: &mut String, s: &str) {
        // A JSON string: as serde_json writes it (which escapes '"', '\\' and control
        // characters); most ids and kinds need none of that and are copied as they are.
        if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            match serde_json::to_string(s) {
                Ok(q) => out.push_str(&q),
                Err(_) => out.push_str("\"\""),
            }
        } else {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
    }
    out.push('[');
    for (i, m) in h.members().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        string(out, &m.id);
        let _ = write!(out, ",{},{},{}", m.age, m.able_bodied, m.has_income_proof);
        if !m.incomes.is_empty() {
            out.push_str(",[");
            for (j, inc) in m.incomes.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('[');
                string(out, &inc.kind);
                let _ = write!(out, ",{}]", inc.monthly.get());
            }
            out.push(']');
        }
        out.push(']');
    }
    out.push(']');
}

pub fn members_from_json(s: &str) -> Result<Vec<Member>, serde_json::Error> {
    Ok(members_from_stored(serde_json::from_str(s)?))
}

pub fn members_from_stored(v: Vec<StoredMember>) -> Vec<Member> {
    v.into_iter()
        .map(|m| Member {
            id: m.id,
            age: m.age,
            able_bodied: m.able,
            has_income_proof: m.proof,
            incomes: m.incomes.into_iter().map(|(kind, fen)| Income { kind, monthly: Fen::new(fen) }).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use civic_domain::RegionCode;

    use crate::rules::household::Residence;

    fn household() -> Household {
        let member = |id: &str, age, able, proof, incomes: &[(&str, i64)]| Member {
            id: id.into(),
            age,
            able_bodied: able,
            has_income_proof: proof,
            incomes: incomes.iter().map(|(k, f)| Income { kind: k.to_string(), monthly: Fen::new(*f) }).collect(),
        };
        let members = vec![
            member("m0", 37, false, true, &[("wage", 165_800), ("奖励\"\\", 1)]),
            member("", 23, true, false, &[]),
            member("张三", 130, false, false, &[("pension", 0)]),
        ];
        Household::new("H1".into(), RegionCode::parse("210502").unwrap(), Residence::Urban, members, "h").unwrap()
    }

    #[test]
    fn members_are_stored_compactly_and_read_back_whole() {
        let h = household();
        let json = members_to_json(&h);
        assert_eq!(
            json,
            r#"[["m0",37,false,true,[["wage",165800],["奖励\"\\",1]]],["",23,true,false],["张三",130,false,false,[["pension",0]]]]"#
        );
        assert_eq!(members_from_json(&json).unwrap(), h.members().to_vec());
    }

    #[test]
    fn members_stored_as_objects_before_are_still_read() {
        let old = r#"[{"id":"m0","age":37,"able":false,"proof":true,"incomes":[["wage",165800],["奖励\"\\",1]]},{"age":23,"able":true},{"id":"张三","age":130,"incomes":[["pension",0]]}]"#;
        assert_eq!(members_from_json(old).unwrap(), household().members().to_vec());
    }
}
