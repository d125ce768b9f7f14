//! Flags other bureaus keep on enterprises — the facts behind the "industrial transition"
//! category of low-efficiency land (驻政〔2020〕37号 附件3-2 二(一)1): prohibited or eliminated
//! industry, high pollution or energy use, environmental or safety non-compliance, listed for
//! closure, makeshift structures only. Each flag is raised or cleared from a date by the bureau
//! that owns it, with its document; the history is kept, so a classification on a past date
//! uses the flags in force that day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use civic_runtime::{audit, identity::Caller, identity::Role, storage::Database};

use super::StoreError;
use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use crate::rules::low_efficiency::ParcelFacts;

/// Each flag: code, Chinese name, and the bureaus that raise and clear it.
pub const FLAGS: &[(&str, &str, &[Role])] = &[
    ("PROHIBITED_OR_ELIMINATED_INDUSTRY", "属于禁止类、淘汰类产业", &[Role::DevelopmentReform, Role::IndustryIt]),
    ("HIGH_POLLUTION_OR_HIGH_ENERGY", "高污染、高耗能", &[Role::EcologyEnvironment, Role::DevelopmentReform]),
    ("FAILS_ENVIRONMENT_OR_SAFETY", "环保、安全生产不达标", &[Role::EcologyEnvironment, Role::EmergencyManagement]),
    ("LISTED_FOR_CLOSURE", "列入关停并转", &[Role::IndustryIt, Role::DevelopmentReform]),
    ("MAKESHIFT_STRUCTURES_ONLY", "仅有简易建(构)筑物", &[Role::NaturalResources]),
];

pub fn flag(code: &str) -> Option<(&'static str, &'static str, &'static [Role])> {
    FLAGS.iter().find(|(c, _, _)| *c == code).copied()
}

/// One raising or clearing of a flag.
#[derive(Debug, Clone, Serialize)]
pub struct FlagEvent {
    pub enterprise_id: String,
    pub flag: String,
    pub region_code: String,
    pub raised: bool,
    pub on_date: String,
    pub document: String,
    pub bureau: String,
    pub actor: String,
    pub note: String,
    pub recorded_at: String,
}

const COLUMNS: &str = "enterprise_id, flag, region_code, raised, on_date, document, bureau, actor, note, recorded_at";

