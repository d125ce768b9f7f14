//! Rectification orders (整改): issued by finance with the five columns, reported item by
//! item by the bureau, verified or reopened, listed with overdue judged on the working-day
//! calendar.

use chrono::NaiveDate;
use civic_domain::{policy::PolicyBook, RegionCode};
use civic_proto::budget::v1::{self as pb, rectification_service_server::RectificationService};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    mapping,
    request::{self, caller, request_id},
    ApiError, ApiResult,
};
use serde::{Deserialize, Serialize};
use tonic::{Request, Response, Status};

use crate::api::{is_id, programmes::check_programme, respond, text};
use crate::{
    rules::disclosure::{self},
    store::{
        followup::{self as store, OrderRow},
        now, programmes as programme_store,
    },
};

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredItem {
    problem: String,
    manifestation: String,
    measures: String,
    deadline: String,
    responsible_unit: String,
    result: String,
    evidence: String,
}

fn items_of(o: &OrderRow) -> ApiResult<Vec<StoredItem>> {
    serde_json::from_str(&o.items_json).map_err(|e| ApiError::Internal(format!("rectification items: {e}")))
}

/// An order as shown on `on`: each item's effective deadline and whether it is overdue.
fn order_pb(book: &PolicyBook, o: &OrderRow, on: NaiveDate) -> ApiResult<pb::RectificationOrder> {
    let reported_on = o.reported_at.get(..10).unwrap_or_default().to_string();
    let mut items = Vec::new();
    for i in items_of(o)? {
        let deadline = request::served_date("deadline", &i.deadline)?;
        let effective = disclosure::effective_deadline(book, deadline)?;
        let overdue = match o.status.as_str() {
            "VERIFIED" => false,
            "REPORTED" => reported_on.as_str() > effective.to_string().as_str(),
            _ => on > effective,
        };
        items.push(pb::RectificationItem {
            problem: i.problem,
            manifestation: i.manifestation,
            measures: i.measures,
            deadline: i.deadline,
            responsible_unit: i.responsible_unit,
            result: i.result,
            evidence: i.evidence,
            overdue,
            effective_deadline: effective.to_string(),
        });
    }
    Ok(pb::RectificationOrder {
        id: o.id.clone(),
        region_code: o.region_code.clone(),
        programme_id: o.programme_id.clone(),
        source: pb::RectificationSource::from_str_name(&format!("RECTIFICATION_SOURCE_{}", o.source))
            .unwrap_or_default() as i32,
        source_ref: o.source_ref.clone(),
        items,
        status: pb::RectificationStatus::from_str_name(&format!("RECTIFICATION_STATUS_{}", o.status))
            .unwrap_or_default() as i32,
        issued_by: o.issued_by.clone(),
        issued_on: o.issued_on.clone(),
        reported_by: o.reported_by.clone(),
        reported_at: o.reported_at.clone(),
        verified_by: o.verified_by.clone(),
        verified_at: o.verified_at.clone(),
        verification_notes: o.verification_notes.clone(),
        version: o.version,
    })
}

