#![forbid(unsafe_code)]

use civic_runtime::{config::Settings, server::shutdown_signal, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let settings = match Settings::load(social_assistance::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("social-assistance: configuration: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init_tracing(&settings);
    tracing::info!(?settings, "starting social-assistance");
    match social_assistance::start(settings, shutdown_signal()).await {
        Ok(running) => running.wait().await,
        Err(e) => {
            tracing::error!("social-assistance cannot start: {e}");
            eprintln!("social-assistance cannot start: {e}");
            std::process::exit(1);
        }
    }
}
