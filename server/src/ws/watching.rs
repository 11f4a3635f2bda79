//! `watch {id, session_id}` / `unwatch {id, session_id}` → `ack {id}` (PROTOCOL.md §4, §5):
//! attaches the connection's outbound queue to another (or its own) session's event stream.
//! The `ack` is queued under the stream lock, so it precedes every event of the watch.
//! Authorisation (scope `watch` or the same subject, node access) is the session service's.

use std::sync::Arc;

use kato_protocol::client::{Unwatch, Watch};
use kato_protocol::server::{Ack, ServerFrame};

use super::{service_error, validation, Connection, Outcome};
use crate::api::input;
use crate::session::{Attachment, EventSink};

fn ack(id: u64) -> ServerFrame {
    ServerFrame::Ack(Ack {
        id,
        token_expires_in_s: None,
    })
}

pub(super) async fn watch(conn: &mut Connection, frame: Watch) -> Outcome {
    let id = frame.id;
    let Some(principal) = &conn.principal else {
        return Outcome::error(validation(Some(id), "type", "send hello first"));
    };
    if frame.session_id.len() > input::MAX_ID_BYTES {
        return Outcome::error(validation(Some(id), "session_id", "too long"));
    }
    let max = conn.state.settings.ws_max_watches;
    if !conn.watching.contains(&frame.session_id) && conn.watching.len() >= max {
        // Sessions that ended since they were watched no longer count.
        let sessions = &conn.state.sessions;
        conn.watching.retain(|id| sessions.owner_of(id).is_some());
    }
    if !conn.watching.contains(&frame.session_id) && conn.watching.len() >= max {
        return Outcome::error(validation(
            Some(id),
            "session_id",
            format!("a connection may watch at most {max} sessions; unwatch one first"),
        ));
    }
    let outbound = conn.outbound.clone();
    let sink: Arc<dyn EventSink> = outbound.clone();
    let result = conn.state.sessions.attach(
        principal,
        &frame.session_id,
        conn.id,
        sink,
        Attachment::Watch,
        None,
        |_, _| {
            outbound.frame(&ack(id));
        },
    );
    match result {
        Ok(()) => {
            conn.watching.insert(frame.session_id);
            Outcome::Queued
        }
        Err(e) => Outcome::error(service_error(Some(id), &e)),
    }
}

pub(super) fn unwatch(conn: &mut Connection, frame: Unwatch) -> Outcome {
    if conn.watching.remove(&frame.session_id) {
        conn.state
            .sessions
            .detach(&frame.session_id, conn.id, Attachment::Watch);
    }
    Outcome::frame(ack(frame.id))
}
