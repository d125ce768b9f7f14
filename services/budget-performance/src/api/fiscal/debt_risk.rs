//! 三门峡's government-debt emergency plan (三政办〔2017〕25号): risk levels and the figures
//! behind them, fiscal restructuring and its budget check, the guarantee cap, report deadlines.

use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::Caller,
    mapping,
    request::{self},
    ApiError, ApiResult,
};

use crate::rules::{
    amount,
    debt::{self, DebtKind, Fault},
};

use super::*;

impl FiscalApi {
    pub(super) fn debt_risk(
        &self,
        who: &Caller,
        r: &pb::AssessDebtRiskRequest,
    ) -> ApiResult<pb::AssessDebtRiskResponse> {
        let city = self.region(who, "city_code", &r.city_code, "assess government-debt risk")?;
        let on = request::served_date("on_date", &r.on_date)?;
        let book = self.book.current();
        let city_row = match &r.city {
            Some(g) => self.government("city", g, city)?,
            None => self.government("city", &pb::GovernmentDebt::default(), city)?,
        };
        if city_row.region != city {
            return Err(ApiError::invalid("city.region_code", "the city's own row names the city"));
        }
        let mut counties = Vec::new();
        for (i, g) in r.counties.iter().enumerate() {
            let field = format!("counties[{i}]");
            let c = self.government(&field, g, city)?;
            let region = book.regions.get(c.region).map_err(|e| ApiError::domain("counties", e))?;
            if region.kind == civic_domain::region::RegionKind::FunctionalZone {
                return Err(ApiError::invalid(
                    format!("{field}.region_code"),
                    "a functional zone is not a county-level government: its parent government monitors its debt (4.1)",
                ));
            }
            if c.region == city || !book.regions.is_within(c.region, city) {
                return Err(ApiError::precondition(
                    "COUNTY_NOT_UNDER_CITY",
                    format!("{} is not a county-level government of {city}", c.region),
                ));
            }
            if counties.iter().any(|x: &debt::GovernmentDebt| x.region == c.region) {
                return Err(ApiError::invalid(format!("{field}.region_code"), "listed twice"));
            }
            counties.push(c);
        }
        let mut incidents = Vec::new();
        for (i, x) in r.incidents.iter().enumerate() {
            incidents.push(match pb::DebtIncident::try_from(*x) {
                Ok(pb::DebtIncident::MajorVeryBad) => debt::Incident::MajorVeryBad,
                Ok(pb::DebtIncident::Larger) => debt::Incident::Larger,
                Ok(pb::DebtIncident::Mass) => debt::Incident::Mass,
                _ => return Err(ApiError::invalid(format!("incidents[{i}]"), "an incident kind")),
            });
        }
        let designated = match pb::DebtRiskLevel::try_from(r.designated_level) {
            Ok(pb::DebtRiskLevel::Unspecified) => None,
            Ok(pb::DebtRiskLevel::I) => Some(1),
            Ok(pb::DebtRiskLevel::Ii) => Some(2),
            Ok(pb::DebtRiskLevel::Iii) => Some(3),
            Ok(pb::DebtRiskLevel::Iv) => Some(4),
            Err(_) => return Err(ApiError::invalid("designated_level", "a level")),
        };
        let input = debt::RiskInput {
            city: city_row,
            counties,
            provincial_bond_default: r.provincial_bond_default,
            incidents,
            designated,
        };
        let risk = debt::assess_risk(&book, city, on, &input)?;
        Ok(pb::AssessDebtRiskResponse {
            level: level_pb(risk.level),
            criteria: risk
                .criteria
                .iter()
                .map(|(clause, l, finding)| pb::DebtCriterion {
                    clause: clause.clone(),
                    level: level_pb(Some(*l)),
                    finding: finding.clone(),
                })
                .collect(),
            open_determinations: risk.open,
            at_least: level_pb(risk.at_least),
            explanation: Some(mapping::explanation(&risk.trace)),
        })
    }

