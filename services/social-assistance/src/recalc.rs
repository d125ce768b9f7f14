//! Recalculation workers (提标重新核算, 本政办发〔2019〕25号 二): existing recipients are
//! recomputed under the standards in force from the effective date; for each case the old and
//! new amounts, the difference, and back pay for months already paid at the old amount.
//!
//! Work is split into chunks stored with the job. Any replica's worker claims a chunk, computes
//! it and commits its cases, household updates, back-pay payments and the chunk's completion in
//! one transaction. Killing a process loses at most the chunks in flight, which another worker
//! (or the restarted process) takes over once their claim is stale.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use civic_domain::policy::parse_date;
use civic_runtime::{audit::region_prefix, policy_book::BookHandle, storage::Database, ApiError};

use crate::store::jobs::{self, BackPayment, Case, Chunk, ChunkOutcome};

/// The first and the longest pause between retries while the database fails.
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What a worker does after a step.
enum Step {
    Finished,
    Continue,
    Wait(Duration),
}

/// Errors that pass when the database comes back: the worker retries instead of failing the job.
fn transient(e: &ApiError) -> bool {
    matches!(e, ApiError::Storage(_) | ApiError::Unavailable(_))
}

#[derive(Clone, Debug)]
pub struct RecalcSettings {
    /// A claim older than this is taken over (its worker is presumed dead).
    pub stale_after: Duration,
    /// Pause after claiming each chunk, to spare a busy database (0 = none).
    pub pause: Duration,
    /// Households per chunk: big enough to amortise a transaction, small enough to lose little work.
    pub chunk_size: usize,
    /// Concurrent workers per job in this process: computing one chunk while the database
    /// writes another.
    pub workers: usize,
}

impl RecalcSettings {
    /// `CIVIC_RECALC_STALE_SECS` (default 60), `CIVIC_RECALC_PAUSE_MS` (default 0),
    /// `CIVIC_RECALC_CHUNK_SIZE` (default 5000) and `CIVIC_RECALC_WORKERS` (default 3: while
    /// one worker computes, the others wait on the database).
    pub fn from_env() -> Self {
        let num = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
        RecalcSettings {
            stale_after: Duration::from_secs(num("CIVIC_RECALC_STALE_SECS", 60)),
            pause: Duration::from_millis(num("CIVIC_RECALC_PAUSE_MS", 0)),
            chunk_size: num("CIVIC_RECALC_CHUNK_SIZE", 5000).max(1) as usize,
            workers: num("CIVIC_RECALC_WORKERS", 3).clamp(1, 32) as usize,
        }
    }
}

#[derive(Clone)]
pub struct Recalculator {
    pub db: Database,
    pub book: BookHandle,
    pub worker: String,
    pub settings: RecalcSettings,
}

fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Recalculator {
    pub fn new(db: Database, book: BookHandle, settings: RecalcSettings) -> Self {
        Recalculator { db, book, worker: uuid::Uuid::new_v4().to_string(), settings }
    }

    /// Work on `job_id` in the background until it is complete.
    pub fn spawn(&self, job_id: String) {
        for _ in 0..self.settings.workers.max(1) {
            let me = self.clone();
            let job_id = job_id.clone();
            tokio::spawn(async move {
                if let Err(e) = me.run(&job_id).await {
                    tracing::error!(job = %job_id, error = %e, "recalculation failed");
                    let _ = jobs::fail(&me.db, &job_id, &e.to_string()).await;
                }
            });
        }
    }

    /// Pick up every running job (after a restart, or on a replica that did not start them).
    pub async fn resume_all(&self) -> Result<usize, ApiError> {
        let running = jobs::running(&self.db).await?;
        for j in &running {
            tracing::info!(job = %j.id, "resuming recalculation");
            self.spawn(j.id.clone());
        }
        Ok(running.len())
    }

    /// Work until the job is complete. A failing database does not end the work: each step is
    /// retried with a growing pause (up to `MAX_BACKOFF`) until the database answers again; only a
    /// rule that blocks the computation, or a fault in the stored data, fails the job.
    async fn run(&self, job_id: &str) -> Result<(), ApiError> {
        let mut held: Option<Chunk> = None;
        let mut pause = Duration::ZERO;
        loop {
            match self.step(job_id, &mut held).await {
                Ok(Step::Finished) => return Ok(()),
                Ok(Step::Continue) => pause = Duration::ZERO,
                Ok(Step::Wait(d)) => {
                    pause = Duration::ZERO;
                    tokio::time::sleep(d).await;
                }
                Err(e) if transient(&e) => {
                    pause = (pause * 2).clamp(MIN_BACKOFF, MAX_BACKOFF);
                    tracing::warn!(job = %job_id, error = %e, retry_in_ms = pause.as_millis() as u64, "recalculation waits for the database");
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One step: take a chunk (or keep the one held), compute it and write it.
    async fn step(&self, job_id: &str, held: &mut Option<Chunk>) -> Result<Step, ApiError> {
        let Some(job) = jobs::get(&self.db, job_id).await? else { return Ok(Step::Finished) };
        // Another worker may have failed the job: stop with it.
        if job.state != "running" {
            return Ok(Step::Finished);
        }
        let effective = parse_date(&job.effective_from).map_err(|e| ApiError::Internal(e.to_string()))?;
        let region =
            civic_domain::RegionCode::parse(&job.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        let prefix = region_prefix(region);
        let kind = jobs::back_pay_kind(&job.effective_from);
        let chunk = match held.take() {
            Some(c) => c,
            None => {
                let stale_before = now_secs() - self.settings.stale_after.as_secs() as i64;
                match jobs::claim(&self.db, job_id, &self.worker, now_secs(), stale_before).await? {
                    Some(c) => {
                        if !self.settings.pause.is_zero() {
                            tokio::time::sleep(self.settings.pause).await;
                        }
                        c
                    }
                    None => {
                        if jobs::finish_if_done(&self.db, job_id).await? {
                            tracing::info!(job = %job_id, "recalculation completed");
                            return Ok(Step::Finished);
                        }
                        // Chunks are claimed by other workers: wait, and take over any that go stale.
                        return Ok(Step::Wait(Duration::from_millis(500)));
                    }
                }
            }
        };
        // Until it is written, the chunk stays ours: a failed step tries it again.
        *held = Some(chunk.clone());
        let started = std::time::Instant::now();
        let (examined, cases) = self.compute_chunk(&chunk, &prefix, effective, &kind).await?;
        let computed = started.elapsed();
        let n = cases.len();
        let outcome = jobs::complete_chunk(&self.db, &chunk, &self.worker, examined, &cases, &kind).await?;
        match outcome {
            ChunkOutcome::Done => {
                *held = None;
                tracing::debug!(
                    job = %job_id,
                    chunk = chunk.chunk_no,
                    cases = n,
                    read_and_compute_ms = computed.as_millis() as u64,
                    write_ms = (started.elapsed() - computed).as_millis() as u64,
                    "chunk done"
                );
                Ok(Step::Continue)
            }
            ChunkOutcome::ClaimLost => {
                *held = None;
                tracing::warn!(job = %job_id, chunk = chunk.chunk_no, "claim lost to another worker; its work is discarded");
                Ok(Step::Continue)
            }
            ChunkOutcome::Conflict => {
                tracing::info!(job = %job_id, chunk = chunk.chunk_no, "back pay for these months was paid meanwhile; computing the chunk again");
                Ok(Step::Wait(Duration::from_millis(50)))
            }
        }
    }

    /// The chunk's households examined, and a case for each with a benefit before or after (a
    /// household that gets nothing under either standard is examined but is no case).
    async fn compute_chunk(
        &self,
        chunk: &Chunk,
        prefix: &str,
        effective: NaiveDate,
        kind: &str,
    ) -> Result<(i64, Vec<Case>), ApiError> {
        let book = self.book.current();
        let t = std::time::Instant::now();
        let households = jobs::chunk_households(&self.db, chunk, prefix).await?;
        let read = t.elapsed();
        let from_month = month_of(effective);
        let paid = jobs::paid_months(&self.db, chunk, &from_month, kind).await?;
        tracing::trace!(
            households_ms = read.as_millis() as u64,
            payments_ms = (t.elapsed() - read).as_millis() as u64,
            "chunk read"
        );
        let mut paid_by: std::collections::HashMap<&str, Vec<&jobs::PaidMonth>> = std::collections::HashMap::new();
        for p in &paid {
            paid_by.entry(p.household_id.as_str()).or_default().push(p);
        }
        let amounts = crate::population::benefits(&book, effective, &households);
        let examined = households.len() as i64;
        let mut cases = Vec::with_capacity(households.len());
        for (mut rec, amount) in households.into_iter().zip(amounts) {
            let new_amount = amount.map_err(|e| ApiError::precondition("RECALCULATION_BLOCKED", e))?;
            let old = rec.monthly_benefit.get();
            let new = new_amount.get();
            if old == 0 && new == 0 && !paid_by.contains_key(rec.household.id.as_str()) {
                continue;
            }
            let mut back_payments = Vec::new();
            for p in paid_by.get(rec.household.id.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
                if new != p.total {
                    back_payments.push(BackPayment {
                        month: p.month.clone(),
                        amount: new - p.total,
                        previous: p.this_change,
                    });
                }
            }
            let months_back_paid = back_payments.len() as i64;
            let back_pay_fen = back_payments.iter().map(|p| p.amount).sum();
            rec.monthly_benefit = new_amount;
            rec.computed_on = effective;
            cases.push(Case {
                household_id: rec.household.id.clone(),
                region_code: rec.household.region.to_string(),
                old_fen: old,
                new_fen: new,
                months_back_paid,
                back_pay_fen,
                back_payments,
                updated: rec,
            });
        }
        Ok((examined, cases))
    }
}
