//! `get_predictions {id}` → `predictions {...}` (PROTOCOL.md §4): recomputed from the bound
//! session's STM via `SessionService::predictions_view` (one command); no STM change.

use serde_json::json;

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, id: u64) -> Outcome {
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let view = match conn
        .state
        .sessions
        .predictions_view(principal, session)
        .await
    {
        Ok(view) => view,
        Err(e) => return Outcome::error(super::service_error(Some(id), &e)),
    };
    // The engine's prediction structs serialise exactly as the protocol's `Predictions`
    // frame fields (server/tests/protocol_conformance.rs), so they are written directly.
    Outcome::Reply(json!({
        "type": "predictions",
        "id": id,
        "unique_id": null,
        "time": view.time,
        "stm_length": view.stm_length,
        "auto_learned_pattern": null,
        "predictions": view.set.predictions,
        "future_potentials": view.set.future_potentials,
        "elapsed_us": view.engine_time.as_micros() as u64,
        "offset": view.offset,
    }))
}
