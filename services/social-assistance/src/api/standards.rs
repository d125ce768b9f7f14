//! Listing and publishing standards.

use civic_domain::RegionCode;
use civic_proto::assistance::v1 as pb;
use civic_runtime::{identity::Caller, mapping, request, ApiError, ApiResult};
use rust_decimal::Decimal;

use super::{access, service::AssistanceApi};
use crate::{
    publish::{self, Figure, Publication},
    rules::standards::STANDARD_PREFIX,
    store,
};

impl AssistanceApi {
    pub(super) fn list_standards(
        &self,
        who: &Caller,
        r: &pb::ListStandardsRequest,
    ) -> ApiResult<pb::ListStandardsResponse> {
        let book = self.book.current();
        let region = request::region(&book, "region_code", &r.region_code)?;
        access::check(
            who,
            &book,
            civic_runtime::identity::Access::Read,
            access::COMPUTE,
            "read standards",
            region.code,
        )?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        let standards =
            book.in_force(STANDARD_PREFIX, region.code, date).map_err(|e| ApiError::domain("region_code", e))?;
        Ok(pb::ListStandardsResponse {
            region_code: region.code.to_string(),
            region_name: region.name.clone(),
            on_date: date.to_string(),
            standards: standards.iter().map(mapping::parameter).collect(),
        })
    }

    pub(super) async fn publish_standards(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::PublishStandardsRequest,
    ) -> ApiResult<pb::PublishStandardsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check_publisher(who, &book, region)?;
        let effective_from = request::required_date("effective_from", &r.effective_from)?;
        let mut problems = Vec::new();
        if r.document.trim().is_empty() {
            problems.push(("document".to_string(), "the document number (文号) is required".to_string()));
        }
        if r.title.trim().is_empty() {
            problems.push(("title".to_string(), "the document title is required".to_string()));
        }
        if r.values.is_empty() {
            problems.push(("values".to_string(), "at least one figure is required".to_string()));
        }
        let mut figures = Vec::new();
        for (i, v) in r.values.iter().enumerate() {
            let fr: Option<RegionCode> =
                match request::region_code(&book, &format!("values[{i}].region_code"), &v.region_code) {
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
                problems.push((format!("values[{i}].clause"), "the clause stating this figure is required".into()));
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
            document: r.document.trim().to_string(),
            title: r.title.trim().to_string(),
            figures,
            replace: false,
        };
        let accepted = publish::apply(&book, &p).map_err(ApiError::InvalidArgument)?;
        // The resulting standards for every region a figure touched.
        let mut regions: Vec<RegionCode> = p.figures.iter().map(|f| f.region).collect();
        regions.sort();
        regions.dedup();
        let mut standards = Vec::new();
        for reg in regions {
            let v = accepted
                .book
                .in_force(STANDARD_PREFIX, reg, effective_from)
                .map_err(|e| ApiError::domain("values", e))?;
            standards.extend(v.iter().map(mapping::parameter));
        }
        if r.validate_only {
            return Ok(pb::PublishStandardsResponse { standards, stored: false });
        }
        store::standards::save(&self.db, who, request_id, &p, &accepted, &r.reason).await.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ApiError::AlreadyExists { what: "a standard for the same key, region and date".into() }
            }
            e => ApiError::from(e),
        })?;
        self.book.replace(accepted.book);
        tracing::info!(document = %p.document, effective_from = %effective_from, figures = p.figures.len(), "standards published");
        Ok(pb::PublishStandardsResponse { standards, stored: true })
    }
}
