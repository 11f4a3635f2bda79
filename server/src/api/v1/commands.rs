//! The v1 handlers: parse, resolve the session (`routing`), call the session service, answer in
//! the v1 shapes of API.md §2.2. The keys are v1's; where v1 answered `null` for lack of
//! sessions (`session_id`, `stm_length`) the real value is given. `processor_id` is the
//! session's node. Input is validated before a default session is created, so a bad request
//! changes nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::routing::{resolve, LegacyQuery, Target};
use super::SESSION_ID_HEADER;
use crate::api::current::nodes::kb_id;
use crate::api::{input, ApiError, Caller};
use crate::app::AppState;
use crate::auth::Scope;
use crate::engine::kb::NodeKb;
use crate::engine::predict::Prediction;
use crate::engine::session::SequenceOptions;
use crate::session::ServiceError;

/// A reply of a request that reached a session: success or error, it names the session in
/// `X-Session-ID`.
fn tagged(target: &Target, result: Result<Value, ApiError>) -> HttpResponse {
    let mut response = match result {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(error) => actix_web::ResponseError::error_response(&error),
    };
    if let Ok(value) = HeaderValue::from_str(&target.session_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(SESSION_ID_HEADER), value);
    }
    response
}

/// Resolves the call's session (query, headers, default session).
fn target(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
) -> Result<(Target, LegacyQuery), ApiError> {
    let query = LegacyQuery::parse(req)?;
    let target = resolve(req, state, &caller.0, &query)?;
    Ok((target, query))
}

