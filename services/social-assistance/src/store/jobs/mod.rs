//! Recalculation jobs, their chunks and their cases. A chunk is processed in one transaction
//! that records its cases, updates the households, writes the back pay and marks the chunk done,
//! so an interrupted worker leaves either all of a chunk or none of it; the cases' primary key
//! (job, household) makes recording a case twice impossible.
//!
//! Back pay is paid once per household, month and standard change, whatever the number of jobs,
//! replicas or retries: its payment kind names the change (`back_pay:<effective date>`), the
//! payments' primary key (household, month, kind) makes a second row impossible, and a top-up of
//! an existing row is a compare-and-set on the amount that was read. A chunk that loses such a
//! race writes nothing and is computed again from what is now paid. At most one job runs per
//! region and effective date (a partial unique index).

mod chunks;

pub use chunks::{anonymous, chunk_households, complete_chunk, paid_months, PaidMonth};

use civic_runtime::{
    audit,
    identity::Caller,
    storage::{Backend, Database},
    ApiError,
};
use sqlx::Row;

use crate::roll::RollRecord;

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub region_code: String,
    pub effective_from: String,
    pub state: String,
    pub total: i64,
    pub created_by: String,
    pub created_at: String,
    pub finished_at: String,
    pub error: String,
}

#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Households examined so far.
    pub done: i64,
    /// Cases recorded: households with a benefit before or after.
    pub cases: i64,
    pub difference: i64,
    pub back_pay: i64,
}

#[derive(Debug, Clone)]
pub struct Chunk {
    pub job_id: String,
    pub chunk_no: i64,
    pub first_id: String,
    pub last_id: String,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub household_id: String,
    pub region_code: String,
    pub old_fen: i64,
    pub new_fen: i64,
    pub months_back_paid: i64,
    pub back_pay_fen: i64,
    /// Back-pay payments to record.
    pub back_payments: Vec<BackPayment>,
    /// The household as stored after recalculation.
    pub updated: RollRecord,
}

/// The payment kind of back pay for the standard change effective on `effective_from`.
pub fn back_pay_kind(effective_from: &str) -> String {
    format!("back_pay:{effective_from}")
}

/// One month of back pay for a household: the amount still owed for `month`, and what this
/// change's back pay for the month already was (None when there is no row yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackPayment {
    pub month: String,
    pub amount: i64,
    pub previous: Option<i64>,
}

/// How writing a chunk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    Done,
    /// Another worker took the chunk over; nothing was written.
    ClaimLost,
    /// Another job paid back pay for the same months meanwhile; nothing was written, and the
    /// chunk must be computed again from what is now paid.
    Conflict,
}

/// What a new job is for.
pub struct NewJob<'a> {
    pub id: &'a str,
    pub region: &'a str,
    /// Code prefix of the region (see `audit::region_prefix`).
    pub prefix: &'a str,
    pub effective_from: &'a str,
    pub reason: &'a str,
    pub chunk_size: usize,
}

/// A job that runs for the same region and date, if any (`Started::Running`), or a new one.
pub enum Started {
    New(Job),
    Running(Job),
}

/// The running job whose region overlaps `prefix` (the same region, one containing it, or one
/// inside it), if any.
pub async fn running_overlapping(db: &Database, prefix: &str) -> Result<Option<Job>, ApiError> {
    for j in running(db).await? {
        let other = civic_domain::RegionCode::parse(&j.region_code)
            .map(audit::region_prefix)
            .map_err(|e| ApiError::Internal(format!("stored job region: {e}")))?;
        if other.starts_with(prefix) || prefix.starts_with(&other) {
            return Ok(Some(j));
        }
    }
    Ok(None)
}

