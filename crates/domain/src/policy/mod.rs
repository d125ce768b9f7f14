//! The policy book: dated, cited parameters per region. A value is looked up for a region on a
//! date: the region's own entries first, then its parent's, up to the root; within a region the
//! latest entry in force on the date wins. Derived parameters carry a rule over other parameters
//! (evaluated for the asked region, so "1.5 × the local 低保" is local) and a rounding rule; when
//! the document also publishes the figure, the rule must reproduce it or loading fails.
//!
//! Here the book and its lookups (about 400 lines: a derived value is looked up through the
//! others, so the lookups stay together); `load` builds it from its files and checks it.

mod load;

use std::collections::BTreeMap;

/// The book's maps are read on every call and filled only from its own files and checked
/// publications: a fast hash, seeded per process.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use crate::{
    calendar::WorkingCalendar,
    explanation::{ParameterUse, SourceRef},
    expr::Expr,
    region::{RegionCode, RegionTree},
    rounding::Rounding,
    DomainError,
};

#[derive(Debug, Clone)]
pub struct Definition {
    pub key: String,
    pub name: String,
    pub unit: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub number: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
}

/// A rule of computation (not a figure) and the clause that states it.
#[derive(Debug, Clone)]
pub struct RuleCitation {
    pub id: String,
    /// The jurisdiction whose document states the rule (000000: national).
    pub region: RegionCode,
    pub description: String,
    pub document: String,
    pub clause: String,
    pub effective_from: Option<NaiveDate>,
}

/// One dated value (or rule) of a parameter for one region.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub region: RegionCode,
    /// None: in force before its successor; the source does not state since when.
    pub effective_from: Option<NaiveDate>,
    /// For an open start: the earliest date the value is documented as in force (e.g. the date
    /// of the notice that quotes it). Earlier dates have no value rather than a guessed one.
    pub known_from: Option<NaiveDate>,
    /// A literal value, or for a derived entry the figure the document publishes.
    pub value: Option<Decimal>,
    pub rule: Option<Expr>,
    pub rounding: Option<Rounding>,
    pub document: String,
    pub clause: String,
    pub note: String,
    /// Where the entry was read from ("policies/values/benxi.csv:12" or "published via API").
    pub origin: String,
    /// For a threshold: the document's comparison word (以上, 超过 …), read as the law says.
    pub cmp: Option<crate::compare::Cmp>,
}

/// A parameter as in force for a region on a date, with everything needed to cite it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub key: String,
    pub name: String,
    pub unit: String,
    pub region: RegionCode,
    pub defined_for: RegionCode,
    pub value: Decimal,
    pub source: SourceRef,
    pub rule: Option<String>,
    pub rounding: Option<Rounding>,
    pub published: Option<Decimal>,
    /// For a derived value: the arithmetic with figures and rounding, e.g. "1.5 × 583 = 874.5 → 875".
    pub derivation: Option<String>,
    /// The parameters the rule read, resolved for the same region and date.
    pub operands: Vec<Resolved>,
    /// For a threshold: how a figure is compared with it (the document's word).
    pub cmp: Option<crate::compare::Cmp>,
}

impl Resolved {
    pub fn to_use(&self) -> ParameterUse {
        ParameterUse {
            key: self.key.clone(),
            name: self.name.clone(),
            region: self.defined_for.to_string(),
            value: self.value,
            unit: self.unit.clone(),
            source: self.source.clone(),
        }
    }

    /// This parameter and, for derived ones, every parameter it was derived from.
    pub fn uses(&self) -> Vec<ParameterUse> {
        let mut v = vec![self.to_use()];
        for o in &self.operands {
            v.extend(o.uses());
        }
        v
    }
}

#[derive(Debug, Clone, Default)]
pub struct PolicyBook {
    pub regions: RegionTree,
    pub calendar: WorkingCalendar,
    definitions: BTreeMap<String, Definition>,
    documents: HashMap<String, Document>,
    /// rule id → its citations, one per jurisdiction and effective date.
    rules: HashMap<String, Vec<RuleCitation>>,
    /// key → region → entries sorted by effective_from (None first). Keyed by the key first so
    /// that a lookup borrows the caller's `&str` instead of allocating a tuple key per region.
    entries: HashMap<String, HashMap<RegionCode, Vec<Entry>>>,
    /// Who may publish which parameters (`publishing.csv`); empty: nobody.
    pub publishing: crate::publishing::PublishingRights,
}

/// A strict ISO date, YYYY-MM-DD with two-digit month and day.
pub fn parse_date(s: &str) -> Result<NaiveDate, DomainError> {
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(DomainError::InvalidDate(s.to_string()));
    }
    // Read digit by digit: every request carries a date, and chrono's format parser is a
    // noticeable part of a short call.
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    match (digits(0..4), digits(5..7), digits(8..10)) {
        (Some(y), Some(m), Some(d)) => i32::try_from(y).ok().and_then(|y| NaiveDate::from_ymd_opt(y, m, d)),
        _ => None,
    }
    .ok_or_else(|| DomainError::InvalidDate(s.to_string()))
}

