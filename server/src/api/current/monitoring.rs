//! Monitoring routes of the current surface (API.md §1.2 rows 1-3 and 29-31, product decisions
//! 2-6): `/`, `/health` and its probes, `/status`, JSON `/metrics`, `/stats`, `/metrics/{name}`,
//! `/metrics/prometheus`, `/openapi.json` and `/docs`. They need no token, serve live values
//! (no caches) and never change server state (the readiness probe writes and removes one scratch
//! file). The body builders are public so the v2 surface serves the same values.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use kato_protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::api::{openapi, ApiError, Surface};
use crate::app::AppState;
use crate::telemetry::metrics::{statistics, unix_now, Metrics, Resources, SERIES};
use crate::telemetry::{rfc3339_now, API_VERSION, V2_API_VERSION};

/// `service_name` / `base_processor_id` of the health and status bodies (upstream's default
/// `SERVICE_NAME`).
pub const SERVICE_NAME: &str = "kato";
/// Default window of `/stats` and `/metrics/{name}`, in minutes (upstream's default).
pub const DEFAULT_WINDOW_MINUTES: u32 = 10;
/// Largest window a client may ask for, in minutes (the history never holds more).
pub const MAX_WINDOW_MINUTES: u32 = 1440;
/// Most data points returned per series; longer series are thinned evenly (newest kept).
pub const MAX_POINTS_PER_SERIES: usize = 720;
/// Most loaded nodes listed under `processor_manager.processors` (the total is always exact).
pub const MAX_LISTED_PROCESSORS: usize = 100;
/// Host memory use (percent) above which `/health` reports `degraded`.
pub const MEMORY_DEGRADED_PERCENT: f64 = 90.0;
/// Data-directory disk use (percent) above which `/health` reports `degraded`.
pub const DISK_DEGRADED_PERCENT: f64 = 95.0;
/// Longest metric name echoed back in a 404 message.
const MAX_ECHOED_NAME_CHARS: usize = 128;

/// Registers the routes. `/metrics/prometheus` comes before `/metrics/{metric_name}` so the
/// literal path wins.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let get = |path: &str, route: actix_web::Route| web::resource(path).route(route);
    cfg.service(get("/", web::get().to(root)))
        .service(get("/health", web::get().to(health)))
        .service(get("/health/live", web::get().to(live)))
        .service(get("/health/ready", web::get().to(ready)))
        .service(get("/health/startup", web::get().to(startup)))
        .service(get("/status", web::get().to(status)))
        .service(get("/metrics", web::get().to(metrics_json)))
        .service(get("/metrics/prometheus", web::get().to(prometheus)))
        .service(get("/metrics/{metric_name}", web::get().to(metric_series)))
        .service(get("/stats", web::get().to(stats)))
        .service(get("/openapi.json", web::get().to(openapi_json)))
        .service(get("/docs", web::get().to(docs)));
}

/// The outcome of one backend check (readiness, health).
#[derive(Debug, Clone, Serialize)]
pub struct BackendCheck {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: f64,
}

/// Checks every configured backend. Today that is the embedded store: its node directory must
/// accept a new file (create, write, remove), which fails when the directory is gone, read-only
/// or the disk is full.
pub async fn backend_checks(state: &AppState) -> Vec<BackendCheck> {
    let nodes_dir = state.settings.data_dir.join("nodes");
    let check = web::block(move || probe_directory("embedded_store", &nodes_dir)).await;
    vec![check.unwrap_or_else(|error| BackendCheck {
        name: "embedded_store",
        ok: false,
        error: Some(format!("check did not run: {error}")),
        duration_ms: 0.0,
    })]
}

