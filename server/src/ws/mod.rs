//! The WebSocket endpoint (`GET /v2/ws`, `GET /ws`, PROTOCOL.md §2–§4): upgrade, token lookup,
//! frame parsing and a dispatcher over `ClientFrame`, one file per command. Thin: every
//! session or engine action goes through `SessionService`; never touch sessions directly.

mod clear_stm;
mod config;
pub mod frame;
mod get_predictions;
mod get_stm;
mod hello;
mod learn;
mod observe;
mod ping;

use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseReason, Message, MessageStream, ProtocolError, Session};
use futures_util::StreamExt;
use kato_protocol::client::ClientFrame;
use kato_protocol::close::CloseCode;
use kato_protocol::server::{Error as ErrorFrame, ServerFrame};
use kato_protocol::ErrorCode;
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::auth::{AuthError, Principal};
use crate::session::ServiceError;

/// The subprotocol the server speaks.
pub const SUBPROTOCOL: &str = "kato.v1.json";
/// Largest inbound frame; larger ones close the connection with 4009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How long a connection without a token may take to send `hello`.
pub const HELLO_DEADLINE: Duration = Duration::from_secs(10);
/// Non-JSON or binary frames tolerated before closing with 4400.
const MAX_BAD_FRAMES: u32 = 3;

/// Registers `/ws` in the scope it is called in (`/v2` and the root).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws").route(web::get().to(upgrade)));
}

/// What a command produced.
pub(crate) enum Outcome {
    /// A reply frame.
    Reply(Value),
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
}

/// The state of one connection.
pub(crate) struct Connection {
    pub state: web::Data<AppState>,
    pub principal: Option<Principal>,
    /// The session bound by `hello`.
    pub session_id: Option<String>,
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

fn auth_error(e: &AuthError) -> ErrorFrame {
    let mut details = Map::new();
    details.insert("reason".into(), json!(e.reason()));
    ErrorFrame {
        details: Some(details),
        ..error(
            None,
            ErrorCode::Unauthorized,
            "invalid or missing credentials",
        )
    }
}

/// The `bearer.<token>` entry of `Sec-WebSocket-Protocol`, if any, and whether any
/// subprotocol was offered.
fn subprotocol_token(req: &HttpRequest) -> (Option<String>, bool) {
    let mut offered = false;
    let mut token = None;
    for value in req.headers().get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            offered = true;
            if let Some(t) = entry.strip_prefix("bearer.") {
                token.get_or_insert_with(|| t.to_string());
            }
        }
    }
    (token, offered)
}

