//! End-to-end tests of the development echo WebSocket (`GET /dev/echo`, setting `dev_echo`):
//! absent by default (the upgrade is refused with the 404 body), and when switched on it sends
//! every text frame back unchanged, without credentials, and warns at start-up.

use kato_e2e::ws::{connect_with, recv_text, ws_url, Socket};
use kato_e2e::TestApp;
use serde_json::{json, Value};
use tungstenite::Message;

fn echo_url(app: &TestApp) -> String {
    ws_url(app, "/dev/echo")
}

fn connect(app: &TestApp) -> Socket {
    connect_with(app, "/dev/echo", &[]).0
}

#[test]
fn echo_is_off_by_default() {
    let app = TestApp::start();
    match tungstenite::connect(echo_url(&app)) {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap_or(b""))
                .expect("404 body is JSON");
            assert_eq!(body["detail"], "Not Found", "{body}");
        }
        Err(other) => panic!("expected an HTTP 404 refusal, got {other}"),
        Ok(_) => panic!("/dev/echo upgraded with dev_echo off"),
    }
    // A plain GET is the same 404.
    let response = app.client().get(app.url("/dev/echo")).send().unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn echo_sends_every_text_frame_back_unchanged() {
    let app = TestApp::builder()
        .env("KATO_DEV_ECHO", "true")
        .capture_stderr()
        .start();
    let mut socket = connect(&app);
    let frames = [
        json!({"type": "observe", "id": 1, "strings": ["a", "b"]}).to_string(),
        // Not JSON at all: echoed as is, no validation.
        "not json {".to_string(),
        // Exact bytes, including whitespace and key order.
        "{ \"z\": 1,  \"a\": [ ] }".to_string(),
        "x".repeat(60 * 1024),
    ];
    for frame in &frames {
        socket.send(Message::text(frame.clone())).unwrap();
        assert_eq!(&recv_text(&mut socket), frame);
    }
    // Pipelined frames come back in order.
    for i in 0..20 {
        socket.send(Message::text(format!("frame {i}"))).unwrap();
    }
    for i in 0..20 {
        assert_eq!(recv_text(&mut socket), format!("frame {i}"));
    }
    socket.close(None).unwrap();
    // The server said at start-up that the unauthenticated echo is on.
    let log = app.stderr();
    assert!(
        log.contains("/dev/echo is ON"),
        "no start-up warning in:\n{log}"
    );
    // The real endpoints still need credentials.
    let response = app.client().get(app.url("/v2/sessions/x")).send().unwrap();
    assert_eq!(response.status(), 401);
}
