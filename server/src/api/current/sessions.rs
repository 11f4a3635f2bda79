//! The upstream-compatible session routes (API.md §1.2 rows 4–22): create, count, exists, get,
//! delete, config, extend, observe, observe-sequence, STM, learn, finalize-training, clears,
//! predictions, percept and cognition data, each in upstream's exact response shape. Handlers
//! only parse, call the session service and map the result; they never touch the engine.
//!
//! Upstream's session middleware answers 404 `SESSION_NOT_FOUND` for an unknown session on
//! `/sessions/{id}/...` and `DELETE /sessions/{id}` before the body is validated; here that
//! check runs right after authentication (a caller without credentials gets 401 first).

use std::future::{ready, Ready};
use std::time::SystemTime;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use kato_protocol::ErrorCode;
use serde_json::{json, Map, Value};

use crate::api::bodies::{self, CreateRequest, SequenceRequest};
use crate::api::error::ApiErrorKind;
use crate::api::input::{self, FieldError};
use crate::api::session_call::{authenticated, path_session_id, Failure, SessionCall};
use crate::api::{ApiError, Caller};
use crate::app::AppState;
use crate::engine::config::ConfigError;
use crate::engine::pyrepr::py_float_repr;
use crate::session::{ServiceError, SessionId, SessionInfo};
use crate::store::NodeId;

/// `ttl_seconds` of `POST /sessions/{id}/extend` when the query omits it (as upstream).
const DEFAULT_EXTEND_SECONDS: u64 = 3600;

/// Registers the session routes. Order matters: `/sessions/count` before `/sessions/{id}`,
/// and the catch-all for unknown sub-paths last.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sessions").route(web::post().to(create)))
        .service(web::resource("/sessions/count").route(web::get().to(count)))
        .service(
            web::resource("/sessions/{session_id}")
                .route(web::get().to(get_session))
                .route(web::delete().to(delete_session)),
        )
        .service(web::resource("/sessions/{session_id}/exists").route(web::get().to(exists)));
    // Session sub-resources: a wrong method on an unknown session is the middleware 404, as
    // upstream (its middleware runs before routing).
    let sub = |path: &str| {
        web::resource(format!("/sessions/{{session_id}}/{path}"))
            .default_service(web::to(session_method_not_allowed))
    };
    cfg.service(
        sub("config")
            .route(web::get().to(get_config))
            .route(web::post().to(update_config)),
    )
    .service(sub("extend").route(web::post().to(extend)))
    .service(sub("observe").route(web::post().to(observe)))
    .service(sub("observe-sequence").route(web::post().to(observe_sequence)))
    .service(sub("stm").route(web::get().to(stm)))
    .service(sub("learn").route(web::post().to(learn)))
    .service(sub("finalize-training").route(web::post().to(finalize_training)))
    .service(sub("clear-stm").route(web::post().to(clear_stm)))
    .service(sub("clear-all").route(web::post().to(clear_all)))
    .service(sub("predictions").route(web::get().to(predictions)))
    .service(sub("percept-data").route(web::get().to(percept_data)))
    .service(sub("cognition-data").route(web::get().to(cognition_data)))
    // Anything else under a session, `/sessions/test/{id}` included (API.md row 22: upstream's
    // middleware takes "test" for a session id, so that route always answers its 404).
    .service(web::resource("/sessions/{session_id}/{tail:.*}").to(unknown_session_route));
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

/// The middleware check: the session's node when `id` names a live session, else upstream's
/// 404 `{"error":{"code":"SESSION_NOT_FOUND",...}}`. It does not extend the TTL (the command
/// that follows does).
fn live_session(state: &AppState, req: &HttpRequest, id: &str) -> Result<NodeId, ApiError> {
    if SessionId::is_plausible(id) && state.sessions.exists(id).0 {
        if let Some((_, node)) = state.sessions.owner_of(id) {
            return Ok(node);
        }
    }
    Err(ApiError::service(
        req,
        ServiceError::NotFound(id.to_string()),
    ))
}

