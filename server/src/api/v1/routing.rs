//! Which session a v1 call goes to (API.md product decision 1): the `X-Session-ID` request
//! header, else the session a `sid`-bound token names, else the caller's default session on
//! the node the request names. Resolving answers 404 for an id that names no session but
//! never checks ownership: the session service does that on every command (403 another
//! subject's, 404 expired), so no path can skip it.

use actix_web::HttpRequest;
use serde::Deserialize;
use serde_json::Map;

use crate::api::input::MAX_ID_BYTES;
use crate::api::ApiError;
use crate::app::AppState;
use crate::auth::Principal;
use crate::config::AuthMode;
use crate::session::{ServiceError, SessionId};
use crate::store::NodeId;

/// Node of a default session when the request names none (API.md product decision 1).
pub const DEFAULT_NODE: &str = "default";
/// Caller key of unauthenticated callers that send no legacy id (auth disabled).
const ANONYMOUS_CALLER: &str = "anonymous";

/// The session a v1 call runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub session_id: String,
    /// The session's node (`processor_id` in v1 replies).
    pub node: String,
}

/// The v1 query parameters (unknown ones are ignored).
#[derive(Debug, Default, Deserialize)]
pub struct LegacyQuery {
    pub node_id: Option<String>,
    pub processor_id: Option<String>,
    pub unique_id: Option<String>,
}

impl LegacyQuery {
    pub fn parse(req: &HttpRequest) -> Result<LegacyQuery, ApiError> {
        let query = actix_web::web::Query::<LegacyQuery>::from_query(req.query_string())
            .map_err(|e| ApiError::body(req, "query", e))?
            .into_inner();
        for (name, value) in [
            ("query.node_id", &query.node_id),
            ("query.processor_id", &query.processor_id),
            ("query.unique_id", &query.unique_id),
        ] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_ID_BYTES) {
                return Err(ApiError::body(
                    req,
                    name,
                    format!("at most {MAX_ID_BYTES} bytes"),
                ));
            }
        }
        Ok(query)
    }
}

/// A request header as text; `None` when absent or empty.
fn header(req: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    match req.headers().get(name) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().map_err(|_| {
                ApiError::body(req, &format!("header.{name}"), "must be visible ASCII")
            })?;
            if text.len() > MAX_ID_BYTES {
                return Err(ApiError::body(
                    req,
                    &format!("header.{name}"),
                    format!("at most {MAX_ID_BYTES} bytes"),
                ));
            }
            Ok(Some(text.to_string()).filter(|t| !t.is_empty()))
        }
    }
}

/// The session named by `X-Session-ID` or a `sid` claim, if any. An id that names no session
/// is 404 right here (nothing else to do with it); ownership is left to the command.
fn explicit(
    req: &HttpRequest,
    state: &AppState,
    principal: &Principal,
) -> Result<Option<Target>, ApiError> {
    let named = match req.headers().get(super::SESSION_ID_HEADER) {
        Some(value) => Some(value.to_str().unwrap_or_default().to_string()),
        None => principal.session.clone(),
    };
    let Some(id) = named else {
        return Ok(None);
    };
    let not_found = |id: &str| {
        let shown: String = id.chars().take(64).collect();
        ApiError::service(req, ServiceError::NotFound(shown))
    };
    if !SessionId::is_plausible(&id) {
        return Err(not_found(&id));
    }
    match state.sessions.owner_of(&id) {
        Some((_, node)) => Ok(Some(Target {
            session_id: id,
            node: node.to_string(),
        })),
        None => Err(not_found(&id)),
    }
}

/// The node a default session lives on: `?node_id=`, else `x-test-id` (as `test_<id>`, like
/// the current surface's node routing), else `x-node-id`, else `?processor_id=` (the v1-era
/// processor was the knowledge base), else `default`. Returns the node and the field it came
/// from, for error messages.
fn node_of_request(
    req: &HttpRequest,
    query: &LegacyQuery,
) -> Result<(String, &'static str), ApiError> {
    if let Some(node) = query.node_id.clone().filter(|n| !n.is_empty()) {
        return Ok((node, "query.node_id"));
    }
    if let Some(test_id) = header(req, "x-test-id")? {
        let node = if test_id.starts_with("test_") {
            test_id
        } else {
            format!("test_{test_id}")
        };
        return Ok((node, "header.x-test-id"));
    }
    if let Some(node) = header(req, "x-node-id")? {
        return Ok((node, "header.x-node-id"));
    }
    if let Some(node) = query.processor_id.clone().filter(|n| !n.is_empty()) {
        return Ok((node, "query.processor_id"));
    }
    Ok((DEFAULT_NODE.to_string(), "node_id"))
}

/// Who owns a default session: the authenticated subject, or with auth disabled (everyone is
/// `anonymous`) the legacy caller id as upstream keyed it: `?processor_id=`, `x-node-id`,
/// `x-test-id`.
fn caller_key(
    req: &HttpRequest,
    state: &AppState,
    principal: &Principal,
    query: &LegacyQuery,
) -> Result<String, ApiError> {
    if state.auth.mode() != AuthMode::Disabled {
        return Ok(format!("sub:{}", principal.subject));
    }
    let legacy = match query.processor_id.clone().filter(|p| !p.is_empty()) {
        Some(id) => Some(id),
        None => match header(req, "x-node-id")? {
            Some(id) => Some(id),
            None => header(req, "x-test-id")?,
        },
    };
    Ok(format!(
        "legacy:{}",
        legacy.as_deref().unwrap_or(ANONYMOUS_CALLER)
    ))
}

/// Resolves the session of a v1 call, creating the caller's default session on first use.
pub fn resolve(
    req: &HttpRequest,
    state: &AppState,
    principal: &Principal,
    query: &LegacyQuery,
) -> Result<Target, ApiError> {
    if let Some(target) = explicit(req, state, principal)? {
        return Ok(target);
    }
    let (node, source) = node_of_request(req, query)?;
    NodeId::parse(&node).map_err(|e| ApiError::body(req, source, e))?;
    let caller = caller_key(req, state, principal, query)?;
    let (session_id, _) = state
        .v1_defaults
        .get_or_create(
            &caller,
            &node,
            |id| state.sessions.exists(id).0,
            || {
                state
                    .sessions
                    .create(principal, &node, None, Map::new(), None)
                    .map(|info| info.id)
            },
        )
        .map_err(|e| ApiError::service(req, e))?;
    Ok(Target { session_id, node })
}
