//! Cluster land-efficiency evaluation over the wire: score and class the clusters, say what each
//! result brings, and optionally keep the results for the stored clusters.

use std::collections::BTreeMap;

use civic_proto::land::v1 as pb;
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping as m, request, ApiError, ApiResult,
};

use super::{
    assessments::{figure_rows, scheme},
    service::LandApi,
};
use crate::{
    rules::cluster_eval::{self, Outcome},
    rules::per_mu,
    store::parcels,
    store::yearly::{self, EvaluationRecord},
};

/// Who evaluates clusters and keeps the results: the natural-resources bureau.
const RECORDERS: &[Role] = &[Role::NaturalResources];

pub(super) fn evaluation_pb(r: &EvaluationRecord) -> pb::ClusterEvaluation {
    let outcome = Outcome::parse(&r.outcome).unwrap_or(Outcome::Unrated);
    pb::ClusterEvaluation {
        cluster_id: r.cluster_id.clone(),
        score: r.score.clone(),
        rank: r.rank,
        rating_class: r.class.clone(),
        contributions: r.contributions.clone(),
        note: r.note.clone(),
        outcome: outcome.code().into(),
        outcome_name: outcome.chinese().into(),
        measures: r.measures.clone(),
        quota_change_mu: r.quota_change_mu.clone(),
        expansion_priority: r.expansion_priority,
        new_approvals_suspended: r.approvals_suspended,
    }
}

impl LandApi {
    pub(super) async fn evaluate_clusters(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::EvaluateClustersRequest,
    ) -> ApiResult<pb::EvaluateClustersResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        if r.record {
            who.authorize(&book.regions, Access::Write, RECORDERS, "record cluster evaluations", region)
        } else {
            who.authorize(&book.regions, Access::Read, super::service::ASSESSORS, "evaluate clusters", region)
        }
        .map_err(ApiError::from)?;
        super::mapping::year("year", r.year)?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let wire = r.scheme.as_ref().ok_or_else(|| ApiError::invalid("scheme", "required"))?;
        let s = scheme(wire)?;
        if r.clusters.is_empty() {
            return Err(ApiError::invalid("clusters", "at least one cluster"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in r.clusters.iter().enumerate() {
            if c.cluster_id.trim().is_empty() || !seen.insert(c.cluster_id.trim()) {
                return Err(ApiError::invalid(format!("clusters[{i}].cluster_id"), "required and unique"));
            }
        }
        let values = figure_rows("clusters", r.clusters.iter().map(|c| c.values.as_slice()))?;
        let rated = per_mu::evaluate(&s, "clusters", &values)?;
        let amounts = cluster_eval::amounts(&book, region, on).map_err(|e| ApiError::domain("region_code", e))?;

        // Recording needs every cluster stored inside the region.
        let mut regions = BTreeMap::new();
        if r.record {
            for (i, c) in r.clusters.iter().enumerate() {
                let stored = parcels::get_cluster(&self.db, c.cluster_id.trim()).await?.ok_or_else(|| {
                    ApiError::invalid(
                        format!("clusters[{i}].cluster_id"),
                        format!("no stored cluster {}", c.cluster_id),
                    )
                })?;
                let code = request::region_code(&book, "cluster.region_code", &stored.region_code)?;
                if !book.regions.is_within(code, region) {
                    return Err(ApiError::invalid(
                        format!("clusters[{i}].cluster_id"),
                        format!("cluster {} lies in {code}, outside {region}", stored.id),
                    ));
                }
                regions.insert(stored.id, stored.region_code);
            }
        }
        let mut by_outcome: BTreeMap<String, i64> = BTreeMap::new();
        let records: Vec<EvaluationRecord> = r
            .clusters
            .iter()
            .zip(&rated)
            .map(|(c, x)| {
                let k = cluster_eval::consequence(x.class, &amounts);
                *by_outcome.entry(k.outcome.code().to_string()).or_default() += 1;
                let id = c.cluster_id.trim().to_string();
                EvaluationRecord {
                    region_code: regions.get(&id).cloned().unwrap_or_else(|| region.to_string()),
                    cluster_id: id,
                    score: x.score_text(),
                    rank: x.rank.unwrap_or(0) as i64,
                    class: x.class.map(|c| c.letter().to_string()).unwrap_or_default(),
                    contributions: x.contribution_texts(),
                    note: x.note.clone(),
                    outcome: k.outcome.code().into(),
                    measures: k.measures,
                    quota_change_mu: k.quota_change.map(|q| q.normalize().to_string()).unwrap_or_default(),
                    expansion_priority: k.expansion_priority,
                    approvals_suspended: k.approvals_suspended,
                }
            })
            .collect();
        let unrated = by_outcome.get(Outcome::Unrated.code()).copied().unwrap_or(0);
        let mut trace =
            crate::rules::per_mu_trace::explain(&book, region, on, wire, &s, unrated, (rated.len(), "个集聚区"))
                .map_err(|e| ApiError::domain("region_code", e))?;
        let outcomes =
            cluster_eval::explain(&book, region, on, &amounts).map_err(|e| ApiError::domain("region_code", e))?;
        trace.steps.extend(outcomes.steps);
        if r.record {
            yearly::record_evaluations(
                &self.db,
                who,
                request_id,
                (region.as_str(), r.year, wire.name.as_str()),
                &records,
                &r.reason,
            )
            .await?;
        }
        Ok(pb::EvaluateClustersResponse {
            clusters: records.iter().map(evaluation_pb).collect(),
            by_outcome: by_outcome.into_iter().collect(),
            explanation: Some(m::explanation(&trace)),
            recorded: r.record,
        })
    }
}
