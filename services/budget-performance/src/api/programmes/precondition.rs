//! The budget precondition other systems ask (三(七), 三(六)) and goal coverage.

use civic_domain::Fen;
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller},
    mapping,
    request::{self},
    ApiError, ApiResult,
};
use rust_decimal::Decimal;

use super::{convert::*, ProgrammeApi};
use crate::{
    rules::goals::Finding,
    store::{
        goals::{self as goal_store},
        programmes::{self as store},
    },
};

impl ProgrammeApi {
    pub(super) async fn precondition(
        &self,
        who: &Caller,
        r: &pb::CheckBudgetPreconditionRequest,
    ) -> ApiResult<pb::CheckBudgetPreconditionResponse> {
        let book = self.book.current();
        if r.programme_ids.is_empty() || r.programme_ids.len() > 1000 {
            return Err(ApiError::invalid("programme_ids", "from 1 to 1000 programme ids"));
        }
        let today = request::china_today();
        let mut results = Vec::with_capacity(r.programme_ids.len());
        for id in &r.programme_ids {
            let p = self.programme(id).await?;
            let region = check_programme(&book, who, Access::Read, &p, "check the budget precondition")?;
            let mut reasons = Vec::new();
            if !goal_store::has_approved(&self.db, &p.id).await? {
                let latest = goal_store::latest(&self.db, &p.id).await?;
                let source = book
                    .rule_source("budget.goal.precondition", region, today)
                    .map_err(|e| ApiError::domain("programme_ids", e))?;
                let message = match latest {
                    None => "未设置绩效目标，不得安排预算".to_string(),
                    Some(l) => format!("绩效目标(第{}版)状态为 {}，审核未通过，不得安排预算", l.version, l.status),
                };
                reasons.push(Finding::new("NO_APPROVED_GOALS", String::new(), message, true, &source));
            }
            if p.is_new && p.is_major {
                // 三(六): the assessment's result is a required element of the budget request.
                let source = book
                    .rule_source("budget.ex_ante.required", region, today)
                    .map_err(|e| ApiError::domain("programme_ids", e))?;
                match crate::store::ex_ante::latest(&self.db, &p.id).await? {
                    None => reasons.push(Finding::new(
                        "EX_ANTE_REQUIRED",
                        String::new(),
                        "新出台的重大政策、项目须有事前绩效评估结论".into(),
                        true,
                        &source,
                    )),
                    Some(a) if a.conclusion == "NOT_SUPPORTED" => reasons.push(Finding::new(
                        "EX_ANTE_NOT_SUPPORTED",
                        String::new(),
                        format!("事前绩效评估结论为不予支持({} 分,{})", a.total, a.report_ref),
                        true,
                        &source,
                    )),
                    Some(_) => {}
                }
            }
            results.push(pb::PreconditionResult {
                programme_id: p.id.clone(),
                allowed: reasons.is_empty(),
                reasons: reasons.iter().map(|f| finding_pb(&book, f)).collect(),
            });
        }
        Ok(pb::CheckBudgetPreconditionResponse { results })
    }

    pub(super) async fn coverage(
        &self,
        who: &Caller,
        r: &pb::GoalCoverageRequest,
    ) -> ApiResult<pb::GoalCoverageResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, FINANCE, "read goal coverage", region).map_err(ApiError::from)?;
        let year = r.budget_year;
        let date = crate::rules::year_end(year)?;
        // The region's own programmes (a city's are those of the city level, not its counties').
        let rows: Vec<_> = store::coverage(&self.db, &region_prefix(region), i64::from(year))
            .await?
            .into_iter()
            .filter(|c| c.programme.region_code == region.as_str())
            .collect();
        let count = rows.len() as i64;
        let approved = rows.iter().filter(|c| c.approved).count() as i64;
        let mut amount: i64 = 0;
        let mut amount_approved: i64 = 0;
        for c in &rows {
            let fen = c.programme.adjusted_budget_fen;
            amount = amount.checked_add(fen).ok_or_else(|| ApiError::Internal("coverage amount overflow".into()))?;
            if c.approved {
                amount_approved = amount_approved
                    .checked_add(fen)
                    .ok_or_else(|| ApiError::Internal("coverage amount overflow".into()))?;
            }
        }
        let target = book
            .value_if_in_force("budget.goal.coverage.target_percent", region, date)
            .map_err(|e| ApiError::domain("region_code", e))?
            .filter(|t| t.defined_for == region);
        let count_pct = percent(approved, count);
        let amount_pct = percent(amount_approved, amount);
        let met = target.as_ref().map(|t| {
            let cmp = t.cmp.unwrap_or(civic_domain::compare::Cmp::Ge);
            let exact = |a: i64, b: i64| {
                if b == 0 {
                    Decimal::ZERO
                } else {
                    Decimal::from(a) * Decimal::ONE_HUNDRED / Decimal::from(b)
                }
            };
            count > 0
                && cmp.holds(exact(approved, count), t.value)
                && cmp.holds(exact(amount_approved, amount), t.value)
        });
        let mut trace = civic_domain::explanation::Trace::default();
        let rule = book.rule_source("budget.goal.coverage", region, date).ok();
        trace.push(civic_domain::explanation::Step {
            rule_id: "budget.goal.coverage".into(),
            description: format!("{year} 年 {region} 本级预算项目绩效目标覆盖率(已审核通过)"),
            formula: format!(
                "个数 {approved} ÷ {count} = {count_pct}%;金额 {} ÷ {} = {amount_pct}%{}",
                Fen::new(amount_approved).yuan_text(),
                Fen::new(amount).yuan_text(),
                match &target {
                    Some(t) => format!(";目标 {}%{}", t.value.normalize(), t.cmp.map(|c| c.word()).unwrap_or_default()),
                    None => ";本地区未设覆盖率目标".into(),
                }
            ),
            result: match met {
                Some(true) => "达到目标".into(),
                Some(false) => "未达到目标".into(),
                None => "无目标".into(),
            },
            parameters: target.iter().map(|t| t.to_use()).collect(),
            source: rule,
        });
        Ok(pb::GoalCoverageResponse {
            programmes: count,
            with_approved_goals: approved,
            count_percent: count_pct,
            amount_fen: amount,
            amount_with_approved_goals_fen: amount_approved,
            amount_percent: amount_pct,
            target_percent: target.as_ref().map(|t| t.value.normalize().to_string()).unwrap_or_default(),
            target_met: met.unwrap_or(false),
            missing: rows
                .iter()
                .filter(|c| !c.approved)
                .map(|c| pb::ProgrammeRef {
                    id: c.programme.id.clone(),
                    region_code: c.programme.region_code.clone(),
                    code: c.programme.code.clone(),
                    name: c.programme.name.clone(),
                    adjusted_budget_fen: c.programme.adjusted_budget_fen,
                })
                .collect(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}
