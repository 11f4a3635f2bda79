//! The v1 fallback (API.md product decision 1 and §2.2 "v1 endpoints"): the single-processor
//! endpoints in their v1 response shapes, each routed to a real session — the one
//! `X-Session-ID` names, else the caller's default session (see `routing`). Errors render like
//! the current surface. Handlers never touch the engine or a store.
//!
//! Coexistence with the current surface, which also serves `GET /pattern/{id}` (node-scoped),
//! `GET /percept-data` and `GET /cognition-data` (deprecated node-level stubs): the v1 routes
//! for these three paths answer only requests that carry `X-Session-ID` (a resource guard; they
//! are registered before the current surface so the guard decides). With the header they
//! answer from that session (its node's pattern, its percept or cognition data); without it
//! the current surface answers as upstream HEAD does.

mod commands;
mod defaults;
mod routing;

use actix_web::{guard, web};

pub use defaults::{DefaultSessions, DEFAULT_SESSIONS_CAPACITY};
pub use routing::DEFAULT_NODE;

// `X-Session-ID` routes a v1 call to a session; every v1 reply that reached one carries it.
use super::session_call::SESSION_ID_HEADER;
use super::Surface;

/// Registers the routes of this surface. Must run before the current surface's `configure`
/// (see the module doc).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let v1 = |path: &str| web::resource(path).app_data(Surface::V1);
    let v1_with_session = |path: &str| {
        v1(path).guard(guard::fn_guard(|ctx| {
            ctx.head().headers().contains_key(SESSION_ID_HEADER)
        }))
    };
    cfg.service(v1("/observe").route(web::post().to(commands::observe)))
        .service(v1("/stm").route(web::get().to(commands::stm)))
        .service(v1("/short-term-memory").route(web::get().to(commands::stm)))
        .service(v1("/learn").route(web::post().to(commands::learn)))
        .service(v1("/clear-stm").route(web::post().to(commands::clear_stm)))
        .service(v1("/clear-short-term-memory").route(web::post().to(commands::clear_stm)))
        .service(v1("/clear-all").route(web::post().to(commands::clear_all)))
        .service(v1("/clear-all-memory").route(web::post().to(commands::clear_all)))
        .service(
            v1("/predictions")
                .route(web::get().to(commands::predictions))
                .route(web::post().to(commands::predictions)),
        )
        .service(v1("/observe-sequence").route(web::post().to(commands::observe_sequence)))
        .service(v1_with_session("/pattern/{pattern_id}").route(web::get().to(commands::pattern)))
        .service(v1_with_session("/percept-data").route(web::get().to(commands::percept_data)))
        .service(v1_with_session("/cognition-data").route(web::get().to(commands::cognition_data)));
}
