//! The REST surfaces (API.md): `current` (upstream-compatible HEAD API), `v2` (the seeds'
//! `/v2/sessions` API) and `v1` (the legacy single-processor endpoints with real
//! `X-Session-ID` routing). Handlers are thin: parse and validate, call the session service,
//! map the result. This module holds what the surfaces share: error rendering, trace ids, the
//! authenticated-caller extractor and input validation.

pub mod bodies;
pub mod current;
pub mod error;
pub mod input;
pub mod openapi;
pub mod session_call;
pub mod v1;
pub mod v2;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

pub use error::{ApiError, Surface};

use crate::app::AppState;
use crate::auth::Principal;

/// The request's trace id: the client's `X-Trace-ID` if it sent a sane one, else a new UUID.
/// Set by the trace-id middleware (telemetry), echoed in the `X-Trace-ID` response header and
/// inside every error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceId(pub String);

impl TraceId {
    pub fn of(req: &HttpRequest) -> String {
        req.extensions()
            .get::<TraceId>()
            .map(|t| t.0.clone())
            .unwrap_or_default()
    }
}

impl FromRequest for TraceId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(TraceId(TraceId::of(req))))
    }
}

/// The authenticated caller. Rejections render in the shape of the surface the route belongs
/// to (see [`Surface`]).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::internal(req, "application state missing")));
        };
        ready(
            state
                .auth
                .authenticate_request(req)
                .map(Caller)
                .map_err(|e| ApiError::auth(req, e)),
        )
    }
}
