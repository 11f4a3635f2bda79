//! Authentication and authorisation (PROTOCOL.md §3): who the caller is ([`Principal`]), what
//! they may do (scopes, nodes, a bound session), and how credentials become a principal (JWT,
//! API keys, or the explicit `auth = disabled` mode). Never logs a token or a secret.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// What a principal may do (the `scope` claim, space-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Observe, read STM and predictions, clear the STM, change the session's config.
    Observe,
    /// Learn patterns (manually, at the end of a sequence, finalize-training).
    Learn,
    /// Watch other sessions' events.
    Watch,
    /// Node-wide destructive operations (clear-all) and other subjects' sessions.
    Admin,
}

impl Scope {
    pub fn parse(raw: &str) -> Option<Scope> {
        match raw {
            "observe" => Some(Scope::Observe),
            "learn" => Some(Scope::Learn),
            "watch" => Some(Scope::Watch),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Observe => "observe",
            Scope::Learn => "learn",
            Scope::Watch => "watch",
            Scope::Admin => "admin",
        }
    }

    /// Scopes of a token without a `scope` claim: everything but `admin`.
    pub fn default_set() -> BTreeSet<Scope> {
        [Scope::Observe, Scope::Learn, Scope::Watch]
            .into_iter()
            .collect()
    }

    pub fn all() -> BTreeSet<Scope> {
        [Scope::Observe, Scope::Learn, Scope::Watch, Scope::Admin]
            .into_iter()
            .collect()
    }
}

/// Which nodes a principal may use (the `nodes` claim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAccess {
    Any,
    Only(BTreeSet<String>),
}

