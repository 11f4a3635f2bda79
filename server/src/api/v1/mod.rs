//! The v1 fallback (API.md product decision 1): the single-processor endpoints, routed to a
//! session by `X-Session-ID` or to the caller's default session.

use actix_web::web;

/// Each caller's default v1 session (subject or legacy caller key → session id).
#[derive(Default)]
pub struct DefaultSessions {}

/// Registers the routes of this surface.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
