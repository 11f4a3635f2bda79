//! The WebSocket endpoint (`GET /v2/ws`, `GET /ws`, PROTOCOL.md §2–§7): upgrade, token lookup,
//! the connection loop (frames in order, liveness pings, token expiry, rate-limit abuse,
//! graceful shutdown), and a dispatcher over `ClientFrame`, one file per command. Thin: every
//! session or engine action goes through `SessionService`; every frame out goes through the
//! connection's byte-bounded [`outbound::Outbound`] queue, never straight to the socket.

mod clear_all;
mod clear_stm;
mod config;
pub mod events;
pub mod frame;
mod get_predictions;
mod get_stm;
mod hello;
mod learn;
mod observe;
mod observe_sequence;
pub mod outbound;
mod ping;
mod refresh;
mod watching;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError};
use bytestring::ByteString;
use futures_util::StreamExt;
use kato_protocol::client::ClientFrame;
use kato_protocol::close::CloseCode;
use kato_protocol::server::{Error as ErrorFrame, ServerFrame, TokenExpiring};
use kato_protocol::ErrorCode;
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::app::AppState;
use crate::auth::jwt::now_seconds;
use crate::auth::{AuthError, Principal};
use crate::session::{Attachment, ServiceError};
use outbound::Outbound;

/// The subprotocol the server speaks.
pub const SUBPROTOCOL: &str = "kato.v1.json";
/// How long a connection without a token may take to send `hello`.
pub const HELLO_DEADLINE: Duration = Duration::from_secs(10);
/// Refusals by the rate limiter less than this apart belong to one stretch of abuse.
const ABUSE_GAP: Duration = Duration::from_secs(1);
/// Non-JSON or binary frames tolerated before closing with 4400.
const MAX_BAD_FRAMES: u32 = 3;

/// Registers `/ws` in the scope it is called in (`/v2` and the root).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws").route(web::get().to(upgrade)));
}

/// Process-wide WebSocket state: connection ids, the live count and the shutdown signal.
pub struct WsRuntime {
    shutdown: watch::Sender<bool>,
    live: AtomicUsize,
    next_id: AtomicU64,
}

impl Default for WsRuntime {
    fn default() -> Self {
        WsRuntime {
            shutdown: watch::Sender::new(false),
            live: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }
}

impl WsRuntime {
    /// Stops accepting upgrades and tells every connection to finish its command and close
    /// with 4000.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The answer to an upgrade during shutdown (503, retry in a second), if shutting down.
    pub fn refuse_while_shutting_down(&self) -> Option<HttpResponse> {
        self.shutting_down().then(|| {
            HttpResponse::ServiceUnavailable()
                .insert_header((header::RETRY_AFTER, "1"))
                .json(json!({"detail": "server shutting down"}))
        })
    }

