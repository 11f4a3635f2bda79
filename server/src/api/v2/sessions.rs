//! `/v2/sessions` and every per-session command of the seeds' API (API.md §2.2): parse the
//! request, call the session service, answer in the v2 shapes (`status: "ok"` on observe, the
//! HEAD extras `node_id`, `ttl_seconds`, `session_config` and `future_potentials` included).
//! Never reaches past the session service.

use std::time::SystemTime;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{session_id, session_reply};
use crate::api::{input, ApiError, Caller};
use crate::app::AppState;
use crate::session::SessionInfo;
use crate::telemetry::rfc3339;

/// TTL of `POST .../extend` when the query names none (as upstream).
const DEFAULT_EXTEND_SECONDS: u64 = 3600;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sessions").route(web::post().to(create)))
        .service(
            web::resource("/sessions/{session_id}")
                .route(web::get().to(get))
                .route(web::delete().to(delete)),
        )
        .service(web::resource("/sessions/{session_id}/observe").route(web::post().to(observe)))
        .service(web::resource("/sessions/{session_id}/stm").route(web::get().to(stm)))
        .service(web::resource("/sessions/{session_id}/learn").route(web::post().to(learn)))
        .service(web::resource("/sessions/{session_id}/clear-stm").route(web::post().to(clear_stm)))
        .service(
            web::resource("/sessions/{session_id}/predictions").route(web::get().to(predictions)),
        )
        .service(
            web::resource("/sessions/{session_id}/config")
                .route(web::get().to(get_config))
                .route(web::post().to(update_config)),
        )
        .service(web::resource("/sessions/{session_id}/extend").route(web::post().to(extend)));
}

/// The session object: the v2-era keys (`user_id` = the node, as the v2-era owner field was
/// renamed `node_id` later) plus HEAD's `node_id`, `ttl_seconds` and `session_config`.
fn session_body(info: &SessionInfo, ttl_seconds: u64) -> Value {
    json!({
        "session_id": info.id,
        "node_id": info.node.as_str(),
        "user_id": info.node.as_str(),
        "created_at": rfc3339(info.created_at),
        "expires_at": rfc3339(info.expires_at),
        "ttl_seconds": ttl_seconds,
        "metadata": info.metadata,
        "session_config": info.config,
    })
}

/// The create body, field by field, naming the first bad field.
struct CreateRequest {
    node_id: String,
    metadata: Map<String, Value>,
    ttl_seconds: Option<u64>,
    config: Option<Value>,
}

fn parse_create(req: &HttpRequest, body: &Value) -> Result<CreateRequest, ApiError> {
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::body(req, "body", "Input should be a valid dictionary"))?;
    let present = |name: &str| object.get(name).filter(|v| !v.is_null());
    // `node_id` wins over the v2-era `user_id` when both are sent.
    let (field, raw) = match (present("node_id"), present("user_id")) {
        (Some(raw), _) => ("node_id", raw),
        (None, Some(raw)) => ("user_id", raw),
        (None, None) => return Err(ApiError::body(req, "node_id", "Field required")),
    };
    let node_id = raw
        .as_str()
        .ok_or_else(|| ApiError::body(req, field, "Input should be a valid string"))?
        .to_string();
    let metadata = match present("metadata") {
        None => Map::new(),
        Some(raw) => raw
            .as_object()
            .cloned()
            .ok_or_else(|| ApiError::body(req, "metadata", "Input should be a valid dictionary"))?,
    };
    let ttl_seconds = match present("ttl_seconds") {
        None => None,
        Some(raw) => Some(raw.as_u64().ok_or_else(|| {
            let message = if raw.as_i64().is_some() {
                "Input should be greater than or equal to 0"
            } else {
                "Input should be a valid integer"
            };
            ApiError::body(req, "ttl_seconds", message)
        })?),
    };
    let config = match present("config") {
        None => None,
        Some(raw) if raw.is_object() => Some(raw.clone()),
        Some(_) => {
            return Err(ApiError::body(
                req,
                "config",
                "Input should be a valid dictionary",
            ))
        }
    };
    Ok(CreateRequest {
        node_id,
        metadata,
        ttl_seconds,
        config,
    })
}

/// `POST /v2/sessions`: always a new session (HEAD semantics; see the module doc of `v2`).
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let request = parse_create(&req, &body)?;
    let info = state
        .sessions
        .create(
            &principal,
            &request.node_id,
            request.config.as_ref(),
            request.metadata,
            request.ttl_seconds,
        )
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &info.id,
        &session_body(&info, info.ttl.as_secs()),
    ))
}