fn probe_directory(name: &'static str, dir: &Path) -> BackendCheck {
    use std::io::Write;
    let started = Instant::now();
    let probe: PathBuf = dir.join(format!(".ready-probe-{}", uuid::Uuid::new_v4().simple()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut file| file.write_all(b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    if result.is_err() {
        let _ = std::fs::remove_file(&probe);
    }
    BackendCheck {
        name,
        ok: result.is_ok(),
        error: result
            .err()
            .map(|e| format!("data directory not writable: {}", e.kind())),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}

/// Overall health: `unhealthy` when a backend check fails, `degraded` when memory or the data
/// disk is nearly full, else `healthy`. CPU load alone is not ill health for a CPU-bound engine.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub status: &'static str,
    pub processor_status: &'static str,
    pub issues: Vec<String>,
    pub checks: Vec<BackendCheck>,
    pub resources: Resources,
}

pub async fn assess(state: &AppState) -> Assessment {
    let checks = backend_checks(state).await;
    let resources = state.metrics.resources(&state.settings.data_dir);
    let mut issues: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| {
            format!(
                "{} check failed: {}",
                c.name,
                c.error.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    let backends_ok = issues.is_empty();
    if let Some(memory) = resources
        .memory_percent
        .filter(|m| *m > MEMORY_DEGRADED_PERCENT)
    {
        issues.push(format!("High memory usage: {memory:.1}%"));
    }
    if let Some(disk) = resources
        .disk_percent
        .filter(|d| *d > DISK_DEGRADED_PERCENT)
    {
        issues.push(format!("High disk usage: {disk:.1}%"));
    }
    let status = if !backends_ok {
        "unhealthy"
    } else if issues.is_empty() {
        "healthy"
    } else {
        "degraded"
    };
    Assessment {
        status,
        processor_status: if backends_ok { "healthy" } else { "unhealthy" },
        issues,
        checks,
        resources,
    }
}

fn uptime_seconds(state: &AppState) -> f64 {
    state.started.elapsed().as_secs_f64()
}

/// Live JSON with `Cache-Control: no-store` (API.md product decision 3).
fn live_json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(body)
}

/// `GET /` (row 1).
pub fn root_body(state: &AppState) -> Value {
    json!({
        "service": "KATO API",
        "version": API_VERSION,
        "description": "KATO real-time server: deterministic sequence learning and prediction over per-user sessions",
        "docs": "/docs",
        "health": "/health",
        "status": "running",
        "uptime_seconds": uptime_seconds(state),
        "architecture": "modular",
        "session_support": true,
    })
}

/// `GET /health` (row 2; `GET /v2/health` with `Surface::V2`, which names the service
/// `base_processor_id` as the v2-era body did).
pub async fn health_body(state: &AppState, surface: Surface) -> Value {
    let assessment = assess(state).await;
    let (collected, last) = state.metrics.collection_status();
    let mut body = Map::new();
    body.insert("status".into(), json!(assessment.status));
    body.insert(
        "processor_status".into(),
        json!(assessment.processor_status),
    );
    let name_key = match surface {
        Surface::V2 => "base_processor_id",
        Surface::Current | Surface::V1 => "service_name",
    };
    body.insert(name_key.into(), json!(SERVICE_NAME));
    body.insert("uptime_seconds".into(), json!(uptime_seconds(state)));
    body.insert("issues".into(), json!(assessment.issues));
    body.insert("metrics_collected".into(), json!(collected));
    body.insert("last_collection".into(), json!(last.unwrap_or(0.0)));
    body.insert("active_sessions".into(), json!(state.sessions.count()));
    body.insert("checks".into(), json!(assessment.checks));
    body.insert("timestamp".into(), json!(rfc3339_now()));
    Value::Object(body)
}

/// `processor_manager`: a "processor" here is a node knowledge base loaded in this process.
pub fn processor_manager(state: &AppState) -> Value {
    let kbs = state.sessions.knowledge_bases();
    let loaded = kbs.loaded();
    let processors: Vec<Value> = loaded
        .iter()
        .take(MAX_LISTED_PROCESSORS)
        .map(|node| json!({"processor_id": node.as_str(), "node_id": node.as_str()}))
        .collect();
    json!({
        "total_processors": loaded.len(),
        "max_processors": null,
        "eviction_ttl_seconds": null,
        "backend": kbs.backend_name(),
        "processors": processors,
    })
}

/// `GET /status` (row 3; `GET /v2/status` with `Surface::V2`, version `2.0.0`).
pub async fn status_body(state: &AppState, surface: Surface) -> Value {
    let assessment = assess(state).await;
    let counters = state.sessions.counters();
    let version = match surface {
        Surface::V2 => V2_API_VERSION,
        Surface::Current | Surface::V1 => API_VERSION,
    };
    json!({
        "status": assessment.status,
        "base_processor_id": SERVICE_NAME,
        "instance": state.instance,
        "uptime_seconds": uptime_seconds(state),
        "sessions": {
            "total_sessions": counters.created.load(Ordering::Relaxed),
            "active_sessions": state.sessions.count(),
            "expired_sessions": counters.expired.load(Ordering::Relaxed),
            "deleted_sessions": counters.deleted.load(Ordering::Relaxed),
            "backend": "embedded",
            "redis_url": null,
        },
        "processors": processor_manager(state),
        "version": version,
        "server_version": env!("CARGO_PKG_VERSION"),
    })
}

fn sessions_summary(state: &AppState) -> Value {
    let counters = state.sessions.counters();
    json!({
        "total_created": counters.created.load(Ordering::Relaxed),
        "total_deleted": counters.deleted.load(Ordering::Relaxed),
        "total_expired": counters.expired.load(Ordering::Relaxed),
        "active": state.sessions.count(),
        "operations_total": counters.operations.load(Ordering::Relaxed),
    })
}

fn performance_summary(metrics: &Metrics) -> Value {
    let requests = metrics.total_requests();
    let errors = metrics.total_errors();
    json!({
        "total_requests": requests,
        "total_errors": errors,
        "error_rate": if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
        "average_response_time": metrics.average_response_seconds(),
    })
}

fn resources_summary(resources: &Resources) -> Value {
    json!({
        "cpu_percent": resources.cpu_percent,
        "memory_percent": resources.memory_percent,
        "disk_percent": resources.disk_percent,
        "process_resident_bytes": resources.resident_bytes,
    })
}

/// The embedded store answers in-process: "operations" are the session commands admitted
/// (each reads or writes it); per-operation errors and timings are not measured (null).
fn databases_summary(state: &AppState) -> Value {
    json!({
        "embedded": {
            "operations": state.sessions.counters().operations.load(Ordering::Relaxed),
            "errors": null,
            "avg_response_time": null,
            "open_nodes": state.sessions.knowledge_bases().loaded().len(),
        }
    })
}

/// Rates over the last minute, from the sample history and the live counters.
fn rates(state: &AppState) -> Value {
    let metrics = &state.metrics;
    let window = Duration::from_secs(60);
    let requests = metrics.rate(
        "kato_requests_total",
        metrics.total_requests() as f64,
        window,
    );
    let errors = metrics.rate(
        "kato_request_errors_total",
        metrics.total_errors() as f64,
        window,
    );
    let sessions = metrics.rate(
        "kato_sessions_created_total",
        state.sessions.counters().created.load(Ordering::Relaxed) as f64,
        window,
    );
    let observations = metrics.rate(
        "kato_observations_total",
        metrics.observations_total() as f64,
        window,
    );
    json!({
        "requests_per_second": requests,
        "requests_per_minute": requests * 60.0,
        "errors_per_minute": errors * 60.0,
        "sessions_per_minute": sessions * 60.0,
        "observations_per_second": observations,
    })
}

/// `GET /metrics` (row 29), live: every counter is read when asked.
pub fn metrics_body(state: &AppState) -> Value {
    let metrics = &state.metrics;
    let resources = metrics.resources(&state.settings.data_dir);
    let (session_limited, subject_limited) = metrics.rate_limited_total();
    json!({
        "timestamp": unix_now(),
        "uptime_seconds": uptime_seconds(state),
        "sessions": sessions_summary(state),
        "performance": performance_summary(metrics),
        "resources": resources_summary(&resources),
        "databases": databases_summary(state),
        "rates": rates(state),
        "engine": {
            "observations_total": metrics.observations_total(),
            "patterns_learned_total": metrics.patterns_learned_total(),
            "rate_limited_total": {"session": session_limited, "subject": subject_limited},
        },
        "processor_manager": processor_manager(state),
    })
}

/// At most `max` points, evenly thinned, always keeping the newest.
fn thinned(points: &[(f64, f64)], max: usize) -> Vec<Value> {
    let stride = points.len().div_ceil(max.max(1)).max(1);
    let offset = (points.len().saturating_sub(1)) % stride;
    points
        .iter()
        .skip(offset)
        .step_by(stride)
        .map(|(timestamp, value)| json!({"timestamp": timestamp, "value": value}))
        .collect()
}

fn window(minutes: u32) -> Duration {
    Duration::from_secs(u64::from(minutes) * 60)
}

/// `GET /stats?minutes=` (row 30).
pub async fn stats_body(state: &AppState, minutes: u32) -> Value {
    let assessment = assess(state).await;
    let metrics = &state.metrics;
    let mut series = Map::new();
    for name in SERIES {
        let points = metrics.series(name, window(minutes));
        series.insert(
            name.to_string(),
            Value::Array(thinned(&points, MAX_POINTS_PER_SERIES)),
        );
    }
    let errors_per_minute = metrics.rate(
        "kato_request_errors_total",
        metrics.total_errors() as f64,
        Duration::from_secs(60),
    ) * 60.0;
    json!({
        "time_range_minutes": minutes,
        "timestamp": unix_now(),
        "processor_manager": processor_manager(state),
        "current_status": {
            "status": assessment.status,
            "issues": assessment.issues,
            "metrics": {
                "cpu_percent": assessment.resources.cpu_percent,
                "memory_percent": assessment.resources.memory_percent,
                "error_rate_per_min": errors_per_minute,
            },
            "timestamp": rfc3339_now(),
        },
        "time_series": series,
        "summary": {
            "sessions": sessions_summary(state),
            "performance": performance_summary(metrics),
            "resources": resources_summary(&assessment.resources),
            "databases": databases_summary(state),
        },
    })
}

/// `GET /metrics/{name}?minutes=` (row 31): `None` when the series is unknown or has no point
/// in the window.
pub fn metric_body(state: &AppState, name: &str, minutes: u32) -> Option<Value> {
    let points = state.metrics.series(name, window(minutes));
    let stats = statistics(&points)?;
    Some(json!({
        "metric_name": name,
        "time_range_minutes": minutes,
        "timestamp": unix_now(),
        "statistics": {
            "count": stats.count,
            "min": stats.min,
            "max": stats.max,
            "avg": stats.avg,
        },
        "data_points": thinned(&points, MAX_POINTS_PER_SERIES),
    }))
}

/// The time window of `/stats` and `/metrics/{name}`.
#[derive(Debug, Deserialize)]
pub struct WindowQuery {
    minutes: Option<i64>,
}

impl WindowQuery {
    fn minutes(&self, req: &HttpRequest) -> Result<u32, ApiError> {
        match self.minutes {
            None => Ok(DEFAULT_WINDOW_MINUTES),
            Some(m) if m < 1 => Err(ApiError::body(
                req,
                "query.minutes",
                "Input should be greater than or equal to 1",
            )),
            Some(m) if m > i64::from(MAX_WINDOW_MINUTES) => Err(ApiError::body(
                req,
                "query.minutes",
                format!("Input should be less than or equal to {MAX_WINDOW_MINUTES}"),
            )),
            Some(m) => Ok(u32::try_from(m).unwrap_or(DEFAULT_WINDOW_MINUTES)),
        }
    }
}

async fn root(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &root_body(&state))
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &health_body(&state, Surface::Current).await)
}

/// Liveness: the process answers requests.
async fn live(state: web::Data<AppState>) -> HttpResponse {
    live_json(
        StatusCode::OK,
        &json!({"status": "alive", "uptime_seconds": uptime_seconds(&state), "timestamp": rfc3339_now()}),
    )
}

/// Readiness: 200 when every configured backend check passes, else 503 with the failures.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let checks = backend_checks(&state).await;
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    live_json(
        status,
        &json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": checks,
            "timestamp": rfc3339_now(),
        }),
    )
}

