//! land-supervision over real gRPC, one module per area, each starting its own server with a
//! fresh database (SQLite, and PostgreSQL where storage is involved).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use civic_proto::land::v1::land_supervision_service_client::LandSupervisionServiceClient;
use civic_runtime::storage::Backend;
use civic_testing::Server;

/// A land-supervision server on port 0 with its own fresh database, and a client for it.
pub struct Land {
    pub client: LandSupervisionServiceClient<tonic::transport::Channel>,
    pub addr: std::net::SocketAddr,
    server: Server,
}

impl Land {
    pub async fn spawn(backend: Backend) -> Land {
        let server = Server::on(backend, land_supervision::start).await;
        Land { client: LandSupervisionServiceClient::new(server.channel().await), addr: server.addr, server }
    }

    pub async fn stop(self) {
        self.server.stop().await;
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
