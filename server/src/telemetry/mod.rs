//! Observability: log/tracing set-up (text or JSON), the trace-id and request-metrics
//! middleware, the request span, and (in `metrics`) the Prometheus metrics. Every request gets a
//! span, a trace id (returned in `X-Trace-ID` and inside every error body) and one access-log
//! line. Nothing here ever logs a query string, a header value or a token.

pub mod metrics;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing_subscriber::EnvFilter;

use crate::api::TraceId;
use crate::config::{LogFormat, Settings};

/// The upstream API version the `current` surface reports (API.md §1.2 rows 1 and 3).
pub const API_VERSION: &str = "3.10.1";

/// The v2 surface's version (API.md §2.2).
pub const V2_API_VERSION: &str = "2.0.0";

/// Longest request path written to the access log; longer ones are cut (at a char boundary).
pub const MAX_LOGGED_PATH_BYTES: usize = 256;

/// The trace-id header, request and response.
pub const TRACE_ID_HEADER: &str = "x-trace-id";
/// Longest client-supplied trace id we echo; longer or odd ones are replaced.
pub const MAX_TRACE_ID_BYTES: usize = 128;

/// Installs the global tracing subscriber (once; later calls are ignored).
pub fn init_tracing(settings: &Settings) {
    let filter =
        EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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

/// Python's `datetime.isoformat()` of a UTC time without an offset:
/// `2026-11-25T12:00:00.123456`, no fraction when the microseconds are zero. Upstream's
/// timestamps are this plus a suffix (`Z` from Pydantic, `+00:00` from aware datetimes).
pub fn python_isoformat(at: std::time::SystemTime) -> String {
    let t = OffsetDateTime::from(at);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.microsecond() {
        0 => base,
        micros => format!("{base}.{micros:06}"),
    }
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
    // The request span (see [`RequestSpan`]) carries it into every event logged for the request.
    tracing::Span::current().record("trace_id", tracing::field::display(&trace_id));
    req.extensions_mut().insert(TraceId(trace_id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(TRACE_ID_HEADER), value);
    }
    Ok(response)
}

/// Middleware (inside the trace-id middleware): counts and times every request under its
/// matched route pattern (never the raw path) and writes one access-log line with the trace id.
pub async fn request_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let endpoint = req.match_pattern().map(|p| route_label(&p));
    let path = truncated(req.path(), MAX_LOGGED_PATH_BYTES).to_string();
    let trace_id = req
        .extensions()
        .get::<TraceId>()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let metrics = req
        .app_data::<web::Data<crate::app::AppState>>()
        .map(|state| state.metrics.clone());
    let result = next.call(req).await;
    let elapsed = started.elapsed();
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    if let Some(metrics) = metrics {
        metrics.record_request(method.as_str(), endpoint.as_deref(), status, elapsed);
    }
    if status >= 500 {
        // Server-side failures only (a client error's text may echo client input), and only
        // those a handler reported as an error: a deliberate 503 (readiness) is no failure.
        let error = match &result {
            Ok(response) => response.response().error().map(ToString::to_string),
            Err(error) => Some(error.to_string()),
        };
        if let Some(error) = error {
            if status == 500 {
                tracing::error!(target: "kato_server::access", trace_id = %trace_id, status, %error, "request failed");
            } else {
                tracing::warn!(target: "kato_server::access", trace_id = %trace_id, status, %error, "request refused");
            }
        }
    }
    tracing::info!(
        target: "kato_server::access",
        trace_id = %trace_id,
        method = %method,
        route = endpoint.as_deref().unwrap_or(metrics::UNMATCHED_ENDPOINT),
        path = %path,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    result
}

/// A route pattern as metrics and logs name it: each `{name}` or `{name:regex}` parameter is
/// written `:name` (`/sessions/:session_id/observe`), so label values carry no braces, commas
/// or regex text and every exposition parser reads them.
pub fn route_label(pattern: &str) -> String {
    let mut label = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        label.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            // Unbalanced: keep the text as it is.
            label.push_str(&rest[open..]);
            return label;
        };
        let inner = &rest[open + 1..open + close];
        label.push(':');
        label.push_str(inner.split(':').next().unwrap_or(inner));
        rest = &rest[open + close + 1..];
    }
    label.push_str(rest);
    label
}

/// `s` cut to at most `max` bytes at a char boundary.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The root span of every request (for `tracing_actix_web::TracingLogger`): method, matched
/// route and trace id only. Unlike the library's default span it records neither the query
/// string (`?token=` on WebSocket upgrades) nor headers, so no log line can carry a token.
pub struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        let route = request.match_pattern().map_or_else(
            || metrics::UNMATCHED_ENDPOINT.to_string(),
            |p| route_label(&p),
        );
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            trace_id = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        _span: tracing::Span,
        _outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        // The access line is written by `request_metrics`, which also knows the duration.
    }
}

#[cfg(test)]
mod tests {
    use super::{route_label, truncated};

    #[test]
    fn route_labels_name_parameters_without_braces() {
        assert_eq!(
            route_label("/sessions/{session_id}/observe"),
            "/sessions/:session_id/observe"
        );
        assert_eq!(
            route_label("/sessions/{session_id}/{tail:.*}"),
            "/sessions/:session_id/:tail"
        );
        assert_eq!(route_label("/health"), "/health");
        assert_eq!(route_label("/odd/{x"), "/odd/{x");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncated("abc", 5), "abc");
        assert_eq!(truncated("abcdef", 3), "abc");
        assert_eq!(truncated("aé", 2), "a");
    }
}
