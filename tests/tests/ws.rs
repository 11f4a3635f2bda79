//! End-to-end tests of the WebSocket endpoint (`/v2/ws`, `/ws`, PROTOCOL.md §2–§4) with a real
//! client against the real server: the three token sources, hello create/resume and its
//! refusals, every implemented command, validation errors and the 4400/4009 closes.

use std::time::Duration;

use kato_e2e::ws::*;
use kato_e2e::{token, TestApp};
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::Message;

#[test]
fn every_token_source_authenticates() {
    let app = TestApp::start();
    // Authorization header, on /v2/ws.
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    let welcome = hello(&mut socket, "ws_auth");
    assert_eq!(welcome["id"], 1);
    assert_eq!(welcome["node_id"], "ws_auth");
    assert!(welcome["session_id"]
        .as_str()
        .unwrap()
        .starts_with("session-"));
    assert_eq!(welcome["stm"], json!([]));
    assert_eq!(welcome["limits"]["max_frame_bytes"], 65536);
    assert!(welcome["config"].is_object());
    assert!(welcome["token_expires_in_s"].as_u64().unwrap() > 3500);

    // bearer.<token> subprotocol, on /ws: answered with kato.v1.json.
    let offer = format!("kato.v1.json, bearer.{}", token("alice", &json!({})));
    let (mut socket, protocol) = connect_with(&app, "/ws", &[("sec-websocket-protocol", offer)]);
    assert_eq!(protocol.as_deref(), Some("kato.v1.json"));
    hello(&mut socket, "ws_auth");

    // hello token, no credentials on the upgrade.
    let (mut socket, protocol) = connect_with(&app, "/ws", &[]);
    assert_eq!(protocol, None);
    let welcome = call(
        &mut socket,
        json!({"type": "hello", "id": 7, "token": token("alice", &json!({})), "node_id": "ws_auth"}),
    );
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["id"], 7);

    // A command before hello on an unauthenticated connection: error, connection open.
    let (mut socket, _) = connect_with(&app, "/v2/ws", &[]);
    let reply = call(&mut socket, json!({"type": "ping", "id": 3}));
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "KATO_UNAUTHORIZED");
    assert_eq!(reply["id"], 3);

    // hello with a bad token: error, close 4001.
    let reply = call(
        &mut socket,
        json!({"type": "hello", "id": 4, "token": "not-a-jwt", "node_id": "ws_auth"}),
    );
    assert_eq!(reply["code"], "KATO_UNAUTHORIZED");
    assert_eq!(reply["id"], 4);
    assert_eq!(close_code(&mut socket), 4001);

    // hello without any token: 4001.
    let (mut socket, _) = connect_with(&app, "/ws", &[]);
    let reply = call(
        &mut socket,
        json!({"type": "hello", "id": 5, "node_id": "ws_auth"}),
    );
    assert_eq!(reply["code"], "KATO_UNAUTHORIZED");
    assert_eq!(close_code(&mut socket), 4001);

    // A bad Authorization header: error frame, close 4001.
    let (mut socket, _) = connect_with(&app, "/ws", &[("authorization", "Bearer nope".into())]);
    let reply = recv(&mut socket);
    assert_eq!(reply["code"], "KATO_UNAUTHORIZED");
    assert_eq!(close_code(&mut socket), 4001);
}

