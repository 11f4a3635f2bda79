//! `get_stm {id}` → `stm {id, stm, length}` (PROTOCOL.md §4) of the bound session, via
//! `SessionService::stm`.

use kato_protocol::server::{ServerFrame, Stm};

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, id: u64) -> Outcome {
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let result = conn.state.sessions.stm(principal, session).await;
    Outcome::service(
        id,
        result.map(|stm| {
            ServerFrame::Stm(Stm {
                id,
                length: stm.len() as u64,
                stm,
            })
        }),
    )
}
