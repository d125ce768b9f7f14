//! Payments recorded for a month (once per household, month and kind, by the primary key)
//! and summarised by month, category and residence.

use civic_domain::RegionCode;
use civic_runtime::{audit, identity::Caller, storage::Database, ApiError};
use sqlx::Row;

/// What recording a month's payments did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentsRecorded {
    pub paid: i64,
    pub already_paid: i64,
    pub total_fen: i64,
    pub not_in_force: i64,
}

/// Pay `month` ("YYYY-MM") to every active 低保 household of the region with a positive benefit
/// whose amount is in force in the month (computed for a date in or before it), once.
pub async fn record_payments(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    prefix: &str,
    region: RegionCode,
    month: &str,
) -> Result<PaymentsRecorded, ApiError> {
    // A stored amount applies from the date it was computed for; 'YYYY-MM-31' is after every day
    // of the month in text order.
    let month_end = format!("{month}-31");
    let mut tx = db.begin().await?;
    let counts = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN computed_on <= $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS eligible, \
         CAST(COALESCE(SUM(CASE WHEN computed_on > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS later FROM households \
         WHERE region_code LIKE $1 AND status = 'active' AND category = 'dibao' AND monthly_benefit_fen > 0",
    )
    .bind(format!("{prefix}%"))
    .bind(&month_end)
    .fetch_one(&mut *tx)
    .await?;
    let (eligible, not_in_force): (i64, i64) = (counts.try_get("eligible")?, counts.try_get("later")?);
    let inserted = sqlx::query(
        "INSERT INTO payments (household_id, month, kind, amount_fen, paid_at) \
         SELECT id, $2, 'regular', monthly_benefit_fen, $3 FROM households \
         WHERE region_code LIKE $1 AND status = 'active' AND category = 'dibao' AND monthly_benefit_fen > 0 AND computed_on <= $4 \
         ON CONFLICT (household_id, month, kind) DO NOTHING",
    )
    .bind(format!("{prefix}%"))
    .bind(month)
    .bind(crate::store::now())
    .bind(&month_end)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    let total: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(p.amount_fen), 0) AS BIGINT) AS total FROM payments p JOIN households h ON h.id = p.household_id \
         WHERE h.region_code LIKE $1 AND p.month = $2 AND p.kind = 'regular'",
    )
    .bind(format!("{prefix}%"))
    .bind(month)
    .fetch_one(&mut *tx)
    .await?
    .try_get("total")?;
    let recorded =
        PaymentsRecorded { paid: inserted, already_paid: eligible - inserted, total_fen: total, not_in_force };
    if inserted == 0 {
        // Nothing written: no audit entry for a call that changed nothing.
        tx.rollback().await?;
        return Ok(recorded);
    }
    audit::record(
        &mut tx,
        caller,
        request_id,
        &audit::Change {
            action: "payments.record".into(),
            entity: "payments".into(),
            entity_id: format!("{region}/{month}"),
            region: region.to_string(),
            before: None,
            after: Some(serde_json::json!({ "month": month, "paid": inserted, "total_fen": total, "not_in_force": not_in_force })),
            reason: String::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(recorded)
}

/// One line of a payments summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthSummary {
    pub month: String,
    pub category: String,
    pub residence: String,
    pub households: i64,
    pub persons: i64,
    pub paid_fen: i64,
    pub back_pay_fen: i64,
}

/// What was paid per month, category and residence in regions starting with `prefix`, months
/// `from` to `to` ("YYYY-MM", included): each household counted once a month.
pub async fn summarize(db: &Database, prefix: &str, from: &str, to: &str) -> Result<Vec<MonthSummary>, sqlx::Error> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT month, category, residence, CAST(COUNT(*) AS BIGINT) AS households, CAST(SUM(member_count) AS BIGINT) AS persons, \
         CAST(SUM(paid) AS BIGINT) AS paid_fen, CAST(SUM(back) AS BIGINT) AS back_pay_fen FROM ( \
           SELECT p.month AS month, h.category AS category, h.residence AS residence, h.member_count AS member_count, \
                  SUM(p.amount_fen) AS paid, SUM(CASE WHEN p.kind LIKE 'back_pay%' THEN p.amount_fen ELSE 0 END) AS back \
           FROM payments p JOIN households h ON h.id = p.household_id \
           WHERE h.region_code LIKE $1 AND p.month >= $2 AND p.month <= $3 \
           GROUP BY p.household_id, p.month, h.category, h.residence, h.member_count) t \
         GROUP BY month, category, residence ORDER BY month, category, residence",
    )
    .bind(format!("{prefix}%"))
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MonthSummary {
                month: r.try_get("month")?,
                category: r.try_get("category")?,
                residence: r.try_get("residence")?,
                households: r.try_get("households")?,
                persons: r.try_get("persons")?,
                paid_fen: r.try_get("paid_fen")?,
                back_pay_fen: r.try_get("back_pay_fen")?,
            })
        })
        .collect()
}
