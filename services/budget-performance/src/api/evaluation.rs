//! `civic.budget.v1.EvaluationService`: scoring evaluations. A unit scores its own
//! self-evaluation; finance and auditors (who read everything) may score any in their scope.

use civic_domain::Fen;
use civic_proto::budget::v1::{self as pb, evaluation_service_server::EvaluationService};
use civic_runtime::{
    identity::{Access, Caller, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller},
    ApiError, ApiResult,
};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use super::respond;
use crate::rules::self_eval::{self, Band, Direction, Group, Indicator, Measure, Weights};

#[derive(Clone)]
pub struct EvaluationApi {
    pub book: BookHandle,
}

/// Every bureau evaluates its own programmes (谁支出、谁负责), finance all of them.
const EVALUATING: &[Role] = &Role::ALL;

fn group(field: String, g: i32) -> ApiResult<Group> {
    match pb::IndicatorGroup::try_from(g) {
        Ok(pb::IndicatorGroup::Output) => Ok(Group::Output),
        Ok(pb::IndicatorGroup::Benefit) => Ok(Group::Benefit),
        Ok(pb::IndicatorGroup::Satisfaction) => Ok(Group::Satisfaction),
        _ => Err(ApiError::invalid(field, "INDICATOR_GROUP_OUTPUT, _BENEFIT or _SATISFACTION")),
    }
}

fn group_pb(g: Group) -> i32 {
    match g {
        Group::Output => pb::IndicatorGroup::Output as i32,
        Group::Benefit => pb::IndicatorGroup::Benefit as i32,
        Group::Satisfaction => pb::IndicatorGroup::Satisfaction as i32,
    }
}

/// A request's indicator as the scorer takes it.
fn indicator(i: usize, x: &pb::SelfEvaluationIndicator) -> ApiResult<Indicator> {
    let f = |name: &str| format!("indicators[{i}].{name}");
    let points = request::decimal(&f("points"), &x.points)?;
    let quantitative = |direction| -> ApiResult<Measure> {
        if !x.share_percent.trim().is_empty() || x.band != 0 {
            return Err(ApiError::invalid(f("band"), "a band and share belong to qualitative indicators only"));
        }
        let deduction = match (x.deduction.trim().is_empty(), x.deduction_reason.trim().is_empty()) {
            (true, true) => None,
            (false, _) => Some((request::decimal(&f("deduction"), &x.deduction)?, x.deduction_reason.clone())),
            (true, false) => return Err(ApiError::invalid(f("deduction"), "a reason without a deduction")),
        };
        Ok(Measure::Quantitative {
            direction,
            target: request::decimal(&f("target"), &x.target)?,
            actual: request::decimal(&f("actual"), &x.actual)?,
            deduction,
        })
    };
    let measure = match pb::IndicatorDirection::try_from(x.direction) {
        Ok(pb::IndicatorDirection::AtLeast) => quantitative(Direction::AtLeast)?,
        Ok(pb::IndicatorDirection::AtMost) => quantitative(Direction::AtMost)?,
        Ok(pb::IndicatorDirection::Exactly) => quantitative(Direction::Exactly)?,
        Ok(pb::IndicatorDirection::Qualitative) => {
            if !x.target.trim().is_empty() && x.target.trim().parse::<Decimal>().is_ok() {
                return Err(ApiError::invalid(f("target"), "a qualitative indicator has no numeric target"));
            }
            let band = match pb::QualitativeBand::try_from(x.band) {
                Ok(pb::QualitativeBand::Achieved) => Band::Achieved,
                Ok(pb::QualitativeBand::Partial) => Band::Partial,
                Ok(pb::QualitativeBand::NotAchieved) => Band::NotAchieved,
                _ => return Err(ApiError::invalid(f("band"), "the band judged: ACHIEVED, PARTIAL or NOT_ACHIEVED")),
            };
            Measure::Qualitative { band, share_percent: request::decimal(&f("share_percent"), &x.share_percent)? }
        }
        _ => return Err(ApiError::invalid(f("direction"), "AT_LEAST, AT_MOST, EXACTLY or QUALITATIVE")),
    };
    Ok(Indicator {
        group: group(f("group"), x.group)?,
        level2: x.level2.trim().to_string(),
        name: x.name.trim().to_string(),
        unit: x.unit.trim().to_string(),
        points,
        measure,
    })
}

/// The scorer's input from a request.
pub(crate) fn self_eval_input(r: &pb::ScoreSelfEvaluationRequest) -> ApiResult<self_eval::Input> {
    let indicators = r.indicators.iter().enumerate().map(|(i, x)| indicator(i, x)).collect::<ApiResult<Vec<_>>>()?;
    let weights = match &r.weights {
        None => None,
        Some(w) => Some(Weights {
            output: request::decimal("weights.output", &w.output)?,
            benefit: request::decimal("weights.benefit", &w.benefit)?,
            satisfaction: request::decimal("weights.satisfaction", &w.satisfaction)?,
            execution: request::decimal("weights.execution", &w.execution)?,
        }),
    };
    Ok(self_eval::Input {
        indicators,
        budget: Fen::new(r.budget_fen),
        executed: Fen::new(r.executed_fen),
        weights,
        deviation_reason: r.deviation_reason.clone(),
    })
}

fn weights_pb(w: &Weights) -> pb::SelfEvaluationWeights {
    pb::SelfEvaluationWeights {
        output: w.output.normalize().to_string(),
        benefit: w.benefit.normalize().to_string(),
        satisfaction: w.satisfaction.normalize().to_string(),
        execution: w.execution.normalize().to_string(),
    }
}

impl EvaluationApi {
    fn score(&self, who: &Caller, r: &pb::ScoreSelfEvaluationRequest) -> ApiResult<pb::ScoreSelfEvaluationResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, EVALUATING, "score self-evaluations", region)
            .map_err(ApiError::from)?;
        let date = request::served_date("on_date", &r.on_date)?;
        let input = self_eval_input(r)?;
        let o = self_eval::score(&book, region, date, &input)?;
        Ok(pb::ScoreSelfEvaluationResponse {
            indicators: o
                .indicators
                .iter()
                .map(|s| pb::IndicatorScore {
                    name: s.name.clone(),
                    group: group_pb(s.group),
                    points: s.points.normalize().to_string(),
                    exact: s.exact.normalize().to_string(),
                    score: s.score.to_string(),
                })
                .collect(),
            weights: Some(weights_pb(&o.weights)),
            output: o.output.to_string(),
            benefit: o.benefit.to_string(),
            satisfaction: o.satisfaction.to_string(),
            execution_rate_percent: crate::rules::monitoring::shown(o.execution_rate * Decimal::ONE_HUNDRED),
            execution: o.execution.to_string(),
            total: o.total.to_string(),
            exact_total: o.exact_total.normalize().to_string(),
            grade: o.grade.chinese().into(),
            grade_code: o.grade.code().into(),
            explanation: Some(mapping::explanation(&o.trace)),
        })
    }
}

#[tonic::async_trait]
impl EvaluationService for EvaluationApi {
    #[tracing::instrument(skip_all)]
    async fn score_self_evaluation(
        &self,
        req: Request<pb::ScoreSelfEvaluationRequest>,
    ) -> Result<Response<pb::ScoreSelfEvaluationResponse>, Status> {
        let who = caller(&req)?;
        respond(self.score(&who, req.get_ref()))
    }
}
