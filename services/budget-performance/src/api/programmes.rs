//! `civic.budget.v1.ProgrammeService`: programmes, their goals and goal review, the budget
//! precondition and goal coverage. Who may do what (spec §3.6): finance (city, county) writes
//! and reviews in its scope; the bureau that owns a programme (its role) drafts and submits
//! its own; auditors read everything and write nothing.

use chrono::Datelike;
use civic_domain::{policy::PolicyBook, Fen, RegionCode};
use civic_proto::budget::v1::{self as pb, programme_service_server::ProgrammeService};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Denied, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller, request_id},
    storage::Database,
    ApiError, ApiResult,
};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use super::respond;
use crate::{
    rules::{
        actuals::{ActualService, ActualSource},
        goals::{self, Finding, GoalDirection, GoalGroup, GoalIndicator, Goals, ValueBasis},
    },
    store::{
        goals::{self as goal_store, GoalSetRow, Review},
        programmes::{self as store, ProgrammeRow},
    },
};

#[derive(Clone)]
pub struct ProgrammeApi {
    pub book: BookHandle,
    pub db: Database,
}

/// Roles that may own a programme: every bureau, not auditors, administrators, town staff or
/// third-party evaluators.
pub(crate) fn may_own(role: Role) -> bool {
    !matches!(role, Role::Auditor | Role::Admin | Role::Town | Role::Evaluator)
}

/// Finance and every bureau that may own a programme (an owner is further limited to its own).
fn writers() -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| may_own(*r)).collect()
}

const FINANCE: &[Role] = &[Role::Finance];
const MAX_TEXT: usize = 200;

fn text(field: &str, s: &str, required: bool) -> ApiResult<String> {
    super::text(field, s, required, MAX_TEXT)
}

/// Whether `who` reaches `p`: the region in scope, and for a bureau its own programmes only.
pub(crate) fn check_programme(
    book: &PolicyBook,
    who: &Caller,
    access: Access,
    p: &ProgrammeRow,
    action: &'static str,
) -> ApiResult<RegionCode> {
    let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(format!("stored region: {e}")))?;
    who.authorize(&book.regions, access, &writers(), action, region).map_err(ApiError::from)?;
    let own = matches!(who.role, Role::Finance | Role::Admin | Role::Auditor) || who.role.as_str() == p.owner_role;
    if !own {
        return Err(Denied::Role { role: who.role, action: "reach another bureau's programmes" }.into());
    }
    Ok(region)
}

fn programme_pb(p: &ProgrammeRow) -> pb::Programme {
    pb::Programme {
        id: p.id.clone(),
        region_code: p.region_code.clone(),
        budget_year: i32::try_from(p.budget_year).unwrap_or_default(),
        code: p.code.clone(),
        name: p.name.clone(),
        kind: pb::ProgrammeKind::from_str_name(&p.kind).unwrap_or_default() as i32,
        budget_kind: pb::BudgetKind::from_str_name(&p.budget_kind).unwrap_or_default() as i32,
        object_kind: pb::ObjectKind::from_str_name(&p.object_kind).unwrap_or_default() as i32,
        owner_role: p.owner_role.clone(),
        owner_unit: p.owner_unit.clone(),
        responsible_person: p.responsible_person.clone(),
        initial_budget_fen: p.initial_budget_fen,
        adjusted_budget_fen: p.adjusted_budget_fen,
        is_new: p.is_new,
        is_major: p.is_major,
        policy_end_date: p.policy_end_date.clone(),
        version: p.version,
        updated_at: p.updated_at.clone(),
    }
}

/// A request's programme, checked field by field.
fn programme_row(book: &PolicyBook, p: &pb::Programme) -> ApiResult<ProgrammeRow> {
    let f = |name: &str| format!("programme.{name}");
    request::region_code(book, &f("region_code"), &p.region_code)?;
    let next_year = request::china_today().year() + 1;
    if !(2000..=next_year).contains(&p.budget_year) {
        return Err(ApiError::invalid(f("budget_year"), format!("a budget year from 2000 to {next_year}")));
    }
    let kind = match pb::ProgrammeKind::try_from(p.kind) {
        Ok(k) if k != pb::ProgrammeKind::Unspecified => k,
        _ => return Err(ApiError::invalid(f("kind"), "PROJECT, POLICY, DEPARTMENT_WHOLE, TRANSFER or GOVERNMENT")),
    };
    let budget_kind = match pb::BudgetKind::try_from(p.budget_kind) {
        Ok(k) if k != pb::BudgetKind::Unspecified => k,
        _ => {
            return Err(ApiError::invalid(
                f("budget_kind"),
                "GENERAL_PUBLIC, GOVERNMENT_FUND, STATE_CAPITAL or SOCIAL_INSURANCE",
            ))
        }
    };
    let object_kind = match pb::ObjectKind::try_from(p.object_kind) {
        Ok(k) if k != pb::ObjectKind::Unspecified => k,
        _ => {
            return Err(ApiError::invalid(
                f("object_kind"),
                "NONE, PPP, PROCUREMENT, PURCHASED_SERVICES, DEBT_PROJECT or FUND",
            ))
        }
    };
    let owner: Role = p.owner_role.trim().parse().map_err(|e: String| ApiError::invalid(f("owner_role"), e))?;
    if !may_own(owner) {
        return Err(ApiError::invalid(f("owner_role"), format!("a {owner} cannot own a programme")));
    }
    if p.initial_budget_fen < 0 {
        return Err(ApiError::invalid(f("initial_budget_fen"), "must not be negative"));
    }
    if p.adjusted_budget_fen <= 0 {
        return Err(ApiError::invalid(f("adjusted_budget_fen"), "全年预算数 is required and positive"));
    }
    let policy_end_date = if p.policy_end_date.trim().is_empty() {
        String::new()
    } else {
        request::served_date(&f("policy_end_date"), &p.policy_end_date)?.to_string()
    };
    Ok(ProgrammeRow {
        id: p.id.trim().to_string(),
        region_code: p.region_code.trim().to_string(),
        budget_year: i64::from(p.budget_year),
        code: text(&f("code"), &p.code, true)?,
        name: text(&f("name"), &p.name, true)?,
        kind: kind.as_str_name().into(),
        budget_kind: budget_kind.as_str_name().into(),
        object_kind: object_kind.as_str_name().into(),
        owner_role: owner.as_str().into(),
        owner_unit: text(&f("owner_unit"), &p.owner_unit, true)?,
        responsible_person: text(&f("responsible_person"), &p.responsible_person, true)?,
        initial_budget_fen: p.initial_budget_fen,
        adjusted_budget_fen: p.adjusted_budget_fen,
        is_new: p.is_new,
        is_major: p.is_major,
        policy_end_date,
        version: 0,
        updated_at: String::new(),
    })
}

