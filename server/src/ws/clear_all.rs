//! `clear_all {id}` → `ack {id}` (PROTOCOL.md §4): wipes the bound session's state and its
//! node's knowledge base via `SessionService::clear_all`, which demands scope `admin`.

use kato_protocol::server::{Ack, ServerFrame};

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, id: u64) -> Outcome {
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let result = conn.state.sessions.clear_all(principal, session).await;
    Outcome::service(
        id,
        result.map(|()| {
            ServerFrame::Ack(Ack {
                id,
                token_expires_in_s: None,
            })
        }),
    )
}
