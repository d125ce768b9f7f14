//! Cost sharing between the city and the district or county that pays a programme out
//! (`budget.cost_share.<programme>.city_share`, e.g. 高龄补贴 3:7 in 三门峡's 市区, 三政〔2017〕23号
//! 三(一)): the city's part half-up to the fen, the local government the remainder.

use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use super::{share_half_up, RuleError};

/// A programme's cost split between the city and the district or county that pays it out
/// (`budget.cost_share.<programme>.city_share`, e.g. 高龄补贴 3:7 in 三门峡's 市区, 三政〔2017〕23号
/// 三(一)); the city's part half-up to the fen, the local government the remainder.
pub fn split(
    book: &PolicyBook,
    region: RegionCode,
    programme: &str,
    total: Fen,
    on: chrono::NaiveDate,
) -> Result<(Decimal, Fen, Fen, Trace), RuleError> {
    if programme.is_empty() || !programme.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Err(RuleError::Input {
            field: "programme",
            message: "a programme key such as elderly_allowance".into(),
        });
    }
    let share = book.value(&format!("budget.cost_share.{programme}.city_share"), region, on)?;
    let city = share_half_up(total, share.value)?;
    let local = total.checked_sub(city)?;
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.cost_share".into(),
        description: format!("{region} {programme}:市级负担 {}", share.value.normalize()),
        formula: format!(
            "{} × {} = {};县(区)级 {}",
            total.yuan_text(),
            share.value.normalize(),
            city.yuan_text(),
            local.yuan_text()
        ),
        result: format!("市级 {},县(区)级 {}", city.yuan_text(), local.yuan_text()),
        parameters: vec![share.to_use()],
        source: Some(book.rule_source("budget.cost_share", region, on)?),
    });
    trace.push(Step {
        rule_id: "budget.cost_share.rounding".into(),
        description: "市级负担部分按分四舍五入,县(区)级负担余数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(book.rule_source("budget.cost_share.rounding", region, on)?),
    });
    Ok((share.value, city, local, trace))
}