impl FollowUpApi {
    pub(super) async fn issue(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::IssueRectificationRequest,
    ) -> ApiResult<pb::RectificationOrder> {
        let book = self.book.current();
        let region = self.region(&book, who, &r.region_code, Access::Write, FINANCE, "issue rectification orders")?;
        let programme_id = r.programme_id.trim();
        if !programme_id.is_empty() {
            let p = if is_id(programme_id) { programme_store::get(&self.db, programme_id).await? } else { None };
            match p {
                Some(p)
                    if book.regions.is_within(
                        RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?,
                        region,
                    ) => {}
                _ => return Err(ApiError::invalid("programme_id", "a programme of this region")),
            }
        }
        let source = match pb::RectificationSource::try_from(r.source) {
            Ok(s) if s != pb::RectificationSource::Unspecified => {
                s.as_str_name().trim_start_matches("RECTIFICATION_SOURCE_").to_string()
            }
            _ => return Err(ApiError::invalid("source", "EVALUATION, WARNING or AUDIT")),
        };
        let issued_on = request::date_or_today("issued_on", &r.issued_on)?;
        request::served_date("issued_on", &issued_on.to_string())?;
        if r.items.is_empty() || r.items.len() > 100 {
            return Err(ApiError::invalid("items", "from 1 to 100 items"));
        }
        let mut items = Vec::with_capacity(r.items.len());
        for (i, x) in r.items.iter().enumerate() {
            let f = |n: &str| format!("items[{i}].{n}");
            let deadline = request::served_date(&f("deadline"), &x.deadline)?;
            if deadline < issued_on {
                return Err(ApiError::invalid(
                    f("deadline"),
                    format!("the 完成时限 {deadline} is before the order's issue on {issued_on}"),
                ));
            }
            disclosure::effective_deadline(&book, deadline)?;
            items.push(StoredItem {
                problem: text(&f("problem"), &x.problem, true, 500)?,
                manifestation: text(&f("manifestation"), &x.manifestation, true, 1000)?,
                measures: text(&f("measures"), &x.measures, true, 1000)?,
                deadline: deadline.to_string(),
                responsible_unit: text(&f("responsible_unit"), &x.responsible_unit, true, 100)?,
                result: String::new(),
                evidence: String::new(),
            });
        }
        book.rule_source("budget.rectification", region, issued_on).map_err(|e| ApiError::domain("issued_on", e))?;
        let row = OrderRow {
            id: uuid::Uuid::new_v4().to_string(),
            region_code: region.to_string(),
            programme_id: programme_id.into(),
            source,
            source_ref: text("source_ref", &r.source_ref, false, 200)?,
            items_json: serde_json::to_string(&items).map_err(|e| ApiError::Internal(e.to_string()))?,
            status: String::new(),
            issued_by: String::new(),
            issued_on: issued_on.to_string(),
            reported_by: String::new(),
            reported_at: String::new(),
            verified_by: String::new(),
            verified_at: String::new(),
            verification_notes: String::new(),
            version: 0,
        };
        let row = store::insert_order(&self.db, who, rid, &row).await?;
        order_pb(&book, &row, request::china_today())
    }

