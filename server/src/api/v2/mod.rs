//! The seeds' `/v2/sessions/...` surface (API.md §2.2) with the structured error body.

use actix_web::web;

/// Registers the routes of this surface (under `/v2`).
pub fn configure(_cfg: &mut web::ServiceConfig) {}
