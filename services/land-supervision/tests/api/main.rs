//! land-supervision over real gRPC, one module per area, each starting its own server with a
//! fresh database (SQLite, and PostgreSQL where storage is involved).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use civic_proto::land::v1::{
    campaign_service_client::CampaignServiceClient, land_case_service_client::LandCaseServiceClient,
    land_registry_service_client::LandRegistryServiceClient,
    land_supervision_service_client::LandSupervisionServiceClient,
    per_mu_evaluation_service_client::PerMuEvaluationServiceClient, sanluanwu_service_client::SanluanwuServiceClient,
};
use civic_runtime::storage::Backend;
use civic_testing::Server;
use tonic::transport::Channel;

/// A client of each of land-supervision's services, over one channel.
#[derive(Clone)]
pub struct Clients {
    pub land: LandSupervisionServiceClient<Channel>,
    pub registry: LandRegistryServiceClient<Channel>,
    pub per_mu: PerMuEvaluationServiceClient<Channel>,
    pub sanluanwu: SanluanwuServiceClient<Channel>,
    pub campaign: CampaignServiceClient<Channel>,
    pub cases: LandCaseServiceClient<Channel>,
}

impl Clients {
    fn new(channel: Channel) -> Clients {
        Clients {
            land: LandSupervisionServiceClient::new(channel.clone()),
            registry: LandRegistryServiceClient::new(channel.clone()),
            per_mu: PerMuEvaluationServiceClient::new(channel.clone()),
            sanluanwu: SanluanwuServiceClient::new(channel.clone()),
            campaign: CampaignServiceClient::new(channel.clone()),
            cases: LandCaseServiceClient::new(channel),
        }
    }
}

/// A land-supervision server on port 0 with its own fresh database, and clients for it.
pub struct Land {
    pub client: Clients,
    pub addr: std::net::SocketAddr,
    server: Server,
}

impl Land {
    pub async fn spawn(backend: Backend) -> Land {
        let server = Server::on(backend, land_supervision::start).await;
        Land { client: Clients::new(server.channel().await), addr: server.addr, server }
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
