//! The upstream event stream `GET /ws/events` (API.md §3.1): a `state.snapshot` on accept,
//! `session.created` / `session.destroyed` (explicit delete only) from `SessionService`'s
//! broadcast, text `ping` → `pong`. Never blocks the broadcaster (a lagging receiver skips) and
//! never shows a subject another subject's session ids.
//!
//! Authentication (our choice; upstream has none): with `auth = disabled` the stream is
//! anonymous and carries every session, as upstream. With auth on, the upgrade needs a valid
//! credential (`Authorization: Bearer`, `X-API-Key`, a `bearer.<token>` subprotocol entry or
//! `?token=`); without one the connection is closed `4001` right after the upgrade. The stream
//! then carries only the caller's own sessions (only the `sid` session for a session-bound
//! token), or every session for scope `admin`, and `active_sessions` counts what the caller
//! may see. It is closed `4002` when the token expires (there is no `refresh` on this stream).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::telemetry::python_isoformat;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseReason, Message, MessageStream, ProtocolError, Session};
use futures_util::StreamExt;
use kato_protocol::close::CloseCode;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::auth::{AuthError, Principal, Scope};
use crate::session::{SessionEvent, SessionService};

/// Largest inbound frame on the event stream: clients only ever send `ping`.
pub const MAX_EVENTS_FRAME_BYTES: usize = 4 * 1024;
/// Longest `?token=` accepted (a JWT is far shorter).
const MAX_QUERY_TOKEN_BYTES: usize = 8 * 1024;

/// Registers `GET /ws/events` (call at the root only; upstream has no `/v2` variant).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/events").route(web::get().to(upgrade)));
}

/// What one connection may see.
#[derive(Debug)]
enum Audience {
    /// Every session (auth disabled, or scope `admin`).
    All,
    /// Sessions of `subject` (only `session` when the token is bound to one). `known` holds the
    /// ids seen live, so a destroyed event (the session is gone from the table by then) can be
    /// attributed.
    Owner {
        subject: String,
        session: Option<String>,
        known: HashSet<String>,
    },
}

impl Audience {
    fn of(principal: &Principal) -> Audience {
        if principal.has(Scope::Admin) && principal.session.is_none() {
            Audience::All
        } else {
            Audience::Owner {
                subject: principal.subject.clone(),
                session: principal.session.clone(),
                known: HashSet::new(),
            }
        }
    }

    /// Whether `id` (owned by `owner`, if still known) is visible.
    fn owns(subject: &str, session: &Option<String>, id: &str, owner: Option<&str>) -> bool {
        owner == Some(subject) && session.as_deref().is_none_or(|sid| sid == id)
    }

    /// Records the caller's live sessions and returns how many there are.
    fn snapshot(&mut self, sessions: &SessionService) -> usize {
        match self {
            Audience::All => sessions.count(),
            Audience::Owner {
                subject,
                session,
                known,
            } => {
                for (id, _) in sessions.list() {
                    let owner = sessions.owner_of(&id).map(|(owner, _)| owner);
                    if Audience::owns(subject, session, &id, owner.as_deref()) {
                        known.insert(id);
                    }
                }
                known.len()
            }
        }
    }

    /// The frame to send for `event`, if any.
    fn frame(&mut self, event: &SessionEvent) -> Option<Value> {
        match event {
            SessionEvent::Created {
                session_id,
                node_id,
                subject: owner,
                created_at,
            } => {
                if let Audience::Owner {
                    subject,
                    session,
                    known,
                } = self
                {
                    if !Audience::owns(subject, session, session_id, Some(owner)) {
                        return None;
                    }
                    known.insert(session_id.clone());
                }
                Some(json!({
                    "event_type": "session.created",
                    "timestamp": utc_isoformat(SystemTime::now()),
                    "data": {
                        "session_id": session_id,
                        "node_id": node_id,
                        "created_at": utc_isoformat(*created_at),
                    },
                }))
            }
            SessionEvent::Destroyed {
                session_id, reason, ..
            } => {
                if let Audience::Owner { known, .. } = self {
                    // Forget it whatever the reason, so `known` only holds live sessions.
                    if !known.remove(session_id) {
                        return None;
                    }
                }
                // Upstream announces explicit deletes only, not expiry.
                if *reason != "deleted" {
                    return None;
                }
                let now = SystemTime::now();
                Some(json!({
                    "event_type": "session.destroyed",
                    "timestamp": utc_isoformat(now),
                    "data": {
                        "session_id": session_id,
                        "destroyed_at": utc_isoformat(now),
                        "reason": "explicit_delete",
                    },
                }))
            }
        }
    }
}

/// Python's `datetime.isoformat()` of an aware UTC datetime: `2026-11-25T12:00:00.123456+00:00`
/// (no fraction when the microseconds are zero).
fn utc_isoformat(at: SystemTime) -> String {
    python_isoformat(at) + "+00:00"
}

/// Python's `datetime.now().isoformat()` (naive). The server's local time is taken to be UTC:
/// reading the local offset is unsound in a multi-threaded process, and containers run in UTC.
fn naive_isoformat(at: SystemTime) -> String {
    python_isoformat(at)
}