/// `GET /ws`: authenticates from the header or subprotocol (if any), upgrades, and runs the
/// connection. Credential failures are reported in-band (error frame, close 4001).
async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let (sub_token, offered) = subprotocol_token(&req);
    let has_header = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key("x-api-key");
    let auth: Result<Option<Principal>, AuthError> = if has_header || sub_token.is_none() {
        match state.auth.authenticate_request(&req) {
            Ok(p) => Ok(Some(p)),
            Err(AuthError::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    } else {
        let token = sub_token.unwrap_or_default();
        state.auth.authenticate_token(&token).map(Some)
    };
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    if offered {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    let stream = stream.max_frame_size(MAX_FRAME_BYTES);
    actix_web::rt::spawn(run(state, auth, session, stream));
    Ok(response)
}

async fn send(session: &mut Session, value: &Value) -> bool {
    session.text(value.to_string()).await.is_ok()
}

async fn send_error(session: &mut Session, frame: ErrorFrame) -> bool {
    match serde_json::to_value(ServerFrame::Error(frame)) {
        Ok(value) => send(session, &value).await,
        Err(_) => false,
    }
}

async fn close(mut session: Session, code: CloseCode, frame: Option<ErrorFrame>) {
    if let Some(frame) = frame {
        let description = frame.message.clone();
        if !send_error(&mut session, frame).await {
            return;
        }
        let _ = session
            .close(Some(CloseReason {
                code: actix_ws::CloseCode::Other(code.code()),
                description: Some(description),
            }))
            .await;
    } else {
        let _ = session
            .close(Some(CloseReason {
                code: actix_ws::CloseCode::Other(code.code()),
                description: None,
            }))
            .await;
    }
}

async fn run(
    state: web::Data<AppState>,
    auth: Result<Option<Principal>, AuthError>,
    mut session: Session,
    mut stream: MessageStream,
) {
    let principal = match auth {
        Ok(principal) => principal,
        Err(e) => return close(session, CloseCode::Unauthorized, Some(auth_error(&e))).await,
    };
    let deadline = principal
        .is_none()
        .then(|| tokio::time::Instant::now() + HELLO_DEADLINE);
    let mut conn = Connection {
        state,
        principal,
        session_id: None,
    };
    let mut bad_frames = 0u32;
    loop {
        let next = match deadline.filter(|_| conn.session_id.is_none()) {
            Some(at) => match tokio::time::timeout_at(at, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let frame = error(
                        None,
                        ErrorCode::Unauthorized,
                        "no hello with credentials within 10 s",
                    );
                    return close(session, CloseCode::Unauthorized, Some(frame)).await;
                }
            },
            None => stream.next().await,
        };
        let text = match next {
            None => return,
            Some(Err(ProtocolError::Overflow)) => {
                let frame = error(
                    None,
                    ErrorCode::ValidationError,
                    format!("frame larger than {MAX_FRAME_BYTES} bytes"),
                );
                return close(session, CloseCode::FrameTooLarge, Some(frame)).await;
            }
            Some(Err(_)) => return close(session, CloseCode::ProtocolError, None).await,
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(bytes))) => {
                if session.pong(&bytes).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Ok(Message::Pong(_))) | Some(Ok(Message::Nop)) => continue,
            Some(Ok(Message::Close(_))) => {
                let _ = session.close(None).await;
                return;
            }
            Some(Ok(Message::Binary(_))) | Some(Ok(Message::Continuation(_))) => {
                bad_frames += 1;
                if !bad_frame(&mut session, bad_frames, "binary frames are not supported").await {
                    return close(session, CloseCode::ProtocolError, None).await;
                }
                continue;
            }
        };
        let parsed = match frame::parse(&text) {
            Ok(parsed) => parsed,
            Err(frame::FrameError::NotJson) => {
                bad_frames += 1;
                if !bad_frame(&mut session, bad_frames, "frame is not valid JSON").await {
                    return close(session, CloseCode::ProtocolError, None).await;
                }
                continue;
            }
            Err(frame::FrameError::Invalid { id, field, message }) => {
                if !send_error(&mut session, validation(id, &field, message)).await {
                    return;
                }
                continue;
            }
        };
        match dispatch(&mut conn, parsed).await {
            Outcome::Reply(reply) => {
                if !send(&mut session, &reply).await {
                    return;
                }
            }
            Outcome::Error(frame) => {
                if !send_error(&mut session, *frame).await {
                    return;
                }
            }
            Outcome::Close(code, frame) => return close(session, code, Some(*frame)).await,
        }
    }
}

/// Replies to a non-JSON/binary frame; `false` when the connection must be closed (4400).
async fn bad_frame(session: &mut Session, count: u32, message: &str) -> bool {
    let frame = error(None, ErrorCode::ValidationError, message);
    if count >= MAX_BAD_FRAMES {
        return false;
    }
    send_error(session, frame).await
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
        ClientFrame::GetPredictions(f) => get_predictions::handle(conn, f.id).await,
        ClientFrame::GetStm(f) => get_stm::handle(conn, f.id).await,
        ClientFrame::Learn(f) => learn::handle(conn, f.id).await,
        ClientFrame::ClearStm(f) => clear_stm::handle(conn, f.id).await,
        ClientFrame::Config(f) => config::handle(conn, f).await,
        ClientFrame::Ping(f) => ping::handle(f.id),
        other => Outcome::error(validation(
            Some(other.id()),
            "type",
            format!("{} is not supported yet", other.type_name()),
        )),
    }
}
