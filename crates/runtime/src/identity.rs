//! Identity: signed bearer tokens (JWT, HS256) naming the caller, role and region scope, and the
//! checks every handler makes against them. The key comes from configuration; a development
//! default exists so the suite starts on a laptop, and the server warns loudly when it is used.
//!
//! One file on purpose (~380 lines without its tests): roles, tokens and the scope checks read
//! as one contract; splitting them would scatter who-may-do-what.

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
    /// 第三方评价机构: evaluates the programmes finance assigns to it, and reaches nothing else.
    Evaluator,
    /// System administrator.
    Admin,
}

impl Role {
    pub const ALL: [Role; 13] = [
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
        Role::Evaluator,
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
            Role::Evaluator => "evaluator",
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
    /// Not valid before (seconds since the epoch), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
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
    /// The civic service that made this call on the person's behalf (its `x-civic-calling-service`
    /// header), or `None` for a direct call. It names, and never authorises: every check is the
    /// person's own.
    pub via: Option<String>,
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
    /// Issued or valid only in the future, issued after it expires, or living longer than allowed.
    #[error("token times are not acceptable (issued in the future, or too long-lived)")]
    BadTimes,
    #[error("token subject must be 1–128 characters on one line")]
    BadSubject,
}

/// Clock difference tolerated between the issuer and this server.
pub const CLOCK_LEEWAY_SECS: i64 = 60;
/// Largest token accepted, in bytes, before any decoding.
pub const MAX_TOKEN_BYTES: usize = 4096;

const ISSUER: &str = "civic";

#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
    max_lifetime: chrono::Duration,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<secret>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl TokenKey {
    /// A key whose tokens may live at most 24 hours.
    pub fn new(secret: &str) -> Self {
        TokenKey { key: secret.as_bytes().to_vec(), max_lifetime: chrono::Duration::hours(24) }
    }

    /// The longest lifetime (exp − iat) a token may have.
    pub fn with_max_lifetime(mut self, max: chrono::Duration) -> Self {
        self.max_lifetime = max;
        self
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
            nbf: None,
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
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
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
        let now_s = now.timestamp();
        if claims.exp <= now_s {
            return Err(TokenError::Expired);
        }
        // Issued in the future (beyond the leeway), not yet valid, issued after it expires, or
        // living longer than this server allows: refused.
        if claims.iat > now_s + CLOCK_LEEWAY_SECS
            || claims.nbf.is_some_and(|nbf| nbf > now_s + CLOCK_LEEWAY_SECS)
            || claims.iat >= claims.exp
            || claims.exp.saturating_sub(claims.iat) > self.max_lifetime.num_seconds()
        {
            return Err(TokenError::BadTimes);
        }
        let sub = claims.sub.trim();
        if sub.is_empty() || sub.chars().count() > 128 || sub.chars().any(char::is_control) {
            return Err(TokenError::BadSubject);
        }
        let scope = RegionCode::parse(&claims.region).map_err(|_| TokenError::BadScope)?;
        let expires_at = DateTime::from_timestamp(claims.exp, 0).ok_or(TokenError::Malformed)?;
        let unit = match claims.unit.map(|u| u.trim().to_string()) {
            Some(u) if u.is_empty() || u.chars().count() > 64 => return Err(TokenError::BadScope),
            other => other,
        };
        // Town staff and anyone limited to a unit work inside one county-level region.
        if (claims.role == Role::Town || unit.is_some()) && scope.as_str().ends_with("00") {
            return Err(TokenError::BadScope);
        }
        Ok(Caller {
            subject: sub.to_string(),
            role: claims.role,
            scope,
            unit,
            expires_at,
            token: token.to_string(),
            via: None,
        })
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
    /// The publishing rights (policies/publishing.csv) do not give this caller this figure.
    #[error("{message}")]
    Publish { message: String },
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

    fn signed(edit: impl Fn(&mut Claims)) -> Result<Caller, TokenError> {
        let now = Utc::now().timestamp();
        let mut c = Claims {
            sub: "alice".into(),
            role: Role::CivilAffairs,
            region: "210521".into(),
            iat: now,
            exp: now + 3600,
            iss: ISSUER.into(),
            unit: None,
            nbf: None,
        };
        edit(&mut c);
        key().verify(&key().sign(&c), Utc::now())
    }

    #[test]
    fn refuses_bad_times_subjects_and_scopes() {
        let now = Utc::now().timestamp();
        assert!(signed(|_| {}).is_ok());
        // Within the clock leeway a slightly early iat is fine.
        assert!(signed(|c| c.iat = now + 30).is_ok());
        assert_eq!(signed(|c| c.iat = now + 600).unwrap_err(), TokenError::BadTimes);
        assert_eq!(signed(|c| c.nbf = Some(now + 600)).unwrap_err(), TokenError::BadTimes);
        assert_eq!(
            signed(|c| {
                c.iat = now + 50;
                c.exp = now + 40
            })
            .unwrap_err(),
            TokenError::BadTimes
        );
        assert_eq!(signed(|c| c.exp = now + 30 * 24 * 3600).unwrap_err(), TokenError::BadTimes);
        for sub in ["", "   ", "a\nb", &"x".repeat(129)] {
            assert_eq!(signed(|c| c.sub = sub.into()).unwrap_err(), TokenError::BadSubject, "{sub:?}");
        }
        // A town, or anyone named to a unit, works in a county-level region.
        assert_eq!(
            signed(|c| {
                c.role = Role::Town;
                c.region = "411700".into();
                c.unit = Some("顾山镇".into())
            })
            .unwrap_err(),
            TokenError::BadScope
        );
        assert_eq!(
            signed(|c| {
                c.role = Role::ClusterAdmin;
                c.region = "411700".into();
                c.unit = Some("C1".into())
            })
            .unwrap_err(),
            TokenError::BadScope
        );
        assert!(signed(|c| {
            c.role = Role::Town;
            c.region = "411702".into();
            c.unit = Some("顾山镇".into())
        })
        .is_ok());
        assert_eq!(key().verify(&"a".repeat(MAX_TOKEN_BYTES + 1), Utc::now()).unwrap_err(), TokenError::Malformed);
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
