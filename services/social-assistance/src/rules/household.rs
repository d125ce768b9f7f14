//! A household as the rules see it: region, urban/rural, members with age, ability to work,
//! proof of income and monthly incomes by kind. Built only through `Household::new`, which
//! refuses impossible input, so the rules never meet a zero-member household or a negative income.

use civic_domain::{Fen, RegionCode};

/// The largest monthly income item accepted: 10 million yuan. Anything above is a data error.
pub const MAX_MONTHLY_INCOME: Fen = Fen::new(1_000_000_000);
pub const MAX_MEMBERS: usize = 50;
pub const MAX_AGE: u32 = 130;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Residence {
    Urban,
    Rural,
}

impl Residence {
    pub fn chinese(self) -> &'static str {
        match self {
            Residence::Urban => "城市",
            Residence::Rural => "农村",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Residence::Urban => "urban",
            Residence::Rural => "rural",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Income {
    pub kind: String,
    pub monthly: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub age: u32,
    pub able_bodied: bool,
    pub has_income_proof: bool,
    pub incomes: Vec<Income>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    pub id: String,
    pub region: RegionCode,
    pub residence: Residence,
    members: Vec<Member>,
}

/// A field path (e.g. "household.members[1].incomes[0].monthly_fen") and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Household {
    /// Check every member and income; all problems are reported at once.
    pub fn new(
        id: String,
        region: RegionCode,
        residence: Residence,
        members: Vec<Member>,
        prefix: &str,
    ) -> Result<Self, Vec<Violation>> {
        let mut v = Vec::new();
        let mut bad =
            |field: String, description: &str| v.push(Violation { field, description: description.to_string() });
        if members.is_empty() {
            bad(format!("{prefix}.members"), "a household has at least one member");
        }
        if members.len() > MAX_MEMBERS {
            bad(format!("{prefix}.members"), "more than 50 members is not a household");
        }
        let mut ids = std::collections::HashSet::new();
        for (i, m) in members.iter().enumerate() {
            if !m.id.trim().is_empty() && !ids.insert(m.id.trim()) {
                bad(format!("{prefix}.members[{i}].id"), "the same member id twice: a member is one person");
            }
            if m.age > MAX_AGE {
                bad(format!("{prefix}.members[{i}].age"), "age must be between 0 and 130");
            }
            for (j, inc) in m.incomes.iter().enumerate() {
                if inc.monthly.is_negative() {
                    bad(format!("{prefix}.members[{i}].incomes[{j}].monthly_fen"), "income must not be negative");
                } else if inc.monthly > MAX_MONTHLY_INCOME {
                    bad(
                        format!("{prefix}.members[{i}].incomes[{j}].monthly_fen"),
                        "more than 10,000,000 yuan a month is not a plausible income",
                    );
                }
                if inc.kind.trim().is_empty() {
                    bad(
                        format!("{prefix}.members[{i}].incomes[{j}].kind"),
                        "income kind is required (e.g. wage, pension)",
                    );
                }
            }
        }
        if v.is_empty() {
            Ok(Household { id, region, residence, members })
        } else {
            Err(v)
        }
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn size(&self) -> i64 {
        self.members.len() as i64
    }
}