/// A command on `/sessions/{id}/...`: the authenticated caller (401 first), then the
/// middleware check, which yields the session's node. Its reply, success or error, carries
/// `X-Session-ID` (API.md §1.1).
struct Session {
    call: SessionCall,
    node: NodeId,
    caller: Caller,
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(authenticated(req, payload).and_then(|(caller, state)| {
            let id = path_session_id(req, payload)?;
            let node = live_session(state, req, &id)?;
            let call = SessionCall::new(req, id, service_error, true);
            Ok(Session { call, node, caller })
        }))
    }
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// Service errors in this surface's terms: a rejected field is a FastAPI 422 body, a config
/// that is not an object too; everything else renders as [`ApiError`] does.
fn service_error(req: &HttpRequest, error: ServiceError) -> ApiError {
    match error {
        ServiceError::Validation { field, message } => ApiError::body(req, &field, message),
        ServiceError::Config(ConfigError::NotAnObject) => {
            ApiError::body(req, "config", "Input should be a valid dictionary")
        }
        other => ApiError::service(req, other),
    }
}

fn field_error(req: &HttpRequest, error: FieldError) -> ApiError {
    ApiError::body(req, &error.field, error.message)
}

/// Reads and parses a JSON body of at most `KATO_MAX_BODY_BYTES` (any content type, like
/// FastAPI without a declared media type). Empty body → 422 `missing`; not JSON → 422
/// `json_invalid`; too large → 413.
async fn json_body(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<Value, ApiError> {
    let limit = state.settings.max_body_bytes;
    let too_large = || ApiError::new(req, ApiErrorKind::TooLarge { limit });
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = payload
        .to_bytes_limited(limit)
        .await
        .map_err(|_| too_large())?
        .map_err(|e| ApiError::body(req, "body", e))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::body(req, "body", "Field required"));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::json_invalid(req, e))
}

/// Pydantic v2's datetime form: `2026-04-27T10:20:30.123456Z` (no fraction when it is zero).
pub fn pydantic_datetime(at: SystemTime) -> String {
    crate::telemetry::python_isoformat(at) + "Z"
}

/// `SessionResponse` (API.md §1.3).
fn session_response(info: &SessionInfo, ttl_seconds: u64) -> Value {
    json!({
        "session_id": info.id,
        "node_id": info.node.as_str(),
        "created_at": pydantic_datetime(info.created_at),
        "expires_at": pydantic_datetime(info.expires_at),
        "ttl_seconds": ttl_seconds,
        "metadata": info.metadata,
        "session_config": info.config,
    })
}

// ---------------------------------------------------------------------------------------------
// Create, count, exists, get, delete

fn reject(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// A non-negative integer as Pydantic's lax `int` takes it from JSON (`2.0` included).
fn non_negative_int(value: &Value, field: &str) -> Result<u64, FieldError> {
    if let Some(n) = value.as_u64() {
        return Ok(n);
    }
    if value.as_i64().is_some() {
        return Err(reject(field, "Input should be greater than or equal to 0"));
    }
    match value.as_f64() {
        Some(x) if x.fract() == 0.0 && x >= 0.0 && x < u64::MAX as f64 => Ok(x as u64),
        Some(x) if x.fract() == 0.0 && x < 0.0 => {
            Err(reject(field, "Input should be greater than or equal to 0"))
        }
        _ => Err(reject(field, "Input should be a valid integer")),
    }
}

/// `CreateSessionRequest` (API.md §1.3), validated like Pydantic would.
fn parse_create(body: &Value) -> Result<CreateRequest, FieldError> {
    let object = body.as_object().ok_or_else(|| {
        reject(
            "body",
            "Input should be a valid dictionary or object to extract fields from",
        )
    })?;
    let node_id = match object.get("node_id") {
        None => return Err(reject("node_id", "Field required")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(reject("node_id", "Input should be a valid string")),
    };
    let metadata = match object.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(reject("metadata", "Input should be a valid dictionary")),
    };
    let ttl_seconds = match object.get("ttl_seconds") {
        None | Some(Value::Null) => None,
        Some(value) => Some(non_negative_int(value, "ttl_seconds")?),
    };
    let config = object.get("config").filter(|c| !c.is_null()).cloned();
    Ok(CreateRequest {
        node_id,
        metadata,
        ttl_seconds,
        config,
    })
}

/// `POST /sessions` (row 4). Always a new session. An invalid `config` is a 400 with the
/// config-validation body (Decision D10); upstream's response `ttl_seconds` is the request's
/// value, else the default TTL.
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, &state, payload).await?;
    let request = parse_create(&body).map_err(|e| field_error(&req, e))?;
    let requested_ttl = request.ttl_seconds;
    let info = request
        .create(&state.sessions, &caller.0)
        .map_err(|e| service_error(&req, e))?;
    let ttl = requested_ttl
        .filter(|t| *t > 0)
        .unwrap_or(info.ttl.as_secs());
    Ok(ok(session_response(&info, ttl)))
}

