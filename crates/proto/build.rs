//! Compiles `proto/` with protox (a pure-Rust protobuf compiler), so no system `protoc` is needed,
//! then writes the descriptor set used by server reflection next to the generated code.

use std::{env, path::PathBuf};

use prost::Message;

const FILES: &[&str] = &[
    "civic/common/v1/policy.proto",
    "civic/common/v1/explanation.proto",
    "civic/common/v1/audit.proto",
    "civic/common/v1/identity.proto",
    "civic/budget/v1/budget.proto",
    "civic/budget/v1/fiscal.proto",
    "civic/budget/v1/tables.proto",
    "civic/budget/v1/actuals.proto",
    "civic/budget/v1/evaluation.proto",
    "civic/budget/v1/monitoring.proto",
    "civic/budget/v1/programmes.proto",
    "civic/budget/v1/followup.proto",
    "civic/budget/v1/indicators.proto",
    "civic/land/v1/assessments.proto",
    "civic/land/v1/per_mu.proto",
    "civic/land/v1/cases.proto",
    "civic/land/v1/sanluanwu.proto",
    "civic/land/v1/records.proto",
    "civic/land/v1/campaign.proto",
    "civic/land/v1/limits.proto",
    "civic/land/v1/flags.proto",
    "civic/land/v1/service.proto",
    "civic/assistance/v1/standards.proto",
    "civic/assistance/v1/benefits.proto",
    "civic/assistance/v1/subsidy.proto",
    "civic/assistance/v1/roll.proto",
    "civic/assistance/v1/recalculation.proto",
    "civic/assistance/v1/analysis.proto",
    "civic/assistance/v1/service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile(FILES, [&root])?;
    std::fs::write(out.join("civic_descriptor.bin"), fds.encode_to_vec())?;

    // Every service decodes with CivicCodec: a body that is not protobuf is INVALID_ARGUMENT.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::CivicCodec")
        .compile_fds(fds)?;
    Ok(())
}
