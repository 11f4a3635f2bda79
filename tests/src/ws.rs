//! A real (sync) WebSocket client for the end-to-end tests: connect with upgrade headers,
//! send/receive JSON frames, read close codes. Test-only: panics on anything unexpected.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::{token, TestApp};

pub type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

pub fn ws_url(app: &TestApp, path: &str) -> String {
    app.url(path).replacen("http://", "ws://", 1)
}

/// Connects with optional extra upgrade headers; returns the socket and the response's
/// `Sec-WebSocket-Protocol`.
pub fn connect_with(
    app: &TestApp,
    path: &str,
    headers: &[(&'static str, String)],
) -> (Socket, Option<String>) {
    let mut request = ws_url(app, path).into_client_request().unwrap();
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    let (socket, response) = tungstenite::connect(request).unwrap();
    if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
    }
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_string());
    (socket, protocol)
}

pub fn connect_as(app: &TestApp, path: &str, subject: &str) -> Socket {
    let bearer = format!("Bearer {}", token(subject, &json!({})));
    connect_with(app, path, &[("authorization", bearer)]).0
}

pub fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).unwrap();
}

/// The next text frame as JSON (skipping pings). Every frame must also parse as the protocol
/// crate's `ServerFrame`, so the wire types cannot drift from what the server sends.
pub fn recv(socket: &mut Socket) -> Value {
    checked(&recv_text(socket))
}

/// The next text frame, raw (skipping pings): for endpoints that do not speak the protocol
/// (`/ws/events`, `/dev/echo`).
pub fn recv_text(socket: &mut Socket) -> String {
    loop {
        match socket.read().unwrap() {
            Message::Text(text) => return text.as_str().to_string(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Parses a server frame, checking it against `kato_protocol::server::ServerFrame`.
pub fn checked(text: &str) -> Value {
    let value: Value = serde_json::from_str(text).unwrap();
    if let Err(e) = serde_json::from_value::<kato_protocol::server::ServerFrame>(value.clone()) {
        panic!("the server sent a frame the protocol types reject ({e}): {text}");
    }
    value
}

pub fn call(socket: &mut Socket, frame: Value) -> Value {
    send(socket, frame);
    recv(socket)
}

/// Reads until the server's close frame; returns its code.
pub fn close_code(socket: &mut Socket) -> u16 {
    loop {
        match socket.read() {
            Ok(Message::Close(Some(frame))) => return u16::from(frame.code),
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => continue,
            Err(e) => panic!("connection ended without a close frame: {e}"),
        }
    }
}

pub fn hello(socket: &mut Socket, node: &str) -> Value {
    let welcome = call(socket, json!({"type": "hello", "id": 1, "node_id": node}));
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    welcome
}

/// Sets the socket's read timeout (`None`: block).
pub fn read_timeout(socket: &Socket, timeout: Option<Duration>) {
    if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
        stream.set_read_timeout(timeout).unwrap();
    }
}

/// The next text frame as JSON, or `None` when nothing arrives within `wait`.
pub fn try_recv(socket: &mut Socket, wait: Duration) -> Option<Value> {
    read_timeout(socket, Some(wait));
    let result = loop {
        match socket.read() {
            Ok(Message::Text(text)) => break Some(checked(text.as_str())),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(other) => panic!("expected a text frame, got {other:?}"),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break None
            }
            Err(e) => panic!("read failed: {e}"),
        }
    };
    read_timeout(socket, Some(Duration::from_secs(5)));
    result
}
