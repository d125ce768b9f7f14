//! Funding need and what-if reforms over the roll.

use std::time::Instant;

use chrono::{Datelike, Duration};
use civic_proto::assistance::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller},
    request, ApiError, ApiResult,
};

use super::{access, service::AssistanceApi};
use crate::{
    analysis::{compare, Tally},
    population::Scenario,
    publish::{self, Figure, Publication},
};

fn domain(e: civic_domain::DomainError) -> ApiError {
    ApiError::domain("region_code", e)
}

fn blocked(e: String) -> ApiError {
    ApiError::precondition("ROLL_NOT_COMPUTABLE", e)
}

fn line(book: &civic_domain::policy::PolicyBook, region: civic_domain::RegionCode, t: &Tally) -> pb::WhatIfLine {
    pb::WhatIfLine {
        region_code: region.to_string(),
        region_name: book.regions.name(region).to_string(),
        households: t.households,
        current_monthly_fen: t.current,
        proposed_monthly_fen: t.proposed,
        difference_monthly_fen: t.proposed - t.current,
        gaining: t.gaining,
        losing: t.losing,
        newly_eligible: t.newly_eligible,
        no_longer_eligible: t.no_longer_eligible,
    }
}

impl AssistanceApi {
    pub(super) async fn funding_need(
        &self,
        who: &Caller,
        r: &pb::EstimateFundingNeedRequest,
    ) -> ApiResult<pb::EstimateFundingNeedResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::COMPUTE, "estimate funding need", region)?;
        let eff = request::required_date("effective_from", &r.effective_from)?;
        super::standards::require_dibao_standards(&book, region, eff - Duration::days(1))?;
        super::standards::require_dibao_standards(&book, region, eff)?;
        let pop = self.roll_cache.get(&self.db, &book, &region_prefix(region)).await?;
        let before = Scenario::resolve(&pop, &book, eff - Duration::days(1)).map_err(domain)?;
        let after = Scenario::resolve(&pop, &book, eff).map_err(domain)?;
        let (lines, _) = compare(&pop, &book.regions, &before, &after, true).map_err(blocked)?;
        let months_left = (12 - eff.month() + 1) as i64;
        let mut out = Vec::new();
        let (mut rest, mut full) = (0i64, 0i64);
        for ((county, category), t) in &lines {
            let existing_new = t.proposed - t.newly_eligible_cost;
            let extra = existing_new - t.current;
            let rest_of_year = extra.checked_mul(months_left).ok_or_else(|| ApiError::Internal("overflow".into()))?;
            let full_year = extra.checked_mul(12).ok_or_else(|| ApiError::Internal("overflow".into()))?;
            rest += rest_of_year;
            full += full_year;
            out.push(pb::FundingNeedLine {
                region_code: county.to_string(),
                region_name: book.regions.name(*county).to_string(),
                category: category.to_string(),
                households: t.households - t.newly_eligible,
                current_monthly_fen: t.current,
                new_monthly_fen: existing_new,
                extra_monthly_fen: extra,
                months_left: months_left as i32,
                extra_rest_of_year_fen: rest_of_year,
                extra_full_year_fen: full_year,
                newly_eligible_households: t.newly_eligible,
                newly_eligible_monthly_fen: t.newly_eligible_cost,
            });
        }
        Ok(pb::EstimateFundingNeedResponse { lines: out, total_rest_of_year_fen: rest, total_full_year_fen: full })
    }

    pub(super) async fn what_if(&self, who: &Caller, r: &pb::WhatIfRequest) -> ApiResult<pb::WhatIfResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::COMPUTE, "run what-if reforms", region)?;
        let date = request::required_date("on_date", &r.on_date)?;
        super::standards::require_dibao_standards(&book, region, date)?;
        if r.proposed.is_empty() {
            return Err(ApiError::invalid("proposed", "at least one proposed value"));
        }
        let mut figures = Vec::new();
        for (i, v) in r.proposed.iter().enumerate() {
            let fr = request::region_code(&book, &format!("proposed[{i}].region_code"), &v.region_code)?;
            let value = request::decimal(&format!("proposed[{i}].value"), &v.value)?;
            figures.push(Figure { key: v.key.clone(), region: fr, value, clause: "what-if".into() });
        }
        // The proposal is a publication that is never stored: same checks, including derived
        // standards following their rules.
        let p = Publication {
            region: civic_domain::RegionCode::NATIONAL,
            effective_from: date,
            document: "WHAT-IF".into(),
            title: "proposed parameters".into(),
            figures,
            replace: true,
        };
        let proposed = publish::apply(&book, &p).map_err(|problems| {
            ApiError::InvalidArgument(
                problems.into_iter().map(|(f, m)| (f.replace("values[", "proposed["), m)).collect(),
            )
        })?;
        let pop = self.roll_cache.get(&self.db, &book, &region_prefix(region)).await?;
        let started = Instant::now();
        let current = Scenario::resolve(&pop, &book, date).map_err(domain)?;
        let future = Scenario::resolve(&pop, &proposed.book, date).map_err(domain)?;
        let (lines, total) = compare(&pop, &book.regions, &current, &future, false).map_err(blocked)?;
        let micros = started.elapsed().as_micros() as i64;
        Ok(pb::WhatIfResponse {
            counties: lines.iter().map(|((c, _), t)| line(&book, *c, t)).collect(),
            total: Some(line(&book, region, &total)),
            households_computed: pop.len() as i64,
            compute_micros: micros,
        })
    }
}
