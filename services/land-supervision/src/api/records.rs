//! Enterprises' figures: import, stored per-mu evaluation, and D-class enterprises seeding the
//! rectification (health-check) cases.

use civic_proto::land::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request,
    tabular::Format,
    ApiError, ApiResult,
};
use sha2::Digest as _;

use super::{mapping::year, service::LandApi};
use crate::store::records::{self, StoredResult};

/// Who imports figures: the land bureau, cluster administrations, and the bureaus that own
/// indicators (tax per mu from tax, revenue and profit from industry and IT, investment and
/// energy from development and reform, emissions from ecology and environment).
const FIGURES: &[Role] = &[
    Role::NaturalResources,
    Role::ClusterAdmin,
    Role::Tax,
    Role::IndustryIt,
    Role::DevelopmentReform,
    Role::EcologyEnvironment,
];
/// Who evaluates and exports: the land bureau and cluster administrations.
const EVALUATORS: &[Role] = &[Role::NaturalResources, Role::ClusterAdmin];
/// Who may read the per-mu summary: the evaluators and finance, which judges the programmes the
/// results measure (驻政〔2020〕37号 附件2 三(八), 双监控) — counts and means, no enterprise's figures.
const SUMMARY_READERS: &[Role] = &[Role::NaturalResources, Role::ClusterAdmin, Role::Finance];

impl LandApi {
    pub(super) async fn import_figures(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::ImportEnterpriseFiguresRequest,
    ) -> ApiResult<pb::ImportEnterpriseFiguresResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, FIGURES, "import enterprise figures", region)
            .map_err(ApiError::from)?;
        let y = year("year", r.year)?;
        let format = Format::parse(&r.format).ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        if r.content.is_empty() {
            return Err(ApiError::invalid("content", "the file is empty"));
        }
        let rows = match records::parse(format, &r.content, &book.regions, region) {
            Ok(rows) => rows,
            Err(errors) => {
                return Ok(pb::ImportEnterpriseFiguresResponse {
                    enterprises: 0,
                    errors: errors
                        .into_iter()
                        .map(|e| pb::FigureRowError { row: e.row, field: e.field, message: e.message })
                        .collect(),
                    stored: false,
                })
            }
        };
        if !r.dry_run {
            let reason = if r.reason.is_empty() {
                format!("sha256 {:x}", sha2::Sha256::digest(&r.content))
            } else {
                r.reason.clone()
            };
            let refused =
                records::store(&self.db, who, request_id, y, region, &region_prefix(who.scope), &rows, &reason).await?;
            if !refused.is_empty() {
                return Ok(pb::ImportEnterpriseFiguresResponse {
                    enterprises: 0,
                    errors: refused
                        .into_iter()
                        .map(|e| pb::FigureRowError { row: e.row, field: e.field, message: e.message })
                        .collect(),
                    stored: false,
                });
            }
        }
        Ok(pb::ImportEnterpriseFiguresResponse { enterprises: rows.len() as i64, errors: vec![], stored: !r.dry_run })
    }

    pub(super) async fn evaluate_stored(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::EvaluateStoredPerMuRequest,
    ) -> ApiResult<pb::EvaluateStoredPerMuResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let y = year("year", r.year)?;
        let scheme = r.scheme.clone().ok_or_else(|| ApiError::invalid("scheme", "required"))?;
        if r.store_results {
            who.authorize(&book.regions, Access::Write, EVALUATORS, "store evaluations", region)
                .map_err(ApiError::from)?;
            if scheme.name.trim().is_empty() {
                return Err(ApiError::invalid("scheme.name", "results are kept under the scheme's name"));
            }
        }
        let stored = records::load(&self.db, y, &region_prefix(region)).await?;
        if stored.is_empty() {
            return Err(ApiError::precondition(
                "NO_FIGURES",
                format!("no enterprise figures are stored for {region} in {y}"),
            ));
        }
        let enterprises = stored
            .iter()
            .map(|e| pb::EnterpriseFigures {
                enterprise_id: e.enterprise_id.clone(),
                values: scheme
                    .indicators
                    .iter()
                    .map(|i| e.values.get(&i.name).copied().flatten().map(|d| d.to_string()).unwrap_or_default())
                    .collect(),
            })
            .collect();
        let req = pb::EvaluatePerMuRequest {
            region_code: r.region_code.clone(),
            year: y,
            scheme: Some(scheme.clone()),
            enterprises,
        };
        let resp = self.per_mu(who, &req)?;
        if r.store_results {
            let results: Vec<StoredResult> = resp
                .enterprises
                .iter()
                .zip(&stored)
                .map(|(x, e)| StoredResult {
                    enterprise_id: x.enterprise_id.clone(),
                    region: e.region.to_string(),
                    score: x.score.clone(),
                    rank: x.rank,
                    class: x.rating_class.clone(),
                    note: x.note.clone(),
                    evaluated_at: String::new(),
                })
                .collect();
            records::store_results(&self.db, who, request_id, y, scheme.name.trim(), region, &results).await?;
        }
        let pb::EvaluatePerMuResponse { enterprises, by_class, explanation, compute_micros } = resp;
        Ok(pb::EvaluateStoredPerMuResponse { enterprises, by_class, explanation, compute_micros })
    }

    pub(super) async fn seed_rectification(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::SeedRectificationRequest,
    ) -> ApiResult<pb::SeedRectificationResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, &[Role::NaturalResources], "seed rectification cases", region)
            .map_err(ApiError::from)?;
        let y = year("year", r.year)?;
        let d = records::d_class(&self.db, y, r.scheme_name.trim(), &region_prefix(region)).await?;
        let mut out = pb::SeedRectificationResponse::default();
        for (enterprise, enterprise_region) in d {
            if records::open_case_exists(&self.db, "health_check", &enterprise).await? {
                out.already_open += 1;
                continue;
            }
            let case = self
                .open_case(
                    who,
                    request_id,
                    &pb::OpenCaseRequest {
                        kind: pb::CaseKind::HealthCheck as i32,
                        region_code: enterprise_region,
                        subject_id: enterprise.clone(),
                        opened_on: r.opened_on.clone(),
                        parcel: None,
                        note: format!("{y} 年度亩均效益综合评价 D 类企业({})", r.scheme_name.trim()),
                        unit: String::new(),
                    },
                )
                .await?;
            out.case_ids.push(case.case_id);
            out.enterprise_ids.push(enterprise);
        }
        Ok(out)
    }
}

