//! A chunk of a recalculation: its households read, the months already paid, and the chunk
//! completed — cases, new amounts, back pay and the chunk marked done in one transaction, on
//! PostgreSQL with its own statements.

use civic_runtime::{storage::Database, ApiError};
use sqlx::Row;

use crate::roll::RollRecord;

use super::*;

/// The households of a chunk.
pub async fn chunk_households(db: &Database, chunk: &Chunk, prefix: &str) -> Result<Vec<RollRecord>, ApiError> {
    const SQL: &str =
        "SELECT id, region_code, residence, category, status, member_count, members_json, monthly_benefit_fen, computed_on, version FROM households \
         WHERE id >= $1 AND id <= $2 AND region_code LIKE $3 AND status = 'active' AND category = 'dibao' ORDER BY id";
    let like = format!("{prefix}%");
    if let Some(pg) = &db.bulk {
        // PostgreSQL's own rows, read in place (not converted to the portable row first).
        let rows = sqlx::query(SQL).bind(&chunk.first_id).bind(&chunk.last_id).bind(&like).fetch_all(pg).await?;
        return rows.iter().map(crate::store::roll::from_pg_row).collect();
    }
    // On SQLite: the chunk as one JSON array (as the what-if's roll and an export's pages).
    let page: String = sqlx::query_scalar(&format!(
        "SELECT {} FROM (SELECT * FROM households \
         WHERE id >= $1 AND id <= $2 AND region_code LIKE $3 AND status = 'active' AND category = 'dibao' ORDER BY id)",
        crate::store::roll::PACKED
    ))
    .bind(&chunk.first_id)
    .bind(&chunk.last_id)
    .bind(&like)
    .fetch_one(&db.pool)
    .await?;
    crate::store::roll::unpack(&page, &format!("from {}", chunk.first_id))
}

/// What has been paid for a household and month from the effective month on.
#[derive(Debug, Clone)]
pub struct PaidMonth {
    pub household_id: String,
    pub month: String,
    /// Regular payment plus every back pay so far.
    pub total: i64,
    /// The back pay of this change (`kind`) for the month, if a row exists.
    pub this_change: Option<i64>,
}

