//! `config {id, config}` → `config {id, config}` (PROTOCOL.md §4): updates the bound session's
//! config with the REST validation (`SessionService::update_config`); nothing applied on error.

use kato_protocol::client::Config;
use kato_protocol::server::{ConfigReply, ServerFrame};
use serde_json::Value;

use super::{Connection, Outcome};

pub(super) async fn handle(conn: &Connection, frame: Config) -> Outcome {
    let id = frame.id;
    let (principal, session) = match conn.bound(id) {
        Ok(bound) => bound,
        Err(outcome) => return outcome,
    };
    let result = conn
        .state
        .sessions
        .update_config(principal, session, Value::Object(frame.config))
        .await;
    Outcome::service(
        id,
        result.map(|config| ServerFrame::Config(ConfigReply { id, config })),
    )
}
