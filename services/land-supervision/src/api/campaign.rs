//! The "危污乱散低" campaign's yearly targets per town, the towns' monthly reports with the
//! office's verification, and progress against the targets and the year's goals. Town staff
//! (tokens naming their town) see and report only their own town.

use chrono::{Datelike, NaiveDate};
use civic_domain::{explanation::Trace, RegionCode};
use civic_proto::land::v1 as pb;
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping as m, request, ApiError, ApiResult,
};
use rust_decimal::Decimal;

use super::{
    mapping::{non_negative, year},
    service::LandApi,
};
use crate::{
    rules::campaign::{self, TownTask},
    store::yearly::{self, Report, Targets, TownTarget, Verification},
};

const PLANNERS: &[Role] = &[Role::NaturalResources];
const REPORTERS: &[Role] = &[Role::Town, Role::NaturalResources];
const READERS: &[Role] = &[Role::Town, Role::NaturalResources];
/// The progress figures also go to finance, which monitors the programmes that fund the campaign
/// beside the bureau (驻政〔2020〕37号 附件2 三(八), 双监控): figures of its region, nothing to change.
const PROGRESS_READERS: &[Role] = &[Role::Town, Role::NaturalResources, Role::Finance];

fn area(field: &str, s: &str) -> ApiResult<Decimal> {
    non_negative(field, s)?.ok_or_else(|| ApiError::invalid(field, "required: an area in 亩"))
}

fn town_name(field: &str, s: &str) -> ApiResult<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 64 {
        return Err(ApiError::invalid(field, "the town's name, 1 to 64 characters"));
    }
    Ok(t.to_string())
}

fn target_pb(t: &TownTarget) -> pb::TownTarget {
    pb::TownTarget {
        town: t.town.clone(),
        area_mu: t.area_mu.normalize().to_string(),
        contiguous_area_mu: t.contiguous_area_mu.normalize().to_string(),
        contiguous_parks: t.contiguous_parks,
    }
}

fn tasks(towns: &[TownTarget]) -> Vec<TownTask> {
    towns
        .iter()
        .map(|t| TownTask {
            town: t.town.clone(),
            area: t.area_mu,
            contiguous_area: t.contiguous_area_mu,
            parks: t.contiguous_parks,
        })
        .collect()
}

fn percent(part: Decimal, whole: Decimal) -> String {
    if whole > Decimal::ZERO {
        format!("{:.2}", (part / whole * Decimal::ONE_HUNDRED).round_dp(2))
    } else {
        String::new()
    }
}

/// A stored area; the service wrote it, so a bad one is a fault of the store, not the caller.
fn dec(s: &str) -> ApiResult<Decimal> {
    s.parse().map_err(|_| ApiError::Internal(format!("stored area '{s}' is not a decimal")))
}