/// v1 predictions: the prediction objects plus `pattern_name: "PTRN|<name>"`.
fn with_pattern_names(predictions: &[Prediction]) -> Vec<Value> {
    predictions
        .iter()
        .map(|prediction| {
            let mut value = serde_json::to_value(prediction).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert(
                    "pattern_name".into(),
                    json!(format!("PTRN|{}", prediction.name())),
                );
            }
            value
        })
        .collect()
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `POST /observe`: `{status:"okay", session_id, processor_id, stm_length, time, unique_id,
/// auto_learned_pattern}`; the server assigns the `unique_id`.
pub async fn observe(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let observation = input::observation(&body, &state.limits, "")
        .map_err(|e| ApiError::body(&req, &e.field, e.message))?;
    let (target, _) = target(&req, &state, &caller)?;
    let unique_id = format!("obs-{}", uuid::Uuid::new_v4().simple());
    let result = state
        .sessions
        .observe(&caller.0, &target.session_id, observation, unique_id)
        .await
        .map(|observed| {
            json!({
                "status": "okay",
                "session_id": target.session_id,
                "processor_id": target.node,
                "stm_length": observed.stm_length,
                "time": observed.time,
                "unique_id": observed.unique_id,
                "auto_learned_pattern": observed.auto_learned_pattern,
            })
        })
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `GET /stm` and `GET /short-term-memory`: `{stm, session_id, length}`.
pub async fn stm(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, _) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .stm(&caller.0, &target.session_id)
        .await
        .map(|stm| json!({"stm": stm, "session_id": target.session_id, "length": stm.len()}))
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `POST /learn`: `{status:"learned", pattern_name, processor_id}`. An empty STM is 400
/// "Cannot learn from empty STM" (v1 turned it into a 500 by accident; HEAD's 400 is kept).
pub async fn learn(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, _) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .learn(&caller.0, &target.session_id)
        .await
        .map(|pattern_name| {
            json!({"status": "learned", "pattern_name": pattern_name, "processor_id": target.node})
        })
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `POST /clear-stm` and `/clear-short-term-memory`.
pub async fn clear_stm(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, _) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .clear_stm(&caller.0, &target.session_id)
        .await
        .map(|()| json!({"status": "okay", "message": "stm-cleared"}))
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `POST /clear-all` and `/clear-all-memory`: the session's state and its node's whole
/// knowledge base; needs the `admin` scope when auth is on.
pub async fn clear_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, _) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .clear_all(&caller.0, &target.session_id)
        .await
        .map(|()| json!({"status": "okay", "message": "all-cleared"}))
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `GET`/`POST /predictions?unique_id=`: `{predictions, count, processor_id, time, unique_id}`,
/// `time` in Unix seconds as v1 had it; a POST body is ignored.
pub async fn predictions(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, query) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .predictions(&caller.0, &target.session_id)
        .await
        .map(|set| {
            json!({
                "predictions": with_pattern_names(&set.predictions),
                "count": set.predictions.len(),
                "processor_id": target.node,
                "time": unix_seconds(),
                "unique_id": query.unique_id,
            })
        })
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `POST /observe-sequence`: as v1, every batch starts from an empty STM (the session's STM
/// and accumulators are cleared first), then the HEAD sequence semantics apply.
/// `patterns_learned` lists the names actually stored (auto-learns and explicit learns that
/// had at least 2 symbols); `final_predictions` are computed after the batch.
pub async fn observe_sequence(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::body(&req, "body", "Input should be a valid dictionary"))?;
    let observations = input::observations(object.get("observations"), &state.limits)
        .map_err(|e| ApiError::body(&req, &e.field, e.message))?;
    let flag = |name: &str| {
        input::flag(object, name).map_err(|e| ApiError::body(&req, &e.field, e.message))
    };
    let options = SequenceOptions {
        learn_after_each: flag("learn_after_each")?,
        learn_at_end: flag("learn_at_end")?,
        clear_stm_between: flag("clear_stm_between")?,
    };
    let unique_ids: Vec<String> = observations
        .iter()
        .map(|o| {
            o.unique_id
                .clone()
                .unwrap_or_else(|| format!("seq-obs-{}", uuid::Uuid::new_v4().simple()))
        })
        .collect();
    let principal = &caller.0;
    // The sequence's own scope check comes after the clear; refuse before changing anything.
    if (options.learn_after_each || options.learn_at_end) && !principal.has(Scope::Learn) {
        return Err(ApiError::service(
            &req,
            ServiceError::Forbidden("the credentials lack the 'learn' scope".into()),
        ));
    }
    let (target, _) = target(&req, &state, &caller)?;
    let id = &target.session_id;
    let result = async {
        state.sessions.clear_stm(principal, id).await?;
        let outcome = state
            .sessions
            .observe_sequence(principal, id, observations, unique_ids, options)
            .await?;
        let final_predictions = state.sessions.predictions(principal, id).await?;
        Ok::<_, ServiceError>((outcome, final_predictions))
    }
    .await
    .map(|(outcome, final_predictions)| {
        let individual_results: Vec<Value> = outcome
            .results
            .iter()
            .map(|item| {
                json!({
                    "status": "okay",
                    "processor_id": target.node,
                    "unique_id": item.observed.unique_id,
                    "time": item.observed.time,
                    "auto_learned_pattern": item.observed.auto_learned_pattern,
                })
            })
            .collect();
        let patterns_learned: Vec<&String> = outcome
            .auto_learned_patterns
            .iter()
            .filter(|name| !name.is_empty())
            .collect();
        json!({
            "status": "okay",
            "processor_id": target.node,
            "observations_processed": outcome.results.len(),
            "patterns_learned": patterns_learned,
            "individual_results": individual_results,
            "final_predictions": with_pattern_names(&final_predictions.predictions),
        })
    })
    .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// HEAD's pattern result (API.md §1.2 row 23, same object as the current surface's): found,
/// or `status: "error"` (still 200).
fn pattern_result(kb: &NodeKb, pattern_id: &str) -> Value {
    match kb.pattern_by_name(pattern_id) {
        Some(pattern) => json!({"status": "okay", "pattern": {
            "name": format!("PTRN|{}", pattern.hash),
            "pattern_data": kb.pattern_events(pattern),
            "length": pattern.length(),
            "frequency": pattern.frequency,
            "emotives": pattern.emotives,
            "metadata": pattern.metadata,
        }}),
        None => json!({"status": "error", "message": format!("Pattern {pattern_id} not found")}),
    }
}

/// `GET /pattern/{id}` with `X-Session-ID`: the pattern in that session's node,
/// `{pattern, node_id}` (v1's `{pattern}` plus HEAD's `node_id`, the node's kb_id as the
/// current surface gives it).
pub async fn pattern(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pattern_id = path.into_inner();
    let (target, _) = target(&req, &state, &caller)?;
    let principal = &caller.0;
    let result = async {
        // Ownership (403/404) and the TTL slide, as every session command.
        let info = state.sessions.info(principal, &target.session_id)?;
        state
            .sessions
            .node_read(principal, info.node.as_str(), move |kb| {
                pattern_result(kb, &pattern_id)
            })
            .await
    }
    .await
    .map(|pattern| json!({"pattern": pattern, "node_id": kb_id(&target.node)}))
    .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `GET /percept-data` with `X-Session-ID`: `{percept_data, session_id, node_id}`, `{}`
/// before the first observe.
pub async fn percept_data(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, _) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .read(&caller.0, &target.session_id, |data| {
            data.state
                .percept_data
                .as_ref()
                .map_or_else(|| json!({}), |p| json!(p))
        })
        .await
        .map(|percept| {
            json!({"percept_data": percept, "session_id": target.session_id, "node_id": target.node})
        })
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}

/// `GET /cognition-data` with `X-Session-ID`: the session-level cognition data (API.md §1.2
/// row 21), `{cognition_data, session_id, node_id}`.
pub async fn cognition_data(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (target, _) = target(&req, &state, &caller)?;
    let result = state
        .sessions
        .read(&caller.0, &target.session_id, |data| {
            let session = &data.state;
            let symbols: Vec<&String> = session.stm.iter().flatten().collect();
            let emotives = session
                .percept_data
                .as_ref()
                .map_or_else(|| json!({}), |p| json!(p.emotives));
            json!({
                "predictions": session.predictions.predictions,
                "emotives": emotives,
                "symbols": symbols,
                "command": "",
                "metadata": {},
                "path": [],
                "strings": [],
                "vectors": [],
                "short_term_memory": session.stm,
                "time": session.time,
            })
        })
        .await
        .map(|cognition| {
            json!({"cognition_data": cognition, "session_id": target.session_id, "node_id": target.node})
        })
        .map_err(|e| ApiError::service(&req, e));
    Ok(tagged(&target, result))
}
