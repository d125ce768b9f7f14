//! Recalculation jobs over the gRPC interface.

use std::{pin::Pin, time::Duration};

use civic_proto::assistance::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller},
    request, ApiError, ApiResult,
};
use tokio_stream::Stream;

use super::{access, service::AssistanceApi};
use crate::store::jobs;

pub type JobStream = Pin<Box<dyn Stream<Item = Result<pb::WatchRecalculationResponse, tonic::Status>> + Send>>;

fn state_pb(s: &str) -> pb::JobState {
    match s {
        "running" => pb::JobState::Running,
        "completed" => pb::JobState::Completed,
        "failed" => pb::JobState::Failed,
        _ => pb::JobState::Unspecified,
    }
}

impl AssistanceApi {
    pub(super) async fn job_view(&self, j: &jobs::Job) -> ApiResult<pb::RecalculationJob> {
        let p = jobs::progress(&self.db, &j.id).await?;
        Ok(pb::RecalculationJob {
            job_id: j.id.clone(),
            region_code: j.region_code.clone(),
            effective_from: j.effective_from.clone(),
            state: state_pb(&j.state) as i32,
            total: j.total,
            done: p.done,
            cases: p.cases,
            difference_fen: p.difference,
            back_pay_fen: p.back_pay,
            created_by: j.created_by.clone(),
            created_at: j.created_at.clone(),
            finished_at: j.finished_at.clone(),
            error: j.error.clone(),
        })
    }

    pub(super) async fn start_recalculation(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::StartRecalculationRequest,
    ) -> ApiResult<pb::RecalculationJob> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Write, access::ROLL, "recalculate the roll", region)?;
        let effective = request::required_date("effective_from", &r.effective_from)?;
        // The standards must exist on the date, or every case would fail.
        super::standards::require_dibao_standards(&book, region, effective)?;
        // Back pay is for months already begun: a change that has not taken effect yet is
        // recalculated when it does.
        let today = request::china_today();
        if effective > today {
            return Err(ApiError::precondition(
                "NOT_YET_IN_FORCE",
                format!(
                    "effective_from {effective} is after today ({today}, China time): recalculate once it is in force"
                ),
            ));
        }
        let prefix = region_prefix(region);
        // One recalculation per region and change at a time: the same start again (a retry, a
        // second clerk, another replica) gets the running job; one over an overlapping region is
        // refused until the first ends.
        if let Some(other) = jobs::running_overlapping(&self.db, &prefix).await? {
            if other.region_code == region.as_str() && other.effective_from == effective.to_string() {
                return self.job_view(&other).await;
            }
            return Err(ApiError::precondition(
                "RECALCULATION_RUNNING",
                format!(
                    "recalculation {} of {} from {} is running over part of {region}: wait until it ends",
                    other.id, other.region_code, other.effective_from
                ),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let started = jobs::create(
            &self.db,
            who,
            request_id,
            jobs::NewJob {
                id: &id,
                region: region.as_str(),
                prefix: &prefix,
                effective_from: &effective.to_string(),
                reason: &r.reason,
                chunk_size: self.recalculator.settings.chunk_size,
            },
        )
        .await?;
        let job = match started {
            jobs::Started::New(job) => {
                self.recalculator.spawn(id);
                job
            }
            // Another call won the race for the same region and date.
            jobs::Started::Running(job) => job,
        };
        self.job_view(&job).await
    }

    pub(super) async fn get_recalculation(
        &self,
        who: &Caller,
        r: &pb::GetRecalculationRequest,
    ) -> ApiResult<pb::RecalculationJob> {
        let job = self.visible_job(who, &r.job_id).await?;
        self.job_view(&job).await
    }

    async fn visible_job(&self, who: &Caller, id: &str) -> ApiResult<jobs::Job> {
        let book = self.book.current();
        if id.is_empty() {
            return Err(ApiError::invalid("job_id", "required"));
        }
        let job =
            jobs::get(&self.db, id).await?.ok_or_else(|| ApiError::not_found(format!("recalculation job {id}")))?;
        let region = request::region_code(&book, "job.region_code", &job.region_code)?;
        access::check(who, &book, Access::Read, access::ROLL, "read recalculations", region)?;
        Ok(job)
    }

    pub(super) async fn watch_recalculation(
        &self,
        who: &Caller,
        r: &pb::WatchRecalculationRequest,
    ) -> ApiResult<JobStream> {
        let job = self.visible_job(who, &r.job_id).await?;
        let me = self.clone();
        let id = job.id.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut last: Option<(i64, i32)> = None;
            loop {
                let view = match jobs::get(&me.db, &id).await {
                    Ok(Some(j)) => me.job_view(&j).await,
                    Ok(None) => Err(ApiError::not_found(format!("recalculation job {id}"))),
                    Err(e) => Err(e),
                };
                match view {
                    Ok(v) => {
                        let key = (v.done, v.state);
                        let finished = v.state != pb::JobState::Running as i32;
                        if last != Some(key) {
                            last = Some(key);
                            if tx.send(Ok(pb::WatchRecalculationResponse { job: Some(v) })).await.is_err() {
                                return;
                            }
                        }
                        if finished {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    pub(super) async fn list_cases(
        &self,
        who: &Caller,
        r: &pb::ListRecalculationCasesRequest,
    ) -> ApiResult<pb::ListRecalculationCasesResponse> {
        self.visible_job(who, &r.job_id).await?;
        let limit = request::page_size("page_size", r.page_size)? as i64;
        let rows = jobs::cases(&self.db, &r.job_id, &r.page_token, limit).await?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|c| c.household_id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListRecalculationCasesResponse {
            cases: rows
                .into_iter()
                .map(|c| pb::RecalculationCase {
                    household_id: c.household_id,
                    region_code: c.region_code,
                    old_monthly_fen: c.old_fen,
                    new_monthly_fen: c.new_fen,
                    difference_fen: c.new_fen - c.old_fen,
                    months_back_paid: c.months_back_paid as i32,
                    back_pay_fen: c.back_pay_fen,
                })
                .collect(),
            next_page_token: next,
        })
    }
}
