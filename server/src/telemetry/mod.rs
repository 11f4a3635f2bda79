//! Observability: log/tracing set-up (text or JSON), the trace-id middleware, and (in
//! `metrics`) the Prometheus metrics. Every request gets a span and a trace id that is returned
//! to the client in `X-Trace-ID` and inside every error body.

pub mod metrics;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing_subscriber::EnvFilter;

use crate::api::TraceId;
use crate::config::{LogFormat, Settings};

/// The trace-id header, request and response.
pub const TRACE_ID_HEADER: &str = "x-trace-id";
/// Longest client-supplied trace id we echo; longer or odd ones are replaced.
pub const MAX_TRACE_ID_BYTES: usize = 128;

/// Installs the global tracing subscriber (once; later calls are ignored).
pub fn init_tracing(settings: &Settings) {
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Now as RFC 3339 UTC (`2026-11-25T12:00:00.123456Z`).
pub fn rfc3339_now() -> String {
    rfc3339(std::time::SystemTime::now())
}

pub fn rfc3339(at: std::time::SystemTime) -> String {
    OffsetDateTime::from(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Middleware: picks the trace id (the client's `X-Trace-ID` when it is short visible ASCII,
/// else a new UUID), stores it for handlers and error bodies, and sets it on the response.
pub async fn trace_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let supplied = req
        .headers()
        .get(TRACE_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_TRACE_ID_BYTES
                && v.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_string);
    let trace_id = supplied.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(TraceId(trace_id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(TRACE_ID_HEADER), value);
    }
    Ok(response)
}
