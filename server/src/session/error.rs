//! What can go wrong with a session command, mapped once onto the wire error codes.

use std::time::Duration;

use kato_protocol::ErrorCode;
use serde_json::{json, Map, Value};

use crate::engine::config::ConfigError;
use crate::engine::session::EngineError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Session {0} not found or expired")]
    NotFound(String),
    #[error("Session {0} not found or expired")]
    Expired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("Configuration validation failed")]
    Config(ConfigError),
    #[error("{0}")]
    Engine(EngineError),
    /// An engine error at item `.0` of an observe-sequence.
    #[error("observation {0}: {1}")]
    Sequence(usize, EngineError),
    #[error("rate limit exceeded; retry after {0:?}")]
    RateLimited(Duration),
    #[error("at most {0} sessions can be open on this server")]
    Capacity(usize),
    #[error("{0}")]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        ServiceError::Validation {
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::NotFound(_) => ErrorCode::SessionNotFound,
            ServiceError::Expired(_) => ErrorCode::SessionExpired,
            ServiceError::Forbidden(_) => ErrorCode::Forbidden,
            ServiceError::Validation { .. } | ServiceError::Config(_) => ErrorCode::ValidationError,
            ServiceError::Engine(e) | ServiceError::Sequence(_, e) => match e {
                EngineError::NeedsExclusiveAccess => ErrorCode::Internal,
                _ => ErrorCode::ValidationError,
            },
            ServiceError::RateLimited(_) => ErrorCode::RateLimited,
            ServiceError::Capacity(_) => ErrorCode::Capacity,
            ServiceError::Store(_) => ErrorCode::DatabaseError,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Structured details for error bodies (never secrets).
    pub fn details(&self) -> Map<String, Value> {
        let mut details = Map::new();
        match self {
            ServiceError::NotFound(id) | ServiceError::Expired(id) => {
                details.insert("session_id".into(), json!(id));
            }
            ServiceError::Validation { field, .. } => {
                details.insert("field".into(), json!(field));
            }
            ServiceError::Config(ConfigError::Validation(errors)) => {
                details.insert("validation_errors".into(), json!(errors));
            }
            ServiceError::Engine(EngineError::VectorDimension {
                vector_index,
                expected_dimension,
                actual_dimension,
                vector_name,
            })
            | ServiceError::Sequence(
                _,
                EngineError::VectorDimension {
                    vector_index,
                    expected_dimension,
                    actual_dimension,
                    vector_name,
                },
            ) => {
                details.insert("vector_index".into(), json!(vector_index));
                details.insert("expected_dimension".into(), json!(expected_dimension));
                details.insert("actual_dimension".into(), json!(actual_dimension));
                details.insert("vector_name".into(), json!(vector_name));
            }
            ServiceError::RateLimited(wait) => {
                details.insert("retry_after_ms".into(), json!(wait.as_millis() as u64));
            }
            ServiceError::Capacity(max) => {
                details.insert("max_sessions".into(), json!(max));
            }
            _ => {}
        }
        if let ServiceError::Sequence(index, _) = self {
            details.insert("observation_index".into(), json!(index));
        }
        details
    }
}
