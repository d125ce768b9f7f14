//! `civic.budget.v1.IndicatorLibraryService`: the indicator library. Finance of a city (or the
//! province, or the country) keeps its region's templates; everyone reads those in force for
//! their region — its own and every region's above it.

use civic_domain::{region::RegionKind, RegionCode};
use civic_proto::budget::v1::{self as pb, indicator_library_service_server::IndicatorLibraryService};
use civic_runtime::{
    identity::{Access, Caller, Denied, Role},
    policy_book::BookHandle,
    request::{self, caller, request_id},
    storage::Database,
    ApiError, ApiResult,
};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use super::{respond, text};
use crate::store::indicators::{self as store, Template};

#[derive(Clone)]
pub struct IndicatorApi {
    pub book: BookHandle,
    pub db: Database,
}

fn template_pb(t: &Template) -> pb::IndicatorTemplate {
    pb::IndicatorTemplate {
        code: t.code.clone(),
        region_code: t.region_code.clone(),
        level1: t.level1.clone(),
        level2: t.level2.clone(),
        level3: t.level3.clone(),
        unit: t.unit.clone(),
        direction: pb::IndicatorDirection::from_str_name(&t.direction).unwrap_or_default() as i32,
        deduction: t.deduction,
        deduction_step: t.deduction_step.clone(),
        deduction_floor: t.deduction_floor.clone(),
        formula: t.formula.clone(),
        explanation: t.explanation.clone(),
        evaluation_points: t.evaluation_points.clone(),
        value_basis: t.value_basis.clone(),
        source: t.source.clone(),
        domains: t.domains.clone(),
        effective_from: t.effective_from.clone(),
        effective_to: t.effective_to.clone(),
        version: t.version,
    }
}

/// Whether a template code exists in force for `region` (its own library or one above) on `date`.
pub(crate) async fn template_exists(
    db: &Database,
    book: &civic_domain::policy::PolicyBook,
    region: RegionCode,
    code: &str,
    date: &str,
) -> ApiResult<bool> {
    Ok(template_in_force(db, book, region, code, date).await?.is_some())
}

/// The template `code` in force for `region` on `date`: its own library's, else the nearest
/// region's above it.
pub(crate) async fn template_in_force(
    db: &Database,
    book: &civic_domain::policy::PolicyBook,
    region: RegionCode,
    code: &str,
    date: &str,
) -> ApiResult<Option<Template>> {
    let lineage: Vec<String> = book.regions.lineage(region).iter().map(|r| r.to_string()).collect();
    let found = store::in_force(db, &lineage, date).await?;
    Ok(lineage.iter().find_map(|r| found.iter().find(|t| t.code == code && &t.region_code == r).cloned()))
}