    pub(super) async fn order(&self, id: &str) -> ApiResult<OrderRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("order_id", "an order id this service assigned"));
        }
        store::get_order(&self.db, id.trim())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("rectification order {}", id.trim())))
    }

    /// The bureau answering for an order: its programme's owner, or any bureau of the region.
    pub(super) async fn check_bureau(
        &self,
        book: &PolicyBook,
        who: &Caller,
        o: &OrderRow,
        access: Access,
        action: &'static str,
    ) -> ApiResult<()> {
        if o.programme_id.is_empty() {
            self.region(book, who, &o.region_code, access, &writers(), action)?;
            return Ok(());
        }
        let p = programme_store::get(&self.db, &o.programme_id)
            .await?
            .ok_or_else(|| ApiError::Internal(format!("order {} names a missing programme", o.id)))?;
        check_programme(book, who, access, &p, action)?;
        Ok(())
    }

    pub(super) async fn report(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::ReportRectificationRequest,
    ) -> ApiResult<pb::RectificationOrder> {
        let book = self.book.current();
        let o = self.order(&r.order_id).await?;
        self.check_bureau(&book, who, &o, Access::Write, "report rectification").await?;
        let mut items = items_of(&o)?;
        let count = items.len();
        for (i, x) in r.results.iter().enumerate() {
            let n = x.item as usize;
            let item = items.get_mut(n).ok_or_else(|| {
                ApiError::invalid(format!("results[{i}].item"), format!("the order has {count} items, numbered from 0"))
            })?;
            item.result = text(&format!("results[{i}].result"), &x.result, true, 2000)?;
            item.evidence = text(&format!("results[{i}].evidence"), &x.evidence, false, 500)?;
        }
        if let Some(i) = items.iter().position(|i| i.result.is_empty()) {
            return Err(ApiError::invalid("results", format!("item {i} has no result: every item is reported")));
        }
        let mut after = o.clone();
        after.items_json = serde_json::to_string(&items).map_err(|e| ApiError::Internal(e.to_string()))?;
        after.status = "REPORTED".into();
        after.reported_by = who.subject.clone();
        after.reported_at = now();
        let row =
            store::update_order(&self.db, who, rid, &after, r.expected_version, &["ISSUED", "REOPENED"], "report")
                .await?;
        order_pb(&book, &row, request::china_today())
    }

    pub(super) async fn verify(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::VerifyRectificationRequest,
    ) -> ApiResult<pb::RectificationOrder> {
        let book = self.book.current();
        let o = self.order(&r.order_id).await?;
        self.region(&book, who, &o.region_code, Access::Write, FINANCE, "verify rectification")?;
        let notes = text("notes", &r.notes, !r.accepted, 1000)?;
        let mut after = o.clone();
        after.status = if r.accepted { "VERIFIED".into() } else { "REOPENED".into() };
        after.verified_by = who.subject.clone();
        after.verified_at = now();
        after.verification_notes = notes;
        let row = store::update_order(&self.db, who, rid, &after, r.expected_version, &["REPORTED"], "verify").await?;
        order_pb(&book, &row, request::china_today())
    }

    pub(super) async fn list_orders(
        &self,
        who: &Caller,
        r: &pb::ListRectificationsRequest,
    ) -> ApiResult<pb::ListRectificationsResponse> {
        let book = self.book.current();
        let region = self.region(&book, who, &r.region_code, Access::Read, &writers(), "list rectification orders")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        request::served_date("on_date", &on.to_string())?;
        let size = request::page_size("page_size", r.page_size)?;
        let after = crate::api::keyset_token(&r.page_token)?;
        let rows = store::list_orders(
            &self.db,
            &region_prefix(region),
            after.as_ref().map(|(k, i)| (k.as_str(), i.as_str())),
            size + 1,
        )
        .await?;
        let (rows, next_page_token) = crate::api::page_of(rows, size, |o| crate::api::next_token(&o.issued_on, &o.id));
        let mut orders = Vec::new();
        for o in rows {
            if !matches!(who.role, Role::Finance | Role::Auditor | Role::Admin) && !o.programme_id.is_empty() {
                let own = programme_store::get(&self.db, &o.programme_id)
                    .await?
                    .is_some_and(|p| p.owner_role == who.role.as_str());
                if !own {
                    continue;
                }
            }
            let shown = order_pb(&book, &o, on)?;
            if r.overdue_only && !shown.items.iter().any(|i| i.overdue) {
                continue;
            }
            orders.push(shown);
        }
        let mut trace = civic_domain::explanation::Trace::default();
        trace.push(civic_domain::explanation::Step {
            rule_id: "budget.rectification".into(),
            description: format!("{on} 整改事项逾期判断:未核销且超过完成时限(休假日顺延至次一工作日)"),
            formula: format!(
                "本页 {} 份整改通知,{} 项逾期",
                orders.len(),
                orders.iter().flat_map(|o| &o.items).filter(|i| i.overdue).count()
            ),
            result: String::new(),
            parameters: vec![],
            source: Some(
                book.rule_source("budget.rectification", region, on).map_err(|e| ApiError::domain("region_code", e))?,
            ),
        });
        Ok(pb::ListRectificationsResponse { orders, explanation: Some(mapping::explanation(&trace)), next_page_token })
    }
}

#[tonic::async_trait]
impl RectificationService for FollowUpApi {
    #[tracing::instrument(skip_all)]
    async fn issue_rectification(
        &self,
        req: Request<pb::IssueRectificationRequest>,
    ) -> Result<Response<pb::IssueRectificationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.issue(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::IssueRectificationResponse { order: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn report_rectification(
        &self,
        req: Request<pb::ReportRectificationRequest>,
    ) -> Result<Response<pb::ReportRectificationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.report(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::ReportRectificationResponse { order: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn verify_rectification(
        &self,
        req: Request<pb::VerifyRectificationRequest>,
    ) -> Result<Response<pb::VerifyRectificationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.verify(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|v| pb::VerifyRectificationResponse { order: Some(v) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_rectifications(
        &self,
        req: Request<pb::ListRectificationsRequest>,
    ) -> Result<Response<pb::ListRectificationsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_orders(&who, req.get_ref()).await)
    }
}