/// What has been paid per household and month from `from_month` on (regular payments plus
/// any earlier back pay), for the months with a regular payment.
pub async fn paid_months(
    db: &Database,
    chunk: &Chunk,
    from_month: &str,
    kind: &str,
) -> Result<Vec<PaidMonth>, ApiError> {
    const SQL: &str = "SELECT household_id, month, CAST(SUM(amount_fen) AS BIGINT) AS total, \
         CAST(SUM(CASE WHEN kind = $4 THEN amount_fen ELSE 0 END) AS BIGINT) AS mine, \
         CAST(SUM(CASE WHEN kind = $4 THEN 1 ELSE 0 END) AS BIGINT) AS has_mine FROM payments \
         WHERE household_id >= $1 AND household_id <= $2 AND month >= $3 \
         AND EXISTS (SELECT 1 FROM payments r WHERE r.household_id = payments.household_id AND r.month = payments.month AND r.kind = 'regular') \
         GROUP BY household_id, month ORDER BY household_id, month";
    let Some(pg) = &db.bulk else {
        // SQLite: one JSON array for the chunk, not a wake-up per row (see `chunk_households`).
        let page: String = sqlx::query_scalar(&format!(
            "SELECT json_group_array(json_array(household_id, month, total, mine, has_mine)) FROM ({SQL})"
        ))
        .bind(&chunk.first_id)
        .bind(&chunk.last_id)
        .bind(from_month)
        .bind(kind)
        .fetch_one(&db.pool)
        .await?;
        let rows: Vec<(String, String, i64, i64, i64)> = serde_json::from_str(&page)
            .map_err(|e| ApiError::Internal(format!("payments from {} are unreadable: {e}", chunk.first_id)))?;
        let mut paid: Vec<PaidMonth> = rows
            .into_iter()
            .map(|(household_id, month, total, mine, has)| PaidMonth {
                household_id,
                month,
                total,
                this_change: (has > 0).then_some(mine),
            })
            .collect();
        paid.sort_by(|a, b| (&a.household_id, &a.month).cmp(&(&b.household_id, &b.month)));
        return Ok(paid);
    };
    // PostgreSQL's own rows.
    let rows =
        sqlx::query(SQL).bind(&chunk.first_id).bind(&chunk.last_id).bind(from_month).bind(kind).fetch_all(pg).await?;
    rows.iter()
        .map(|r| {
            let has: i64 = r.try_get("has_mine")?;
            Ok(PaidMonth {
                household_id: r.try_get("household_id")?,
                month: r.try_get("month")?,
                total: r.try_get("total")?,
                this_change: if has > 0 { Some(r.try_get("mine")?) } else { None },
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}

/// Rows per multi-row statement on the portable path (SQLite).
const BATCH: usize = 128;

/// "(?, …, ?), (…)" for `rows` rows of `cols` values: SQLite's anonymous parameters (see
/// [`civic_runtime::storage::Backend::rows`]). Only on SQLite: PostgreSQL has its own statements.
pub fn anonymous(rows: usize, cols: usize) -> String {
    civic_runtime::storage::Backend::Sqlite.rows(rows, cols, 1)
}

/// Mark a chunk done with its totals, if the worker still holds it.
const DONE_SQL: &str =
    "UPDATE recalc_chunks SET state = 'done', cases = $4, diff_fen = $5, back_pay_fen = $6, examined = $7 \
     WHERE job_id = $1 AND chunk_no = $2 AND state = 'claimed' AND claimed_by = $3";

/// A chunk's number of cases, summed difference and back pay.
fn totals(cases: &[Case]) -> Result<(i64, i64, i64), ApiError> {
    let overflow = || ApiError::Internal("chunk totals overflow".into());
    let mut diff: i64 = 0;
    let mut back: i64 = 0;
    for c in cases {
        diff = diff.checked_add(c.new_fen - c.old_fen).ok_or_else(overflow)?;
        back = back.checked_add(c.back_pay_fen).ok_or_else(overflow)?;
    }
    Ok((cases.len() as i64, diff, back))
}

/// Record a chunk's cases, new amounts and back pay, and mark it done — all or nothing, and only
/// if `worker` still holds it and no other job paid back pay for the same months meanwhile.
/// `examined` counts the chunk's households, cases or not; `kind` is the change's back-pay kind.
pub async fn complete_chunk(
    db: &Database,
    chunk: &Chunk,
    worker: &str,
    examined: i64,
    cases: &[Case],
    kind: &str,
) -> Result<ChunkOutcome, ApiError> {
    if let Some(pg) = &db.bulk {
        return complete_chunk_pg(pg, chunk, worker, examined, cases, kind).await;
    }
    let mut tx = db.begin().await?;
    let (n, diff, back) = totals(cases)?;
    let owned = sqlx::query(DONE_SQL)
        .bind(&chunk.job_id)
        .bind(chunk.chunk_no)
        .bind(worker)
        .bind(n)
        .bind(diff)
        .bind(back)
        .bind(examined)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if owned != 1 {
        tx.rollback().await?;
        return Ok(ChunkOutcome::ClaimLost);
    }
    let now = crate::store::now();
    // Statements carry many rows each: a chunk is a handful of round trips, not thousands.
    for batch in cases.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO recalc_cases (job_id, household_id, region_code, old_fen, new_fen, diff_fen, months_back_paid, back_pay_fen) VALUES {}",
            anonymous(batch.len(), 8)
        );
        let mut q = sqlx::query(&sql);
        for c in batch {
            q = q
                .bind(chunk.job_id.clone())
                .bind(c.household_id.clone())
                .bind(c.region_code.clone())
                .bind(c.old_fen)
                .bind(c.new_fen)
                .bind(c.new_fen - c.old_fen)
                .bind(c.months_back_paid)
                .bind(c.back_pay_fen);
        }
        q.execute(&mut *tx).await?;

        // Only households whose amount changes are rewritten; the others keep their row.
        let changed: Vec<&Case> = batch.iter().filter(|c| c.new_fen != c.old_fen).collect();
        if changed.is_empty() {
            continue;
        }
        let sql = format!(
            "WITH v (id, fen) AS (VALUES {}) UPDATE households SET monthly_benefit_fen = v.fen, computed_on = ?, \
             version = households.version + 1, updated_at = ? FROM v WHERE households.id = v.id",
            anonymous(changed.len(), 2)
        );
        let computed_on = changed.first().map(|c| c.updated.computed_on.to_string()).unwrap_or_default();
        let mut q = sqlx::query(&sql);
        for c in changed {
            q = q.bind(c.household_id.clone()).bind(c.updated.monthly_benefit.get());
        }
        q.bind(computed_on).bind(now.clone()).execute(&mut *tx).await?;
    }
    let (new_rows, top_ups) = split_back_pay(cases);
    for batch in new_rows.chunks(BATCH) {
        let sql = format!(
            "INSERT INTO payments (household_id, month, kind, amount_fen, paid_at) VALUES {} \
             ON CONFLICT (household_id, month, kind) DO NOTHING",
            anonymous(batch.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (h, p) in batch {
            q = q.bind(h.to_string()).bind(p.month.clone()).bind(kind.to_string()).bind(p.amount).bind(now.clone());
        }
        if q.execute(&mut *tx).await?.rows_affected() != batch.len() as u64 {
            tx.rollback().await?;
            return Ok(ChunkOutcome::Conflict);
        }
    }
    for (h, p, previous) in top_ups {
        let changed = sqlx::query(
            "UPDATE payments SET amount_fen = $4, paid_at = $6 WHERE household_id = $1 AND month = $2 AND kind = $3 AND amount_fen = $5",
        )
        .bind(h)
        .bind(&p.month)
        .bind(kind)
        .bind(previous + p.amount)
        .bind(previous)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            tx.rollback().await?;
            return Ok(ChunkOutcome::Conflict);
        }
    }
    tx.commit().await?;
    Ok(ChunkOutcome::Done)
}

/// A chunk's back pay: rows to insert (no back pay of this change yet for the month) and rows to
/// top up (household, payment, amount read), whose new amount is the one read plus the payment's.
#[allow(clippy::type_complexity)]
fn split_back_pay(cases: &[Case]) -> (Vec<(&str, &BackPayment)>, Vec<(&str, &BackPayment, i64)>) {
    let mut new_rows = Vec::new();
    let mut top_ups = Vec::new();
    for c in cases {
        for p in &c.back_payments {
            match p.previous {
                None => new_rows.push((c.household_id.as_str(), p)),
                Some(prev) => top_ups.push((c.household_id.as_str(), p, prev)),
            }
        }
    }
    (new_rows, top_ups)
}

/// The same as the portable path, on PostgreSQL's native driver: each of the three writes is
/// one statement over arrays (UNNEST), whatever the chunk size.
async fn complete_chunk_pg(
    pg: &sqlx::PgPool,
    chunk: &Chunk,
    worker: &str,
    examined: i64,
    cases: &[Case],
    kind: &str,
) -> Result<ChunkOutcome, ApiError> {
    let mut tx = pg.begin().await?;
    let (n, diff, back) = totals(cases)?;
    let owned = sqlx::query(DONE_SQL)
        .bind(&chunk.job_id)
        .bind(chunk.chunk_no)
        .bind(worker)
        .bind(n)
        .bind(diff)
        .bind(back)
        .bind(examined)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if owned != 1 {
        tx.rollback().await?;
        return Ok(ChunkOutcome::ClaimLost);
    }
    let now = crate::store::now();
    let ids: Vec<&str> = cases.iter().map(|c| c.household_id.as_str()).collect();
    let regions: Vec<&str> = cases.iter().map(|c| c.region_code.as_str()).collect();
    let old: Vec<i64> = cases.iter().map(|c| c.old_fen).collect();
    let new: Vec<i64> = cases.iter().map(|c| c.new_fen).collect();
    let diff: Vec<i64> = cases.iter().map(|c| c.new_fen - c.old_fen).collect();
    let months: Vec<i64> = cases.iter().map(|c| c.months_back_paid).collect();
    let back: Vec<i64> = cases.iter().map(|c| c.back_pay_fen).collect();
    sqlx::query(
        "INSERT INTO recalc_cases (job_id, household_id, region_code, old_fen, new_fen, diff_fen, months_back_paid, back_pay_fen) \
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[])",
    )
    .bind(&chunk.job_id)
    .bind(&ids)
    .bind(&regions)
    .bind(&old)
    .bind(&new)
    .bind(&diff)
    .bind(&months)
    .bind(&back)
    .execute(&mut *tx)
    .await?;
    // Only households whose amount changes are rewritten; the others keep their row.
    let (changed_ids, changed_new): (Vec<&str>, Vec<i64>) =
        cases.iter().filter(|c| c.new_fen != c.old_fen).map(|c| (c.household_id.as_str(), c.new_fen)).unzip();
    if !changed_ids.is_empty() {
        let computed_on = cases.first().map(|c| c.updated.computed_on.to_string()).unwrap_or_default();
        sqlx::query(
            "UPDATE households h SET monthly_benefit_fen = v.fen, computed_on = $3, version = h.version + 1, updated_at = $4 \
             FROM UNNEST($1::text[], $2::int8[]) AS v (id, fen) WHERE h.id = v.id",
        )
        .bind(&changed_ids)
        .bind(&changed_new)
        .bind(&computed_on)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    let (new_rows, top_ups) = split_back_pay(cases);
    if !new_rows.is_empty() {
        let ids: Vec<&str> = new_rows.iter().map(|(h, _)| *h).collect();
        let months: Vec<&str> = new_rows.iter().map(|(_, p)| p.month.as_str()).collect();
        let amounts: Vec<i64> = new_rows.iter().map(|(_, p)| p.amount).collect();
        let inserted = sqlx::query(
            "INSERT INTO payments (household_id, month, kind, amount_fen, paid_at) \
             SELECT v.id, v.month, $4, v.amount, $5 FROM UNNEST($1::text[], $2::text[], $3::int8[]) AS v (id, month, amount) \
             ON CONFLICT (household_id, month, kind) DO NOTHING",
        )
        .bind(&ids)
        .bind(&months)
        .bind(&amounts)
        .bind(kind)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != new_rows.len() as u64 {
            tx.rollback().await?;
            return Ok(ChunkOutcome::Conflict);
        }
    }
    if !top_ups.is_empty() {
        let ids: Vec<&str> = top_ups.iter().map(|(h, _, _)| *h).collect();
        let months: Vec<&str> = top_ups.iter().map(|(_, p, _)| p.month.as_str()).collect();
        let previous: Vec<i64> = top_ups.iter().map(|(_, _, prev)| *prev).collect();
        let amounts: Vec<i64> = top_ups.iter().map(|(_, p, prev)| prev + p.amount).collect();
        let changed = sqlx::query(
            "UPDATE payments p SET amount_fen = v.amount, paid_at = $6 \
             FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[]) AS v (id, month, previous, amount) \
             WHERE p.household_id = v.id AND p.month = v.month AND p.kind = $5 AND p.amount_fen = v.previous",
        )
        .bind(&ids)
        .bind(&months)
        .bind(&previous)
        .bind(&amounts)
        .bind(kind)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != top_ups.len() as u64 {
            tx.rollback().await?;
            return Ok(ChunkOutcome::Conflict);
        }
    }
    tx.commit().await?;
    Ok(ChunkOutcome::Done)
}
