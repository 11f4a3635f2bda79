//! End-to-end tests of the upstream event stream `GET /ws/events` (API.md §3.1) with a real
//! WebSocket client: the snapshot, created/destroyed events after REST calls, `ping` → `pong`,
//! and the auth rules of our choice (anonymous when auth is disabled; with auth on, a token is
//! required and a subject sees only its own sessions unless it has scope `admin`).

use std::time::Duration;

use kato_e2e::ws::{connect_with, recv_text, Socket};
use kato_e2e::{token, TestApp};
use serde_json::{json, Value};
use tungstenite::Message;

fn connect_as(app: &TestApp, subject: &str, claims: &Value) -> Socket {
    let bearer = format!("Bearer {}", token(subject, claims));
    connect_with(app, "/ws/events", &[("authorization", bearer)]).0
}

fn recv(socket: &mut Socket) -> Value {
    let text = recv_text(socket);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The next frame, which must be the server's close frame; returns its code.
fn close_code(socket: &mut Socket) -> u16 {
    match socket.read() {
        Ok(Message::Close(Some(frame))) => u16::from(frame.code),
        Ok(other) => panic!("expected a close frame with a code, got {other:?}"),
        Err(e) => panic!("connection ended without a close frame: {e}"),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]` followed by `suffix` (Python's `isoformat`).
fn is_isoformat(value: &Value, suffix: &str) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let Some(body) = text.strip_suffix(suffix) else {
        return false;
    };
    let bytes = body.as_bytes();
    let shape_ok = |pattern: &str| {
        pattern.len() == bytes.len()
            && pattern.bytes().zip(bytes).all(|(p, b)| match p {
                b'd' => b.is_ascii_digit(),
                other => other == *b,
            })
    };
    shape_ok("dddd-dd-ddTdd:dd:dd") || shape_ok("dddd-dd-ddTdd:dd:dd.dddddd")
}

/// `POST /sessions` with an optional bearer token; returns the session id.
fn create_session(app: &TestApp, bearer: Option<&str>, node: &str) -> String {
    let mut request = app
        .client()
        .post(app.url("/sessions"))
        .json(&json!({"node_id": node}));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().unwrap();
    body["session_id"].as_str().unwrap().to_string()
}

fn delete_session(app: &TestApp, bearer: Option<&str>, id: &str) {
    let mut request = app.client().delete(app.url(&format!("/sessions/{id}")));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    assert_eq!(request.send().unwrap().status().as_u16(), 200);
}

fn assert_created(event: &Value, id: &str, node: &str) {
    assert_eq!(event["event_type"], "session.created", "{event}");
    assert_eq!(event["data"]["session_id"], id, "{event}");
    assert_eq!(event["data"]["node_id"], node, "{event}");
    assert!(is_isoformat(&event["timestamp"], "+00:00"), "{event}");
    assert!(
        is_isoformat(&event["data"]["created_at"], "+00:00"),
        "{event}"
    );
    assert_eq!(event["data"].as_object().unwrap().len(), 3, "{event}");
}

fn assert_destroyed(event: &Value, id: &str) {
    assert_eq!(event["event_type"], "session.destroyed", "{event}");
    assert_eq!(event["data"]["session_id"], id, "{event}");
    assert_eq!(event["data"]["reason"], "explicit_delete", "{event}");
    assert!(is_isoformat(&event["timestamp"], "+00:00"), "{event}");
    assert!(
        is_isoformat(&event["data"]["destroyed_at"], "+00:00"),
        "{event}"
    );
    assert_eq!(event["data"].as_object().unwrap().len(), 3, "{event}");
}

fn assert_snapshot(event: &Value, active: u64) {
    assert_eq!(event["event_type"], "state.snapshot", "{event}");
    assert_eq!(
        event["data"],
        json!({"active_sessions": active, "system_status": "healthy"})
    );
    // Naive local time: no offset, no `Z`.
    assert!(is_isoformat(&event["timestamp"], ""), "{event}");
}

#[test]
fn anonymous_stream_reports_rest_creates_and_deletes() {
    let app = TestApp::builder().env("KATO_AUTH", "disabled").start();
    let first = create_session(&app, None, "ev_a");
    create_session(&app, None, "ev_b");

    let (mut socket, protocol) = connect_with(&app, "/ws/events", &[]);
    assert_eq!(protocol, None);
    assert_snapshot(&recv(&mut socket), 2);

    socket.send(Message::text("ping")).unwrap();
    assert_eq!(recv_text(&mut socket), "pong");
    // Anything else is ignored: the next frame is the pong of the next ping.
    socket.send(Message::text("{\"type\":\"hello\"}")).unwrap();
    socket.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    socket.send(Message::text("ping")).unwrap();
    assert_eq!(recv_text(&mut socket), "pong");

    let third = create_session(&app, None, "ev_c");
    assert_created(&recv(&mut socket), &third, "ev_c");
    delete_session(&app, None, &first);
    assert_destroyed(&recv(&mut socket), &first);

    // A second listener sees the current count, and both get the next event.
    let (mut other, _) = connect_with(&app, "/ws/events", &[]);
    assert_snapshot(&recv(&mut other), 2);
    let fourth = create_session(&app, None, "ev_d");
    assert_created(&recv(&mut socket), &fourth, "ev_d");
    assert_created(&recv(&mut other), &fourth, "ev_d");

    // A failed delete (unknown session) announces nothing: the next event is the next create.
    let response = app
        .client()
        .delete(app.url("/sessions/session-does-not-exist"))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let fifth = create_session(&app, None, "ev_e");
    assert_created(&recv(&mut socket), &fifth, "ev_e");
}

#[test]
fn expiry_is_not_announced() {
    let app = TestApp::builder().env("KATO_AUTH", "disabled").start();
    let (mut socket, _) = connect_with(&app, "/ws/events", &[]);
    assert_snapshot(&recv(&mut socket), 0);
    let response = app
        .client()
        .post(app.url("/sessions"))
        .json(&json!({"node_id": "ev_ttl", "ttl_seconds": 1}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let short: Value = response.json().unwrap();
    let short = short["session_id"].as_str().unwrap().to_string();
    assert_created(&recv(&mut socket), &short, "ev_ttl");
    std::thread::sleep(Duration::from_millis(2100));
    // Touching the expired session removes it (reason "expired"): no event for that.
    let response = app
        .client()
        .get(app.url(&format!("/sessions/{short}")))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let next = create_session(&app, None, "ev_ttl");
    assert_created(&recv(&mut socket), &next, "ev_ttl");
    delete_session(&app, None, &next);
    assert_destroyed(&recv(&mut socket), &next);
}

#[test]
fn with_auth_a_token_is_required() {
    let app = TestApp::start();
    // No credentials: accepted, then closed 4001 with the reason.
    let (mut socket, _) = connect_with(&app, "/ws/events", &[]);
    assert_eq!(close_code(&mut socket), 4001);
    // A bad token in each place: 4001.
    let (mut socket, _) = connect_with(
        &app,
        "/ws/events",
        &[("authorization", "Bearer nope".into())],
    );
    assert_eq!(close_code(&mut socket), 4001);
    let (mut socket, _) = connect_with(&app, "/ws/events?token=nope", &[]);
    assert_eq!(close_code(&mut socket), 4001);
    let (mut socket, _) = connect_with(
        &app,
        "/ws/events",
        &[("sec-websocket-protocol", "kato.events, bearer.nope".into())],
    );
    assert_eq!(close_code(&mut socket), 4001);
    let expired = token("alice", &json!({"exp": kato_e2e::now() - 3600}));
    let (mut socket, _) = connect_with(&app, &format!("/ws/events?token={expired}"), &[]);
    assert_eq!(close_code(&mut socket), 4001);

    // The server still serves.
    let mut socket = connect_as(&app, "alice", &json!({}));
    assert_snapshot(&recv(&mut socket), 0);
    let health = app.client().get(app.url("/health")).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

#[test]
fn with_auth_subjects_see_only_their_own_sessions() {
    let app = TestApp::start();
    let alice = token("alice", &json!({}));
    let bob = token("bob", &json!({}));
    let alice_first = create_session(&app, Some(&alice), "ev_auth");
    create_session(&app, Some(&bob), "ev_auth");
    create_session(&app, Some(&bob), "ev_auth");

    // Each token source: header (alice), ?token= (bob), subprotocol (admin).
    let mut alice_events = connect_as(&app, "alice", &json!({}));
    assert_snapshot(&recv(&mut alice_events), 1);
    let (mut bob_events, _) = connect_with(&app, &format!("/ws/events?token={bob}"), &[]);
    assert_snapshot(&recv(&mut bob_events), 2);
    let admin = token("root", &json!({"scope": "admin"}));
    let (mut admin_events, protocol) = connect_with(
        &app,
        "/ws/events",
        &[(
            "sec-websocket-protocol",
            format!("kato.events, bearer.{admin}"),
        )],
    );
    assert_eq!(protocol.as_deref(), Some("kato.events"));
    assert_snapshot(&recv(&mut admin_events), 3);

    // Bob's new session: bob and the admin hear of it, alice does not (her next event is
    // her own, published after bob's on the same bus).
    let bobs = create_session(&app, Some(&bob), "ev_auth");
    assert_created(&recv(&mut bob_events), &bobs, "ev_auth");
    assert_created(&recv(&mut admin_events), &bobs, "ev_auth");
    delete_session(&app, Some(&bob), &bobs);
    assert_destroyed(&recv(&mut bob_events), &bobs);
    assert_destroyed(&recv(&mut admin_events), &bobs);

    let alices = create_session(&app, Some(&alice), "ev_auth");
    assert_created(&recv(&mut alice_events), &alices, "ev_auth");
    assert_created(&recv(&mut admin_events), &alices, "ev_auth");
    delete_session(&app, Some(&alice), &alice_first);
    assert_destroyed(&recv(&mut alice_events), &alice_first);
    assert_destroyed(&recv(&mut admin_events), &alice_first);

    // Bob saw none of alice's: his next event is his own.
    let bob_last = create_session(&app, Some(&bob), "ev_auth");
    assert_created(&recv(&mut bob_events), &bob_last, "ev_auth");

    // A token bound to one session (`sid`) sees only that session.
    let mut bound_events = connect_as(&app, "alice", &json!({"sid": alices}));
    assert_snapshot(&recv(&mut bound_events), 1);
    let other = create_session(&app, Some(&alice), "ev_auth");
    assert_created(&recv(&mut alice_events), &other, "ev_auth");
    delete_session(&app, Some(&alice), &alices);
    assert_destroyed(&recv(&mut bound_events), &alices);

    bound_events.send(Message::text("ping")).unwrap();
    assert_eq!(recv_text(&mut bound_events), "pong");
}

#[test]
fn the_stream_closes_4002_when_the_token_expires() {
    let app = TestApp::start();
    let short = token("alice", &json!({"exp": kato_e2e::now() + 3}));
    let (mut socket, _) = connect_with(&app, &format!("/ws/events?token={short}"), &[]);
    assert_snapshot(&recv(&mut socket), 0);
    assert_eq!(close_code(&mut socket), 4002);
}