const MAX_RULE_DEPTH: usize = 8;

impl PolicyBook {
    pub fn new(regions: RegionTree, calendar: WorkingCalendar) -> Self {
        PolicyBook { regions, calendar, ..Default::default() }
    }

    /// The entry in force for `key` at `region` or its nearest ancestor on `date`.
    pub fn governing_entry(&self, key: &str, region: RegionCode, date: NaiveDate) -> Option<&Entry> {
        self.entry_in_force(key, region, date).map(|(e, _)| e)
    }

    /// The definition of `key`, or of the family it belongs to: `a.b.*` defines `a.b.<anything>`
    /// (e.g. a minimum published per industry).
    pub fn definition(&self, key: &str) -> Result<&Definition, DomainError> {
        if let Some(d) = self.definitions.get(key) {
            return Ok(d);
        }
        // Each shorter prefix with ".*" appended, spelled in one buffer.
        let mut family = String::with_capacity(key.len() + 2);
        let mut k = key;
        while let Some(i) = k.rfind('.') {
            k = &k[..i];
            family.clear();
            family.push_str(k);
            family.push_str(".*");
            if let Some(d) = self.definitions.get(family.as_str()) {
                return Ok(d);
            }
        }
        Err(DomainError::UnknownParameter(key.to_string()))
    }

    pub fn definitions(&self) -> impl Iterator<Item = &Definition> {
        self.definitions.values()
    }

    pub fn document(&self, number: &str) -> Option<&Document> {
        self.documents.get(number)
    }

    pub fn has_rule(&self, id: &str) -> bool {
        self.rules.contains_key(id)
    }

    /// The citation of a computation rule (e.g. "dibao.gap_payment") for `region` on `date`: the
    /// region's own, else its parent's, up to the national one; within a jurisdiction the latest
    /// in force on the date. A region with no rule of its own or above it gets an error, never
    /// another jurisdiction's citation.
    pub fn rule(&self, id: &str, region: RegionCode, date: NaiveDate) -> Result<&RuleCitation, DomainError> {
        let list = self
            .rules
            .get(id)
            .ok_or_else(|| DomainError::Inconsistent(format!("rule '{id}' is not in policies/rules.csv")))?;
        for r in self.regions.ancestry(region) {
            let in_force = list.iter().rfind(|c| c.region == r && c.effective_from.is_none_or(|d| d <= date));
            if let Some(c) = in_force {
                return Ok(c);
            }
        }
        Err(DomainError::NoRuleInForce { rule: id.to_string(), region: region.to_string(), date: date.to_string() })
    }

    pub fn rule_source(&self, id: &str, region: RegionCode, date: NaiveDate) -> Result<SourceRef, DomainError> {
        let r = self.rule(id, region, date)?;
        Ok(SourceRef {
            document: r.document.clone(),
            title: self.documents.get(&r.document).map(|d| d.title.clone()).unwrap_or_default(),
            clause: r.clause.clone(),
            effective_from: r.effective_from,
            effective_to: None,
            note: String::new(),
        })
    }