impl LandApi {
    fn targets_view(&self, t: &Targets, only: Option<&str>) -> ApiResult<pb::CampaignTargets> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &t.region_code)?;
        let towns: Vec<TownTarget> = t.towns.iter().filter(|x| only.is_none_or(|o| o == x.town)).cloned().collect();
        let (checks, trace) =
            campaign::check_targets(&book, region, t.year, &tasks(&towns)).map_err(|e| ApiError::domain("year", e))?;
        let checks = if only.is_some() {
            // A town sees its own line, not the city's totals.
            checks.into_iter().filter(|c| c.key.starts_with("contiguous_share/")).collect()
        } else {
            checks
        };
        Ok(pb::CampaignTargets {
            region_code: t.region_code.clone(),
            year: t.year,
            towns: towns.iter().map(target_pb).collect(),
            document: t.document.clone(),
            version: t.version,
            checks: checks.iter().map(super::checks::indicator).collect(),
            explanation: Some(m::explanation(&trace)),
        })
    }

    async fn stored_targets(&self, region: RegionCode, y: i32) -> ApiResult<Targets> {
        yearly::targets(&self.db, region.as_str(), y).await?.ok_or_else(|| {
            ApiError::precondition("NO_CAMPAIGN_TARGETS", format!("no {y} campaign targets are set for {region}"))
        })
    }

    pub(super) async fn set_campaign_targets(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::SetCampaignTargetsRequest,
    ) -> ApiResult<pb::CampaignTargets> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, PLANNERS, "set campaign targets", region)
            .map_err(ApiError::from)?;
        let y = year("year", r.year)?;
        if r.towns.is_empty() {
            return Err(ApiError::invalid("towns", "at least one town"));
        }
        let mut towns = Vec::with_capacity(r.towns.len());
        for (i, t) in r.towns.iter().enumerate() {
            let town = town_name(&format!("towns[{i}].town"), &t.town)?;
            if towns.iter().any(|x: &TownTarget| x.town == town) {
                return Err(ApiError::invalid(format!("towns[{i}].town"), format!("{town} is listed twice")));
            }
            let area_mu = area(&format!("towns[{i}].area_mu"), &t.area_mu)?;
            let contiguous = area(&format!("towns[{i}].contiguous_area_mu"), &t.contiguous_area_mu)?;
            if contiguous > area_mu {
                return Err(ApiError::invalid(format!("towns[{i}].contiguous_area_mu"), "cannot exceed area_mu"));
            }
            if t.contiguous_parks < 0 {
                return Err(ApiError::invalid(format!("towns[{i}].contiguous_parks"), "must not be negative"));
            }
            towns.push(TownTarget {
                town,
                area_mu,
                contiguous_area_mu: contiguous,
                contiguous_parks: t.contiguous_parks,
            });
        }
        if r.expected_version < 0 {
            return Err(ApiError::invalid("expected_version", "0 to create, or the stored version"));
        }
        let t = Targets {
            region_code: region.to_string(),
            year: y,
            document: r.document.trim().to_string(),
            towns,
            version: r.expected_version + 1,
        };
        yearly::set_targets(&self.db, who, request_id, &t, r.expected_version, &r.reason).await?;
        self.targets_view(&t, None)
    }

    pub(super) async fn get_campaign_targets(
        &self,
        who: &Caller,
        r: &pb::GetCampaignTargetsRequest,
    ) -> ApiResult<pb::CampaignTargets> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, READERS, "read campaign targets", region).map_err(ApiError::from)?;
        let unit = who.unit_scope("read campaign targets").map_err(ApiError::from)?;
        let t = self.stored_targets(region, year("year", r.year)?).await?;
        self.targets_view(&t, unit)
    }

    fn report_pb(&self, region: RegionCode, r: &Report) -> ApiResult<pb::CampaignReport> {
        let book = self.book.current();
        let month = u32::try_from(r.month).unwrap_or(1);
        let (report_due, verify_due, _) =
            campaign::monthly_days(&book, region, r.year, month).map_err(|e| ApiError::domain("month", e))?;
        let late = |on: &str, due: NaiveDate| civic_domain::policy::parse_date(on).is_ok_and(|d| d > due);
        Ok(pb::CampaignReport {
            town: r.town.clone(),
            month: r.month,
            completed_area_mu: r.completed_area_mu.clone(),
            contiguous_area_mu: r.contiguous_area_mu.clone(),
            contiguous_parks_started: r.parks,
            reported_on: r.reported_on.clone(),
            report_due: report_due.to_string(),
            report_late: late(&r.reported_on, report_due),
            reporter: r.reporter.clone(),
            verified: !r.verified_on.is_empty(),
            verified_area_mu: r.verified_area_mu.clone(),
            verified_parks: r.verified_parks,
            verified_on: r.verified_on.clone(),
            verify_due: verify_due.to_string(),
            verify_late: late(&r.verified_on, verify_due),
            verifier: r.verifier.clone(),
            note: [r.note.as_str(), r.verify_note.as_str()]
                .iter()
                .filter(|n| !n.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(";"),
        })
    }

    /// The region, year, town and month a report or verification is about, checked.
    async fn report_key(
        &self,
        who: &Caller,
        roles: &[Role],
        action: &'static str,
        (region, y, town, month): (&str, i32, &str, i32),
    ) -> ApiResult<(RegionCode, Targets, String, i32)> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", region)?;
        who.authorize(&book.regions, Access::Write, roles, action, region).map_err(ApiError::from)?;
        let town = town_name("town", town)?;
        who.check_unit(&town, action).map_err(ApiError::from)?;
        if !(1..=12).contains(&month) {
            return Err(ApiError::invalid("month", "1 to 12"));
        }
        let t = self.stored_targets(region, year("year", y)?).await?;
        if !t.towns.iter().any(|x| x.town == town) {
            return Err(ApiError::invalid("town", format!("{town} has no {} target in {region}", t.year)));
        }
        Ok((region, t, town, month))
    }

    pub(super) async fn report_campaign_progress(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::ReportCampaignProgressRequest,
    ) -> ApiResult<pb::CampaignReport> {
        let (region, t, town, month) = self
            .report_key(who, REPORTERS, "report campaign progress", (&r.region_code, r.year, &r.town, r.month))
            .await?;
        let completed = area("completed_area_mu", &r.completed_area_mu)?;
        let contiguous = non_negative("contiguous_area_mu", &r.contiguous_area_mu)?.unwrap_or_default();
        if contiguous > completed {
            return Err(ApiError::invalid("contiguous_area_mu", "cannot exceed completed_area_mu"));
        }
        if r.contiguous_parks_started < 0 {
            return Err(ApiError::invalid("contiguous_parks_started", "must not be negative"));
        }
        let reported_on = request::date_or_today("reported_on", &r.reported_on)?;
        if reported_on.year() < t.year || (reported_on.year() == t.year && reported_on.month() < month as u32) {
            return Err(ApiError::invalid("reported_on", "a report cannot precede the month it reports"));
        }
        let report = Report {
            region_code: region.to_string(),
            year: t.year,
            town,
            month,
            completed_area_mu: completed.normalize().to_string(),
            contiguous_area_mu: contiguous.normalize().to_string(),
            parks: r.contiguous_parks_started,
            reported_on: reported_on.to_string(),
            reporter: who.subject.clone(),
            note: r.note.trim().to_string(),
            ..Default::default()
        };
        let saved = yearly::file_report(&self.db, who, request_id, &report).await?;
        self.report_pb(region, &saved)
    }

    pub(super) async fn verify_campaign_report(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::VerifyCampaignReportRequest,
    ) -> ApiResult<pb::CampaignReport> {
        let (region, t, town, month) = self
            .report_key(who, PLANNERS, "verify campaign reports", (&r.region_code, r.year, &r.town, r.month))
            .await?;
        let verified = area("verified_area_mu", &r.verified_area_mu)?;
        if r.verified_parks < 0 {
            return Err(ApiError::invalid("verified_parks", "must not be negative"));
        }
        let on = request::date_or_today("verified_on", &r.verified_on)?;
        let area_text = verified.normalize().to_string();
        let on_text = on.to_string();
        let saved = yearly::verify_report(
            &self.db,
            who,
            request_id,
            (region.as_str(), t.year, &town, month),
            Verification { area_mu: &area_text, parks: r.verified_parks, on: &on_text, note: r.note.trim() },
            |filed| {
                if verified > dec(&filed.completed_area_mu)? {
                    return Err(ApiError::invalid(
                        "verified_area_mu",
                        format!("cannot exceed the {} 亩 reported", filed.completed_area_mu),
                    ));
                }
                if r.verified_parks > filed.parks {
                    return Err(ApiError::invalid(
                        "verified_parks",
                        format!("cannot exceed the {} reported", filed.parks),
                    ));
                }
                if civic_domain::policy::parse_date(&filed.reported_on).is_ok_and(|d| on < d) {
                    return Err(ApiError::invalid("verified_on", "cannot precede the report"));
                }
                Ok(())
            },
        )
        .await?;
        self.report_pb(region, &saved)
    }

    pub(super) async fn get_campaign_progress(
        &self,
        who: &Caller,
        r: &pb::GetCampaignProgressRequest,
    ) -> ApiResult<pb::GetCampaignProgressResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, PROGRESS_READERS, "read campaign progress", region)
            .map_err(ApiError::from)?;
        let unit = who.unit_scope("read campaign progress").map_err(ApiError::from)?;
        let only = match (unit, r.town.trim()) {
            (Some(u), t) if !t.is_empty() && t != u => {
                return Err(ApiError::from(civic_runtime::identity::Denied::Unit {
                    own: u.to_string(),
                    target: t.to_string(),
                }))
            }
            (Some(u), _) => Some(u.to_string()),
            (None, "") => None,
            (None, t) => Some(t.to_string()),
        };
        let on = request::date_or_today("on_date", &r.on_date)?;
        let t = self.stored_targets(region, year("year", r.year)?).await?;
        let reports = yearly::reports(&self.db, region.as_str(), t.year, only.as_deref()).await?;
        let mut towns = Vec::new();
        let (mut target_total, mut verified_total, mut parks_total) = (Decimal::ZERO, Decimal::ZERO, 0);
        let mut trace = Trace::default();
        for target in t.towns.iter().filter(|x| only.as_deref().is_none_or(|o| o == x.town)) {
            let mine: Vec<&Report> = reports.iter().filter(|x| x.town == target.town).collect();
            let mut view = pb::TownProgress { target: Some(target_pb(target)), ..Default::default() };
            let (mut reported, mut verified, mut contiguous, mut parks) =
                (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0);
            for month in 1..=12u32 {
                let (report_due, verify_due, _) =
                    campaign::monthly_days(&book, region, t.year, month).map_err(|e| ApiError::domain("year", e))?;
                match mine.iter().find(|x| x.month == month as i32) {
                    None if report_due < on => view.missing_months.push(month as i32),
                    None => {}
                    Some(x) => {
                        reported += dec(&x.completed_area_mu)?;
                        if x.verified_on.is_empty() {
                            if verify_due < on {
                                view.unverified_months.push(month as i32);
                            }
                        } else {
                            let v = dec(&x.verified_area_mu)?;
                            verified += v;
                            // Contiguous area counts in the verified share of the report.
                            let c = dec(&x.contiguous_area_mu)?;
                            let done = dec(&x.completed_area_mu)?;
                            contiguous += if done > Decimal::ZERO { (c * v / done).min(c) } else { Decimal::ZERO };
                            parks += x.verified_parks;
                        }
                        view.reports.push(self.report_pb(region, x)?);
                    }
                }
            }
            view.reported_area_mu = reported.normalize().to_string();
            view.verified_area_mu = verified.normalize().to_string();
            view.verified_contiguous_area_mu = contiguous.round_dp(4).normalize().to_string();
            view.verified_parks = parks;
            view.progress_percent = percent(verified, target.area_mu);
            target_total += target.area_mu;
            verified_total += verified;
            parks_total += parks;
            towns.push(view);
        }
        let (_, _, days) = campaign::monthly_days(&book, region, on.year().clamp(2000, 2100), on.month())
            .map_err(|e| ApiError::domain("on_date", e))?;
        trace.steps.extend(days.steps);
        let mut goals = Vec::new();
        if only.is_none() {
            let first = NaiveDate::from_ymd_opt(t.year, 1, 1).unwrap_or(on);
            let g = campaign::Goals::in_force(&book, region, first).map_err(|e| ApiError::domain("year", e))?;
            let mut found = Vec::new();
            g.judge(verified_total, parks_total, "已核实完成", &mut found, &mut trace);
            goals = found.iter().map(super::checks::indicator).collect();
        }
        Ok(pb::GetCampaignProgressResponse {
            region_code: region.to_string(),
            year: t.year,
            towns,
            target_area_mu: target_total.normalize().to_string(),
            verified_area_mu: verified_total.normalize().to_string(),
            progress_percent: percent(verified_total, target_total),
            verified_parks: parks_total,
            goals,
            explanation: Some(m::explanation(&trace)),
        })
    }
}
