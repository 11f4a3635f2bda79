//! End-to-end tests of malformed input on `/v2/ws` (PROTOCOL.md §2): every kind of bad frame
//! gets its exact error code, field and close code, and afterwards the server still answers a
//! fresh connection and `/health`.

use kato_e2e::ws::{close_code, connect_as, hello, recv, Socket};
use kato_e2e::TestApp;
use serde_json::{json, Value};
use tungstenite::Message;

/// The default inbound frame limit (PROTOCOL.md §2, `ws_max_frame_bytes`).
const LIMIT: usize = 64 * 1024;

/// An authenticated connection (tungstenite sends each message as one frame).
fn connect(app: &TestApp) -> Socket {
    connect_as(app, "/v2/ws", "alice")
}

fn send_text(socket: &mut Socket, text: String) -> Value {
    socket.send(Message::text(text)).unwrap();
    recv(socket)
}

/// The server's last words: an `error KATO_VALIDATION_ERROR` without `id`, then close `code`.
fn closes_with(socket: &mut Socket, code: u16) {
    assert_validation(&recv(socket), None, None);
    assert_eq!(close_code(socket), code);
}

/// A bound connection (hello on a fresh session).
fn bound(app: &TestApp) -> Socket {
    let mut socket = connect(app);
    hello(&mut socket, "malformed");
    socket
}

/// The server still serves: a fresh connection answers `ping`, and `/health` is 200.
fn still_serving(app: &TestApp) {
    let mut socket = bound(app);
    let pong = send_text(&mut socket, json!({"type": "ping", "id": 99}).to_string());
    assert_eq!(pong["type"], "pong", "{pong}");
    assert_eq!(pong["id"], 99);
    let health = app.client().get(app.url("/health")).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

fn assert_validation(reply: &Value, id: Option<u64>, field: Option<&str>) {
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "KATO_VALIDATION_ERROR", "{reply}");
    assert!(reply["trace_id"].is_string(), "{reply}");
    match id {
        Some(id) => assert_eq!(reply["id"], id, "{reply}"),
        None => assert!(reply.get("id").is_none_or(Value::is_null), "{reply}"),
    }
    if let Some(field) = field {
        assert_eq!(reply["details"]["field"], field, "{reply}");
    }
}

/// A ping frame padded with an ignored field to exactly `len` bytes.
fn padded_ping(id: u64, len: usize) -> String {
    let head = format!("{{\"type\":\"ping\",\"id\":{id},\"pad\":\"");
    let tail = "\"}";
    let pad = len - head.len() - tail.len();
    let frame = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(frame.len(), len);
    frame
}

#[test]
fn invalid_frames_get_validation_errors_naming_the_field() {
    let app = TestApp::start();
    let mut socket = bound(&app);

    let reply = send_text(
        &mut socket,
        json!({"type": "teleport", "id": 2}).to_string(),
    );
    assert_validation(&reply, Some(2), Some("type"));
    let reply = send_text(&mut socket, json!({"type": 7, "id": 3}).to_string());
    assert_validation(&reply, Some(3), Some("type"));
    let reply = send_text(&mut socket, json!({"id": 4}).to_string());
    assert_validation(&reply, Some(4), Some("type"));
    let reply = send_text(&mut socket, json!({"type": "ping"}).to_string());
    assert_validation(&reply, None, Some("id"));
    let reply = send_text(&mut socket, json!({"type": "ping", "id": "5"}).to_string());
    assert_validation(&reply, None, Some("id"));
    let reply = send_text(&mut socket, json!({"type": "ping", "id": -1}).to_string());
    assert_validation(&reply, None, Some("id"));
    let reply = send_text(&mut socket, json!([1, 2]).to_string());
    assert_validation(&reply, None, Some("frame"));

    let reply = send_text(
        &mut socket,
        json!({"type": "observe", "id": 6, "strings": "a"}).to_string(),
    );
    assert_validation(&reply, Some(6), Some("strings"));
    let reply = send_text(
        &mut socket,
        json!({"type": "observe", "id": 7, "strings": ["a", 3]}).to_string(),
    );
    assert_validation(&reply, Some(7), Some("strings[1]"));
    let reply = send_text(
        &mut socket,
        json!({"type": "observe", "id": 8, "vectors": [[1.0, "x"]]}).to_string(),
    );
    assert_validation(&reply, Some(8), Some("vectors[0][1]"));
    let reply = send_text(
        &mut socket,
        json!({"type": "observe", "id": 9, "emotives": {"joy": "high"}}).to_string(),
    );
    assert_validation(&reply, Some(9), Some("emotives.joy"));
    let reply = send_text(&mut socket, json!({"type": "watch", "id": 10}).to_string());
    assert_validation(&reply, Some(10), Some("session_id"));
    // Past the parser: the REST limits (1024 bytes per symbol by default).
    let reply = send_text(
        &mut socket,
        json!({"type": "observe", "id": 11, "strings": ["a", "y".repeat(1025)]}).to_string(),
    );
    assert_validation(&reply, Some(11), Some("strings[1]"));

    // Validation errors never count toward the 4400 close: the connection still works.
    let pong = send_text(&mut socket, json!({"type": "ping", "id": 12}).to_string());
    assert_eq!(pong["type"], "pong");
    let stm = send_text(
        &mut socket,
        json!({"type": "get_stm", "id": 13}).to_string(),
    );
    assert_eq!(
        stm["length"], 0,
        "no rejected observe may be applied: {stm}"
    );
    still_serving(&app);
}

