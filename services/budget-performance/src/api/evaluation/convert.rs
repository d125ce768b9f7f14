//! Requests to the rules' inputs, stored rows and rule outcomes to protobuf, for the
//! evaluation service.

use base64::Engine;
use chrono::NaiveDate;
use civic_domain::{policy::PolicyBook, Fen, RegionCode};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::Role,
    mapping,
    request::{self},
    ApiError, ApiResult,
};
use prost::Message;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    rules::{
        grades::Grade,
        self_eval::{self, Band, Direction, Group, Indicator, Measure, Weights},
    },
    store::evaluations::EvaluationRow,
};

/// A framework part as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredPart {
    pub(super) dimension: String,
    pub(super) name: String,
    pub(super) weight: String,
    pub(super) score: String,
    /// A deduction-type part's template, target and actual (empty otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) template_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) actual: String,
}

pub(super) fn kind_name(k: pb::EvaluationKind) -> &'static str {
    k.as_str_name().trim_start_matches("EVALUATION_KIND_")
}

pub(super) fn grade_of(code: &str) -> Option<Grade> {
    Some(match code {
        "EXCELLENT" => Grade::Excellent,
        "GOOD" => Grade::Good,
        "FAIR" => Grade::Fair,
        "POOR" => Grade::Poor,
        _ => return None,
    })
}

pub(super) fn b64(bytes: Vec<u8>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) fn unb64<M: Message + Default>(what: &str, s: &str) -> ApiResult<Option<M>> {
    if s.is_empty() {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| ApiError::Internal(format!("stored {what}: {e}")))?;
    M::decode(bytes.as_slice()).map(Some).map_err(|e| ApiError::Internal(format!("stored {what}: {e}")))
}