impl IndicatorApi {
    async fn upsert(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::UpsertIndicatorTemplateRequest,
    ) -> ApiResult<pb::IndicatorTemplate> {
        let book = self.book.current();
        let t = r.template.as_ref().ok_or_else(|| ApiError::invalid("template", "required"))?;
        let region = request::region_code(&book, "template.region_code", &t.region_code)?;
        who.authorize(&book.regions, Access::Write, &[Role::Finance], "keep the indicator library", region)
            .map_err(ApiError::from)?;
        // A county's finance reads the library; a city's (or higher) keeps it.
        let scope_kind =
            book.regions.get(who.scope).map(|r| r.kind).map_err(|e| ApiError::domain("template.region_code", e))?;
        if matches!(
            scope_kind,
            RegionKind::District | RegionKind::County | RegionKind::CountyLevelCity | RegionKind::FunctionalZone
        ) && who.role != Role::Admin
        {
            return Err(
                Denied::Role { role: who.role, action: "keep the indicator library below the city level" }.into()
            );
        }
        let code = text("template.code", &t.code, true, 32)?;
        if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
            return Err(ApiError::invalid("template.code", "letters, digits, '_', '-' and '.'"));
        }
        let direction = match pb::IndicatorDirection::try_from(t.direction) {
            Ok(d) if d != pb::IndicatorDirection::Unspecified => d,
            _ => return Err(ApiError::invalid("template.direction", "AT_LEAST, AT_MOST, EXACTLY or QUALITATIVE")),
        };
        if t.deduction {
            if direction == pb::IndicatorDirection::Qualitative {
                return Err(ApiError::invalid(
                    "template.deduction",
                    "a deduction-type indicator is measured: AT_LEAST, AT_MOST or EXACTLY",
                ));
            }
            let step = request::decimal("template.deduction_step", &t.deduction_step)?;
            if step <= Decimal::ZERO {
                return Err(ApiError::invalid(
                    "template.deduction_step",
                    "a deduction-type indicator needs a positive step",
                ));
            }
            let floor = request::decimal("template.deduction_floor", &t.deduction_floor)?;
            if floor < Decimal::ZERO {
                return Err(ApiError::invalid("template.deduction_floor", "must not be negative"));
            }
        } else if !t.deduction_step.trim().is_empty() || !t.deduction_floor.trim().is_empty() {
            return Err(ApiError::invalid(
                "template.deduction",
                "a step and floor belong to a deduction-type indicator",
            ));
        }
        if direction != pb::IndicatorDirection::Qualitative && t.unit.trim().is_empty() {
            return Err(ApiError::invalid("template.unit", "a quantitative indicator needs its unit"));
        }
        let from = request::served_date("template.effective_from", &t.effective_from)?;
        let to = if t.effective_to.trim().is_empty() {
            String::new()
        } else {
            let to = request::served_date("template.effective_to", &t.effective_to)?;
            if to < from {
                return Err(ApiError::invalid("template.effective_to", "not before effective_from"));
            }
            to.to_string()
        };
        if t.domains.len() > 20 {
            return Err(ApiError::invalid("template.domains", "at most 20"));
        }
        let mut domains = Vec::with_capacity(t.domains.len());
        for (i, d) in t.domains.iter().enumerate() {
            let d = d.trim();
            if d.is_empty()
                || d.len() > 32
                || !d.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(ApiError::invalid(format!("template.domains[{i}]"), "lower-case letters, digits and _"));
            }
            domains.push(d.to_string());
        }
        let row = Template {
            code,
            region_code: region.to_string(),
            level1: text("template.level1", &t.level1, true, 50)?,
            level2: text("template.level2", &t.level2, false, 50)?,
            level3: text("template.level3", &t.level3, true, 100)?,
            unit: text("template.unit", &t.unit, false, 20)?,
            direction: direction.as_str_name().into(),
            deduction: t.deduction,
            deduction_step: t.deduction_step.trim().into(),
            deduction_floor: t.deduction_floor.trim().into(),
            formula: text("template.formula", &t.formula, false, 500)?,
            explanation: text("template.explanation", &t.explanation, false, 2000)?,
            evaluation_points: text("template.evaluation_points", &t.evaluation_points, false, 2000)?,
            value_basis: text("template.value_basis", &t.value_basis, false, 50)?,
            source: text("template.source", &t.source, true, 200)?,
            domains,
            effective_from: from.to_string(),
            effective_to: to,
            version: 0,
        };
        if r.expected_version < 0 {
            return Err(ApiError::invalid("expected_version", "0 to create, else the current version"));
        }
        Ok(template_pb(&store::upsert(&self.db, who, rid, &row, r.expected_version).await?))
    }

    async fn list(
        &self,
        who: &Caller,
        r: &pb::ListIndicatorTemplatesRequest,
    ) -> ApiResult<pb::ListIndicatorTemplatesResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &Role::ALL, "read the indicator library", region)
            .map_err(ApiError::from)?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let lineage: Vec<String> = book.regions.lineage(region).iter().map(|c| c.to_string()).collect();
        let size = request::page_size("page_size", r.page_size)?;
        // Pages follow the lineage (own region first), then the code; the token names the last
        // template's region and code.
        let after = match super::keyset_token(&r.page_token)? {
            None => None,
            Some((region, code)) => match lineage.iter().position(|l| *l == region) {
                Some(at) => Some((at, code)),
                None => return Err(ApiError::invalid("page_token", "not a token of this region's library")),
            },
        };
        let place =
            |t: &Template| (lineage.iter().position(|l| *l == t.region_code).unwrap_or(usize::MAX), t.code.clone());
        let page: Vec<Template> = store::in_force(&self.db, &lineage, &on.to_string())
            .await?
            .into_iter()
            .filter(|t| r.level1.trim().is_empty() || t.level1 == r.level1.trim())
            .filter(|t| r.domain.trim().is_empty() || t.domains.iter().any(|d| d == r.domain.trim()))
            .filter(|t| after.as_ref().is_none_or(|a| place(t) > *a))
            .take(size + 1)
            .collect();
        let (page, next_page_token) = super::page_of(page, size, |t| super::next_token(&t.region_code, &t.code));
        Ok(pb::ListIndicatorTemplatesResponse { templates: page.iter().map(template_pb).collect(), next_page_token })
    }
}

#[tonic::async_trait]
impl IndicatorLibraryService for IndicatorApi {
    #[tracing::instrument(skip_all)]
    async fn upsert_indicator_template(
        &self,
        req: Request<pb::UpsertIndicatorTemplateRequest>,
    ) -> Result<Response<pb::UpsertIndicatorTemplateResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.upsert(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::UpsertIndicatorTemplateResponse { template: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_indicator_templates(
        &self,
        req: Request<pb::ListIndicatorTemplatesRequest>,
    ) -> Result<Response<pb::ListIndicatorTemplatesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list(&who, req.get_ref()).await)
    }
}
