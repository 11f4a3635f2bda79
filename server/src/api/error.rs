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
    /// The body is not JSON (FastAPI: 422 `json_invalid` on `current`/`v1`).
    JsonInvalid(String),
    /// A FastAPI `HTTPException` with a plain `detail` string (API.md §1.1): unknown routes
    /// (`"Not Found"`), wrong methods (`"Method Not Allowed"`) and handler-level not-found.
    Http {
        code: ErrorCode,
        detail: String,
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
            ApiErrorKind::JsonInvalid(m) => write!(f, "JSON decode error: {m}"),
            ApiErrorKind::Http { detail, .. } => write!(f, "{detail}"),
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

    /// A body that is not JSON.
    pub fn json_invalid(req: &HttpRequest, message: impl std::fmt::Display) -> Self {
        Self::new(req, ApiErrorKind::JsonInvalid(message.to_string()))
    }

    /// An `HTTPException`-style error: `{"detail": "<detail>"}` on `current`/`v1`.
    pub fn http(req: &HttpRequest, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(
            req,
            ApiErrorKind::Http {
                code,
                detail: detail.into(),
            },
        )
    }

    /// The stable wire code.
    pub fn code(&self) -> ErrorCode {
        match &self.kind {
            ApiErrorKind::Service(e) => e.code(),
            ApiErrorKind::Auth(e) => e.code(),
            ApiErrorKind::Body { .. } | ApiErrorKind::JsonInvalid(_) => ErrorCode::ValidationError,
            ApiErrorKind::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiErrorKind::Http { code, .. } => *code,
            ApiErrorKind::Internal(_) => ErrorCode::Internal,
        }
    }

    fn status(&self) -> StatusCode {
        let status = match (&self.kind, self.surface) {
            // FastAPI answers body validation with 422.
            (
                ApiErrorKind::Body { .. } | ApiErrorKind::JsonInvalid(_),
                Surface::Current | Surface::V1,
            ) => 422,
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
            ApiErrorKind::JsonInvalid(_) => {
                let mut m = Map::new();
                m.insert("field".into(), json!("body"));
                m
            }
            ApiErrorKind::Http { .. } | ApiErrorKind::Internal(_) => Map::new(),
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
                "type": pydantic_type(message),
                "loc": pydantic_loc(field),
                "msg": message,
            }], "trace_id": trace_id}),
            ApiErrorKind::JsonInvalid(message) => json!({"detail": [{
                "type": "json_invalid",
                "loc": ["body", 0],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": message},
            }], "trace_id": trace_id}),
            ApiErrorKind::Http { detail, .. } => json!({"detail": detail, "trace_id": trace_id}),
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

/// Pydantic's error `type` for one of our validation messages (FastAPI 422 bodies).
fn pydantic_type(message: &str) -> &'static str {
    // First match wins: longer messages before their prefixes.
    const TYPES: [(&str, &str); 10] = [
        ("Field required", "missing"),
        ("Input should be a valid string", "string_type"),
        ("Input should be a valid list", "list_type"),
        (
            "Input should be a valid dictionary or object",
            "model_attributes_type",
        ),
        ("Input should be a valid dictionary", "dict_type"),
        ("Input should be a valid object", "model_attributes_type"),
        ("Input should be a valid number", "float_type"),
        (
            "Input should be a valid integer, unable to parse",
            "int_parsing",
        ),
        ("Input should be a valid integer", "int_type"),
        ("Input should be a valid boolean", "bool_type"),
    ];
    if message.starts_with("Input should be greater than or equal to") {
        return "greater_than_equal";
    }
    TYPES
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or("value_error", |(_, kind)| kind)
}

/// FastAPI's `loc` for a field path: `observations[2].strings[0]` becomes
/// `["body", "observations", 2, "strings", 0]`; a path that starts with `query.`, `path.` or
/// `header.` names that location instead of the body.
fn pydantic_loc(field: &str) -> Vec<Value> {
    let mut loc = Vec::new();
    for part in field.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|n| !n.is_empty()) {
            loc.push(json!(name));
        }
        for index in pieces {
            let index = index.trim_end_matches(']');
            loc.push(
                index
                    .parse::<u64>()
                    .map_or_else(|_| json!(index), |i| json!(i)),
            );
        }
    }
    let located = matches!(
        loc.first().and_then(Value::as_str),
        Some("body" | "query" | "path" | "header")
    );
    if !located {
        loc.insert(0, json!("body"));
    }
    loc
}

/// Default service of the whole app: no route matches the path (404 `Not Found`).
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::http(&req, ErrorCode::NotFound, "Not Found"))
}

/// A route matches the path but not the method (405 `Method Not Allowed`).
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::http(
        &req,
        ErrorCode::MethodNotAllowed,
        "Method Not Allowed",
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_become_fastapi_locations() {
        let rows: &[(&str, Value)] = &[
            ("node_id", json!(["body", "node_id"])),
            ("body", json!(["body"])),
            (
                "observations[2].strings[0]",
                json!(["body", "observations", 2, "strings", 0]),
            ),
            ("emotives.joy", json!(["body", "emotives", "joy"])),
            ("query.ttl_seconds", json!(["query", "ttl_seconds"])),
        ];
        for (field, expected) in rows {
            assert_eq!(&Value::Array(pydantic_loc(field)), expected, "{field}");
        }
    }

    #[test]
    fn messages_map_to_pydantic_types() {
        let rows = [
            ("Field required", "missing"),
            ("Input should be a valid string", "string_type"),
            ("Input should be a valid dictionary", "dict_type"),
            ("Input should be a valid integer", "int_type"),
            (
                "Input should be greater than or equal to 0",
                "greater_than_equal",
            ),
            ("at most 3 strings per observation", "value_error"),
        ];
        for (message, expected) in rows {
            assert_eq!(pydantic_type(message), expected, "{message}");
        }
    }
}
