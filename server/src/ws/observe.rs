//! `observe {id, strings?, vectors?, emotives?, metadata?, unique_id?}` → `predictions`
//! (PROTOCOL.md §4): validated with the REST input limits, applied via
//! `SessionService::observe`; the reply carries the observe-time predictions.

use std::time::Instant;

use kato_protocol::client::Observe;
use serde_json::{json, Value};

use super::{validation, Connection, Outcome};
use crate::api::{bodies, input};

pub(super) async fn handle(conn: &Connection, frame: Observe, raw: &Value) -> Outcome {
    let id = frame.id;
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let observation = match input::observation(raw, &conn.state.limits, "") {
        Ok(observation) => observation,
        Err(e) => return Outcome::error(validation(Some(id), &e.field, e.message)),
    };
    let unique_id = match frame.unique_id {
        Some(unique_id) if unique_id.len() > input::MAX_ID_BYTES => {
            return Outcome::error(validation(
                Some(id),
                "unique_id",
                format!("at most {} bytes", input::MAX_ID_BYTES),
            ))
        }
        Some(unique_id) => unique_id,
        None => bodies::observe_unique_id(),
    };
    let started = Instant::now();
    let result = conn
        .state
        .sessions
        .observe(principal, session, observation, unique_id)
        .await;
    let elapsed_us = started.elapsed().as_micros() as u64;
    let observed = match result {
        Ok(observed) => observed,
        Err(e) => return Outcome::error(super::service_error(Some(id), &e)),
    };
    let (predictions, future_potentials) = match &observed.predictions {
        Some(set) => (json!(set.predictions), json!(set.future_potentials)),
        None => (json!([]), json!([])),
    };
    Outcome::Reply(json!({
        "type": "predictions",
        "id": id,
        "unique_id": observed.unique_id,
        "time": observed.time,
        "stm_length": observed.stm_length,
        "auto_learned_pattern": observed.auto_learned_pattern,
        "predictions": predictions,
        "future_potentials": future_potentials,
        "elapsed_us": elapsed_us,
        "offset": 0,
    }))
}