#[test]
fn non_json_binary_and_deep_frames_count_toward_4400() {
    let app = TestApp::start();
    let mut socket = bound(&app);
    let reply = send_text(&mut socket, "not json".into());
    assert_validation(&reply, None, None);
    // Nested deeper than the JSON parser's recursion limit, inside the frame limit.
    let deep = "[".repeat(60_000);
    let reply = send_text(&mut socket, deep);
    assert_validation(&reply, None, None);
    // A valid frame in between does not reset the count.
    let pong = send_text(&mut socket, json!({"type": "ping", "id": 2}).to_string());
    assert_eq!(pong["type"], "pong");
    socket.send(Message::binary(vec![0u8, 1, 2])).unwrap();
    closes_with(&mut socket, 4400);
    still_serving(&app);

    let mut socket = bound(&app);
    socket.send(Message::binary(vec![1u8])).unwrap();
    assert_validation(&recv(&mut socket), None, None);
    socket.send(Message::binary(vec![2u8])).unwrap();
    assert_validation(&recv(&mut socket), None, None);
    socket.send(Message::text("{")).unwrap();
    closes_with(&mut socket, 4400);
    still_serving(&app);
}

#[test]
fn a_frame_of_exactly_the_limit_passes_and_one_byte_more_closes_4009() {
    let app = TestApp::start();
    let mut socket = bound(&app);
    let pong = send_text(&mut socket, padded_ping(2, LIMIT));
    assert_eq!(pong["type"], "pong", "{pong}");
    assert_eq!(pong["id"], 2);
    socket
        .send(Message::text(padded_ping(3, LIMIT + 1)))
        .unwrap();
    closes_with(&mut socket, 4009);
    still_serving(&app);

    // 100k `[` is over the limit before it is JSON at all.
    let mut socket = bound(&app);
    socket.send(Message::text("[".repeat(100_000))).unwrap();
    closes_with(&mut socket, 4009);
    still_serving(&app);

    // 1 MB of strings.
    let mut socket = bound(&app);
    let strings: Vec<String> = (0..1024).map(|i| format!("{i:0>1020}")).collect();
    let big = json!({"type": "observe", "id": 4, "strings": strings}).to_string();
    assert!(big.len() > 1_000_000);
    socket.send(Message::text(big)).unwrap();
    closes_with(&mut socket, 4009);
    still_serving(&app);
}

#[test]
fn the_limit_follows_the_setting() {
    let app = TestApp::builder()
        .env("KATO_WS_MAX_FRAME_BYTES", "1024")
        .start();
    let mut socket = bound(&app);
    let pong = send_text(&mut socket, padded_ping(2, 1024));
    assert_eq!(pong["type"], "pong", "{pong}");
    socket.send(Message::text(padded_ping(3, 1025))).unwrap();
    closes_with(&mut socket, 4009);
    still_serving(&app);
}

#[test]
fn malformed_frames_before_hello_follow_the_same_rules() {
    let app = TestApp::start();
    // Authenticated by header, not yet bound.
    let mut socket = connect(&app);
    let reply = send_text(&mut socket, json!({"type": "nope", "id": 1}).to_string());
    assert_validation(&reply, Some(1), Some("type"));
    let reply = send_text(&mut socket, json!({"type": "observe", "id": 2}).to_string());
    assert_validation(&reply, Some(2), Some("type"));
    socket
        .send(Message::text(padded_ping(3, LIMIT + 1)))
        .unwrap();
    closes_with(&mut socket, 4009);
    still_serving(&app);
}