impl LandApi {
    /// The kept results of (region, year, scheme) in figures: class counts, and each measure's
    /// mean over the evaluated enterprises that have a figure for it.
    pub(super) async fn summarize_per_mu(
        &self,
        who: &Caller,
        r: &pb::SummarizePerMuRequest,
    ) -> ApiResult<pb::SummarizePerMuResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, SUMMARY_READERS, "read the per-mu summary", region)
            .map_err(ApiError::from)?;
        let y = year("year", r.year)?;
        let scheme = r.scheme_name.trim();
        if scheme.is_empty() {
            return Err(ApiError::invalid("scheme_name", "required: the name the results were kept under"));
        }
        let prefix = region_prefix(region);
        let results = records::results(&self.db, y, scheme, &prefix).await?;
        if results.is_empty() {
            return Err(ApiError::precondition(
                "NO_RESULTS",
                format!("no per-mu results are kept for {region} in {y} under '{scheme}' (EvaluateStoredPerMu with store_results)"),
            ));
        }
        let figures = records::load(&self.db, y, &prefix).await?;
        let summary = crate::rules::per_mu_summary::summarize(&results, &figures)
            .map_err(|m| ApiError::invalid("year", format!("the figures cannot be summed: {m}")))?;
        let on =
            chrono::NaiveDate::from_ymd_opt(y, 12, 31).ok_or_else(|| ApiError::invalid("year", "a calendar year"))?;
        let trace = crate::rules::per_mu_summary::explain(&book, region, on, scheme, &summary)
            .map_err(|e| ApiError::domain("region_code", e))?;
        Ok(pb::SummarizePerMuResponse {
            region_code: region.to_string(),
            year: y,
            scheme_name: scheme.to_string(),
            enterprises_evaluated: results.len() as i64,
            by_class: summary.by_class.clone().into_iter().collect(),
            measures: summary
                .measures
                .iter()
                .map(|m| pb::PerMuMeasure {
                    name: m.name.clone(),
                    enterprises: m.enterprises,
                    sum: m.sum.to_string(),
                    mean: m.mean.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect(),
            left_out: summary
                .left_out
                .iter()
                .map(|l| pb::PerMuLeftOut {
                    enterprise_id: l.enterprise_id.clone(),
                    measure: l.measure.clone(),
                    reason: l.reason.clone(),
                })
                .collect(),
            evaluated_at: results.iter().map(|x| x.evaluated_at.as_str()).max().unwrap_or_default().to_string(),
            explanation: Some(civic_runtime::mapping::explanation(&trace)),
        })
    }

    pub(super) async fn export_results(
        &self,
        who: &Caller,
        r: &pb::ExportPerMuResultsRequest,
    ) -> ApiResult<pb::ExportPerMuResultsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, EVALUATORS, "export evaluations", region).map_err(ApiError::from)?;
        let y = year("year", r.year)?;
        let format = Format::parse(&r.format).ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let rows = records::results(&self.db, y, r.scheme_name.trim(), &region_prefix(region)).await?;
        let header = ["enterprise_id", "region_code", "score", "rank", "class", "note"];
        let cells: Vec<[String; 6]> = rows
            .iter()
            .map(|x| {
                [
                    x.enterprise_id.clone(),
                    x.region.clone(),
                    x.score.clone(),
                    x.rank.to_string(),
                    x.class.clone(),
                    x.note.clone(),
                ]
            })
            .collect();
        let content = civic_runtime::tabular::write(format, &header, cells.iter().map(|c| c.as_slice()))
            .map_err(ApiError::Internal)?;
        let (ext, ct) = match format {
            Format::Csv => ("csv", "text/csv; charset=utf-8"),
            Format::Xlsx => ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        };
        Ok(pb::ExportPerMuResultsResponse {
            content,
            filename: format!("per-mu-{region}-{y}.{ext}"),
            content_type: ct.into(),
            enterprises: rows.len() as i64,
        })
    }
}