/// `GET /v2/sessions/{id}`: `ttl_seconds` is the time left (the read itself slides it).
async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let info = state
        .sessions
        .info(&principal, &id)
        .map_err(|e| ApiError::service(&req, e))?;
    let remaining = info
        .expires_at
        .duration_since(SystemTime::now())
        .map(|d| d.as_secs_f64().round() as u64)
        .unwrap_or(0);
    Ok(session_reply(&id, &session_body(&info, remaining)))
}

async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    state
        .sessions
        .delete(&principal, &id)
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({"status": "deleted", "session_id": id}),
    ))
}

/// `POST .../observe`: strings, vectors, emotives and metadata; the server assigns the
/// `unique_id` (as upstream's `/observe` does).
async fn observe(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let observation = input::observation(&body, &state.limits, "")
        .map_err(|e| ApiError::body(&req, &e.field, e.message))?;
    let unique_id = format!("obs-{}", uuid::Uuid::new_v4().simple());
    let node = node_of(&state, &id);
    let observed = state
        .sessions
        .observe(&principal, &id, observation, unique_id)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({
            "status": "ok",
            "session_id": id,
            "processor_id": node,
            "stm_length": observed.stm_length,
            "time": observed.time,
            "unique_id": observed.unique_id,
            "auto_learned_pattern": observed.auto_learned_pattern,
        }),
    ))
}

/// The session's node for `processor_id` (the v2-era owner field); `null` for an unknown
/// session, which the command itself then reports.
fn node_of(state: &AppState, id: &str) -> Value {
    state
        .sessions
        .owner_of(id)
        .map_or(Value::Null, |(_, node)| json!(node.as_str()))
}

async fn stm(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let stm = state
        .sessions
        .stm(&principal, &id)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({"stm": stm, "session_id": id, "length": stm.len()}),
    ))
}

/// `POST .../learn`: an empty STM is 400 `KATO_VALIDATION_ERROR` ("Cannot learn from empty
/// STM"); fewer than 2 symbols learns nothing and answers `pattern_name: ""`.
async fn learn(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let pattern_name = state
        .sessions
        .learn(&principal, &id)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    // HEAD's message counts the STM after the learn, which a learn always empties.
    let message = format!("Learned pattern {pattern_name} from 0 events");
    Ok(session_reply(
        &id,
        &json!({
            "status": "learned",
            "pattern_name": pattern_name,
            "session_id": id,
            "processor_id": null,
            "message": message,
        }),
    ))
}

async fn clear_stm(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    state
        .sessions
        .clear_stm(&principal, &id)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({"status": "cleared", "session_id": id}),
    ))
}

/// `GET .../predictions`: recomputed from the current STM, with `future_potentials` (HEAD's
/// field, absent in the v2 era).
async fn predictions(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let set = state
        .sessions
        .predictions(&principal, &id)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({
            "predictions": set.predictions,
            "future_potentials": set.future_potentials,
            "session_id": id,
            "processor_id": null,
            "count": set.predictions.len(),
            "time": null,
            "unique_id": null,
        }),
    ))
}

async fn get_config(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let config = state
        .sessions
        .config(&principal, &id)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({"session_id": id, "config": config}),
    ))
}

/// `POST .../config`: `{"config": {...}}` or the flat object, validated as on the current
/// surface (400 `KATO_VALIDATION_ERROR` with `details.validation_errors`; nothing applied).
async fn update_config(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let body = body.into_inner();
    match body.as_object().map(|o| o.get("config")) {
        None => {
            return Err(ApiError::body(
                &req,
                "body",
                "Input should be a valid dictionary",
            ))
        }
        Some(Some(wrapped)) if !wrapped.is_object() => {
            return Err(ApiError::body(
                &req,
                "config",
                "Input should be a valid dictionary",
            ))
        }
        Some(_) => {}
    }
    state
        .sessions
        .update_config(&principal, &id, body)
        .await
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({"status": "okay", "message": "Configuration updated", "session_id": id}),
    ))
}

#[derive(Deserialize)]
struct ExtendQuery {
    ttl_seconds: Option<String>,
}

/// `POST .../extend?ttl_seconds=N` (default 3600): expiry = now + N; the sliding TTL the
/// session was created with stays.
async fn extend(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    query: web::Query<ExtendQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = session_id(&req, &path)?;
    let ttl_seconds = match query.ttl_seconds.as_deref() {
        None => DEFAULT_EXTEND_SECONDS,
        Some(raw) => raw.parse::<u64>().map_err(|_| {
            ApiError::body(&req, "query.ttl_seconds", "Input should be a valid integer")
        })?,
    };
    let ttl_seconds = state
        .sessions
        .extend(&principal, &id, ttl_seconds)
        .map_err(|e| ApiError::service(&req, e))?;
    Ok(session_reply(
        &id,
        &json!({"status": "extended", "session_id": id, "ttl_seconds": ttl_seconds}),
    ))
}
