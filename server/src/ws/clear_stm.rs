//! `clear_stm {id}` → `ack {id}` (PROTOCOL.md §4) on the bound session, via
//! `SessionService::clear_stm`.

use kato_protocol::server::{Ack, ServerFrame};

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, id: u64) -> Outcome {
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let result = conn.state.sessions.clear_stm(principal, session).await;
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
