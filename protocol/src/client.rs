//! Frames a client sends (PROTOCOL.md §3, §4): one JSON object per text frame, tagged by
//! `type`. Every request carries a client-chosen `id` that its reply echoes. Unknown fields are
//! ignored; missing required fields and wrong types are parse errors. Parsing only: the server
//! validates values (limits, names, config keys) after this.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request id chosen by the client, echoed by the reply.
pub type RequestId = u64;
/// Session config overrides, as on REST (`PATCH /sessions/{id}/config`); the server validates
/// names and values the same way.
pub type SessionConfig = serde_json::Map<String, serde_json::Value>;
/// Observation metadata, passed through as sent.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// Every frame a client may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello(Hello),
    Observe(Observe),
    ObserveSequence(ObserveSequence),
    Learn(Learn),
    GetPredictions(GetPredictions),
    GetStm(GetStm),
    ClearStm(ClearStm),
    ClearAll(ClearAll),
    Config(Config),
    Watch(Watch),
    Unwatch(Unwatch),
    Refresh(Refresh),
    Ping(Ping),
}

impl ClientFrame {
    /// The request id; every client frame carries one.
    pub fn id(&self) -> RequestId {
        match self {
            ClientFrame::Hello(f) => f.id,
            ClientFrame::Observe(f) => f.id,
            ClientFrame::ObserveSequence(f) => f.id,
            ClientFrame::Learn(f) => f.id,
            ClientFrame::GetPredictions(f) => f.id,
            ClientFrame::GetStm(f) => f.id,
            ClientFrame::ClearStm(f) => f.id,
            ClientFrame::ClearAll(f) => f.id,
            ClientFrame::Config(f) => f.id,
            ClientFrame::Watch(f) => f.id,
            ClientFrame::Unwatch(f) => f.id,
            ClientFrame::Refresh(f) => f.id,
            ClientFrame::Ping(f) => f.id,
        }
    }

    /// The `type` tag, as on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientFrame::Hello(_) => "hello",
            ClientFrame::Observe(_) => "observe",
            ClientFrame::ObserveSequence(_) => "observe_sequence",
            ClientFrame::Learn(_) => "learn",
            ClientFrame::GetPredictions(_) => "get_predictions",
            ClientFrame::GetStm(_) => "get_stm",
            ClientFrame::ClearStm(_) => "clear_stm",
            ClientFrame::ClearAll(_) => "clear_all",
            ClientFrame::Config(_) => "config",
            ClientFrame::Watch(_) => "watch",
            ClientFrame::Unwatch(_) => "unwatch",
            ClientFrame::Refresh(_) => "refresh",
            ClientFrame::Ping(_) => "ping",
        }
    }
}

/// Authenticates (when the upgrade carried no token) and binds the connection to a session:
/// resumes `session_id`, or creates a session on `node_id`. Replied to with `welcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hello {
    pub id: RequestId,
    /// A JWT, when neither the `Authorization` header nor a `bearer.<token>` subprotocol had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A service account's API key (instead of a token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Resume this session (it must belong to the same subject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Node of the session to create (when `session_id` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Config overrides of the session to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<SessionConfig>,
    /// TTL of the session to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    /// Replay the session's events after this position (PROTOCOL.md §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
}

/// The last event a reconnecting client saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Resume {
    pub epoch: String,
    pub offset: u64,
}

/// One observation; replied to with `predictions` for the STM right after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observe {
    pub id: RequestId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotives: Option<IndexMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Idempotency key: a replayed `observe` with a known `unique_id` is answered from the
    /// stored result, not applied twice (PROTOCOL.md §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
}

/// One item of `observe_sequence`: the fields of `observe` without `id`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strings: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotives: Option<IndexMap<String, f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
}

/// Several observations in one frame; one `sequence_result` reply at the end. Absent flags
/// are `false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ObserveSequence {
    pub id: RequestId,
    pub observations: Vec<Observation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn_after_each: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn_at_end: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_stm_between: Option<bool>,
}

/// Learn the STM as a pattern; replied to with `learned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Learn {
    pub id: RequestId,
}

/// Recompute the predictions for the current STM (no STM change); replied to with `predictions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GetPredictions {
    pub id: RequestId,
}

/// Read the STM; replied to with `stm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GetStm {
    pub id: RequestId,
}

/// Clear the STM; replied to with `ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearStm {
    pub id: RequestId,
}

/// Wipe the node's knowledge base (scope `admin`); replied to with `ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearAll {
    pub id: RequestId,
}

/// Update the session's config; replied to with `config` (the effective config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Config {
    pub id: RequestId,
    pub config: SessionConfig,
}

/// Receive `event` frames of another session (scope `watch`, or the same subject).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Watch {
    pub id: RequestId,
    pub session_id: String,
}

/// Stop receiving a watched session's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Unwatch {
    pub id: RequestId,
    pub session_id: String,
}

/// A fresh token for the same subject, sent after `token_expiring`; replied to with `ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Refresh {
    pub id: RequestId,
    pub token: String,
}

/// Application-level ping; replied to with `pong`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ping {
    pub id: RequestId,
}
