//! Publishing a new standard set: the figures a city (or province) decides from a date, checked
//! against the book before anything is stored. A figure for a derived standard keeps the rule
//! of the standard it replaces and must agree with it; a figure that disagrees is refused with
//! the field named. The result is a new book that the caller can preview (`validate_only`).

use chrono::NaiveDate;
use civic_domain::{
    policy::{Document, Entry, PolicyBook},
    Fen, RegionCode,
};
use rust_decimal::Decimal;

/// One figure as published.
#[derive(Debug, Clone)]
pub struct Figure {
    pub key: String,
    pub region: RegionCode,
    pub value: Decimal,
    pub clause: String,
}

#[derive(Debug, Clone)]
pub struct Publication {
    pub region: RegionCode,
    pub effective_from: NaiveDate,
    pub document: String,
    pub title: String,
    pub figures: Vec<Figure>,
    /// A what-if replaces figures already in force from the same date instead of refusing them.
    pub replace: bool,
}

/// The entries a publication adds, as stored and as added to the book.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub book: PolicyBook,
    pub entries: Vec<Entry>,
}

/// (field, problem) pairs, reported together.
pub type Problems = Vec<(String, String)>;

/// Check `p` against `book`; only keys under one of `prefixes` may be published.
pub fn apply(book: &PolicyBook, p: &Publication, prefixes: &[&str]) -> Result<Accepted, Problems> {
    let mut problems = Problems::new();
    let mut next = book.clone();
    next.add_document(Document {
        number: p.document.clone(),
        title: p.title.clone(),
        issuer: String::new(),
        issued_on: None,
    });
    let mut entries = Vec::new();
    for (i, f) in p.figures.iter().enumerate() {
        let field = |name: &str| format!("values[{i}].{name}");
        let def = match book.definition(&f.key) {
            Ok(d) => d,
            Err(_) => {
                problems.push((field("key"), format!("unknown parameter '{}'", f.key)));
                continue;
            }
        };
        if !prefixes.iter().any(|pre| f.key.starts_with(pre)) {
            problems.push((field("key"), format!("only parameters under {} are published here", prefixes.join(", "))));
            continue;
        }
        if !book.regions.is_within(f.region, p.region) {
            problems
                .push((field("region_code"), format!("{} is not within the publishing region {}", f.region, p.region)));
            continue;
        }
        if f.value < Decimal::ZERO {
            problems.push((field("value"), "must not be negative".into()));
            continue;
        }
        if def.unit.starts_with("yuan") && Fen::from_yuan_decimal(f.value).is_err() {
            problems.push((field("value"), "an amount in yuan must be a whole number of fen".into()));
            continue;
        }
        if def.unit == "flag" && f.value != Decimal::ZERO && f.value != Decimal::ONE {
            problems.push((field("value"), "a flag is 0 or 1".into()));
            continue;
        }
        // A derived standard keeps its rule: the published figure is checked against it.
        let governing = book.governing_entry(&f.key, f.region, p.effective_from);
        let (rule, rounding) = match governing {
            Some(g) if g.rule.is_some() => (g.rule.clone(), g.rounding),
            _ => (None, None),
        };
        // A threshold keeps the comparison word of the figure it replaces.
        let cmp = governing.and_then(|g| g.cmp);
        let entry = Entry {
            key: f.key.clone(),
            region: f.region,
            effective_from: Some(p.effective_from),
            known_from: None,
            value: Some(f.value),
            rule,
            rounding,
            document: p.document.clone(),
            clause: f.clause.clone(),
            note: String::new(),
            origin: format!("{} (values[{i}])", p.document),
            cmp,
        };
        if p.replace {
            next.remove_entry(&entry.key, entry.region, entry.effective_from);
        }
        if let Err(e) = next.add_entry(entry.clone()) {
            problems.push((field("key"), e.to_string()));
            continue;
        }
        entries.push(entry);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // Every derived standard must still agree with its published figures once the new base
    // figures are in: e.g. a new 低保 of 650 with a published 特困 figure of 980 is refused.
    for (i, f) in p.figures.iter().enumerate() {
        match next.value(&f.key, f.region, p.effective_from) {
            Ok(r) => {
                if let Some(published) = r.published {
                    if published != r.value {
                        problems.push((
                            format!("values[{i}].value"),
                            format!(
                                "{} for {}: the published figure {} disagrees with its rule: {}",
                                f.key,
                                f.region,
                                published,
                                r.derivation.unwrap_or_default()
                            ),
                        ));
                    }
                }
            }
            Err(e) => problems.push((format!("values[{i}]"), e.to_string())),
        }
    }
    if problems.is_empty() {
        Ok(Accepted { book: next, entries })
    } else {
        Err(problems)
    }
}

/// A stored publication must leave a book that the service accepts at start-up: every derived
/// figure published elsewhere (another region, a later date) must still agree with its rule once
/// the new figures are in. A publication that breaks one is refused with FAILED_PRECONDITION
/// naming each figure it would contradict; problems the book had before are not blamed on it.
pub fn check_book(before: &PolicyBook, after: &PolicyBook) -> Result<(), crate::ApiError> {
    let old: std::collections::HashSet<String> = before.validate().into_iter().collect();
    let new: Vec<String> = after.validate().into_iter().filter(|p| !old.contains(p)).collect();
    if new.is_empty() {
        return Ok(());
    }
    Err(crate::ApiError::precondition(
        "PUBLICATION_CONTRADICTS_BOOK",
        format!(
            "the publication would contradict figures already in force; publish those figures anew in the same \
             publication, or choose another date: {}",
            new.join("; ")
        ),
    ))
}

/// One figure as it arrives on the wire, before checking.
pub struct RawFigure<'a> {
    pub key: &'a str,
    pub region_code: &'a str,
    pub value: &'a str,
    pub clause: &'a str,
}

