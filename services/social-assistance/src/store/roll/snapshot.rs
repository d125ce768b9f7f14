//! Population snapshots (migration `roll_snapshots`): a region's roll in the compact form
//! what-if runs read, kept as bytes in parts, one snapshot per region prefix.

use civic_runtime::{storage::Database, ApiError};
use sqlx::Row;
use tokio_stream::StreamExt;

/// Each part at most this many bytes (one row).
const PART_BYTES: usize = 8 << 20;

/// The snapshot of `prefix`, its parts joined, if it was taken at the roll's change count
/// `changes` with `signature`; `None` otherwise (none kept, an older one, or another layout).
pub async fn read(db: &Database, prefix: &str, changes: i64, signature: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let mut rows = sqlx::query(
        "SELECT CAST(part AS BIGINT), changes, signature, taken, data FROM roll_snapshots WHERE prefix = $1 ORDER BY part",
    )
    .bind(prefix)
    .fetch(&db.pool);
    let (mut bytes, mut taken, mut next) = (Vec::new(), None::<String>, 0i64);
    while let Some(row) = rows.next().await {
        let row = row?;
        let (part, at, sig, id): (i64, i64, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        if part != next || at != changes || sig != signature || taken.as_ref().is_some_and(|t| *t != id) {
            return Ok(None);
        }
        bytes.extend_from_slice(&row.try_get::<Vec<u8>, _>(4)?);
        (taken, next) = (Some(id), next + 1);
    }
    Ok(taken.map(|_| bytes))
}

/// Keep `bytes` as the snapshot of `prefix` taken at `changes`, replacing the one kept. Another
/// replica writing the same prefix at once makes one of the two fail on the key; either way
/// the parts kept are one snapshot's.
pub async fn write(db: &Database, prefix: &str, changes: i64, signature: &str, bytes: &[u8]) -> Result<(), ApiError> {
    let taken = uuid::Uuid::new_v4().to_string();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM roll_snapshots WHERE prefix = $1").bind(prefix).execute(&mut *tx).await?;
    for (i, part) in bytes.chunks(PART_BYTES).enumerate() {
        sqlx::query(
            "INSERT INTO roll_snapshots (prefix, part, changes, signature, taken, data) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(prefix)
        .bind(i as i32)
        .bind(changes)
        .bind(signature)
        .bind(&taken)
        .bind(part)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
