//! Standards published through the API: the runtime's shared store.

pub use civic_runtime::published::{load_into, save};

/// Households of a region (code prefix) paid for months from `from_month` ("YYYY-MM") on, and
/// those months.
pub async fn paid_since(
    db: &civic_runtime::storage::Database,
    prefix: &str,
    from_month: &str,
) -> Result<(i64, Vec<String>), civic_runtime::ApiError> {
    use sqlx::Row;
    let n: i64 = sqlx::query(
        "SELECT CAST(COUNT(DISTINCT p.household_id) AS BIGINT) AS n FROM payments p JOIN households h ON h.id = p.household_id \
         WHERE h.region_code LIKE $1 AND p.month >= $2 AND p.kind = 'regular'",
    )
    .bind(format!("{prefix}%"))
    .bind(from_month)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    let months = sqlx::query(
        "SELECT DISTINCT p.month AS month FROM payments p JOIN households h ON h.id = p.household_id \
         WHERE h.region_code LIKE $1 AND p.month >= $2 AND p.kind = 'regular' ORDER BY p.month LIMIT 120",
    )
    .bind(format!("{prefix}%"))
    .bind(from_month)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("month"))
    .collect::<Result<Vec<String>, _>>()?;
    Ok((n, months))
}
