//! The upstream-compatible surface (API.md §1): `/sessions/...`, `/pattern/...`, `/symbols/...`,
//! the deprecated node-level stubs, and the monitoring routes (`/health`, `/status`, JSON
//! `/metrics`, `/stats`, `/metrics/{name}`, probes, Prometheus exposition, OpenAPI).

pub mod monitoring;
pub mod nodes;
pub mod sessions;

use actix_web::web;

/// Registers the routes of this surface.
pub fn configure(cfg: &mut web::ServiceConfig) {
    monitoring::configure(cfg);
    sessions::configure(cfg);
    nodes::configure(cfg);
}