/// `GET /sessions/count` (row 5): live, exact (no cache, expired sessions not counted).
async fn count(state: web::Data<AppState>, _caller: Caller) -> HttpResponse {
    ok(json!({"active_session_count": state.sessions.count()}))
}

/// `GET /sessions/{id}/exists` (row 6): anonymous and without TTL extension, as upstream.
/// It tells anyone whether an id is live; ids are unguessable (UUID v4), so this reveals
/// nothing a caller did not already hold.
async fn exists(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    let (exists, expired) = if SessionId::is_plausible(&id) {
        state.sessions.exists(&id)
    } else {
        (false, false)
    };
    ok(json!({"exists": exists, "expired": expired, "session_id": id}))
}

/// `GET /sessions/{id}` (row 7): the handler's own 404 shape, `ttl_seconds` = whole seconds
/// left (after this read extended the session, as upstream).
async fn get_session(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let info = state.sessions.info(&caller.0, &id).map_err(|e| match e {
        ServiceError::NotFound(_) | ServiceError::Expired(_) => ApiError::http(
            &req,
            ErrorCode::SessionNotFound,
            format!("Session {id} not found or expired"),
        ),
        other => service_error(&req, other),
    })?;
    let remaining = info
        .expires_at
        .duration_since(SystemTime::now())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(ok(session_response(&info, remaining)))
}

/// `DELETE /sessions/{id}` (row 8).
async fn delete_session(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.delete(&caller.0, &call.id);
    call.reply(result.map(|()| bodies::status("deleted", &call.id)))
}

// ---------------------------------------------------------------------------------------------
// Config and TTL

/// `GET /sessions/{id}/config` (row 9).
async fn get_config(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.config(&caller.0, &call.id).await;
    call.reply(result.map(|config| bodies::session_config(&call.id, &config)))
}

/// `POST /sessions/{id}/config` (row 10): `{"config": {...}}` or the flat object.
async fn update_config(
    req: HttpRequest,
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let result = async {
        let body = json_body(&req, &state, payload).await?;
        if !body.is_object() {
            return Err(ApiError::body(&req, "body", "Input should be a valid dictionary").into());
        }
        state
            .sessions
            .update_config(&caller.0, &call.id, body)
            .await?;
        Ok::<_, Failure>(bodies::config_updated(&call.id))
    }
    .await;
    call.reply(result)
}

/// `POST /sessions/{id}/extend?ttl_seconds=N` (row 11): expiry := now + N (default 3600);
/// the sliding TTL stays as created.
async fn extend(
    req: HttpRequest,
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    call.reply(extend_ttl(&req, &state, &caller, &call.id))
}

