//! "标准地" checks, milestone extensions and cluster rules over the wire.

use civic_proto::land::v1 as pb;
use civic_runtime::{identity::Caller, mapping as m, request, ApiError, ApiResult};
use rust_decimal::Decimal;

use super::{
    mapping::{decimal, non_negative},
    service::LandApi,
};
use crate::{
    rules::campaign::{self, TownList},
    rules::cluster::{self, ClusterFigures},
    rules::farmland::{self, Balance},
    rules::redevelopment::{self, Project},
    rules::standard_land::{self, Figures, IndicatorResult},
};

pub(super) fn indicator(i: &IndicatorResult) -> pb::IndicatorCheck {
    pb::IndicatorCheck {
        key: i.key.clone(),
        name: i.name.clone(),
        value: i.value.map(|v| v.normalize().to_string()).unwrap_or_default(),
        limit: i.limit.clone(),
        outcome: i.outcome.code().into(),
        note: i.note.clone(),
    }
}

fn figures(f: &pb::StandardLandFigures) -> ApiResult<Figures> {
    let p = |name: &str, v: &str| non_negative(&format!("figures.{name}"), v);
    let area = decimal("figures.area_mu", &f.area_mu)?;
    if area <= Decimal::ZERO {
        return Err(ApiError::invalid("figures.area_mu", "must be positive"));
    }
    let out = Figures {
        area_mu: area,
        investment_wan: p("investment_wan", &f.investment_wan)?,
        tax_wan: p("tax_wan", &f.tax_wan)?,
        floor_area: p("floor_area_sqm", &f.floor_area_sqm)?,
        building_footprint: p("building_footprint_sqm", &f.building_footprint_sqm)?,
        green_area: p("green_area_sqm", &f.green_area_sqm)?,
        office_land_area: p("office_land_area_sqm", &f.office_land_area_sqm)?,
        office_floor_area: p("office_floor_area_sqm", &f.office_floor_area_sqm)?,
        term_years: p("term_years", &f.term_years)?,
        new_type: f.new_type,
        industrial_land_area: p("industrial_land_area_sqm", &f.industrial_land_area_sqm)?,
        industrial_floor_area: p("industrial_floor_area_sqm", &f.industrial_floor_area_sqm)?,
    };
    let site = area * Decimal::from(10_000) / Decimal::from(15);
    for (name, v) in [
        ("building_footprint_sqm", out.building_footprint),
        ("green_area_sqm", out.green_area),
        ("office_land_area_sqm", out.office_land_area),
        ("industrial_land_area_sqm", out.industrial_land_area),
    ] {
        if v.is_some_and(|v| v > site) {
            return Err(ApiError::invalid(
                format!("figures.{name}"),
                format!("cannot exceed the parcel's area ({} m²)", site.round_dp(2)),
            ));
        }
    }
    for (name, v) in
        [("office_floor_area_sqm", out.office_floor_area), ("industrial_floor_area_sqm", out.industrial_floor_area)]
    {
        if let (Some(part), Some(total)) = (v, out.floor_area) {
            if part > total {
                return Err(ApiError::invalid(format!("figures.{name}"), "cannot exceed floor_area_sqm"));
            }
        }
    }
    Ok(out)
}

