//! Cases of the land procedures over the wire: open, advance (in order), read, list.

use civic_domain::{explanation::Trace, RegionCode};
use civic_proto::land::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    mapping as m, request, ApiError, ApiResult,
};

use super::service::LandApi;
use crate::{
    rules::cases::{self, CaseState, Kind},
    rules::low_efficiency::{self, Thresholds},
    store::cases::{self as store, CaseRow, EventRow},
};

const OPEN_LOW_EFFICIENCY: &[Role] = &[Role::ClusterAdmin, Role::NaturalResources];
const OPEN_HEALTH_CHECK: &[Role] = &[Role::Town, Role::NaturalResources];
const DECIDE: &[Role] = &[Role::NaturalResources];
const READ: &[Role] = &[Role::ClusterAdmin, Role::NaturalResources, Role::Town];

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct CaseResult {
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    category_names: Vec<String>,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    decided: Option<Vec<String>>,
    #[serde(default)]
    treatment_outcome: String,
    #[serde(default)]
    punishments: Vec<String>,
}

fn kind_of(k: i32) -> ApiResult<Kind> {
    match pb::CaseKind::try_from(k) {
        Ok(pb::CaseKind::LowEfficiencyIdentification) => Ok(Kind::LowEfficiency),
        Ok(pb::CaseKind::HealthCheck) => Ok(Kind::HealthCheck),
        _ => Err(ApiError::invalid("kind", "LOW_EFFICIENCY_IDENTIFICATION or HEALTH_CHECK")),
    }
}

fn kind_pb(k: Kind) -> pb::CaseKind {
    match k {
        Kind::LowEfficiency => pb::CaseKind::LowEfficiencyIdentification,
        Kind::HealthCheck => pb::CaseKind::HealthCheck,
    }
}

fn view(c: &CaseRow, events: &[EventRow], trace: Option<&Trace>) -> ApiResult<pb::LandCase> {
    let kind = Kind::parse(&c.kind).ok_or_else(|| ApiError::Internal(format!("case {} has kind {}", c.id, c.kind)))?;
    let result: CaseResult = serde_json::from_str(&c.result_json).unwrap_or_default();
    let decided_low = result.decided.as_ref().is_some_and(|d| !d.is_empty());
    let today = civic_runtime::request::china_today();
    let overdue = civic_domain::policy::parse_date(&c.deadline).is_ok_and(|d| d < today) && !c.state.is_final();
    Ok(pb::LandCase {
        case_id: c.id.clone(),
        kind: kind_pb(kind) as i32,
        region_code: c.region_code.clone(),
        subject_id: c.subject_id.clone(),
        state: c.state.as_str().into(),
        deadline: c.deadline.clone(),
        overdue,
        history: events
            .iter()
            .map(|e| pb::CaseEvent {
                state: e.state.as_str().into(),
                on_date: e.on_date.clone(),
                recorded_at: e.at.clone(),
                actor: e.actor.clone(),
                note: e.note.clone(),
                deadline: e.deadline.clone(),
            })
            .collect(),
        next_states: cases::next_states(kind, c.state, decided_low).iter().map(|s| s.as_str().to_string()).collect(),
        classification: (kind == Kind::LowEfficiency).then(|| pb::ParcelClassification {
            parcel_id: c.subject_id.clone(),
            categories: result.categories.clone(),
            category_names: result.category_names.clone(),
            reasons: result.reasons.clone(),
            explanation: None,
        }),
        decided_categories: result.decided.clone().unwrap_or_default(),
        treatment_outcome: result.treatment_outcome.clone(),
        version: c.version,
        explanation: trace.map(m::explanation),
        unit: c.unit.clone(),
        punishments: result
            .punishments
            .iter()
            .map(|code| pb::Punishment {
                code: code.clone(),
                name: cases::punishment_name(code).unwrap_or_default().to_string(),
            })
            .collect(),
    })
}

impl LandApi {
    fn case_check(
        &self,
        who: &Caller,
        access: Access,
        roles: &[Role],
        action: &'static str,
        region: RegionCode,
    ) -> ApiResult<()> {
        let book = self.book.current();
        who.authorize(&book.regions, access, roles, action, region).map_err(ApiError::from)
    }

