//! `/v2/health`, `/v2/status` and `/v2/metrics` (API.md §2.2; the seeds' deployment guide
//! shows the health body). Live values only, no caches; no token needed. Reads counters, never
//! changes anything.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;
use crate::telemetry::rfc3339_now;

/// `base_processor_id` of the v2-era bodies (upstream's default `SERVICE_NAME`).
const BASE_PROCESSOR_ID: &str = "kato";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/status").route(web::get().to(status)))
        .service(web::resource("/metrics").route(web::get().to(metrics)));
}

fn uptime_seconds(state: &AppState) -> f64 {
    state.started.elapsed().as_secs_f64()
}

/// The seeds' v2 health body (HEAD's keys plus `base_processor_id`). The embedded backend has
/// nothing that can be unhealthy while the process answers.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "processor_status": "healthy",
        "base_processor_id": BASE_PROCESSOR_ID,
        "service_name": BASE_PROCESSOR_ID,
        "uptime_seconds": uptime_seconds(&state),
        "issues": [],
        "active_sessions": state.sessions.count(),
        "timestamp": rfc3339_now(),
    }))
}

async fn status(state: web::Data<AppState>) -> HttpResponse {
    let counters = state.sessions.counters();
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "base_processor_id": BASE_PROCESSOR_ID,
        "instance": state.instance,
        "uptime_seconds": uptime_seconds(&state),
        "sessions": {
            "total_sessions": counters.created.load(Ordering::Relaxed),
            "active_sessions": state.sessions.count(),
            "expired_sessions": counters.expired.load(Ordering::Relaxed),
            "backend": "embedded",
        },
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let counters = state.sessions.counters();
    HttpResponse::Ok().json(json!({
        "timestamp": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        "uptime_seconds": uptime_seconds(&state),
        "sessions": {
            "total_created": counters.created.load(Ordering::Relaxed),
            "total_deleted": counters.deleted.load(Ordering::Relaxed),
            "active": state.sessions.count(),
            "operations_total": counters.operations.load(Ordering::Relaxed),
        },
    }))
}