pub async fn create(db: &Database, caller: &Caller, request_id: &str, new: NewJob<'_>) -> Result<Started, ApiError> {
    let NewJob { id, region, prefix, effective_from, reason, chunk_size } = new;
    // Only the chunks' first and last ids come back, numbered in id order, the last one marked
    // (its number is the total). The next row's id tells the last one without the database
    // holding every row to count them first.
    let size = chunk_size.max(1) as i64;
    let plan = sqlx::query(
        "SELECT id, rn, is_last FROM (SELECT id, ROW_NUMBER() OVER w AS rn, CASE WHEN LEAD(id) OVER w IS NULL THEN 1 ELSE 0 END AS is_last \
         FROM households WHERE region_code LIKE $1 AND status = 'active' AND category = 'dibao' WINDOW w AS (ORDER BY id)) t \
         WHERE (rn - 1) % $2 = 0 OR rn % $2 = 0 OR is_last = 1 ORDER BY rn",
    )
    .bind(format!("{prefix}%"))
    .bind(size);
    let rows = if db.backend == Backend::Postgres {
        // The ids in order straight from the primary key's index: PostgreSQL would otherwise
        // sort a city's ids by collation (twice as long for a million households, the workers
        // waiting), and that plan's inflated cost would have it compile the query first.
        let mut tx = db.begin().await?;
        sqlx::query("SET LOCAL enable_sort = off").execute(&mut *tx).await?;
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
        let rows = plan.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows
    } else {
        plan.fetch_all(&db.pool).await?
    };
    let mut total: i64 = 0;
    // (first id, last id, size) per chunk.
    let mut chunks: Vec<(String, String, i64)> = Vec::new();
    for r in &rows {
        let (id, rn): (String, i64) = (r.try_get("id")?, r.try_get("rn")?);
        total = total.max(rn);
        if (rn - 1) % size == 0 {
            chunks.push((id.clone(), id.clone(), 0));
        }
        if let Some(c) = chunks.last_mut() {
            c.1 = id;
            c.2 = rn - (rn - 1) / size * size;
        }
    }
    let now = super::now();
    let mut tx = db.begin().await?;
    // At most one running job per region and date: the partial unique index decides between
    // concurrent starts, on any replica.
    let inserted = sqlx::query(
        "INSERT INTO recalc_jobs (id, region_code, effective_from, state, total, reason, created_by, created_at) VALUES ($1, $2, $3, 'running', $4, $5, $6, $7) \
         ON CONFLICT (region_code, effective_from) WHERE state = 'running' DO NOTHING",
    )
    .bind(id)
    .bind(region)
    .bind(effective_from)
    .bind(total)
    .bind(reason)
    .bind(&caller.subject)
    .bind(&now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        tx.rollback().await?;
        let row = sqlx::query(
            "SELECT id, region_code, effective_from, state, total, created_by, created_at, finished_at, error FROM recalc_jobs \
             WHERE region_code = $1 AND effective_from = $2 AND state = 'running'",
        )
        .bind(region)
        .bind(effective_from)
        .fetch_optional(&db.pool)
        .await?;
        return match row {
            Some(r) => Ok(Started::Running(job_from(&r)?)),
            // It finished between our insert and this read: the change has been applied.
            None => Err(ApiError::AlreadyExists {
                what: format!("a recalculation of {region} from {effective_from} that has just finished;"),
            }),
        };
    }
    for (n, (first, last, size)) in chunks.iter().enumerate() {
        sqlx::query("INSERT INTO recalc_chunks (job_id, chunk_no, first_id, last_id, size, state) VALUES ($1, $2, $3, $4, $5, 'pending')")
            .bind(id)
            .bind(n as i64)
            .bind(first)
            .bind(last)
            .bind(size)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        caller,
        request_id,
        &audit::Change {
            action: "recalculation.start".into(),
            entity: "recalculation".into(),
            entity_id: id.to_string(),
            region: region.to_string(),
            before: None,
            after: Some(serde_json::json!({ "effective_from": effective_from, "households": total })),
            reason: reason.to_string(),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.map(Started::New).ok_or_else(|| ApiError::Internal("job vanished after creation".into()))
}

fn job_from(r: &sqlx::any::AnyRow) -> Result<Job, sqlx::Error> {
    Ok(Job {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        effective_from: r.try_get("effective_from")?,
        state: r.try_get("state")?,
        total: r.try_get("total")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
        error: r.try_get("error")?,
    })
}

pub async fn get(db: &Database, id: &str) -> Result<Option<Job>, ApiError> {
    let row = sqlx::query("SELECT id, region_code, effective_from, state, total, created_by, created_at, finished_at, error FROM recalc_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.as_ref().map(job_from).transpose()?)
}

pub async fn running(db: &Database) -> Result<Vec<Job>, ApiError> {
    let rows = sqlx::query("SELECT id, region_code, effective_from, state, total, created_by, created_at, finished_at, error FROM recalc_jobs WHERE state = 'running'")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.iter().map(job_from).collect::<Result<_, _>>()?)
}

pub async fn progress(db: &Database, id: &str) -> Result<Progress, ApiError> {
    let r = sqlx::query(
        "SELECT CAST(COALESCE(SUM(examined), 0) AS BIGINT) AS e, CAST(COALESCE(SUM(cases), 0) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(diff_fen), 0) AS BIGINT) AS d, CAST(COALESCE(SUM(back_pay_fen), 0) AS BIGINT) AS b \
         FROM recalc_chunks WHERE job_id = $1 AND state = 'done'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?;
    Ok(Progress {
        done: r.try_get("e")?,
        cases: r.try_get("n")?,
        difference: r.try_get("d")?,
        back_pay: r.try_get("b")?,
    })
}

/// Claim the next chunk that is pending or whose claim is older than `stale_before` (a worker
/// that died). The conditional UPDATE makes a claim exclusive on both databases.
pub async fn claim(
    db: &Database,
    job_id: &str,
    worker: &str,
    now_secs: i64,
    stale_before: i64,
) -> Result<Option<Chunk>, ApiError> {
    loop {
        let candidate = sqlx::query(
            "SELECT chunk_no, first_id, last_id FROM recalc_chunks WHERE job_id = $1 AND (state = 'pending' OR (state = 'claimed' AND claimed_at < $2)) ORDER BY chunk_no LIMIT 1",
        )
        .bind(job_id)
        .bind(stale_before)
        .fetch_optional(&db.pool)
        .await?;
        let Some(c) = candidate else { return Ok(None) };
        let chunk_no: i64 = c.try_get("chunk_no")?;
        let taken = sqlx::query(
            "UPDATE recalc_chunks SET state = 'claimed', claimed_by = $3, claimed_at = $4 \
             WHERE job_id = $1 AND chunk_no = $2 AND (state = 'pending' OR (state = 'claimed' AND claimed_at < $5))",
        )
        .bind(job_id)
        .bind(chunk_no)
        .bind(worker)
        .bind(now_secs)
        .bind(stale_before)
        .execute(&db.pool)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(Some(Chunk {
                job_id: job_id.to_string(),
                chunk_no,
                first_id: c.try_get("first_id")?,
                last_id: c.try_get("last_id")?,
            }));
        }
        // Another worker took it between our read and our update: try the next one.
    }
}

/// Mark the job completed once no chunk is left; idempotent.
pub async fn finish_if_done(db: &Database, job_id: &str) -> Result<bool, ApiError> {
    let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM recalc_chunks WHERE job_id = $1 AND state <> 'done'")
        .bind(job_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    if left > 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE recalc_jobs SET state = 'completed', finished_at = $2 WHERE id = $1 AND state = 'running'")
        .bind(job_id)
        .bind(super::now())
        .execute(&db.pool)
        .await?;
    Ok(true)
}

pub async fn fail(db: &Database, job_id: &str, error: &str) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE recalc_jobs SET state = 'failed', finished_at = $2, error = $3 WHERE id = $1 AND state = 'running'",
    )
    .bind(job_id)
    .bind(super::now())
    .bind(error)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A recorded case, as listed.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub household_id: String,
    pub region_code: String,
    pub old_fen: i64,
    pub new_fen: i64,
    pub months_back_paid: i64,
    pub back_pay_fen: i64,
}

pub async fn cases(db: &Database, job_id: &str, after: &str, limit: i64) -> Result<Vec<CaseRow>, ApiError> {
    let rows = sqlx::query(
        "SELECT household_id, region_code, old_fen, new_fen, months_back_paid, back_pay_fen FROM recalc_cases WHERE job_id = $1 AND household_id > $2 ORDER BY household_id LIMIT $3",
    )
    .bind(job_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseRow {
                household_id: r.try_get("household_id")?,
                region_code: r.try_get("region_code")?,
                old_fen: r.try_get("old_fen")?,
                new_fen: r.try_get("new_fen")?,
                months_back_paid: r.try_get("months_back_paid")?,
                back_pay_fen: r.try_get("back_pay_fen")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}
