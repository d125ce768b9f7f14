//! Idle land (闲置土地), 《闲置土地处置办法》(国土资源部令第53号) 第二条 and 第十四条, with the
//! local disposal of 驻政〔2020〕37号 附件3 §(六): idle when development has not started one full
//! year after the agreed start date, or when it started but developed area is under one third or
//! investment under 25 % (land price excluded) and it has stopped for one full year. An
//! enterprise-caused idle parcel pays an idle fee of 20 % of the land price after one year and is
//! recovered without compensation after two; government-caused and shared-fault parcels have
//! their own options.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::{PolicyBook, Resolved},
    rounding::Rounding,
    DomainError, Fen, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::low_efficiency::{add_years, whole_years};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Government,
    Enterprise,
    Both,
}

#[derive(Debug, Clone)]
pub struct IdleFacts {
    pub agreed_start: NaiveDate,
    /// None: development has not started.
    pub started_on: Option<NaiveDate>,
    pub developed_area: Decimal,
    pub total_area: Decimal,
    /// Investment made and total investment, land price excluded (万元).
    pub invested: Decimal,
    pub total_investment: Decimal,
    /// When development stopped, if it has.
    pub stopped_on: Option<NaiveDate>,
    pub cause: Cause,
    pub land_price: Fen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposal {
    NotIdle,
    /// Idle, less than the fee threshold: urge development.
    UrgeDevelopment,
    /// Enterprise-caused, idle one full year: 土地闲置费.
    IdleFee,
    /// Enterprise-caused, idle two full years: 无偿收回.
    RecoverWithoutCompensation,
    /// Government-caused: supplementary agreement resetting the clean-land date; if still not
    /// met, paid recovery or swap.
    GovernmentRemedy,
    /// Both at fault: paid recovery or swap by agreement.
    NegotiatedRecoveryOrSwap,
}

impl Disposal {
    pub fn code(self) -> &'static str {
        match self {
            Disposal::NotIdle => "NOT_IDLE",
            Disposal::UrgeDevelopment => "URGE_DEVELOPMENT",
            Disposal::IdleFee => "IDLE_FEE",
            Disposal::RecoverWithoutCompensation => "RECOVER_WITHOUT_COMPENSATION",
            Disposal::GovernmentRemedy => "GOVERNMENT_REMEDY",
            Disposal::NegotiatedRecoveryOrSwap => "NEGOTIATED_RECOVERY_OR_SWAP",
        }
    }
    pub fn chinese(self) -> &'static str {
        match self {
            Disposal::NotIdle => "不构成闲置土地",
            Disposal::UrgeDevelopment => "构成闲置,督促限期开工建设",
            Disposal::IdleFee => "征缴土地闲置费(土地价款的20%)",
            Disposal::RecoverWithoutCompensation => "无偿收回国有建设用地使用权",
            Disposal::GovernmentRemedy => "签订补充协议重新约定“净地”交付期限;仍未达到的,协议有偿收回或置换",
            Disposal::NegotiatedRecoveryOrSwap => "协商一致后有偿收回或以协议方式置换",
        }
    }
}