    /// One government's row, checked: amounts not negative, defaults not above what fell due.
    pub(super) fn government(
        &self,
        field: &str,
        g: &pb::GovernmentDebt,
        default_region: civic_domain::RegionCode,
    ) -> ApiResult<debt::GovernmentDebt> {
        let book = self.book.current();
        let region = if g.region_code.is_empty() {
            default_region
        } else {
            request::region_code(&book, &format!("{field}.region_code"), &g.region_code)?
        };
        let fen = |name: &str, v: i64| -> ApiResult<civic_domain::Fen> {
            if v < 0 {
                return Err(ApiError::invalid(format!("{field}.{name}"), "must not be negative"));
            }
            Ok(civic_domain::Fen::new(v))
        };
        let d = debt::GovernmentDebt {
            region,
            principal_due: fen("principal_due_fen", g.principal_due_fen)?,
            principal_defaulted: fen("principal_defaulted_fen", g.principal_defaulted_fen)?,
            interest_due: fen("interest_due_fen", g.interest_due_fen)?,
            interest_defaulted: fen("interest_defaulted_fen", g.interest_defaulted_fen)?,
            unable_to_pay: g.unable_to_pay,
            unable_contingent: g.unable_contingent,
        };
        for (name, due, defaulted) in [
            ("principal_defaulted_fen", d.principal_due, d.principal_defaulted),
            ("interest_defaulted_fen", d.interest_due, d.interest_defaulted),
        ] {
            if defaulted > due {
                return Err(ApiError::invalid(format!("{field}.{name}"), "more was defaulted than fell due"));
            }
        }
        Ok(d)
    }

    pub(super) fn restructuring(
        &self,
        who: &Caller,
        r: &pb::CheckRestructuringTriggerRequest,
    ) -> ApiResult<pb::CheckRestructuringTriggerResponse> {
        let region = self.region(who, "region_code", &r.region_code, "check the restructuring trigger")?;
        let general = (
            amount("general_interest_fen", r.general_interest_fen)?,
            amount("general_expenditure_fen", r.general_expenditure_fen)?,
        );
        let special = if r.special_interest_fen == 0 && r.fund_expenditure_fen == 0 {
            None
        } else {
            Some((
                amount("special_interest_fen", r.special_interest_fen)?,
                amount("fund_expenditure_fen", r.fund_expenditure_fen)?,
            ))
        };
        let t = debt::restructuring(&self.book.current(), region, r.year, general, special)?;
        Ok(pb::CheckRestructuringTriggerResponse {
            tests: t
                .tests
                .iter()
                .map(|x| pb::RestructuringTest {
                    debt: x.debt.into(),
                    ratio_percent: crate::rules::four_places(x.ratio_percent),
                    threshold_percent: x.threshold.normalize().to_string(),
                    mandatory: x.mandatory,
                })
                .collect(),
            mandatory: t.mandatory,
            explanation: Some(mapping::explanation(&t.trace)),
        })
    }

