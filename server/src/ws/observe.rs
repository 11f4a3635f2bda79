//! `observe {id, strings?, vectors?, emotives?, metadata?, unique_id?}` → `predictions`
//! (PROTOCOL.md §4, §8): validated with the REST input limits, applied via
//! `SessionService::observe_event` (which also publishes the `observed` event); a `unique_id`
//! already applied on the session is answered from the stored result, never applied twice.

use kato_protocol::client::Observe;
use serde_json::{json, Value};

use super::{validation, Connection, Outcome};
use crate::api::{bodies, input};
use crate::session::{ObserveOutcome, Replayed};

/// The `predictions` reply for request `id` from an `observed` event's `data` (the reply
/// without `type`/`id`), without re-serialising the predictions.
pub(super) fn reply_from(id: u64, data: &str) -> String {
    let fields = data.strip_prefix('{').unwrap_or(data);
    let mut reply = String::with_capacity(data.len() + 40);
    reply.push_str(r#"{"type":"predictions","id":"#);
    reply.push_str(&id.to_string());
    if !fields.starts_with('}') {
        reply.push(',');
    }
    reply.push_str(fields);
    reply
}

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
        Some(unique_id) if unique_id.is_empty() || unique_id.len() > input::MAX_ID_BYTES => {
            return Outcome::error(validation(
                Some(id),
                "unique_id",
                format!("1 to {} bytes", input::MAX_ID_BYTES),
            ))
        }
        Some(unique_id) => unique_id,
        None => bodies::observe_unique_id(),
    };
    let result = conn
        .state
        .sessions
        .observe_event(principal, session, observation, unique_id.clone(), true)
        .await;
    match result {
        Ok(ObserveOutcome::Applied { event, .. }) => Outcome::Text(reply_from(id, event.data())),
        Ok(ObserveOutcome::Replayed(Replayed::Stored(event))) => {
            Outcome::Text(reply_from(id, event.data()))
        }
        Ok(ObserveOutcome::Replayed(Replayed::Evicted { offset })) => {
            let mut frame = validation(
                Some(id),
                "unique_id",
                format!(
                    "observation {unique_id} was already applied (event offset {offset}); its \
                     result is no longer stored: read the state with get_stm/get_predictions"
                ),
            );
            if let Some(details) = frame.details.as_mut() {
                details.insert("applied_offset".into(), json!(offset));
            }
            Outcome::error(frame)
        }
        Err(e) => Outcome::error(super::service_error(Some(id), &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::reply_from;

    #[test]
    fn reply_splices_the_id() {
        let reply = reply_from(7, r#"{"unique_id":"u","offset":3}"#);
        let value: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(value["type"], "predictions");
        assert_eq!(value["id"], 7);
        assert_eq!(value["offset"], 3);
        assert_eq!(reply_from(1, "{}"), r#"{"type":"predictions","id":1}"#);
    }
}
