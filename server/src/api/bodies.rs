//! Response bodies and request pieces that more than one REST surface serves in the same
//! shape (the observe result, predictions, STM, pattern object, percept and cognition data,
//! the sequence options and server-assigned ids). One place per rule; a surface that differs
//! keeps its own builder. Never calls the session service or touches an error shape.

use serde_json::{json, Map, Value};

use crate::api::input::{self, FieldError, InputLimits};
use crate::auth::Principal;
use crate::engine::kb::NodeKb;
use crate::engine::observation::Observation;
use crate::engine::predict::PredictionSet;
use crate::engine::session::{Observed, SequenceOptions};
use crate::session::{ServiceError, SessionData, SessionInfo, SessionService};

/// The id the server assigns to a single observe (`obs-<32 hex>`); the client's is ignored.
pub fn observe_unique_id() -> String {
    format!("obs-{}", uuid::Uuid::new_v4().simple())
}

/// The parsed body of an observe-sequence: the observations, each item's id (the client's
/// `unique_id`, else `seq-obs-<32 hex>`) and the flags.
pub struct SequenceRequest {
    pub observations: Vec<Observation>,
    pub unique_ids: Vec<String>,
    pub options: SequenceOptions,
}

impl SequenceRequest {
    /// Parses `observations` and the three flags, naming the first bad field.
    pub fn parse(object: &Map<String, Value>, limits: &InputLimits) -> Result<Self, FieldError> {
        let observations = input::observations(object.get("observations"), limits)?;
        let options = SequenceOptions {
            learn_after_each: input::flag(object, "learn_after_each")?,
            learn_at_end: input::flag(object, "learn_at_end")?,
            clear_stm_between: input::flag(object, "clear_stm_between")?,
        };
        let unique_ids = observations
            .iter()
            .map(|o| {
                o.unique_id
                    .clone()
                    .unwrap_or_else(|| format!("seq-obs-{}", uuid::Uuid::new_v4().simple()))
            })
            .collect();
        Ok(SequenceRequest {
            observations,
            unique_ids,
            options,
        })
    }
}

/// A create-session request once a surface validated it (each surface with its own
/// messages): the node, metadata, TTL and config overrides.
pub struct CreateRequest {
    pub node_id: String,
    pub metadata: Map<String, Value>,
    pub ttl_seconds: Option<u64>,
    pub config: Option<Value>,
}

impl CreateRequest {
    /// Creates the session (always a new one) for `principal`.
    pub fn create(
        self,
        sessions: &SessionService,
        principal: &Principal,
    ) -> Result<SessionInfo, ServiceError> {
        sessions.create(
            principal,
            &self.node_id,
            self.config.as_ref(),
            self.metadata,
            self.ttl_seconds,
        )
    }
}

/// The observe result: `status` is `"okay"` (current, v1) or `"ok"` (v2); `processor_id` the
/// session's node (`null` where it is unknown).
pub fn observation_result(
    status: &str,
    session_id: &str,
    processor_id: Option<&str>,
    observed: &Observed,
) -> Value {
    json!({
        "status": status,
        "session_id": session_id,
        "processor_id": processor_id,
        "stm_length": observed.stm_length,
        "time": observed.time,
        "unique_id": observed.unique_id,
        "auto_learned_pattern": observed.auto_learned_pattern,
    })
}

/// HEAD's predictions response (current and v2).
pub fn predictions(set: &PredictionSet, session_id: &str) -> Value {
    json!({
        "predictions": set.predictions,
        "future_potentials": set.future_potentials,
        "session_id": session_id,
        "processor_id": null,
        "count": set.predictions.len(),
        "time": null,
        "unique_id": null,
    })
}

/// HEAD's learn response (current and v2). The message counts the STM events left after the
/// learn, as upstream HEAD's does (always 0: a learn empties the STM).
pub fn learned(pattern_name: &str, session_id: &str) -> Value {
    json!({
        "status": "learned",
        "pattern_name": pattern_name,
        "session_id": session_id,
        "processor_id": null,
        "message": format!("Learned pattern {pattern_name} from 0 events"),
    })
}

/// `{stm, session_id, length}` (every surface).
pub fn stm<T: serde::Serialize>(stm: &[T], session_id: &str) -> Value {
    json!({"stm": stm, "session_id": session_id, "length": stm.len()})
}

/// `{session_id, config}` (current and v2).
pub fn session_config(session_id: &str, config: &impl serde::Serialize) -> Value {
    json!({"session_id": session_id, "config": config})
}

/// The answer to a config update (current and v2).
pub fn config_updated(session_id: &str) -> Value {
    json!({"status": "okay", "message": "Configuration updated", "session_id": session_id})
}

/// The answer to a TTL extension (current and v2).
pub fn extended(session_id: &str, ttl_seconds: u64) -> Value {
    json!({"status": "extended", "session_id": session_id, "ttl_seconds": ttl_seconds})
}

/// `{status: <status>, session_id}` (delete: `"deleted"`, clear-stm: `"cleared"`).
pub fn status(status: &str, session_id: &str) -> Value {
    json!({"status": status, "session_id": session_id})
}

/// The session's percept data: `{}` before the first observe and after a clear.
pub fn percept_data(data: &SessionData) -> Value {
    data.state
        .percept_data
        .as_ref()
        .map_or_else(|| json!({}), |p| json!(p))
}

/// The session-level cognition data: the last observe's predictions, the averaged emotives,
/// the STM flattened and as events, and the session time.
pub fn cognition_data(data: &SessionData) -> Value {
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
}

/// HEAD's pattern result (API.md §1.2 row 23): `{status: "okay", pattern}` when the node
/// holds it (id with or without `PTRN|`), else `status: "error"` (still a 200).
pub fn pattern_result(kb: &NodeKb, pattern_id: &str) -> Value {
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

/// The `ObservationSequenceResult` body of an observe-sequence (API.md §1.3), shared by the
/// current surface and the WebSocket `sequence_result` (which adds its own fields).
pub fn sequence_result(
    outcome: &crate::engine::session::SequenceOutcome,
    processor_id: &str,
    processed: usize,
) -> Map<String, Value> {
    let results: Vec<Value> = outcome
        .results
        .iter()
        .map(|item| {
            serde_json::json!({
                "status": "okay",
                "sequence_position": item.sequence_position,
                "stm_length": item.observed.stm_length,
                "time": item.observed.time,
                "unique_id": item.observed.unique_id,
                "auto_learned_pattern": item.observed.auto_learned_pattern,
            })
        })
        .collect();
    let body = serde_json::json!({
        "status": "completed",
        "processor_id": processor_id,
        "observations_processed": processed,
        "initial_stm_length": outcome.initial_stm_length,
        "final_stm_length": outcome.final_stm_length,
        "results": results,
        "auto_learned_patterns": outcome.auto_learned_patterns,
        "final_learned_pattern": outcome.final_learned_pattern,
        "isolated": outcome.isolated,
    });
    match body {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
