//! `hello` (PROTOCOL.md §3): authenticates when the upgrade had no credentials, then creates a
//! session on `node_id` or resumes `session_id` (replaying missed events after `resume`), and
//! replies `welcome`. Owner and existence checks are the session service's; a refusal closes
//! 4001/4003/4004.

use std::sync::Arc;

use kato_protocol::client::Hello;
use kato_protocol::close::CloseCode;
use kato_protocol::server::{Limits, ServerFrame, ServerInfo, Welcome};
use kato_protocol::ErrorCode;
use serde_json::{Map, Value};

use super::{error, service_error, validation, Connection, Outcome};
use crate::auth::jwt::now_seconds;
use crate::auth::Principal;
use crate::session::{Attachment, EventSink, ServiceError};

/// Closes with the code matching a refusal of the session, else reports it in-band.
fn refused(id: u64, e: &ServiceError) -> Outcome {
    let frame = service_error(Some(id), e);
    match e {
        ServiceError::Forbidden(_) => Outcome::close(CloseCode::Forbidden, frame),
        ServiceError::NotFound(_) | ServiceError::Expired(_) => {
            Outcome::close(CloseCode::SessionNotFound, frame)
        }
        _ => Outcome::error(frame),
    }
}

fn authenticate(conn: &Connection, frame: &Hello) -> Result<Principal, Outcome> {
    if let Some(principal) = &conn.principal {
        return Ok(principal.clone());
    }
    let auth = &conn.state.auth;
    let result = match (&frame.token, &frame.api_key) {
        (Some(token), _) => auth.authenticate_token(token),
        (None, Some(key)) => auth.authenticate_api_key(key),
        (None, None) => Err(crate::auth::AuthError::Missing),
    };
    result.map_err(|e| {
        let mut details = Map::new();
        details.insert("reason".into(), Value::from(e.reason()));
        let frame = kato_protocol::server::Error {
            details: Some(details),
            ..error(
                Some(frame.id),
                ErrorCode::Unauthorized,
                "invalid or missing credentials",
            )
        };
        Outcome::close(CloseCode::Unauthorized, frame)
    })
}

pub(super) async fn handle(conn: &mut Connection, frame: Hello) -> Outcome {
    let id = frame.id;
    if conn.session_id.is_some() {
        return Outcome::error(validation(
            Some(id),
            "type",
            "the connection is already bound to a session",
        ));
    }
    let principal = match authenticate(conn, &frame) {
        Ok(principal) => principal,
        Err(outcome) => return outcome,
    };
    conn.principal = Some(principal.clone());
    conn.expiry_changed = true;
    let sessions = &conn.state.sessions;
    let session_id = match (&frame.session_id, &frame.node_id) {
        (Some(session_id), _) => session_id.clone(),
        (None, Some(node_id)) => match sessions.create(
            &principal,
            node_id,
            frame.config.clone().map(Value::Object).as_ref(),
            Map::new(),
            frame.ttl_seconds,
        ) {
            Ok(info) => info.id,
            Err(e) => return refused(id, &e),
        },
        (None, None) => {
            return Outcome::error(validation(
                Some(id),
                "node_id",
                "hello needs session_id (resume) or node_id (create)",
            ))
        }
    };
    let stm = match sessions.stm(&principal, &session_id).await {
        Ok(stm) => stm,
        Err(e) => return refused(id, &e),
    };
    let settings = &conn.state.settings;
    let limits = Limits {
        observe_per_second: settings.rate_session_per_second,
        burst: settings.rate_session_burst,
        max_frame_bytes: settings.ws_max_frame_bytes as u64,
    };
    let server = ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        instance: conn.state.instance.clone(),
    };
    let token_expires_in_s = principal
        .expires_at
        .map(|exp| exp.saturating_sub(now_seconds()));
    // With `resume`, the connection watches its session (it asked for the event stream):
    // the welcome, the replayed events and every later event are queued in that order under
    // the stream lock. Without, it is only bound (it learns when the session ends).
    let resume = frame.resume.as_ref().filter(|_| frame.session_id.is_some());
    let outbound = conn.outbound.clone();
    let sink: Arc<dyn EventSink> = outbound.clone();
    let why = if resume.is_some() {
        Attachment::Watch
    } else {
        Attachment::Bound
    };
    let attached = sessions.attach(
        &principal,
        &session_id,
        conn.id,
        sink.clone(),
        why,
        resume.map(|r| (r.epoch.as_str(), r.offset)),
        |info, attached| {
            let welcome = Welcome {
                id,
                session_id: info.id.clone(),
                node_id: info.node.as_str().to_string(),
                stm,
                config: info.config.clone(),
                epoch: attached.epoch.clone(),
                offset: attached.offset,
                limits,
                server,
                token_expires_in_s,
                recovered: resume.map(|_| attached.replay.is_some()),
            };
            outbound.frame(&ServerFrame::Welcome(welcome));
            for event in attached.replay.iter().flatten() {
                outbound.text(event.clone());
            }
        },
    );
    if let Err(e) = attached {
        return refused(id, &e);
    }
    if resume.is_some() {
        conn.watching.insert(session_id.clone());
        if let Err(e) = sessions.attach(
            &principal,
            &session_id,
            conn.id,
            sink,
            Attachment::Bound,
            None,
            |_, _| {},
        ) {
            return refused(id, &e);
        }
    }
    conn.session_id = Some(session_id);
    Outcome::Queued
}
