//! What land-supervision keeps, one module per table group: `cases` (cases and their events),
//! `parcels` (clusters and parcels with their status history), `records` (enterprises' yearly
//! figures and per-mu results), `flags` (other bureaus' flags on enterprises), `sanluanwu`
//! (the 散乱污 registry), `yearly` (cluster evaluations, campaign targets and town reports).
//! Every write carries its audit entry in the same transaction.

pub mod cases;
pub mod flags;
pub mod parcels;
pub mod records;
pub mod sanluanwu;
pub mod yearly;

/// Now as RFC 3339 UTC with milliseconds, as every land table records it.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