impl LandApi {
    pub(super) async fn standard_land(
        &self,
        who: &Caller,
        r: &pb::CheckStandardLandRequest,
    ) -> ApiResult<pb::CheckStandardLandResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "check standard-land indicators")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let industry = r.industry.trim();
        if industry.is_empty() || !industry.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ApiError::invalid("industry", "an industry code such as equipment_manufacturing"));
        }
        let kind = match pb::StandardLandCheckKind::try_from(r.kind) {
            Ok(pb::StandardLandCheckKind::Sale) => pb::StandardLandCheckKind::Sale,
            Ok(pb::StandardLandCheckKind::Acceptance) => pb::StandardLandCheckKind::Acceptance,
            _ => return Err(ApiError::invalid("kind", "SALE or ACCEPTANCE")),
        };
        let f = figures(r.figures.as_ref().ok_or_else(|| ApiError::invalid("figures", "required"))?)?;
        let mut c =
            standard_land::check(&book, region, industry, &f, on).map_err(|e| ApiError::domain("region_code", e))?;
        if kind == pb::StandardLandCheckKind::Acceptance && !r.parcel_id.is_empty() {
            let (parcel, _) = crate::store::parcels::get_parcel(&self.db, &r.parcel_id)
                .await?
                .ok_or_else(|| ApiError::invalid("parcel_id", format!("no parcel {}", r.parcel_id)))?;
            let parcel_region = request::region_code(&book, "parcel.region_code", &parcel.region_code)?;
            self.check(who, &book, parcel_region, "check standard-land indicators")?;
            standard_land::against_contract(&book, parcel_region, on, &mut c, &parcel.contracted)
                .map_err(|e| ApiError::domain("parcel_id", e))?;
        }
        let (mut deadline, mut consequence) = (String::new(), String::new());
        if kind == pb::StandardLandCheckKind::Acceptance && !c.passed {
            let (d, step) = standard_land::after_failed_acceptance(&book, region, on, r.after_rectification)
                .map_err(|e| ApiError::domain("region_code", e))?;
            deadline = d.map(|d| d.to_string()).unwrap_or_default();
            consequence = step.result.clone();
            c.trace.push(step);
        } else if kind == pb::StandardLandCheckKind::Sale && !c.passed {
            consequence = "出让方案的控制性指标未全部达到标准,不得按“标准地”出让".into();
        }
        Ok(pb::CheckStandardLandResponse {
            passed: c.passed,
            indicators: c.indicators.iter().map(indicator).collect(),
            rectification_deadline: deadline,
            consequence,
            explanation: Some(m::explanation(&c.trace)),
        })
    }

    pub(super) fn extension(
        &self,
        who: &Caller,
        r: &pb::CheckExtensionRequest,
    ) -> ApiResult<pb::CheckExtensionResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "check extensions")?;
        let milestone = request::required_date("milestone_date", &r.milestone_date)?;
        let asked = request::required_date("asked_on", &r.asked_on)?;
        let before = u32::try_from(r.extensions_before)
            .map_err(|_| ApiError::invalid("extensions_before", "must not be negative"))?;
        match standard_land::extension(&book, region, milestone, asked, before)
            .map_err(|e| ApiError::domain("region_code", e))?
        {
            Ok(step) => {
                let mut t = civic_domain::explanation::Trace::default();
                t.push(step);
                Ok(pb::CheckExtensionResponse { allowed: true, explanation: Some(m::explanation(&t)) })
            }
            Err(why) => Err(ApiError::precondition("EXTENSION_NOT_ALLOWED", why)),
        }
    }

    pub(super) fn cluster(&self, who: &Caller, r: &pb::CheckClusterRequest) -> ApiResult<pb::CheckClusterResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "check cluster rules")?;
        self.cluster_rules(r)
    }

    /// The cluster rules on given figures; the caller's access is checked by whoever calls this.
    pub(super) fn cluster_rules(&self, r: &pb::CheckClusterRequest) -> ApiResult<pb::CheckClusterResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let req = |name: &str, v: &str| -> ApiResult<Decimal> {
            non_negative(name, v)?.ok_or_else(|| ApiError::invalid(name, "required: an area in 亩"))
        };
        let f = ClusterFigures {
            industry_led: r.industry_led,
            planned_construction: req("planned_construction_land_mu", &r.planned_construction_land_mu)?,
            used_construction: req("used_construction_land_mu", &r.used_construction_land_mu)?,
            industrial: req("industrial_land_mu", &r.industrial_land_mu)?,
            warehouse: req("warehouse_land_mu", &r.warehouse_land_mu)?,
            new_industrial: non_negative("new_industrial_land_mu", &r.new_industrial_land_mu)?,
            new_standard: non_negative("new_standard_land_mu", &r.new_standard_land_mu)?,
            tax_per_mu: non_negative("tax_per_mu_wan", &r.tax_per_mu_wan)?,
        };
        if f.planned_construction <= Decimal::ZERO {
            return Err(ApiError::invalid("planned_construction_land_mu", "must be positive"));
        }
        if f.used_construction > f.planned_construction {
            return Err(ApiError::invalid("used_construction_land_mu", "cannot exceed the planned construction land"));
        }
        if f.industrial + f.warehouse > f.planned_construction {
            return Err(ApiError::invalid(
                "industrial_land_mu",
                "industrial plus warehouse land cannot exceed the planned construction land",
            ));
        }
        if let (Some(s), Some(n)) = (f.new_standard, f.new_industrial) {
            if s > n {
                return Err(ApiError::invalid("new_standard_land_mu", "cannot exceed new_industrial_land_mu"));
            }
        }
        let c = cluster::check(&book, region, &f, on).map_err(|e| ApiError::domain("region_code", e))?;
        Ok(pb::CheckClusterResponse {
            indicators: c.indicators.iter().map(indicator).collect(),
            may_expand: c.may_expand,
            tax_target_progress_percent: c.tax_progress.map(|p| format!("{p:.2}")).unwrap_or_default(),
            explanation: Some(m::explanation(&c.trace)),
        })
    }
}

