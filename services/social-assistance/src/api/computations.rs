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
    ) -> ApiResult<pb::HouseholdBenefit> {
        let book = self.book.current();
        let date = request::required_date("on_date", &r.on_date)?;
        let h = m::household(&book, "household", r.household.as_ref())?;
        access::check(who, &book, Access::Read, access::COMPUTE, "compute benefits", h.region)?;
        let b = benefit::compute(&book, &h, date).map_err(|e| on_date_error("household", e))?;
        Ok(pb::HouseholdBenefit {
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
    ) -> ApiResult<pb::PersonBenefit> {
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
        Ok(pb::PersonBenefit {
            monthly_amount_fen: p.monthly.get(),
            explanation: Some(mapping::into_explanation(p.trace)),
        })
    }

    pub(super) fn low_income(
        &self,
        who: &civic_runtime::identity::Caller,
        r: &pb::IdentifyLowIncomeRequest,
    ) -> ApiResult<pb::LowIncomeIdentification> {
        let book = self.book.current();
        let date = request::required_date("on_date", &r.on_date)?;
        let h = m::household(&book, "household", r.household.as_ref())?;
        access::check(who, &book, Access::Read, access::COMPUTE, "identify low-income families", h.region)?;
        let l =
            low_income::identify(&book, &h, date, r.is_dibao_household).map_err(|e| on_date_error("household", e))?;
        Ok(pb::LowIncomeIdentification {
            low_income: l.low_income,
            threshold_per_person_fen: l.threshold.get(),
            per_capita_income_fen: l.per_capita_income.get(),
            explanation: Some(mapping::explanation(&l.trace)),
        })
    }

    pub(super) fn split_subsidy(
        &self,
        who: &civic_runtime::identity::Caller,
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
                .map(|(j, v)| dec(format!("counties[{i}].values[{j}]"), v))
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
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}