/// A request's goals, checked: content problems are findings, malformed figures are errors.
pub(crate) fn goals_from(g: Option<&pb::Goals>) -> ApiResult<Goals> {
    let g = g.ok_or_else(|| ApiError::invalid("goals", "the goal set is required"))?;
    if g.indicators.len() > 200 {
        return Err(ApiError::invalid("goals.indicators", "at most 200 indicators"));
    }
    let mut indicators = Vec::with_capacity(g.indicators.len());
    for (i, x) in g.indicators.iter().enumerate() {
        let f = |name: &str| format!("goals.indicators[{i}].{name}");
        let group = match pb::GoalGroup::try_from(x.group) {
            Ok(pb::GoalGroup::Output) => GoalGroup::Output,
            Ok(pb::GoalGroup::Cost) => GoalGroup::Cost,
            Ok(pb::GoalGroup::Benefit) => GoalGroup::Benefit,
            Ok(pb::GoalGroup::Satisfaction) => GoalGroup::Satisfaction,
            _ => return Err(ApiError::invalid(f("group"), "OUTPUT, COST, BENEFIT or SATISFACTION")),
        };
        let direction = match pb::IndicatorDirection::try_from(x.direction) {
            Ok(pb::IndicatorDirection::AtLeast) => GoalDirection::AtLeast,
            Ok(pb::IndicatorDirection::AtMost) => GoalDirection::AtMost,
            Ok(pb::IndicatorDirection::Exactly) => GoalDirection::Exactly,
            Ok(pb::IndicatorDirection::Qualitative) => GoalDirection::Qualitative,
            _ => return Err(ApiError::invalid(f("direction"), "AT_LEAST, AT_MOST, EXACTLY or QUALITATIVE")),
        };
        let target = text(&f("target"), &x.target, true)?;
        let unit = text(&f("unit"), &x.unit, false)?;
        if direction == GoalDirection::Qualitative {
            if target.parse::<Decimal>().is_ok() {
                return Err(ApiError::invalid(f("target"), "a qualitative indicator's target is words, not a number"));
            }
        } else {
            let t = request::decimal(&f("target"), &target)?;
            if t < Decimal::ZERO {
                return Err(ApiError::invalid(f("target"), "must not be negative"));
            }
            if unit.is_empty() {
                return Err(ApiError::invalid(f("unit"), "a quantitative indicator needs its unit"));
            }
        }
        let points = request::decimal(&f("points"), &x.points)?;
        if points < Decimal::ZERO || points > Decimal::ONE_HUNDRED {
            return Err(ApiError::invalid(f("points"), "between 0 and 100"));
        }
        let value_basis = match pb::ValueBasis::try_from(x.value_basis) {
            Ok(pb::ValueBasis::Plan) => ValueBasis::Plan,
            Ok(pb::ValueBasis::Industry) => ValueBasis::Industry,
            Ok(pb::ValueBasis::History) => ValueBasis::History,
            Ok(pb::ValueBasis::Other) => ValueBasis::Other,
            Ok(pb::ValueBasis::Unspecified) => ValueBasis::Unstated,
            Err(_) => return Err(ApiError::invalid(f("value_basis"), "PLAN, INDUSTRY, HISTORY or OTHER")),
        };
        indicators.push(GoalIndicator {
            group,
            level2: text(&f("level2"), &x.level2, false)?,
            name: text(&f("name"), &x.name, true)?,
            unit: unit.clone(),
            direction,
            target,
            points,
            value_basis,
            basis_evidence: text(&f("basis_evidence"), &x.basis_evidence, false)?,
            data_source: text(&f("data_source"), &x.data_source, false)?,
            template_code: text(&f("template_code"), &x.template_code, false)?,
            actual_source: match &x.actual_source {
                None => None,
                Some(a) => {
                    let service = match pb::ActualService::try_from(a.service) {
                        Ok(pb::ActualService::Assistance) => ActualService::Assistance,
                        Ok(pb::ActualService::Land) => ActualService::Land,
                        _ => return Err(ApiError::invalid(f("actual_source.service"), "ASSISTANCE or LAND")),
                    };
                    if direction == GoalDirection::Qualitative {
                        return Err(ApiError::invalid(
                            f("actual_source"),
                            "a qualitative indicator has no figure to read",
                        ));
                    }
                    let source = ActualSource {
                        service,
                        measure: text(&f("actual_source.measure"), &a.measure, true)?,
                        filter: text(&f("actual_source.filter"), &a.filter, false)?,
                        year: a.year,
                    };
                    crate::rules::actuals::measure(&source, &unit)
                        .map_err(|m| ApiError::invalid(f("actual_source.measure"), m))?;
                    Some(source)
                }
            },
        });
    }
    Ok(Goals { overall: text("goals.overall", &g.overall, false)?, indicators })
}

