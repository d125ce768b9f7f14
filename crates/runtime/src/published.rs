//! Parameters published through an API, kept in each service's `published_standards` table so
//! that every replica and every restart sees them.

use civic_domain::{
    expr::Expr,
    policy::{parse_date, Document, Entry, PolicyBook},
    rounding::Rounding,
    RegionCode,
};
use sqlx::Row;

use crate::{
    audit,
    identity::Caller,
    publish::{Accepted, Publication},
    storage::Database,
};

pub async fn save(
    db: &Database,
    caller: &Caller,
    request_id: &str,
    p: &Publication,
    accepted: &Accepted,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for e in &accepted.entries {
        sqlx::query(
            "INSERT INTO published_standards (key, region_code, effective_from, value, rule, rounding, document, title, clause, note, published_by, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&e.key)
        .bind(e.region.as_str())
        .bind(p.effective_from.to_string())
        .bind(e.value.map(|v| v.to_string()).unwrap_or_default())
        .bind(e.rule.as_ref().map(|r| r.to_string()).unwrap_or_default())
        .bind(e.rounding.map(|r| r.to_string()).unwrap_or_default())
        .bind(&p.document)
        .bind(&p.title)
        .bind(&e.clause)
        .bind(&e.note)
        .bind(&caller.subject)
        .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .execute(&mut *tx)
        .await?;
    }
    let after = serde_json::json!({
        "document": p.document,
        "title": p.title,
        "effective_from": p.effective_from.to_string(),
        "values": accepted.entries.iter().map(|e| serde_json::json!({
            "key": e.key, "region": e.region.as_str(), "value": e.value.map(|v| v.to_string()),
            "rule": e.rule.as_ref().map(|r| r.to_string()), "clause": e.clause,
        })).collect::<Vec<_>>(),
    });
    audit::record(
        &mut tx,
        caller,
        request_id,
        &audit::Change {
            action: "standards.publish".into(),
            entity: "standard_set".into(),
            entity_id: format!("{}@{}", p.document, p.effective_from),
            region: p.region.to_string(),
            before: None,
            after: Some(after),
            reason: reason.to_string(),
        },
    )
    .await?;
    tx.commit().await
}

/// Add every stored publication to `book` (at start-up and on refresh).
pub async fn load_into(db: &Database, book: &mut PolicyBook) -> Result<usize, String> {
    let rows = sqlx::query(
        "SELECT key, region_code, effective_from, value, rule, rounding, document, title, clause, note FROM published_standards ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    let n = rows.len();
    for r in rows {
        let get = |c: &str| r.try_get::<String, _>(c).map_err(|e| e.to_string());
        let (key, region, eff, value, rule, rounding) =
            (get("key")?, get("region_code")?, get("effective_from")?, get("value")?, get("rule")?, get("rounding")?);
        let document = get("document")?;
        book.add_document(Document {
            number: document.clone(),
            title: get("title")?,
            issuer: String::new(),
            issued_on: None,
        });
        let region_code = RegionCode::parse(&region).map_err(|e| e.to_string())?;
        let effective = parse_date(&eff).map_err(|e| e.to_string())?;
        // A threshold keeps the comparison word of the figure it replaced.
        let cmp = book.governing_entry(&key, region_code, effective).and_then(|g| g.cmp);
        let entry = Entry {
            key: key.clone(),
            region: region_code,
            effective_from: Some(effective),
            known_from: None,
            value: if value.is_empty() {
                None
            } else {
                Some(value.parse().map_err(|_| format!("stored value '{value}' of {key}"))?)
            },
            rule: if rule.is_empty() { None } else { Some(Expr::parse(&rule).map_err(|e| e.to_string())?) },
            rounding: if rounding.is_empty() {
                None
            } else {
                Some(rounding.parse::<Rounding>().map_err(|e| e.to_string())?)
            },
            document,
            clause: get("clause")?,
            note: get("note")?,
            origin: "published via API".into(),
            cmp,
        };
        book.add_entry(entry).map_err(|e| format!("stored standard {key} for {region} from {eff}: {e}"))?;
    }
    Ok(n)
}
