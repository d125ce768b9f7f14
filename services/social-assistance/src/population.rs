//! Population runs: the whole roll of a region computed under a scenario (a policy book and a
//! date) at once, without traces, for what-if reforms and funding estimates. Parameters are
//! resolved once per region, not once per household, so a million households take a few
//! hundredths of a second. `rules::benefit` remains the reference: the tests check that both
//! give the same amounts.

use std::collections::HashMap;

use chrono::NaiveDate;
use civic_domain::{policy::PolicyBook, DomainError, Fen, RegionCode};
use rust_decimal::Decimal;

mod snapshot;
pub use snapshot::signature;

use crate::{
    roll::{Category, RollRecord, Status},
    rules::{household::Residence, standards},
};

/// A member reduced to what the benefit rule reads.
#[derive(Debug, Clone, Copy)]
struct CompactMember {
    age: u32,
    /// Able-bodied and without proof of income: the casual-labour floor may apply.
    imputable: bool,
    /// Income of kinds that no policy excludes anywhere in the book.
    plain_income: i64,
    /// Incomes of kinds some region may exclude: `excludable[first_excl..first_excl + n_excl]`.
    first_excl: u32,
    n_excl: u8,
}

/// A household reduced to what the benefit rule reads; its members live in the population's
/// flat member array.
#[derive(Debug, Clone, Copy)]
pub struct CompactHousehold {
    pub region: u32,
    pub residence: Residence,
    pub category: Category,
    pub status: Status,
    first_member: u32,
    members: u16,
    /// No member's income depends on the region's rules (no excludable kind, no casual-labour
    /// floor to impute): the counted income is `plain_income` under every scenario.
    simple: bool,
    /// The members' incomes of kinds no policy excludes, summed.
    plain_income: i64,
}

/// What a member contributes, as read from the roll (income kinds owned or borrowed from the
/// stored text).
pub struct MemberInput<'a, K: AsRef<str> = String> {
    pub age: u32,
    pub able_bodied: bool,
    pub has_income_proof: bool,
    pub incomes: &'a [(K, i64)],
}

/// A region's roll in compact, flat form: a million households take about 60 MB.
#[derive(Debug, Default)]
pub struct Population {
    pub regions: Vec<RegionCode>,
    pub households: Vec<CompactHousehold>,
    region_index: HashMap<RegionCode, u32>,
    kinds: Vec<String>,
    kind_index: HashMap<String, u16>,
    members: Vec<CompactMember>,
    excludable: Vec<(u16, i64)>,
    ids: String,
    id_ends: Vec<u32>,
}

impl Population {
    /// `excludable_kinds`: income kinds that have an `assistance.income_excluded.<kind>` parameter.
    pub fn new(excludable_kinds: &[String]) -> Population {
        Population {
            kinds: excludable_kinds.to_vec(),
            kind_index: excludable_kinds.iter().enumerate().map(|(i, k)| (k.clone(), i as u16)).collect(),
            ..Default::default()
        }
    }

    pub fn push<'a, K: AsRef<str> + 'a>(
        &mut self,
        id: &str,
        region: RegionCode,
        residence: Residence,
        category: Category,
        status: Status,
        members: impl IntoIterator<Item = MemberInput<'a, K>>,
    ) {
        let next = self.regions.len() as u32;
        let idx = *self.region_index.entry(region).or_insert(next);
        if idx == next {
            self.regions.push(region);
        }
        let first_member = self.members.len() as u32;
        let (mut simple, mut household_plain) = (true, 0i64);
        for m in members {
            let first_excl = self.excludable.len() as u32;
            let mut plain = 0i64;
            for (kind, fen) in m.incomes {
                match self.kind_index.get(kind.as_ref()) {
                    Some(k) => self.excludable.push((*k, *fen)),
                    None => plain = plain.saturating_add(*fen),
                }
            }
            let n_excl = (self.excludable.len() as u32 - first_excl).min(u8::MAX as u32) as u8;
            let imputable = m.able_bodied && !m.has_income_proof;
            simple &= n_excl == 0 && !imputable;
            household_plain = household_plain.saturating_add(plain);
            self.members.push(CompactMember { age: m.age, imputable, plain_income: plain, first_excl, n_excl });
        }
        let members = (self.members.len() as u32 - first_member).min(u16::MAX as u32) as u16;
        self.ids.push_str(id);
        self.id_ends.push(self.ids.len() as u32);
        self.households.push(CompactHousehold {
            region: idx,
            residence,
            category,
            status,
            first_member,
            members,
            simple,
            plain_income: household_plain,
        });
    }