fn goals_pb(g: &Goals) -> pb::Goals {
    pb::Goals {
        overall: g.overall.clone(),
        indicators: g
            .indicators
            .iter()
            .map(|i| pb::GoalIndicator {
                group: match i.group {
                    GoalGroup::Output => pb::GoalGroup::Output,
                    GoalGroup::Cost => pb::GoalGroup::Cost,
                    GoalGroup::Benefit => pb::GoalGroup::Benefit,
                    GoalGroup::Satisfaction => pb::GoalGroup::Satisfaction,
                } as i32,
                level2: i.level2.clone(),
                name: i.name.clone(),
                unit: i.unit.clone(),
                direction: match i.direction {
                    GoalDirection::AtLeast => pb::IndicatorDirection::AtLeast,
                    GoalDirection::AtMost => pb::IndicatorDirection::AtMost,
                    GoalDirection::Exactly => pb::IndicatorDirection::Exactly,
                    GoalDirection::Qualitative => pb::IndicatorDirection::Qualitative,
                } as i32,
                target: i.target.clone(),
                points: i.points.normalize().to_string(),
                value_basis: match i.value_basis {
                    ValueBasis::Unstated => pb::ValueBasis::Unspecified,
                    ValueBasis::Plan => pb::ValueBasis::Plan,
                    ValueBasis::Industry => pb::ValueBasis::Industry,
                    ValueBasis::History => pb::ValueBasis::History,
                    ValueBasis::Other => pb::ValueBasis::Other,
                } as i32,
                basis_evidence: i.basis_evidence.clone(),
                data_source: i.data_source.clone(),
                template_code: i.template_code.clone(),
                actual_source: i.actual_source.as_ref().map(|a| pb::ActualSource {
                    service: match a.service {
                        ActualService::Assistance => pb::ActualService::Assistance,
                        ActualService::Land => pb::ActualService::Land,
                    } as i32,
                    measure: a.measure.clone(),
                    filter: a.filter.clone(),
                    year: a.year,
                }),
            })
            .collect(),
    }
}

pub(crate) fn finding_pb(book: &PolicyBook, f: &Finding) -> pb::GoalFinding {
    pb::GoalFinding {
        code: f.code.clone(),
        field: f.field.clone(),
        message: f.message.clone(),
        blocking: f.blocking,
        source: Some(civic_proto::common::v1::Source {
            document: f.document.clone(),
            clause: f.clause.clone(),
            title: book.document(&f.document).map(|d| d.title.clone()).unwrap_or_default(),
            effective_from: f.effective_from.map(|d| d.to_string()).unwrap_or_default(),
            effective_to: String::new(),
            note: String::new(),
        }),
    }
}

fn goal_set_pb(book: &PolicyBook, row: &GoalSetRow) -> ApiResult<pb::GoalSet> {
    let goals: Goals = serde_json::from_str(&row.goals_json)
        .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", row.programme_id, row.version)))?;
    let findings: Vec<Finding> = serde_json::from_str(&row.findings_json)
        .map_err(|e| ApiError::Internal(format!("goal findings {}/{}: {e}", row.programme_id, row.version)))?;
    let status = match row.status.as_str() {
        "SUBMITTED" => pb::GoalStatus::Submitted,
        "APPROVED" => pb::GoalStatus::Approved,
        "RETURNED" => pb::GoalStatus::Returned,
        "REJECTED" => pb::GoalStatus::Rejected,
        "SUPERSEDED" => pb::GoalStatus::Superseded,
        other => return Err(ApiError::Internal(format!("goal status {other}"))),
    };
    Ok(pb::GoalSet {
        programme_id: row.programme_id.clone(),
        version: row.version,
        status: status as i32,
        goals: Some(goals_pb(&goals)),
        findings: findings.iter().map(|f| finding_pb(book, f)).collect(),
        submitted_by: row.submitted_by.clone(),
        submitted_at: row.submitted_at.clone(),
        review_grade: pb::GoalReviewGrade::from_str_name(&row.review_grade).unwrap_or_default() as i32,
        review_opinion: row.review_opinion.clone(),
        reviewed_by: row.reviewed_by.clone(),
        reviewed_at: row.reviewed_at.clone(),
        in_force_from: row.in_force_from.clone(),
        adjustment: (!row.adjustment_document.is_empty()).then(|| pb::BudgetAdjustment {
            document: row.adjustment_document.clone(),
            date: row.adjustment_date.clone(),
        }),
    })
}

/// The findings as stored with a set.
fn findings_json(f: &[Finding]) -> ApiResult<String> {
    serde_json::to_string(f).map_err(|e| ApiError::Internal(format!("findings: {e}")))
}

fn goals_json(g: &Goals) -> ApiResult<String> {
    serde_json::to_string(g).map_err(|e| ApiError::Internal(format!("goals: {e}")))
}

