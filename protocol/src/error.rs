//! The one wire error enum: a stable `code` string, the same on the WebSocket and on REST v2
//! (PROTOCOL.md §4, the seeds' error codes), and the structured REST v2 error body.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Stable error codes. The string form (`KATO_...`) never changes once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ErrorCode {
    /// Input failed validation (a field is named in `details`).
    #[serde(rename = "KATO_VALIDATION_ERROR")]
    ValidationError,
    /// Missing, malformed, expired or wrongly signed credentials.
    #[serde(rename = "KATO_UNAUTHORIZED")]
    Unauthorized,
    /// Valid credentials that do not allow this (another subject's session, a node or scope
    /// the token lacks).
    #[serde(rename = "KATO_FORBIDDEN")]
    Forbidden,
    /// The session does not exist (or never did).
    #[serde(rename = "KATO_SESSION_NOT_FOUND")]
    SessionNotFound,
    /// The session existed and expired.
    #[serde(rename = "KATO_SESSION_EXPIRED")]
    SessionExpired,
    /// Over a rate limit; retry after the advertised delay. Nothing was applied.
    #[serde(rename = "KATO_RATE_LIMITED")]
    RateLimited,
    /// A store operation failed; nothing was acknowledged. Retry later.
    #[serde(rename = "KATO_DATABASE_ERROR")]
    DatabaseError,
    /// A backend's circuit breaker is open; failing fast. Retry later.
    #[serde(rename = "KATO_CIRCUIT_OPEN")]
    CircuitOpen,
    /// The request body is larger than the configured limit.
    #[serde(rename = "KATO_PAYLOAD_TOO_LARGE")]
    PayloadTooLarge,
    /// No such route or resource.
    #[serde(rename = "KATO_NOT_FOUND")]
    NotFound,
    /// The route exists but not with this method.
    #[serde(rename = "KATO_METHOD_NOT_ALLOWED")]
    MethodNotAllowed,
    /// The server is at its configured session capacity.
    #[serde(rename = "KATO_CAPACITY")]
    Capacity,
    /// A bug or an unexpected failure on the server side.
    #[serde(rename = "KATO_INTERNAL")]
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and exhaustiveness tests.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::ValidationError,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::SessionNotFound,
        ErrorCode::SessionExpired,
        ErrorCode::RateLimited,
        ErrorCode::DatabaseError,
        ErrorCode::CircuitOpen,
        ErrorCode::PayloadTooLarge,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Capacity,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationError => "KATO_VALIDATION_ERROR",
            ErrorCode::Unauthorized => "KATO_UNAUTHORIZED",
            ErrorCode::Forbidden => "KATO_FORBIDDEN",
            ErrorCode::SessionNotFound => "KATO_SESSION_NOT_FOUND",
            ErrorCode::SessionExpired => "KATO_SESSION_EXPIRED",
            ErrorCode::RateLimited => "KATO_RATE_LIMITED",
            ErrorCode::DatabaseError => "KATO_DATABASE_ERROR",
            ErrorCode::CircuitOpen => "KATO_CIRCUIT_OPEN",
            ErrorCode::PayloadTooLarge => "KATO_PAYLOAD_TOO_LARGE",
            ErrorCode::NotFound => "KATO_NOT_FOUND",
            ErrorCode::MethodNotAllowed => "KATO_METHOD_NOT_ALLOWED",
            ErrorCode::Capacity => "KATO_CAPACITY",
            ErrorCode::Internal => "KATO_INTERNAL",
        }
    }

    /// The HTTP status the REST surfaces answer with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ValidationError => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            // Expired sessions answer 404 like unknown ones (as upstream); the code tells them apart.
            ErrorCode::SessionNotFound | ErrorCode::SessionExpired | ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::DatabaseError | ErrorCode::CircuitOpen | ErrorCode::Capacity => 503,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seeds' structured error body (REST v2):
/// `{"error":{"code","message","details":{...,"trace_id"},"timestamp"},"status"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// Always holds `trace_id`; other keys name the offending field, limits, etc.
    pub details: serde_json::Map<String, serde_json::Value>,
    /// RFC 3339 UTC.
    pub timestamp: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_to_their_stable_strings() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).expect("serialise");
            assert_eq!(json, serde_json::Value::String(code.as_str().to_string()));
            let back: ErrorCode = serde_json::from_value(json).expect("parse");
            assert_eq!(back, code);
            assert!((400..600).contains(&code.http_status()));
        }
    }
}