fn event_from(r: &AnyRow) -> Result<FlagEvent, StoreError> {
    Ok(FlagEvent {
        enterprise_id: r.try_get("enterprise_id")?,
        flag: r.try_get("flag")?,
        region_code: r.try_get("region_code")?,
        raised: r.try_get::<i64, _>("raised")? != 0,
        on_date: r.try_get("on_date")?,
        document: r.try_get("document")?,
        bureau: r.try_get("bureau")?,
        actor: r.try_get("actor")?,
        note: r.try_get("note")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

/// Bind an event's columns, in the order of COLUMNS, as $1 to $10.
fn bind_event<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    e: &'q FlagEvent,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&e.enterprise_id)
        .bind(&e.flag)
        .bind(&e.region_code)
        .bind(i64::from(e.raised))
        .bind(&e.on_date)
        .bind(&e.document)
        .bind(&e.bureau)
        .bind(&e.actor)
        .bind(&e.note)
        .bind(&e.recorded_at)
}

/// Record a raising or clearing: appended to the history, the current state replaced, audited.
pub async fn set(db: &Database, who: &Caller, request_id: &str, e: &FlagEvent) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let last: Option<i64> =
        sqlx::query("SELECT MAX(seq) AS n FROM enterprise_flag_events WHERE enterprise_id = $1 AND flag = $2")
            .bind(&e.enterprise_id)
            .bind(&e.flag)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    let before = sqlx::query(&format!("SELECT {COLUMNS} FROM enterprise_flags WHERE enterprise_id = $1 AND flag = $2"))
        .bind(&e.enterprise_id)
        .bind(&e.flag)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(event_from)
        .transpose()?;
    if let Some(b) = &before {
        if b.on_date.as_str() > e.on_date.as_str() {
            return Err(StoreError::field(
                "on_date",
                format!("the flag last changed on {}; a change cannot be dated before it", b.on_date),
            ));
        }
        if b.region_code != e.region_code {
            return Err(StoreError::field(
                "region_code",
                format!("enterprise {} is flagged in {}", e.enterprise_id, b.region_code),
            ));
        }
    }
    // The history row (numbered) and the current row carry the same columns.
    let history = format!(
        "INSERT INTO enterprise_flag_events ({COLUMNS}, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    bind_event(sqlx::query(&history), e).bind(last.unwrap_or(0) + 1).execute(&mut *tx).await?;
    let current = if before.is_some() {
        "UPDATE enterprise_flags SET region_code = $3, raised = $4, on_date = $5, document = $6, bureau = $7, actor = $8, \
         note = $9, recorded_at = $10 WHERE enterprise_id = $1 AND flag = $2"
            .to_string()
    } else {
        format!("INSERT INTO enterprise_flags ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
    };
    bind_event(sqlx::query(&current), e).execute(&mut *tx).await?;
    let change = audit::Change {
        action: if e.raised { "flag.raise".into() } else { "flag.clear".into() },
        entity: "enterprise_flag".into(),
        entity_id: format!("{}/{}", e.enterprise_id, e.flag),
        region: e.region_code.clone(),
        before: before.as_ref().and_then(|b| serde_json::to_value(b).ok()),
        after: serde_json::to_value(e).ok(),
        reason: e.note.clone(),
    };
    audit::record(&mut tx, who, request_id, &change).await?;
    tx.commit().await?;
    Ok(())
}

/// Where a page of flags starts: after this enterprise, flag and (in the history) sequence.
pub struct After<'a> {
    pub enterprise: &'a str,
    pub flag: &'a str,
    pub seq: i64,
}

/// Current flags in a region (raised only), or the history of changes; keyset-paged.
pub async fn list(
    db: &Database,
    prefix: &str,
    enterprise: &str,
    history: bool,
    after: After<'_>,
    limit: i64,
) -> Result<Vec<(i64, FlagEvent)>, StoreError> {
    let sql = if history {
        format!(
            "SELECT seq, {COLUMNS} FROM enterprise_flag_events WHERE region_code LIKE $1 AND ($2 = '' OR enterprise_id = $2) \
             AND (enterprise_id > $3 OR (enterprise_id = $3 AND (flag > $4 OR (flag = $4 AND seq > $6)))) \
             ORDER BY enterprise_id, flag, seq LIMIT $5"
        )
    } else {
        format!(
            "SELECT 0 AS seq, {COLUMNS} FROM enterprise_flags WHERE region_code LIKE $1 AND ($2 = '' OR enterprise_id = $2) \
             AND raised = 1 AND (enterprise_id > $3 OR (enterprise_id = $3 AND flag > $4)) AND $6 >= 0 \
             ORDER BY enterprise_id, flag LIMIT $5"
        )
    };
    let rows = sqlx::query(&sql)
        .bind(format!("{prefix}%"))
        .bind(enterprise)
        .bind(after.enterprise)
        .bind(after.flag)
        .bind(limit)
        .bind(after.seq)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok((r.try_get::<i64, _>("seq")?, event_from(r)?))).collect()
}

/// The flags of one enterprise in force on `on`: for each flag, the latest change dated on or
/// before it, if that change raised it.
pub async fn in_force(db: &Database, enterprise: &str, on: NaiveDate) -> Result<Vec<FlagEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM enterprise_flag_events WHERE enterprise_id = $1 AND on_date <= $2 ORDER BY flag, seq"
    );
    let rows = sqlx::query(&sql).bind(enterprise).bind(on.to_string()).fetch_all(&db.pool).await?;
    let mut latest: BTreeMap<String, FlagEvent> = BTreeMap::new();
    for r in &rows {
        let e = event_from(r)?;
        latest.insert(e.flag.clone(), e);
    }
    Ok(latest.into_values().filter(|e| e.raised).collect())
}

/// Set the facts the flags stand for; returns the flags applied.
pub fn apply(facts: &mut ParcelFacts, flags: &[FlagEvent]) {
    for f in flags {
        match f.flag.as_str() {
            "PROHIBITED_OR_ELIMINATED_INDUSTRY" => facts.prohibited_or_eliminated_industry = true,
            "HIGH_POLLUTION_OR_HIGH_ENERGY" => facts.high_pollution_or_high_energy = true,
            "FAILS_ENVIRONMENT_OR_SAFETY" => facts.fails_environment_or_safety = true,
            "LISTED_FOR_CLOSURE" => facts.listed_for_closure = true,
            "MAKESHIFT_STRUCTURES_ONLY" => facts.makeshift_structures_only = true,
            _ => {}
        }
    }
}

/// The explanation of the flags applied to a parcel: one step each, citing the bureau's document.
pub fn steps(enterprise: &str, flags: &[FlagEvent]) -> Vec<civic_domain::explanation::Step> {
    flags
        .iter()
        .map(|f| civic_domain::explanation::Step {
            rule_id: "land.low_efficiency.bureau_flags".into(),
            description: format!("企业 {enterprise}:{}", flag(&f.flag).map(|(_, n, _)| n).unwrap_or_default()),
            formula: format!("{} 标记,{} 起", f.bureau, f.on_date),
            result: f.flag.clone(),
            parameters: vec![],
            source: Some(civic_domain::explanation::SourceRef { document: f.document.clone(), ..Default::default() }),
        })
        .collect()
}
