//! `GET /dev/echo`: a WebSocket that sends every text frame back unchanged, the baseline the
//! load tool (`kato-load --mode echo`) measures observe round trips against. Registered only
//! with the `dev_echo` setting on: it has no authentication and must never run in production.
//! It never parses frames or touches sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use futures_util::StreamExt;

use crate::app::AppState;

/// Registers `/dev/echo` (called by `app.rs` only when `dev_echo` is on).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dev/echo").route(web::get().to(upgrade)));
}

async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    // The same inbound bound as `/v2/ws`.
    let stream = stream.max_frame_size(state.settings.ws_max_frame_bytes);
    actix_web::rt::spawn(echo(session, stream));
    Ok(response)
}

/// Echoes text frames until the peer closes; binary frames are ignored, oversized or broken
/// frames close the connection (1009 / 1002).
async fn echo(mut session: actix_ws::Session, mut stream: actix_ws::MessageStream) {
    while let Some(message) = stream.next().await {
        let closing = match message {
            Ok(Message::Text(text)) => {
                if session.text(text).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Message::Ping(bytes)) => {
                if session.pong(&bytes).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Message::Close(_)) => None,
            Ok(_) => continue,
            Err(actix_ws::ProtocolError::Overflow) => Some(CloseCode::Size),
            Err(_) => Some(CloseCode::Protocol),
        };
        let _ = session
            .close(closing.map(|code| CloseReason {
                code,
                description: None,
            }))
            .await;
        return;
    }
}
