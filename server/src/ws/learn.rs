//! `learn {id}` → `learned {id, pattern_name}` (PROTOCOL.md §4) on the bound session, via
//! `SessionService::learn`; never touches the engine itself.

use kato_protocol::server::{Learned, ServerFrame};

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, id: u64) -> Outcome {
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let result = conn.state.sessions.learn(principal, session).await;
    Outcome::service(
        id,
        result.map(|pattern_name| ServerFrame::Learned(Learned { id, pattern_name })),
    )
}