    pub fn push_record(&mut self, r: &RollRecord) {
        let h = &r.household;
        let incomes: Vec<Vec<(String, i64)>> =
            h.members().iter().map(|m| m.incomes.iter().map(|i| (i.kind.clone(), i.monthly.get())).collect()).collect();
        let members = h.members().iter().zip(&incomes).map(|(m, inc)| MemberInput {
            age: m.age,
            able_bodied: m.able_bodied,
            has_income_proof: m.has_income_proof,
            incomes: inc,
        });
        self.push(&h.id, h.region, h.residence, r.category, r.status, members);
    }

    pub fn build(records: &[RollRecord], excludable_kinds: &[String]) -> Population {
        let mut p = Population::new(excludable_kinds);
        for r in records {
            p.push_record(r);
        }
        p
    }

    /// The id of the i-th household.
    pub fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.id_ends[i - 1] as usize };
        let end = self.id_ends.get(i).copied().unwrap_or(0) as usize;
        self.ids.get(start..end).unwrap_or("")
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

impl Scenario {
    pub fn resolve(pop: &Population, book: &PolicyBook, date: NaiveDate) -> Result<Scenario, DomainError> {
        let mut params = Vec::with_capacity(pop.regions.len());
        for &region in &pop.regions {
            let std_of = |res| match standards::dibao(book, res, region, date) {
                Ok(s) => Ok(Some(s.per_person)),
                Err(DomainError::NoValueInForce { .. }) => Ok(None),
                Err(e) => Err(e),
            };
            let mut excluded = 0u64;
            for (i, kind) in pop.kinds.iter().enumerate().take(64) {
                if book.value_if_in_force(&format!("assistance.income_excluded.{kind}"), region, date)?.map(|v| v.value)
                    == Some(Decimal::ONE)
                {
                    excluded |= 1 << i;
                }
            }
            let casual = match (
                book.value_if_in_force("assistance.casual_income.monthly", region, date)?.map(|v| v.value),
                book.value_if_in_force("assistance.working_age.min", region, date)?.map(|v| v.value),
                book.value_if_in_force("assistance.working_age.max", region, date)?.map(|v| v.value),
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
    pub fn benefit(&self, pop: &Population, i: usize) -> Result<Option<i64>, String> {
        match self.standard(pop, i) {
            None => Ok(None),
            Some(std) => Ok(Some(Self::top_up(pop, i, std, self.income(pop, i)?))),
        }
    }

    /// The per-person standard in force for household `i`'s region and residence.
    pub fn standard(&self, pop: &Population, i: usize) -> Option<Fen> {
        let h = &pop.households[i];
        self.params[h.region as usize].standard[match h.residence {
            Residence::Urban => 0,
            Residence::Rural => 1,
        }]
    }

    /// max(0, standard × members − income).
    pub fn top_up(pop: &Population, i: usize, standard: Fen, income: i64) -> i64 {
        let gross = standard.get().saturating_mul(i64::from(pop.households[i].members));
        (gross - income).max(0)
    }

    /// Whether household incomes in `region` (an index of the population's regions) count the
    /// same under both scenarios: the same kinds excluded, the same casual-labour floor.
    pub fn same_income_rules(&self, other: &Scenario, region: usize) -> bool {
        let (a, b) = (&self.params[region], &other.params[region]);
        a.excluded == b.excluded && a.casual == b.casual
    }

    /// The counted monthly income of household `i`: excluded kinds left out, the casual-labour
    /// floor imputed; an error when a member needs the floor and none is defined.
    pub fn income(&self, pop: &Population, i: usize) -> Result<i64, String> {
        let h = &pop.households[i];
        if h.simple {
            return Ok(h.plain_income);
        }
        let p = &self.params[h.region as usize];
        let mut income: i64 = 0;
        let members = &pop.members[h.first_member as usize..h.first_member as usize + h.members as usize];
        for m in members {
            let mut own = m.plain_income;
            let excl = &pop.excludable[m.first_excl as usize..m.first_excl as usize + m.n_excl as usize];
            for (k, fen) in excl {
                if p.excluded & (1u64 << (*k as u64 & 63)) == 0 {
                    own = own.saturating_add(*fen);
                }
            }
            if m.imputable {
                let Some((floor, lo, hi)) = p.casual else {
                    return Err(format!(
                        "household {}: the casual-labour income standard is not defined for its region",
                        pop.id(i)
                    ));
                };
                if m.age >= lo && m.age <= hi && own < floor {
                    own = floor;
                }
            }
            income = income.saturating_add(own);
        }
        Ok(income)
    }
}

/// The monthly benefit of each record on `date` (0 for low-income households, which are not
/// paid), computed in bulk; an error names the household and what is missing.
/// Income kinds some parameter may exclude (`assistance.income_excluded.<kind>`).
pub fn excludable_kinds(book: &PolicyBook) -> Vec<String> {
    book.definitions().filter_map(|d| d.key.strip_prefix("assistance.income_excluded.").map(str::to_string)).collect()
}

pub fn benefits(book: &PolicyBook, date: NaiveDate, records: &[RollRecord]) -> Vec<Result<Fen, String>> {
    let kinds: Vec<String> = book
        .definitions()
        .filter_map(|d| d.key.strip_prefix("assistance.income_excluded.").map(str::to_string))
        .collect();
    let pop = Population::build(records, &kinds);
    let scenario = match Scenario::resolve(&pop, book, date) {
        Ok(s) => s,
        Err(e) => return records.iter().map(|_| Err(e.to_string())).collect(),
    };
    pop.households
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.category != Category::Dibao {
                return Ok(Fen::ZERO);
            }
            match scenario.benefit(&pop, i)? {
                Some(fen) => Ok(Fen::new(fen)),
                None => Err(format!(
                    "household {}: no {} 低保 standard in force for {} on {date}",
                    pop.id(i),
                    h.residence.chinese(),
                    pop.regions[h.region as usize]
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{
        benefit,
        household::{Household, Income, Member},
    };
    use proptest::prelude::*;

    /// `book` with 本溪's (210500) `figures` published from `from`.
    fn publish(book: &PolicyBook, from: (i32, u32, u32), figures: &[(&str, &str)], replace: bool) -> PolicyBook {
        let p = crate::publish::Publication {
            region: RegionCode::parse("210500").unwrap(),
            effective_from: chrono::NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap(),
            document: "test".into(),
            title: "test".into(),
            figures: figures
                .iter()
                .map(|(k, v)| crate::publish::Figure {
                    key: k.to_string(),
                    region: RegionCode::parse("210500").unwrap(),
                    value: v.parse().unwrap(),
                    clause: "x".into(),
                })
                .collect(),
            replace,
        };
        crate::publish::apply(book, &p).unwrap().book
    }

    fn book_with_casual_income() -> PolicyBook {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let book = civic_runtime::policy_book::load(&dir).unwrap();
        let figures = [
            ("assistance.casual_income.monthly", "1200"),
            ("assistance.working_age.min", "16"),
            ("assistance.working_age.max", "60"),
            ("assistance.income_excluded.award", "1"),
        ];
        publish(&book, (2019, 6, 10), &figures, false)
    }

    fn member_strategy() -> impl Strategy<Value = Member> {
        (0u32..100, any::<bool>(), any::<bool>(), proptest::collection::vec((0usize..3, 0i64..300_000), 0..3)).prop_map(
            |(age, able, proof, incs)| Member {
                id: String::new(),
                age,
                able_bodied: able,
                has_income_proof: proof,
                incomes: incs
                    .into_iter()
                    .map(|(k, f)| Income { kind: ["wage", "award", "pension"][k].to_string(), monthly: Fen::new(f) })
                    .collect(),
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The bulk engine and the explained reference rule agree on every household.
        #[test]
        fn bulk_equals_reference(members in proptest::collection::vec(member_strategy(), 1..6), region in 0usize..4, rural in any::<bool>(), july in any::<bool>()) {
            let book = book_with_casual_income();
            let region = RegionCode::parse(["210502", "210521", "210522", "210571"][region]).unwrap();
            let residence = if rural { Residence::Rural } else { Residence::Urban };
            let h = Household::new("h".into(), region, residence, members, "h").unwrap();
            let date = chrono::NaiveDate::from_ymd_opt(2019, if july { 7 } else { 6 }, 15).unwrap();
            let rec = RollRecord { household: h.clone(), category: Category::Dibao, status: Status::Active, monthly_benefit: Fen::ZERO, computed_on: date, version: 1 };
            let bulk = benefits(&book, date, &[rec]).remove(0).unwrap();
            let reference = benefit::compute(&book, &h, date).unwrap().monthly;
            prop_assert_eq!(bulk, reference);
        }

        /// A what-if's totals are the households' benefits under each scenario, whether the
        /// proposal changes only standards (each income counted once for both) or also which
        /// incomes count.
        #[test]
        fn compare_equals_benefit_by_benefit(
            households in proptest::collection::vec(
                (proptest::collection::vec(member_strategy(), 1..5), 0usize..4, any::<bool>(), any::<bool>(), any::<bool>()),
                1..8,
            ),
            change_rules in any::<bool>(),
        ) {
            let book = book_with_casual_income();
            let date = chrono::NaiveDate::from_ymd_opt(2019, 7, 15).unwrap();
            let mut figures = vec![("assistance.dibao.urban", "650")];
            if change_rules {
                figures.push(("assistance.income_excluded.award", "0"));
            }
            let proposed_book = publish(&book, (2019, 7, 1), &figures, true);
            let records: Vec<RollRecord> = households
                .into_iter()
                .enumerate()
                .map(|(i, (members, region, rural, dibao, active))| RollRecord {
                    household: Household::new(
                        format!("h{i}"),
                        RegionCode::parse(["210502", "210521", "210522", "210571"][region]).unwrap(),
                        if rural { Residence::Rural } else { Residence::Urban },
                        members,
                        "h",
                    )
                    .unwrap(),
                    category: if dibao { Category::Dibao } else { Category::LowIncome },
                    status: if active { Status::Active } else { Status::Suspended },
                    monthly_benefit: Fen::ZERO,
                    computed_on: date,
                    version: 1,
                })
                .collect();
            let pop = Population::build(&records, &excludable_kinds(&book));
            let current = Scenario::resolve(&pop, &book, date).unwrap();
            let proposed = Scenario::resolve(&pop, &proposed_book, date).unwrap();
            let (_, total) = crate::analysis::compare(&pop, &book.regions, &current, &proposed, false).unwrap();
            let (mut cur, mut prop) = (0i64, 0i64);
            for (i, r) in records.iter().enumerate() {
                if r.status != Status::Active {
                    continue;
                }
                if r.category == Category::Dibao {
                    cur += current.benefit(&pop, i).unwrap().unwrap_or(0);
                }
                prop += proposed.benefit(&pop, i).unwrap().unwrap_or(0);
            }
            prop_assert_eq!((total.current, total.proposed), (cur, prop));
            // Counted in parts on several threads (as a large roll is), every line the same.
            let whole = crate::analysis::compare_in_parts(&pop, &book.regions, &current, &proposed, true, 1).unwrap();
            let in_parts = crate::analysis::compare_in_parts(&pop, &book.regions, &current, &proposed, true, 3).unwrap();
            prop_assert_eq!(&whole, &in_parts);
            // Kept as a snapshot and read back: the same bytes again and the same lines.
            let kinds = excludable_kinds(&book);
            let back = Population::from_bytes(&pop.to_bytes(), &kinds).unwrap();
            prop_assert_eq!(back.to_bytes(), pop.to_bytes());
            let (current, proposed) = (Scenario::resolve(&back, &book, date).unwrap(), Scenario::resolve(&back, &proposed_book, date).unwrap());
            let read_back = crate::analysis::compare_in_parts(&back, &book.regions, &current, &proposed, true, 1).unwrap();
            prop_assert_eq!(whole, read_back);
        }
    }
}
