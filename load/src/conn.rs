//! One load connection's plumbing: reading the next reply (answering nothing itself; the
//! WebSocket library answers pings), binding a connection to a new session with `hello`, and
//! naming every way a connection can fail with a short label for the error counts.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use kato_protocol::client::SessionConfig;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::frames::{self, Reply};
use crate::target::{Socket, Target};

/// How long `hello` may take before the connection counts as failed.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a connection stopped: a label such as `close:4029`, `io`, `eof`, `timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended(pub String);

fn close_label(frame: Option<&CloseFrame<'_>>) -> String {
    match frame {
        Some(frame) => format!("close:{}", u16::from(frame.code)),
        None => "close".into(),
    }
}

/// The next text frame (its size and its reading), skipping control frames. Text frames that
/// are not a JSON object with a `type` come back as `None`.
pub async fn recv(socket: &mut Socket) -> Result<(usize, Option<Reply>), Ended> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => return Ok((text.len(), Reply::parse(&text))),
            Some(Ok(Message::Close(frame))) => return Err(Ended(close_label(frame.as_ref()))),
            Some(Ok(Message::Binary(_))) => return Err(Ended("binary".into())),
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Err(Ended("io".into())),
            None => return Err(Ended("eof".into())),
        }
    }
}

/// Sends one text frame.
pub async fn send(socket: &mut Socket, text: String) -> Result<(), Ended> {
    socket
        .send(Message::text(text))
        .await
        .map_err(|_| Ended("io".into()))
}

/// Connects to `/v2/ws` with `token` on the upgrade and creates a session on `node_id` with
/// `hello`; `Err` carries the error label (the error code of a refused hello, a close code, ...).
pub async fn bind(
    target: &Target,
    token: &str,
    node_id: &str,
    config: Option<SessionConfig>,
) -> Result<Socket, Ended> {
    let mut socket = target
        .connect("/v2/ws", Some(token))
        .await
        .map_err(|_| Ended("connect".into()))?;
    let hello =
        frames::encode(&frames::hello(1, node_id, config)).map_err(|_| Ended("encode".into()))?;
    send(&mut socket, hello).await?;
    let welcome = tokio::time::timeout(HELLO_TIMEOUT, async {
        loop {
            match recv(&mut socket).await? {
                (_, Some(reply)) if reply.id == Some(1) => return Ok(reply),
                _ => continue,
            }
        }
    })
    .await
    .map_err(|_| Ended("hello_timeout".into()))??;
    if welcome.is_error() {
        return Err(Ended(welcome.error_code()));
    }
    if welcome.kind != "welcome" {
        return Err(Ended(format!("unexpected:{}", welcome.kind)));
    }
    Ok(socket)
}

/// Closes politely (1000) and waits briefly for the server's close.
pub async fn close(mut socket: Socket) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        if socket.close(None).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}
