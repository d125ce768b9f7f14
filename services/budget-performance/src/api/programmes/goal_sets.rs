//! Goals checked, submitted, reviewed (优/良 approve, 中 returns, 差 rejects), amended with a
//! budget adjustment, and read (a version, or the set in force on a day).

use civic_domain::{Fen, RegionCode};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::{Access, Caller, Role},
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, ProgrammeApi};
use crate::{
    rules::goals::{self},
    store::goals::{self as goal_store, Review},
};

impl ProgrammeApi {
    pub(super) fn check(&self, who: &Caller, r: &pb::CheckGoalsRequest) -> ApiResult<pb::CheckGoalsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &Role::ALL, "check goals", region).map_err(ApiError::from)?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        if r.adjusted_budget_fen <= 0 {
            return Err(ApiError::invalid("adjusted_budget_fen", "全年预算数 is required and positive"));
        }
        let goals = goals_from(r.goals.as_ref())?;
        let findings = goals::check(&book, region, date, &goals, Fen::new(r.adjusted_budget_fen))?;
        Ok(pb::CheckGoalsResponse {
            ok: !goals::blocked(&findings),
            findings: findings.iter().map(|f| finding_pb(&book, f)).collect(),
        })
    }

    pub(super) async fn submit(&self, who: &Caller, rid: &str, r: &pb::SubmitGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = check_programme(&book, who, Access::Write, &p, "submit goals")?;
        let goals = goals_from(r.goals.as_ref())?;
        self.check_templates(&book, region, &goals, &request::china_today().to_string()).await?;
        let findings = goals::check(&book, region, request::china_today(), &goals, Fen::new(p.adjusted_budget_fen))?;
        if goals::blocked(&findings) {
            return Err(blocked_error(&findings));
        }
        let set = new_set(&p.id, &goals, &findings)?;
        let row = goal_store::submit(&self.db, who, rid, &p.region_code, &set, r.expected_version).await?;
        goal_set_pb(&book, &row)
    }

    pub(super) async fn review(&self, who: &Caller, rid: &str, r: &pb::ReviewGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "review goals", region).map_err(ApiError::from)?;
        let grade = match pb::GoalReviewGrade::try_from(r.grade) {
            Ok(g) if g != pb::GoalReviewGrade::Unspecified => g,
            _ => return Err(ApiError::invalid("grade", "EXCELLENT, GOOD, FAIR or POOR (优/良/中/差)")),
        };
        let opinion = text("opinion", &r.opinion, false)?;
        // Returned or rejected goals need the reviewer's words; so do 良 (amend as advised).
        if grade != pb::GoalReviewGrade::Excellent && opinion.is_empty() {
            return Err(ApiError::invalid("opinion", "the review opinion is required unless the goals are graded 优"));
        }
        // Approved goals are the year's goals, whenever the review falls (they are issued with
        // the budget, 三(七)); an amendment applies from its adjustment's date.
        let year_start = format!("{}-01-01", p.budget_year);
        let (status, in_force) = match grade {
            pb::GoalReviewGrade::Excellent | pb::GoalReviewGrade::Good => ("APPROVED", year_start.as_str()),
            pb::GoalReviewGrade::Fair => ("RETURNED", ""),
            _ => ("REJECTED", ""),
        };
        book.rule_source("budget.goal.review", region, request::china_today())
            .map_err(|e| ApiError::domain("grade", e))?;
        let review = Review { status, grade: grade.as_str_name(), opinion: &opinion, in_force_from: in_force };
        let row = goal_store::review(&self.db, who, rid, &p.region_code, &p.id, r.version, &review).await?;
        goal_set_pb(&book, &row)
    }

    pub(super) async fn amend(&self, who: &Caller, rid: &str, r: &pb::AmendGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = check_programme(&book, who, Access::Write, &p, "amend goals")?;
        let adjustment = r.adjustment.as_ref().filter(|a| !a.document.trim().is_empty()).ok_or_else(|| {
            let clause = book
                .rule("budget.goal.change_procedure", region, request::china_today())
                .map(|c| format!("{} {}", c.document, c.clause))
                .unwrap_or_default();
            ApiError::precondition(
                "ADJUSTMENT_REQUIRED",
                format!(
                    "approved goals change only through a budget adjustment ({clause}): name its document and date"
                ),
            )
        })?;
        let document = text("adjustment.document", &adjustment.document, true)?;
        let date = request::served_date("adjustment.date", &adjustment.date)?;
        let goals = goals_from(r.goals.as_ref())?;
        self.check_templates(&book, region, &goals, &date.to_string()).await?;
        let findings = goals::check(&book, region, date, &goals, Fen::new(p.adjusted_budget_fen))?;
        if goals::blocked(&findings) {
            return Err(blocked_error(&findings));
        }
        let mut set = new_set(&p.id, &goals, &findings)?;
        set.in_force_from = date.to_string();
        set.adjustment_document = document;
        set.adjustment_date = date.to_string();
        let row = goal_store::amend(&self.db, who, rid, &p.region_code, &set, r.expected_version).await?;
        goal_set_pb(&book, &row)
    }

    pub(super) async fn get_goals(&self, who: &Caller, r: &pb::GetGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        check_programme(&book, who, Access::Read, &p, "read goals")?;
        let row = if !r.in_force_on.trim().is_empty() {
            let on = request::served_date("in_force_on", &r.in_force_on)?;
            goal_store::in_force(&self.db, &p.id, &on.to_string())
                .await?
                .ok_or_else(|| ApiError::not_found(format!("approved goals of programme {} in force on {on}", p.id)))?
        } else if r.version > 0 {
            goal_store::version(&self.db, &p.id, r.version).await?.ok_or_else(|| {
                ApiError::not_found(format!("version {} of the goals of programme {}", r.version, p.id))
            })?
        } else {
            goal_store::latest(&self.db, &p.id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("goals of programme {}", p.id)))?
        };
        goal_set_pb(&book, &row)
    }
}