impl LandApi {
    pub(super) fn farmland_balance(
        &self,
        who: &Caller,
        r: &pb::CheckFarmlandBalanceRequest,
    ) -> ApiResult<pb::CheckFarmlandBalanceResponse> {
        use civic_domain::area::Mu;
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(
            &book.regions,
            civic_runtime::identity::Access::Read,
            &[civic_runtime::identity::Role::NaturalResources],
            "check farmland balance",
            region,
        )
        .map_err(ApiError::from)?;
        let mu = |f: &str, v: &str| Mu::parse(v).map_err(|e| ApiError::domain(f, e));
        let grade = |f: &str, g: i32| {
            u8::try_from(g)
                .ok()
                .filter(|g| (1..=15).contains(g))
                .ok_or_else(|| ApiError::invalid(f, "a quality grade from 1 (best) to 15"))
        };
        let b = Balance {
            occupied: mu("occupied_mu", &r.occupied_mu)?,
            occupied_grade: grade("occupied_grade", r.occupied_grade)?,
            occupied_on: request::required_date("occupied_on", &r.occupied_on)?,
            supplemented: mu("supplemented_mu", &r.supplemented_mu)?,
            supplemented_grade: grade("supplemented_grade", r.supplemented_grade)?,
            supplemented_on: super::mapping::opt_date("supplemented_on", &r.supplemented_on)?,
            key_project: r.key_project,
            commitment_deadline: super::mapping::opt_date("commitment_deadline", &r.commitment_deadline)?,
        };
        if b.occupied.value() <= Decimal::ZERO {
            return Err(ApiError::invalid("occupied_mu", "must be positive"));
        }
        let x = farmland::balance(&book, region, &b).map_err(|e| ApiError::domain("region_code", e))?;
        Ok(pb::CheckFarmlandBalanceResponse {
            balanced: x.balanced,
            quantity_ok: x.quantity_ok,
            timing_ok: x.timing_ok,
            quality: x.quality.into(),
            explanation: Some(m::explanation(&x.trace)),
        })
    }

