//! Domain → wire conversions shared by all services: parameters, sources, explanations.

use civic_domain::{
    explanation::{ParameterUse, SourceRef, Step, Trace},
    policy::Resolved,
};
use civic_proto::common::v1 as pb;

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(iso_date).unwrap_or_default()
}

/// "2019-07-01": what `NaiveDate`'s `Display` writes, spelled without the formatting machinery
/// (every step of every explanation carries dates).
pub fn iso_date(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        return d.to_string();
    }
    let y = y.unsigned_abs();
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let b = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    String::from_utf8_lossy(&b).into_owned()
}

pub fn source(s: &SourceRef) -> pb::Source {
    pb::Source {
        document: s.document.clone(),
        clause: s.clause.clone(),
        title: s.title.clone(),
        effective_from: date(s.effective_from),
        effective_to: date(s.effective_to),
        note: s.note.clone(),
    }
}

pub fn parameter(r: &Resolved) -> pb::Parameter {
    pb::Parameter {
        key: r.key.clone(),
        name: r.name.clone(),
        region_code: r.region.to_string(),
        defined_for_region: r.defined_for.to_string(),
        value: r.value.normalize().to_string(),
        unit: r.unit.clone(),
        source: Some(source(&r.source)),
        rule: r.rule.clone().unwrap_or_default(),
        rounding: r.rounding.map(|x| x.to_string()).unwrap_or_default(),
        published_value: r.published.map(|v| v.to_string()).unwrap_or_default(),
    }
}

pub fn parameter_use(u: &ParameterUse) -> pb::ParameterUse {
    pb::ParameterUse {
        key: u.key.clone(),
        name: u.name.clone(),
        region_code: u.region.clone(),
        value: u.value.normalize().to_string(),
        unit: u.unit.clone(),
        source: Some(source(&u.source)),
    }
}

pub fn step(s: &Step) -> pb::TraceStep {
    pb::TraceStep {
        rule_id: s.rule_id.clone(),
        description: s.description.clone(),
        formula: s.formula.clone(),
        result: s.result.clone(),
        parameters: s.parameters.iter().map(parameter_use).collect(),
        source: s.source.as_ref().map(source),
    }
}

pub fn explanation(t: &Trace) -> pb::Explanation {
    pb::Explanation { steps: t.steps.iter().map(step).collect() }
}

/// A source as the basic view shows it: document, clause and dates in force.
fn basic_source(s: &SourceRef) -> pb::Source {
    pb::Source {
        document: s.document.clone(),
        clause: s.clause.clone(),
        effective_from: date(s.effective_from),
        effective_to: date(s.effective_to),
        ..Default::default()
    }
}

/// An explanation in `EXPLANATION_VIEW_BASIC`: the rules, figures and citations of
/// [`explanation`] without its words (descriptions, names, units, titles, notes).
pub fn basic_explanation(t: &Trace) -> pb::Explanation {
    pb::Explanation {
        steps: t
            .steps
            .iter()
            .map(|s| pb::TraceStep {
                rule_id: s.rule_id.clone(),
                formula: s.formula.clone(),
                result: s.result.clone(),
                parameters: s
                    .parameters
                    .iter()
                    .map(|u| pb::ParameterUse {
                        key: u.key.clone(),
                        region_code: u.region.clone(),
                        value: u.value.normalize().to_string(),
                        source: Some(basic_source(&u.source)),
                        ..Default::default()
                    })
                    .collect(),
                source: s.source.as_ref().map(basic_source),
                ..Default::default()
            })
            .collect(),
    }
}

/// Whether a request's `explanation_view` asks for the basic view; `None` for a number the
/// contract does not define (the caller answers INVALID_ARGUMENT naming its field).
pub fn basic_view(view: i32) -> Option<bool> {
    match pb::ExplanationView::try_from(view).ok()? {
        pb::ExplanationView::Unspecified | pb::ExplanationView::Full => Some(false),
        pb::ExplanationView::Basic => Some(true),
    }
}

/// The same as [`source`], taking the source apart instead of copying it.
pub fn into_source(s: SourceRef) -> pb::Source {
    pb::Source {
        effective_from: date(s.effective_from),
        effective_to: date(s.effective_to),
        document: s.document,
        clause: s.clause,
        title: s.title,
        note: s.note,
    }
}

/// The same as [`explanation`], taking the trace apart instead of copying every string: for
/// answers built once and sent.
pub fn into_explanation(t: Trace) -> pb::Explanation {
    pb::Explanation {
        steps: t
            .steps
            .into_iter()
            .map(|s| pb::TraceStep {
                rule_id: s.rule_id,
                description: s.description,
                formula: s.formula,
                result: s.result,
                parameters: s
                    .parameters
                    .into_iter()
                    .map(|u| pb::ParameterUse {
                        value: u.value.normalize().to_string(),
                        key: u.key,
                        name: u.name,
                        region_code: u.region,
                        unit: u.unit,
                        source: Some(into_source(u.source)),
                    })
                    .collect(),
                source: s.source.map(into_source),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    #[test]
    fn iso_dates_read_as_chrono_writes_them() {
        for (y, m, d) in [
            (2019, 7, 1),
            (1, 1, 1),
            (0, 12, 31),
            (1999, 12, 9),
            (9999, 12, 31),
            (1000, 10, 10),
            (-1, 1, 1),
            (10000, 1, 1),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(super::iso_date(date), date.to_string());
        }
    }
}
