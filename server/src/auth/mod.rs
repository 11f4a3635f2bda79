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

pub mod jwt;

use actix_web::http::header;
use actix_web::HttpRequest;
use kato_protocol::ErrorCode;

use crate::config::{AuthMode, Settings};

/// Why credentials were rejected. `reason()` is a stable machine-readable code; messages never
/// contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials: send Authorization: Bearer <token> or X-API-Key")]
    Missing,
    #[error("malformed Authorization header")]
    MalformedHeader,
    #[error("invalid token: {0}")]
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
}

/// A development token printed at start-up when no key was configured.
pub struct DevToken {
    pub token: String,
    pub subject: String,
    pub expires_in_seconds: u64,
}

impl Authenticator {
    /// Builds the authenticator; with `auth = jwt` and no key configured, generates a random
    /// HS256 secret for this process and a development token signed with it.
    pub fn from_settings(settings: &Settings) -> Result<(Self, Option<DevToken>), String> {
        match settings.auth {
            AuthMode::Disabled => Ok((
                Authenticator {
                    mode: AuthMode::Disabled,
                    verifier: None,
                },
                None,
            )),
            AuthMode::Jwt => {
                let (verifier, dev) = jwt::Verifier::from_settings(settings)?;
                Ok((
                    Authenticator {
                        mode: AuthMode::Jwt,
                        verifier: Some(verifier),
                    },
                    dev,
                ))
            }
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Authenticates a bearer token (REST header, WS subprotocol or `hello`).
    pub fn authenticate_token(&self, token: &str) -> Result<Principal, AuthError> {
        match (&self.mode, &self.verifier) {
            (AuthMode::Disabled, _) => Ok(Principal::anonymous()),
            (AuthMode::Jwt, Some(verifier)) => verifier.verify(token),
            (AuthMode::Jwt, None) => Err(AuthError::InvalidToken("no_verifier")),
        }
    }

    /// Authenticates an HTTP request: `Authorization: Bearer`, else `X-API-Key`.
    pub fn authenticate_request(&self, req: &HttpRequest) -> Result<Principal, AuthError> {
        if self.mode == AuthMode::Disabled {
            return Ok(Principal::anonymous());
        }
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            let value = value.to_str().map_err(|_| AuthError::MalformedHeader)?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(AuthError::MalformedHeader)?;
            return self.authenticate_token(token.trim());
        }
        if req.headers().contains_key("x-api-key") {
            return Err(AuthError::UnknownApiKey);
        }
        Err(AuthError::Missing)
    }
}
