//! Server settings: one typed struct, every field with its default and a doc comment. Loaded from
//! an optional TOML file (`KATO_CONFIG`) and then `KATO_`-prefixed environment variables (which
//! win). The README's settings table is checked against [`Settings::documented_fields`] by a test.

use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::engine::config::EngineConfig;

/// How clients authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// JWT bearer tokens (and API keys if configured). The default.
    Jwt,
    /// Everything runs as subject `anonymous` with every scope. For local use only; the server
    /// warns at start-up.
    Disabled,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Every server setting. Environment variable = `KATO_` + the field name in upper case (e.g.
/// `KATO_BIND`); engine defaults for new sessions are nested: `KATO_ENGINE__RECALL_THRESHOLD`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on (`127.0.0.1:8000`; port 0 picks a free port).
    pub bind: String,
    /// `jwt` (default) or `disabled`.
    pub auth: AuthMode,
    /// HS256 shared secret. With `auth = jwt` and no key configured, a random secret is
    /// generated at start-up and a development token is printed.
    pub jwt_secret: Option<String>,
    /// PEM file with an RS256 or ES256 public key (instead of a secret).
    pub jwt_public_key: Option<PathBuf>,
    /// JWKS file (JSON Web Key Set) with RS256/ES256 public keys, selected by `kid`.
    pub jwt_jwks_file: Option<PathBuf>,
    /// Required `aud` claim, if set.
    pub jwt_audience: Option<String>,
    /// Required `iss` claim, if set.
    pub jwt_issuer: Option<String>,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub jwt_leeway_seconds: u64,
    /// Tokens must carry a `nodes` claim (multi-tenant deployments). Off by default.
    pub require_nodes_claim: bool,
    /// JSON file of API keys: `[{"key_sha256": "<hex SHA-256 of the key>", "subject": "...",
    /// "scopes": [...], "nodes": [...]}]` (`"key": "<plaintext>"` also accepted; see README).
    pub api_keys_file: Option<PathBuf>,
    /// Directory of the embedded knowledge-base store.
    pub data_dir: PathBuf,
    /// Redis URL for multi-instance sessions and fan-out (not yet supported: start-up fails).
    pub redis_url: Option<String>,
    /// MongoDB URL for the knowledge base (not yet supported: start-up fails).
    pub mongo_url: Option<String>,
    /// Qdrant URL for vectors (not yet supported: start-up fails).
    pub qdrant_url: Option<String>,
    /// `text` (default) or `json`.
    pub log_format: LogFormat,
    /// Log filter in `tracing` syntax (`info`, `kato_server=debug,actix_web=info`, ...).
    pub log_filter: String,
    /// Session TTL when the client gives none, in seconds (sliding: every access extends it).
    pub session_ttl_seconds: u64,
    /// Largest TTL a client may ask for, in seconds.
    pub session_max_ttl_seconds: u64,
    /// Most live sessions on this instance; creating one more answers 503 `KATO_CAPACITY`.
    pub max_sessions: usize,
    /// How often expired sessions are swept, in seconds.
    pub session_sweep_seconds: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most strings in one observation.
    pub max_strings_per_observation: usize,
    /// Longest symbol (string), in bytes.
    pub max_symbol_bytes: usize,
    /// Most vectors in one observation.
    pub max_vectors_per_observation: usize,
    /// Longest vector (dimensions).
    pub max_vector_dimensions: usize,
    /// Most emotive keys in one observation.
    pub max_emotives_per_observation: usize,
    /// Most observations in one observe-sequence call.
    pub max_sequence_observations: usize,
    /// Per-session rate limit: sustained commands per second.
    pub rate_session_per_second: u32,
    /// Per-session rate limit: burst size.
    pub rate_session_burst: u32,
    /// Per-subject rate limit (all sessions of one caller): sustained commands per second.
    pub rate_subject_per_second: u32,
    /// Per-subject rate limit: burst size.
    pub rate_subject_burst: u32,
    /// How often the monitoring history (`/stats`, `/metrics/{name}`) takes a sample, in seconds.
    pub metrics_sample_seconds: u64,
    /// How many minutes of samples the monitoring history keeps (at most 1440).
    pub metrics_history_minutes: u64,
    /// Largest inbound WebSocket message in bytes (continuations included); larger: close 4009.
    pub ws_max_frame_bytes: usize,
    /// Bytes a connection's outbound queue may hold; a client that lets it overflow is closed
    /// 4008 (slow consumer).
    pub ws_outbound_queue_bytes: usize,
    /// Interval of the server's WebSocket pings, in milliseconds.
    pub ws_ping_interval_ms: u64,
    /// How long a pong may take before the connection is closed 4012, in milliseconds.
    pub ws_pong_timeout_ms: u64,
    /// How long before the token's `exp` the server sends `token_expiring`, in seconds.
    pub ws_token_warning_seconds: u64,
    /// How long a connection may keep hitting the rate limit (without one admitted command)
    /// before it is closed 4029, in seconds.
    pub ws_abuse_seconds: u64,
    /// Most sessions one connection may watch at once.
    pub ws_max_watches: usize,
    /// Inbound WebSocket frames one connection may send per second (every frame type, on top
    /// of the per-session and per-subject command limits); over it a frame is refused with
    /// `KATO_RATE_LIMITED`.
    pub ws_frames_per_second: u32,
    /// Burst of `ws_frames_per_second`.
    pub ws_frames_burst: u32,
    /// Seconds a shutdown waits for WebSocket connections to finish their in-flight commands
    /// and close (4000) before the process stops anyway.
    pub ws_shutdown_grace_seconds: u64,
    /// Events kept per session for `hello.resume` (count).
    pub event_history_len: usize,
    /// Events kept per session for `hello.resume` (total bytes of their frames).
    pub event_history_bytes: usize,
    /// Events kept per session for `hello.resume` (age, in seconds).
    pub event_history_seconds: u64,
    /// How many observation `unique_id`s per session are remembered, so a replayed WebSocket
    /// `observe` is answered without being applied twice.
    pub idempotency_window: usize,
    /// Serve `GET /dev/echo`, an unauthenticated WebSocket echoing every text frame (the load
    /// tool's baseline). Development and benchmarks only; the server warns at start-up.
    pub dev_echo: bool,
    /// Engine defaults for new sessions (ALGORITHM.md §5); sessions override them per field.
    pub engine: EngineConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8000".into(),
            auth: AuthMode::Jwt,
            jwt_secret: None,
            jwt_public_key: None,
            jwt_jwks_file: None,
            jwt_audience: None,
            jwt_issuer: None,
            jwt_leeway_seconds: 5,
            require_nodes_claim: false,
            api_keys_file: None,
            data_dir: PathBuf::from("kato-data"),
            redis_url: None,
            mongo_url: None,
            qdrant_url: None,
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            session_ttl_seconds: 3600,
            session_max_ttl_seconds: 86_400,
            max_sessions: 100_000,
            session_sweep_seconds: 10,
            max_body_bytes: 1 << 20,
            max_strings_per_observation: 1000,
            max_symbol_bytes: 1024,
            max_vectors_per_observation: 64,
            max_vector_dimensions: 4096,
            max_emotives_per_observation: 64,
            max_sequence_observations: 1000,
            rate_session_per_second: 200,
            rate_session_burst: 400,
            rate_subject_per_second: 1000,
            rate_subject_burst: 2000,
            metrics_sample_seconds: 5,
            metrics_history_minutes: 60,
            ws_max_frame_bytes: 64 * 1024,
            ws_outbound_queue_bytes: 1 << 20,
            ws_ping_interval_ms: 25_000,
            ws_pong_timeout_ms: 10_000,
            ws_token_warning_seconds: 30,
            ws_abuse_seconds: 10,
            ws_max_watches: 64,
            ws_frames_per_second: 2000,
            ws_frames_burst: 4000,
            ws_shutdown_grace_seconds: 10,
            event_history_len: 1000,
            event_history_bytes: 256 << 10,
            event_history_seconds: 600,
            idempotency_window: 1000,
            dev_echo: false,
            engine: EngineConfig::default(),
        }
    }
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Defaults, then the TOML file named by `KATO_CONFIG` (if any), then `KATO_*` variables.
    pub fn load() -> Result<Self, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Ok(path) = std::env::var("KATO_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings: Settings = figment
            .merge(
                Env::prefixed("KATO_")
                    .ignore(&["CONFIG", "SERVER_BIN"])
                    .split("__"),
            )
            .extract()
            .map_err(|e| SettingsError::Load(Box::new(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks ranges and combinations that types alone cannot express.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |m: &str| Err(SettingsError::Invalid(m.to_string()));
        if self.session_ttl_seconds == 0 || self.session_max_ttl_seconds < self.session_ttl_seconds
        {
            return invalid("session_ttl_seconds must be > 0 and ≤ session_max_ttl_seconds");
        }
        if self.max_sessions == 0 || self.session_sweep_seconds == 0 || self.max_body_bytes == 0 {
            return invalid("max_sessions, session_sweep_seconds and max_body_bytes must be > 0");
        }
        if [
            self.rate_session_per_second,
            self.rate_session_burst,
            self.rate_subject_per_second,
            self.rate_subject_burst,
        ]
        .contains(&0)
        {
            return invalid("rate limits must be > 0");
        }
        if self.ws_frames_per_second == 0 || self.ws_frames_burst == 0 {
            return invalid("ws_frames_per_second and ws_frames_burst must be > 0");
        }
        if self.ws_max_frame_bytes < 1024
            || self.ws_outbound_queue_bytes < self.ws_max_frame_bytes
            || self.ws_ping_interval_ms == 0
            || self.ws_pong_timeout_ms == 0
        {
            return invalid("ws_max_frame_bytes must be ≥ 1024, ws_outbound_queue_bytes ≥ ws_max_frame_bytes, ws ping interval and pong timeout > 0");
        }
        if self.metrics_sample_seconds == 0
            || self.metrics_history_minutes == 0
            || self.metrics_history_minutes > 1440
        {
            return invalid(
                "metrics_sample_seconds must be > 0 and metrics_history_minutes 1..=1440",
            );
        }
        let keys = [
            self.jwt_secret.is_some(),
            self.jwt_public_key.is_some(),
            self.jwt_jwks_file.is_some(),
        ];
        if keys.iter().filter(|k| **k).count() > 1 {
            return invalid("set only one of jwt_secret, jwt_public_key, jwt_jwks_file");
        }
        self.engine
            .validate()
            .map_err(|e| SettingsError::Invalid(format!("engine defaults: {e}")))
    }

    /// Samples the monitoring history holds: the history span over the sampling interval.
    pub fn metrics_history_samples(&self) -> usize {
        let span = self.metrics_history_minutes.saturating_mul(60);
        let samples = span.div_ceil(self.metrics_sample_seconds.max(1)).max(1);
        usize::try_from(samples).unwrap_or(usize::MAX)
    }

    /// Names of every top-level field, as the README's settings table lists them.
    pub fn documented_fields() -> Vec<String> {
        match serde_json::to_value(Settings::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn readme_documents_every_setting() {
        let readme = include_str!("../../README.md");
        for field in Settings::documented_fields() {
            let env = if field == "engine" {
                "`KATO_ENGINE__*`".to_string()
            } else {
                format!("`KATO_{}`", field.to_uppercase())
            };
            assert!(readme.contains(&env), "README settings table lacks {env}");
        }
    }
}
