//! Performance goals (绩效目标, 驻政〔2020〕37号 附件2 三(七); nationally 中发〔2018〕34号): a goal
//! set must hold output **and** cost indicators as well as benefit and satisfaction ones, match
//! the money, and carry the points its later self-evaluation scores. The check is pure: content
//! problems are findings with their clause (blocking ones stop a submission), never errors.

use chrono::NaiveDate;
use civic_domain::{explanation::SourceRef, policy::PolicyBook, Fen, RegionCode};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::RuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GoalGroup {
    Output,
    Cost,
    Benefit,
    Satisfaction,
}

impl GoalGroup {
    pub fn chinese(self) -> &'static str {
        match self {
            GoalGroup::Output => "产出指标",
            GoalGroup::Cost => "成本指标",
            GoalGroup::Benefit => "效益指标",
            GoalGroup::Satisfaction => "满意度指标",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GoalDirection {
    AtLeast,
    AtMost,
    Exactly,
    Qualitative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueBasis {
    Unstated,
    Plan,
    Industry,
    History,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalIndicator {
    pub group: GoalGroup,
    pub level2: String,
    pub name: String,
    pub unit: String,
    pub direction: GoalDirection,
    /// A decimal for quantitative indicators (checked when read), words for qualitative ones.
    pub target: String,
    pub points: Decimal,
    pub value_basis: ValueBasis,
    pub basis_evidence: String,
    pub data_source: String,
    #[serde(default)]
    pub template_code: String,
    /// Where the actual is read when another service keeps it.
    #[serde(default)]
    pub actual_source: Option<super::actuals::ActualSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Goals {
    pub overall: String,
    pub indicators: Vec<GoalIndicator>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub field: String,
    pub message: String,
    pub blocking: bool,
    /// The clause that asks for it.
    pub document: String,
    pub clause: String,
    pub effective_from: Option<NaiveDate>,
}

impl Finding {
    pub fn new(code: &str, field: String, message: String, blocking: bool, source: &SourceRef) -> Finding {
        Finding {
            code: code.into(),
            field,
            message,
            blocking,
            document: source.document.clone(),
            clause: source.clause.clone(),
            effective_from: source.effective_from,
        }
    }
}

/// Money units a cost target may be stated in, and their fen.
fn fen_per(unit: &str) -> Option<i64> {
    match unit.trim() {
        "元" => Some(100),
        "万元" => Some(1_000_000),
        "亿元" => Some(10_000_000_000),
        _ => None,
    }
}

/// Check a goal set for `region` on `date` against the programme's 全年预算数.
pub fn check(
    book: &PolicyBook,
    region: RegionCode,
    date: NaiveDate,
    goals: &Goals,
    budget: Fen,
) -> Result<Vec<Finding>, RuleError> {
    let completeness = book.rule_source("budget.goal.completeness", region, date)?;
    let weights = book.rule_source("budget.self_eval.weights", region, date)?;
    let total = book.value("budget.score.total", region, date)?;
    let execution = book.value("budget.self_eval.points.execution", region, date)?;
    let mut findings = Vec::new();
    let mut push = |code: &str, field: String, message: String, blocking: bool, source: &SourceRef| {
        findings.push(Finding::new(code, field, message, blocking, source))
    };
    if goals.overall.trim().is_empty() {
        push("NO_OVERALL_GOAL", "goals.overall".into(), "总体目标未填写".into(), false, &completeness);
    }
    for (group, code, blocking) in [
        (GoalGroup::Output, "MISSING_OUTPUT", true),
        (GoalGroup::Cost, "MISSING_COST", true),
        (GoalGroup::Benefit, "MISSING_BENEFIT", false),
        (GoalGroup::Satisfaction, "MISSING_SATISFACTION", false),
    ] {
        if !goals.indicators.iter().any(|i| i.group == group) {
            push(
                code,
                "goals.indicators".into(),
                format!("缺少{}:绩效目标不仅包括产出、成本，还要包括效益和服务对象满意度等绩效指标", group.chinese()),
                blocking,
                &completeness,
            );
        }
    }
    let points: Decimal = goals.indicators.iter().map(|i| i.points).sum::<Decimal>() + execution.value;
    if points != total.value {
        push(
            "POINTS_NOT_100",
            "goals.indicators".into(),
            format!(
                "指标分值 {} 加预算执行率 {} 共 {},应为 {}",
                points - execution.value,
                execution.value,
                points,
                total.value
            ),
            true,
            &weights,
        );
    }
    for (i, ind) in goals.indicators.iter().enumerate() {
        if matches!(ind.group, GoalGroup::Output | GoalGroup::Cost) && ind.direction == GoalDirection::Qualitative {
            push(
                "NOT_QUANTIFIED",
                format!("goals.indicators[{i}].direction"),
                format!("{}“{}”未量化", ind.group.chinese(), ind.name),
                false,
                &completeness,
            );
        }
        if ind.group == GoalGroup::Cost && ind.direction != GoalDirection::Qualitative {
            if let (Some(per), Ok(target)) = (fen_per(&ind.unit), ind.target.trim().parse::<Decimal>()) {
                let fen = target.checked_mul(Decimal::from(per));
                if fen.is_none_or(|f| f > Decimal::from(budget.get())) {
                    push(
                        "COST_ABOVE_BUDGET",
                        format!("goals.indicators[{i}].target"),
                        format!(
                            "成本指标“{}”{} {} 超过全年预算数 {}:目标应与预算资金量相匹配",
                            ind.name,
                            ind.target.trim(),
                            ind.unit.trim(),
                            budget.yuan_text()
                        ),
                        false,
                        &completeness,
                    );
                }
            }
        }
    }
    Ok(findings)
}

/// Whether any finding stops a submission.
pub fn blocked(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.blocking)
}