/// Startup: the listener is bound only after the state (stores, auth, sessions) was built, so
/// answering at all means start-up finished.
async fn startup(state: web::Data<AppState>) -> HttpResponse {
    live_json(
        StatusCode::OK,
        &json!({
            "status": "started",
            "uptime_seconds": uptime_seconds(&state),
            "instance": state.instance,
            "timestamp": rfc3339_now(),
        }),
    )
}

async fn status(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &status_body(&state, Surface::Current).await)
}

async fn metrics_json(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &metrics_body(&state))
}

/// Refreshes the state gauges, then renders the registry (text format 0.0.4).
pub fn prometheus_text(state: &AppState) -> String {
    state.metrics.refresh_gauges(
        state.sessions.count(),
        state.sessions.knowledge_bases().loaded().len(),
    );
    state.metrics.prometheus_text()
}

async fn prometheus(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, Metrics::prometheus_content_type()))
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(prometheus_text(&state))
}

async fn metric_series(
    req: HttpRequest,
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: web::Query<WindowQuery>,
) -> Result<HttpResponse, ApiError> {
    let minutes = query.minutes(&req)?;
    match metric_body(&state, &name, minutes) {
        Some(body) => Ok(live_json(StatusCode::OK, &body)),
        None => {
            let shown: String = name.chars().take(MAX_ECHOED_NAME_CHARS).collect();
            Err(ApiError::http(
                &req,
                ErrorCode::NotFound,
                format!("No data available for metric '{shown}' in the last {minutes} minutes"),
            ))
        }
    }
}

