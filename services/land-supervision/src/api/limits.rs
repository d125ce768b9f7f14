//! Publishing land limits: each bureau publishes and adjusts its minima (附件3-1 第七条、第十八条)
//! as dated, cited parameters, checked against the book and kept for every replica and restart.

use civic_proto::land::v1 as pb;
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping,
    publish::{self, RawFigure},
    published, request, ApiError, ApiResult,
};

use super::service::LandApi;

/// The parameters this service publishes.
pub const PREFIXES: &[&str] = &["land."];

/// Roles that may call PublishLimits at all.
const PUBLISHERS: &[Role] =
    &[Role::NaturalResources, Role::DevelopmentReform, Role::Tax, Role::IndustryIt, Role::EcologyEnvironment];

impl LandApi {
    pub(super) async fn publish_limits(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::PublishLimitsRequest,
    ) -> ApiResult<pb::PublishLimitsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        // The bureaus that own indicators publish them; which figures each may publish, and for
        // which regions, is decided per figure by the publishing rights (policies/publishing.csv).
        who.authorize(&book.regions, Access::Write, PUBLISHERS, "publish land limits", region)
            .map_err(ApiError::from)?;
        let effective_from = request::served_date("effective_from", &r.effective_from)?;
        let raw: Vec<RawFigure> = r
            .values
            .iter()
            .map(|v| RawFigure { key: &v.key, region_code: &v.region_code, value: &v.value, clause: &v.clause })
            .collect();
        let p = publish::publication(&book, region, effective_from, &r.document, &r.title, &raw)?;
        let accepted = publish::apply(&book, &p, PREFIXES).map_err(ApiError::InvalidArgument)?;
        publish::check_rights(who, &book, &p)?;
        publish::check_book(&book, &accepted.book)?;
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
