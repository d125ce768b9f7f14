//! Publishing land limits: each bureau publishes and adjusts its minima (附件3-1 第七条、第十八条)
//! as dated, cited parameters, checked against the book and kept for every replica and restart.

use civic_domain::{region::RegionKind, RegionCode};
use civic_proto::land::v1 as pb;
use civic_runtime::{
    identity::{Access, Caller, Denied, Role},
    mapping,
    publish::{self, Figure, Publication},
    published, request, ApiError, ApiResult,
};
use rust_decimal::Decimal;

use super::service::LandApi;

/// The parameters this service publishes.
pub const PREFIXES: &[&str] = &["land."];

impl LandApi {
    pub(super) async fn publish_limits(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::PublishLimitsRequest,
    ) -> ApiResult<pb::PublishLimitsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, &[Role::NaturalResources], "publish land limits", region)
            .map_err(ApiError::from)?;
        let city_or_above = |c: RegionCode| {
            book.regions
                .get(c)
                .map(|x| matches!(x.kind, RegionKind::City | RegionKind::Province | RegionKind::Country))
                .unwrap_or(false)
        };
        if !city_or_above(who.scope) || !city_or_above(region) {
            return Err(ApiError::PermissionDenied(Denied::Role {
                role: who.role,
                action: "publish limits below city level",
            }));
        }
        let effective_from = request::required_date("effective_from", &r.effective_from)?;
        let mut problems = Vec::new();
        if r.document.trim().is_empty() || r.title.trim().is_empty() {
            problems.push(("document".to_string(), "the document number (文号) and title are required".to_string()));
        }
        if r.values.is_empty() {
            problems.push(("values".to_string(), "at least one value".to_string()));
        }
        let mut figures = Vec::new();
        for (i, v) in r.values.iter().enumerate() {
            let fr = match request::region_code(&book, &format!("values[{i}].region_code"), &v.region_code) {
                Ok(c) => Some(c),
                Err(ApiError::InvalidArgument(vs)) => {
                    problems.extend(vs);
                    None
                }
                Err(e) => return Err(e),
            };
            let value = v.value.trim().parse::<Decimal>().ok();
            if value.is_none() {
                problems.push((format!("values[{i}].value"), format!("'{}' is not an exact decimal", v.value)));
            }
            if v.clause.trim().is_empty() {
                problems.push((format!("values[{i}].clause"), "the clause stating this value is required".into()));
            }
            if let (Some(region), Some(value)) = (fr, value) {
                figures.push(Figure {
                    key: v.key.trim().to_string(),
                    region,
                    value,
                    clause: v.clause.trim().to_string(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::InvalidArgument(problems));
        }
        let p = Publication {
            region,
            effective_from,
            document: r.document.trim().into(),
            title: r.title.trim().into(),
            figures,
            replace: false,
        };
        let accepted = publish::apply(&book, &p, PREFIXES).map_err(ApiError::InvalidArgument)?;
        let limits = p
            .figures
            .iter()
            .map(|f| accepted.book.value(&f.key, f.region, effective_from).map(|v| mapping::parameter(&v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::domain("values", e))?;
        if r.validate_only {
            return Ok(pb::PublishLimitsResponse { limits, stored: false });
        }
        published::save(&self.db, who, request_id, &p, &accepted, &r.reason).await.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ApiError::AlreadyExists { what: "a value for the same key, region and date".into() }
            }
            e => ApiError::from(e),
        })?;
        self.book.replace(accepted.book);
        Ok(pb::PublishLimitsResponse { limits, stored: true })
    }
}