    pub(super) async fn open_case(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::OpenCaseRequest,
    ) -> ApiResult<pb::LandCase> {
        let book = self.book.current();
        let kind = kind_of(r.kind)?;
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let roles = match kind {
            Kind::LowEfficiency => OPEN_LOW_EFFICIENCY,
            Kind::HealthCheck => OPEN_HEALTH_CHECK,
        };
        self.case_check(who, Access::Write, roles, "open cases", region)?;
        let unit = match (who.unit_scope("open cases").map_err(ApiError::from)?, r.unit.trim()) {
            (Some(own), "") => own.to_string(),
            (Some(_), u) => {
                who.check_unit(u, "open cases").map_err(ApiError::from)?;
                u.to_string()
            }
            (None, u) if u.chars().count() > 64 => return Err(ApiError::invalid("unit", "at most 64 characters")),
            (None, u) => u.to_string(),
        };
        if r.subject_id.trim().is_empty() || r.subject_id.len() > 64 {
            return Err(ApiError::invalid(
                "subject_id",
                "the parcel or enterprise id is required (at most 64 characters)",
            ));
        }
        let on = request::date_or_today("opened_on", &r.opened_on)?;
        let mut trace = Trace::default();
        let mut result = CaseResult::default();
        let mut facts_json = String::new();
        if kind == Kind::LowEfficiency {
            let p = r.parcel.as_ref().ok_or_else(|| ApiError::invalid("parcel", "the parcel's facts are required"))?;
            let mut facts = super::assessments::parcel_facts(0, p).map_err(|e| match e {
                ApiError::InvalidArgument(v) => ApiError::InvalidArgument(
                    v.into_iter().map(|(f, m)| (f.replacen("parcels[0]", "parcel", 1), m)).collect(),
                ),
                e => e,
            })?;
            // The flags the bureaus keep on the parcel's enterprise count as facts.
            if !p.enterprise_id.trim().is_empty() {
                let flags = crate::store::flags::in_force(&self.db, p.enterprise_id.trim(), on).await?;
                crate::store::flags::apply(&mut facts, &flags);
                trace.steps.extend(crate::store::flags::steps(p.enterprise_id.trim(), &flags));
            }
            let t = Thresholds::resolve(&book, region, on).map_err(|e| ApiError::domain("region_code", e))?;
            let c = low_efficiency::classify(&book, &t, &facts, on, true)
                .map_err(|e| ApiError::domain("region_code", e))?;
            result.categories = c.categories.iter().map(|x| x.code().to_string()).collect();
            result.category_names = c.categories.iter().map(|x| x.chinese().to_string()).collect();
            result.reasons = c.reasons.iter().map(|x| format!("{}:{}", x.category.chinese(), x.text)).collect();
            trace.steps.extend(c.trace.steps);
            facts_json = format!("{p:?}");
        }
        let first = kind.first_state();
        let outcome = cases::enter(&book, kind, region, first, on, 0)?;
        trace.push(outcome.step);
        let deadline = outcome.deadline.map(|d| d.to_string()).unwrap_or_default();
        let row = CaseRow {
            id: uuid::Uuid::new_v4().to_string(),
            kind: kind.as_str().into(),
            region_code: region.to_string(),
            subject_id: r.subject_id.trim().to_string(),
            state: first,
            deadline: deadline.clone(),
            facts_json,
            result_json: serde_json::to_string(&result).map_err(|e| ApiError::Internal(e.to_string()))?,
            version: 1,
            unit,
        };
        let event = EventRow {
            state: first,
            on_date: on.to_string(),
            at: String::new(),
            actor: who.subject.clone(),
            note: r.note.clone(),
            deadline,
        };
        store::create(&self.db, who, request_id, &row, &event, &r.note).await?;
        let (row, events) =
            store::get(&self.db, &row.id).await?.ok_or_else(|| ApiError::Internal("case vanished".into()))?;
        view(&row, &events, Some(&trace))
    }

