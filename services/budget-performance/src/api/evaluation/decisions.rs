//! What results do (结果应用, 驻政〔2020〕37号 附件2 三(十)): proposed measures, finance's
//! recorded decisions, and the region scores that feed the city subsidy split.

use civic_domain::{
    explanation::{Step, Trace},
    region::RegionKind,
    Fen, RegionCode,
};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    mapping,
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, EvaluationApi, FINANCE};
use crate::api::programmes::check_programme;
use crate::{
    rules::results,
    store::evaluations::{self as store, EvaluationRow},
};

impl EvaluationApi {
    pub(super) async fn decide(
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

    pub(super) async fn decisions(
        &self,
        who: &Caller,
        r: &pb::ListBudgetDecisionsRequest,
    ) -> ApiResult<pb::ListBudgetDecisionsResponse> {
        let book = self.book.current();
        let size = request::page_size("page_size", r.page_size)?;
        // The token's key is "<year>_<recorded at>".
        let after = match crate::api::keyset_token(&r.page_token)? {
            None => None,
            Some((key, id)) => match key.split_once('_').and_then(|(y, at)| Some((y.parse::<i64>().ok()?, at))) {
                Some((year, at)) => Some((year, at.to_string(), id)),
                None => return Err(ApiError::invalid("page_token", "not a token this service issued")),
            },
        };
        let p = self.programme(&r.programme_id).await?;
        check_programme(&book, who, Access::Read, &p, "read budget decisions")?;
        let rows = crate::store::decisions::for_programme(
            &self.db,
            &p.id,
            after.as_ref().map(|(y, at, id)| (*y, at.as_str(), id.as_str())),
            size + 1,
        )
        .await?;
        let (rows, next_page_token) =
            crate::api::page_of(rows, size, |(at, d)| crate::api::next_token(&format!("{}_{at}", d.next_year), &d.id));
        Ok(pb::ListBudgetDecisionsResponse {
            decisions: rows.iter().map(|(_, d)| decision_pb(d)).collect(),
            next_page_token,
        })
    }

    pub(super) async fn propose(
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

    pub(super) async fn region_scores(
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
}
