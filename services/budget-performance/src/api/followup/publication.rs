//! Disclosure (公开): due dates from the budget law, its regulations and the open-government
//! regulation; publications recorded; overdue and late ones listed.

use chrono::NaiveDate;
use civic_proto::budget::v1::{self as pb, disclosure_service_server::DisclosureService};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    mapping,
    request::{self, caller, request_id},
    ApiError, ApiResult,
};
use tonic::{Request, Response, Status};

use crate::api::{is_id, programmes::check_programme, respond, text};
use crate::{
    rules::disclosure::{self, Item},
    store::{
        followup::{self as store, DisclosureRow},
        programmes as programme_store,
    },
};

use super::*;

fn item_of(i: i32) -> ApiResult<Item> {
    Ok(match pb::DisclosureItem::try_from(i) {
        Ok(pb::DisclosureItem::GovernmentBudget) => Item::GovernmentBudget,
        Ok(pb::DisclosureItem::DepartmentBudget) => Item::DepartmentBudget,
        Ok(pb::DisclosureItem::UnitBudget) => Item::UnitBudget,
        Ok(pb::DisclosureItem::GovernmentInformation) => Item::GovernmentInformation,
        Ok(pb::DisclosureItem::ApprovalToDepartments) => Item::ApprovalToDepartments,
        Ok(pb::DisclosureItem::ApprovalToUnits) => Item::ApprovalToUnits,
        Ok(pb::DisclosureItem::FinalToDepartments) => Item::FinalToDepartments,
        Ok(pb::DisclosureItem::FinalToUnits) => Item::FinalToUnits,
        _ => return Err(ApiError::invalid("item", "a DisclosureItem")),
    })
}

fn disclosure_pb(d: &DisclosureRow, on: NaiveDate) -> pb::Disclosure {
    let on = on.to_string();
    pb::Disclosure {
        id: d.id.clone(),
        region_code: d.region_code.clone(),
        programme_id: d.programme_id.clone(),
        item: pb::DisclosureItem::from_str_name(&d.item).unwrap_or_default() as i32,
        title: d.title.clone(),
        start_on: d.start_on.clone(),
        due_on: d.due_on.clone(),
        published_on: d.published_on.clone(),
        url: d.url.clone(),
        overdue: d.published_on.is_empty() && on > d.due_on,
        late: !d.published_on.is_empty() && d.published_on > d.due_on,
        version: d.version,
    }
}

impl FollowUpApi {
    pub(super) fn due(&self, who: &Caller, r: &pb::DisclosureDueRequest) -> ApiResult<pb::DisclosureDueResponse> {
        let book = self.book.current();
        let region = self.region(&book, who, &r.region_code, Access::Read, &Role::ALL, "compute disclosure dates")?;
        let item = item_of(r.item)?;
        let start = request::served_date("start_on", &r.start_on)?;
        let d = disclosure::due(&book, region, start, item)?;
        Ok(pb::DisclosureDueResponse {
            nominal_date: d.end.nominal.to_string(),
            due_on: d.end.due.to_string(),
            moved_over: d.end.moved_over.iter().map(|(day, why)| format!("{day} {why}")).collect(),
            explanation: Some(mapping::explanation(&d.trace)),
        })
    }