fn extend_ttl(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Value, ApiError> {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map_err(|e| ApiError::body(req, "query", e))?;
    let seconds = match query
        .get("ttl_seconds")
        .map(|raw| raw.trim().parse::<i64>())
    {
        None => DEFAULT_EXTEND_SECONDS,
        Some(Ok(n)) => u64::try_from(n).map_err(|_| {
            ApiError::body(
                req,
                "query.ttl_seconds",
                "Input should be greater than or equal to 0",
            )
        })?,
        Some(Err(_)) => {
            return Err(ApiError::body(
                req,
                "query.ttl_seconds",
                "Input should be a valid integer, unable to parse string as an integer",
            ))
        }
    };
    let seconds = state
        .sessions
        .extend(&caller.0, id, seconds)
        .map_err(|e| match e {
            ServiceError::Validation { message, .. } => {
                ApiError::body(req, "query.ttl_seconds", message)
            }
            other => service_error(req, other),
        })?;
    Ok(bodies::extended(id, seconds))
}

// ---------------------------------------------------------------------------------------------
// Observe, learn, predictions

/// `POST /sessions/{id}/observe` (row 12). The client's `unique_id` is ignored; the server
/// assigns `obs-<32 hex>`.
async fn observe(
    req: HttpRequest,
    state: web::Data<AppState>,
    Session { call, node, caller }: Session,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let result = async {
        let body = json_body(&req, &state, payload).await?;
        let observation =
            input::observation(&body, &state.limits, "").map_err(|e| field_error(&req, e))?;
        let unique_id = bodies::observe_unique_id();
        let observed = state
            .sessions
            .observe(&caller.0, &call.id, observation, unique_id)
            .await?;
        Ok::<_, Failure>(bodies::observation_result(
            "okay",
            &call.id,
            Some(node.as_str()),
            &observed,
        ))
    }
    .await;
    call.reply(result)
}

/// `POST /sessions/{id}/observe-sequence` (row 13). Item ids: the client's `unique_id`, else
/// `seq-obs-<32 hex>`.
async fn observe_sequence(
    req: HttpRequest,
    state: web::Data<AppState>,
    Session { call, node, caller }: Session,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let result = async {
        let body = json_body(&req, &state, payload).await?;
        let object = body.as_object().ok_or_else(|| {
            ApiError::body(
                &req,
                "body",
                "Input should be a valid dictionary or object to extract fields from",
            )
        })?;
        let request =
            SequenceRequest::parse(object, &state.limits).map_err(|e| field_error(&req, e))?;
        let processed = request.observations.len();
        let outcome = state
            .sessions
            .observe_sequence(
                &caller.0,
                &call.id,
                request.observations,
                request.unique_ids,
                request.options,
            )
            .await?;
        Ok::<_, Failure>(Value::Object(bodies::sequence_result(
            &outcome,
            node.as_str(),
            processed,
        )))
    }
    .await;
    call.reply(result)
}

/// `GET /sessions/{id}/stm` (row 14).
async fn stm(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.stm(&caller.0, &call.id).await;
    call.reply(result.map(|stm| bodies::stm(&stm, &call.id)))
}

/// `POST /sessions/{id}/learn` (row 15).
async fn learn(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.learn(&caller.0, &call.id).await;
    call.reply(result.map(|name| bodies::learned(&name, &call.id)))
}

/// `POST /sessions/{id}/finalize-training` (row 16).
async fn finalize_training(
    state: web::Data<AppState>,
    Session { call, node, caller }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.finalize_training(&caller.0, &call.id).await;
    call.reply(result.map(|(processed, millis)| {
        let millis = (millis * 100.0).round() / 100.0;
        json!({
            "status": "completed",
            "patterns_processed": processed,
            "time_ms": millis,
            "session_id": call.id,
            "node_id": node.as_str(),
            "message": format!(
                "Computed Shannon entropy and TF vectors for {processed} patterns in {}ms",
                py_float_repr(millis)
            ),
        })
    }))
}

/// `POST /sessions/{id}/clear-stm` (row 17). Any body is ignored (never read).
async fn clear_stm(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.clear_stm(&caller.0, &call.id).await;
    call.reply(result.map(|()| bodies::status("cleared", &call.id)))
}

/// `POST /sessions/{id}/clear-all` (row 18): wipes the node's knowledge base; needs the
/// `admin` scope when auth is on.
async fn clear_all(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.clear_all(&caller.0, &call.id).await;
    call.reply(result.map(|()| json!({"status": "cleared", "session_id": call.id, "scope": "all"})))
}

/// `GET /sessions/{id}/predictions` (row 19), recomputed from the STM. `?unique_id=` ignored.
async fn predictions(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.predictions(&caller.0, &call.id).await;
    call.reply(result.map(|set| bodies::predictions(&set, &call.id)))
}

/// `GET /sessions/{id}/percept-data` (row 20): `{}` before the first observe and after a
/// clear.
async fn percept_data(
    state: web::Data<AppState>,
    Session { call, node, caller }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .sessions
        .read(&caller.0, &call.id, bodies::percept_data)
        .await;
    call.reply(result.map(
        |percept| json!({"percept_data": percept, "session_id": call.id, "node_id": node.as_str()}),
    ))
}

/// `GET /sessions/{id}/cognition-data` (row 21), see [`bodies::cognition_data`].
async fn cognition_data(
    state: web::Data<AppState>,
    Session { call, node, caller }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .sessions
        .read(&caller.0, &call.id, bodies::cognition_data)
        .await;
    call.reply(result.map(|cognition| {
        json!({"cognition_data": cognition, "session_id": call.id, "node_id": node.as_str()})
    }))
}

// ---------------------------------------------------------------------------------------------
// Fallbacks

/// A session sub-resource called with a method it does not serve: the middleware 404 for an
/// unknown session (checked before routing upstream), else 405.
async fn session_method_not_allowed(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = req.match_info().get("session_id").unwrap_or_default();
    live_session(&state, &req, id)?;
    Err(ApiError::http(
        &req,
        ErrorCode::MethodNotAllowed,
        "Method Not Allowed",
    ))
}

/// An unknown path under `/sessions/{id}/`: the middleware 404 for an unknown session, else
/// FastAPI's 404 `Not Found`.
async fn unknown_session_route(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = req.match_info().get("session_id").unwrap_or_default();
    live_session(&state, &req, id)?;
    Err(ApiError::http(&req, ErrorCode::NotFound, "Not Found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn datetimes_serialise_like_pydantic() {
        let at = UNIX_EPOCH + Duration::from_micros(1_777_285_230_123_456);
        assert_eq!(pydantic_datetime(at), "2026-04-27T10:20:30.123456Z");
        let whole = UNIX_EPOCH + Duration::from_secs(1_777_285_230);
        assert_eq!(pydantic_datetime(whole), "2026-04-27T10:20:30Z");
        let early = UNIX_EPOCH + Duration::from_micros(1_777_285_230_000_007);
        assert_eq!(pydantic_datetime(early), "2026-04-27T10:20:30.000007Z");
    }

    #[test]
    fn create_bodies_are_validated_like_pydantic() {
        /// `Ok` or the rejected `(field, message)`.
        type Expected = Result<(), (&'static str, &'static str)>;
        let rows: &[(Value, Expected)] = &[
            (json!({"node_id": "n"}), Ok(())),
            (
                json!({"node_id": "n", "metadata": null, "ttl_seconds": 2.0, "config": null}),
                Ok(()),
            ),
            (json!({}), Err(("node_id", "Field required"))),
            (
                json!({"node_id": null}),
                Err(("node_id", "Input should be a valid string")),
            ),
            (
                json!({"node_id": 5}),
                Err(("node_id", "Input should be a valid string")),
            ),
            (
                json!({"node_id": "n", "metadata": [1]}),
                Err(("metadata", "Input should be a valid dictionary")),
            ),
            (
                json!({"node_id": "n", "ttl_seconds": "x"}),
                Err(("ttl_seconds", "Input should be a valid integer")),
            ),
            (
                json!({"node_id": "n", "ttl_seconds": 1.5}),
                Err(("ttl_seconds", "Input should be a valid integer")),
            ),
            (
                json!({"node_id": "n", "ttl_seconds": -1}),
                Err(("ttl_seconds", "Input should be greater than or equal to 0")),
            ),
            (
                json!([1]),
                Err((
                    "body",
                    "Input should be a valid dictionary or object to extract fields from",
                )),
            ),
        ];
        for (body, expected) in rows {
            let got = parse_create(body)
                .map(|_| ())
                .map_err(|e| (e.field, e.message));
            let expected = expected.map_err(|(f, m)| (f.to_string(), m.to_string()));
            assert_eq!(got, expected, "{body}");
        }
    }
}
