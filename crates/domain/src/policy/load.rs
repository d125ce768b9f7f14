//! Building the book: its CSV files read row by row (every problem with its file and row),
//! entries added or removed as publications change them, and the whole checked.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use crate::{
    expr::Expr,
    load::{rows, LoadError},
    region::RegionCode,
    rounding::Rounding,
    DomainError,
};

use super::*;

#[derive(serde::Deserialize)]
struct DefinitionRow {
    key: String,
    name: String,
    unit: String,
    description: String,
}

#[derive(serde::Deserialize)]
struct DocumentRow {
    document: String,
    title: String,
    issuer: String,
    issued_on: String,
}

#[derive(serde::Deserialize)]
struct RuleRow {
    rule_id: String,
    region: String,
    description: String,
    document: String,
    clause: String,
    effective_from: String,
}

#[derive(serde::Deserialize)]
struct EntryRow {
    key: String,
    region: String,
    effective_from: String,
    #[serde(default)]
    known_from: String,
    value: String,
    rule: String,
    rounding: String,
    document: String,
    clause: String,
    note: String,
    /// Optional: GE, GT, LT or LE for a threshold (民法典 第一千二百五十九条).
    #[serde(default)]
    cmp: String,
}

fn optional_date(s: &str) -> Result<Option<NaiveDate>, DomainError> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_date(s).map(Some)
    }
}

impl PolicyBook {
    pub fn load_definitions(&mut self, file: &str, text: &str) -> Result<(), LoadError> {
        for (line, r) in rows::<DefinitionRow>(file, text)? {
            if r.key.is_empty() || !r.key.contains('.') {
                return Err(LoadError::new(
                    file,
                    line,
                    format!("key '{}' must be dotted, e.g. assistance.dibao.urban", r.key),
                ));
            }
            if r.unit.is_empty() {
                return Err(LoadError::new(file, line, "unit is required"));
            }
            let def = Definition { key: r.key.clone(), name: r.name, unit: r.unit, description: r.description };
            if self.definitions.insert(r.key.clone(), def).is_some() {
                return Err(LoadError::new(file, line, format!("parameter '{}' is defined twice", r.key)));
            }
        }
        Ok(())
    }

    pub fn load_documents(&mut self, file: &str, text: &str) -> Result<(), LoadError> {
        for (line, r) in rows::<DocumentRow>(file, text)? {
            let issued_on = optional_date(&r.issued_on).map_err(|e| LoadError::new(file, line, e.to_string()))?;
            if r.document.is_empty() || r.title.is_empty() {
                return Err(LoadError::new(file, line, "document and title are required"));
            }
            let doc = Document { number: r.document.clone(), title: r.title, issuer: r.issuer, issued_on };
            if self.documents.insert(r.document.clone(), doc).is_some() {
                return Err(LoadError::new(file, line, format!("document '{}' is listed twice", r.document)));
            }
        }
        Ok(())
    }

    pub fn load_rules(&mut self, file: &str, text: &str) -> Result<(), LoadError> {
        for (line, r) in rows::<RuleRow>(file, text)? {
            let err = |m: String| LoadError::new(file, line, m);
            if !self.documents.contains_key(&r.document) {
                return Err(err(format!("document '{}' is not in documents.csv", r.document)));
            }
            let region = RegionCode::parse(&r.region).map_err(|e| err(e.to_string()))?;
            if self.regions.get(region).is_err() {
                return Err(err(format!("region {region} is not in regions.csv")));
            }
            let effective_from = optional_date(&r.effective_from).map_err(|e| err(e.to_string()))?;
            let rule = RuleCitation {
                id: r.rule_id.clone(),
                region,
                description: r.description,
                document: r.document,
                clause: r.clause,
                effective_from,
            };
            let list = self.rules.entry(r.rule_id.clone()).or_default();
            if list.iter().any(|x| x.region == region && x.effective_from == effective_from) {
                return Err(err(format!("rule '{}' is listed twice for {region} from the same date", r.rule_id)));
            }
            list.push(rule);
            list.sort_by_key(|x| x.effective_from);
        }
        Ok(())
    }

