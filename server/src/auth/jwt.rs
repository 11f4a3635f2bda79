//! JWT verification (PROTOCOL.md §3): HS256 with a shared secret by default. Required claims
//! `sub` and `exp`; optional `nbf`, `aud`, `iss` (checked when configured), `nodes`, `sid`,
//! `scope`. `alg: none` and any algorithm other than the configured one are rejected.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, DevToken, NodeAccess, Principal, Scope};
use crate::config::Settings;

/// Claims we read. Unknown claims are ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Node ids, or `"*"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    require_nodes_claim: bool,
}

pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs HS256 tokens (the `token` sub-command and the development token).
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> Result<String, String> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| format!("cannot sign token: {e}"))
}

impl Verifier {
    pub fn from_settings(settings: &Settings) -> Result<(Self, Option<DevToken>), String> {
        let (secret, dev) = match &settings.jwt_secret {
            Some(secret) if !secret.is_empty() => (secret.as_bytes().to_vec(), None),
            _ => {
                use rand::RngCore;
                let mut secret = vec![0u8; 32];
                rand::thread_rng().fill_bytes(&mut secret);
                let expires_in_seconds = 24 * 3600;
                let claims = Claims {
                    sub: "dev".into(),
                    exp: now_seconds() + expires_in_seconds,
                    nbf: None,
                    iat: Some(now_seconds()),
                    aud: settings.jwt_audience.clone().map(serde_json::Value::String),
                    iss: settings.jwt_issuer.clone(),
                    nodes: None,
                    sid: None,
                    scope: Some("observe learn watch admin".into()),
                };
                let token = mint_hs256(&secret, &claims)?;
                (
                    secret,
                    Some(DevToken {
                        token,
                        subject: "dev".into(),
                        expires_in_seconds,
                    }),
                )
            }
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = settings.jwt_leeway_seconds;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &settings.jwt_audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &settings.jwt_issuer {
            validation.set_issuer(&[iss]);
        }
        Ok((
            Verifier {
                key: DecodingKey::from_secret(&secret),
                validation,
                require_nodes_claim: settings.require_nodes_claim,
            },
            dev,
        ))
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data =
            decode::<Claims>(token, &self.key, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                ErrorKind::InvalidSignature => AuthError::InvalidToken("bad_signature"),
                ErrorKind::InvalidAlgorithm => AuthError::InvalidToken("unexpected_algorithm"),
                ErrorKind::InvalidAudience => AuthError::InvalidToken("bad_audience"),
                ErrorKind::InvalidIssuer => AuthError::InvalidToken("bad_issuer"),
                ErrorKind::MissingRequiredClaim(_) => AuthError::InvalidToken("missing_claim"),
                _ => AuthError::InvalidToken("malformed_token"),
            })?;
        principal_from_claims(data.claims, self.require_nodes_claim)
    }
}

/// Validates the KATO-specific claims and builds the principal.
pub fn principal_from_claims(
    claims: Claims,
    require_nodes_claim: bool,
) -> Result<Principal, AuthError> {
    if claims.sub.is_empty() {
        return Err(AuthError::InvalidToken("empty_subject"));
    }
    let nodes = match &claims.nodes {
        None if require_nodes_claim => return Err(AuthError::InvalidToken("missing_nodes_claim")),
        None => NodeAccess::Any,
        Some(serde_json::Value::String(s)) if s == "*" => NodeAccess::Any,
        Some(serde_json::Value::Array(list)) => {
            let mut nodes = BTreeSet::new();
            for node in list {
                match node.as_str() {
                    Some("*") => return build(claims.clone(), NodeAccess::Any),
                    Some(n) => {
                        nodes.insert(n.to_string());
                    }
                    None => return Err(AuthError::InvalidToken("bad_nodes_claim")),
                }
            }
            NodeAccess::Only(nodes)
        }
        Some(_) => return Err(AuthError::InvalidToken("bad_nodes_claim")),
    };
    build(claims, nodes)
}

fn build(claims: Claims, nodes: NodeAccess) -> Result<Principal, AuthError> {
    let scopes = match &claims.scope {
        None => Scope::default_set(),
        Some(raw) => {
            let mut scopes = BTreeSet::new();
            for part in raw.split_whitespace() {
                // Unknown scopes are ignored (forward compatibility), not granted.
                if let Some(scope) = Scope::parse(part) {
                    scopes.insert(scope);
                }
            }
            scopes
        }
    };
    Ok(Principal {
        subject: claims.sub,
        scopes,
        nodes,
        session: claims.sid,
        expires_at: Some(claims.exp),
    })
}
