//! The seeds' `/v2/sessions/...` surface (API.md §2.2) plus `/v2/health`, `/v2/status` and
//! `/v2/metrics`, every error in the seeds' structured body (`ApiError` renders it for
//! [`Surface::V2`], set on the `/v2` scope by `app.rs`). Handlers only parse, call the session
//! service and shape the reply; they never touch the engine or a store.
//!
//! Decision: `POST /v2/sessions` has HEAD semantics — it always creates a new session — and not
//! the v2-era get-or-create per `user_id`. One subject may legitimately want several sessions
//! on one node (several users behind one service account), and get-or-create would silently
//! share STM between them; callers that want their existing session keep its id.

mod monitoring;
mod sessions;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::ApiError;
use crate::session::{ServiceError, SessionId};

/// The session id header set on every session-scoped reply (as upstream).
pub const SESSION_ID_HEADER: &str = "x-session-id";

/// Registers the routes of this surface (under `/v2`). Unknown paths answer 404
/// `KATO_NOT_FOUND` from this scope's default service; wrong methods answer 405
/// `KATO_METHOD_NOT_ALLOWED` (rendered by the app-wide 405 handler in the request's surface).
pub fn configure(cfg: &mut web::ServiceConfig) {
    sessions::configure(cfg);
    monitoring::configure(cfg);
    cfg.default_service(web::to(super::error::not_found));
}

/// A client-supplied session id from the path: one that cannot name a session is "not found"
/// without a lookup.
fn session_id(req: &HttpRequest, raw: &str) -> Result<String, ApiError> {
    if SessionId::is_plausible(raw) {
        Ok(raw.to_string())
    } else {
        let shown: String = raw.chars().take(64).collect();
        Err(ApiError::service(req, ServiceError::NotFound(shown)))
    }
}

/// 200 with a JSON body and the `X-Session-ID` header.
fn session_reply(session_id: &str, body: &impl Serialize) -> HttpResponse {
    let mut response = HttpResponse::Ok().json(body);
    if let Ok(value) = HeaderValue::from_str(session_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(SESSION_ID_HEADER), value);
    }
    response
}