    pub(super) fn campaign_list(
        &self,
        who: &Caller,
        r: &pb::CheckCampaignListRequest,
    ) -> ApiResult<pb::CheckCampaignListResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(
            &book.regions,
            civic_runtime::identity::Access::Read,
            &[civic_runtime::identity::Role::NaturalResources, civic_runtime::identity::Role::Town],
            "check campaign lists",
            region,
        )
        .map_err(ApiError::from)?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let total = non_negative("total_area_mu", &r.total_area_mu)?
            .ok_or_else(|| ApiError::invalid("total_area_mu", "required"))?;
        let contiguous = non_negative("contiguous_area_mu", &r.contiguous_area_mu)?.unwrap_or(Decimal::ZERO);
        if contiguous > total {
            return Err(ApiError::invalid("contiguous_area_mu", "cannot exceed total_area_mu"));
        }
        let l = TownList {
            total_area: total,
            contiguous_area: contiguous,
            purchased_area: non_negative("purchased_area_mu", &r.purchased_area_mu)?,
            purchase_cost_wan: non_negative("purchase_cost_wan", &r.purchase_cost_wan)?,
            planned_reclaimed_area: non_negative("planned_reclaimed_area_mu", &r.planned_reclaimed_area_mu)?,
            borrowed_quota: non_negative("borrowed_quota_mu", &r.borrowed_quota_mu)?,
            returned_quota: non_negative("returned_quota_mu", &r.returned_quota_mu)?,
            borrowed_in: (r.borrowed_in_year != 0).then_some(r.borrowed_in_year),
            target_area: non_negative("target_area_mu", &r.target_area_mu)?,
            completed_area: non_negative("completed_area_mu", &r.completed_area_mu)?,
        };
        if l.borrowed_quota.is_some() && l.borrowed_in.is_none() {
            return Err(ApiError::invalid("borrowed_in_year", "the year the quota was borrowed is required"));
        }
        let c = campaign::check(&book, region, &l, on).map_err(|e| ApiError::domain("region_code", e))?;
        Ok(pb::CheckCampaignListResponse {
            indicators: c.indicators.iter().map(indicator).collect(),
            turnover_fee_fen: c.turnover_fee.get(),
            report_by: c.report_by.to_string(),
            verify_by: c.verify_by.to_string(),
            progress_percent: c.progress_percent.map(|p| format!("{p:.2}")).unwrap_or_default(),
            explanation: Some(m::explanation(&c.trace)),
        })
    }
}

impl LandApi {
    pub(super) fn redevelopment(
        &self,
        who: &Caller,
        r: &pb::CheckRedevelopmentRequest,
    ) -> ApiResult<pb::CheckRedevelopmentResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        self.check(who, &book, region, "check redevelopment plans")?;
        let on = request::date_or_today("on_date", &r.on_date)?;
        let area = decimal("project_area_sqm", &r.project_area_sqm)?;
        if area <= Decimal::ZERO {
            return Err(ApiError::invalid("project_area_sqm", "must be positive"));
        }
        let mut plots = Vec::new();
        for (i, p) in r.odd_plots_mu.iter().enumerate() {
            let d = decimal(&format!("odd_plots_mu[{i}]"), p)?;
            if d <= Decimal::ZERO {
                return Err(ApiError::invalid(format!("odd_plots_mu[{i}]"), "must be positive"));
            }
            plots.push(d);
        }
        let p = Project {
            area_sqm: area,
            floor_area_sqm: non_negative("project_floor_area_sqm", &r.project_floor_area_sqm)?,
            office_land_sqm: non_negative("office_land_area_sqm", &r.office_land_area_sqm)?,
            office_floor_sqm: non_negative("office_floor_area_sqm", &r.office_floor_area_sqm)?,
            odd_plots_mu: plots,
        };
        if p.office_land_sqm.is_some_and(|o| o > area) {
            return Err(ApiError::invalid("office_land_area_sqm", "cannot exceed project_area_sqm"));
        }
        let (indicators, mut trace) =
            redevelopment::check(&book, region, &p, on).map_err(|e| ApiError::domain("region_code", e))?;
        let (mut ends, mut running) = (String::new(), false);
        if let Some(approved) = super::mapping::opt_date("transition_approved_on", &r.transition_approved_on)? {
            let (end, step) = redevelopment::transition(&book, region, approved, on)
                .map_err(|e| ApiError::domain("region_code", e))?;
            running = approved <= on && on <= end;
            ends = end.to_string();
            trace.push(step);
        }
        Ok(pb::CheckRedevelopmentResponse {
            passed: indicators.iter().all(|i| i.outcome == crate::rules::standard_land::Outcome::Pass),
            indicators: indicators.iter().map(indicator).collect(),
            explanation: Some(m::explanation(&trace)),
            transition_ends_on: ends,
            in_transition: running,
        })
    }
}
