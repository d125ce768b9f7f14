//! Listing and publishing standards.

use civic_domain::RegionCode;
use civic_proto::assistance::v1 as pb;
use civic_runtime::{identity::Caller, mapping, request, ApiError, ApiResult};

use super::{access, service::AssistanceApi};
use civic_runtime::publish::RawFigure;

use crate::{publish, rules::standards::STANDARD_PREFIX, store};

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
        let size = request::page_size("page_size", r.page_size)?;
        let from = usize::try_from(request::page_token("page_token", &r.page_token)?).unwrap_or(usize::MAX);
        let standards =
            book.in_force(STANDARD_PREFIX, region.code, date).map_err(|e| ApiError::domain("region_code", e))?;
        let page: Vec<_> = standards.iter().skip(from).take(size).map(mapping::parameter).collect();
        let next = from.saturating_add(page.len());
        Ok(pb::ListStandardsResponse {
            region_code: region.code.to_string(),
            region_name: region.name.clone(),
            on_date: date.to_string(),
            standards: page,
            next_page_token: if next < standards.len() { next.to_string() } else { String::new() },
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
        let effective_from = request::served_date("effective_from", &r.effective_from)?;
        let raw: Vec<RawFigure> = r
            .values
            .iter()
            .map(|v| RawFigure { key: &v.key, region_code: &v.region_code, value: &v.value, clause: &v.clause })
            .collect();
        let p = civic_runtime::publish::publication(&book, region, effective_from, &r.document, &r.title, &raw)?;
        let accepted = publish::apply(&book, &p).map_err(ApiError::InvalidArgument)?;
        civic_runtime::publish::check_rights(who, &book, &p)?;
        civic_runtime::publish::check_book(&book, &accepted.book)?;
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
        // Months already paid at the old amounts: the publication is accepted, and the response
        // says that a recalculation from its date pays the difference.
        let (households_paid_since, months_paid_since) = store::standards::paid_since(
            &self.db,
            &civic_runtime::audit::region_prefix(region),
            &format!("{:04}-{:02}", chrono::Datelike::year(&effective_from), chrono::Datelike::month(&effective_from)),
        )
        .await?;
        if r.validate_only {
            return Ok(pb::PublishStandardsResponse {
                standards,
                stored: false,
                households_paid_since,
                months_paid_since,
            });
        }
        store::standards::save(&self.db, who, request_id, &p, &accepted, &r.reason).await.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                ApiError::AlreadyExists { what: "a standard for the same key, region and date".into() }
            }
            e => ApiError::from(e),
        })?;
        self.book.replace(accepted.book);
        tracing::info!(document = %p.document, effective_from = %effective_from, figures = p.figures.len(), "standards published");
        Ok(pb::PublishStandardsResponse { standards, stored: true, households_paid_since, months_paid_since })
    }
}

/// The urban and rural 低保 standards must be in force for `region` on `date`: a computation
/// over the roll on a date without them is refused (FAILED_PRECONDITION), never answered as 0.
pub(super) fn require_dibao_standards(
    book: &civic_domain::policy::PolicyBook,
    region: RegionCode,
    date: chrono::NaiveDate,
) -> ApiResult<()> {
    for res in [crate::rules::household::Residence::Urban, crate::rules::household::Residence::Rural] {
        if let Err(e) = crate::rules::standards::dibao(book, res, region, date) {
            return Err(ApiError::precondition(
                "NO_STANDARD",
                format!("no {} 低保 standard on {date} for {region}: {e}", res.chinese()),
            ));
        }
    }
    Ok(())
}