/// `?token=` of the query string, percent-decoded (JWTs need no decoding, but API clients may
/// encode anyway).
fn query_token(req: &HttpRequest) -> Option<String> {
    let query = req.query_string();
    if query.len() > MAX_QUERY_TOKEN_BYTES * 3 {
        return None;
    }
    let parsed = web::Query::<std::collections::HashMap<String, String>>::from_query(query).ok()?;
    parsed
        .get("token")
        .filter(|t| !t.is_empty() && t.len() <= MAX_QUERY_TOKEN_BYTES)
        .cloned()
}

/// The caller, by the first credential found: header (`Authorization`, `X-API-Key`), then the
/// subprotocol, then `?token=`.
fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    sub_token: Option<String>,
) -> Result<Principal, AuthError> {
    let has_header = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key("x-api-key");
    if has_header {
        return state.auth.authenticate_request(req);
    }
    match sub_token.or_else(|| query_token(req)) {
        Some(token) => state.auth.authenticate_token(&token),
        // With auth disabled this is the anonymous principal; with auth on, `Missing`.
        None => state.auth.authenticate_request(req),
    }
}

/// `GET /ws/events`: upgrades, then streams (or closes 4001 on bad credentials). During
/// shutdown the upgrade is refused with 503, and open streams are closed 4000.
async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    if let Some(refused) = state.ws.refuse_while_shutting_down() {
        return Ok(refused);
    }
    // The first non-bearer entry is echoed as the chosen subprotocol: browsers need the server
    // to choose one of those they offered.
    let (sub_token, chosen) = super::subprotocols(&req);
    let auth = authenticate(&req, &state, sub_token);
    let (mut response, session, stream) = actix_ws::handle(&req, body)?;
    if let Some(chosen) = chosen.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_PROTOCOL, chosen);
    }
    let stream = stream.max_frame_size(MAX_EVENTS_FRAME_BYTES);
    actix_web::rt::spawn(run(state, auth, session, stream));
    Ok(response)
}

async fn close(session: Session, code: CloseCode, description: &str) {
    let _ = session
        .close(Some(CloseReason {
            code: actix_ws::CloseCode::Other(code.code()),
            description: Some(description.to_string()),
        }))
        .await;
}

/// When the credential expires, as a deadline (far in the future when it never does).
fn expiry(principal: &Principal) -> tokio::time::Instant {
    let far = Duration::from_secs(365 * 24 * 3600);
    let left = match principal.expires_at {
        None => far,
        Some(exp) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            Duration::from_secs(exp.saturating_sub(now)).min(far)
        }
    };
    tokio::time::Instant::now() + left
}

async fn run(
    state: web::Data<AppState>,
    auth: Result<Principal, AuthError>,
    mut session: Session,
    mut stream: MessageStream,
) {
    let principal = match auth {
        Ok(principal) => principal,
        Err(e) => return close(session, CloseCode::Unauthorized, e.reason()).await,
    };
    // Subscribe before the snapshot so no session created in between is missed.
    let mut events = state.sessions.subscribe();
    let mut audience = Audience::of(&principal);
    let active = audience.snapshot(&state.sessions);
    let snapshot = json!({
        "event_type": "state.snapshot",
        "timestamp": naive_isoformat(SystemTime::now()),
        "data": {"active_sessions": active, "system_status": "healthy"},
    });
    if session.text(snapshot.to_string()).await.is_err() {
        return;
    }
    let expires = tokio::time::sleep_until(expiry(&principal));
    tokio::pin!(expires);
    let mut shutdown = state.ws.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|down| *down) => {
                return close(session, CloseCode::ServerShuttingDown, "server shutting down").await;
            }
            () = &mut expires => {
                return close(session, CloseCode::TokenExpired, "token_expired").await;
            }
            event = events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    // Missed events are skipped, as upstream drops nothing but never waits.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "/ws/events receiver lagged; events skipped");
                        continue;
                    }
                    Err(RecvError::Closed) => {
                        return close(session, CloseCode::ServerShuttingDown, "shutting down").await;
                    }
                };
                if let Some(frame) = audience.frame(&event) {
                    if session.text(frame.to_string()).await.is_err() {
                        return;
                    }
                }
            }
            message = stream.next() => match message {
                None => return,
                Some(Ok(Message::Text(text))) => {
                    if text.trim() == "ping" && session.text("pong").await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) => {
                    let _ = session.close(None).await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(ProtocolError::Overflow)) => {
                    return close(session, CloseCode::FrameTooLarge, "frame too large").await;
                }
                Some(Err(_)) => return close(session, CloseCode::ProtocolError, "protocol error").await,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_matches_python() {
        let at = UNIX_EPOCH + Duration::from_micros(1_764_072_000_123_456);
        assert_eq!(utc_isoformat(at), "2025-11-25T12:00:00.123456+00:00");
        let whole = UNIX_EPOCH + Duration::from_secs(1_764_072_000);
        assert_eq!(naive_isoformat(whole), "2025-11-25T12:00:00");
        let early = UNIX_EPOCH + Duration::from_micros(1_764_072_000_000_007);
        assert_eq!(naive_isoformat(early), "2025-11-25T12:00:00.000007");
    }

    #[test]
    fn owners_see_their_sessions_only() {
        assert!(Audience::owns("alice", &None, "s1", Some("alice")));
        assert!(!Audience::owns("alice", &None, "s1", Some("bob")));
        assert!(!Audience::owns("alice", &None, "s1", None));
        let bound = Some("s2".to_string());
        assert!(!Audience::owns("alice", &bound, "s1", Some("alice")));
        assert!(Audience::owns("alice", &bound, "s2", Some("alice")));
    }
}