#[test]
fn hello_resumes_and_refuses_other_sessions() {
    let app = TestApp::start();
    let mut first = connect_as(&app, "/v2/ws", "alice");
    let welcome = hello(&mut first, "ws_resume");
    let session_id = welcome["session_id"].as_str().unwrap().to_string();
    let reply = call(
        &mut first,
        json!({"type": "observe", "id": 2, "strings": ["x"]}),
    );
    assert_eq!(reply["type"], "predictions", "{reply}");

    // Same subject, second connection: resumes with the STM.
    let mut second = connect_as(&app, "/ws", "alice");
    let resumed = call(
        &mut second,
        json!({"type": "hello", "id": 1, "session_id": session_id}),
    );
    assert_eq!(resumed["type"], "welcome", "{resumed}");
    assert_eq!(resumed["session_id"], session_id.as_str());
    assert_eq!(resumed["node_id"], "ws_resume");
    assert_eq!(resumed["stm"], json!([["x"]]));

    // A second hello on a bound connection: validation error, still open.
    let again = call(
        &mut second,
        json!({"type": "hello", "id": 2, "node_id": "n"}),
    );
    assert_eq!(again["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(
        call(&mut second, json!({"type": "ping", "id": 3}))["type"],
        "pong"
    );

    // Another subject: 4003.
    let mut mallory = connect_as(&app, "/ws", "mallory");
    let reply = call(
        &mut mallory,
        json!({"type": "hello", "id": 1, "session_id": session_id}),
    );
    assert_eq!(reply["code"], "KATO_FORBIDDEN");
    assert_eq!(reply["id"], 1);
    assert_eq!(close_code(&mut mallory), 4003);

    // Unknown session: 4004.
    let mut socket = connect_as(&app, "/ws", "alice");
    let reply = call(
        &mut socket,
        json!({"type": "hello", "id": 9, "session_id": "session-00000000000000000000000000000000-1"}),
    );
    assert_eq!(reply["code"], "KATO_SESSION_NOT_FOUND");
    assert_eq!(reply["id"], 9);
    assert_eq!(close_code(&mut socket), 4004);

    // A token whose nodes claim excludes the node: 4003.
    let bearer = format!("Bearer {}", token("bob", &json!({"nodes": ["other"]})));
    let (mut socket, _) = connect_with(&app, "/ws", &[("authorization", bearer)]);
    let reply = call(
        &mut socket,
        json!({"type": "hello", "id": 1, "node_id": "ws_resume"}),
    );
    assert_eq!(reply["code"], "KATO_FORBIDDEN");
    assert_eq!(close_code(&mut socket), 4003);
}

#[test]
fn commands_reproduce_the_past_present_future_example() {
    let app = TestApp::start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    let welcome = call(
        &mut socket,
        json!({"type": "hello", "id": 1, "node_id": "ws_77", "config": {"recall_threshold": 0.3}}),
    );
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["config"]["recall_threshold"], 0.3);

    for (i, symbol) in ["beginning", "middle", "end"].iter().enumerate() {
        let reply = call(
            &mut socket,
            json!({"type": "observe", "id": 10 + i, "strings": [symbol], "unique_id": format!("u{i}")}),
        );
        assert_eq!(reply["type"], "predictions", "{reply}");
        assert_eq!(reply["id"], 10 + i);
        assert_eq!(reply["unique_id"], format!("u{i}"));
        assert_eq!(reply["stm_length"], i + 1);
        assert!(reply["elapsed_us"].is_u64());
    }
    let learned = call(&mut socket, json!({"type": "learn", "id": 20}));
    assert_eq!(
        learned,
        json!({"type": "learned", "id": 20, "pattern_name": "PTRN|63b6f94454dab80c6ace4a849bd99c0979c21b8b"})
    );
    let stm = call(&mut socket, json!({"type": "get_stm", "id": 21}));
    assert_eq!(
        stm,
        json!({"type": "stm", "id": 21, "stm": [], "length": 0})
    );

    call(
        &mut socket,
        json!({"type": "observe", "id": 30, "strings": ["middle"]}),
    );
    let reply = call(
        &mut socket,
        json!({"type": "observe", "id": 31, "strings": ["end"]}),
    );
    assert_eq!(reply["type"], "predictions", "{reply}");
    assert_eq!(reply["stm_length"], 2);
    assert_eq!(reply["auto_learned_pattern"], Value::Null);
    assert_eq!(reply["future_potentials"], json!([]));
    let predictions = reply["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 1, "{reply}");
    let p = &predictions[0];
    assert_eq!(p["past"], json!([["beginning"]]));
    assert_eq!(p["present"], json!([["middle"], ["end"]]));
    assert_eq!(p["future"], json!([]));
    assert_eq!(p["similarity"], 0.8);
    assert_eq!(p["evidence"], 0.6666666666666666);
    assert_eq!(p["confidence"], 1.0);
    assert_eq!(p["normalized_entropy"], 0.6309297535714574);
    assert_eq!(p["potential"], 3.666666666666666);
    assert_eq!(p["bayesian_posterior"], 1.0);

    let again = call(&mut socket, json!({"type": "get_predictions", "id": 32}));
    assert_eq!(again["type"], "predictions", "{again}");
    assert_eq!(again["id"], 32);
    assert_eq!(again["unique_id"], Value::Null);
    assert_eq!(again["stm_length"], 2);
    assert_eq!(again["predictions"], reply["predictions"]);

    let stm = call(&mut socket, json!({"type": "get_stm", "id": 33}));
    assert_eq!(
        stm,
        json!({"type": "stm", "id": 33, "stm": [["middle"], ["end"]], "length": 2})
    );
    let ack = call(&mut socket, json!({"type": "clear_stm", "id": 34}));
    assert_eq!(ack, json!({"type": "ack", "id": 34}));
    let stm = call(&mut socket, json!({"type": "get_stm", "id": 35}));
    assert_eq!(stm["length"], 0);

    let config = call(
        &mut socket,
        json!({"type": "config", "id": 36, "config": {"max_predictions": 7}}),
    );
    assert_eq!(config["type"], "config", "{config}");
    assert_eq!(config["id"], 36);
    assert_eq!(config["config"]["max_predictions"], 7);
    assert_eq!(config["config"]["recall_threshold"], 0.3);
    let bad = call(
        &mut socket,
        json!({"type": "config", "id": 37, "config": {"recall_threshold": 5}}),
    );
    assert_eq!(bad["type"], "error");
    assert_eq!(bad["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(bad["id"], 37);

    let pong = call(&mut socket, json!({"type": "ping", "id": 40}));
    assert_eq!(pong["type"], "pong");
    assert_eq!(pong["id"], 40);
    assert!(pong["server_time"].as_u64().unwrap() > 1_700_000_000_000);
}

#[test]
fn validation_errors_keep_the_connection_open() {
    let app = TestApp::start();
    let mut socket = connect_as(&app, "/ws", "alice");
    hello(&mut socket, "ws_valid");

    let reply = call(
        &mut socket,
        json!({"type": "observe", "id": 2, "strings": "x"}),
    );
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(reply["id"], 2);
    assert!(reply["trace_id"].is_string());

    let reply = call(&mut socket, json!({"type": "teleport", "id": 3}));
    assert_eq!(reply["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(reply["id"], 3);
    assert_eq!(reply["details"]["field"], "type");

    let reply = call(&mut socket, json!({"type": "observe"}));
    assert_eq!(reply["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(reply["details"]["field"], "id");

    let reply = call(
        &mut socket,
        json!({"type": "observe", "id": 4, "strings": ["a"], "vectors": [[1.0, "x"]]}),
    );
    assert_eq!(reply["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(reply["id"], 4);

    let pong = call(&mut socket, json!({"type": "ping", "id": 5}));
    assert_eq!(pong["type"], "pong");
    let stm = call(&mut socket, json!({"type": "get_stm", "id": 6}));
    assert_eq!(stm["length"], 0, "a rejected observe must not be applied");
}

#[test]
fn rate_limited_observes_get_retry_after() {
    let app = TestApp::builder()
        .env("KATO_RATE_SESSION_PER_SECOND", "1")
        .env("KATO_RATE_SESSION_BURST", "1")
        .start();
    let mut socket = connect_as(&app, "/ws", "alice");
    hello(&mut socket, "ws_rate");
    let first = call(
        &mut socket,
        json!({"type": "observe", "id": 2, "strings": ["a"]}),
    );
    assert_eq!(first["type"], "predictions", "{first}");
    let second = call(
        &mut socket,
        json!({"type": "observe", "id": 3, "strings": ["b"]}),
    );
    assert_eq!(second["type"], "error", "{second}");
    assert_eq!(second["code"], "KATO_RATE_LIMITED");
    assert_eq!(second["id"], 3);
    assert!(second["retry_after_ms"].as_u64().unwrap() > 0);
    assert_eq!(
        call(&mut socket, json!({"type": "ping", "id": 4}))["type"],
        "pong"
    );
}

#[test]
fn creating_sessions_counts_against_the_subject_rate_limit() {
    let app = TestApp::builder()
        .env("KATO_RATE_SUBJECT_PER_SECOND", "1")
        .env("KATO_RATE_SUBJECT_BURST", "2")
        .start();
    for _ in 0..2 {
        let mut socket = connect_as(&app, "/v2/ws", "alice");
        hello(&mut socket, "ws_create_rate");
    }
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    let refused = call(
        &mut socket,
        json!({"type": "hello", "id": 1, "node_id": "ws_create_rate"}),
    );
    assert_eq!(refused["code"], "KATO_RATE_LIMITED", "{refused}");
    assert_eq!(refused["id"], 1);
    assert!(refused["retry_after_ms"].as_u64().unwrap() > 0);
    // REST creation is limited the same way; another subject is not affected.
    let response = app
        .as_user(kato_e2e::reqwest::Method::POST, "/sessions", "alice")
        .json(&json!({"node_id": "ws_create_rate"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let mut other = connect_as(&app, "/v2/ws", "bob");
    hello(&mut other, "ws_create_rate");
    // The refused connection stays open and may retry later.
    std::thread::sleep(Duration::from_millis(1100));
    let welcome = call(
        &mut socket,
        json!({"type": "hello", "id": 2, "node_id": "ws_create_rate"}),
    );
    assert_eq!(welcome["type"], "welcome", "{welcome}");
}

#[test]
fn three_non_json_frames_close_4400() {
    let app = TestApp::start();
    let mut socket = connect_as(&app, "/ws", "alice");
    for _ in 0..2 {
        socket.send(Message::text("not json")).unwrap();
        let reply = recv(&mut socket);
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["code"], "KATO_VALIDATION_ERROR");
    }
    socket.send(Message::binary(vec![1u8, 2, 3])).unwrap();
    assert_eq!(close_code(&mut socket), 4400);
}

#[test]
fn an_oversized_frame_closes_4009() {
    let app = TestApp::start();
    let mut socket = connect_as(&app, "/ws", "alice");
    hello(&mut socket, "ws_big");
    let big = json!({"type": "observe", "id": 2, "strings": ["x".repeat(70 * 1024)]});
    socket.send(Message::text(big.to_string())).unwrap();
    assert_eq!(close_code(&mut socket), 4009);
}

#[test]
fn no_hello_within_10_s_closes_4001() {
    let app = TestApp::start();
    let (mut socket, _) = connect_with(&app, "/ws", &[]);
    if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
    }
    let started = std::time::Instant::now();
    let reply = recv(&mut socket);
    assert_eq!(reply["code"], "KATO_UNAUTHORIZED");
    assert_eq!(close_code(&mut socket), 4001);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(13),
        "{waited:?}"
    );
}

#[test]
fn every_frame_draws_from_the_connection_budget() {
    let app = TestApp::builder()
        .env("KATO_WS_FRAMES_PER_SECOND", "1")
        .env("KATO_WS_FRAMES_BURST", "3")
        .start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    for id in 1..=5u64 {
        send(&mut socket, json!({"type": "ping", "id": id}));
    }
    let replies: Vec<Value> = (0..5).map(|_| recv(&mut socket)).collect();
    let kinds: Vec<&str> = replies
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["pong", "pong", "pong", "error", "error"],
        "{replies:?}"
    );
    assert_eq!(replies[3]["code"], "KATO_RATE_LIMITED");
    assert!(replies[3]["retry_after_ms"].as_u64().unwrap() > 0);
    // Refused frames are not processed, and the connection stays open.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(call(&mut socket, json!({"type": "ping", "id": 9}))["id"], 9);
}
