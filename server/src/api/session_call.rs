//! The tail every session command shares on every surface: map the failure in the surface's
//! terms and answer 200 JSON or the error, naming the session in `X-Session-ID`. Each surface
//! opens a [`SessionCall`] its own way (path id, live-session check, v1 routing); this module
//! never decides which session a request means nor calls the session service.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde_json::Value;

use crate::api::{ApiError, Caller};
use crate::app::AppState;
use crate::session::ServiceError;

/// Response header naming the session a session-scoped response belongs to (API.md §1.1).
pub const SESSION_ID_HEADER: HeaderName = HeaderName::from_static("x-session-id");

/// Why a session command failed: the service refused, or the handler already has the error.
pub enum Failure {
    Service(ServiceError),
    Api(ApiError),
}

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Self {
        Failure::Service(error)
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Api(error)
    }
}

/// How a surface renders a service error.
pub type ServiceErrorMap = fn(&HttpRequest, ServiceError) -> ApiError;

/// One session command in flight: the session it targets and how its surface answers.
pub struct SessionCall {
    req: HttpRequest,
    /// The session id the reply names.
    pub id: String,
    map: ServiceErrorMap,
    /// Whether an error reply carries `X-Session-ID` too (current and v1 yes, v2 no).
    tag_errors: bool,
}

impl SessionCall {
    pub fn new(req: &HttpRequest, id: String, map: ServiceErrorMap, tag_errors: bool) -> Self {
        SessionCall {
            req: req.clone(),
            id,
            map,
            tag_errors,
        }
    }

    /// The failure in this surface's terms.
    pub fn error(&self, failure: impl Into<Failure>) -> ApiError {
        match failure.into() {
            Failure::Service(error) => (self.map)(&self.req, error),
            Failure::Api(error) => error,
        }
    }

    /// 200 with `body`, or the error; tagged with the session id as the surface does.
    pub fn reply<E: Into<Failure>>(
        &self,
        result: Result<Value, E>,
    ) -> Result<HttpResponse, ApiError> {
        let response = match result {
            Ok(body) => HttpResponse::Ok().json(body),
            Err(failure) if self.tag_errors => HttpResponse::from_error(self.error(failure)),
            Err(failure) => return Err(self.error(failure)),
        };
        Ok(tag_session(response, &self.id))
    }
}

/// `response` with `X-Session-ID: <id>` (left out when the id is not a valid header value).
pub fn tag_session(mut response: HttpResponse, id: &str) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(SESSION_ID_HEADER, value);
    }
    response
}

/// The first step of every surface's session extractor: the authenticated caller (so a
/// caller without credentials gets 401 before any session check) and the application state.
pub fn authenticated<'r>(
    req: &'r HttpRequest,
    payload: &mut Payload,
) -> Result<(Caller, &'r AppState), ApiError> {
    let caller = Caller::from_request(req, payload).into_inner()?;
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => Ok((caller, state)),
        None => Err(ApiError::internal(req, "application state missing")),
    }
}

/// The `{session_id}` path segment, decoded as `web::Path<String>` decodes it (for the
/// surfaces' session extractors).
pub fn path_session_id(req: &HttpRequest, payload: &mut Payload) -> Result<String, ApiError> {
    web::Path::<String>::from_request(req, payload)
        .into_inner()
        .map(web::Path::into_inner)
        .map_err(|e| ApiError::body(req, "session_id", e))
}