async fn stats(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<WindowQuery>,
) -> Result<HttpResponse, ApiError> {
    let minutes = query.minutes(&req)?;
    Ok(live_json(
        StatusCode::OK,
        &stats_body(&state, minutes).await,
    ))
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi::document_json())
}

async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(openapi::DOCS_HTML)
}

/// `GET /v2/health` for the v2 surface.
pub async fn v2_health(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &health_body(&state, Surface::V2).await)
}

/// `GET /v2/status` for the v2 surface.
pub async fn v2_status(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &status_body(&state, Surface::V2).await)
}

/// `GET /v2/metrics` for the v2 surface.
pub async fn v2_metrics(state: web::Data<AppState>) -> HttpResponse {
    live_json(StatusCode::OK, &metrics_body(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_newest_and_bounds_the_count() {
        let points: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64)).collect();
        let all = thinned(&points, 20);
        assert_eq!(all.len(), 10);
        let few = thinned(&points, 3);
        assert!(few.len() <= 3, "{few:?}");
        assert_eq!(few.last().map(|p| p["value"].clone()), Some(json!(9.0)));
        assert!(thinned(&[], 3).is_empty());
    }

    #[test]
    fn probe_fails_on_a_missing_directory_and_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("kato-probe-{}", uuid::Uuid::new_v4()));
        assert!(!probe_directory("t", &dir).ok);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let check = probe_directory("t", &dir);
        assert!(check.ok, "{check:?}");
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 0);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn every_series_name_is_known() {
        for name in SERIES {
            assert!(Metrics::is_series(name));
        }
        assert!(SERIES.contains(&"kato_cpu_usage_percent"));
    }
}
