//! `ping {id}` → `pong {id, server_time}` (PROTOCOL.md §4): the application-level ping.
//! Touches no session and never fails.

use std::time::{SystemTime, UNIX_EPOCH};

use kato_protocol::server::{Pong, ServerFrame};

use super::Outcome;

pub(super) fn handle(id: u64) -> Outcome {
    let server_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Outcome::frame(ServerFrame::Pong(Pong { id, server_time }))
}
