//! Debt-risk events over gRPC (三政办〔2017〕25号 4.2–5.2): finance opens an event at its level,
//! raises it, and terminates it with the approval of the level above; investment departments
//! ask whether a new government investment project may start.

use chrono::NaiveDate;
use civic_domain::RegionCode;
use civic_proto::budget::v1 as pb;
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping, request, ApiError, ApiResult,
};

use super::{fiscal::FiscalApi, is_id};
use crate::{
    rules::{debt::level_name, debt_events},
    store::debt_events::{self as store, EventRow, LevelChange},
};

/// Who keeps debt-risk events.
const FINANCE: &[Role] = &[Role::Finance];
/// Who asks whether an investment project may start: finance and development-reform.
const INVESTMENT: &[Role] = &[Role::Finance, Role::DevelopmentReform];

fn text(field: &str, s: &str) -> ApiResult<String> {
    super::text(field, s, true, 500)
}

fn level(field: &str, l: i32) -> ApiResult<u8> {
    u8::try_from(l)
        .ok()
        .filter(|l| (1..=4).contains(l))
        .ok_or_else(|| ApiError::invalid(field, "1 (Ⅰ, most severe) to 4 (Ⅳ)"))
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl FiscalApi {
    fn event_pb(&self, e: &EventRow) -> ApiResult<pb::DebtEvent> {
        let book = self.book.current();
        let region = RegionCode::parse(&e.region_code).map_err(|x| ApiError::Internal(x.to_string()))?;
        let last = e.history.last().and_then(|h| date(&h.on)).or_else(|| date(&e.started_on));
        let on = last.ok_or_else(|| ApiError::Internal(format!("debt event {} has no dates", e.id)))?;
        let view = debt_events::view(&book, region, e.level, on, date(&e.ended_on))?;
        Ok(pb::DebtEvent {
            id: e.id.clone(),
            region_code: e.region_code.clone(),
            level: i32::from(e.level),
            level_name: level_name(e.level).into(),
            open: e.is_open,
            started_on: e.started_on.clone(),
            ended_on: e.ended_on.clone(),
            approved_by: e.approved_by.clone(),
            history: e
                .history
                .iter()
                .map(|h| pb::DebtLevelChange {
                    level: i32::from(h.level),
                    level_name: level_name(h.level).into(),
                    on: h.on.clone(),
                    basis: h.basis.clone(),
                    by: h.by.clone(),
                })
                .collect(),
            measures: view
                .measures
                .iter()
                .map(|m| pb::DebtMeasure {
                    rule_id: m.rule_id.clone(),
                    text: m.text.clone(),
                    source: Some(mapping::source(&m.source)),
                })
                .collect(),
            daily_report: e.is_open && view.daily_report,
            evaluation_due: view.evaluation_due.map(|d| d.due.to_string()).unwrap_or_default(),
            version: e.version,
            explanation: Some(mapping::explanation(&view.trace)),
        })
    }

    pub(super) async fn open_event(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::OpenDebtEventRequest,
    ) -> ApiResult<pb::DebtEvent> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, FINANCE, "open debt-risk events", region)
            .map_err(ApiError::from)?;
        let level = level("level", r.level)?;
        let started = request::served_date("started_on", &r.started_on)?;
        let basis = text("basis", &r.basis)?;
        // The plan must be in force there then: its responses are what the event is for.
        debt_events::view(&book, region, level, started, None)?;
        let row = EventRow {
            id: uuid::Uuid::new_v4().to_string(),
            region_code: region.to_string(),
            level,
            started_on: started.to_string(),
            history: vec![LevelChange { level, on: started.to_string(), basis, by: who.subject.clone() }],
            ended_on: String::new(),
            approved_by: String::new(),
            termination_basis: String::new(),
            is_open: true,
            version: 0,
            opened_by: String::new(),
            updated_at: String::new(),
        };
        self.event_pb(&store::open(&self.db, who, rid, &row).await?)
    }

    async fn visible(
        &self,
        who: &Caller,
        id: &str,
        access: Access,
        roles: &[Role],
        action: &'static str,
    ) -> ApiResult<EventRow> {
        let id = id.trim();
        if !is_id(id) {
            return Err(ApiError::invalid("event_id", "a debt event id this service assigned"));
        }
        let e = store::get(&self.db, id).await?.ok_or_else(|| ApiError::not_found(format!("debt event {id}")))?;
        let region = RegionCode::parse(&e.region_code).map_err(|x| ApiError::Internal(x.to_string()))?;
        // Out of the caller's scope reads as not found: ids say nothing about other regions.
        who.authorize(&self.book.current().regions, access, roles, action, region).map_err(|d| match d {
            civic_runtime::identity::Denied::Region { .. } => ApiError::not_found(format!("debt event {id}")),
            other => ApiError::from(other),
        })?;
        Ok(e)
    }

    pub(super) async fn advance_event(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::AdvanceDebtEventRequest,
    ) -> ApiResult<pb::DebtEvent> {
        let e = self.visible(who, &r.event_id, Access::Write, FINANCE, "change debt-risk events").await?;
        if !e.is_open {
            return Err(ApiError::precondition(
                "DEBT_EVENT_ENDED",
                format!("debt event {} was terminated on {}", e.id, e.ended_on),
            ));
        }
        let on = request::served_date("on", &r.on)?;
        let last = e.history.last().map(|h| h.on.clone()).unwrap_or_else(|| e.started_on.clone());
        if on.to_string() < last {
            return Err(ApiError::invalid("on", format!("not before the event's last change on {last}")));
        }
        let basis = text("basis", &r.basis)?;
        let mut after = e.clone();
        let (action, reason) = if r.terminate {
            if r.level != 0 {
                return Err(ApiError::invalid("level", "0 when terminating"));
            }
            let approved_by = text("approved_by", &r.approved_by).map_err(|_| {
                ApiError::invalid("approved_by", "the higher leading group that agreed to the termination (4.5)")
            })?;
            after.is_open = false;
            after.ended_on = on.to_string();
            after.approved_by = approved_by;
            after.termination_basis = basis.clone();
            ("debt_event.terminate", basis)
        } else {
            let new = level("level", r.level)?;
            debt_events::check_raise(e.level, new)?;
            after.level = new;
            after.history.push(LevelChange {
                level: new,
                on: on.to_string(),
                basis: basis.clone(),
                by: who.subject.clone(),
            });
            ("debt_event.raise", basis)
        };
        let stored = store::update(&self.db, who, rid, r.expected_version, &after, action, &reason).await?;
        self.event_pb(&stored)
    }

    pub(super) async fn get_event(&self, who: &Caller, r: &pb::GetDebtEventRequest) -> ApiResult<pb::DebtEvent> {
        let e = self.visible(who, &r.event_id, Access::Read, INVESTMENT, "read debt-risk events").await?;
        self.event_pb(&e)
    }

    pub(super) async fn new_investment(
        &self,
        who: &Caller,
        r: &pb::CheckNewInvestmentRequest,
    ) -> ApiResult<pb::CheckNewInvestmentResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, INVESTMENT, "check new investment projects", region)
            .map_err(ApiError::from)?;
        let on = request::served_date("on_date", &r.on_date)?;
        // The government's own event, or one of a government above it.
        let lineage: Vec<String> = book.regions.lineage(region).iter().map(|c| c.to_string()).collect();
        let open = store::open_on(&self.db, &lineage, &on.to_string()).await?;
        let first = open.first();
        let trace = debt_events::new_investment(
            &book,
            region,
            on,
            first.map(|e| (e.id.as_str(), e.level, e.region_code.as_str())),
            r.state_council_key_project,
        )?;
        Ok(pb::CheckNewInvestmentResponse {
            allowed: true,
            event_id: first.map(|e| e.id.clone()).unwrap_or_default(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}
