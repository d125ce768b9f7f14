//! The government-debt emergency plan of 三门峡 (三政办〔2017〕25号): the mandatory trigger for
//! fiscal restructuring (4.2.1(2): interest 超过 10 % of the matching expenditure — exactly 10 %
//! is not mandatory), the cap on a government guarantor's liability (3.4.3(1), and from
//! 2021-01-01 the legal cap by fault, 法释〔2020〕28号 第十七条), and how early debt falling due is
//! reported (3.3: two months for government debt, one for contingent debt).
//!
//! `restructuring`, `guarantee`, `deadlines` and `risk`, one module each.

mod deadlines;
mod guarantee;
mod restructuring;
mod risk;

pub use deadlines::*;
pub use guarantee::*;
pub use restructuring::*;
pub use risk::*;