#[derive(Debug, Clone)]
pub struct IdleAssessment {
    pub idle: bool,
    pub idle_since: Option<NaiveDate>,
    pub full_years_idle: i64,
    pub disposal: Disposal,
    pub idle_fee: Fen,
    pub trace: Trace,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdleError {
    #[error("{field}: {message}")]
    Input { field: &'static str, message: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
}

fn years_of(r: &Resolved) -> i64 {
    i64::try_from(r.value.trunc()).unwrap_or(1)
}

pub fn assess(
    book: &PolicyBook,
    region: RegionCode,
    f: &IdleFacts,
    on: NaiveDate,
) -> Result<IdleAssessment, IdleError> {
    let bad = |field: &'static str, message: &str| IdleError::Input { field, message: message.to_string() };
    if f.total_area <= Decimal::ZERO {
        return Err(bad("total_area_mu", "must be positive"));
    }
    if f.total_investment <= Decimal::ZERO {
        return Err(bad("total_investment_wan", "must be positive"));
    }
    if f.developed_area < Decimal::ZERO || f.developed_area > f.total_area {
        return Err(bad("developed_area_mu", "between 0 and the total area"));
    }
    if f.invested < Decimal::ZERO {
        return Err(bad("invested_wan", "must not be negative"));
    }
    if f.land_price.is_negative() {
        return Err(bad("land_price_fen", "must not be negative"));
    }
    if let (Some(s), Some(stop)) = (f.started_on, f.stopped_on) {
        if stop < s {
            return Err(bad("stopped_on", "development cannot stop before it started"));
        }
    }
    if f.started_on.is_none() && f.stopped_on.is_some() {
        return Err(bad("stopped_on", "development that never started cannot have stopped"));
    }
    let v = |k: &str| book.value(k, region, on);
    let grace = v("land.idle.start_grace_years")?;
    let dev_share = v("land.idle.developed_share")?;
    let inv_share = v("land.idle.invested_share")?;
    let stopped_years = v("land.idle.stopped_years")?;
    let fee_rate = v("land.idle.fee_rate")?;
    let recovery_years = v("land.idle.recovery_years")?;
    let mut trace = Trace::default();
    let definition = book.rule_source("land.idle.definition", region, on)?;

    let (idle_since, how) = match f.started_on {
        None => {
            let since = add_years(f.agreed_start, years_of(&grace));
            (
                (on >= since).then_some(f.agreed_start),
                format!(
                    "约定动工日期 {},至 {on} {}动工",
                    f.agreed_start,
                    if on >= since { "满一年仍未" } else { "未满一年,尚未" }
                ),
            )
        }
        Some(started) => {
            let developed = f.developed_area / f.total_area;
            let invested = f.invested / f.total_investment;
            let little = developed < dev_share.value || invested < inv_share.value;
            let progress = format!(
                "{started} 动工;已开发面积占比 {}%(标准 {}),已投资占比 {}%(标准 {}%)",
                (developed * Decimal::ONE_HUNDRED).round_dp(2),
                dev_share.rule.clone().unwrap_or_else(|| dev_share.value.to_string()),
                (invested * Decimal::ONE_HUNDRED).round_dp(2),
                (inv_share.value * Decimal::ONE_HUNDRED).normalize()
            );
            match f.stopped_on {
                Some(stop) if little && on >= add_years(stop, years_of(&stopped_years)) => {
                    (Some(stop), format!("{progress};{stop} 起中止开发建设满一年"))
                }
                Some(stop) if little => (None, format!("{progress};{stop} 起中止,未满一年")),
                Some(_) => (None, format!("{progress};开发程度已超过闲置认定标准")),
                None => (None, format!("{progress};未中止开发建设")),
            }
        }
    };
    trace.push(Step {
        rule_id: "land.idle.definition".into(),
        description: "闲置土地认定".into(),
        formula: how,
        result: if idle_since.is_some() { "构成闲置土地".into() } else { "不构成闲置土地".into() },
        parameters: vec![grace.to_use(), dev_share.to_use(), inv_share.to_use(), stopped_years.to_use()],
        source: Some(definition),
    });
    let Some(since) = idle_since else {
        return Ok(IdleAssessment {
            idle: false,
            idle_since: None,
            full_years_idle: 0,
            disposal: Disposal::NotIdle,
            idle_fee: Fen::ZERO,
            trace,
        });
    };
    // Years idle: from the agreed start date for parcels never started (第十四条 counts from the
    // agreed start), from the stop for parcels that stopped.
    let years = whole_years(since, on);
    let (disposal, fee) = match f.cause {
        Cause::Government => (Disposal::GovernmentRemedy, Fen::ZERO),
        Cause::Both => (Disposal::NegotiatedRecoveryOrSwap, Fen::ZERO),
        Cause::Enterprise if years >= years_of(&recovery_years) => (Disposal::RecoverWithoutCompensation, Fen::ZERO),
        Cause::Enterprise if years >= years_of(&grace) => {
            let exact = f.land_price.to_yuan_decimal() * fee_rate.value;
            let rounded = Rounding::half_up_to(Decimal::new(1, 2))?.apply(exact)?;
            (Disposal::IdleFee, Fen::from_yuan_decimal(rounded)?)
        }
        Cause::Enterprise => (Disposal::UrgeDevelopment, Fen::ZERO),
    };
    let (rule, params) = match f.cause {
        Cause::Enterprise => ("land.idle.enterprise", vec![fee_rate.to_use(), recovery_years.to_use()]),
        Cause::Government => ("land.idle.government", vec![]),
        Cause::Both => ("land.idle.both", vec![]),
    };
    let formula = match disposal {
        Disposal::IdleFee => format!(
            "闲置满 {years} 年;土地价款 {} × {} = {}",
            f.land_price.yuan_text(),
            fee_rate.value,
            fee.yuan_text()
        ),
        _ => format!("闲置满 {years} 年(自 {since} 起)"),
    };
    trace.push(Step {
        rule_id: rule.into(),
        description: match f.cause {
            Cause::Enterprise => "企业原因造成闲置",
            Cause::Government => "政府原因造成闲置",
            Cause::Both => "政府与企业互有瑕疵",
        }
        .into(),
        formula,
        result: disposal.chinese().into(),
        parameters: params,
        source: Some(book.rule_source(rule, region, on)?),
    });
    Ok(IdleAssessment { idle: true, idle_since: Some(since), full_years_idle: years, disposal, idle_fee: fee, trace })
}