    pub(super) async fn advance_case(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::AdvanceCaseRequest,
    ) -> ApiResult<pb::LandCase> {
        let book = self.book.current();
        let (before, _) = store::get(&self.db, &r.case_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("case {}", r.case_id)))?;
        let region = request::region_code(&book, "case.region_code", &before.region_code)?;
        self.case_check(who, Access::Write, DECIDE, "decide cases", region)?;
        let kind = Kind::parse(&before.kind).ok_or_else(|| ApiError::Internal(format!("case kind {}", before.kind)))?;
        if r.expected_version != before.version {
            return Err(ApiError::VersionConflict {
                message: format!("case {} is at version {}, not {}", before.id, before.version, r.expected_version),
            });
        }
        let mut result: CaseResult = serde_json::from_str(&before.result_json).unwrap_or_default();
        let allowed = cases::next_states(kind, before.state, result.decided.as_ref().is_some_and(|d| !d.is_empty()));
        let Some(to) = CaseState::parse(&r.to_state).filter(|to| allowed.contains(to)) else {
            let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            return Err(ApiError::precondition(
                "STEP_OUT_OF_ORDER",
                format!(
                    "case {} is {}: it can move to {} only, not {}",
                    before.id,
                    before.state,
                    if allowed.is_empty() { "nothing (it is finished)".to_string() } else { allowed.join(" or ") },
                    r.to_state
                ),
            ));
        };
        let on = request::date_or_today("on_date", &r.on_date)?;
        let last_on = store::get(&self.db, &before.id)
            .await?
            .and_then(|(_, e)| e.last().map(|e| e.on_date.clone()))
            .unwrap_or_default();
        if on.to_string() < last_on {
            return Err(ApiError::invalid(
                "on_date",
                format!("a step cannot be dated before the previous one ({last_on})"),
            ));
        }
        match (kind, to) {
            (Kind::LowEfficiency, CaseState::Decided) => {
                for (i, c) in r.decided_categories.iter().enumerate() {
                    if !["INDUSTRIAL_TRANSITION", "EXTENSIVE_USE", "STALLED"].contains(&c.as_str()) {
                        return Err(ApiError::invalid(
                            format!("decided_categories[{i}]"),
                            "INDUSTRIAL_TRANSITION, EXTENSIVE_USE or STALLED",
                        ));
                    }
                }
                result.decided = Some(r.decided_categories.clone());
            }
            (Kind::HealthCheck, CaseState::Treatment) => {
                if !["ACCEPTED", "JOINT_PUNISHMENT"].contains(&r.treatment_outcome.as_str()) {
                    return Err(ApiError::invalid("treatment_outcome", "ACCEPTED or JOINT_PUNISHMENT"));
                }
                let joint = r.treatment_outcome == "JOINT_PUNISHMENT";
                if joint && r.punishments.is_empty() {
                    return Err(ApiError::invalid("punishments", "joint punishment names at least one measure"));
                }
                if !joint && !r.punishments.is_empty() {
                    return Err(ApiError::invalid("punishments", "an accepted enterprise is not punished"));
                }
                let mut measures: Vec<String> = Vec::new();
                for (i, p) in r.punishments.iter().enumerate() {
                    if cases::punishment_name(p).is_none() {
                        let codes: Vec<&str> = cases::PUNISHMENTS.iter().map(|(c, _)| *c).collect();
                        return Err(ApiError::invalid(format!("punishments[{i}]"), codes.join(", ")));
                    }
                    if !measures.contains(p) {
                        measures.push(p.clone());
                    }
                }
                result.treatment_outcome = r.treatment_outcome.clone();
                result.punishments = measures;
            }
            _ => {}
        }
        let months = u32::try_from(r.deadline_months)
            .map_err(|_| ApiError::invalid("deadline_months", "must not be negative"))?;
        let outcome = cases::enter(&book, kind, region, to, on, months)?;
        let mut trace = Trace::default();
        // A step taken after the deadline set by the previous one is recorded as late.
        let mut note = r.note.clone();
        if let Ok(d) = civic_domain::policy::parse_date(&before.deadline) {
            if on > d {
                note = format!("逾期:期限 {d},{on} 办理。{note}");
            }
        }
        trace.push(outcome.step);
        if to == CaseState::Treatment && !result.punishments.is_empty() {
            let names: Vec<&str> = result.punishments.iter().filter_map(|p| cases::punishment_name(p)).collect();
            trace.push(civic_domain::explanation::Step {
                rule_id: "land.case.health_check".into(),
                description: "诊治:联合惩戒".into(),
                formula: names.join(";"),
                result: r.treatment_outcome.clone(),
                parameters: vec![],
                source: Some(
                    book.rule_source("land.case.health_check", region, on)
                        .map_err(|e| ApiError::domain("to_state", e))?,
                ),
            });
        }
        let deadline = outcome.deadline.map(|d| d.to_string()).unwrap_or_default();
        let after = CaseRow {
            state: to,
            deadline: deadline.clone(),
            result_json: serde_json::to_string(&result).map_err(|e| ApiError::Internal(e.to_string()))?,
            version: before.version + 1,
            ..before.clone()
        };
        let event = EventRow {
            state: to,
            on_date: on.to_string(),
            at: String::new(),
            actor: who.subject.clone(),
            note,
            deadline,
        };
        store::advance(&self.db, who, request_id, &before, &after, &event, &r.note).await?;
        let (row, events) =
            store::get(&self.db, &after.id).await?.ok_or_else(|| ApiError::Internal("case vanished".into()))?;
        view(&row, &events, Some(&trace))
    }

    pub(super) async fn get_case(&self, who: &Caller, r: &pb::GetCaseRequest) -> ApiResult<pb::LandCase> {
        let (c, e) = store::get(&self.db, &r.case_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("case {}", r.case_id)))?;
        let book = self.book.current();
        let region = request::region_code(&book, "case.region_code", &c.region_code)?;
        self.case_check(who, Access::Read, READ, "read cases", region)?;
        if who.unit_scope("read cases").map_err(ApiError::from)?.is_some() {
            who.check_unit(&c.unit, "read cases").map_err(ApiError::from)?;
        }
        view(&c, &e, None)
    }

    pub(super) async fn list_cases(&self, who: &Caller, r: &pb::ListCasesRequest) -> ApiResult<pb::ListCasesResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.case_check(who, Access::Read, READ, "read cases", region)?;
        let kind = match pb::CaseKind::try_from(r.kind) {
            Ok(pb::CaseKind::Unspecified) => None,
            Ok(_) => Some(kind_of(r.kind)?.as_str()),
            Err(_) => return Err(ApiError::invalid("kind", "unknown kind")),
        };
        let limit = request::page_size("page_size", r.page_size)? as i64;
        let unit = who.unit_scope("read cases").map_err(ApiError::from)?;
        let rows = store::list(&self.db, &region_prefix(region), (kind, unit), &r.page_token, limit).await?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|(c, _)| c.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListCasesResponse {
            cases: rows.iter().map(|(c, e)| view(c, e, None)).collect::<ApiResult<_>>()?,
            next_page_token: next,
        })
    }
}