impl NodeAccess {
    pub fn allows(&self, node: &str) -> bool {
        match self {
            NodeAccess::Any => true,
            NodeAccess::Only(nodes) => nodes.contains(node),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub` of the token, the owner of an API key, or `anonymous` with auth disabled.
    pub subject: String,
    pub scopes: BTreeSet<Scope>,
    pub nodes: NodeAccess,
    /// `sid`: the token is bound to this one session.
    pub session: Option<String>,
    /// Seconds since the epoch when the credential expires (`exp`), if it does.
    pub expires_at: Option<u64>,
}

impl Principal {
    /// The principal of every request when auth is disabled.
    pub fn anonymous() -> Self {
        Principal {
            subject: "anonymous".into(),
            scopes: Scope::all(),
            nodes: NodeAccess::Any,
            session: None,
            expires_at: None,
        }
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

pub mod api_keys;
pub mod jwt;
pub mod keys;

use actix_web::http::header;
use actix_web::HttpRequest;
use kato_protocol::ErrorCode;

use crate::config::{AuthMode, Settings};

/// Why credentials were rejected. `reason()` is a stable machine-readable code (sent to clients
/// in error details); messages never contain the token or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials: send Authorization: Bearer <token> or X-API-Key")]
    Missing,
    #[error("malformed Authorization header: expected Bearer <token>")]
    MalformedHeader,
    /// A token that is not acceptable; the reason is one of [`TOKEN_REASONS`].
    #[error("invalid token: {}", describe(.0))]
    InvalidToken(&'static str),
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("unknown API key")]
    UnknownApiKey,
    #[error("forbidden: {0}")]
    Forbidden(String),
}

/// Every reason an [`AuthError::InvalidToken`] can carry, with its message.
pub const TOKEN_REASONS: &[(&str, &str)] = &[
    (
        "malformed_token",
        "not a well-formed JWT (three base64url parts, JSON header and claims)",
    ),
    ("token_too_large", "longer than 16384 bytes"),
    ("alg_none", "unsigned tokens (alg none) are not accepted"),
    (
        "unexpected_algorithm",
        "signed with an algorithm this server does not accept",
    ),
    (
        "missing_kid",
        "the token has no kid and the server's key set holds several keys",
    ),
    ("unknown_kid", "no key with this kid"),
    (
        "unsupported_header",
        "critical header extensions (crit) are not supported",
    ),
    ("bad_signature", "the signature does not verify"),
    ("missing_sub", "the sub claim is required"),
    (
        "invalid_sub",
        "sub must be a non-empty string of at most 512 bytes",
    ),
    ("missing_exp", "the exp claim is required"),
    (
        "invalid_exp",
        "exp must be a number (seconds since the epoch)",
    ),
    (
        "invalid_nbf",
        "nbf must be a number (seconds since the epoch)",
    ),
    (
        "invalid_iat",
        "iat must be a number (seconds since the epoch)",
    ),
    (
        "bad_audience",
        "the aud claim does not name this server's audience",
    ),
    ("bad_issuer", "the iss claim is not this server's issuer"),
    ("missing_nodes_claim", "this server requires a nodes claim"),
    (
        "bad_nodes_claim",
        "nodes must be a list of node ids or \"*\"",
    ),
    ("invalid_scope", "scope must be a space-separated string"),
    ("invalid_sid", "sid must be a non-empty string"),
    ("no_verifier", "no token verifier is configured"),
];

fn describe(reason: &str) -> &'static str {
    TOKEN_REASONS
        .iter()
        .find(|(code, _)| *code == reason)
        .map(|(_, message)| *message)
        .unwrap_or("rejected")
}

impl AuthError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Forbidden(_) => ErrorCode::Forbidden,
            _ => ErrorCode::Unauthorized,
        }
    }

    /// Stable reason code for clients and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_credentials",
            AuthError::MalformedHeader => "malformed_header",
            AuthError::InvalidToken(reason) => reason,
            AuthError::Expired => "token_expired",
            AuthError::NotYetValid => "token_not_yet_valid",
            AuthError::UnknownApiKey => "unknown_api_key",
            AuthError::Forbidden(_) => "forbidden",
        }
    }
}

/// Turns credentials into a [`Principal`].
pub struct Authenticator {
    mode: AuthMode,
    verifier: Option<jwt::Verifier>,
    api_keys: api_keys::ApiKeys,
}

/// A development token printed at start-up when no key was configured.
pub struct DevToken {
    pub token: String,
    pub subject: String,
    pub expires_in_seconds: u64,
}

impl Authenticator {
    /// Builds the authenticator; with `auth = jwt` and no key configured, generates a random
    /// HS256 secret for this process and a development token signed with it. A key or API-key
    /// file that cannot be read or is invalid is an error (the server must not start).
    pub fn from_settings(settings: &Settings) -> Result<(Self, Option<DevToken>), String> {
        match settings.auth {
            AuthMode::Disabled => {
                if settings.api_keys_file.is_some() {
                    tracing::warn!("api_keys_file is ignored: authentication is disabled");
                }
                Ok((
                    Authenticator {
                        mode: AuthMode::Disabled,
                        verifier: None,
                        api_keys: api_keys::ApiKeys::default(),
                    },
                    None,
                ))
            }
            AuthMode::Jwt => {
                let (verifier, dev) = jwt::Verifier::from_settings(settings)?;
                let api_keys = match &settings.api_keys_file {
                    Some(path) => api_keys::ApiKeys::load(path, settings.require_nodes_claim)?,
                    None => api_keys::ApiKeys::default(),
                };
                tracing::info!(
                    "authentication: {}; {} API keys",
                    verifier.describe(),
                    api_keys.len()
                );
                Ok((
                    Authenticator {
                        mode: AuthMode::Jwt,
                        verifier: Some(verifier),
                        api_keys,
                    },
                    dev,
                ))
            }
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Authenticates a bearer token (REST header, WS subprotocol or `hello.token`).
    pub fn authenticate_token(&self, token: &str) -> Result<Principal, AuthError> {
        match (&self.mode, &self.verifier) {
            (AuthMode::Disabled, _) => Ok(Principal::anonymous()),
            (AuthMode::Jwt, Some(verifier)) => verifier.verify(token).map_err(refused),
            (AuthMode::Jwt, None) => Err(refused(AuthError::InvalidToken("no_verifier"))),
        }
    }

    /// Authenticates an API key (`X-API-Key` or WS `hello.api_key`).
    pub fn authenticate_api_key(&self, key: &str) -> Result<Principal, AuthError> {
        match self.mode {
            AuthMode::Disabled => Ok(Principal::anonymous()),
            AuthMode::Jwt => self.api_keys.authenticate(key).map_err(refused),
        }
    }

    /// Authenticates an HTTP request: `Authorization: Bearer <token>` if present (an invalid
    /// one is rejected, never passed over), else `X-API-Key`.
    pub fn authenticate_request(&self, req: &HttpRequest) -> Result<Principal, AuthError> {
        if self.mode == AuthMode::Disabled {
            return Ok(Principal::anonymous());
        }
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            let bearer = value.to_str().ok().and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                let token = token.trim();
                (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
            });
            return match bearer {
                Some(token) => self.authenticate_token(token),
                None => Err(refused(AuthError::MalformedHeader)),
            };
        }
        if let Some(value) = req.headers().get("x-api-key") {
            return match value.to_str() {
                Ok(key) => self.authenticate_api_key(key.trim()),
                Err(_) => Err(refused(AuthError::UnknownApiKey)),
            };
        }
        Err(refused(AuthError::Missing))
    }
}

/// Logs a refusal by its reason (never the credential) for operators, at debug level: refusals
/// are the client's business, and a flood of them must not flood the log.
fn refused(error: AuthError) -> AuthError {
    tracing::debug!(reason = error.reason(), "credentials refused");
    error
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use serde_json::json;

    use super::*;

    const SECRET: &str = "unit-test-secret-0123456789abcdef0123";
    const API_KEY: &str = "service-key-0123456789abcdef";

    fn authenticator(auth: AuthMode) -> (Authenticator, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("keys.json");
        let entry =
            json!([{"key": API_KEY, "subject": "svc", "scopes": ["observe"], "nodes": ["n"]}]);
        std::fs::write(&keys, entry.to_string()).expect("write keys");
        let settings = Settings {
            auth,
            jwt_secret: Some(SECRET.into()),
            api_keys_file: Some(keys),
            ..Settings::default()
        };
        let (auth, dev) = Authenticator::from_settings(&settings).expect("authenticator");
        assert!(dev.is_none());
        (auth, dir)
    }

    fn token(sub: &str) -> String {
        let claims = jwt::Claims {
            sub: sub.into(),
            exp: jwt::now_seconds() + 60,
            nbf: None,
            iat: None,
            aud: None,
            iss: None,
            nodes: None,
            sid: None,
            scope: None,
        };
        jwt::mint_hs256(SECRET.as_bytes(), &claims).expect("mint")
    }

    fn check(auth: &Authenticator, headers: &[(&str, &str)]) -> Result<String, &'static str> {
        let mut req = TestRequest::default();
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        auth.authenticate_request(&req.to_http_request())
            .map(|p| p.subject)
            .map_err(|e| e.reason())
    }

    #[test]
    fn request_credentials_bearer_first_then_api_key() {
        let (auth, _dir) = authenticator(AuthMode::Jwt);
        let bearer = format!("Bearer {}", token("alice"));
        let lower = format!("bearer  {} ", token("alice"));
        let basic = format!("Basic {}", token("alice"));
        assert_eq!(check(&auth, &[]), Err("missing_credentials"));
        assert_eq!(
            check(&auth, &[("Authorization", &bearer)]),
            Ok("alice".into())
        );
        assert_eq!(
            check(&auth, &[("Authorization", &lower)]),
            Ok("alice".into())
        );
        assert_eq!(
            check(&auth, &[("Authorization", &basic)]),
            Err("malformed_header")
        );
        assert_eq!(
            check(&auth, &[("Authorization", "Bearer")]),
            Err("malformed_header")
        );
        assert_eq!(
            check(&auth, &[("Authorization", "Bearer  ")]),
            Err("malformed_header")
        );
        assert_eq!(
            check(&auth, &[("Authorization", "Bearer x.y.z")]),
            Err("malformed_token")
        );
        assert_eq!(check(&auth, &[("X-API-Key", API_KEY)]), Ok("svc".into()));
        assert_eq!(
            check(&auth, &[("X-API-Key", "nope")]),
            Err("unknown_api_key")
        );
        // A bad bearer token is rejected even with a good API key beside it.
        assert_eq!(
            check(
                &auth,
                &[("Authorization", "Bearer x.y.z"), ("X-API-Key", API_KEY)]
            ),
            Err("malformed_token")
        );
        let principal = auth.authenticate_api_key(API_KEY).expect("api key");
        assert_eq!(principal.scopes, [Scope::Observe].into());
        assert!(!principal.nodes.allows("other"));
    }

    #[test]
    fn disabled_auth_makes_everyone_anonymous() {
        let (auth, _dir) = authenticator(AuthMode::Disabled);
        assert_eq!(check(&auth, &[]), Ok("anonymous".into()));
        assert_eq!(
            check(&auth, &[("Authorization", "Bearer junk")]),
            Ok("anonymous".into())
        );
        assert_eq!(auth.authenticate_token("junk"), Ok(Principal::anonymous()));
        assert_eq!(
            auth.authenticate_api_key("junk"),
            Ok(Principal::anonymous())
        );
    }

    #[test]
    fn every_reason_has_a_message_and_codes_are_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, message) in TOKEN_REASONS {
            assert!(seen.insert(*code), "duplicate {code}");
            assert_eq!(describe(code), *message);
        }
        for other in [
            AuthError::Missing,
            AuthError::MalformedHeader,
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::UnknownApiKey,
            AuthError::Forbidden("x".into()),
        ] {
            assert!(seen.insert(other.reason()), "duplicate {}", other.reason());
        }
        assert_eq!(
            AuthError::InvalidToken("alg_none").to_string(),
            "invalid token: unsigned tokens (alg none) are not accepted"
        );
    }
}
