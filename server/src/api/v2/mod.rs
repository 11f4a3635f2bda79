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

use actix_web::{web, HttpRequest};

use super::session_call::SessionCall;
use super::ApiError;
use crate::session::{ServiceError, SessionId};

/// Registers the routes of this surface (under `/v2`). Unknown paths answer 404
/// `KATO_NOT_FOUND` from this scope's default service; wrong methods answer 405
/// `KATO_METHOD_NOT_ALLOWED` (rendered by the app-wide 405 handler in the request's surface).
pub fn configure(cfg: &mut web::ServiceConfig) {
    sessions::configure(cfg);
    monitoring::configure(cfg);
    cfg.default_service(web::to(super::error::not_found));
}

/// A command on `/v2/sessions/{id}...`: an id that cannot name a session is "not found"
/// without a lookup. Success replies carry `X-Session-ID`; errors render as `ApiError` does.
fn open(req: &HttpRequest, raw: &str) -> Result<SessionCall, ApiError> {
    if SessionId::is_plausible(raw) {
        Ok(SessionCall::new(
            req,
            raw.to_string(),
            ApiError::service,
            false,
        ))
    } else {
        let shown: String = raw.chars().take(64).collect();
        Err(ApiError::service(req, ServiceError::NotFound(shown)))
    }
}
