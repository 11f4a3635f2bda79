//! The upstream-compatible surface (API.md §1): `/sessions/...`, `/pattern/...`, `/symbols/...`,
//! `/health`, `/status`, JSON `/metrics`, `/stats`, `/metrics/{name}`.

use actix_web::web;

/// Registers the routes of this surface.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
