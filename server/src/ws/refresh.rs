//! `refresh {id, token}` → `ack {id, token_expires_in_s}` (PROTOCOL.md §3): swaps the
//! connection's credentials for a fresh token of the same subject (and, for `sid`-bound
//! tokens, the same session) and re-arms the expiry timers. A bad token is refused in-band;
//! the old one keeps running out.

use kato_protocol::client::Refresh;
use kato_protocol::server::{Ack, ServerFrame};
use kato_protocol::ErrorCode;

use super::{auth_error, error, Connection, Outcome};
use crate::auth::jwt::now_seconds;

pub(super) fn handle(conn: &mut Connection, frame: Refresh) -> Outcome {
    let id = frame.id;
    let Some(current) = &conn.principal else {
        return Outcome::error(error(
            Some(id),
            ErrorCode::Unauthorized,
            "send hello with credentials first",
        ));
    };
    let fresh = match conn.state.auth.authenticate_token(&frame.token) {
        Ok(fresh) => fresh,
        Err(e) => return Outcome::error(auth_error(Some(id), &e)),
    };
    if fresh.subject != current.subject {
        return Outcome::error(error(
            Some(id),
            ErrorCode::Forbidden,
            "the refreshed token is for another subject",
        ));
    }
    if let (Some(sid), Some(bound)) = (&fresh.session, &conn.session_id) {
        if sid != bound {
            return Outcome::error(error(
                Some(id),
                ErrorCode::Forbidden,
                "the refreshed token is bound to another session",
            ));
        }
    }
    let token_expires_in_s = fresh
        .expires_at
        .map(|exp| exp.saturating_sub(now_seconds()));
    conn.principal = Some(fresh);
    conn.expiry_changed = true;
    Outcome::frame(ServerFrame::Ack(Ack {
        id,
        token_expires_in_s,
    }))
}