    /// Entries for one key and region, in date order (the region's own, not inherited).
    pub fn entries_for(&self, key: &str, region: RegionCode) -> &[Entry] {
        self.entries.get(key).and_then(|m| m.get(&region)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every (key, region) pair that has entries.
    pub fn entry_keys(&self) -> impl Iterator<Item = (&str, RegionCode)> {
        self.entries.iter().flat_map(|(k, m)| m.keys().map(move |r| (k.as_str(), *r)))
    }

    /// The entry in force for `key` at `region` (or the nearest ancestor that has one) on `date`,
    /// with the date its successor takes over.
    fn entry_in_force(&self, key: &str, region: RegionCode, date: NaiveDate) -> Option<(&Entry, Option<NaiveDate>)> {
        let by_region = self.entries.get(key)?;
        for r in self.regions.ancestry(region) {
            let Some(list) = by_region.get(&r) else {
                continue;
            };
            let idx = list.iter().rposition(|e| e.effective_from.is_none_or(|d| d <= date));
            if let Some(i) = idx {
                if list[i].known_from.is_some_and(|k| date < k) {
                    return None;
                }
                let next = list.get(i + 1).and_then(|n| n.effective_from);
                return Some((&list[i], next));
            }
        }
        None
    }

    /// The value of `key` for `region` on `date`, with its source and, if derived, its derivation.
    pub fn value(&self, key: &str, region: RegionCode, date: NaiveDate) -> Result<Resolved, DomainError> {
        self.value_at_depth(key, region, date, 0)
    }

    /// The same, or `None` when no value of `key` is in force there and then (a figure a region
    /// has not published); other errors stay errors.
    pub fn value_if_in_force(
        &self,
        key: &str,
        region: RegionCode,
        date: NaiveDate,
    ) -> Result<Option<Resolved>, DomainError> {
        match self.value(key, region, date) {
            Ok(v) => Ok(Some(v)),
            Err(DomainError::NoValueInForce { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn value_at_depth(
        &self,
        key: &str,
        region: RegionCode,
        date: NaiveDate,
        depth: usize,
    ) -> Result<Resolved, DomainError> {
        let def = self.definition(key)?;
        self.regions.get(region)?;
        let (entry, next) = self.entry_in_force(key, region, date).ok_or_else(|| DomainError::NoValueInForce {
            key: key.to_string(),
            region: region.to_string(),
            date: date.to_string(),
        })?;
        let mut resolved = if entry.rule.is_some() {
            self.derive(entry, region, date, depth)?
        } else {
            self.literal(entry, region, def)?
        };
        resolved.source.effective_to = next.map(|n| n - Duration::days(1));
        Ok(resolved)
    }

    fn source_of(&self, e: &Entry) -> SourceRef {
        SourceRef {
            document: e.document.clone(),
            title: self.documents.get(&e.document).map(|d| d.title.clone()).unwrap_or_default(),
            clause: e.clause.clone(),
            effective_from: e.effective_from,
            effective_to: None,
            note: match (e.effective_from, e.known_from) {
                (None, Some(k)) if e.note.is_empty() => {
                    format!("start date not stated in the source; documented as in force on {k}")
                }
                (None, Some(k)) => format!("{}; documented as in force on {k}", e.note),
                (None, None) if e.note.is_empty() => "start date not stated in the source".to_string(),
                _ => e.note.clone(),
            },
        }
    }

    /// The value of a literal entry; `def` is its key's definition.
    fn literal(&self, e: &Entry, region: RegionCode, def: &Definition) -> Result<Resolved, DomainError> {
        let value = e.value.ok_or_else(|| DomainError::Inconsistent(format!("{} has no value", e.origin)))?;
        Ok(Resolved {
            key: e.key.clone(),
            name: def.name.clone(),
            unit: def.unit.clone(),
            region,
            defined_for: e.region,
            value: value.normalize(),
            source: self.source_of(e),
            rule: None,
            rounding: None,
            published: None,
            derivation: None,
            operands: Vec::new(),
            cmp: e.cmp,
        })
    }

    fn derive(&self, e: &Entry, region: RegionCode, date: NaiveDate, depth: usize) -> Result<Resolved, DomainError> {
        let def = self.definition(&e.key)?;
        let (Some(rule), Some(rounding)) = (&e.rule, &e.rounding) else {
            return self.literal(e, region, def);
        };
        if depth >= MAX_RULE_DEPTH {
            return Err(DomainError::InvalidRule {
                rule: rule.to_string(),
                reason: "rules refer to each other in a cycle".into(),
            });
        }
        let mut operands = Vec::new();
        let (raw, text) = rule.evaluate(|k| {
            let r = self.value_at_depth(k, region, date, depth + 1)?;
            let v = r.value;
            operands.push(r);
            Ok(v)
        })?;
        let value = rounding.apply(raw)?;
        let derivation = if value == raw { text } else { format!("{text} → {value} ({})", rounding.describe()) };
        Ok(Resolved {
            key: e.key.clone(),
            name: def.name.clone(),
            unit: def.unit.clone(),
            region,
            defined_for: e.region,
            value,
            source: self.source_of(e),
            rule: Some(rule.to_string()),
            rounding: Some(*rounding),
            published: e.value.map(|v| v.normalize()),
            derivation: Some(derivation),
            operands,
            cmp: e.cmp,
        })
    }

    /// Every parameter under `prefix` in force for `region` on `date` (those with no value in
    /// force are left out).
    pub fn in_force(&self, prefix: &str, region: RegionCode, date: NaiveDate) -> Result<Vec<Resolved>, DomainError> {
        let mut out = Vec::new();
        // Defined keys, and keys of defined families (a.b.*) that have entries.
        let mut keys: Vec<&str> = self
            .definitions
            .keys()
            .filter(|k| k.starts_with(prefix) && !k.ends_with(".*"))
            .map(String::as_str)
            .collect();
        keys.extend(self.entries.keys().map(String::as_str).filter(|k| k.starts_with(prefix)));
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            match self.value(key, region, date) {
                Ok(r) => out.push(r),
                Err(DomainError::NoValueInForce { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Every version of `key` that applies to `region` over time: its own entries, or those it
    /// inherits where it has none, each resolved on its first day.
    pub fn history(&self, key: &str, region: RegionCode) -> Result<Vec<Resolved>, DomainError> {
        self.definition(key)?;
        let mut dates: Vec<Option<NaiveDate>> = Vec::new();
        for r in self.regions.ancestry(region) {
            for e in self.entries_for(key, r) {
                if !dates.contains(&e.effective_from) {
                    dates.push(e.effective_from);
                }
            }
        }
        dates.sort();
        let mut out: Vec<Resolved> = Vec::new();
        for (i, d) in dates.iter().enumerate() {
            let date = match (d, dates.get(i + 1)) {
                (Some(d), _) => *d,
                (None, Some(Some(next))) => *next - Duration::days(1),
                _ => continue,
            };
            if let Ok(r) = self.value(key, region, date) {
                let same = out.last().is_some_and(|p| p.value == r.value && p.source == r.source);
                if !same {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
