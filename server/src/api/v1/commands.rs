//! The v1 handlers: parse, resolve the session (`routing`), call the session service, answer in
//! the v1 shapes of API.md §2.2. The keys are v1's; where v1 answered `null` for lack of
//! sessions (`session_id`, `stm_length`) the real value is given. `processor_id` is the
//! session's node. Input is validated before a default session is created, so a bad request
//! changes nothing.

use std::future::{ready, Ready};
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::routing::{resolve, LegacyQuery};
use crate::api::bodies::{self, SequenceRequest};
use crate::api::current::nodes::kb_id;
use crate::api::session_call::{authenticated, SessionCall};
use crate::api::{input, ApiError, Caller};
use crate::app::AppState;
use crate::auth::Scope;
use crate::engine::predict::Prediction;
use crate::session::ServiceError;

/// Resolves the call's session (query, headers, default session): the call, whose reply
/// (success or error) names the session in `X-Session-ID`, the session's node and the query.
fn open(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
) -> Result<(SessionCall, String, LegacyQuery), ApiError> {
    let query = LegacyQuery::parse(req)?;
    let target = resolve(req, state, &caller.0, &query)?;
    let call = SessionCall::new(req, target.session_id, ApiError::service, true);
    Ok((call, target.node, query))
}

/// A v1 command that has no body to validate first: the authenticated caller (401 first),
/// then [`open`]. `observe` and `observe-sequence` validate their body before they call
/// [`open`], so a bad request never creates a default session.
pub struct Session {
    call: SessionCall,
    node: String,
    query: LegacyQuery,
    caller: Caller,
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(authenticated(req, payload).and_then(|(caller, state)| {
            let (call, node, query) = open(req, state, &caller)?;
            Ok(Session {
                call,
                node,
                query,
                caller,
            })
        }))
    }
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
    let (call, node, _) = open(&req, &state, &caller)?;
    let result = state
        .sessions
        .observe(
            &caller.0,
            &call.id,
            observation,
            bodies::observe_unique_id(),
        )
        .await;
    call.reply(
        result.map(|observed| bodies::observation_result("okay", &call.id, Some(&node), &observed)),
    )
}

/// `GET /stm` and `GET /short-term-memory`: `{stm, session_id, length}`.
pub async fn stm(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.stm(&caller.0, &call.id).await;
    call.reply(result.map(|stm| bodies::stm(&stm, &call.id)))
}

/// `POST /learn`: `{status:"learned", pattern_name, processor_id}`. An empty STM is 400
/// "Cannot learn from empty STM" (v1 turned it into a 500 by accident; HEAD's 400 is kept).
pub async fn learn(
    state: web::Data<AppState>,
    Session {
        call, node, caller, ..
    }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.learn(&caller.0, &call.id).await;
    call.reply(result.map(|pattern_name| {
        json!({"status": "learned", "pattern_name": pattern_name, "processor_id": node})
    }))
}

/// `POST /clear-stm` and `/clear-short-term-memory`.
pub async fn clear_stm(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.clear_stm(&caller.0, &call.id).await;
    call.reply(result.map(|()| json!({"status": "okay", "message": "stm-cleared"})))
}

/// `POST /clear-all` and `/clear-all-memory`: the session's state and its node's whole
/// knowledge base; needs the `admin` scope when auth is on.
pub async fn clear_all(
    state: web::Data<AppState>,
    Session { call, caller, .. }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.clear_all(&caller.0, &call.id).await;
    call.reply(result.map(|()| json!({"status": "okay", "message": "all-cleared"})))
}

/// `GET`/`POST /predictions?unique_id=`: `{predictions, count, processor_id, time, unique_id}`,
/// `time` in Unix seconds as v1 had it; a POST body is ignored.
pub async fn predictions(
    state: web::Data<AppState>,
    Session {
        call,
        node,
        query,
        caller,
    }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state.sessions.predictions(&caller.0, &call.id).await;
    call.reply(result.map(|set| {
        json!({
            "predictions": with_pattern_names(&set.predictions),
            "count": set.predictions.len(),
            "processor_id": node,
            "time": unix_seconds(),
            "unique_id": query.unique_id,
        })
    }))
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
    let request = SequenceRequest::parse(object, &state.limits)
        .map_err(|e| ApiError::body(&req, &e.field, e.message))?;
    let principal = &caller.0;
    let options = request.options;
    // The sequence's own scope check comes after the clear; refuse before changing anything.
    if (options.learn_after_each || options.learn_at_end) && !principal.has(Scope::Learn) {
        return Err(ApiError::service(
            &req,
            ServiceError::Forbidden("the credentials lack the 'learn' scope".into()),
        ));
    }
    let (call, node, _) = open(&req, &state, &caller)?;
    let id = &call.id;
    let result = async {
        state.sessions.clear_stm(principal, id).await?;
        let outcome = state
            .sessions
            .observe_sequence(
                principal,
                id,
                request.observations,
                request.unique_ids,
                options,
            )
            .await?;
        let final_predictions = state.sessions.predictions(principal, id).await?;
        Ok::<_, ServiceError>((outcome, final_predictions))
    }
    .await;
    call.reply(result.map(|(outcome, final_predictions)| {
        let individual_results: Vec<Value> = outcome
            .results
            .iter()
            .map(|item| {
                json!({
                    "status": "okay",
                    "processor_id": node,
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
            "processor_id": node,
            "observations_processed": outcome.results.len(),
            "patterns_learned": patterns_learned,
            "individual_results": individual_results,
            "final_predictions": with_pattern_names(&final_predictions.predictions),
        })
    }))
}

/// `GET /pattern/{id}` with `X-Session-ID`: the pattern in that session's node,
/// `{pattern, node_id}` (v1's `{pattern}` plus HEAD's `node_id`, the node's kb_id as the
/// current surface gives it; the pattern object is the current surface's).
pub async fn pattern(
    state: web::Data<AppState>,
    Session {
        call, node, caller, ..
    }: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pattern_id = path.into_inner();
    let principal = &caller.0;
    let result = async {
        // Ownership (403/404) and the TTL slide, as every session command.
        let info = state.sessions.info(principal, &call.id)?;
        state
            .sessions
            .node_read(principal, info.node.as_str(), move |kb| {
                bodies::pattern_result(kb, &pattern_id)
            })
            .await
    }
    .await;
    call.reply(result.map(|pattern| json!({"pattern": pattern, "node_id": kb_id(&node)})))
}

/// `GET /percept-data` with `X-Session-ID`: `{percept_data, session_id, node_id}`, `{}`
/// before the first observe.
pub async fn percept_data(
    state: web::Data<AppState>,
    Session {
        call, node, caller, ..
    }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .sessions
        .read(&caller.0, &call.id, bodies::percept_data)
        .await;
    call.reply(
        result.map(
            |percept| json!({"percept_data": percept, "session_id": call.id, "node_id": node}),
        ),
    )
}

/// `GET /cognition-data` with `X-Session-ID`: the session-level cognition data (API.md §1.2
/// row 21), `{cognition_data, session_id, node_id}`.
pub async fn cognition_data(
    state: web::Data<AppState>,
    Session {
        call, node, caller, ..
    }: Session,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .sessions
        .read(&caller.0, &call.id, bodies::cognition_data)
        .await;
    call.reply(result.map(
        |cognition| json!({"cognition_data": cognition, "session_id": call.id, "node_id": node}),
    ))
}
