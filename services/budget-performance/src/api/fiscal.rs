//! `civic.budget.v1.FiscalRulesService`: the seeds' fiscal rules over gRPC. Finance staff (and
//! auditors, who read everything) call them for regions in their scope.

use civic_proto::budget::v1::{self as pb, fiscal_rules_service_server::FiscalRulesService};
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller},
    ApiError, ApiResult,
};
use tonic::{Request, Response, Status};

use super::respond;
use crate::rules::{
    amount,
    debt::{self, DebtKind, Fault},
    pooled::{self, Balance, BalanceClass},
    zone::{self, Plan, Revenue},
};

#[derive(Clone)]
pub struct FiscalApi {
    pub book: BookHandle,
    /// Debt-risk events.
    pub db: civic_runtime::storage::Database,
}

/// Who applies the fiscal rules.
const FINANCE: &[Role] = &[Role::Finance];

impl FiscalApi {
    fn restructuring_budget(
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

    fn region(
        &self,
        who: &Caller,
        field: &str,
        code: &str,
        action: &'static str,
    ) -> ApiResult<civic_domain::RegionCode> {
        let book = self.book.current();
        let region = request::region_code(&book, field, code)?;
        who.authorize(&book.regions, Access::Read, FINANCE, action, region).map_err(ApiError::from)?;
        Ok(region)
    }

    fn lottery(&self, who: &Caller, r: &pb::CheckLotteryShareRequest) -> ApiResult<pb::CheckLotteryShareResponse> {
        let region = self.region(who, "region_code", &r.region_code, "check the lottery share")?;
        let lottery = amount("welfare_lottery_fen", r.welfare_lottery_fen)?;
        let elderly = amount("elderly_services_fen", r.elderly_services_fen)?;
        let (required, m, trace) =
            crate::rules::cost_share::lottery_share(&self.book.current(), region, r.year, lottery, elderly)?;
        Ok(pb::CheckLotteryShareResponse {
            share_percent: crate::rules::four_places(m.ratio),
            required_percent: required.normalize().to_string(),
            minimum_fen: m.minimum.get(),
            passed: m.passed,
            shortfall_fen: m.shortfall.get(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }

    fn closure(
        &self,
        who: &Caller,
        r: &pb::ComputeClosureRewardRequest,
    ) -> ApiResult<pb::ComputeClosureRewardResponse> {
        let county = self.region(who, "region_code", &r.region_code, "compute closure rewards")?;
        if r.mines.is_empty() || r.mines.len() > 500 {
            return Err(ApiError::invalid("mines", "from 1 to 500 mines"));
        }
        let mut mines = Vec::with_capacity(r.mines.len());
        for (i, m) in r.mines.iter().enumerate() {
            let f = |n: &str| format!("mines[{i}].{n}");
            let name = m.name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(ApiError::invalid(f("name"), "required, at most 100 characters"));
            }
            let closed_on = request::required_date(&f("closed_on"), &m.closed_on)?;
            let accepted_on = if m.accepted_on.trim().is_empty() {
                None
            } else {
                Some(request::required_date(&f("accepted_on"), &m.accepted_on)?)
            };
            mines.push(crate::rules::cost_share::ClosedMine { name: name.into(), closed_on, accepted_on });
        }
        let (rewards, city, local, trace) =
            crate::rules::cost_share::closure_reward(&self.book.current(), county, &mines)?;
        Ok(pb::ComputeClosureRewardResponse {
            mines: rewards
                .into_iter()
                .map(|x| pb::MineReward {
                    name: x.name,
                    city_fen: x.city.get(),
                    county_fen: x.county.get(),
                    payable: x.payable,
                    note: x.note,
                })
                .collect(),
            city_fen: city.get(),
            county_fen: local.get(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }

    fn settle(&self, who: &Caller, r: &pb::SettleZoneRevenueRequest) -> ApiResult<pb::SettleZoneRevenueResponse> {
        let zone = self.region(who, "zone_code", &r.zone_code, "settle zone revenue")?;
        let plan = match (r.plan_fen, r.growth_percent.trim().is_empty()) {
            (p, true) if p > 0 => Plan::Given(amount("plan_fen", p)?),
            (0, false) => Plan::Growth {
                base: amount("base_fen", r.base_fen)?,
                percent: request::decimal("growth_percent", &r.growth_percent)?,
            },
            _ => return Err(ApiError::invalid("plan_fen", "give plan_fen, or base_fen with growth_percent")),
        };
        let revenue = Revenue {
            plan,
            city_tax: amount("city_tax_fen", r.city_tax_fen)?,
            fixed_sources: amount("fixed_source_fen", r.fixed_source_fen)?,
            nontax: amount("nontax_fen", r.nontax_fen)?,
        };
        let s = zone::settle(&self.book.current(), zone, r.year, &revenue)?;
        Ok(pb::SettleZoneRevenueResponse {
            plan_fen: s.plan.get(),
            countable_tax_fen: s.countable.get(),
            excess_fen: s.excess.get(),
            zone_reward_fen: s.zone_reward.get(),
            city_tax_share_fen: s.city_tax_share.get(),
            zone_nontax_fen: s.zone_nontax.get(),
            city_nontax_fen: s.city_nontax.get(),
            explanation: Some(mapping::explanation(&s.trace)),
        })
    }

    fn ledger(&self, who: &Caller, r: &pb::ZoneSpendingLedgerRequest) -> ApiResult<pb::ZoneSpendingLedgerResponse> {
        let zone = self.region(who, "zone_code", &r.zone_code, "keep a zone's ledger")?;
        let parts = [
            amount("base_fen", r.base_fen)?,
            amount("reward_fen", r.reward_fen)?,
            amount("retention_fen", r.retention_fen)?,
            amount("prior_carry_fen", r.prior_carry_fen)?,
        ];
        let l = zone::ledger(&self.book.current(), zone, r.year, parts, amount("spent_fen", r.spent_fen)?)?;
        Ok(pb::ZoneSpendingLedgerResponse {
            available_fen: l.available.get(),
            carry_forward_fen: l.carry_forward.get(),
            overspend_fen: l.overspend.get(),
            city_top_up_fen: 0,
            explanation: Some(mapping::explanation(&l.trace)),
        })
    }

    fn restructuring(
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

    fn guarantee(
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

    fn report(&self, who: &Caller, r: &pb::DebtReportDeadlineRequest) -> ApiResult<pb::DebtReportDeadlineResponse> {
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

fn level_pb(l: Option<debt::Level>) -> i32 {
    match l {
        Some(1) => pb::DebtRiskLevel::I as i32,
        Some(2) => pb::DebtRiskLevel::Ii as i32,
        Some(3) => pb::DebtRiskLevel::Iii as i32,
        Some(4) => pb::DebtRiskLevel::Iv as i32,
        _ => pb::DebtRiskLevel::Unspecified as i32,
    }
}

impl FiscalApi {
    /// One government's row, checked: amounts not negative, defaults not above what fell due.
    fn government(
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

    fn debt_risk(&self, who: &Caller, r: &pb::AssessDebtRiskRequest) -> ApiResult<pb::AssessDebtRiskResponse> {
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

    fn pooled(&self, who: &Caller, r: &pb::CheckPooledFundsRequest) -> ApiResult<pb::CheckPooledFundsResponse> {
        let county = self.region(who, "region_code", &r.region_code, "check pooled agricultural funds")?;
        let on = request::served_date("on_date", &r.on_date)?;
        let mut balances = Vec::new();
        for (i, b) in r.balances.iter().enumerate() {
            amount("balances.amount_fen", b.amount_fen)?;
            balances.push(Balance {
                id: if b.id.is_empty() { format!("balances[{i}]") } else { b.id.clone() },
                carried_since: request::served_date(&format!("balances[{i}].carried_since"), &b.carried_since)?,
                net_surplus: b.net_surplus,
                needed_for_original_use: b.needed_for_original_use,
            });
        }
        let c = pooled::check(
            &self.book.current(),
            county,
            r.year,
            amount("pooled_fen", r.pooled_fen)?,
            amount("poverty_allocation_fen", r.poverty_allocation_fen)?,
            on,
            &balances,
        )?;
        Ok(pb::CheckPooledFundsResponse {
            share_percent: crate::rules::four_places(c.share_percent),
            minimum_fen: c.minimum.get(),
            passed: c.passed,
            shortfall_fen: c.shortfall.get(),
            balances: c
                .balances
                .into_iter()
                .map(|(id, class, reason)| pb::ClassifiedBalance {
                    id,
                    class: match class {
                        BalanceClass::MustRecall => pb::BalanceClass::MustRecall,
                        BalanceClass::MayRecallAfterFiling => pb::BalanceClass::MayRecallAfterFiling,
                        BalanceClass::Keep => pb::BalanceClass::Keep,
                    } as i32,
                    reason,
                })
                .collect(),
            explanation: Some(mapping::explanation(&c.trace)),
        })
    }

    fn pooled_deadlines(
        &self,
        who: &Caller,
        r: &pb::PooledFundDeadlinesRequest,
    ) -> ApiResult<pb::PooledFundDeadlinesResponse> {
        let county = self.region(who, "region_code", &r.region_code, "compute pooled-fund deadlines")?;
        let opt = |field: &str, s: &str| -> ApiResult<Option<chrono::NaiveDate>> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                request::served_date(field, s).map(Some)
            }
        };
        let summary = opt("summary_received_on", &r.summary_received_on)?;
        let opinion = opt("opinion_received_on", &r.opinion_received_on)?;
        if summary.is_none() && opinion.is_none() {
            return Err(ApiError::invalid(
                "summary_received_on",
                "give summary_received_on, opinion_received_on or both",
            ));
        }
        let d = pooled::deadlines(&self.book.current(), county, summary, opinion)?;
        let mut skipped: Vec<String> = Vec::new();
        if let Some(o) = &d.opinion {
            skipped.extend(o.moved_over.iter().map(|(day, why)| format!("{day} {why}")));
        }
        if let Some(p) = &d.plan {
            skipped.extend(p.skipped.iter().map(|(day, why)| format!("{day} {why}")));
        }
        Ok(pb::PooledFundDeadlinesResponse {
            opinion_nominal: d.opinion.as_ref().map(|o| o.nominal.to_string()).unwrap_or_default(),
            opinion_due: d.opinion.as_ref().map(|o| o.due.to_string()).unwrap_or_default(),
            plan_due: d.plan.as_ref().map(|p| p.due.to_string()).unwrap_or_default(),
            skipped,
            explanation: Some(mapping::explanation(&d.trace)),
        })
    }
}

impl FiscalApi {
    fn cost_share(&self, who: &Caller, r: &pb::SplitCostShareRequest) -> ApiResult<pb::SplitCostShareResponse> {
        let region = self.region(who, "region_code", &r.region_code, "split a programme's cost")?;
        let on = request::served_date("on_date", &r.on_date)?;
        let total = amount("total_fen", r.total_fen)?;
        let (share, city, local, trace) =
            crate::rules::cost_share::split(&self.book.current(), region, r.programme.trim(), total, on)?;
        Ok(pb::SplitCostShareResponse {
            city_share: share.normalize().to_string(),
            city_fen: city.get(),
            local_fen: local.get(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}

#[tonic::async_trait]
impl FiscalRulesService for FiscalApi {
    #[tracing::instrument(skip_all)]
    async fn check_lottery_share(
        &self,
        req: Request<pb::CheckLotteryShareRequest>,
    ) -> Result<Response<pb::CheckLotteryShareResponse>, Status> {
        let who = caller(&req)?;
        respond(self.lottery(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn compute_closure_reward(
        &self,
        req: Request<pb::ComputeClosureRewardRequest>,
    ) -> Result<Response<pb::ComputeClosureRewardResponse>, Status> {
        let who = caller(&req)?;
        respond(self.closure(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn open_debt_event(&self, req: Request<pb::OpenDebtEventRequest>) -> Result<Response<pb::DebtEvent>, Status> {
        let who = caller(&req)?;
        respond(self.open_event(&who, &request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn advance_debt_event(
        &self,
        req: Request<pb::AdvanceDebtEventRequest>,
    ) -> Result<Response<pb::DebtEvent>, Status> {
        let who = caller(&req)?;
        respond(self.advance_event(&who, &request::request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn get_debt_event(&self, req: Request<pb::GetDebtEventRequest>) -> Result<Response<pb::DebtEvent>, Status> {
        let who = caller(&req)?;
        respond(self.get_event(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_new_investment(
        &self,
        req: Request<pb::CheckNewInvestmentRequest>,
    ) -> Result<Response<pb::CheckNewInvestmentResponse>, Status> {
        let who = caller(&req)?;
        respond(self.new_investment(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn check_restructuring_budget(
        &self,
        req: Request<pb::CheckRestructuringBudgetRequest>,
    ) -> Result<Response<pb::CheckRestructuringBudgetResponse>, Status> {
        let who = caller(&req)?;
        respond(self.restructuring_budget(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn split_cost_share(
        &self,
        req: Request<pb::SplitCostShareRequest>,
    ) -> Result<Response<pb::SplitCostShareResponse>, Status> {
        let who = caller(&req)?;
        respond(self.cost_share(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn assess_debt_risk(
        &self,
        req: Request<pb::AssessDebtRiskRequest>,
    ) -> Result<Response<pb::AssessDebtRiskResponse>, Status> {
        let who = caller(&req)?;
        respond(self.debt_risk(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_pooled_funds(
        &self,
        req: Request<pb::CheckPooledFundsRequest>,
    ) -> Result<Response<pb::CheckPooledFundsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.pooled(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn pooled_fund_deadlines(
        &self,
        req: Request<pb::PooledFundDeadlinesRequest>,
    ) -> Result<Response<pb::PooledFundDeadlinesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.pooled_deadlines(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn settle_zone_revenue(
        &self,
        req: Request<pb::SettleZoneRevenueRequest>,
    ) -> Result<Response<pb::SettleZoneRevenueResponse>, Status> {
        let who = caller(&req)?;
        respond(self.settle(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn zone_spending_ledger(
        &self,
        req: Request<pb::ZoneSpendingLedgerRequest>,
    ) -> Result<Response<pb::ZoneSpendingLedgerResponse>, Status> {
        let who = caller(&req)?;
        respond(self.ledger(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn check_restructuring_trigger(
        &self,
        req: Request<pb::CheckRestructuringTriggerRequest>,
    ) -> Result<Response<pb::CheckRestructuringTriggerResponse>, Status> {
        let who = caller(&req)?;
        respond(self.restructuring(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn compute_guarantee_cap(
        &self,
        req: Request<pb::ComputeGuaranteeCapRequest>,
    ) -> Result<Response<pb::ComputeGuaranteeCapResponse>, Status> {
        let who = caller(&req)?;
        respond(self.guarantee(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn debt_report_deadline(
        &self,
        req: Request<pb::DebtReportDeadlineRequest>,
    ) -> Result<Response<pb::DebtReportDeadlineResponse>, Status> {
        let who = caller(&req)?;
        respond(self.report(&who, req.get_ref()))
    }
}
