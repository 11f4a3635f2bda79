//! Frames the server sends (PROTOCOL.md §3–§5): replies echo the request's `id`;
//! server-initiated frames (`event`, `token_expiring`, some `error`s) carry none.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client::{RequestId, SessionConfig};
use crate::error::ErrorCode;
use crate::prediction::{Event as StmEvent, FuturePotential, Prediction};

/// Every frame the server may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome(Welcome),
    Predictions(Predictions),
    SequenceResult(SequenceResult),
    Learned(Learned),
    Stm(Stm),
    Ack(Ack),
    Config(ConfigReply),
    Pong(Pong),
    Event(Event),
    TokenExpiring(TokenExpiring),
    Error(Error),
}

/// Reply to `hello`: the bound session and the connection's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Welcome {
    pub id: RequestId,
    pub session_id: String,
    pub node_id: String,
    pub stm: Vec<StmEvent>,
    /// The session's effective config.
    pub config: SessionConfig,
    /// Event stream position: the session's epoch and its last offset.
    pub epoch: String,
    pub offset: u64,
    pub limits: Limits,
    pub server: ServerInfo,
    /// Seconds until the credential expires; absent when it never does (API keys, auth off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_in_s: Option<u64>,
    /// Present when `hello.resume` was sent: whether the missed events were replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
}

/// Flow-control limits of the connection (PROTOCOL.md §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Limits {
    pub observe_per_second: u32,
    pub burst: u32,
    pub max_frame_bytes: u64,
}

/// Which server answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServerInfo {
    pub version: String,
    pub instance: String,
}

/// Reply to `observe` and `get_predictions`: predictions for the session's STM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Predictions {
    pub id: RequestId,
    /// The observation's id; `null` for `get_predictions`.
    pub unique_id: Option<String>,
    pub time: u64,
    pub stm_length: u64,
    /// `PTRN|…` when the observe auto-learned a pattern, else `null`.
    pub auto_learned_pattern: Option<String>,
    pub predictions: Vec<Prediction>,
    pub future_potentials: Vec<FuturePotential>,
    /// Engine time of this request, in microseconds (PROTOCOL.md §8).
    pub elapsed_us: u64,
    /// The session's event offset after this request.
    pub offset: u64,
}

/// Reply to `observe_sequence`: the REST `ObservationSequenceResult` fields plus the
/// predictions for the final STM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SequenceResult {
    pub id: RequestId,
    pub status: String,
    pub processor_id: String,
    pub observations_processed: u64,
    pub initial_stm_length: u64,
    pub final_stm_length: u64,
    pub results: Vec<SequenceItem>,
    pub auto_learned_patterns: Vec<String>,
    pub final_learned_pattern: Option<String>,
    pub isolated: bool,
    pub predictions: Vec<Prediction>,
    #[serde(default)]
    pub future_potentials: Vec<FuturePotential>,
    /// The session's event offset after the sequence.
    pub offset: u64,
}

/// One observation's outcome inside `sequence_result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SequenceItem {
    pub status: String,
    pub sequence_position: u64,
    pub stm_length: u64,
    pub time: u64,
    pub unique_id: String,
    pub auto_learned_pattern: Option<String>,
}

/// Reply to `learn`; `pattern_name` is `""` when the STM had fewer than 2 symbols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Learned {
    pub id: RequestId,
    pub pattern_name: String,
}

/// Reply to `get_stm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Stm {
    pub id: RequestId,
    pub stm: Vec<StmEvent>,
    pub length: u64,
}

/// Reply to `clear_stm`, `clear_all`, `watch`, `unwatch` and `refresh` (which adds
/// `token_expires_in_s`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ack {
    pub id: RequestId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_in_s: Option<u64>,
}

/// Reply to `config`: the session's effective config after the update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigReply {
    pub id: RequestId,
    pub config: SessionConfig,
}

/// Reply to `ping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Pong {
    pub id: RequestId,
    /// Server clock, Unix time in milliseconds.
    pub server_time: u64,
}

/// A state change of a watched session (PROTOCOL.md §5). On the wire `kind` and `data` are
/// sibling fields: `{"type":"event","session_id":…,"epoch":…,"offset":…,"kind":"learned","data":{…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub session_id: String,
    pub epoch: String,
    /// Monotonically increasing inside `epoch`, from 1.
    pub offset: u64,
    #[serde(flatten)]
    pub change: Change,
}

/// What changed (`kind`) and its details (`data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Change {
    /// An observation was applied.
    Observed(Observed),
    /// A learn ran; `pattern_name` is `""` when nothing was learned.
    Learned(LearnedData),
    /// The STM was cleared (`clear_stm`), or with `knowledge_base_cleared` the whole node
    /// (`clear_all`).
    StmCleared(StmCleared),
    /// The session's config changed; `config` is the effective config.
    ConfigChanged(ConfigChanged),
    /// The session was deleted.
    Deleted(Empty),
    /// The session's TTL ran out.
    Expired(Empty),
}

impl Change {
    pub fn kind(&self) -> EventKind {
        match self {
            Change::Observed(_) => EventKind::Observed,
            Change::Learned(_) => EventKind::Learned,
            Change::StmCleared(_) => EventKind::StmCleared,
            Change::ConfigChanged(_) => EventKind::ConfigChanged,
            Change::Deleted(_) => EventKind::Deleted,
            Change::Expired(_) => EventKind::Expired,
        }
    }
}

/// `data` of an `observed` event. For a single `observe` it is the `predictions` reply
/// without `id`; for each item of `observe_sequence` it has `sequence_position` and no
/// `elapsed_us`, and only the last item carries the final predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    pub unique_id: String,
    pub time: u64,
    pub stm_length: u64,
    pub auto_learned_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<Vec<Prediction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub future_potentials: Option<Vec<FuturePotential>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_us: Option<u64>,
    /// This event's offset.
    pub offset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_position: Option<u64>,
}

/// `data` of a `learned` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LearnedData {
    pub pattern_name: String,
}

/// `data` of a `stm_cleared` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StmCleared {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knowledge_base_cleared: Option<bool>,
}

/// `data` of a `config_changed` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigChanged {
    pub config: SessionConfig,
}

/// `data` of events that carry nothing: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Empty {}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Observed,
    Learned,
    StmCleared,
    ConfigChanged,
    Deleted,
    Expired,
}

/// Sent 30 s before the token's `exp`; answer with `refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenExpiring {
    pub in_s: u64,
}

/// A failed request (with its `id`) or a connection-level problem (without).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Error {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    pub code: ErrorCode,
    pub message: String,
    /// Names the offending field, limits, etc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
    pub trace_id: String,
    /// With `KATO_RATE_LIMITED`: when the frame may be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}
