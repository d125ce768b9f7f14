//! Identity: signed bearer tokens (JWT, HS256) naming the caller, role and region scope, and the
//! checks every handler makes against them. The key comes from configuration; a development
//! default exists so the suite starts on a laptop, and the server warns loudly when it is used.

use std::{fmt, str::FromStr};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use civic_domain::{region::RegionTree, RegionCode};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The key used when none is configured. Never use it outside a laptop.
pub const DEVELOPMENT_SIGNING_KEY: &str = "civic-development-signing-key-do-not-use-in-production";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// 财政局
    Finance,
    /// 民政局
    CivilAffairs,
    /// 自然资源局
    NaturalResources,
    /// 产业集聚区管委会
    ClusterAdmin,
    /// 乡镇
    Town,
    /// 发展和改革委员会 (industrial policy catalogue, investment intensity, energy)
    DevelopmentReform,
    /// 工业和信息化局 (per-mu revenue and profit, closures and conversions)
    IndustryIt,
    /// 税务局 (per-mu tax)
    Tax,
    /// 生态环境局 (environmental standards)
    EcologyEnvironment,
    /// 应急管理局 (work safety)
    EmergencyManagement,
    /// 审计: reads everything in scope, changes nothing.
    Auditor,
    /// System administrator.
    Admin,
}

impl Role {
    pub const ALL: [Role; 12] = [
        Role::Finance,
        Role::CivilAffairs,
        Role::NaturalResources,
        Role::ClusterAdmin,
        Role::Town,
        Role::DevelopmentReform,
        Role::IndustryIt,
        Role::Tax,
        Role::EcologyEnvironment,
        Role::EmergencyManagement,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Finance => "finance",
            Role::CivilAffairs => "civil-affairs",
            Role::NaturalResources => "natural-resources",
            Role::ClusterAdmin => "cluster-admin",
            Role::Town => "town",
            Role::DevelopmentReform => "development-reform",
            Role::IndustryIt => "industry-it",
            Role::Tax => "tax",
            Role::EcologyEnvironment => "ecology-environment",
            Role::EmergencyManagement => "emergency-management",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role '{s}' (one of: {})", Role::ALL.map(Role::as_str).join(", ")))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The caller, e.g. "zhang.wei@mz.benxi".
    pub sub: String,
    pub role: Role,
    /// Region scope, a GB/T 2260 code ("000000" for the whole country).
    pub region: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    /// The unit inside the region the caller works for, when narrower than the region: a town
    /// (镇、街道) for town staff, a cluster id for a cluster administration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// The authenticated caller, handed to handlers through request extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub role: Role,
    pub scope: RegionCode,
    /// A town or cluster inside the scope, when the caller works for one (see [`Claims::unit`]).
    pub unit: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// The bearer token as received, forwarded on service-to-service calls so the callee sees
    /// the original caller.
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("missing bearer token: send 'authorization: Bearer <token>'")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token names an invalid region scope")]
    BadScope,
}

const ISSUER: &str = "civic";

#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<secret>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl TokenKey {
    pub fn new(secret: &str) -> Self {
        TokenKey { key: secret.as_bytes().to_vec() }
    }

    pub fn is_development_default(&self) -> bool {
        self.key == DEVELOPMENT_SIGNING_KEY.as_bytes()
    }

    fn mac(&self, input: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mut m) => {
                m.update(input);
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }

    pub fn mint(&self, subject: &str, role: Role, region: RegionCode, ttl: chrono::Duration) -> String {
        self.mint_for_unit(subject, role, region, None, ttl)
    }

    /// A token for staff of one town or cluster administration inside `region`.
    pub fn mint_for_unit(
        &self,
        subject: &str,
        role: Role,
        region: RegionCode,
        unit: Option<&str>,
        ttl: chrono::Duration,
    ) -> String {
        let now = Utc::now();
        let claims = Claims {
            sub: subject.to_string(),
            role,
            region: region.to_string(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            iss: ISSUER.into(),
            unit: unit.map(str::to_string),
        };
        self.sign(&claims)
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(self.mac(signing_input.as_bytes()));
        format!("{signing_input}.{sig}")
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Caller, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| TokenError::Malformed)?;
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|_| TokenError::BadSignature)?;
        mac.update(format!("{h}.{p}").as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| TokenError::Malformed)?)
            .map_err(|_| TokenError::Malformed)?;
        if claims.iss != ISSUER {
            return Err(TokenError::Malformed);
        }
        if claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        let scope = RegionCode::parse(&claims.region).map_err(|_| TokenError::BadScope)?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(TokenError::Malformed)?;
        let unit = match claims.unit.map(|u| u.trim().to_string()) {
            Some(u) if u.is_empty() || u.chars().count() > 64 => return Err(TokenError::BadScope),
            other => other,
        };
        Ok(Caller { subject: claims.sub, role: claims.role, scope, unit, expires_at, token: token.to_string() })
    }
}

