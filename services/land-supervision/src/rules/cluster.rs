//! Cluster rules (驻政〔2020〕37号 附件3 一(一)、三(九), 附件3-2 一(三)): industrial plus
//! warehouse land ≥ 60 % in industry-led clusters; no expansion below 70 % of planned
//! construction land in use; ≥ 50 % of new industrial land sold as "标准地" from 2021; the
//! 15 万元/亩 tax target tracked.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::standard_land::{IndicatorResult, Outcome};

#[derive(Debug, Clone, Default)]
pub struct ClusterFigures {
    pub industry_led: bool,
    pub planned_construction: Decimal,
    pub used_construction: Decimal,
    pub industrial: Decimal,
    pub warehouse: Decimal,
    pub new_industrial: Option<Decimal>,
    pub new_standard: Option<Decimal>,
    pub tax_per_mu: Option<Decimal>,
}

pub struct ClusterCheck {
    pub indicators: Vec<IndicatorResult>,
    pub may_expand: bool,
    pub tax_progress: Option<Decimal>,
    pub trace: Trace,
}

pub fn check(
    book: &PolicyBook,
    region: RegionCode,
    f: &ClusterFigures,
    on: NaiveDate,
) -> Result<ClusterCheck, DomainError> {
    let share_min = book.value("land.cluster.industrial_share_min", region, on)?;
    let expand_min = book.value("land.cluster.expansion_use_min", region, on)?;
    let std_min = book.value("land.cluster.standard_land_share_min", region, on)?;
    let tax_target = book.value("land.cluster.tax_per_mu_target", region, on)?;
    let src = book.rule_source("land.cluster.rules", region, on)?;
    let mut indicators = Vec::new();
    let mut trace = Trace::default();
    let mut add =
        |key: &str, name: &str, value: Option<Decimal>, limit: &civic_domain::policy::Resolved, applies: bool| {
            let outcome = match (applies, value) {
                (false, _) => Outcome::Pass,
                (true, Some(v)) if v >= limit.value => Outcome::Pass,
                (true, Some(_)) => Outcome::Fail,
                (true, None) => Outcome::Undetermined,
            };
            let note = if applies { String::new() } else { "not an industry-led cluster: does not apply".to_string() };
            trace.push(Step {
                rule_id: "land.cluster.rules".into(),
                description: name.into(),
                formula: format!(
                    "{} ≥ {}",
                    value.map(|v| format!("{:.4}", v.round_dp(4))).unwrap_or_else(|| "—".into()),
                    limit.value
                ),
                result: outcome.code().into(),
                parameters: vec![limit.to_use()],
                source: Some(src.clone()),
            });
            indicators.push(IndicatorResult {
                key: key.into(),
                name: name.into(),
                value: value.map(|v| v.round_dp(4)),
                limit: format!("≥ {}", limit.value),
                outcome,
                note,
                parameter: Some(limit.clone()),
            });
        };
    let positive = |d: Decimal| (d > Decimal::ZERO).then_some(d);
    let share = positive(f.planned_construction).map(|p| (f.industrial + f.warehouse) / p);
    add("industrial_share", "工业、仓储物流用地比例", share, &share_min, f.industry_led);
    let used = positive(f.planned_construction).map(|p| f.used_construction / p);
    add("construction_land_in_use", "实际使用建设用地占规划总面积比例(扩区条件)", used, &expand_min, true);
    let std_share = match (f.new_standard, f.new_industrial.and_then(positive)) {
        (Some(s), Some(n)) => Some(s / n),
        _ => None,
    };
    add("standard_land_share", "新增工业用地“标准地”出让比例", std_share, &std_min, f.new_industrial.is_some());
    let may_expand = used.is_some_and(|u| u >= expand_min.value);
    let tax_progress = f.tax_per_mu.map(|t| (t / tax_target.value * Decimal::ONE_HUNDRED).round_dp(2));
    trace.push(Step {
        rule_id: "land.cluster.rules".into(),
        description: "工业用地亩均税收目标(3—5年)".into(),
        formula: format!(
            "{} ÷ {} 万元/亩",
            f.tax_per_mu.map(|t| t.to_string()).unwrap_or_else(|| "—".into()),
            tax_target.value
        ),
        result: tax_progress.map(|p| format!("完成 {p}%")).unwrap_or_default(),
        parameters: vec![tax_target.to_use()],
        source: Some(src),
    });
    Ok(ClusterCheck { indicators, may_expand, tax_progress, trace })
}