fn blocked_error(findings: &[Finding]) -> ApiError {
    let list: Vec<String> =
        findings.iter().filter(|f| f.blocking).map(|f| format!("{}: {}", f.code, f.message)).collect();
    ApiError::precondition("GOALS_INCOMPLETE", format!("the goals cannot be submitted: {}", list.join("; ")))
}

fn new_set(programme_id: &str, goals: &Goals, findings: &[Finding]) -> ApiResult<GoalSetRow> {
    Ok(GoalSetRow {
        programme_id: programme_id.into(),
        version: 0,
        status: String::new(),
        goals_json: goals_json(goals)?,
        findings_json: findings_json(findings)?,
        submitted_by: String::new(),
        submitted_at: String::new(),
        review_grade: String::new(),
        review_opinion: String::new(),
        reviewed_by: String::new(),
        reviewed_at: String::new(),
        in_force_from: String::new(),
        adjustment_document: String::new(),
        adjustment_date: String::new(),
    })
}

/// Two places, half-up, of `part ÷ whole` in percent ("0.00" of nothing).
fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0.00".into();
    }
    crate::rules::monitoring::shown(Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole))
}

/// The cells of a programme in the import layout.
fn programme_cells(p: &ProgrammeRow) -> Vec<String> {
    let short = |s: &str, prefix: &str| s.trim_start_matches(prefix).to_string();
    vec![
        p.region_code.clone(),
        p.budget_year.to_string(),
        p.code.clone(),
        p.name.clone(),
        short(&p.kind, "PROGRAMME_KIND_"),
        short(&p.budget_kind, "BUDGET_KIND_"),
        short(&p.object_kind, "OBJECT_KIND_"),
        p.owner_role.clone(),
        p.owner_unit.clone(),
        p.responsible_person.clone(),
        crate::tables::fen_to_yuan(p.initial_budget_fen),
        crate::tables::fen_to_yuan(p.adjusted_budget_fen),
        if p.is_new { "1" } else { "0" }.into(),
        if p.is_major { "1" } else { "0" }.into(),
        p.policy_end_date.clone(),
    ]
}

/// Whether two programme records hold the same values (ids and versions aside).
fn same_values(a: &ProgrammeRow, b: &ProgrammeRow) -> bool {
    let strip =
        |p: &ProgrammeRow| ProgrammeRow { id: String::new(), version: 0, updated_at: String::new(), ..p.clone() };
    strip(a) == strip(b)
}

