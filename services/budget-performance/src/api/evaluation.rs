//! `civic.budget.v1.EvaluationService`: scoring evaluations. A unit scores its own
//! self-evaluation; finance and auditors (who read everything) may score any in their scope.

use base64::Engine;
use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    region::RegionKind,
    Fen, RegionCode,
};
use civic_proto::budget::v1::{self as pb, evaluation_service_server::EvaluationService};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Denied, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller, request_id},
    storage::Database,
    ApiError, ApiResult,
};
use prost::Message;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};

use super::{is_id, programmes::check_programme, respond};
use crate::{
    rules::{
        framework::{self, Dimension, Part},
        grades::Grade,
        results,
        self_eval::{self, Band, Direction, Group, Indicator, Measure, Weights},
    },
    store::{
        evaluations::{self as store, EvaluationRow},
        programmes::{self as programme_store, ProgrammeRow},
    },
};

#[derive(Clone)]
pub struct EvaluationApi {
    pub book: BookHandle,
    pub db: Database,
    /// Where goal indicators' actuals are read.
    pub peers: super::actuals::Peers,
}

const FINANCE: &[Role] = &[Role::Finance];

/// A framework part as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPart {
    dimension: String,
    name: String,
    weight: String,
    score: String,
    /// A deduction-type part's template, target and actual (empty otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    template_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    actual: String,
}

fn kind_name(k: pb::EvaluationKind) -> &'static str {
    k.as_str_name().trim_start_matches("EVALUATION_KIND_")
}

fn grade_of(code: &str) -> Option<Grade> {
    Some(match code {
        "EXCELLENT" => Grade::Excellent,
        "GOOD" => Grade::Good,
        "FAIR" => Grade::Fair,
        "POOR" => Grade::Poor,
        _ => return None,
    })
}

