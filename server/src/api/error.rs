//! One error type for every REST surface, rendered in the shape that surface promises:
//! `current` answers like upstream FastAPI (`{"detail": ...}`, and the session middleware's
//! `{"error": {"code": "SESSION_NOT_FOUND", ...}}` for unknown sessions); `v2` answers with the
//! seeds' structured body (`{"error": {code, message, details: {trace_id, ...}, timestamp},
//! "status"}`); `v1` answers like `current`. Every body carries the trace id.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use kato_protocol::{ErrorBody, ErrorCode, ErrorDetail};
use serde_json::{json, Map, Value};

use super::TraceId;
use crate::auth::AuthError;
use crate::engine::config::ConfigError;
use crate::engine::session::EngineError;
use crate::session::ServiceError;

/// Which surface a route belongs to; registered as app data on each surface's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Surface {
    #[default]
    Current,
    V2,
    V1,
}

impl Surface {
    pub fn of(req: &HttpRequest) -> Surface {
        req.app_data::<Surface>().copied().unwrap_or_default()
    }
}

/// What went wrong, before rendering.
#[derive(Debug)]
pub enum ApiErrorKind {
    Service(ServiceError),
    Auth(AuthError),
    /// A request body or query that failed validation (422 on `current`/`v1`, like FastAPI).
    Body {
        field: String,
        message: String,
    },
    /// The body is larger than the limit.
    TooLarge {
        limit: usize,
    },
    Internal(String),
}

#[derive(Debug)]
pub struct ApiError {
    pub surface: Surface,
    pub trace_id: String,
    pub kind: ApiErrorKind,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ApiErrorKind::Service(e) => write!(f, "{e}"),
            ApiErrorKind::Auth(e) => write!(f, "{e}"),
            ApiErrorKind::Body { field, message } => write!(f, "{field}: {message}"),
            ApiErrorKind::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            ApiErrorKind::Internal(m) => write!(f, "{m}"),
        }
    }
}

impl ApiError {
    pub fn new(req: &HttpRequest, kind: ApiErrorKind) -> Self {
        ApiError {
            surface: Surface::of(req),
            trace_id: TraceId::of(req),
            kind,
        }
    }

    pub fn service(req: &HttpRequest, error: ServiceError) -> Self {
        Self::new(req, ApiErrorKind::Service(error))
    }

    pub fn auth(req: &HttpRequest, error: AuthError) -> Self {
        Self::new(req, ApiErrorKind::Auth(error))
    }

    pub fn body(req: &HttpRequest, field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            req,
            ApiErrorKind::Body {
                field: field.to_string(),
                message: message.to_string(),
            },
        )
    }

    pub fn internal(req: &HttpRequest, message: &str) -> Self {
        Self::new(req, ApiErrorKind::Internal(message.to_string()))
    }

    /// The stable wire code.
    pub fn code(&self) -> ErrorCode {
        match &self.kind {
            ApiErrorKind::Service(e) => e.code(),
            ApiErrorKind::Auth(e) => e.code(),
            ApiErrorKind::Body { .. } => ErrorCode::ValidationError,
            ApiErrorKind::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiErrorKind::Internal(_) => ErrorCode::Internal,
        }
    }

    fn status(&self) -> StatusCode {
        let status = match (&self.kind, self.surface) {
            // FastAPI answers body validation with 422.
            (ApiErrorKind::Body { .. }, Surface::Current | Surface::V1) => 422,
            // "Cannot learn from empty STM" and vector errors are 400 everywhere.
            _ => self.code().http_status(),
        };
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn details(&self) -> Map<String, Value> {
        let mut details = match &self.kind {
            ApiErrorKind::Service(e) => e.details(),
            ApiErrorKind::Auth(e) => {
                let mut m = Map::new();
                m.insert("reason".into(), json!(e.reason()));
                m
            }
            ApiErrorKind::Body { field, .. } => {
                let mut m = Map::new();
                m.insert("field".into(), json!(field));
                m
            }
            ApiErrorKind::TooLarge { limit } => {
                let mut m = Map::new();
                m.insert("limit_bytes".into(), json!(limit));
                m
            }
            ApiErrorKind::Internal(_) => Map::new(),
        };
        details.insert("trace_id".into(), json!(self.trace_id));
        details
    }

    /// Upstream-shaped body for the `current` and `v1` surfaces (API.md §1.1).
    fn upstream_body(&self) -> Value {
        let trace_id = &self.trace_id;
        match &self.kind {
            ApiErrorKind::Service(ServiceError::NotFound(id) | ServiceError::Expired(id)) => {
                json!({"error": {
                    "code": "SESSION_NOT_FOUND",
                    "message": format!("Session {id} not found or expired"),
                    "session_id": id,
                    "trace_id": trace_id,
                }})
            }
            ApiErrorKind::Service(ServiceError::Config(ConfigError::Validation(errors))) => {
                json!({"detail": {
                    "error": "Configuration validation failed",
                    "validation_errors": errors,
                }, "trace_id": trace_id})
            }
            ApiErrorKind::Service(ServiceError::Engine(EngineError::VectorDimension {
                expected_dimension,
                actual_dimension,
                vector_name,
                ..
            })) => json!({"detail": {
                "error": "VectorDimensionError",
                "message": self.to_string(),
                "expected_dimension": expected_dimension,
                "actual_dimension": actual_dimension,
                "vector_name": vector_name,
            }, "trace_id": trace_id}),
            ApiErrorKind::Service(ServiceError::Sequence(
                index,
                EngineError::VectorDimension {
                    expected_dimension,
                    actual_dimension,
                    vector_name,
                    ..
                },
            )) => json!({"detail": {
                "error": "VectorDimensionError",
                "message": self.to_string(),
                "expected_dimension": expected_dimension,
                "actual_dimension": actual_dimension,
                "vector_name": vector_name,
                "observation_index": index,
            }, "trace_id": trace_id}),
            ApiErrorKind::Body { field, message } => json!({"detail": [{
                "type": "value_error",
                "loc": ["body", field],
                "msg": message,
            }], "trace_id": trace_id}),
            // The stable reason (PROTOCOL.md §3) beside FastAPI's `detail`, as v2 has it in
            // `details.reason`.
            ApiErrorKind::Auth(e) => json!({
                "detail": self.to_string(),
                "code": self.code(),
                "reason": e.reason(),
                "trace_id": trace_id,
            }),
            _ => json!({"detail": self.to_string(), "code": self.code(), "trace_id": trace_id}),
        }
    }

    /// The seeds' structured body (v2).
    fn structured_body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                details: self.details(),
                timestamp: crate::telemetry::rfc3339_now(),
            },
            status: self.status().as_u16(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if let ApiErrorKind::Service(ServiceError::RateLimited(wait)) = &self.kind {
            // Whole seconds, rounded up, at least 1.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.insert_header((header::RETRY_AFTER, seconds.max(1).to_string()));
        }
        if let ApiErrorKind::Auth(_) = &self.kind {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        match self.surface {
            Surface::V2 => response.json(self.structured_body()),
            Surface::Current | Surface::V1 => response.json(self.upstream_body()),
        }
    }
}