impl ProgrammeApi {
    async fn import(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::ImportProgrammesRequest,
    ) -> ApiResult<pb::ImportProgrammesResponse> {
        use crate::tables::{self, RowError};
        let book = self.book.current();
        let scope = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, &writers(), "import programmes", scope).map_err(ApiError::from)?;
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let reason = text("reason", &r.reason, false)?;
        let fail = |errors: Vec<RowError>| pb::ImportProgrammesResponse {
            errors: errors
                .into_iter()
                .take(tables::MAX_ERRORS)
                .map(|e| pb::ImportRowError { row: e.row, field: e.field, message: e.message })
                .collect(),
            stored: false,
            ..Default::default()
        };
        let table = match tables::read(format, &r.content, tables::PROGRAMME_COLUMNS) {
            Ok(t) => t,
            Err(errors) => return Ok(fail(errors)),
        };
        let mut errors = Vec::new();
        let mut parsed: Vec<(i64, ProgrammeRow)> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (rn, row) in &table.rows {
            let cell = |k: &str| table.cell(row, k);
            let mut row_error = |field: &str, message: String| errors.push(RowError::new(*rn, field, message));
            let year = match cell("budget_year").parse::<i32>() {
                Ok(y) => y,
                Err(_) => {
                    row_error("budget_year", "a year such as 2024".into());
                    continue;
                }
            };
            let money = |k: &str| -> Result<i64, String> { tables::yuan_to_fen(cell(k)) };
            let adjusted = match money("adjusted_budget_yuan") {
                Ok(f) => f,
                Err(e) => {
                    row_error("adjusted_budget_yuan", e);
                    continue;
                }
            };
            let initial = if cell("initial_budget_yuan").is_empty() {
                adjusted
            } else {
                match money("initial_budget_yuan") {
                    Ok(f) => f,
                    Err(e) => {
                        row_error("initial_budget_yuan", e);
                        continue;
                    }
                }
            };
            let (Some(is_new), Some(is_major)) = (tables::flag(cell("is_new")), tables::flag(cell("is_major"))) else {
                row_error("is_new", "是/否 (or 1/0)".into());
                continue;
            };
            let enum_of = |prefix: &str, k: &str| format!("{prefix}{}", tables::canonical(cell(k)));
            let p = pb::Programme {
                region_code: cell("region_code").into(),
                budget_year: year,
                code: cell("code").into(),
                name: cell("name").into(),
                kind: pb::ProgrammeKind::from_str_name(&enum_of("PROGRAMME_KIND_", "kind"))
                    .map(|k| k as i32)
                    .unwrap_or(0),
                budget_kind: pb::BudgetKind::from_str_name(&enum_of("BUDGET_KIND_", "budget_kind"))
                    .map(|k| k as i32)
                    .unwrap_or(0),
                object_kind: pb::ObjectKind::from_str_name(&enum_of("OBJECT_KIND_", "object_kind"))
                    .map(|k| k as i32)
                    .unwrap_or(0),
                owner_role: cell("owner_role").into(),
                owner_unit: cell("owner_unit").into(),
                responsible_person: cell("responsible_person").into(),
                initial_budget_fen: initial,
                adjusted_budget_fen: adjusted,
                is_new,
                is_major,
                policy_end_date: cell("policy_end_date").into(),
                ..Default::default()
            };
            let row = match programme_row(&book, &p) {
                Ok(row) => row,
                Err(ApiError::InvalidArgument(v)) => {
                    for (field, message) in v {
                        row_error(field.trim_start_matches("programme.").trim_end_matches("_fen"), message);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            // The same scope as a single upsert: inside the import's region, the caller's own.
            let region = RegionCode::parse(&row.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
            if !book.regions.is_within(region, scope) {
                row_error("region_code", format!("{} is outside the import's region {scope}", row.region_code));
                continue;
            }
            if let Err(e) = check_programme(&book, who, Access::Write, &row, "import programmes") {
                row_error("owner_role", e.to_string());
                continue;
            }
            if let Some(first) = seen.insert((row.region_code.clone(), row.budget_year, row.code.clone()), *rn) {
                row_error("code", format!("programme {} is also on row {first}", row.code));
                continue;
            }
            parsed.push((*rn, row));
        }
        if !errors.is_empty() {
            return Ok(fail(errors));
        }
        // Match against what is stored: create, change (the caller's own only) or leave.
        let mut existing = std::collections::HashMap::new();
        let years: std::collections::BTreeSet<i64> = parsed.iter().map(|(_, p)| p.budget_year).collect();
        for y in years {
            for p in store::all_for_year(&self.db, &region_prefix(scope), y).await? {
                existing.insert((p.region_code.clone(), p.budget_year, p.code.clone()), p);
            }
        }
        let (mut creates, mut updates, mut unchanged) = (Vec::new(), Vec::new(), 0i64);
        for (rn, mut row) in parsed {
            match existing.get(&(row.region_code.clone(), row.budget_year, row.code.clone())) {
                None => {
                    row.id = uuid::Uuid::new_v4().to_string();
                    creates.push(row);
                }
                Some(before) => {
                    if check_programme(&book, who, Access::Write, before, "import programmes").is_err() {
                        errors.push(RowError::new(
                            rn,
                            "code",
                            format!("programme {} belongs to another bureau", row.code),
                        ));
                        continue;
                    }
                    row.id = before.id.clone();
                    row.version = before.version;
                    row.updated_at = before.updated_at.clone();
                    if same_values(before, &row) {
                        unchanged += 1;
                    } else {
                        updates.push((before.clone(), row));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Ok(fail(errors));
        }
        store::import(&self.db, who, rid, &creates, &updates, &reason).await?;
        Ok(pb::ImportProgrammesResponse {
            created: creates.len() as i64,
            changed: updates.len() as i64,
            unchanged,
            errors: vec![],
            stored: true,
        })
    }

    async fn export(&self, who: &Caller, r: &pb::ExportProgrammesRequest) -> ApiResult<pb::ExportedTable> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &writers(), "export programmes", region).map_err(ApiError::from)?;
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let own = |p: &ProgrammeRow| {
            matches!(who.role, Role::Finance | Role::Admin | Role::Auditor) || p.owner_role == who.role.as_str()
        };
        let rows: Vec<Vec<String>> = store::all_for_year(&self.db, &region_prefix(region), i64::from(r.budget_year))
            .await?
            .iter()
            .filter(|p| own(p))
            .map(programme_cells)
            .collect();
        let header: Vec<&str> = crate::tables::PROGRAMME_COLUMNS.iter().map(|(k, _, _)| *k).collect();
        let content = civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
            .map_err(ApiError::Internal)?;
        let (filename, content_type) = crate::tables::file(&format!("programmes-{region}-{}", r.budget_year), format);
        Ok(pb::ExportedTable { filename, content_type, content, rows: rows.len() as i64 })
    }

    /// Every template a goal names is in the library for the programme's region.
    async fn check_templates(&self, book: &PolicyBook, region: RegionCode, goals: &Goals, date: &str) -> ApiResult<()> {
        for (i, g) in goals.indicators.iter().enumerate() {
            if !g.template_code.is_empty()
                && !super::indicators::template_exists(&self.db, book, region, &g.template_code, date).await?
            {
                return Err(ApiError::invalid(
                    format!("goals.indicators[{i}].template_code"),
                    format!("no template {} in force for {region}", g.template_code),
                ));
            }
        }
        Ok(())
    }

    async fn programme(&self, id: &str) -> ApiResult<ProgrammeRow> {
        if id.trim().is_empty() || id.len() > 64 {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        store::get(&self.db, id.trim()).await?.ok_or_else(|| ApiError::not_found(format!("programme {}", id.trim())))
    }

    async fn upsert(&self, who: &Caller, rid: &str, r: &pb::UpsertProgrammeRequest) -> ApiResult<pb::Programme> {
        let book = self.book.current();
        let p = r.programme.as_ref().ok_or_else(|| ApiError::invalid("programme", "required"))?;
        let mut row = programme_row(&book, p)?;
        let reason = text("reason", &r.reason, false)?;
        if r.expected_version < 0 {
            return Err(ApiError::invalid("expected_version", "0 to create, else the current version"));
        }
        if r.expected_version == 0 {
            if !row.id.is_empty() {
                return Err(ApiError::invalid("programme.id", "assigned by the service: leave it empty to create"));
            }
            row.id = uuid::Uuid::new_v4().to_string();
            check_programme(&book, who, Access::Write, &row, "create programmes")?;
            return Ok(programme_pb(&store::insert(&self.db, who, rid, &row, &reason).await?));
        }
        let before = self.programme(&row.id).await?;
        check_programme(&book, who, Access::Write, &before, "change programmes")?;
        check_programme(&book, who, Access::Write, &row, "change programmes")?;
        if before.region_code != row.region_code || before.budget_year != row.budget_year {
            return Err(ApiError::invalid(
                "programme.region_code",
                "a programme's region and budget year do not change: create the programme anew",
            ));
        }
        Ok(programme_pb(&store::update(&self.db, who, rid, &row, r.expected_version, &reason).await?))
    }

    async fn list(&self, who: &Caller, r: &pb::ListProgrammesRequest) -> ApiResult<pb::ListProgrammesResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &writers(), "list programmes", region).map_err(ApiError::from)?;
        let size = request::page_size("page_size", r.page_size)?;
        let after = r.page_token.trim();
        if after.len() > 64 || !after.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(ApiError::invalid("page_token", "not a token this service issued"));
        }
        // A bureau sees its own programmes; finance, auditors and administrators all of them.
        let owner = (!matches!(who.role, Role::Finance | Role::Admin | Role::Auditor)).then(|| who.role.as_str());
        let rows =
            store::list(&self.db, &region_prefix(region), i64::from(r.budget_year), owner, after, size as i64 + 1)
                .await?;
        let more = rows.len() > size;
        let page: Vec<ProgrammeRow> = rows.into_iter().take(size).collect();
        Ok(pb::ListProgrammesResponse {
            next_page_token: if more { page.last().map(|p| p.id.clone()).unwrap_or_default() } else { String::new() },
            programmes: page.iter().map(programme_pb).collect(),
        })
    }

    fn check(&self, who: &Caller, r: &pb::CheckGoalsRequest) -> ApiResult<pb::CheckGoalsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &Role::ALL, "check goals", region).map_err(ApiError::from)?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        if r.adjusted_budget_fen <= 0 {
            return Err(ApiError::invalid("adjusted_budget_fen", "全年预算数 is required and positive"));
        }
        let goals = goals_from(r.goals.as_ref())?;
        let findings = goals::check(&book, region, date, &goals, Fen::new(r.adjusted_budget_fen))?;
        Ok(pb::CheckGoalsResponse {
            ok: !goals::blocked(&findings),
            findings: findings.iter().map(|f| finding_pb(&book, f)).collect(),
        })
    }

