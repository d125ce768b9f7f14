//! The civic domain: pure types and rules, knowing nothing of gRPC, SQL or async runtimes.
//!
//! - [`money::Fen`]: money as integer fen, checked arithmetic.
//! - [`area`]: 亩 and m² as exact decimals; ratios.
//! - [`rounding::Rounding`]: rounding rules as data.
//! - [`region`]: GB/T 2260 codes and the region tree.
//! - [`calendar`]: the official working-day calendar.
//! - [`policy::PolicyBook`]: dated, cited parameters, derived ones with their rule and rounding.
//! - [`explanation::Trace`]: what every computation returns alongside its figure.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod area;
pub mod calendar;
pub mod compare;
pub mod error;
pub mod explanation;
pub mod expr;
pub mod load;
pub mod money;
pub mod period;
pub mod policy;
pub mod policy_files;
pub mod publishing;
pub mod region;
pub mod rounding;

pub use error::DomainError;
pub use money::Fen;
pub use region::RegionCode;