    pub(super) fn restructuring_budget(
        &self,
        who: &Caller,
        r: &pb::CheckRestructuringBudgetRequest,
    ) -> ApiResult<pb::CheckRestructuringBudgetResponse> {
        use debt::{Line, LineKind};
        let region = self.region(who, "region_code", &r.region_code, "check a restructuring budget")?;
        if r.lines.is_empty() || r.lines.len() > 1000 {
            return Err(ApiError::invalid("lines", "from 1 to 1000 lines"));
        }
        let mut lines = Vec::with_capacity(r.lines.len());
        for (i, l) in r.lines.iter().enumerate() {
            let f = |n: &str| format!("lines[{i}].{n}");
            let kind = match pb::RestructuringCategory::try_from(l.category) {
                Ok(pb::RestructuringCategory::BasicLivelihood) => LineKind::BasicLivelihood,
                Ok(pb::RestructuringCategory::GovernmentOperation) => LineKind::GovernmentOperation,
                Ok(pb::RestructuringCategory::Other) => LineKind::Other,
                Ok(pb::RestructuringCategory::ZeroSpend) => LineKind::ZeroSpend,
                Ok(pb::RestructuringCategory::NewInvestment) => LineKind::NewInvestment,
                Ok(pb::RestructuringCategory::NewFund) => LineKind::NewFund,
                Ok(pb::RestructuringCategory::LocalSubsidy) => LineKind::LocalSubsidy,
                Ok(pb::RestructuringCategory::LandProvision) => LineKind::LandProvision,
                _ => return Err(ApiError::invalid(f("category"), "a RestructuringCategory")),
            };
            let name = l.name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(ApiError::invalid(f("name"), "required, at most 100 characters"));
            }
            if l.prior_fen < 0 {
                return Err(ApiError::invalid(f("prior_fen"), "must not be negative"));
            }
            if l.proposed_fen < 0 {
                return Err(ApiError::invalid(f("proposed_fen"), "must not be negative"));
            }
            lines.push(Line {
                kind,
                name: name.to_string(),
                prior: civic_domain::Fen::new(l.prior_fen),
                proposed: civic_domain::Fen::new(l.proposed_fen),
            });
        }
        let c = debt::restructuring_budget(&self.book.current(), region, r.year, &lines)?;
        Ok(pb::CheckRestructuringBudgetResponse {
            compliant: c.violations.is_empty(),
            violations: c
                .violations
                .iter()
                .map(|v| pb::RestructuringViolation {
                    line: v.line.map(|l| l as i32).unwrap_or(-1),
                    rule_id: v.rule_id.into(),
                    message: v.message.clone(),
                })
                .collect(),
            other_prior_fen: c.other_prior.get(),
            other_proposed_fen: c.other_proposed.get(),
            explanation: Some(mapping::explanation(&c.trace)),
        })
    }

    pub(super) fn guarantee(
        &self,
        who: &Caller,
        r: &pb::ComputeGuaranteeCapRequest,
    ) -> ApiResult<pb::ComputeGuaranteeCapResponse> {
        let region = self.region(who, "region_code", &r.region_code, "compute a guarantee cap")?;
        let on = request::served_date("on_date", &r.on_date)?;
        let fault = Fault {
            creditor: r.creditor_at_fault,
            guarantor: r.guarantor_at_fault,
            main_contract_void: r.main_contract_void,
        };
        let c = debt::guarantee_cap(
            &self.book.current(),
            region,
            on,
            amount("unpaid_fen", r.unpaid_fen)?,
            amount("guaranteed_fen", r.guaranteed_fen)?,
            fault,
        )?;
        Ok(pb::ComputeGuaranteeCapResponse {
            plan_cap_fen: c.plan_cap.get(),
            legal_cap_applies: c.legal_cap.is_some(),
            legal_cap_fen: c.legal_cap.map(|f| f.get()).unwrap_or(0),
            explanation: Some(mapping::explanation(&c.trace)),
        })
    }

    pub(super) fn report(
        &self,
        who: &Caller,
        r: &pb::DebtReportDeadlineRequest,
    ) -> ApiResult<pb::DebtReportDeadlineResponse> {
        let region = self.region(who, "region_code", &r.region_code, "compute a debt report deadline")?;
        let due = request::served_date("due_date", &r.due_date)?;
        let kind = match pb::DebtKind::try_from(r.kind) {
            Ok(pb::DebtKind::Government) => DebtKind::Government,
            Ok(pb::DebtKind::Contingent) => DebtKind::Contingent,
            _ => return Err(ApiError::invalid("kind", "DEBT_KIND_GOVERNMENT or DEBT_KIND_CONTINGENT")),
        };
        let d = debt::report_deadline(&self.book.current(), region, due, kind)?;
        Ok(pb::DebtReportDeadlineResponse {
            nominal_date: d.end.nominal.to_string(),
            report_by: d.end.due.to_string(),
            moved_over: d.end.moved_over.iter().map(|(day, why)| format!("{day} {why}")).collect(),
            explanation: Some(mapping::explanation(&d.trace)),
        })
    }
}

pub(super) fn level_pb(l: Option<debt::Level>) -> i32 {
    match l {
        Some(1) => pb::DebtRiskLevel::I as i32,
        Some(2) => pb::DebtRiskLevel::Ii as i32,
        Some(3) => pb::DebtRiskLevel::Iii as i32,
        Some(4) => pb::DebtRiskLevel::Iv as i32,
        _ => pb::DebtRiskLevel::Unspecified as i32,
    }
}