    pub(super) async fn record(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::RecordDisclosureRequest,
    ) -> ApiResult<pb::Disclosure> {
        let book = self.book.current();
        let today = request::china_today();
        if r.id.trim().is_empty() {
            let region = self.region(&book, who, &r.region_code, Access::Write, &writers(), "record disclosures")?;
            let item = item_of(r.item)?;
            let start = request::served_date("start_on", &r.start_on)?;
            let programme_id = r.programme_id.trim();
            if !programme_id.is_empty() {
                let p = if is_id(programme_id) { programme_store::get(&self.db, programme_id).await? } else { None };
                let p = p.ok_or_else(|| ApiError::invalid("programme_id", "a programme of this region"))?;
                if p.region_code != region.as_str() {
                    return Err(ApiError::invalid("programme_id", "a programme of this region"));
                }
                check_programme(&book, who, Access::Write, &p, "record disclosures")?;
            }
            let published_on = if r.published_on.trim().is_empty() {
                String::new()
            } else {
                let p = request::served_date("published_on", &r.published_on)?;
                if p < start {
                    return Err(ApiError::invalid(
                        "published_on",
                        format!("published on {p}, before the start {start}"),
                    ));
                }
                p.to_string()
            };
            let d = disclosure::due(&book, region, start, item)?;
            let row = DisclosureRow {
                id: uuid::Uuid::new_v4().to_string(),
                region_code: region.to_string(),
                programme_id: programme_id.into(),
                item: pb::DisclosureItem::try_from(r.item).unwrap_or_default().as_str_name().into(),
                title: text("title", &r.title, true, 200)?,
                start_on: start.to_string(),
                due_on: d.end.due.to_string(),
                published_on,
                url: text("url", &r.url, false, 500)?,
                version: 0,
            };
            return Ok(disclosure_pb(&store::save_disclosure(&self.db, who, rid, &row, 0).await?, today));
        }
        let id = r.id.trim();
        if !is_id(id) {
            return Err(ApiError::invalid("id", "a disclosure id this service assigned"));
        }
        let before = store::get_disclosure(&self.db, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("disclosure {id}")))?;
        self.region(&book, who, &before.region_code, Access::Write, &writers(), "record disclosures")?;
        let published = request::served_date("published_on", &r.published_on)?;
        if published.to_string() < before.start_on {
            return Err(ApiError::invalid(
                "published_on",
                format!("published on {published}, before the start {}", before.start_on),
            ));
        }
        let mut row = before.clone();
        row.published_on = published.to_string();
        row.url = text("url", &r.url, false, 500)?;
        if !r.title.trim().is_empty() {
            row.title = text("title", &r.title, true, 200)?;
        }
        Ok(disclosure_pb(&store::save_disclosure(&self.db, who, rid, &row, r.expected_version).await?, today))
    }

    pub(super) async fn list_disclosures(
        &self,
        who: &Caller,
        r: &pb::ListDisclosuresRequest,
    ) -> ApiResult<pb::ListDisclosuresResponse> {
        let book = self.book.current();
        let region = self.region(&book, who, &r.region_code, Access::Read, &writers(), "list disclosures")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let size = request::page_size("page_size", r.page_size)?;
        let after = crate::api::keyset_token(&r.page_token)?;
        let rows = store::list_disclosures(
            &self.db,
            &region_prefix(region),
            after.as_ref().map(|(k, i)| (k.as_str(), i.as_str())),
            size + 1,
        )
        .await?;
        let (rows, next_page_token) = crate::api::page_of(rows, size, |d| crate::api::next_token(&d.due_on, &d.id));
        let disclosures =
            rows.iter().map(|d| disclosure_pb(d, on)).filter(|d| !r.overdue_only || d.overdue || d.late).collect();
        Ok(pb::ListDisclosuresResponse { disclosures, next_page_token })
    }
}

#[tonic::async_trait]
impl DisclosureService for FollowUpApi {
    #[tracing::instrument(skip_all)]
    async fn disclosure_due(
        &self,
        req: Request<pb::DisclosureDueRequest>,
    ) -> Result<Response<pb::DisclosureDueResponse>, Status> {
        let who = caller(&req)?;
        respond(self.due(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn record_disclosure(
        &self,
        req: Request<pb::RecordDisclosureRequest>,
    ) -> Result<Response<pb::RecordDisclosureResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.record(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::RecordDisclosureResponse { disclosure: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_disclosures(
        &self,
        req: Request<pb::ListDisclosuresRequest>,
    ) -> Result<Response<pb::ListDisclosuresResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_disclosures(&who, req.get_ref()).await)
    }
}