pub(super) fn evaluation_pb(e: &EvaluationRow, gap: Option<String>) -> ApiResult<pb::Evaluation> {
    let parts: Vec<StoredPart> =
        serde_json::from_str(&e.parts_json).map_err(|x| ApiError::Internal(format!("stored parts: {x}")))?;
    let grade = grade_of(&e.grade);
    Ok(pb::Evaluation {
        id: e.id.clone(),
        programme_id: e.programme_id.clone(),
        region_code: e.region_code.clone(),
        kind: pb::EvaluationKind::from_str_name(&format!("EVALUATION_KIND_{}", e.kind)).unwrap_or_default() as i32,
        year: i32::try_from(e.year).unwrap_or_default(),
        category: e.category.clone(),
        evaluator: e.evaluator.clone(),
        evaluator_credit_code: e.evaluator_credit_code.clone(),
        total: e.total.clone(),
        grade: grade.map(|g| g.chinese().to_string()).unwrap_or_default(),
        grade_code: e.grade.clone(),
        self_evaluation: unb64::<pb::ScoreSelfEvaluationResponse>("self-evaluation", &e.self_result)?,
        parts: parts
            .iter()
            .map(|p| pb::FrameworkPart {
                dimension: pb::FrameworkDimension::from_str_name(&p.dimension).unwrap_or_default() as i32,
                name: p.name.clone(),
                weight: p.weight.clone(),
                score: p.score.clone(),
                template_code: p.template_code.clone(),
                target: p.target.clone(),
                actual: p.actual.clone(),
            })
            .collect(),
        status: pb::EvaluationStatus::from_str_name(&format!("EVALUATION_STATUS_{}", e.status)).unwrap_or_default()
            as i32,
        supersedes: e.supersedes.clone(),
        superseded_by: e.superseded_by.clone(),
        gap: gap.unwrap_or_default(),
        report_ref: e.report_ref.clone(),
        deviation_reason: e.deviation_reason.clone(),
        evaluated_on: e.evaluated_on.clone(),
        submitted_by: e.submitted_by.clone(),
        submitted_at: e.submitted_at.clone(),
        review_notes: e.review_notes.clone(),
        reviewed_by: e.reviewed_by.clone(),
        reviewed_at: e.reviewed_at.clone(),
        version: e.version,
        explanation: unb64::<civic_proto::common::v1::Explanation>("explanation", &e.explanation)?,
        actuals: unb64::<pb::ScoreSelfEvaluationRequest>("self-evaluation input", &e.input)?
            .map(|i| {
                i.indicators
                    .into_iter()
                    .filter_map(|x| x.read.map(|p| pb::ReadActual { indicator: x.name, provenance: Some(p) }))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

pub(super) fn short(field: &str, s: &str, max: usize) -> ApiResult<String> {
    crate::api::text(field, s, false, max)
}

/// Rank of a kind in the region scores (higher wins); kinds that do not count are None.
pub(super) fn precedence(kind: &str) -> Option<u8> {
    match kind {
        "RE_EVALUATION" => Some(4),
        "FINANCE_KEY" => Some(3),
        "DEPARTMENT" => Some(2),
        "SELF" => Some(1),
        _ => None,
    }
}

/// Every bureau evaluates its own programmes (谁支出、谁负责), finance all of them.
pub(super) const EVALUATING: &[Role] = &Role::ALL;

pub(super) fn group(field: String, g: i32) -> ApiResult<Group> {
    match pb::IndicatorGroup::try_from(g) {
        Ok(pb::IndicatorGroup::Output) => Ok(Group::Output),
        Ok(pb::IndicatorGroup::Benefit) => Ok(Group::Benefit),
        Ok(pb::IndicatorGroup::Satisfaction) => Ok(Group::Satisfaction),
        _ => Err(ApiError::invalid(field, "INDICATOR_GROUP_OUTPUT, _BENEFIT or _SATISFACTION")),
    }
}

pub(super) fn group_pb(g: Group) -> i32 {
    match g {
        Group::Output => pb::IndicatorGroup::Output as i32,
        Group::Benefit => pb::IndicatorGroup::Benefit as i32,
        Group::Satisfaction => pb::IndicatorGroup::Satisfaction as i32,
    }
}

/// A request's indicator as the scorer takes it.
pub(super) fn indicator(i: usize, x: &pb::SelfEvaluationIndicator) -> ApiResult<Indicator> {
    let f = |name: &str| format!("indicators[{i}].{name}");
    let points = request::decimal(&f("points"), &x.points)?;
    let quantitative = |direction| -> ApiResult<Measure> {
        if !x.share_percent.trim().is_empty() || x.band != 0 {
            return Err(ApiError::invalid(f("band"), "a band and share belong to qualitative indicators only"));
        }
        let deduction = match (x.deduction.trim().is_empty(), x.deduction_reason.trim().is_empty()) {
            (true, true) => None,
            (false, _) => Some((request::decimal(&f("deduction"), &x.deduction)?, x.deduction_reason.clone())),
            (true, false) => return Err(ApiError::invalid(f("deduction"), "a reason without a deduction")),
        };
        Ok(Measure::Quantitative {
            direction,
            target: request::decimal(&f("target"), &x.target)?,
            actual: request::decimal(&f("actual"), &x.actual)?,
            deduction,
        })
    };
    let measure = match pb::IndicatorDirection::try_from(x.direction) {
        Ok(pb::IndicatorDirection::AtLeast) => quantitative(Direction::AtLeast)?,
        Ok(pb::IndicatorDirection::AtMost) => quantitative(Direction::AtMost)?,
        Ok(pb::IndicatorDirection::Exactly) => quantitative(Direction::Exactly)?,
        Ok(pb::IndicatorDirection::Qualitative) => {
            if !x.target.trim().is_empty() && x.target.trim().parse::<Decimal>().is_ok() {
                return Err(ApiError::invalid(f("target"), "a qualitative indicator has no numeric target"));
            }
            let band = match pb::QualitativeBand::try_from(x.band) {
                Ok(pb::QualitativeBand::Achieved) => Band::Achieved,
                Ok(pb::QualitativeBand::Partial) => Band::Partial,
                Ok(pb::QualitativeBand::NotAchieved) => Band::NotAchieved,
                _ => return Err(ApiError::invalid(f("band"), "the band judged: ACHIEVED, PARTIAL or NOT_ACHIEVED")),
            };
            Measure::Qualitative { band, share_percent: request::decimal(&f("share_percent"), &x.share_percent)? }
        }
        _ => return Err(ApiError::invalid(f("direction"), "AT_LEAST, AT_MOST, EXACTLY or QUALITATIVE")),
    };
    Ok(Indicator {
        group: group(f("group"), x.group)?,
        level2: x.level2.trim().to_string(),
        name: x.name.trim().to_string(),
        unit: x.unit.trim().to_string(),
        points,
        measure,
    })
}

/// The scorer's input from a request.
pub(crate) fn self_eval_input(r: &pb::ScoreSelfEvaluationRequest) -> ApiResult<self_eval::Input> {
    let indicators = r.indicators.iter().enumerate().map(|(i, x)| indicator(i, x)).collect::<ApiResult<Vec<_>>>()?;
    let weights = match &r.weights {
        None => None,
        Some(w) => Some(Weights {
            output: request::decimal("weights.output", &w.output)?,
            benefit: request::decimal("weights.benefit", &w.benefit)?,
            satisfaction: request::decimal("weights.satisfaction", &w.satisfaction)?,
            execution: request::decimal("weights.execution", &w.execution)?,
        }),
    };
    Ok(self_eval::Input {
        indicators,
        budget: Fen::new(r.budget_fen),
        executed: Fen::new(r.executed_fen),
        weights,
        deviation_reason: r.deviation_reason.clone(),
    })
}

pub(super) fn weights_pb(w: &Weights) -> pb::SelfEvaluationWeights {
    pb::SelfEvaluationWeights {
        output: w.output.normalize().to_string(),
        benefit: w.benefit.normalize().to_string(),
        satisfaction: w.satisfaction.normalize().to_string(),
        execution: w.execution.normalize().to_string(),
    }
}

/// Score a self-evaluation (no authorization: the caller checks), with the full explanation or
/// the basic one (`EXPLANATION_VIEW_BASIC`).
pub(super) fn score_self(
    book: &PolicyBook,
    region: RegionCode,
    date: NaiveDate,
    r: &pb::ScoreSelfEvaluationRequest,
    basic: bool,
) -> ApiResult<pb::ScoreSelfEvaluationResponse> {
    let input = self_eval_input(r)?;
    let o = self_eval::score(book, region, date, &input)?;
    Ok(pb::ScoreSelfEvaluationResponse {
        indicators: o
            .indicators
            .iter()
            .map(|s| pb::IndicatorScore {
                name: s.name.clone(),
                group: group_pb(s.group),
                points: s.points.normalize().to_string(),
                exact: s.exact.normalize().to_string(),
                score: s.score.to_string(),
            })
            .collect(),
        weights: Some(weights_pb(&o.weights)),
        output: o.output.to_string(),
        benefit: o.benefit.to_string(),
        satisfaction: o.satisfaction.to_string(),
        execution_rate_percent: crate::rules::monitoring::shown(o.execution_rate * Decimal::ONE_HUNDRED),
        execution: o.execution.to_string(),
        total: o.total.to_string(),
        exact_total: o.exact_total.normalize().to_string(),
        grade: o.grade.chinese().into(),
        grade_code: o.grade.code().into(),
        explanation: Some(if basic { mapping::basic_explanation(&o.trace) } else { mapping::explanation(&o.trace) }),
    })
}

pub(super) fn decision_pb(d: &crate::store::decisions::Decision) -> pb::BudgetDecision {
    pb::BudgetDecision {
        id: d.id.clone(),
        evaluation_id: d.evaluation_id.clone(),
        programme_id: d.programme_id.clone(),
        region_code: d.region_code.clone(),
        next_year: i32::try_from(d.next_year).unwrap_or_default(),
        grade: d.grade.clone(),
        measures: d.measures.clone(),
        amount_fen: d.amount_fen,
        proposed_measures: d.proposed_measures.clone(),
        has_proposed_amount: d.proposed_amount_fen.is_some(),
        proposed_amount_fen: d.proposed_amount_fen.unwrap_or(0),
        document: d.document.clone(),
        reason: d.reason.clone(),
        decided_by: d.decided_by.clone(),
        decided_on: d.decided_on.clone(),
    }
}
