//! One programme's checkpoint recorded (its goal actuals read from the services that keep
//! them), and the pure evaluation of figures against the rules.

use chrono::Datelike;
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::{Access, Caller},
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, MonitoringApi};
use crate::api::programmes::check_programme;
use crate::{
    rules::{
        goals::Goals,
        monitoring::{self},
    },
    store::{
        goals as goal_store,
        monitoring::{self as store},
        programmes::ProgrammeRow,
    },
};

impl MonitoringApi {
    pub(super) async fn record(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::RecordMonitoringRequest,
    ) -> ApiResult<pb::RecordMonitoringResponse> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = check_programme(&book, who, Access::Write, &p, "record monitoring")?;
        let as_of = request::served_date("as_of", &r.as_of)?;
        if i64::from(as_of.year()) != p.budget_year {
            return Err(ApiError::invalid(
                "as_of",
                format!("a checkpoint in the programme's budget year {}", p.budget_year),
            ));
        }
        if as_of > request::china_today() {
            return Err(ApiError::invalid("as_of", "a checkpoint that has passed"));
        }
        let correction = note("correction_reason", &r.correction_reason, false)?;
        let goals_row = goal_store::in_force(&self.db, &p.id, &as_of.to_string()).await?.ok_or_else(|| {
            ApiError::precondition(
                "NO_APPROVED_GOALS",
                format!(
                    "programme {} has no approved goals in force on {as_of}: monitoring measures progress against them",
                    p.id
                ),
            )
        })?;
        let f = r.figures.as_ref().ok_or_else(|| ApiError::invalid("figures", "the checkpoint's money is required"))?;
        let rules = monitoring::rule_set(&book, region, as_of, &requested_rules(r.rules.as_ref())?)?;
        // Indicators whose actuals another service keeps are read there, before anything is
        // stored: a failure leaves nothing half-written.
        let (indicators, fetched) = self.read_actuals(who, rid, &p, &goals_row, as_of, &r.indicators).await?;
        let (mut row, raised, outcome) =
            checkpoint(&book, region, as_of, &p, &goals_row, f, &indicators, &rules, &correction)?;
        let mut evaluation = outcome_pb(&outcome);
        if !fetched.is_empty() {
            let mut stored: Vec<StoredProgress> = serde_json::from_str(&row.indicators_json)
                .map_err(|e| ApiError::Internal(format!("monitoring record indicators: {e}")))?;
            for s in stored.iter_mut() {
                s.actual = fetched.iter().find(|(n, _)| *n == s.name).map(|(_, p)| p.clone());
            }
            row.indicators_json = serde_json::to_string(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
            let steps = fetched
                .iter()
                .map(|(name, prov)| crate::api::actuals::step(&book, region, as_of, name, prov))
                .collect::<ApiResult<Vec<_>>>()?;
            evaluation.explanation.get_or_insert_with(Default::default).steps.extend(steps);
        }
        let (row, warnings) =
            store::record(&self.db, who, rid, &p.region_code, &row, &rules.to_json(), &raised, !correction.is_empty())
                .await?;
        record_pb(&row, &warnings, evaluation)
    }

    /// The request's indicators with every sourced one read from its service (the clerk may
    /// give its likelihood, cause and measures, never its progress), and what was read.
    pub(super) async fn read_actuals(
        &self,
        who: &Caller,
        rid: &str,
        p: &ProgrammeRow,
        goals_row: &crate::store::goals::GoalSetRow,
        as_of: chrono::NaiveDate,
        given: &[pb::RecordedProgress],
    ) -> ApiResult<(Vec<pb::RecordedProgress>, Vec<(String, crate::api::actuals::Provenance)>)> {
        let goals: Goals = serde_json::from_str(&goals_row.goals_json)
            .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", p.id, goals_row.version)))?;
        let mut indicators = given.to_vec();
        let mut fetched = Vec::new();
        for g in &goals.indicators {
            let Some(source) = &g.actual_source else { continue };
            if let Some(i) = indicators.iter().position(|x| x.name.trim() == g.name && !x.progress.trim().is_empty()) {
                return Err(ApiError::invalid(
                    format!("indicators[{i}].progress"),
                    format!("'{}' is read from {}: leave its progress empty", g.name, source.service.name()),
                ));
            }
            let (value, provenance) =
                crate::api::actuals::fetch(&self.peers, who, rid, (&p.region_code, p.budget_year), as_of, g, source)
                    .await?;
            match indicators.iter_mut().find(|x| x.name.trim() == g.name) {
                Some(x) => x.progress = value.to_string(),
                None => indicators.push(pb::RecordedProgress {
                    name: g.name.clone(),
                    progress: value.to_string(),
                    ..Default::default()
                }),
            }
            fetched.push((g.name.clone(), provenance));
        }
        Ok((indicators, fetched))
    }

    pub(super) fn evaluate(
        &self,
        who: &Caller,
        r: &pb::EvaluateMonitoringRequest,
    ) -> ApiResult<pb::EvaluateMonitoringResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, MONITORING, "evaluate monitoring", region)
            .map_err(ApiError::from)?;
        let as_of = request::served_date("as_of", &r.as_of)?;
        let figures = figures(r.figures.as_ref(), &r.indicators)?;
        let rules = monitoring::rule_set(&book, region, as_of, &requested_rules(r.rules.as_ref())?)?;
        let o = monitoring::evaluate(&book, region, as_of, &figures, &rules)?;
        Ok(outcome_pb(&o))
    }
}
