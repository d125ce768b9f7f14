//! Stateless computations: household benefit, person benefit, low-income identification, city
//! subsidy split.

use civic_domain::{Fen, RegionCode};
use civic_proto::assistance::v1 as pb;
use civic_runtime::{identity::Access, mapping, request, ApiError, ApiResult};

use super::{
    access,
    error::{on_date_error, split_error},
    mapping as m,
    service::AssistanceApi,
};
use crate::rules::{
    benefit, low_income,
    person::{self, PersonCategory},
    subsidy::{self, CountyInput, Direction, Factor},
};

impl AssistanceApi {
    pub(super) fn household_benefit(
        &self,
        who: &civic_runtime::identity::Caller,
        r: &pb::ComputeHouseholdBenefitRequest,
    ) -> ApiResult<pb::ComputeHouseholdBenefitResponse> {
        let book = self.book.current();
        let date = request::required_date("on_date", &r.on_date)?;
        let h = m::household(&book, "household", r.household.as_ref())?;
        access::check(who, &book, Access::Read, access::COMPUTE, "compute benefits", h.region)?;
        let b = benefit::compute(&book, &h, date).map_err(|e| on_date_error("household", e))?;
        Ok(pb::ComputeHouseholdBenefitResponse {
            monthly_benefit_fen: b.monthly.get(),
            standard_per_person_fen: b.standard.get(),
            members: b.members as i32,
            counted_income_fen: b.counted_income.get(),
            per_capita_income_fen: b.per_capita_income.get(),
            eligible: b.eligible,
            explanation: Some(mapping::into_explanation(b.trace)),
        })
    }

