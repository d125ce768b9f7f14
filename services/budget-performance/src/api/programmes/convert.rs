//! Who may write a programme, and requests, stored rows and findings to and from protobuf,
//! for the programme service.
//! (~400 lines: programmes and goal sets each map both ways, request → row and row →
//! protobuf; kept beside each other so a field added is added in both.)

use chrono::Datelike;
use civic_domain::{policy::PolicyBook, RegionCode};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::{Access, Caller, Denied, Role},
    request::{self},
    ApiError, ApiResult,
};
use rust_decimal::Decimal;

use crate::{
    rules::{
        actuals::{ActualService, ActualSource},
        goals::{Finding, GoalDirection, GoalGroup, GoalIndicator, Goals, ValueBasis},
    },
    store::{goals::GoalSetRow, programmes::ProgrammeRow},
};

/// Roles that may own a programme: every bureau, not auditors, administrators, town staff or
/// third-party evaluators.
pub(crate) fn may_own(role: Role) -> bool {
    !matches!(role, Role::Auditor | Role::Admin | Role::Town | Role::Evaluator)
}

/// Finance and every bureau that may own a programme (an owner is further limited to its own).
pub(super) fn writers() -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| may_own(*r)).collect()
}

pub(super) const FINANCE: &[Role] = &[Role::Finance];
pub(super) const MAX_TEXT: usize = 200;

pub(super) fn text(field: &str, s: &str, required: bool) -> ApiResult<String> {
    crate::api::text(field, s, required, MAX_TEXT)
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

pub(super) fn programme_pb(p: &ProgrammeRow) -> pb::Programme {
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
pub(super) fn programme_row(book: &PolicyBook, p: &pb::Programme) -> ApiResult<ProgrammeRow> {
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

pub(super) fn goals_pb(g: &Goals) -> pb::Goals {
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

pub(super) fn goal_set_pb(book: &PolicyBook, row: &GoalSetRow) -> ApiResult<pb::GoalSet> {
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
pub(super) fn findings_json(f: &[Finding]) -> ApiResult<String> {
    serde_json::to_string(f).map_err(|e| ApiError::Internal(format!("findings: {e}")))
}

pub(super) fn goals_json(g: &Goals) -> ApiResult<String> {
    serde_json::to_string(g).map_err(|e| ApiError::Internal(format!("goals: {e}")))
}

pub(super) fn blocked_error(findings: &[Finding]) -> ApiError {
    let list: Vec<String> =
        findings.iter().filter(|f| f.blocking).map(|f| format!("{}: {}", f.code, f.message)).collect();
    ApiError::precondition("GOALS_INCOMPLETE", format!("the goals cannot be submitted: {}", list.join("; ")))
}

pub(super) fn new_set(programme_id: &str, goals: &Goals, findings: &[Finding]) -> ApiResult<GoalSetRow> {
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
pub(super) fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "0.00".into();
    }
    crate::rules::monitoring::shown(Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole))
}

/// The cells of a programme in the import layout.
pub(super) fn programme_cells(p: &ProgrammeRow) -> Vec<String> {
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
pub(super) fn same_values(a: &ProgrammeRow, b: &ProgrammeRow) -> bool {
    let strip =
        |p: &ProgrammeRow| ProgrammeRow { id: String::new(), version: 0, updated_at: String::new(), ..p.clone() };
    strip(a) == strip(b)
}
