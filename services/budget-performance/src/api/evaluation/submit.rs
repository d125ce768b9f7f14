//! Evaluations scored and stored: the self-evaluation scorer, submission of every kind (a
//! unit's self-evaluation by its indicators, the others by their framework's parts), review,
//! reading.

use chrono::NaiveDate;
use civic_domain::{policy::PolicyBook, RegionCode};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::{Access, Caller, Denied, Role},
    mapping,
    request::{self},
    ApiError, ApiResult,
};
use prost::Message;
use rust_decimal::Decimal;

use super::{convert::*, EvaluationApi, FINANCE};
use crate::api::{is_id, programmes::check_programme};
use crate::{
    rules::framework::{self, Dimension, Part},
    store::{
        evaluations::{self as store, EvaluationRow},
        programmes::ProgrammeRow,
    },
};

impl EvaluationApi {
    pub(super) fn score(
        &self,
        who: &Caller,
        r: &pb::ScoreSelfEvaluationRequest,
    ) -> ApiResult<pb::ScoreSelfEvaluationResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, EVALUATING, "score self-evaluations", region)
            .map_err(ApiError::from)?;
        let date = request::served_date("on_date", &r.on_date)?;
        let basic = civic_runtime::mapping::basic_view(r.explanation_view).ok_or_else(|| {
            ApiError::invalid("explanation_view", format!("no explanation view {}", r.explanation_view))
        })?;
        score_self(&book, region, date, r, basic)
    }

    /// A deduction-type part's template (the nearest in force for `region` on `date`: its own
    /// library's, else the one of the region above), with the request's target and actual.
    pub(super) async fn deduction(
        &self,
        book: &PolicyBook,
        region: RegionCode,
        date: NaiveDate,
        i: usize,
        x: &pb::FrameworkPart,
    ) -> ApiResult<framework::Deduction> {
        let f = |n: &str| format!("parts[{i}].{n}");
        let code = x.template_code.trim();
        let t = crate::api::indicators::template_in_force(&self.db, book, region, code, &date.to_string())
            .await?
            .ok_or_else(|| {
                ApiError::invalid(f("template_code"), format!("no template {code} in force for {region}"))
            })?;
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

    /// Fill in the actual of every self-evaluation indicator whose goal (the approved goals in
    /// force at the year's end, or on the evaluation date if earlier) names where it is kept,
    /// read there on the caller's behalf; a typed actual for such an indicator is refused.
    pub(super) async fn read_actuals(
        &self,
        who: &Caller,
        rid: &str,
        p: &ProgrammeRow,
        evaluated_on: NaiveDate,
        s: &mut pb::ScoreSelfEvaluationRequest,
    ) -> ApiResult<Vec<(String, crate::api::actuals::Provenance)>> {
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
                crate::api::actuals::fetch(&self.peers, who, rid, (&p.region_code, p.budget_year), as_of, g, source)
                    .await?;
            s.indicators[i].actual = value.to_string();
            s.indicators[i].read = Some(provenance.to_pb());
            read.push((g.name.clone(), provenance));
        }
        Ok(read)
    }

    pub(super) async fn submit(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::SubmitEvaluationRequest,
    ) -> ApiResult<pb::Evaluation> {
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
            let mut scored = score_self(&book, region, evaluated_on, &s, false)?;
            if !read.is_empty() {
                let steps = read
                    .iter()
                    .map(|(name, prov)| crate::api::actuals::step(&book, region, evaluated_on, name, prov))
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

    pub(super) async fn review(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::ReviewEvaluationRequest,
    ) -> ApiResult<pb::Evaluation> {
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

    pub(super) async fn get(&self, who: &Caller, id: &str) -> ApiResult<pb::Evaluation> {
        let e = self.evaluation(id).await?;
        let p = self.programme(&e.programme_id).await?;
        self.check_read(who, &p, &e.kind).await?;
        let gap = self.gap(&e).await?;
        evaluation_pb(&e, gap)
    }

    pub(super) async fn list(
        &self,
        who: &Caller,
        r: &pb::ListEvaluationsRequest,
    ) -> ApiResult<pb::ListEvaluationsResponse> {
        let size = request::page_size("page_size", r.page_size)?;
        let after = crate::api::keyset_token(&r.page_token)?;
        let p = self.programme(&r.programme_id).await?;
        if who.role != Role::Evaluator {
            self.check_read(who, &p, "").await?;
        }
        let rows =
            store::for_programme(&self.db, &p.id, after.as_ref().map(|(at, id)| (at.as_str(), id.as_str())), size + 1)
                .await?;
        let (rows, next_page_token) =
            crate::api::page_of(rows, size, |e| crate::api::next_token(&e.submitted_at, &e.id));
        let mut out = Vec::new();
        for e in rows {
            // An evaluator sees the kinds assigned to it only.
            if who.role == Role::Evaluator && self.assigned(who, &p, &e.kind).await.is_err() {
                continue;
            }
            let gap = self.gap(&e).await?;
            out.push(evaluation_pb(&e, gap)?);
        }
        Ok(pb::ListEvaluationsResponse { evaluations: out, next_page_token })
    }
}
