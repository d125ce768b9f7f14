//! Contiguous redevelopment of low-efficiency land (成片开发, 驻政〔2020〕37号 附件3-2 三(五)):
//! office and living facilities at most 7 % of the project's land and 15 % of its floor area;
//! each odd plot at most 3 亩 and the odd plots together at most 10 % of the project.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::{PolicyBook, Resolved},
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::standard_land::{IndicatorResult, Outcome};

pub struct Project {
    pub area_sqm: Decimal,
    pub floor_area_sqm: Option<Decimal>,
    pub office_land_sqm: Option<Decimal>,
    pub office_floor_sqm: Option<Decimal>,
    pub odd_plots_mu: Vec<Decimal>,
}

pub fn check(
    book: &PolicyBook,
    region: RegionCode,
    p: &Project,
    on: NaiveDate,
) -> Result<(Vec<IndicatorResult>, Trace), DomainError> {
    let v = |k: &str| book.value(k, region, on);
    let office_land = v("land.industrial.office_land_share_max")?;
    let office_floor = v("land.industrial.office_floor_share_max")?;
    let plot_max = v("land.redevelopment.odd_plot_mu_max")?;
    let plots_share = v("land.redevelopment.odd_plots_share_max")?;
    let src = book.rule_source("land.redevelopment.limits", region, on)?;
    let mut out = Vec::new();
    let mut trace = Trace::default();
    let mut at_most = |key: &str, name: String, value: Option<Decimal>, limit: &Resolved| {
        let outcome = match value {
            Some(x) if x <= limit.value => Outcome::Pass,
            Some(_) => Outcome::Fail,
            None => Outcome::Undetermined,
        };
        trace.push(Step {
            rule_id: "land.redevelopment.limits".into(),
            description: name.clone(),
            formula: format!(
                "{} ≤ {}",
                value.map(|x| format!("{:.4}", x.round_dp(4))).unwrap_or_else(|| "—".into()),
                limit.value
            ),
            result: outcome.code().into(),
            parameters: vec![limit.to_use()],
            source: Some(src.clone()),
        });
        out.push(IndicatorResult {
            key: key.into(),
            name,
            value: value.map(|x| x.round_dp(4)),
            limit: format!("≤ {}", limit.value),
            outcome,
            note: String::new(),
            parameter: Some(limit.clone()),
        });
    };
    at_most(
        "office_land_share",
        "生产服务、行政办公和生活服务设施占地比例".into(),
        p.office_land_sqm.map(|o| o / p.area_sqm),
        &office_land,
    );
    at_most(
        "office_floor_share",
        "生产服务、行政办公和生活服务设施建筑面积比例".into(),
        match (p.office_floor_sqm, p.floor_area_sqm) {
            (Some(o), Some(t)) if t > Decimal::ZERO => Some(o / t),
            _ => None,
        },
        &office_floor,
    );
    for (i, plot) in p.odd_plots_mu.iter().enumerate() {
        at_most(&format!("odd_plot_{i}"), format!("零星用地第 {} 宗面积(亩)", i + 1), Some(*plot), &plot_max);
    }
    let odd_total_sqm: Decimal = p.odd_plots_mu.iter().map(|m| *m * Decimal::from(10_000) / Decimal::from(15)).sum();
    if !p.odd_plots_mu.is_empty() {
        at_most(
            "odd_plots_share",
            "零星用地累计面积占项目总面积比例".into(),
            Some(odd_total_sqm / p.area_sqm),
            &plots_share,
        );
    }
    Ok((out, trace))
}

/// The 5-year transition of 附件3-2 三(二): the last day a parcel turned to new industries may
/// keep its old use and rights.
pub fn transition(
    book: &PolicyBook,
    region: RegionCode,
    approved: NaiveDate,
    on: NaiveDate,
) -> Result<(NaiveDate, Step), DomainError> {
    let years = book.value("land.redevelopment.transition_years", region, approved)?;
    let end = crate::rules::low_efficiency::anniversary(approved, years.value).pred_opt().unwrap_or(approved);
    let state = if on < approved {
        "尚未开始"
    } else if on <= end {
        "过渡期内:按原用途和土地权利类型使用"
    } else {
        "过渡期已满:按新用途、新权利类型、市场价办理用地手续"
    };
    Ok((
        end,
        Step {
            rule_id: "land.redevelopment.limits".into(),
            description: "转型升级的过渡期".into(),
            formula: format!("{approved} 起 {} 年,至 {end}", years.value),
            result: format!("{on}:{state}"),
            parameters: vec![years.to_use()],
            source: Some(book.rule_source("land.redevelopment.limits", region, on)?),
        },
    ))
}