    async fn submit(&self, who: &Caller, rid: &str, r: &pb::SubmitGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = check_programme(&book, who, Access::Write, &p, "submit goals")?;
        let goals = goals_from(r.goals.as_ref())?;
        self.check_templates(&book, region, &goals, &request::china_today().to_string()).await?;
        let findings = goals::check(&book, region, request::china_today(), &goals, Fen::new(p.adjusted_budget_fen))?;
        if goals::blocked(&findings) {
            return Err(blocked_error(&findings));
        }
        let set = new_set(&p.id, &goals, &findings)?;
        let row = goal_store::submit(&self.db, who, rid, &p.region_code, &set, r.expected_version).await?;
        goal_set_pb(&book, &row)
    }

    async fn review(&self, who: &Caller, rid: &str, r: &pb::ReviewGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "review goals", region).map_err(ApiError::from)?;
        let grade = match pb::GoalReviewGrade::try_from(r.grade) {
            Ok(g) if g != pb::GoalReviewGrade::Unspecified => g,
            _ => return Err(ApiError::invalid("grade", "EXCELLENT, GOOD, FAIR or POOR (优/良/中/差)")),
        };
        let opinion = text("opinion", &r.opinion, false)?;
        // Returned or rejected goals need the reviewer's words; so do 良 (amend as advised).
        if grade != pb::GoalReviewGrade::Excellent && opinion.is_empty() {
            return Err(ApiError::invalid("opinion", "the review opinion is required unless the goals are graded 优"));
        }
        // Approved goals are the year's goals, whenever the review falls (they are issued with
        // the budget, 三(七)); an amendment applies from its adjustment's date.
        let year_start = format!("{}-01-01", p.budget_year);
        let (status, in_force) = match grade {
            pb::GoalReviewGrade::Excellent | pb::GoalReviewGrade::Good => ("APPROVED", year_start.as_str()),
            pb::GoalReviewGrade::Fair => ("RETURNED", ""),
            _ => ("REJECTED", ""),
        };
        book.rule_source("budget.goal.review", region, request::china_today())
            .map_err(|e| ApiError::domain("grade", e))?;
        let review = Review { status, grade: grade.as_str_name(), opinion: &opinion, in_force_from: in_force };
        let row = goal_store::review(&self.db, who, rid, &p.region_code, &p.id, r.version, &review).await?;
        goal_set_pb(&book, &row)
    }

    async fn amend(&self, who: &Caller, rid: &str, r: &pb::AmendGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = check_programme(&book, who, Access::Write, &p, "amend goals")?;
        let adjustment = r.adjustment.as_ref().filter(|a| !a.document.trim().is_empty()).ok_or_else(|| {
            let clause = book
                .rule("budget.goal.change_procedure", region, request::china_today())
                .map(|c| format!("{} {}", c.document, c.clause))
                .unwrap_or_default();
            ApiError::precondition(
                "ADJUSTMENT_REQUIRED",
                format!(
                    "approved goals change only through a budget adjustment ({clause}): name its document and date"
                ),
            )
        })?;
        let document = text("adjustment.document", &adjustment.document, true)?;
        let date = request::served_date("adjustment.date", &adjustment.date)?;
        let goals = goals_from(r.goals.as_ref())?;
        self.check_templates(&book, region, &goals, &date.to_string()).await?;
        let findings = goals::check(&book, region, date, &goals, Fen::new(p.adjusted_budget_fen))?;
        if goals::blocked(&findings) {
            return Err(blocked_error(&findings));
        }
        let mut set = new_set(&p.id, &goals, &findings)?;
        set.in_force_from = date.to_string();
        set.adjustment_document = document;
        set.adjustment_date = date.to_string();
        let row = goal_store::amend(&self.db, who, rid, &p.region_code, &set, r.expected_version).await?;
        goal_set_pb(&book, &row)
    }

    async fn get_goals(&self, who: &Caller, r: &pb::GetGoalsRequest) -> ApiResult<pb::GoalSet> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        check_programme(&book, who, Access::Read, &p, "read goals")?;
        let row = if !r.in_force_on.trim().is_empty() {
            let on = request::served_date("in_force_on", &r.in_force_on)?;
            goal_store::in_force(&self.db, &p.id, &on.to_string())
                .await?
                .ok_or_else(|| ApiError::not_found(format!("approved goals of programme {} in force on {on}", p.id)))?
        } else if r.version > 0 {
            goal_store::version(&self.db, &p.id, r.version).await?.ok_or_else(|| {
                ApiError::not_found(format!("version {} of the goals of programme {}", r.version, p.id))
            })?
        } else {
            goal_store::latest(&self.db, &p.id)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("goals of programme {}", p.id)))?
        };
        goal_set_pb(&book, &row)
    }

    async fn precondition(
        &self,
        who: &Caller,
        r: &pb::CheckBudgetPreconditionRequest,
    ) -> ApiResult<pb::CheckBudgetPreconditionResponse> {
        let book = self.book.current();
        if r.programme_ids.is_empty() || r.programme_ids.len() > 1000 {
            return Err(ApiError::invalid("programme_ids", "from 1 to 1000 programme ids"));
        }
        let today = request::china_today();
        let mut results = Vec::with_capacity(r.programme_ids.len());
        for id in &r.programme_ids {
            let p = self.programme(id).await?;
            let region = check_programme(&book, who, Access::Read, &p, "check the budget precondition")?;
            let mut reasons = Vec::new();
            if !goal_store::has_approved(&self.db, &p.id).await? {
                let latest = goal_store::latest(&self.db, &p.id).await?;
                let source = book
                    .rule_source("budget.goal.precondition", region, today)
                    .map_err(|e| ApiError::domain("programme_ids", e))?;
                let message = match latest {
                    None => "未设置绩效目标，不得安排预算".to_string(),
                    Some(l) => format!("绩效目标(第{}版)状态为 {}，审核未通过，不得安排预算", l.version, l.status),
                };
                reasons.push(Finding::new("NO_APPROVED_GOALS", String::new(), message, true, &source));
            }
            if p.is_new && p.is_major {
                // 三(六): the assessment's result is a required element of the budget request.
                let source = book
                    .rule_source("budget.ex_ante.required", region, today)
                    .map_err(|e| ApiError::domain("programme_ids", e))?;
                match crate::store::ex_ante::latest(&self.db, &p.id).await? {
                    None => reasons.push(Finding::new(
                        "EX_ANTE_REQUIRED",
                        String::new(),
                        "新出台的重大政策、项目须有事前绩效评估结论".into(),
                        true,
                        &source,
                    )),
                    Some(a) if a.conclusion == "NOT_SUPPORTED" => reasons.push(Finding::new(
                        "EX_ANTE_NOT_SUPPORTED",
                        String::new(),
                        format!("事前绩效评估结论为不予支持({} 分,{})", a.total, a.report_ref),
                        true,
                        &source,
                    )),
                    Some(_) => {}
                }
            }
            results.push(pb::PreconditionResult {
                programme_id: p.id.clone(),
                allowed: reasons.is_empty(),
                reasons: reasons.iter().map(|f| finding_pb(&book, f)).collect(),
            });
        }
        Ok(pb::CheckBudgetPreconditionResponse { results })
    }

    async fn coverage(&self, who: &Caller, r: &pb::GoalCoverageRequest) -> ApiResult<pb::GoalCoverageResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, FINANCE, "read goal coverage", region).map_err(ApiError::from)?;
        let year = r.budget_year;
        let date = crate::rules::year_end(year)?;
        // The region's own programmes (a city's are those of the city level, not its counties').
        let rows: Vec<_> = store::coverage(&self.db, &region_prefix(region), i64::from(year))
            .await?
            .into_iter()
            .filter(|c| c.programme.region_code == region.as_str())
            .collect();
        let count = rows.len() as i64;
        let approved = rows.iter().filter(|c| c.approved).count() as i64;
        let mut amount: i64 = 0;
        let mut amount_approved: i64 = 0;
        for c in &rows {
            let fen = c.programme.adjusted_budget_fen;
            amount = amount.checked_add(fen).ok_or_else(|| ApiError::Internal("coverage amount overflow".into()))?;
            if c.approved {
                amount_approved = amount_approved
                    .checked_add(fen)
                    .ok_or_else(|| ApiError::Internal("coverage amount overflow".into()))?;
            }
        }
        let target = book
            .value_if_in_force("budget.goal.coverage.target_percent", region, date)
            .map_err(|e| ApiError::domain("region_code", e))?
            .filter(|t| t.defined_for == region);
        let count_pct = percent(approved, count);
        let amount_pct = percent(amount_approved, amount);
        let met = target.as_ref().map(|t| {
            let cmp = t.cmp.unwrap_or(civic_domain::compare::Cmp::Ge);
            let exact = |a: i64, b: i64| {
                if b == 0 {
                    Decimal::ZERO
                } else {
                    Decimal::from(a) * Decimal::ONE_HUNDRED / Decimal::from(b)
                }
            };
            count > 0
                && cmp.holds(exact(approved, count), t.value)
                && cmp.holds(exact(amount_approved, amount), t.value)
        });
        let mut trace = civic_domain::explanation::Trace::default();
        let rule = book.rule_source("budget.goal.coverage", region, date).ok();
        trace.push(civic_domain::explanation::Step {
            rule_id: "budget.goal.coverage".into(),
            description: format!("{year} 年 {region} 本级预算项目绩效目标覆盖率(已审核通过)"),
            formula: format!(
                "个数 {approved} ÷ {count} = {count_pct}%;金额 {} ÷ {} = {amount_pct}%{}",
                Fen::new(amount_approved).yuan_text(),
                Fen::new(amount).yuan_text(),
                match &target {
                    Some(t) => format!(";目标 {}%{}", t.value.normalize(), t.cmp.map(|c| c.word()).unwrap_or_default()),
                    None => ";本地区未设覆盖率目标".into(),
                }
            ),
            result: match met {
                Some(true) => "达到目标".into(),
                Some(false) => "未达到目标".into(),
                None => "无目标".into(),
            },
            parameters: target.iter().map(|t| t.to_use()).collect(),
            source: rule,
        });
        Ok(pb::GoalCoverageResponse {
            programmes: count,
            with_approved_goals: approved,
            count_percent: count_pct,
            amount_fen: amount,
            amount_with_approved_goals_fen: amount_approved,
            amount_percent: amount_pct,
            target_percent: target.as_ref().map(|t| t.value.normalize().to_string()).unwrap_or_default(),
            target_met: met.unwrap_or(false),
            missing: rows
                .iter()
                .filter(|c| !c.approved)
                .map(|c| pb::ProgrammeRef {
                    id: c.programme.id.clone(),
                    region_code: c.programme.region_code.clone(),
                    code: c.programme.code.clone(),
                    name: c.programme.name.clone(),
                    adjusted_budget_fen: c.programme.adjusted_budget_fen,
                })
                .collect(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}

#[tonic::async_trait]
impl ProgrammeService for ProgrammeApi {
    #[tracing::instrument(skip_all)]
    async fn upsert_programme(
        &self,
        req: Request<pb::UpsertProgrammeRequest>,
    ) -> Result<Response<pb::Programme>, Status> {
        let who = caller(&req)?;
        respond(self.upsert(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn get_programme(&self, req: Request<pb::GetProgrammeRequest>) -> Result<Response<pb::Programme>, Status> {
        let who = caller(&req)?;
        let book = self.book.current();
        respond(
            async {
                let p = self.programme(&req.get_ref().id).await?;
                check_programme(&book, &who, Access::Read, &p, "read programmes")?;
                Ok(programme_pb(&p))
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn list_programmes(
        &self,
        req: Request<pb::ListProgrammesRequest>,
    ) -> Result<Response<pb::ListProgrammesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_goals(
        &self,
        req: Request<pb::CheckGoalsRequest>,
    ) -> Result<Response<pb::CheckGoalsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.check(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn submit_goals(&self, req: Request<pb::SubmitGoalsRequest>) -> Result<Response<pb::GoalSet>, Status> {
        let who = caller(&req)?;
        respond(self.submit(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn review_goals(&self, req: Request<pb::ReviewGoalsRequest>) -> Result<Response<pb::GoalSet>, Status> {
        let who = caller(&req)?;
        respond(self.review(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn amend_goals(&self, req: Request<pb::AmendGoalsRequest>) -> Result<Response<pb::GoalSet>, Status> {
        let who = caller(&req)?;
        respond(self.amend(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn get_goals(&self, req: Request<pb::GetGoalsRequest>) -> Result<Response<pb::GoalSet>, Status> {
        let who = caller(&req)?;
        respond(self.get_goals(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_budget_precondition(
        &self,
        req: Request<pb::CheckBudgetPreconditionRequest>,
    ) -> Result<Response<pb::CheckBudgetPreconditionResponse>, Status> {
        let who = caller(&req)?;
        respond(self.precondition(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn import_programmes(
        &self,
        req: Request<pb::ImportProgrammesRequest>,
    ) -> Result<Response<pb::ImportProgrammesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.import(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn export_programmes(
        &self,
        req: Request<pb::ExportProgrammesRequest>,
    ) -> Result<Response<pb::ExportedTable>, Status> {
        let who = caller(&req)?;
        respond(self.export(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn goal_coverage(
        &self,
        req: Request<pb::GoalCoverageRequest>,
    ) -> Result<Response<pb::GoalCoverageResponse>, Status> {
        let who = caller(&req)?;
        respond(self.coverage(&who, req.get_ref()).await)
    }
}