    /// Open connections.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Waits until every connection has closed, at most `grace`; returns how many are left.
    pub async fn drained(&self, grace: Duration) -> usize {
        let until = Instant::now() + grace;
        while self.live() > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.live()
    }
}

/// Counts a connection as live while it exists.
struct LiveGuard(web::Data<AppState>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.ws.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a command produced.
pub(crate) enum Outcome {
    /// A reply frame.
    Reply(Value),
    /// A reply already serialised.
    Text(String),
    /// The command queued its replies itself.
    Queued,
    /// An `error` frame; the connection stays open.
    Error(Box<ErrorFrame>),
    /// An `error` frame, then close with this code.
    Close(CloseCode, Box<ErrorFrame>),
}

impl Outcome {
    pub(crate) fn error(frame: ErrorFrame) -> Outcome {
        Outcome::Error(Box::new(frame))
    }

    pub(crate) fn close(code: CloseCode, frame: ErrorFrame) -> Outcome {
        Outcome::Close(code, Box::new(frame))
    }

    pub(crate) fn frame(frame: ServerFrame) -> Outcome {
        match serde_json::to_value(frame) {
            Ok(value) => Outcome::Reply(value),
            Err(e) => Outcome::error(error(
                None,
                ErrorCode::Internal,
                format!("reply encoding failed: {e}"),
            )),
        }
    }

    pub(crate) fn service(id: u64, result: Result<ServerFrame, ServiceError>) -> Outcome {
        match result {
            Ok(frame) => Outcome::frame(frame),
            Err(e) => Outcome::error(service_error(Some(id), &e)),
        }
    }

    fn rate_limited(&self) -> bool {
        matches!(self, Outcome::Error(e) if e.code == ErrorCode::RateLimited)
    }
}

/// The state of one connection.
pub(crate) struct Connection {
    pub state: web::Data<AppState>,
    /// Process-unique id (the receiver id in session streams).
    pub id: u64,
    pub principal: Option<Principal>,
    /// The session bound by `hello`.
    pub session_id: Option<String>,
    pub outbound: Arc<Outbound>,
    /// Sessions watched with `watch`.
    pub watching: HashSet<String>,
    /// When the token's expiry changes (refresh), the loop re-arms its timers.
    pub expiry_changed: bool,
}

impl Connection {
    /// The principal and bound session, or the error to reply with.
    pub(crate) fn bound(&self, id: u64) -> Result<(&Principal, &str), Outcome> {
        match (&self.principal, &self.session_id) {
            (Some(principal), Some(session)) => Ok((principal, session)),
            _ => Err(Outcome::error(validation(
                Some(id),
                "type",
                "send hello first: the connection is not bound to a session",
            ))),
        }
    }

    /// Leaves every session stream the connection is attached to.
    fn detach_all(&mut self) {
        let sessions = &self.state.sessions;
        for session in self.watching.drain() {
            sessions.detach(&session, self.id, Attachment::Watch);
        }
        if let Some(session) = &self.session_id {
            sessions.detach(session, self.id, Attachment::Bound);
        }
    }
}

pub(crate) fn trace_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn error(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> ErrorFrame {
    ErrorFrame {
        id,
        code,
        message: message.into(),
        details: None,
        trace_id: trace_id(),
        retry_after_ms: None,
    }
}

pub(crate) fn validation(id: Option<u64>, field: &str, message: impl Into<String>) -> ErrorFrame {
    let mut details = Map::new();
    details.insert("field".into(), json!(field));
    ErrorFrame {
        details: Some(details),
        ..error(id, ErrorCode::ValidationError, message)
    }
}

pub(crate) fn service_error(id: Option<u64>, e: &ServiceError) -> ErrorFrame {
    let details = e.details();
    ErrorFrame {
        id,
        code: e.code(),
        message: e.to_string(),
        details: (!details.is_empty()).then_some(details),
        trace_id: trace_id(),
        retry_after_ms: match e {
            ServiceError::RateLimited(wait) => Some((wait.as_millis() as u64).max(1)),
            _ => None,
        },
    }
}

pub(crate) fn auth_error(id: Option<u64>, e: &AuthError) -> ErrorFrame {
    let mut details = Map::new();
    details.insert("reason".into(), json!(e.reason()));
    ErrorFrame {
        details: Some(details),
        ..error(
            id,
            ErrorCode::Unauthorized,
            "invalid or missing credentials",
        )
    }
}

/// The entries of `Sec-WebSocket-Protocol`: the first `bearer.<token>` one's token and the
/// first other entry (shared by `/ws` and `/ws/events`).
pub(crate) fn subprotocols(req: &HttpRequest) -> (Option<String>, Option<String>) {
    let mut token = None;
    let mut other = None;
    for value in req.headers().get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.strip_prefix("bearer.") {
                Some(t) => {
                    token.get_or_insert_with(|| t.to_string());
                }
                None => {
                    other.get_or_insert_with(|| entry.to_string());
                }
            }
        }
    }
    (token, other)
}

/// `GET /ws`: authenticates from the header or subprotocol (if any), upgrades, and runs the
/// connection. Credential failures are reported in-band (error frame, close 4001). During
/// shutdown the upgrade is refused with 503.
async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if let Some(refused) = state.ws.refuse_while_shutting_down() {
        return Ok(refused);
    }
    let (sub_token, other) = subprotocols(&req);
    let offered = sub_token.is_some() || other.is_some();
    let has_header = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key("x-api-key");
    let auth: Result<Option<Principal>, AuthError> = match sub_token {
        Some(token) if !has_header => state.auth.authenticate_token(&token).map(Some),
        _ => match state.auth.authenticate_request(&req) {
            Ok(p) => Ok(Some(p)),
            Err(AuthError::Missing) => Ok(None),
            Err(e) => Err(e),
        },
    };
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    if offered {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    let max = state.settings.ws_max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    // A closing connection whose socket takes no data gets as long as a pong may take.
    let outbound = Arc::new(Outbound::new(
        state.settings.ws_outbound_queue_bytes,
        Duration::from_millis(state.settings.ws_pong_timeout_ms),
    ));
    actix_web::rt::spawn(outbound.clone().write(session));
    state.ws.live.fetch_add(1, Ordering::Relaxed);
    state.metrics.ws_opened();
    let guard = LiveGuard(state.clone());
    actix_web::rt::spawn(async move {
        run(state.clone(), auth, outbound.clone(), stream).await;
        let code = outbound.closing().unwrap_or(CloseCode::Normal);
        state.metrics.ws_closed(code.code());
        drop(guard);
    });
    Ok(response)
}

/// Sleeps until `at`, or forever when there is no deadline.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The token's warning and expiry instants.
fn expiry_timers(
    principal: Option<&Principal>,
    warning: Duration,
) -> (Option<Instant>, Option<Instant>) {
    let Some(exp) = principal.and_then(|p| p.expires_at) else {
        return (None, None);
    };
    let left = Duration::from_secs(exp.saturating_sub(now_seconds()));
    let now = Instant::now();
    (Some(now + left.saturating_sub(warning)), Some(now + left))
}

async fn run(
    state: web::Data<AppState>,
    auth: Result<Option<Principal>, AuthError>,
    outbound: Arc<Outbound>,
    mut stream: AggregatedMessageStream,
) {
    let principal = match auth {
        Ok(principal) => principal,
        Err(e) => return outbound.fail(CloseCode::Unauthorized, auth_error(None, &e)),
    };
    let settings = &state.settings;
    let hello_deadline = principal.is_none().then(|| Instant::now() + HELLO_DEADLINE);
    let ping_interval = Duration::from_millis(settings.ws_ping_interval_ms);
    let pong_timeout = Duration::from_millis(settings.ws_pong_timeout_ms);
    let token_warning = Duration::from_secs(settings.ws_token_warning_seconds);
    let abuse_after = Duration::from_secs(settings.ws_abuse_seconds);
    let (mut warn_at, mut expire_at) = expiry_timers(principal.as_ref(), token_warning);
    let mut pings = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pong_due: Option<Instant> = None;
    let mut limited_since: Option<(Instant, Instant)> = None;
    let mut closed = outbound.watch_closed();
    let mut shutdown = state.ws.shutdown.subscribe();
    let mut conn = Connection {
        id: state.ws.next_id.fetch_add(1, Ordering::Relaxed),
        state: state.clone(),
        principal,
        session_id: None,
        outbound: outbound.clone(),
        watching: HashSet::new(),
        expiry_changed: false,
    };
    let mut bad_frames = 0u32;
    // Every inbound frame, whatever its type, draws from this connection's budget.
    let frames = governor::RateLimiter::direct(
        governor::Quota::per_second(crate::app::nonzero(settings.ws_frames_per_second))
            .allow_burst(crate::app::nonzero(settings.ws_frames_burst)),
    );
    loop {
        let hello_due = hello_deadline.filter(|_| conn.session_id.is_none());
        let message = tokio::select! {
            biased;
            _ = closed.wait_for(Option::is_some) => break,
            _ = shutdown.wait_for(|down| *down) => {
                outbound.close(CloseCode::ServerShuttingDown, "server shutting down; reconnect to another instance");
                break;
            }
            _ = until(hello_due) => {
                let frame = error(None, ErrorCode::Unauthorized, "no hello with credentials within 10 s");
                outbound.fail(CloseCode::Unauthorized, frame);
                break;
            }
            _ = until(pong_due) => {
                outbound.close(CloseCode::NoPong, "no pong to the server's ping");
                break;
            }
            _ = until(expire_at) => {
                let frame = error(None, ErrorCode::Unauthorized, "token expired; reconnect with a fresh token");
                outbound.fail(CloseCode::TokenExpired, frame);
                break;
            }
            _ = until(warn_at) => {
                warn_at = None;
                let in_s = conn.principal.as_ref().and_then(|p| p.expires_at)
                    .map_or(0, |exp| exp.saturating_sub(now_seconds()));
                outbound.frame(&ServerFrame::TokenExpiring(TokenExpiring { in_s }));
                continue;
            }
            _ = pings.tick() => {
                if pong_due.is_none() {
                    outbound.ping();
                    pong_due = Some(Instant::now() + pong_timeout);
                }
                continue;
            }
            message = stream.next() => message,
        };
        if matches!(
            message,
            Some(Ok(AggregatedMessage::Text(_) | AggregatedMessage::Binary(_)))
        ) {
            if let Err(not_until) = frames.check() {
                use governor::clock::Clock;
                let wait = not_until.wait_time_from(frames.clock().now());
                let mut frame = error(
                    None,
                    ErrorCode::RateLimited,
                    "too many frames on this connection",
                );
                frame.retry_after_ms = Some((wait.as_millis() as u64).max(1));
                outbound.frame(&ServerFrame::Error(frame));
                state.metrics.ws_frame("rate_limited", None);
                if abused(&mut limited_since, abuse_after) {
                    let frame = error(
                        None,
                        ErrorCode::RateLimited,
                        "over the rate limit for too long",
                    );
                    outbound.fail(CloseCode::RateLimitAbuse, frame);
                    break;
                }
                continue;
            }
        }
        let text = match message {
            None => break,
            Some(Ok(AggregatedMessage::Text(text))) => text,
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                outbound.pong(bytes);
                continue;
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {
                pong_due = None;
                if let Some(session) = &conn.session_id {
                    state.sessions.keep_alive(session);
                }
                continue;
            }
            Some(Ok(AggregatedMessage::Close(_))) => {
                outbound.close(CloseCode::Normal, "");
                break;
            }
            Some(Ok(AggregatedMessage::Binary(_))) => {
                state.metrics.ws_frame("binary", None);
                bad_frames += 1;
                if !bad_frame(&outbound, bad_frames, "binary frames are not supported") {
                    break;
                }
                continue;
            }
            Some(Err(e)) => {
                let (code, message) = protocol_error(&e, settings.ws_max_frame_bytes);
                outbound.fail(code, error(None, ErrorCode::ValidationError, message));
                break;
            }
        };
        let parsed = match frame::parse(&text) {
            Ok(parsed) => parsed,
            Err(frame::FrameError::NotJson) => {
                state.metrics.ws_frame("non_json", None);
                bad_frames += 1;
                if !bad_frame(&outbound, bad_frames, "frame is not valid JSON") {
                    break;
                }
                continue;
            }
            Err(frame::FrameError::Invalid { id, field, message }) => {
                state.metrics.ws_frame("invalid", None);
                outbound.frame(&ServerFrame::Error(validation(id, &field, message)));
                continue;
            }
        };
        let kind = parsed.frame.type_name();
        let started = Instant::now();
        // Boxed: the command futures are large and an idle connection should not carry them.
        let outcome = Box::pin(dispatch(&mut conn, parsed)).await;
        state.metrics.ws_frame(kind, Some(started.elapsed()));
        if outcome.rate_limited() && abused(&mut limited_since, abuse_after) {
            let frame = error(
                None,
                ErrorCode::RateLimited,
                "over the rate limit for too long",
            );
            outbound.fail(CloseCode::RateLimitAbuse, frame);
            break;
        }
        if conn.expiry_changed {
            conn.expiry_changed = false;
            (warn_at, expire_at) = expiry_timers(conn.principal.as_ref(), token_warning);
        }
        match outcome {
            Outcome::Reply(reply) => {
                outbound.text(ByteString::from(reply.to_string()));
            }
            Outcome::Text(text) => {
                outbound.text(ByteString::from(text));
            }
            Outcome::Queued => {}
            Outcome::Error(frame) => {
                outbound.frame(&ServerFrame::Error(*frame));
            }
            Outcome::Close(code, frame) => {
                outbound.fail(code, *frame);
                break;
            }
        }
    }
    conn.detach_all();
}

/// Records a refusal by a rate limiter; `true` once refusals have lasted `abuse_after`. Over
/// the limit is one stretch while refusals keep coming less than a second apart (admitted
/// commands in between do not end it); a stretch as long as `ws_abuse_seconds` closes 4029.
fn abused(limited_since: &mut Option<(Instant, Instant)>, abuse_after: Duration) -> bool {
    let now = Instant::now();
    let since = match *limited_since {
        Some((since, last)) if now.duration_since(last) < ABUSE_GAP => since,
        _ => now,
    };
    *limited_since = Some((since, now));
    now.duration_since(since) >= abuse_after
}

/// The close code and message for a transport-level error.
fn protocol_error(e: &ProtocolError, max: usize) -> (CloseCode, String) {
    match e {
        ProtocolError::Overflow => (
            CloseCode::FrameTooLarge,
            format!("frame larger than {max} bytes"),
        ),
        ProtocolError::Io(io) if io.to_string().contains("continuation size") => (
            CloseCode::FrameTooLarge,
            format!("message larger than {max} bytes"),
        ),
        other => (CloseCode::ProtocolError, format!("protocol error: {other}")),
    }
}

/// Replies to a non-JSON/binary frame; `false` once the connection is closed (4400).
fn bad_frame(outbound: &Outbound, count: u32, message: &str) -> bool {
    let frame = error(None, ErrorCode::ValidationError, message);
    if count >= MAX_BAD_FRAMES {
        outbound.fail(CloseCode::ProtocolError, frame);
        return false;
    }
    outbound.frame(&ServerFrame::Error(frame));
    true
}

async fn dispatch(conn: &mut Connection, parsed: frame::Parsed) -> Outcome {
    let frame::Parsed { frame, raw: value } = parsed;
    if conn.principal.is_none() && !matches!(frame, ClientFrame::Hello(_)) {
        return Outcome::error(error(
            Some(frame.id()),
            ErrorCode::Unauthorized,
            "send hello with credentials first",
        ));
    }
    match frame {
        ClientFrame::Hello(f) => hello::handle(conn, f).await,
        ClientFrame::Observe(f) => observe::handle(conn, f, &value).await,
        ClientFrame::ObserveSequence(f) => observe_sequence::handle(conn, f, &value).await,
        ClientFrame::GetPredictions(f) => get_predictions::handle(conn, f.id).await,
        ClientFrame::GetStm(f) => get_stm::handle(conn, f.id).await,
        ClientFrame::Learn(f) => learn::handle(conn, f.id).await,
        ClientFrame::ClearStm(f) => clear_stm::handle(conn, f.id).await,
        ClientFrame::Config(f) => config::handle(conn, f).await,
        ClientFrame::ClearAll(f) => clear_all::handle(conn, f.id).await,
        ClientFrame::Watch(f) => watching::watch(conn, f).await,
        ClientFrame::Unwatch(f) => watching::unwatch(conn, f),
        ClientFrame::Refresh(f) => refresh::handle(conn, f),
        ClientFrame::Ping(f) => ping::handle(f.id),
    }
}
