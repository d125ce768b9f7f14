//! The civic contracts: generated messages, clients and servers, and the descriptor set that
//! server reflection serves. One crate owns them so every service speaks the same types.
#![forbid(unsafe_code)]
#![allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]

pub mod codec;

/// Encoded `FileDescriptorSet` of every civic proto, for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/civic_descriptor.bin"));

pub mod common {
    pub mod v1 {
        tonic::include_proto!("civic.common.v1");
    }
}
pub mod budget {
    pub mod v1 {
        tonic::include_proto!("civic.budget.v1");
    }
}
pub mod land {
    pub mod v1 {
        tonic::include_proto!("civic.land.v1");
    }
}
pub mod assistance {
    pub mod v1 {
        tonic::include_proto!("civic.assistance.v1");
    }
}
