//! Low-efficiency classification, idle land and per-mu evaluation over the wire.

use std::collections::BTreeMap;

use civic_domain::Fen;
use civic_proto::land::v1 as pb;
use civic_runtime::{identity::Caller, mapping as m, request, ApiError, ApiResult};
use rust_decimal::Decimal;

use super::{
    mapping::{decimal, non_negative, opt_date, opt_decimal},
    service::LandApi,
};
use crate::{
    rules::idle::{self, Cause, IdleFacts},
    rules::low_efficiency::{self, ParcelFacts, Thresholds},
    rules::per_mu::{self, Classing, Indicator, Missing, Scheme},
};

fn year_figures(field: &str, v: &[pb::YearFigure]) -> ApiResult<Vec<(Decimal, Decimal)>> {
    let mut sorted: Vec<&pb::YearFigure> = v.iter().collect();
    sorted.sort_by_key(|y| y.year);
    sorted
        .iter()
        .enumerate()
        .map(|(i, y)| {
            Ok((
                decimal(&format!("{field}[{i}].value"), &y.value)?,
                decimal(&format!("{field}[{i}].jurisdiction_average"), &y.jurisdiction_average)?,
            ))
        })
        .collect()
}

pub(super) fn parcel_facts(i: usize, p: &pb::ParcelFacts) -> ApiResult<ParcelFacts> {
    let f = |name: &str| format!("parcels[{i}].{name}");
    Ok(ParcelFacts {
        id: p.parcel_id.clone(),
        region: None,
        prohibited_or_eliminated_industry: p.prohibited_or_eliminated_industry,
        high_pollution_or_high_energy: p.high_pollution_or_high_energy,
        fails_environment_or_safety: p.fails_environment_or_safety,
        makeshift_structures_only: p.makeshift_structures_only,
        listed_for_closure: p.listed_for_closure,
        in_production: p.in_production,
        contracted_investment_intensity: non_negative(
            &f("contracted_investment_intensity"),
            &p.contracted_investment_intensity,
        )?,
        actual_investment_intensity: non_negative(&f("actual_investment_intensity"), &p.actual_investment_intensity)?,
        other_contract_conditions_unmet: p.other_contract_conditions_unmet,
        per_mu_output: year_figures(&f("per_mu_output"), &p.per_mu_output)?,
        per_mu_tax: year_figures(&f("per_mu_tax"), &p.per_mu_tax)?,
        fenced_much_built_little: p.fenced_much_built_little,
        construction_started: p.construction_started,
        construction_started_on: opt_date(&f("construction_started_on"), &p.construction_started_on)?,
        developed_area: non_negative(&f("developed_area_mu"), &p.developed_area_mu)?,
        total_area: non_negative(&f("total_area_mu"), &p.total_area_mu)?,
        invested: non_negative(&f("invested_wan"), &p.invested_wan)?,
        total_investment: non_negative(&f("total_investment_wan"), &p.total_investment_wan)?,
        agreed_completion: opt_date(&f("agreed_completion"), &p.agreed_completion)?,
        completed: p.completed,
        stopped: p.stopped,
        years_without_main_profit: u32::try_from(p.years_without_main_profit)
            .map_err(|_| ApiError::invalid(f("years_without_main_profit"), "must not be negative"))?,
    })
}

/// A scheme from the wire, each fault naming its field under `scheme.`.
pub(super) fn scheme(s: &pb::PerMuScheme) -> ApiResult<Scheme> {
    let mut indicators = Vec::new();
    for (i, ind) in s.indicators.iter().enumerate() {
        let missing = match pb::MissingValue::try_from(ind.missing) {
            Ok(pb::MissingValue::AverageScore) => Missing::AverageScore,
            Ok(pb::MissingValue::ZeroScore) => Missing::Zero,
            Ok(pb::MissingValue::NotRated) | Ok(pb::MissingValue::Unspecified) => Missing::Unrated,
            Err(_) => return Err(ApiError::invalid(format!("scheme.indicators[{i}].missing"), "unknown value")),
        };
        indicators.push(Indicator {
            name: ind.name.clone(),
            benchmark: decimal(&format!("scheme.indicators[{i}].benchmark"), &ind.benchmark)?,
            weight: decimal(&format!("scheme.indicators[{i}].weight"), &ind.weight)?,
            higher_is_better: ind.higher_is_better,
            missing,
        });
    }
    let classing = match &s.classing {
        Some(pb::per_mu_scheme::Classing::RankShares(x)) => Classing::RankShares {
            a: decimal("scheme.rank_shares.a", &x.a)?,
            b: decimal("scheme.rank_shares.b", &x.b)?,
            c: decimal("scheme.rank_shares.c", &x.c)?,
        },
        Some(pb::per_mu_scheme::Classing::Cutoffs(x)) => Classing::Cutoffs {
            a: decimal("scheme.cutoffs.a", &x.a)?,
            b: decimal("scheme.cutoffs.b", &x.b)?,
            c: decimal("scheme.cutoffs.c", &x.c)?,
        },
        None => return Err(ApiError::invalid("scheme.classing", "rank_shares or cutoffs is required")),
    };
    Ok(Scheme { indicators, classing })
}

