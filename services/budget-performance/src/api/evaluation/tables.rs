//! The 项目支出绩效自评表 of a stored self-evaluation, as CSV or XLSX.

use civic_proto::budget::v1::{self as pb};
use civic_runtime::{identity::Caller, ApiError, ApiResult};

use super::{convert::*, EvaluationApi};

impl EvaluationApi {
    /// The 项目支出绩效自评表 of a self-evaluation.
    pub(super) async fn export_table(
        &self,
        who: &Caller,
        r: &pb::ExportSelfEvaluationTableRequest,
    ) -> ApiResult<pb::ExportedTable> {
        use crate::tables::{fen_to_yuan, file};
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let e = self.evaluation(&r.evaluation_id).await?;
        let p = self.programme(&e.programme_id).await?;
        self.check_read(who, &p, &e.kind).await?;
        let (Some(input), Some(result)) = (
            unb64::<pb::ScoreSelfEvaluationRequest>("self-evaluation input", &e.input)?,
            unb64::<pb::ScoreSelfEvaluationResponse>("self-evaluation", &e.self_result)?,
        ) else {
            return Err(ApiError::precondition(
                "NOT_A_SELF_EVALUATION",
                format!("evaluation {} is not a unit self-evaluation", e.id),
            ));
        };
        let w = result.weights.clone().unwrap_or_default();
        let blank = || String::new();
        let mut rows: Vec<Vec<String>> = vec![
            vec![
                "项目名称".into(),
                p.name.clone(),
                "主管部门".into(),
                p.owner_role.clone(),
                "实施单位".into(),
                p.owner_unit.clone(),
                "项目责任人".into(),
                p.responsible_person.clone(),
            ],
            vec![
                "项目资金(元)".into(),
                "年初预算数".into(),
                "全年预算数".into(),
                "全年执行数".into(),
                "分值".into(),
                "执行率".into(),
                "得分".into(),
                blank(),
            ],
            vec![
                "年度资金总额".into(),
                fen_to_yuan(p.initial_budget_fen),
                fen_to_yuan(input.budget_fen),
                fen_to_yuan(input.executed_fen),
                w.execution.clone(),
                format!("{}%", result.execution_rate_percent),
                result.execution.clone(),
                blank(),
            ],
            vec![
                "一级指标".into(),
                "二级指标".into(),
                "三级指标".into(),
                "年度指标值".into(),
                "实际完成值".into(),
                "分值".into(),
                "得分".into(),
                "偏差原因".into(),
            ],
        ];
        for (i, s) in input.indicators.iter().zip(&result.indicators) {
            let level1 = match pb::IndicatorGroup::try_from(i.group) {
                Ok(pb::IndicatorGroup::Output) => format!("产出指标({}分)", w.output),
                Ok(pb::IndicatorGroup::Benefit) => format!("效益指标({}分)", w.benefit),
                _ => format!("满意度指标({}分)", w.satisfaction),
            };
            let (target, actual) = match pb::IndicatorDirection::try_from(i.direction) {
                Ok(pb::IndicatorDirection::Qualitative) => (i.target.clone(), format!("{}%", i.share_percent)),
                Ok(d) => {
                    let cmp = match d {
                        pb::IndicatorDirection::AtMost => "≤",
                        pb::IndicatorDirection::Exactly => "=",
                        _ => "≥",
                    };
                    (format!("{cmp}{}{}", i.target, i.unit), format!("{}{}", i.actual, i.unit))
                }
                Err(_) => (i.target.clone(), i.actual.clone()),
            };
            rows.push(vec![
                level1,
                i.level2.clone(),
                i.name.clone(),
                target,
                actual,
                s.points.clone(),
                s.score.clone(),
                i.deduction_reason.clone(),
            ]);
        }
        rows.push(vec![
            "总分".into(),
            blank(),
            blank(),
            blank(),
            blank(),
            "100".into(),
            result.total.clone(),
            format!("{}({})", result.grade, e.status),
        ]);
        let header = ["项目支出绩效自评表", "", "", "", "", "", "", ""];
        let content = civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
            .map_err(ApiError::Internal)?;
        let (filename, content_type) = file(&format!("self-evaluation-{}-{}", p.code, e.year), format);
        Ok(pb::ExportedTable { filename, content_type, content, rows: rows.len() as i64 })
    }
}