    pub(super) fn person_benefit(
        &self,
        who: &civic_runtime::identity::Caller,
        r: &pb::ComputePersonBenefitRequest,
    ) -> ApiResult<pb::ComputePersonBenefitResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::COMPUTE, "compute benefits", region)?;
        let date = request::required_date("on_date", &r.on_date)?;
        let category = match pb::PersonCategory::try_from(r.category) {
            Ok(pb::PersonCategory::Destitute) => PersonCategory::Destitute(m::residence("residence", r.residence)?),
            Ok(pb::PersonCategory::OrphanInstitutional) => PersonCategory::OrphanInstitutional,
            Ok(pb::PersonCategory::OrphanUrbanScattered) => PersonCategory::OrphanUrbanScattered,
            Ok(pb::PersonCategory::OrphanRuralScattered) => PersonCategory::OrphanRuralScattered,
            Ok(pb::PersonCategory::Downsized1960sRetiree) => match r.retiree_tier {
                1..=4 => PersonCategory::Retiree1960s { tier: r.retiree_tier as u8 },
                _ => return Err(ApiError::invalid("retiree_tier", "tier 1, 2, 3 or 4")),
            },
            _ => {
                return Err(ApiError::invalid("category", "DESTITUTE, ORPHAN_* or DOWNSIZED_1960S_RETIREE is required"))
            }
        };
        let p = person::compute(&book, category, r.adult_in_school_not_employed, region, date)
            .map_err(|e| on_date_error("region_code", e))?;
        Ok(pb::ComputePersonBenefitResponse {
            monthly_amount_fen: p.monthly.get(),
            explanation: Some(mapping::into_explanation(p.trace)),
        })
    }

    pub(super) fn low_income(
        &self,
        who: &civic_runtime::identity::Caller,
        r: &pb::IdentifyLowIncomeRequest,
    ) -> ApiResult<pb::IdentifyLowIncomeResponse> {
        let book = self.book.current();
        let date = request::required_date("on_date", &r.on_date)?;
        let h = m::household(&book, "household", r.household.as_ref())?;
        access::check(who, &book, Access::Read, access::COMPUTE, "identify low-income families", h.region)?;
        let l =
            low_income::identify(&book, &h, date, r.is_dibao_household).map_err(|e| on_date_error("household", e))?;
        Ok(pb::IdentifyLowIncomeResponse {
            low_income: l.low_income,
            threshold_per_person_fen: l.threshold.get(),
            per_capita_income_fen: l.per_capita_income.get(),
            explanation: Some(mapping::explanation(&l.trace)),
        })
    }

    /// Each county's FINAL evaluation score from budget-performance, asked on the caller's
    /// behalf (token and request id travel; 10 s; one retry when unavailable, the call reads
    /// only). Returns the scores by county and the explanation steps that show where they came
    /// from.
    async fn budget_scores(
        &self,
        who: &civic_runtime::identity::Caller,
        request_id: &str,
        city: RegionCode,
        category: &str,
        year: i32,
    ) -> ApiResult<(std::collections::HashMap<String, String>, Vec<civic_proto::common::v1::TraceStep>)> {
        use civic_proto::budget::v1::{evaluation_service_client::EvaluationServiceClient, ListRegionScoresRequest};
        let channel = self.budget.clone();
        let message = ListRegionScoresRequest {
            city_code: city.to_string(),
            category: category.into(),
            year,
            allow_missing: true,
        };
        let call = || {
            let mut client = EvaluationServiceClient::new(channel.clone());
            let request = civic_runtime::outgoing::on_behalf_of(
                who,
                request_id,
                message.clone(),
                std::time::Duration::from_secs(10),
            );
            async move { client.list_region_scores(request).await }
        };
        use civic_runtime::outgoing::{call_with_one_retry, PeerFailure};
        let response = match call_with_one_retry(
            "budget-performance",
            "civic.budget.v1.EvaluationService/ListRegionScores",
            civic_runtime::server::RETRY_BACKOFF,
            call,
        )
        .await
        {
            Ok(r) => r,
            Err(PeerFailure::Unreachable(_)) => return Err(ApiError::Unavailable("budget-performance".into())),
            // The other service's verdict on the caller's own request, as it is.
            Err(PeerFailure::Refused(s)) => {
                return Err(ApiError::precondition(
                    "BUDGET_SCORES_REFUSED",
                    format!("budget-performance: {} ({:?})", s.message(), s.code()),
                ))
            }
        };
        let upstream =
            response.metadata().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let r = response.into_inner();
        let mut steps = r.explanation.map(|e| e.steps).unwrap_or_default();
        steps.push(civic_proto::common::v1::TraceStep {
            rule_id: "subsidy.performance_from_budget".into(),
            description: format!("工作绩效因素取自预算绩效服务 ListRegionScores({city}, {category}, {year})"),
            formula: r
                .scores
                .iter()
                .map(|s| format!("{} {}: {} (评价 {})", s.region_code, s.region_name, s.score, s.evaluation_id))
                .collect::<Vec<_>>()
                .join("; "),
            result: format!("request id {upstream}"),
            parameters: vec![],
            source: None,
        });
        Ok((r.scores.into_iter().map(|s| (s.region_code, s.score)).collect(), steps))
    }

    pub(super) async fn split_subsidy(
        &self,
        who: &civic_runtime::identity::Caller,
        request_id: &str,
        r: &pb::SplitCitySubsidyRequest,
    ) -> ApiResult<pb::SplitCitySubsidyResponse> {
        let book = self.book.current();
        let city = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::COMPUTE, "split the city subsidy", city)?;
        let dec = |field: String, s: &str| request::decimal(&field, s);
        let mut factors = Vec::new();
        for (i, f) in r.factors.iter().enumerate() {
            let direction = match pb::FactorDirection::try_from(f.direction) {
                Ok(pb::FactorDirection::MoreGetsMore) => Direction::MoreGetsMore,
                Ok(pb::FactorDirection::LessGetsMore) => Direction::LessGetsMore,
                _ => {
                    return Err(ApiError::invalid(
                        format!("factors[{i}].direction"),
                        "MORE_GETS_MORE or LESS_GETS_MORE",
                    ))
                }
            };
            if f.name.trim().is_empty() {
                return Err(ApiError::invalid(format!("factors[{i}].name"), "required"));
            }
            factors.push(Factor {
                name: f.name.clone(),
                weight: dec(format!("factors[{i}].weight"), &f.weight)?,
                direction,
            });
        }
        // Factors whose values come from budget-performance.
        let mut fetched: Vec<(usize, std::collections::HashMap<String, String>)> = Vec::new();
        let mut upstream_steps = Vec::new();
        for (i, f) in r.factors.iter().enumerate() {
            match pb::FactorSource::try_from(f.source) {
                Ok(pb::FactorSource::Unspecified) => {}
                Ok(pb::FactorSource::BudgetScores) => {
                    let category = f.category.trim();
                    if category.is_empty() || category.len() > 32 {
                        return Err(ApiError::invalid(
                            format!("factors[{i}].category"),
                            "the evaluations' category, e.g. assistance",
                        ));
                    }
                    if !(2000..=2100).contains(&f.year) {
                        return Err(ApiError::invalid(format!("factors[{i}].year"), "the evaluations' year"));
                    }
                    if f.direction != pb::FactorDirection::MoreGetsMore as i32 {
                        return Err(ApiError::invalid(
                            format!("factors[{i}].direction"),
                            "a better score gets more: MORE_GETS_MORE",
                        ));
                    }
                    let (scores, steps) = self.budget_scores(who, request_id, city, category, f.year).await?;
                    upstream_steps.extend(steps);
                    fetched.push((i, scores));
                }
                Err(_) => return Err(ApiError::invalid(format!("factors[{i}].source"), "a FactorSource")),
            }
        }
        let missing: Vec<String> = r
            .counties
            .iter()
            .filter(|c| fetched.iter().any(|(_, scores)| !scores.contains_key(c.region_code.trim())))
            .map(|c| {
                format!(
                    "{} {}",
                    c.region_code.trim(),
                    RegionCode::parse(c.region_code.trim())
                        .map(|code| book.regions.name(code).to_string())
                        .unwrap_or_default()
                )
            })
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::precondition(
                "MISSING_SCORES",
                format!("no FINAL evaluation score for {} (a missing score is never taken as 0)", missing.join(", ")),
            ));
        }
        let mut counties = Vec::new();
        for (i, c) in r.counties.iter().enumerate() {
            let region: RegionCode =
                request::region_code(&book, &format!("counties[{i}].region_code"), &c.region_code)?;
            if !book.regions.is_within(region, city) || region == city {
                return Err(ApiError::invalid(
                    format!("counties[{i}].region_code"),
                    format!("{region} is not a county of {city}"),
                ));
            }
            let values = c
                .values
                .iter()
                .enumerate()
                .map(|(j, v)| match fetched.iter().find(|(k, _)| *k == j) {
                    Some((_, scores)) if v.trim().is_empty() => {
                        let score = scores.get(c.region_code.trim()).map(String::as_str).unwrap_or_default();
                        dec(format!("counties[{i}].values[{j}]"), score)
                    }
                    Some(_) => Err(ApiError::invalid(
                        format!("counties[{i}].values[{j}]"),
                        "filled from budget-performance's scores: leave it empty",
                    )),
                    None => dec(format!("counties[{i}].values[{j}]"), v),
                })
                .collect::<ApiResult<Vec<_>>>()?;
            counties.push(CountyInput { region, values });
        }
        let rule = book
            .rule_source("subsidy.factor_split", city, request::china_today())
            .map_err(|e| ApiError::domain("region_code", e))?;
        let (shares, trace) = subsidy::split(Fen::new(r.pot_fen), &factors, &counties, rule).map_err(split_error)?;
        let total = shares.iter().map(|s| s.amount.get()).sum();
        Ok(pb::SplitCitySubsidyResponse {
            counties: shares
                .iter()
                .map(|s| pb::CountySubsidy {
                    region_code: s.region.to_string(),
                    region_name: book.regions.name(s.region).to_string(),
                    share: s.share.round_dp(12).normalize().to_string(),
                    amount_fen: s.amount.get(),
                    factor_shares: s.factor_shares.iter().map(|f| f.round_dp(12).normalize().to_string()).collect(),
                })
                .collect(),
            total_fen: total,
            explanation: Some({
                let mut e = mapping::explanation(&trace);
                let mut steps = upstream_steps;
                steps.append(&mut e.steps);
                e.steps = steps;
                e
            }),
        })
    }
}