/// What a handler asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("role '{role}' may not {action}")]
    Role { role: Role, action: &'static str },
    #[error("region {target} is outside the caller's scope {scope}")]
    Region { target: RegionCode, scope: RegionCode },
    #[error("auditors read; they never change anything")]
    AuditorWrite,
    /// The caller works for one town or cluster and the target belongs to another.
    #[error("the caller works for {own}; {target} is another's")]
    Unit { own: String, target: String },
    /// Staff of a town must name their town in the token to reach town-scoped records.
    #[error("a {role} token must name its unit (the town or cluster) to {action}")]
    NoUnit { role: Role, action: &'static str },
}

impl Caller {
    /// The town or cluster the caller is limited to. Town staff must have one; a cluster
    /// administration may (then it sees its own cluster only); other roles are not limited.
    pub fn unit_scope(&self, action: &'static str) -> Result<Option<&str>, Denied> {
        match (self.role, self.unit.as_deref()) {
            (Role::Town, None) => Err(Denied::NoUnit { role: self.role, action }),
            (Role::Town | Role::ClusterAdmin, unit) => Ok(unit),
            _ => Ok(None),
        }
    }

    /// Unit check: a caller limited to a unit reaches only records of that unit.
    pub fn check_unit(&self, target: &str, action: &'static str) -> Result<(), Denied> {
        match self.unit_scope(action)? {
            Some(own) if own != target => Err(Denied::Unit { own: own.to_string(), target: target.to_string() }),
            _ => Ok(()),
        }
    }

    /// Region check: the target must be the caller's scope or lie under it.
    pub fn check_region(&self, regions: &RegionTree, target: RegionCode) -> Result<(), Denied> {
        if regions.is_within(target, self.scope) {
            Ok(())
        } else {
            Err(Denied::Region { target, scope: self.scope })
        }
    }

    /// Role and region check in one: `roles` may act; auditors and admins may always read;
    /// auditors may never write.
    pub fn authorize(
        &self,
        regions: &RegionTree,
        access: Access,
        roles: &[Role],
        action: &'static str,
        target: RegionCode,
    ) -> Result<(), Denied> {
        match (access, self.role) {
            (Access::Write, Role::Auditor) => return Err(Denied::AuditorWrite),
            (Access::Read, Role::Auditor | Role::Admin) => {}
            (_, Role::Admin) => {}
            (_, role) if roles.contains(&role) => {}
            (_, role) => return Err(Denied::Role { role, action }),
        }
        self.check_region(regions, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TokenKey {
        TokenKey::new("test-key")
    }

    #[test]
    fn round_trip() {
        let t =
            key().mint("alice", Role::CivilAffairs, RegionCode::parse("210521").unwrap(), chrono::Duration::hours(1));
        let c = key().verify(&t, Utc::now()).unwrap();
        assert_eq!(c.subject, "alice");
        assert_eq!(c.role, Role::CivilAffairs);
        assert_eq!(c.scope.as_str(), "210521");
        assert_eq!(c.unit, None);
        let town = RegionCode::parse("411702").unwrap();
        let t = key().mint_for_unit("wang", Role::Town, town, Some("顾山镇"), chrono::Duration::hours(1));
        assert_eq!(key().verify(&t, Utc::now()).unwrap().unit.as_deref(), Some("顾山镇"));
        let blank = key().mint_for_unit("wang", Role::Town, town, Some("  "), chrono::Duration::hours(1));
        assert_eq!(key().verify(&blank, Utc::now()).unwrap_err(), TokenError::BadScope);
    }

    #[test]
    fn refuses_forgery_and_expiry() {
        let t = key().mint("alice", Role::Admin, RegionCode::NATIONAL, chrono::Duration::hours(1));
        assert_eq!(TokenKey::new("other").verify(&t, Utc::now()).unwrap_err(), TokenError::BadSignature);
        let expired = key().mint("alice", Role::Admin, RegionCode::NATIONAL, chrono::Duration::seconds(-1));
        assert_eq!(key().verify(&expired, Utc::now()).unwrap_err(), TokenError::Expired);
        assert_eq!(key().verify("a.b", Utc::now()).unwrap_err(), TokenError::Malformed);
        // A payload swapped under a valid signature fails.
        let other = key().mint("mallory", Role::Admin, RegionCode::NATIONAL, chrono::Duration::hours(1));
        let mut parts: Vec<&str> = t.split('.').collect();
        let op: Vec<&str> = other.split('.').collect();
        parts[1] = op[1];
        assert_eq!(key().verify(&parts.join("."), Utc::now()).unwrap_err(), TokenError::BadSignature);
    }
}
