//! The rules of 本政办发〔2019〕25号 and the national 低保 frame as pure functions over the policy
//! book: no storage, no gRPC. Each returns its figure with an explanation trace.

pub mod benefit;
pub mod household;
pub mod low_income;
pub mod person;
pub mod standards;
pub mod subsidy;
