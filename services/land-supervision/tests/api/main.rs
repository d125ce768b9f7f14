//! land-supervision over real gRPC, one module per area, each starting its own server with a
//! fresh database (SQLite, and PostgreSQL where storage is involved).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use civic_proto::land::v1::land_supervision_client::LandSupervisionClient;
use civic_runtime::storage::Backend;
use civic_testing::{channel, fresh_database, settings};

/// A land-supervision server on port 0 with its own fresh database, and a client for it.
pub struct Land {
    pub client: LandSupervisionClient<tonic::transport::Channel>,
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    running: civic_runtime::server::Running,
}

impl Land {
    pub async fn spawn(backend: Backend) -> Land {
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let running = land_supervision::start(settings(fresh_database(backend).await), async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let addr = running.grpc_addr;
        Land { client: LandSupervisionClient::new(channel(addr).await), addr, stop, running }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.running.wait().await;
    }
}

mod assessments;
mod balance_and_campaign;
mod campaign_targets;
mod cases;
mod checks;
mod cluster_evaluation;
mod extremes;
mod farmland;
mod flags;
mod limits;
mod parcels;
mod records;
mod registry;
