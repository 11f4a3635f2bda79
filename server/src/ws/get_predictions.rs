//! `get_predictions {id}` → `predictions {...}` (PROTOCOL.md §4): recomputed from the bound
//! session's STM via `SessionService::predictions`; no STM change.

use std::time::Instant;

use serde_json::json;

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, id: u64) -> Outcome {
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let started = Instant::now();
    let result = conn.state.sessions.predictions(principal, session).await;
    let elapsed_us = started.elapsed().as_micros() as u64;
    let set = match result {
        Ok(set) => set,
        Err(e) => return Outcome::error(super::service_error(Some(id), &e)),
    };
    let read = conn
        .state
        .sessions
        .read(principal, session, |data| {
            (data.state.time, data.state.stm.len() as u64)
        })
        .await;
    let (time, stm_length) = match read {
        Ok(read) => read,
        Err(e) => return Outcome::error(super::service_error(Some(id), &e)),
    };
    Outcome::Reply(json!({
        "type": "predictions",
        "id": id,
        "unique_id": null,
        "time": time,
        "stm_length": stm_length,
        "auto_learned_pattern": null,
        "predictions": set.predictions,
        "future_potentials": set.future_potentials,
        "elapsed_us": elapsed_us,
        "offset": 0,
    }))
}
