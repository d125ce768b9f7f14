//! Start the real service on port 0 with a fresh database; typed clients with tokens.

use std::net::SocketAddr;

use civic_proto::{
    assistance::v1::{self as pb, social_assistance_service_client::SocialAssistanceServiceClient},
    common::v1::audit_log_service_client::AuditLogServiceClient,
};
use civic_runtime::{identity::Role, storage::Backend};
use civic_testing::{authed, channel, fresh_database, settings, token, Server};
use tonic::transport::Channel;

pub struct App {
    pub addr: SocketAddr,
    pub database_url: String,
    server: Server,
}

impl App {
    pub async fn spawn(backend: Backend) -> App {
        let url = fresh_database(backend).await;
        Self::spawn_on(url, social_assistance::recalc::RecalcSettings::from_env()).await
    }

    pub async fn spawn_on(database_url: String, recalc: social_assistance::recalc::RecalcSettings) -> App {
        Self::spawn_with(settings(database_url), recalc).await
    }

    pub async fn spawn_with(
        settings: civic_runtime::config::Settings,
        recalc: social_assistance::recalc::RecalcSettings,
    ) -> App {
        let server = Server::start(settings, |s, stop| social_assistance::start_with(s, recalc, stop)).await;
        App { addr: server.addr, database_url: server.database_url.clone(), server }
    }

    pub async fn client(&self) -> SocialAssistanceServiceClient<Channel> {
        SocialAssistanceServiceClient::new(channel(self.addr).await)
    }

    pub async fn audit(&self) -> AuditLogServiceClient<Channel> {
        AuditLogServiceClient::new(channel(self.addr).await)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

pub fn t(role: Role, region: &str) -> String {
    token(role, region)
}

pub fn req<T>(token: &str, m: T) -> tonic::Request<T> {
    authed(token, m)
}

pub fn member(age: i32, incomes: &[(&str, i64)]) -> pb::Member {
    pb::Member {
        id: String::new(),
        age,
        able_bodied: false,
        has_income_proof: true,
        incomes: incomes.iter().map(|(k, f)| pb::IncomeItem { kind: k.to_string(), monthly_fen: *f }).collect(),
    }
}

/// A household of `n` members whose first member earns `income_fen` a month.
pub fn household(id: &str, region: &str, residence: pb::Residence, n: usize, income_fen: i64) -> pb::Household {
    let mut members = vec![member(45, &[("wage", income_fen)])];
    for i in 1..n {
        members.push(member(10 + i as i32, &[]));
    }
    pb::Household { id: id.into(), region_code: region.into(), residence: residence as i32, members }
}