/// One row of figures per subject, in the scheme's order ("" = missing).
pub(super) fn figure_rows<'a>(
    field: &str,
    rows: impl Iterator<Item = &'a [String]>,
) -> ApiResult<Vec<Vec<Option<Decimal>>>> {
    rows.enumerate()
        .map(|(e, values)| {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| opt_decimal(&format!("{field}[{e}].values[{i}]"), v))
                .collect::<ApiResult<Vec<_>>>()
        })
        .collect()
}

impl LandApi {
    pub(super) async fn classify_with_flags(
        &self,
        who: &Caller,
        r: &pb::ClassifyLowEfficiencyRequest,
    ) -> ApiResult<pb::ClassifyLowEfficiencyResponse> {
        if !r.use_stored_flags {
            return self.classify(who, r, &[]);
        }
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "classify low-efficiency land")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        // One read per enterprise, however many of its parcels are asked about.
        let mut by_enterprise: BTreeMap<&str, Vec<crate::store::flags::FlagEvent>> = BTreeMap::new();
        for p in &r.parcels {
            let id = p.enterprise_id.trim();
            if !id.is_empty() && !by_enterprise.contains_key(id) {
                by_enterprise.insert(id, crate::store::flags::in_force(&self.db, id, on).await?);
            }
        }
        let stored: Vec<Vec<crate::store::flags::FlagEvent>> =
            r.parcels.iter().map(|p| by_enterprise.get(p.enterprise_id.trim()).cloned().unwrap_or_default()).collect();
        self.classify(who, r, &stored)
    }

    pub(super) fn classify(
        &self,
        who: &Caller,
        r: &pb::ClassifyLowEfficiencyRequest,
        stored: &[Vec<crate::store::flags::FlagEvent>],
    ) -> ApiResult<pb::ClassifyLowEfficiencyResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "classify low-efficiency land")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let started = std::time::Instant::now();
        let thresholds = Thresholds::resolve(&book, region, on).map_err(|e| ApiError::domain("region_code", e))?;
        let mut out = Vec::with_capacity(r.parcels.len());
        let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
        let mut low = 0;
        for (i, p) in r.parcels.iter().enumerate() {
            let mut facts = parcel_facts(i, p)?;
            let flags = stored.get(i).map(Vec::as_slice).unwrap_or_default();
            crate::store::flags::apply(&mut facts, flags);
            if let (Some(d), Some(t)) = (facts.developed_area, facts.total_area) {
                if d > t {
                    return Err(ApiError::invalid(
                        format!("parcels[{i}].developed_area_mu"),
                        "cannot exceed total_area_mu",
                    ));
                }
            }
            let mut c = low_efficiency::classify(&book, &thresholds, &facts, on, r.explain)
                .map_err(|e| ApiError::domain("region_code", e))?;
            if !flags.is_empty() {
                let mut steps = crate::store::flags::steps(p.enterprise_id.trim(), flags);
                steps.append(&mut c.trace.steps);
                c.trace.steps = steps;
            }
            if !c.categories.is_empty() {
                low += 1;
            }
            for cat in &c.categories {
                *by_category.entry(cat.code().to_string()).or_default() += 1;
            }
            out.push(pb::ParcelClassification {
                parcel_id: p.parcel_id.clone(),
                categories: c.categories.iter().map(|c| c.code().to_string()).collect(),
                category_names: c.categories.iter().map(|c| c.chinese().to_string()).collect(),
                reasons: c.reasons.iter().map(|r| format!("{}:{}", r.category.chinese(), r.text)).collect(),
                explanation: r.explain.then(|| m::explanation(&c.trace)),
            });
        }
        Ok(pb::ClassifyLowEfficiencyResponse {
            parcels: out,
            low_efficiency: low,
            by_category: by_category.into_iter().collect(),
            compute_micros: started.elapsed().as_micros() as i64,
        })
    }

    pub(super) fn idle(&self, who: &Caller, r: &pb::AssessIdleLandRequest) -> ApiResult<pb::AssessIdleLandResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "assess idle land")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let cause = match pb::IdleCause::try_from(r.cause) {
            Ok(pb::IdleCause::Government) => Cause::Government,
            Ok(pb::IdleCause::Enterprise) => Cause::Enterprise,
            Ok(pb::IdleCause::Both) => Cause::Both,
            _ => return Err(ApiError::invalid("cause", "GOVERNMENT, ENTERPRISE or BOTH")),
        };
        let agreed_start = opt_date("agreed_start", &r.agreed_start)?
            .ok_or_else(|| ApiError::invalid("agreed_start", "required (YYYY-MM-DD)"))?;
        let facts = IdleFacts {
            agreed_start,
            started_on: opt_date("started_on", &r.started_on)?,
            developed_area: non_negative("developed_area_mu", &r.developed_area_mu)?.unwrap_or(Decimal::ZERO),
            total_area: decimal("total_area_mu", &r.total_area_mu)?,
            invested: non_negative("invested_wan", &r.invested_wan)?.unwrap_or(Decimal::ZERO),
            total_investment: decimal("total_investment_wan", &r.total_investment_wan)?,
            stopped_on: opt_date("stopped_on", &r.stopped_on)?,
            cause,
            land_price: Fen::new(r.land_price_fen),
        };
        let a = idle::assess(&book, region, &facts, on)?;
        Ok(pb::AssessIdleLandResponse {
            idle: a.idle,
            idle_since: a.idle_since.map(|d| d.to_string()).unwrap_or_default(),
            full_years_idle: a.full_years_idle,
            disposal: a.disposal.code().into(),
            disposal_name: a.disposal.chinese().into(),
            idle_fee_fen: a.idle_fee.get(),
            explanation: Some(m::explanation(&a.trace)),
        })
    }

    pub(super) fn per_mu(&self, who: &Caller, r: &pb::EvaluatePerMuRequest) -> ApiResult<pb::EvaluatePerMuResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "evaluate enterprises")?;
        let s = r.scheme.as_ref().ok_or_else(|| ApiError::invalid("scheme", "required"))?;
        let scheme = scheme(s)?;
        let values = figure_rows("enterprises", r.enterprises.iter().map(|e| e.values.as_slice()))?;
        let started = std::time::Instant::now();
        let rated = per_mu::evaluate(&scheme, "enterprises", &values)?;
        let micros = started.elapsed().as_micros() as i64;
        let mut by_class: BTreeMap<String, i64> = BTreeMap::new();
        let enterprises = r
            .enterprises
            .iter()
            .zip(&rated)
            .map(|(ent, x)| {
                let class = x.class.map(|c| c.letter().to_string()).unwrap_or_default();
                *by_class.entry(if class.is_empty() { "UNRATED".to_string() } else { class.clone() }).or_default() += 1;
                pb::EnterpriseRating {
                    enterprise_id: ent.enterprise_id.clone(),
                    score: x.score_text(),
                    rank: x.rank.unwrap_or(0) as i64,
                    rating_class: class,
                    contributions: x.contribution_texts(),
                    note: x.note.clone(),
                }
            })
            .collect();
        let trace = crate::rules::per_mu_trace::explain(
            &book,
            region,
            request::china_today(),
            s,
            &scheme,
            by_class.get("UNRATED").copied().unwrap_or(0),
            (rated.len(), "家企业"),
        )
        .map_err(|e| ApiError::domain("region_code", e))?;
        Ok(pb::EvaluatePerMuResponse {
            enterprises,
            by_class: by_class.into_iter().collect(),
            explanation: Some(m::explanation(&trace)),
            compute_micros: micros,
        })
    }
}