/// Build a publication from request fields, every problem reported at once with its field
/// (`document`, `title`, `values`, `values[i].region_code|value|clause`).
pub fn publication(
    book: &PolicyBook,
    region: civic_domain::RegionCode,
    effective_from: chrono::NaiveDate,
    document: &str,
    title: &str,
    values: &[RawFigure<'_>],
) -> Result<Publication, crate::ApiError> {
    use crate::ApiError;
    let mut problems: Problems = Vec::new();
    if document.trim().is_empty() {
        problems.push(("document".into(), "the document number (文号) is required".into()));
    }
    if title.trim().is_empty() {
        problems.push(("title".into(), "the document title is required".into()));
    }
    if values.is_empty() {
        problems.push(("values".into(), "at least one figure is required".into()));
    }
    let mut figures = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let fr = match crate::request::region_code(book, &format!("values[{i}].region_code"), v.region_code) {
            Ok(c) => Some(c),
            Err(ApiError::InvalidArgument(vs)) => {
                problems.extend(vs);
                None
            }
            Err(e) => return Err(e),
        };
        let value = match crate::request::decimal(&format!("values[{i}].value"), v.value) {
            Ok(d) => Some(d),
            Err(ApiError::InvalidArgument(vs)) => {
                problems.extend(vs);
                None
            }
            Err(e) => return Err(e),
        };
        if v.clause.trim().is_empty() {
            problems.push((format!("values[{i}].clause"), "the clause stating this figure is required".into()));
        }
        if let (Some(region), Some(value)) = (fr, value) {
            figures.push(Figure { key: v.key.trim().to_string(), region, value, clause: v.clause.trim().to_string() });
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::InvalidArgument(problems));
    }
    Ok(Publication {
        region,
        effective_from,
        document: document.trim().into(),
        title: title.trim().into(),
        figures,
        replace: false,
    })
}

/// Every figure of `p` must be the caller's to publish under the publishing rights
/// (`policies/publishing.csv`): its role listed for the key, and the figure's region at a level
/// listed. The refusal names who may publish the figure and the clause that says so.
pub fn check_rights(who: &crate::identity::Caller, book: &PolicyBook, p: &Publication) -> Result<(), crate::ApiError> {
    use crate::{identity::Denied, ApiError};
    use civic_domain::publishing::Level;
    for (i, f) in p.figures.iter().enumerate() {
        let deny = |message: String| {
            ApiError::PermissionDenied(Denied::Publish { message: format!("values[{i}]: {message}") })
        };
        let Some(right) = book.publishing.right_for(&f.key) else {
            return Err(deny(format!(
                "{} is not published through the API: it comes from the documents in the policy files",
                f.key
            )));
        };
        let source = format!("{} {}", right.document, right.clause);
        if !right.roles.iter().any(|r| r == who.role.as_str()) {
            return Err(deny(format!(
                "{} is published by {} ({source}), not by {}",
                f.key,
                right.roles.join(" or "),
                who.role
            )));
        }
        let level = book
            .regions
            .get(f.region)
            .map(|r| Level::of(r.kind))
            .map_err(|_| deny(format!("unknown region {}", f.region)))?;
        if !right.levels.contains(&level) {
            let levels: Vec<&str> = right.levels.iter().map(|l| l.as_str()).collect();
            return Err(deny(format!(
                "{} is published for a {} and not for a {} such as {} ({source})",
                f.key,
                levels.join(" or "),
                level.as_str(),
                f.region
            )));
        }
        who.check_region(&book.regions, f.region).map_err(ApiError::from)?;
    }
    Ok(())
}
