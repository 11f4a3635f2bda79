//! `observe_sequence {id, observations, learn_after_each?, learn_at_end?, clear_stm_between?}`
//! → one `sequence_result` (PROTOCOL.md §4): the REST observe-sequence fields plus the
//! predictions for the final STM. Parsed with the REST limits; applied in one command.

use kato_protocol::client::ObserveSequence;
use serde_json::{json, Value};

use super::{validation, Connection, Outcome};
use crate::api::bodies::{self, SequenceRequest};

pub(super) async fn handle(conn: &Connection, frame: ObserveSequence, raw: &Value) -> Outcome {
    let id = frame.id;
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let Some(object) = raw.as_object() else {
        return Outcome::error(validation(Some(id), "frame", "a frame must be an object"));
    };
    let request = match SequenceRequest::parse(object, &conn.state.limits) {
        Ok(request) => request,
        Err(e) => return Outcome::error(validation(Some(id), &e.field, e.message)),
    };
    let processed = request.observations.len();
    let result = conn
        .state
        .sessions
        .observe_sequence_event(
            principal,
            session,
            request.observations,
            request.unique_ids,
            request.options,
            true,
        )
        .await;
    let (outcome, predictions, offset) = match result {
        Ok(result) => result,
        Err(e) => return Outcome::error(super::service_error(Some(id), &e)),
    };
    let node = conn
        .state
        .sessions
        .owner_of(session)
        .map(|(_, node)| node.to_string())
        .unwrap_or_default();
    let mut reply = bodies::sequence_result(&outcome, &node, processed);
    let (predictions, future_potentials) = match &predictions {
        Some(set) => (json!(set.predictions), json!(set.future_potentials)),
        None => (json!([]), json!([])),
    };
    reply.insert("type".into(), json!("sequence_result"));
    reply.insert("id".into(), json!(id));
    reply.insert("predictions".into(), predictions);
    reply.insert("future_potentials".into(), future_potentials);
    reply.insert("offset".into(), json!(offset));
    Outcome::Reply(Value::Object(reply))
}
