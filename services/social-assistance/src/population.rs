//! Population runs: the whole roll of a region computed under a scenario (a policy book and a
//! date) at once, without traces, for what-if reforms and funding estimates. Parameters are
//! resolved once per region, not once per household, so a million households take a few
//! hundredths of a second. `rules::benefit` remains the reference: the tests check that both
//! give the same amounts.

use std::collections::HashMap;

use chrono::NaiveDate;
use civic_domain::{policy::PolicyBook, DomainError, Fen, RegionCode};
use rust_decimal::Decimal;

use crate::{
    roll::{Category, RollRecord, Status},
    rules::{household::Residence, standards},
};

/// A member reduced to what the benefit rule reads.
#[derive(Debug, Clone)]
struct CompactMember {
    age: u32,
    /// Able-bodied and without proof of income: the casual-labour floor may apply.
    imputable: bool,
    /// Income of kinds that no policy excludes anywhere in the book.
    plain_income: i64,
    /// Income of kinds some region may exclude: (kind index, fen).
    excludable: Box<[(u16, i64)]>,
}

#[derive(Debug, Clone)]
pub struct CompactHousehold {
    pub id: String,
    pub region: u32,
    pub residence: Residence,
    pub category: Category,
    pub status: Status,
    members: Box<[CompactMember]>,
}

/// A region's roll in compact form.
#[derive(Debug, Default)]
pub struct Population {
    pub regions: Vec<RegionCode>,
    pub households: Vec<CompactHousehold>,
    kinds: Vec<String>,
}

impl Population {
    /// `excludable_kinds`: income kinds that have an `assistance.income_excluded.<kind>` parameter.
    pub fn build(records: &[RollRecord], excludable_kinds: &[String]) -> Population {
        let mut region_index: HashMap<RegionCode, u32> = HashMap::new();
        let mut p = Population {
            kinds: excludable_kinds.to_vec(),
            ..Default::default()
        };
        let kind_index: HashMap<&str, u16> = excludable_kinds
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i as u16))
            .collect();
        for r in records {
            let h = &r.household;
            let idx = *region_index.entry(h.region).or_insert_with(|| {
                p.regions.push(h.region);
                (p.regions.len() - 1) as u32
            });
            let members = h
                .members()
                .iter()
                .map(|m| {
                    let mut plain = 0i64;
                    let mut excl = Vec::new();
                    for inc in &m.incomes {
                        match kind_index.get(inc.kind.as_str()) {
                            Some(k) => excl.push((*k, inc.monthly.get())),
                            None => plain = plain.saturating_add(inc.monthly.get()),
                        }
                    }
                    CompactMember {
                        age: m.age,
                        imputable: m.able_bodied && !m.has_income_proof,
                        plain_income: plain,
                        excludable: excl.into_boxed_slice(),
                    }
                })
                .collect();
            p.households.push(CompactHousehold {
                id: h.id.clone(),
                region: idx,
                residence: h.residence,
                category: r.category,
                status: r.status,
                members,
            });
        }
        p
    }

    pub fn len(&self) -> usize {
        self.households.len()
    }

    pub fn is_empty(&self) -> bool {
        self.households.is_empty()
    }
}

/// Parameters of one region under one scenario.
#[derive(Debug, Clone)]
struct RegionParams {
    standard: [Option<Fen>; 2],
    /// Bit i set: kind i is excluded.
    excluded: u64,
    /// (floor, min age, max age) when the casual-labour floor is defined.
    casual: Option<(i64, u32, u32)>,
}

/// Resolved parameters of every region of a population under (book, date).
pub struct Scenario {
    params: Vec<RegionParams>,
}

fn optional(
    r: Result<civic_domain::policy::Resolved, DomainError>,
) -> Result<Option<Decimal>, DomainError> {
    match r {
        Ok(v) => Ok(Some(v.value)),
        Err(DomainError::NoValueInForce { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Scenario {
    pub fn resolve(
        pop: &Population,
        book: &PolicyBook,
        date: NaiveDate,
    ) -> Result<Scenario, DomainError> {
        let mut params = Vec::with_capacity(pop.regions.len());
        for &region in &pop.regions {
            let std_of = |res| match standards::dibao(book, res, region, date) {
                Ok(s) => Ok(Some(s.per_person)),
                Err(DomainError::NoValueInForce { .. }) => Ok(None),
                Err(e) => Err(e),
            };
            let mut excluded = 0u64;
            for (i, kind) in pop.kinds.iter().enumerate().take(64) {
                if optional(book.value(
                    &format!("assistance.income_excluded.{kind}"),
                    region,
                    date,
                ))? == Some(Decimal::ONE)
                {
                    excluded |= 1 << i;
                }
            }
            let casual = match (
                optional(book.value("assistance.casual_income.monthly", region, date))?,
                optional(book.value("assistance.working_age.min", region, date))?,
                optional(book.value("assistance.working_age.max", region, date))?,
            ) {
                (Some(c), Some(lo), Some(hi)) => Some((
                    Fen::from_yuan_decimal(c)?.get(),
                    u32::try_from(lo.trunc()).unwrap_or(0),
                    u32::try_from(hi.trunc()).unwrap_or(0),
                )),
                _ => None,
            };
            params.push(RegionParams {
                standard: [std_of(Residence::Urban)?, std_of(Residence::Rural)?],
                excluded,
                casual,
            });
        }
        Ok(Scenario { params })
    }

    /// The monthly benefit of household `h`, or None when no standard is in force for it, or an
    /// error when it needs the casual-labour floor and none is defined.
    pub fn benefit(&self, h: &CompactHousehold) -> Result<Option<i64>, String> {
        let p = &self.params[h.region as usize];
        let Some(std) = p.standard[match h.residence {
            Residence::Urban => 0,
            Residence::Rural => 1,
        }] else {
            return Ok(None);
        };
        let mut income: i64 = 0;
        for m in h.members.iter() {
            let mut own = m.plain_income;
            for (k, fen) in m.excludable.iter() {
                if p.excluded & (1u64 << (*k as u64 & 63)) == 0 {
                    own = own.saturating_add(*fen);
                }
            }
            if m.imputable {
                let Some((floor, lo, hi)) = p.casual else {
                    return Err(format!("household {}: the casual-labour income standard is not defined for its region", h.id));
                };
                if m.age >= lo && m.age <= hi && own < floor {
                    own = floor;
                }
            }
            income = income.saturating_add(own);
        }
        let gross = std.get().saturating_mul(h.members.len() as i64);
        Ok(Some((gross - income).max(0)))
    }
}