fn b64(bytes: Vec<u8>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64<M: Message + Default>(what: &str, s: &str) -> ApiResult<Option<M>> {
    if s.is_empty() {
        return Ok(None);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| ApiError::Internal(format!("stored {what}: {e}")))?;
    M::decode(bytes.as_slice()).map(Some).map_err(|e| ApiError::Internal(format!("stored {what}: {e}")))
}

fn evaluation_pb(e: &EvaluationRow, gap: Option<String>) -> ApiResult<pb::Evaluation> {
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

fn short(field: &str, s: &str, max: usize) -> ApiResult<String> {
    super::text(field, s, false, max)
}

/// Rank of a kind in the region scores (higher wins); kinds that do not count are None.
fn precedence(kind: &str) -> Option<u8> {
    match kind {
        "RE_EVALUATION" => Some(4),
        "FINANCE_KEY" => Some(3),
        "DEPARTMENT" => Some(2),
        "SELF" => Some(1),
        _ => None,
    }
}

/// Every bureau evaluates its own programmes (谁支出、谁负责), finance all of them.
const EVALUATING: &[Role] = &Role::ALL;

fn group(field: String, g: i32) -> ApiResult<Group> {
    match pb::IndicatorGroup::try_from(g) {
        Ok(pb::IndicatorGroup::Output) => Ok(Group::Output),
        Ok(pb::IndicatorGroup::Benefit) => Ok(Group::Benefit),
        Ok(pb::IndicatorGroup::Satisfaction) => Ok(Group::Satisfaction),
        _ => Err(ApiError::invalid(field, "INDICATOR_GROUP_OUTPUT, _BENEFIT or _SATISFACTION")),
    }
}

fn group_pb(g: Group) -> i32 {
    match g {
        Group::Output => pb::IndicatorGroup::Output as i32,
        Group::Benefit => pb::IndicatorGroup::Benefit as i32,
        Group::Satisfaction => pb::IndicatorGroup::Satisfaction as i32,
    }
}

/// A request's indicator as the scorer takes it.
fn indicator(i: usize, x: &pb::SelfEvaluationIndicator) -> ApiResult<Indicator> {
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

fn weights_pb(w: &Weights) -> pb::SelfEvaluationWeights {
    pb::SelfEvaluationWeights {
        output: w.output.normalize().to_string(),
        benefit: w.benefit.normalize().to_string(),
        satisfaction: w.satisfaction.normalize().to_string(),
        execution: w.execution.normalize().to_string(),
    }
}

/// Score a self-evaluation (no authorization: the caller checks).
fn score_self(
    book: &PolicyBook,
    region: RegionCode,
    date: NaiveDate,
    r: &pb::ScoreSelfEvaluationRequest,
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
        explanation: Some(mapping::explanation(&o.trace)),
    })
}

fn decision_pb(d: &crate::store::decisions::Decision) -> pb::BudgetDecision {
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

impl EvaluationApi {
    async fn decide(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::RecordBudgetDecisionRequest,
    ) -> ApiResult<pb::BudgetDecision> {
        use crate::store::decisions::{self, Decision};
        let book = self.book.current();
        let e = self.evaluation(&r.evaluation_id).await?;
        let region = RegionCode::parse(&e.region_code).map_err(|x| ApiError::Internal(x.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "decide budgets", region).map_err(ApiError::from)?;
        if !matches!(e.status.as_str(), "FINAL" | "PUBLISHED") {
            return Err(ApiError::precondition(
                "NOT_FINAL",
                format!("evaluation {} is {}: only FINAL results are applied", e.id, e.status),
            ));
        }
        if !e.superseded_by.is_empty() {
            return Err(ApiError::precondition(
                "SUPERSEDED",
                format!("evaluation {} was superseded by re-evaluation {}: decide on that one", e.id, e.superseded_by),
            ));
        }
        if i64::from(r.next_year) <= e.year || i64::from(r.next_year) > e.year + 5 {
            return Err(ApiError::invalid("next_year", format!("a budget year after the evaluated {}", e.year)));
        }
        if r.measures.is_empty() || r.measures.len() > 20 {
            return Err(ApiError::invalid("measures", "from 1 to 20 measures"));
        }
        let measures = r
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| {
                short(&format!("measures[{i}]"), m, 100).and_then(|m| {
                    if m.is_empty() {
                        Err(ApiError::invalid(format!("measures[{i}]"), "required"))
                    } else {
                        Ok(m)
                    }
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let document = short("document", &r.document, 200)?;
        let reason = short("reason", &r.reason, 1000)?;
        if document.is_empty() || reason.is_empty() {
            return Err(ApiError::invalid(
                if document.is_empty() { "document" } else { "reason" },
                "a decision names its document and its reason",
            ));
        }
        let decided_on = request::date_or_today("decided_on", &r.decided_on)?;
        request::served_date("decided_on", &decided_on.to_string())?;
        let p = self.programme(&e.programme_id).await?;
        let grade = grade_of(&e.grade).ok_or_else(|| ApiError::Internal(format!("stored grade {}", e.grade)))?;
        let on = request::served_date("evaluated_on", &e.evaluated_on)?;
        let proposal = results::propose(&book, region, on, grade, Fen::new(p.adjusted_budget_fen))?;
        let d = Decision {
            id: uuid::Uuid::new_v4().to_string(),
            evaluation_id: e.id.clone(),
            programme_id: p.id.clone(),
            region_code: e.region_code.clone(),
            next_year: i64::from(r.next_year),
            grade: grade.chinese().into(),
            measures,
            amount_fen: r.amount_fen,
            proposed_measures: proposal.measures,
            proposed_amount_fen: proposal.amount.map(|a| a.get()),
            document,
            reason,
            decided_by: String::new(),
            decided_on: decided_on.to_string(),
        };
        Ok(decision_pb(&decisions::insert(&self.db, who, rid, &d).await?))
    }

    async fn decisions(&self, who: &Caller, programme_id: &str) -> ApiResult<pb::ListBudgetDecisionsResponse> {
        let book = self.book.current();
        let p = self.programme(programme_id).await?;
        check_programme(&book, who, Access::Read, &p, "read budget decisions")?;
        let decisions = crate::store::decisions::for_programme(&self.db, &p.id).await?;
        Ok(pb::ListBudgetDecisionsResponse { decisions: decisions.iter().map(decision_pb).collect() })
    }

    /// The 项目支出绩效自评表 of a self-evaluation.
    async fn export_table(
        &self,
        who: &Caller,
        r: &pb::ExportSelfEvaluationTableRequest,
    ) -> ApiResult<pb::ExportedTable> {
        use crate::tables::{fen_to_yuan, file};
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let e = self.evaluation(&r.evaluation_id).await?;
        let p = self.programme(&e.programme_id).await?;
        self.check_read(who, &p, &e.kind).await?;
        let (Some(input), Some(result)) = (
            unb64::<pb::ScoreSelfEvaluationRequest>("self-evaluation input", &e.input)?,
            unb64::<pb::ScoreSelfEvaluationResponse>("self-evaluation", &e.self_result)?,
        ) else {
            return Err(ApiError::precondition(
                "NOT_A_SELF_EVALUATION",
                format!("evaluation {} is not a unit self-evaluation", e.id),
            ));
        };
        let w = result.weights.clone().unwrap_or_default();
        let blank = || String::new();
        let mut rows: Vec<Vec<String>> = vec![
            vec![
                "项目名称".into(),
                p.name.clone(),
                "主管部门".into(),
                p.owner_role.clone(),
                "实施单位".into(),
                p.owner_unit.clone(),
                "项目责任人".into(),
                p.responsible_person.clone(),
            ],
            vec![
                "项目资金(元)".into(),
                "年初预算数".into(),
                "全年预算数".into(),
                "全年执行数".into(),
                "分值".into(),
                "执行率".into(),
                "得分".into(),
                blank(),
            ],
            vec![
                "年度资金总额".into(),
                fen_to_yuan(p.initial_budget_fen),
                fen_to_yuan(input.budget_fen),
                fen_to_yuan(input.executed_fen),
                w.execution.clone(),
                format!("{}%", result.execution_rate_percent),
                result.execution.clone(),
                blank(),
            ],
            vec![
                "一级指标".into(),
                "二级指标".into(),
                "三级指标".into(),
                "年度指标值".into(),
                "实际完成值".into(),
                "分值".into(),
                "得分".into(),
                "偏差原因".into(),
            ],
        ];
        for (i, s) in input.indicators.iter().zip(&result.indicators) {
            let level1 = match pb::IndicatorGroup::try_from(i.group) {
                Ok(pb::IndicatorGroup::Output) => format!("产出指标({}分)", w.output),
                Ok(pb::IndicatorGroup::Benefit) => format!("效益指标({}分)", w.benefit),
                _ => format!("满意度指标({}分)", w.satisfaction),
            };
            let (target, actual) = match pb::IndicatorDirection::try_from(i.direction) {
                Ok(pb::IndicatorDirection::Qualitative) => (i.target.clone(), format!("{}%", i.share_percent)),
                Ok(d) => {
                    let cmp = match d {
                        pb::IndicatorDirection::AtMost => "≤",
                        pb::IndicatorDirection::Exactly => "=",
                        _ => "≥",
                    };
                    (format!("{cmp}{}{}", i.target, i.unit), format!("{}{}", i.actual, i.unit))
                }
                Err(_) => (i.target.clone(), i.actual.clone()),
            };
            rows.push(vec![
                level1,
                i.level2.clone(),
                i.name.clone(),
                target,
                actual,
                s.points.clone(),
                s.score.clone(),
                i.deduction_reason.clone(),
            ]);
        }
        rows.push(vec![
            "总分".into(),
            blank(),
            blank(),
            blank(),
            blank(),
            "100".into(),
            result.total.clone(),
            format!("{}({})", result.grade, e.status),
        ]);
        let header = ["项目支出绩效自评表", "", "", "", "", "", "", ""];
        let content = civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
            .map_err(ApiError::Internal)?;
        let (filename, content_type) = file(&format!("self-evaluation-{}-{}", p.code, e.year), format);
        Ok(pb::ExportedTable { filename, content_type, content, rows: rows.len() as i64 })
    }

    fn score(&self, who: &Caller, r: &pb::ScoreSelfEvaluationRequest) -> ApiResult<pb::ScoreSelfEvaluationResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, EVALUATING, "score self-evaluations", region)
            .map_err(ApiError::from)?;
        let date = request::served_date("on_date", &r.on_date)?;
        score_self(&book, region, date, r)
    }

    /// A deduction-type part's template (the nearest in force for `region` on `date`: its own
    /// library's, else the one of the region above), with the request's target and actual.
    async fn deduction(
        &self,
        book: &PolicyBook,
        region: RegionCode,
        date: NaiveDate,
        i: usize,
        x: &pb::FrameworkPart,
    ) -> ApiResult<framework::Deduction> {
        let f = |n: &str| format!("parts[{i}].{n}");
        let code = x.template_code.trim();
        let t =
            super::indicators::template_in_force(&self.db, book, region, code, &date.to_string()).await?.ok_or_else(
                || ApiError::invalid(f("template_code"), format!("no template {code} in force for {region}")),
            )?;
        if !t.deduction {
            return Err(ApiError::invalid(
                f("template_code"),
                format!("template {code} is not a deduction-type indicator"),
            ));
        }
        let keep = match pb::IndicatorDirection::from_str_name(&t.direction) {
            Some(pb::IndicatorDirection::AtMost) => framework::Keep::AtMost,
            Some(pb::IndicatorDirection::AtLeast) => framework::Keep::AtLeast,
            Some(pb::IndicatorDirection::Exactly) => framework::Keep::Exactly,
            _ => {
                return Err(ApiError::invalid(
                    f("template_code"),
                    format!("template {code} is qualitative: a deduction needs a measured indicator"),
                ))
            }
        };
        let stored = |what: &str, v: &str| {
            v.trim().parse::<Decimal>().map_err(|e| ApiError::Internal(format!("template {code}'s {what}: {e}")))
        };
        Ok(framework::Deduction {
            template: t.code.clone(),
            template_region: t.region_code.clone(),
            template_source: t.source.clone(),
            unit: t.unit.clone(),
            keep,
            target: request::decimal(&f("target"), &x.target)?,
            actual: request::decimal(&f("actual"), &x.actual)?,
            step: stored("deduction_step", &t.deduction_step)?,
            floor: stored("deduction_floor", &t.deduction_floor)?,
        })
    }

    /// A third-party evaluator's assignment to `kind` of `p`, or PERMISSION_DENIED.
    async fn assigned(&self, who: &Caller, p: &ProgrammeRow, kind: &str) -> ApiResult<store::Assignment> {
        let book = self.book.current();
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.check_region(&book.regions, region).map_err(ApiError::from)?;
        store::assignment(&self.db, &p.id, kind, &who.subject)
            .await?
            .ok_or_else(|| Denied::Role { role: who.role, action: "reach an evaluation not assigned to it" }.into())
    }

    /// Read access to an evaluation: the programme's readers, or the evaluator assigned to it.
    async fn check_read(&self, who: &Caller, p: &ProgrammeRow, kind: &str) -> ApiResult<()> {
        if who.role == Role::Evaluator {
            self.assigned(who, p, kind).await.map(|_| ())
        } else {
            check_programme(&self.book.current(), who, Access::Read, p, "read evaluations").map(|_| ())
        }
    }

    async fn assign(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::AssignEvaluatorRequest,
    ) -> ApiResult<pb::EvaluatorAssignment> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "assign evaluators", region).map_err(ApiError::from)?;
        let kind = match pb::EvaluationKind::try_from(r.kind) {
            Ok(pb::EvaluationKind::Unspecified | pb::EvaluationKind::Self_) | Err(_) => {
                return Err(ApiError::invalid("kind", "an evaluation kind other than SELF (a unit evaluates itself)"))
            }
            Ok(k) => k,
        };
        let subject = short("evaluator_subject", &r.evaluator_subject, 100)?;
        let name = short("evaluator_name", &r.evaluator_name, 100)?;
        if subject.is_empty() || name.is_empty() {
            return Err(ApiError::invalid(
                if subject.is_empty() { "evaluator_subject" } else { "evaluator_name" },
                "required",
            ));
        }
        let code = r.evaluator_credit_code.trim();
        if code.len() != 18 || !code.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Err(ApiError::invalid("evaluator_credit_code", "the 18-character unified social credit code"));
        }
        let a = store::Assignment {
            programme_id: p.id.clone(),
            kind: kind_name(kind).into(),
            evaluator_subject: subject,
            evaluator_name: name,
            evaluator_credit_code: code.into(),
            assigned_by: String::new(),
            assigned_at: String::new(),
        };
        let a = store::assign(&self.db, who, rid, &p.region_code, &a).await?;
        Ok(pb::EvaluatorAssignment {
            programme_id: a.programme_id,
            kind: kind as i32,
            evaluator_subject: a.evaluator_subject,
            evaluator_name: a.evaluator_name,
            evaluator_credit_code: a.evaluator_credit_code,
            assigned_by: a.assigned_by,
            assigned_at: a.assigned_at,
        })
    }

    async fn programme(&self, id: &str) -> ApiResult<ProgrammeRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        programme_store::get(&self.db, id.trim())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("programme {}", id.trim())))
    }

    async fn evaluation(&self, id: &str) -> ApiResult<EvaluationRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("evaluation_id", "an evaluation id this service assigned"));
        }
        store::get(&self.db, id.trim()).await?.ok_or_else(|| ApiError::not_found(format!("evaluation {}", id.trim())))
    }

    /// A re-evaluation's gap to the evaluation it re-checks.
    async fn gap(&self, e: &EvaluationRow) -> ApiResult<Option<String>> {
        if e.supersedes.is_empty() {
            return Ok(None);
        }
        let Some(original) = store::get(&self.db, &e.supersedes).await? else { return Ok(None) };
        let (a, b) = (e.total.parse::<Decimal>(), original.total.parse::<Decimal>());
        Ok(match (a, b) {
            (Ok(a), Ok(b)) => Some((a - b).to_string()),
            _ => None,
        })
    }

    /// Fill in the actual of every self-evaluation indicator whose goal (the approved goals in
    /// force at the year's end, or on the evaluation date if earlier) names where it is kept,
    /// read there on the caller's behalf; a typed actual for such an indicator is refused.
    async fn read_actuals(
        &self,
        who: &Caller,
        rid: &str,
        p: &ProgrammeRow,
        evaluated_on: NaiveDate,
        s: &mut pb::ScoreSelfEvaluationRequest,
    ) -> ApiResult<Vec<(String, super::actuals::Provenance)>> {
        let year_end = i32::try_from(p.budget_year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, 12, 31))
            .ok_or_else(|| ApiError::Internal(format!("programme {} budget year {}", p.id, p.budget_year)))?;
        let as_of = evaluated_on.min(year_end);
        let Some(goals_row) = crate::store::goals::in_force(&self.db, &p.id, &as_of.to_string()).await? else {
            return Ok(Vec::new());
        };
        let goals: crate::rules::goals::Goals = serde_json::from_str(&goals_row.goals_json)
            .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", p.id, goals_row.version)))?;
        let mut read = Vec::new();
        for g in &goals.indicators {
            let Some(source) = &g.actual_source else { continue };
            let Some(i) = s.indicators.iter().position(|x| x.name.trim() == g.name) else { continue };
            if !s.indicators[i].actual.trim().is_empty() {
                return Err(ApiError::invalid(
                    format!("self_evaluation.indicators[{i}].actual"),
                    format!("'{}' is read from {}: leave its actual empty", g.name, source.service.name()),
                ));
            }
            let (value, provenance) =
                super::actuals::fetch(&self.peers, who, rid, (&p.region_code, p.budget_year), as_of, g, source).await?;
            s.indicators[i].actual = value.to_string();
            s.indicators[i].read = Some(provenance.to_pb());
            read.push((g.name.clone(), provenance));
        }
        Ok(read)
    }

    async fn submit(&self, who: &Caller, rid: &str, r: &pb::SubmitEvaluationRequest) -> ApiResult<pb::Evaluation> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let kind = match pb::EvaluationKind::try_from(r.kind) {
            Ok(k) if k != pb::EvaluationKind::Unspecified => k,
            _ => return Err(ApiError::invalid("kind", "an EvaluationKind")),
        };
        let assigned =
            if who.role == Role::Evaluator { Some(self.assigned(who, &p, kind_name(kind)).await?) } else { None };
        let region = match kind {
            _ if assigned.is_some() => {
                RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?
            }
            pb::EvaluationKind::FinanceKey | pb::EvaluationKind::LowerGovernment | pb::EvaluationKind::ReEvaluation => {
                let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
                who.authorize(&book.regions, Access::Write, FINANCE, "run finance evaluations", region)
                    .map_err(ApiError::from)?;
                region
            }
            pb::EvaluationKind::Self_ => {
                let region = check_programme(&book, who, Access::Write, &p, "self-evaluate")?;
                if who.role.as_str() != p.owner_role && who.role != Role::Admin {
                    return Err(
                        Denied::Role { role: who.role, action: "self-evaluate another bureau's programme" }.into()
                    );
                }
                region
            }
            _ => check_programme(&book, who, Access::Write, &p, "evaluate programmes")?,
        };
        let year = if r.year == 0 { p.budget_year } else { i64::from(r.year) };
        if year != p.budget_year {
            return Err(ApiError::invalid("year", format!("the programme's budget year {}", p.budget_year)));
        }
        let category = r.category.trim();
        if category.len() > 32 || !category.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(ApiError::invalid("category", "lower-case letters, digits and _, at most 32"));
        }
        let evaluated_on = request::date_or_today("evaluated_on", &r.evaluated_on)?;
        request::served_date("evaluated_on", &evaluated_on.to_string())?;
        let supersedes = r.supersedes.trim();
        if kind == pb::EvaluationKind::ReEvaluation {
            if !is_id(supersedes) {
                return Err(ApiError::invalid("supersedes", "a re-evaluation names the FINAL evaluation it re-checks"));
            }
            let original = self.evaluation(supersedes).await.map_err(|e| match e {
                ApiError::InvalidArgument(_) => {
                    ApiError::invalid("supersedes", "an evaluation id this service assigned")
                }
                other => other,
            })?;
            if original.programme_id != p.id {
                return Err(ApiError::invalid("supersedes", "an evaluation of the same programme"));
            }
        } else if !supersedes.is_empty() {
            return Err(ApiError::invalid("supersedes", "only a re-evaluation supersedes another"));
        }
        let deviation = short("deviation_reason", &r.deviation_reason, 500)?;
        let mut input = String::new();
        let (total, grade, self_result, parts_json, explanation) = if kind == pb::EvaluationKind::Self_ {
            if !r.parts.is_empty() {
                return Err(ApiError::invalid("parts", "a self-evaluation is scored by its indicators, not parts"));
            }
            let mut s = r.self_evaluation.clone().ok_or_else(|| ApiError::invalid("self_evaluation", "required"))?;
            if s.budget_fen == 0 {
                s.budget_fen = p.adjusted_budget_fen;
            } else if s.budget_fen != p.adjusted_budget_fen {
                return Err(ApiError::invalid("self_evaluation.budget_fen", "the programme's 全年预算数 applies"));
            }
            if s.deviation_reason.trim().is_empty() {
                s.deviation_reason = deviation.clone();
            }
            // Indicators whose actuals another service keeps are read there now, once.
            let read = self.read_actuals(who, rid, &p, evaluated_on, &mut s).await?;
            let mut scored = score_self(&book, region, evaluated_on, &s)?;
            if !read.is_empty() {
                let steps = read
                    .iter()
                    .map(|(name, prov)| super::actuals::step(&book, region, evaluated_on, name, prov))
                    .collect::<ApiResult<Vec<_>>>()?;
                scored.explanation.get_or_insert_with(Default::default).steps.extend(steps);
            }
            input = b64(s.encode_to_vec());
            let explanation = scored.explanation.clone().unwrap_or_default();
            (
                scored.total.clone(),
                scored.grade_code.clone(),
                b64(scored.encode_to_vec()),
                "[]".to_string(),
                explanation,
            )
        } else {
            if r.self_evaluation.is_some() {
                return Err(ApiError::invalid("self_evaluation", "only a self-evaluation is scored by indicators"));
            }
            let mut parts = Vec::with_capacity(r.parts.len());
            for (i, x) in r.parts.iter().enumerate() {
                let f = |n: &str| format!("parts[{i}].{n}");
                let dimension = match pb::FrameworkDimension::try_from(x.dimension) {
                    Ok(pb::FrameworkDimension::Decision) => Dimension::Decision,
                    Ok(pb::FrameworkDimension::Process) => Dimension::Process,
                    Ok(pb::FrameworkDimension::Output) => Dimension::Output,
                    Ok(pb::FrameworkDimension::Benefit) => Dimension::Benefit,
                    Ok(pb::FrameworkDimension::Other) => Dimension::Other,
                    _ => return Err(ApiError::invalid(f("dimension"), "DECISION, PROCESS, OUTPUT, BENEFIT or OTHER")),
                };
                let deduction = if x.template_code.trim().is_empty() {
                    if !x.target.trim().is_empty() || !x.actual.trim().is_empty() {
                        return Err(ApiError::invalid(
                            f("template_code"),
                            "a target and actual belong to a deduction-type indicator: name its template",
                        ));
                    }
                    None
                } else {
                    if !x.score.trim().is_empty() {
                        return Err(ApiError::invalid(
                            f("score"),
                            "a deduction-type indicator's score is computed: leave it empty",
                        ));
                    }
                    Some(self.deduction(&book, region, evaluated_on, i, x).await?)
                };
                parts.push(Part {
                    dimension,
                    name: short(&f("name"), &x.name, 100)?,
                    weight: request::decimal(&f("weight"), &x.weight)?,
                    score: if deduction.is_some() { Decimal::ZERO } else { request::decimal(&f("score"), &x.score)? },
                    deduction,
                });
            }
            let rule = matches!(
                kind,
                pb::EvaluationKind::Department
                    | pb::EvaluationKind::FinanceKey
                    | pb::EvaluationKind::Stage
                    | pb::EvaluationKind::ReEvaluation
            );
            let o = framework::score(&book, region, evaluated_on, &parts, rule, &deviation)?;
            let stored: Vec<StoredPart> = parts
                .iter()
                .zip(&o.scores)
                .zip(&r.parts)
                .map(|((p, s), x)| StoredPart {
                    dimension: pb::FrameworkDimension::try_from(x.dimension).unwrap_or_default().as_str_name().into(),
                    name: p.name.clone(),
                    weight: p.weight.normalize().to_string(),
                    score: s.to_string(),
                    template_code: p.deduction.as_ref().map(|d| d.template.clone()).unwrap_or_default(),
                    target: p.deduction.as_ref().map(|d| d.target.normalize().to_string()).unwrap_or_default(),
                    actual: p.deduction.as_ref().map(|d| d.actual.normalize().to_string()).unwrap_or_default(),
                })
                .collect();
            (
                o.total.to_string(),
                o.grade.code().to_string(),
                String::new(),
                serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?,
                mapping::explanation(&o.trace),
            )
        };
        let row = EvaluationRow {
            id: uuid::Uuid::new_v4().to_string(),
            programme_id: p.id.clone(),
            region_code: p.region_code.clone(),
            kind: kind_name(kind).into(),
            year,
            category: category.into(),
            evaluator: match &assigned {
                Some(a) => a.evaluator_name.clone(),
                None => short("evaluator", &r.evaluator, 100)?,
            },
            evaluator_credit_code: match &assigned {
                Some(a) => a.evaluator_credit_code.clone(),
                None => short("evaluator_credit_code", &r.evaluator_credit_code, 18)?,
            },
            total,
            grade,
            self_result,
            parts_json,
            explanation: b64(explanation.encode_to_vec()),
            status: String::new(),
            supersedes: supersedes.into(),
            superseded_by: String::new(),
            report_ref: short("report_ref", &r.report_ref, 200)?,
            deviation_reason: deviation,
            evaluated_on: evaluated_on.to_string(),
            submitted_by: String::new(),
            submitted_at: String::new(),
            review_notes: String::new(),
            reviewed_by: String::new(),
            reviewed_at: String::new(),
            version: 0,
            input,
        };
        let row = store::insert(&self.db, who, rid, &row).await?;
        let gap = self.gap(&row).await?;
        evaluation_pb(&row, gap)
    }

    async fn review(&self, who: &Caller, rid: &str, r: &pb::ReviewEvaluationRequest) -> ApiResult<pb::Evaluation> {
        let book = self.book.current();
        let e = self.evaluation(&r.evaluation_id).await?;
        let region = RegionCode::parse(&e.region_code).map_err(|x| ApiError::Internal(x.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "review evaluations", region).map_err(ApiError::from)?;
        let notes = short("notes", &r.notes, 500)?;
        let step = match pb::ReviewDecision::try_from(r.decision) {
            Ok(pb::ReviewDecision::Accept) => ("SUBMITTED", "FINAL"),
            Ok(pb::ReviewDecision::Return) => {
                if notes.is_empty() {
                    return Err(ApiError::invalid("notes", "a returned evaluation needs the reviewer's notes"));
                }
                ("SUBMITTED", "RETURNED")
            }
            Ok(pb::ReviewDecision::Publish) => ("FINAL", "PUBLISHED"),
            _ => return Err(ApiError::invalid("decision", "ACCEPT, RETURN or PUBLISH")),
        };
        let row = store::review(&self.db, who, rid, &e.id, r.expected_version, step, &notes).await?;
        let gap = self.gap(&row).await?;
        evaluation_pb(&row, gap)
    }

    async fn get(&self, who: &Caller, id: &str) -> ApiResult<pb::Evaluation> {
        let e = self.evaluation(id).await?;
        let p = self.programme(&e.programme_id).await?;
        self.check_read(who, &p, &e.kind).await?;
        let gap = self.gap(&e).await?;
        evaluation_pb(&e, gap)
    }

    async fn list(&self, who: &Caller, programme_id: &str) -> ApiResult<pb::ListEvaluationsResponse> {
        let p = self.programme(programme_id).await?;
        if who.role != Role::Evaluator {
            self.check_read(who, &p, "").await?;
        }
        let mut out = Vec::new();
        for e in store::for_programme(&self.db, &p.id).await? {
            // An evaluator sees the kinds assigned to it only.
            if who.role == Role::Evaluator && self.assigned(who, &p, &e.kind).await.is_err() {
                continue;
            }
            let gap = self.gap(&e).await?;
            out.push(evaluation_pb(&e, gap)?);
        }
        Ok(pb::ListEvaluationsResponse { evaluations: out })
    }

    async fn region_scores(
        &self,
        who: &Caller,
        r: &pb::ListRegionScoresRequest,
    ) -> ApiResult<pb::ListRegionScoresResponse> {
        let book = self.book.current();
        let city = request::region_code(&book, "city_code", &r.city_code)?;
        who.authorize(&book.regions, Access::Read, &[Role::Finance, Role::CivilAffairs], "read region scores", city)
            .map_err(ApiError::from)?;
        let category = r.category.trim();
        if category.is_empty() || category.len() > 32 {
            return Err(ApiError::invalid("category", "the category scored, e.g. assistance"));
        }
        let date = crate::rules::year_end(r.year)?;
        let counties: Vec<_> = book
            .regions
            .children(city)
            .into_iter()
            .filter(|c| matches!(c.kind, RegionKind::District | RegionKind::County | RegionKind::CountyLevelCity))
            .collect();
        if counties.is_empty() {
            return Err(ApiError::invalid("city_code", "a city with county-level governments under it"));
        }
        let finals = store::final_for_scores(&self.db, &region_prefix(city), i64::from(r.year), category).await?;
        let mut scores = Vec::new();
        let mut missing = Vec::new();
        let mut lines = Vec::new();
        for c in &counties {
            let best = finals
                .iter()
                .filter(|e| e.region_code == c.code.as_str())
                .filter_map(|e| precedence(&e.kind).map(|rank| (rank, e)))
                .fold(None::<(u8, &EvaluationRow)>, |acc, (rank, e)| match acc {
                    Some((best, _)) if best > rank => acc,
                    _ => Some((rank, e)),
                });
            match best {
                Some((_, e)) => {
                    lines.push(format!("{} {}: {} ({})", c.code, c.name, e.total, e.kind));
                    scores.push(pb::RegionScore {
                        region_code: c.code.to_string(),
                        region_name: c.name.clone(),
                        score: e.total.clone(),
                        grade: grade_of(&e.grade).map(|g| g.chinese().to_string()).unwrap_or_default(),
                        evaluation_id: e.id.clone(),
                        kind: pb::EvaluationKind::from_str_name(&format!("EVALUATION_KIND_{}", e.kind))
                            .unwrap_or_default() as i32,
                    });
                }
                None => missing.push(c),
            }
        }
        if !missing.is_empty() && !r.allow_missing {
            let names: Vec<String> = missing.iter().map(|c| format!("{} {}", c.code, c.name)).collect();
            return Err(ApiError::precondition(
                "MISSING_SCORES",
                format!(
                    "no FINAL {category} evaluation of {} for these county-level governments: {} (a missing score is never taken as 0)",
                    r.year,
                    names.join(", ")
                ),
            ));
        }
        let mut trace = Trace::default();
        trace.push(Step {
            rule_id: "civic.scores.precedence".into(),
            description: format!("{city} 所辖县(市、区) {} 年度“{category}”类评价得分", r.year),
            formula: lines.join("; "),
            result: format!("{} 个有得分,{} 个缺", scores.len(), missing.len()),
            parameters: vec![],
            source: Some(
                book.rule_source("civic.scores.precedence", city, date)
                    .map_err(|e| ApiError::domain("city_code", e))?,
            ),
        });
        Ok(pb::ListRegionScoresResponse {
            scores,
            missing: missing.iter().map(|c| c.code.to_string()).collect(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }

    async fn propose(
        &self,
        who: &Caller,
        r: &pb::ProposeBudgetAdjustmentRequest,
    ) -> ApiResult<pb::ProposeBudgetAdjustmentResponse> {
        let book = self.book.current();
        if r.evaluation_ids.is_empty() || r.evaluation_ids.len() > 1000 {
            return Err(ApiError::invalid("evaluation_ids", "from 1 to 1000 evaluation ids"));
        }
        if r.base_fen < 0 {
            return Err(ApiError::invalid("base_fen", "must not be negative"));
        }
        let mut proposals = Vec::new();
        let mut trace = Trace::default();
        for id in &r.evaluation_ids {
            let e = self.evaluation(id).await?;
            let region = RegionCode::parse(&e.region_code).map_err(|x| ApiError::Internal(x.to_string()))?;
            who.authorize(&book.regions, Access::Read, FINANCE, "propose budget adjustments", region)
                .map_err(ApiError::from)?;
            if !matches!(e.status.as_str(), "FINAL" | "PUBLISHED") {
                return Err(ApiError::precondition(
                    "NOT_FINAL",
                    format!("evaluation {} is {}: only FINAL results are applied", e.id, e.status),
                ));
            }
            if !e.superseded_by.is_empty() {
                return Err(ApiError::precondition(
                    "SUPERSEDED",
                    format!("evaluation {} was superseded by re-evaluation {}: apply that one", e.id, e.superseded_by),
                ));
            }
            let grade = grade_of(&e.grade).ok_or_else(|| ApiError::Internal(format!("stored grade {}", e.grade)))?;
            let on = request::served_date("evaluated_on", &e.evaluated_on)?;
            let pr = results::propose(&book, region, on, grade, Fen::new(r.base_fen))?;
            trace.steps.extend(pr.trace.steps);
            proposals.push(pb::BudgetProposal {
                evaluation_id: e.id.clone(),
                programme_id: e.programme_id.clone(),
                grade: grade.chinese().into(),
                measures: pr.measures,
                has_rate: pr.rate.is_some(),
                rate: pr.rate.map(|x| x.normalize().to_string()).unwrap_or_default(),
                amount_fen: pr.amount.map(|a| a.get()).unwrap_or(0),
            });
        }
        Ok(pb::ProposeBudgetAdjustmentResponse { proposals, explanation: Some(mapping::explanation(&trace)) })
    }
}

#[tonic::async_trait]
impl EvaluationService for EvaluationApi {
    #[tracing::instrument(skip_all)]
    async fn score_self_evaluation(
        &self,
        req: Request<pb::ScoreSelfEvaluationRequest>,
    ) -> Result<Response<pb::ScoreSelfEvaluationResponse>, Status> {
        let who = caller(&req)?;
        respond(self.score(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_evaluation(
        &self,
        req: Request<pb::SubmitEvaluationRequest>,
    ) -> Result<Response<pb::Evaluation>, Status> {
        let who = caller(&req)?;
        respond(self.submit(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn review_evaluation(
        &self,
        req: Request<pb::ReviewEvaluationRequest>,
    ) -> Result<Response<pb::Evaluation>, Status> {
        let who = caller(&req)?;
        respond(self.review(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn get_evaluation(&self, req: Request<pb::GetEvaluationRequest>) -> Result<Response<pb::Evaluation>, Status> {
        let who = caller(&req)?;
        respond(self.get(&who, &req.get_ref().evaluation_id).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_evaluations(
        &self,
        req: Request<pb::ListEvaluationsRequest>,
    ) -> Result<Response<pb::ListEvaluationsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list(&who, &req.get_ref().programme_id).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_region_scores(
        &self,
        req: Request<pb::ListRegionScoresRequest>,
    ) -> Result<Response<pb::ListRegionScoresResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let answer = self.region_scores(&who, r).await;
        respond(
            civic_runtime::audit::read_on_behalf(
                &self.db,
                &who,
                &request_id(&req),
                || {
                    civic_runtime::audit::Change::read(
                        "budget.region_scores.read_on_behalf",
                        "region_scores",
                        format!("{} {}", r.category, r.year),
                        r.city_code.clone(),
                        serde_json::json!({"category": r.category, "year": r.year}),
                    )
                },
                answer,
            )
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn assign_evaluator(
        &self,
        req: Request<pb::AssignEvaluatorRequest>,
    ) -> Result<Response<pb::EvaluatorAssignment>, Status> {
        let who = caller(&req)?;
        respond(self.assign(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn record_budget_decision(
        &self,
        req: Request<pb::RecordBudgetDecisionRequest>,
    ) -> Result<Response<pb::BudgetDecision>, Status> {
        let who = caller(&req)?;
        respond(self.decide(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_budget_decisions(
        &self,
        req: Request<pb::ListBudgetDecisionsRequest>,
    ) -> Result<Response<pb::ListBudgetDecisionsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.decisions(&who, &req.get_ref().programme_id).await)
    }

    #[tracing::instrument(skip_all)]
    async fn export_self_evaluation_table(
        &self,
        req: Request<pb::ExportSelfEvaluationTableRequest>,
    ) -> Result<Response<pb::ExportedTable>, Status> {
        let who = caller(&req)?;
        respond(self.export_table(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn propose_budget_adjustment(
        &self,
        req: Request<pb::ProposeBudgetAdjustmentRequest>,
    ) -> Result<Response<pb::ProposeBudgetAdjustmentResponse>, Status> {
        let who = caller(&req)?;
        respond(self.propose(&who, req.get_ref()).await)
    }
}
