//! `get_predictions {id}` → `predictions {...}` (PROTOCOL.md §4): recomputed from the bound
//! session's STM via `SessionService::predictions_view` (one command); no STM change. The
//! reply is written by the same serialiser as `observe`'s (`PredictionsPayload`).

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
    match serde_json::to_string(&view.payload()) {
        Ok(data) => Outcome::Text(super::observe::reply_from(id, &data)),
        Err(e) => Outcome::error(super::error(
            Some(id),
            kato_protocol::ErrorCode::Internal,
            format!("reply encoding failed: {e}"),
        )),
    }
}
