//! A checkpoint's figures for every programme of a region imported at once (CSV or XLSX),
//! and a programme's 监控表 exported.

use chrono::Datelike;
use civic_domain::RegionCode;
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, MonitoringApi};
use crate::api::programmes::{check_programme, may_own};
use crate::{
    rules::{
        goals::Goals,
        monitoring::{self},
    },
    store::{
        goals as goal_store,
        monitoring::{self as store},
        programmes::{self as programme_store, ProgrammeRow},
    },
};

/// A row of an import, checked and ready to be judged against its programme's goals.
struct Prepared<'a> {
    rn: i64,
    p: &'a ProgrammeRow,
    region: RegionCode,
    goals_row: &'a crate::store::goals::GoalSetRow,
    figures: pb::MonitoringFigures,
    indicators: Vec<pb::RecordedProgress>,
    set: usize,
}

impl MonitoringApi {
    pub(super) async fn import(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::ImportMonitoringRequest,
    ) -> ApiResult<pb::ImportMonitoringResponse> {
        use crate::tables::{self, RowError};
        let book = self.book.current();
        let scope = request::region_code(&book, "region_code", &r.region_code)?;
        let writers: Vec<Role> = Role::ALL.into_iter().filter(|r| may_own(*r)).collect();
        who.authorize(&book.regions, Access::Write, &writers, "import monitoring", scope).map_err(ApiError::from)?;
        let as_of = request::served_date("as_of", &r.as_of)?;
        if as_of > request::china_today() {
            return Err(ApiError::invalid("as_of", "a checkpoint that has passed"));
        }
        if as_of.succ_opt().is_none_or(|n| n.month() == as_of.month()) {
            return Err(ApiError::invalid("as_of", "a checkpoint is a month's last day"));
        }
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let correction = note("correction_reason", &r.correction_reason, false)?;
        let requested = requested_rules(r.rules.as_ref())?;
        let fail = |errors: Vec<RowError>| pb::ImportMonitoringResponse {
            errors: errors
                .into_iter()
                .take(tables::MAX_ERRORS)
                .map(|e| pb::ImportRowError { row: e.row, field: e.field, message: e.message })
                .collect(),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let table = match tables::read(format, &r.content, tables::MONITORING_COLUMNS) {
            Ok(t) => t,
            Err(errors) => return Ok(fail(errors)),
        };
        let progress_columns: Vec<(String, usize)> = table
            .extra
            .iter()
            .filter_map(|(h, i)| h.strip_prefix("progress:").map(|n| (n.trim().to_string(), *i)))
            .collect();
        let prefix = region_prefix(scope);
        let year = i64::from(as_of.year());
        // Three independent reads, at once (the database works on them side by side).
        let as_of_text = as_of.to_string();
        let (programmes, goals, recorded) = tokio::try_join!(
            programme_store::all_for_year(&self.db, &prefix, year),
            goal_store::in_force_for_region(&self.db, &prefix, year, &as_of_text),
            store::recorded(&self.db, &prefix, &as_of_text),
        )?;
        let programmes: std::collections::HashMap<(String, String), ProgrammeRow> =
            programmes.into_iter().map(|p| ((p.region_code.clone(), p.code.clone()), p)).collect();
        tracing::debug!(
            programmes = programmes.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "monitoring import: file, programmes, goals and earlier records read"
        );
        // Each region's rule set (an index into `sets`), each set with the index of its stored
        // form among the distinct ones (`rules_json`).
        let mut rule_sets: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut sets: Vec<(monitoring::RuleSet, usize)> = Vec::new();
        let mut rules_json: Vec<String> = Vec::new();
        let mut errors = Vec::new();
        let mut items = Vec::with_capacity(table.rows.len());
        let mut prepared = Vec::with_capacity(table.rows.len());
        let mut seen = std::collections::HashMap::new();
        for (rn, row) in &table.rows {
            let cell = |k: &str| table.cell(row, k);
            let region_code =
                if cell("region_code").is_empty() { scope.to_string() } else { cell("region_code").to_string() };
            let code = cell("programme_code").to_string();
            let Some(p) = programmes.get(&(region_code.clone(), code.clone())) else {
                errors.push(RowError::new(
                    *rn,
                    "programme_code",
                    format!("no programme {code} of {region_code} in {year} within {scope}"),
                ));
                continue;
            };
            if let Err(e) = check_programme(&book, who, Access::Write, p, "import monitoring") {
                errors.push(RowError::new(*rn, "programme_code", e.to_string()));
                continue;
            }
            if let Some(first) = seen.insert(p.id.clone(), *rn) {
                errors.push(RowError::new(*rn, "programme_code", format!("programme {code} is also on row {first}")));
                continue;
            }
            if recorded.contains(&p.id) && correction.is_empty() {
                errors.push(RowError::new(
                    *rn,
                    "programme_code",
                    format!("checkpoint {as_of} of programme {code} is recorded: a correction needs correction_reason"),
                ));
                continue;
            }
            let Some(goals_row) = goals.get(&p.id) else {
                errors.push(RowError::new(
                    *rn,
                    "programme_code",
                    format!("programme {code} has no approved goals in force on {as_of}"),
                ));
                continue;
            };
            let money = |k: &str| if cell(k).is_empty() { Ok(0) } else { tables::yuan_to_fen(cell(k)) };
            let mut amounts = [0i64; 4];
            let mut bad = false;
            for (slot, k) in ["arrived_yuan", "paid_yuan", "spent_yuan", "expected_carryover_yuan"].iter().enumerate() {
                match money(k) {
                    Ok(v) => amounts[slot] = v,
                    Err(e) => {
                        errors.push(RowError::new(*rn, k, e));
                        bad = true;
                    }
                }
            }
            if bad {
                continue;
            }
            let figures = pb::MonitoringFigures {
                budget_fen: 0,
                arrived_fen: amounts[0],
                paid_fen: amounts[1],
                spent_fen: amounts[2],
                expected_carryover_fen: amounts[3],
            };
            let indicators: Vec<pb::RecordedProgress> = progress_columns
                .iter()
                .filter_map(|(name, i)| row.get(*i).map(|v| (name, v.trim())))
                .filter(|(_, v)| !v.is_empty())
                .map(|(name, v)| pb::RecordedProgress {
                    name: name.clone(),
                    progress: v.to_string(),
                    ..Default::default()
                })
                .collect();
            let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
            // One rule set per region (their thresholds may differ), stored once each.
            let set = match rule_sets.get(&p.region_code) {
                Some(i) => *i,
                None => {
                    let set = monitoring::rule_set(&book, region, as_of, &requested)?;
                    let json = set.to_json();
                    let stored = match rules_json.iter().position(|j| *j == json) {
                        Some(j) => j,
                        None => {
                            rules_json.push(json);
                            rules_json.len() - 1
                        }
                    };
                    sets.push((set, stored));
                    rule_sets.insert(p.region_code.clone(), sets.len() - 1);
                    sets.len() - 1
                }
            };
            prepared.push(Prepared { rn: *rn, p, region, goals_row, figures, indicators, set });
        }
        // Each checkpoint judged on its own (goals read, figures compared, warnings raised):
        // pure work, shared between two threads.
        let judge = |part: &[Prepared]| -> Vec<Result<store::Imported, ApiError>> {
            part.iter()
                .map(|x| {
                    let (rules, stored) = &sets[x.set];
                    checkpoint(&book, x.region, as_of, x.p, x.goals_row, &x.figures, &x.indicators, rules, &correction)
                        .map(|(record, raised, _)| store::Imported {
                            record,
                            region_code: x.p.region_code.clone(),
                            raised,
                            rule_set: *stored,
                        })
                })
                .collect()
        };
        let judged = tokio::task::block_in_place(|| {
            let (first, second) = prepared.split_at(prepared.len() / 2);
            std::thread::scope(|scope| {
                let other = scope.spawn(|| judge(second));
                let mut out = judge(first);
                match other.join() {
                    Ok(more) => {
                        out.extend(more);
                        Ok(out)
                    }
                    Err(_) => Err(ApiError::Internal("judging the checkpoints failed".into())),
                }
            })
        })?;
        for (x, judged) in prepared.iter().zip(judged) {
            match judged {
                Ok(item) => items.push(item),
                Err(ApiError::InvalidArgument(v)) => {
                    for (field, message) in v {
                        errors.push(RowError::new(x.rn, &field, message));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        errors.sort_by_key(|e| e.row);
        if !errors.is_empty() {
            return Ok(fail(errors));
        }
        tracing::debug!(
            rows = items.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "monitoring import checked"
        );
        let (records, warnings) = store::import(
            &self.db,
            who,
            rid,
            &as_of.to_string(),
            &prefix,
            store::Batch { items, rule_sets: rules_json },
            &correction,
        )
        .await?;
        tracing::debug!(
            records,
            warnings,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "monitoring import stored"
        );
        Ok(pb::ImportMonitoringResponse {
            records: records as i64,
            warnings: warnings as i64,
            errors: vec![],
            stored: true,
        })
    }

    /// The 项目支出绩效目标执行监控表 of a programme: each checkpoint's money, then each goal
    /// indicator's progress.
    pub(super) async fn export_table(
        &self,
        who: &Caller,
        r: &pb::ExportMonitoringTableRequest,
    ) -> ApiResult<pb::ExportedTable> {
        use crate::tables::{fen_to_yuan, file};
        let book = self.book.current();
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let p = self.programme(&r.programme_id).await?;
        check_programme(&book, who, Access::Read, &p, "read monitoring")?;
        let records = store::records_for(&self.db, &p.id).await?;
        let mut rows: Vec<Vec<String>> = vec![vec![
            "检查点".into(),
            "项目".into(),
            "年度预算数/年度指标值".into(),
            "1至本月执行数/完成值".into(),
            "执行率/完成率".into(),
            "全年预计执行数/完成值".into(),
            "偏差原因".into(),
            "完成目标可能性".into(),
            "纠偏措施".into(),
        ]];
        for rec in &records {
            // The goal set the record was measured against: read once, for its evaluation and
            // for every indicator's target.
            let goals_row = goal_store::version(&self.db, &p.id, rec.goal_version)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("record {}/{} names a missing goal set", p.id, rec.as_of)))?;
            let goals: Goals = serde_json::from_str(&goals_row.goals_json)
                .map_err(|e| ApiError::Internal(format!("goal set {}/{}: {e}", p.id, goals_row.version)))?;
            let e = reevaluate(&self.db, &book, &p, rec, &goals_row).await?;
            let shown = record_pb(rec, &[], e.clone())?;
            rows.push(vec![
                rec.as_of.clone(),
                "预算执行(支出)".into(),
                fen_to_yuan(rec.budget_fen),
                fen_to_yuan(rec.spent_fen),
                format!("{}%", e.execution_percent),
                fen_to_yuan(rec.budget_fen.saturating_sub(rec.expected_carryover_fen)),
                String::new(),
                String::new(),
                String::new(),
            ]);
            for (i, g) in shown.indicators.iter().enumerate() {
                let pct = e.goals.get(i).map(|x| format!("{}%", x.percent)).unwrap_or_default();
                let target = goals
                    .indicators
                    .iter()
                    .find(|x| x.name == g.name)
                    .map(|x| format!("{}{}", x.target, x.unit))
                    .unwrap_or_default();
                let likelihood = match pb::Likelihood::try_from(g.likelihood) {
                    Ok(pb::Likelihood::Certain) => "确定能",
                    Ok(pb::Likelihood::Possible) => "有可能",
                    Ok(pb::Likelihood::Impossible) => "完全不可能",
                    _ => "",
                };
                let cause = match pb::DeviationCause::try_from(g.cause) {
                    Ok(pb::DeviationCause::Funding) => "经费保障",
                    Ok(pb::DeviationCause::Rules) => "制度保障",
                    Ok(pb::DeviationCause::Staff) => "人员保障",
                    Ok(pb::DeviationCause::Facilities) => "硬件条件保障",
                    Ok(pb::DeviationCause::Other) => "其他",
                    _ => "",
                };
                rows.push(vec![
                    rec.as_of.clone(),
                    g.name.clone(),
                    target,
                    g.progress.clone(),
                    pct,
                    String::new(),
                    cause.into(),
                    likelihood.into(),
                    g.measures.clone(),
                ]);
            }
        }
        let header = ["项目支出绩效目标执行监控表", &p.name, &p.owner_unit, "", "", "", "", "", ""];
        let content = civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
            .map_err(ApiError::Internal)?;
        let (filename, content_type) = file(&format!("monitoring-{}-{}", p.code, p.budget_year), format);
        Ok(pb::ExportedTable { filename, content_type, content, rows: rows.len() as i64 })
    }
}