    /// Read value rows; call [`PolicyBook::validate`] once every file is in.
    pub fn load_entries(&mut self, file: &str, text: &str) -> Result<(), LoadError> {
        for (line, r) in rows::<EntryRow>(file, text)? {
            let err = |m: String| LoadError::new(file, line, m);
            let region = RegionCode::parse(&r.region).map_err(|e| err(e.to_string()))?;
            let effective_from = optional_date(&r.effective_from).map_err(|e| err(e.to_string()))?;
            let known_from = optional_date(&r.known_from).map_err(|e| err(e.to_string()))?;
            if known_from.is_some() && effective_from.is_some() {
                return Err(err("known_from is only for entries whose effective_from is not stated".into()));
            }
            let value = if r.value.is_empty() {
                None
            } else {
                Some(
                    r.value
                        .parse::<Decimal>()
                        .map_err(|_| err(format!("value '{}' is not an exact decimal", r.value)))?,
                )
            };
            let rule =
                if r.rule.is_empty() { None } else { Some(Expr::parse(&r.rule).map_err(|e| err(e.to_string()))?) };
            let rounding = if r.rounding.is_empty() {
                None
            } else {
                Some(r.rounding.parse::<Rounding>().map_err(|e| err(e.to_string()))?)
            };
            let entry = Entry {
                key: r.key,
                region,
                effective_from,
                known_from,
                value,
                rule,
                rounding,
                document: r.document,
                clause: r.clause,
                note: r.note,
                origin: format!("{file}:{line}"),
                cmp: if r.cmp.trim().is_empty() {
                    None
                } else {
                    Some(
                        crate::compare::Cmp::parse(&r.cmp)
                            .ok_or_else(|| err(format!("cmp '{}': GE, GT, LT or LE", r.cmp)))?,
                    )
                },
            };
            self.add_entry(entry).map_err(|e| err(e.to_string()))?;
        }
        Ok(())
    }

    /// Add a document (e.g. one a city publishes new standards under). An existing number keeps
    /// its first title.
    pub fn add_document(&mut self, doc: Document) {
        self.documents.entry(doc.number.clone()).or_insert(doc);
    }

    /// Remove the entry for (key, region, effective_from), if any (a what-if replaces figures).
    pub fn remove_entry(&mut self, key: &str, region: RegionCode, effective_from: Option<NaiveDate>) -> bool {
        match self.entries.get_mut(key).and_then(|m| m.get_mut(&region)) {
            Some(list) => {
                let before = list.len();
                list.retain(|e| e.effective_from != effective_from);
                before != list.len()
            }
            None => false,
        }
    }

    /// Add one entry after checking it on its own (the cross-checks are in `validate`).
    pub fn add_entry(&mut self, entry: Entry) -> Result<(), DomainError> {
        if self.definition(&entry.key).is_err() {
            return Err(DomainError::UnknownParameter(entry.key.clone()));
        }
        self.regions.get(entry.region)?;
        if !self.documents.contains_key(&entry.document) {
            return Err(DomainError::Inconsistent(format!("document '{}' is not in documents.csv", entry.document)));
        }
        if entry.value.is_none() && entry.rule.is_none() {
            return Err(DomainError::Inconsistent("an entry needs a value, a rule, or both".into()));
        }
        if entry.rule.is_some() != entry.rounding.is_some() {
            return Err(DomainError::Inconsistent(
                "a rule needs a rounding (e.g. half_up:1) and a rounding needs a rule".into(),
            ));
        }
        if let Some(rule) = &entry.rule {
            for k in rule.parameters() {
                if self.definition(k).is_err() {
                    return Err(DomainError::UnknownParameter(k.to_string()));
                }
            }
        }
        let list = self.entries.entry(entry.key.clone()).or_default().entry(entry.region).or_default();
        if list.iter().any(|e| e.effective_from == entry.effective_from) {
            return Err(DomainError::Inconsistent(format!(
                "{} for {} already has an entry effective from {}",
                entry.key,
                entry.region,
                entry.effective_from.map(|d| d.to_string()).unwrap_or_else(|| "(open start)".into())
            )));
        }
        list.push(entry);
        list.sort_by_key(|e| e.effective_from);
        Ok(())
    }

    /// Cross-checks once everything is loaded: every derived entry evaluates, and where the
    /// document publishes the figure, the rule reproduces it. Returns every problem found.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for list in self.entries.values().flat_map(HashMap::values) {
            for (i, e) in list.iter().enumerate() {
                let Some(_) = &e.rule else { continue };
                // Check at the entry's first day; for an open start, at the day before its successor.
                let date = match (e.effective_from, list.get(i + 1).and_then(|n| n.effective_from)) {
                    (Some(d), _) => d,
                    (None, Some(next)) => next - Duration::days(1),
                    (None, None) => continue,
                };
                match self.derive(e, e.region, date, 0) {
                    Ok(r) => {
                        if let Some(published) = e.value {
                            if published != r.value {
                                problems.push(format!(
                                    "{}: {} for {} on {}: the document publishes {} but its rule gives {}",
                                    e.origin,
                                    e.key,
                                    e.region,
                                    date,
                                    published.normalize(),
                                    r.derivation.unwrap_or_default()
                                ));
                            }
                        }
                    }
                    Err(err) => problems.push(format!("{}: {} for {} on {}: {}", e.origin, e.key, e.region, date, err)),
                }
            }
        }
        problems.sort();
        problems
    }
}
