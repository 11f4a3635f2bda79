//! `/v2/sessions` and every per-session command of the seeds' API (API.md §2.2): parse the
//! request, call the session service, answer in the v2 shapes (`status: "ok"` on observe, the
//! HEAD extras `node_id`, `ttl_seconds`, `session_config` and `future_potentials` included).
//! Never reaches past the session service.

use std::future::{ready, Ready};
use std::time::SystemTime;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::open;
use crate::api::bodies::{self, CreateRequest};
use crate::api::session_call::{authenticated, path_session_id, tag_session, SessionCall};
use crate::api::{input, ApiError, Caller};
use crate::app::AppState;
use crate::auth::Principal;
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

/// A command on `/v2/sessions/{id}...` with no body or query to extract: the authenticated
/// caller (401 first), then the id check of [`open`]. Commands that take a body or a query
/// call [`open`] after extracting it, so its errors keep coming first.
struct Session {
    call: SessionCall,
    principal: Principal,
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            authenticated(req, payload).and_then(|(Caller(principal), _)| {
                let call = open(req, &path_session_id(req, payload)?)?;
                Ok(Session { call, principal })
            }),
        )
    }
}

/// The create body, field by field, naming the first bad field.
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
    let info = request
        .create(&state.sessions, &principal)
        .map_err(|e| ApiError::service(&req, e))?;
    let body = session_body(&info, info.ttl.as_secs());
    Ok(tag_session(HttpResponse::Ok().json(body), &info.id))
}

/// `GET /v2/sessions/{id}`: `ttl_seconds` is the time left (the read itself slides it).
async fn get(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.info(&principal, &call.id).map(|info| {
        let remaining = info
            .expires_at
            .duration_since(SystemTime::now())
            .map(|d| d.as_secs_f64().round() as u64)
            .unwrap_or(0);
        session_body(&info, remaining)
    });
    call.reply(result)
}

async fn delete(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.delete(&principal, &call.id);
    call.reply(result.map(|()| bodies::status("deleted", &call.id)))
}

/// `POST .../observe`: strings, vectors, emotives and metadata; the server assigns the
/// `unique_id` (as upstream's `/observe` does). `processor_id` is the session's node, `null`
/// for an unknown session (which the observe itself then reports).
async fn observe(
    req: HttpRequest,
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let call = open(&req, &path)?;
    let observation = input::observation(&body, &state.limits, "")
        .map_err(|e| ApiError::body(&req, &e.field, e.message))?;
    let node = state.sessions.owner_of(&call.id).map(|(_, node)| node);
    let result = state
        .sessions
        .observe(
            &principal,
            &call.id,
            observation,
            bodies::observe_unique_id(),
        )
        .await;
    call.reply(result.map(|observed| {
        let node = node.as_ref().map(|n| n.as_str());
        bodies::observation_result("ok", &call.id, node, &observed)
    }))
}

async fn stm(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.stm(&principal, &call.id).await;
    call.reply(result.map(|stm| bodies::stm(&stm, &call.id)))
}

/// `POST .../learn`: an empty STM is 400 `KATO_VALIDATION_ERROR` ("Cannot learn from empty
/// STM"); fewer than 2 symbols learns nothing and answers `pattern_name: ""`.
async fn learn(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.learn(&principal, &call.id).await;
    call.reply(result.map(|name| bodies::learned(&name, &call.id)))
}

async fn clear_stm(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.clear_stm(&principal, &call.id).await;
    call.reply(result.map(|()| bodies::status("cleared", &call.id)))
}

/// `GET .../predictions`: recomputed from the current STM, with `future_potentials` (HEAD's
/// field, absent in the v2 era).
async fn predictions(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.predictions(&principal, &call.id).await;
    call.reply(result.map(|set| bodies::predictions(&set, &call.id)))
}

async fn get_config(
    state: web::Data<AppState>,
    Session { call, principal }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.config(&principal, &call.id).await;
    call.reply(result.map(|config| bodies::session_config(&call.id, &config)))
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
    let call = open(&req, &path)?;
    let body = body.into_inner();
    let not_an_object = match body.as_object().map(|o| o.get("config")) {
        None => Some("body"),
        Some(Some(wrapped)) if !wrapped.is_object() => Some("config"),
        Some(_) => None,
    };
    if let Some(field) = not_an_object {
        return Err(ApiError::body(
            &req,
            field,
            "Input should be a valid dictionary",
        ));
    }
    let result = state
        .sessions
        .update_config(&principal, &call.id, body)
        .await;
    call.reply(result.map(|_| bodies::config_updated(&call.id)))
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
    let call = open(&req, &path)?;
    let ttl_seconds = match query.ttl_seconds.as_deref() {
        None => DEFAULT_EXTEND_SECONDS,
        Some(raw) => raw.parse::<u64>().map_err(|_| {
            ApiError::body(&req, "query.ttl_seconds", "Input should be a valid integer")
        })?,
    };
    let result = state.sessions.extend(&principal, &call.id, ttl_seconds);
    call.reply(result.map(|seconds| bodies::extended(&call.id, seconds)))
}
