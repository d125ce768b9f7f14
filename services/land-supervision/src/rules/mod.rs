//! The rules of land-supervision, pure (no storage, no transport): "标准地" indicators and
//! acceptance, low-efficiency and idle land, per-mu evaluation and its summary, cluster
//! evaluation, the 危污乱散低 campaign, redevelopment, cases' states, farmland ratios.

pub mod campaign;
pub mod cases;
pub mod cluster;
pub mod cluster_eval;
pub mod farmland;
pub mod idle;
pub mod low_efficiency;
pub mod per_mu;
pub mod per_mu_summary;
pub mod per_mu_trace;
pub mod redevelopment;
pub mod standard_land;
