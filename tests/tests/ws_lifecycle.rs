//! End-to-end tests of WebSocket connection lifecycle (PROTOCOL.md §3, §6, §7) against the real
//! server: liveness pings (4012), token expiry warning, in-band refresh and 4002, sustained
//! rate-limit abuse (4029), expired sessions (4004), fragmented messages, and graceful shutdown
//! (4000 after the in-flight command).

use std::time::{Duration, Instant};

use kato_e2e::ws::*;
use kato_e2e::{now, token, TestApp};
use serde_json::{json, Value};
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::Message;

fn bearer(token: &str) -> [(&'static str, String); 1] {
    [("authorization", format!("Bearer {token}"))]
}

#[test]
fn a_client_that_never_answers_pings_is_closed_4012_and_one_that_does_stays() {
    let app = TestApp::builder()
        .env("KATO_WS_PING_INTERVAL_MS", "200")
        .env("KATO_WS_PONG_TIMEOUT_MS", "400")
        .start();
    let mut silent = connect_as(&app, "/v2/ws", "alice");
    hello(&mut silent, "ws_ping");
    let mut lively = connect_as(&app, "/v2/ws", "alice");
    hello(&mut lively, "ws_ping");
    // tungstenite answers pings only while it reads: `lively` reads, `silent` does not.
    let until = Instant::now() + Duration::from_millis(1500);
    let mut pings = 0;
    read_timeout(&lively, Some(Duration::from_millis(50)));
    while Instant::now() < until {
        match lively.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(pings >= 3, "the server pings every 200 ms (got {pings})");
    read_timeout(&lively, Some(Duration::from_secs(5)));
    assert_eq!(
        call(&mut lively, json!({"type": "ping", "id": 5}))["type"],
        "pong"
    );
    assert_eq!(close_code(&mut silent), 4012);
}

#[test]
fn token_expiry_warns_then_closes_4002_unless_refreshed() {
    let app = TestApp::builder()
        .env("KATO_WS_TOKEN_WARNING_SECONDS", "2")
        .env("KATO_JWT_LEEWAY_SECONDS", "0")
        .start();
    let short = |subject: &str| token(subject, &json!({"exp": now() + 3}));

    // Not refreshed: token_expiring, then 4002 at exp.
    let mut socket = connect_with(&app, "/v2/ws", &bearer(&short("alice"))).0;
    let welcome = hello(&mut socket, "ws_expiry");
    assert!(welcome["token_expires_in_s"].as_u64().unwrap() <= 3);
    let warning = recv(&mut socket);
    assert_eq!(warning["type"], "token_expiring", "{warning}");
    assert!(warning["in_s"].as_u64().unwrap() <= 2, "{warning}");
    let notice = recv(&mut socket);
    assert_eq!(notice["code"], "KATO_UNAUTHORIZED", "{notice}");
    assert_eq!(close_code(&mut socket), 4002);

    // Refreshed in time: the connection outlives the first token.
    let mut socket = connect_with(&app, "/v2/ws", &bearer(&short("alice"))).0;
    hello(&mut socket, "ws_expiry");
    assert_eq!(recv(&mut socket)["type"], "token_expiring");
    // A token for someone else, or a forged one, is refused in-band; the connection stays.
    let other = call(
        &mut socket,
        json!({"type": "refresh", "id": 2, "token": token("mallory", &json!({}))}),
    );
    assert_eq!(other["code"], "KATO_FORBIDDEN", "{other}");
    let forged = call(
        &mut socket,
        json!({"type": "refresh", "id": 3, "token": "not.a.jwt"}),
    );
    assert_eq!(forged["code"], "KATO_UNAUTHORIZED", "{forged}");
    assert!(forged["details"]["reason"].is_string());
    let ack = call(
        &mut socket,
        json!({"type": "refresh", "id": 4, "token": token("alice", &json!({}))}),
    );
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["id"], 4);
    assert!(ack["token_expires_in_s"].as_u64().unwrap() > 3500);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        call(&mut socket, json!({"type": "ping", "id": 5}))["type"],
        "pong"
    );
    let stm = call(&mut socket, json!({"type": "get_stm", "id": 6}));
    assert_eq!(stm["type"], "stm", "{stm}");
}

#[test]
fn sustained_rate_limit_abuse_closes_4029() {
    let app = TestApp::builder()
        .env("KATO_RATE_SESSION_PER_SECOND", "5")
        .env("KATO_RATE_SESSION_BURST", "5")
        .env("KATO_WS_ABUSE_SECONDS", "2")
        .start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    hello(&mut socket, "ws_abuse");
    let started = Instant::now();
    let mut admitted = 0;
    let mut limited = 0;
    let code = loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never closed 4029"
        );
        socket
            .send(Message::text(
                json!({"type": "observe", "id": 1, "strings": ["x"]}).to_string(),
            ))
            .unwrap();
        match socket.read().unwrap() {
            Message::Text(text) => {
                let reply: Value = serde_json::from_str(text.as_str()).unwrap();
                match reply["type"].as_str() {
                    Some("predictions") => admitted += 1,
                    Some("error") if reply["code"] == "KATO_RATE_LIMITED" && reply["id"] == 1 => {
                        assert!(reply["retry_after_ms"].as_u64().unwrap() > 0);
                        limited += 1
                    }
                    // The connection-level notice that precedes the close.
                    Some("error") if reply["id"].is_null() => {
                        assert_eq!(reply["code"], "KATO_RATE_LIMITED");
                        break close_code(&mut socket);
                    }
                    _ => panic!("unexpected {reply}"),
                }
            }
            Message::Close(Some(frame)) => break u16::from(frame.code),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(code, 4029);
    assert!(
        admitted >= 5 && limited > 10,
        "{admitted} admitted, {limited} limited"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn an_expired_session_closes_its_connections_4004() {
    let app = TestApp::builder()
        .env("KATO_SESSION_SWEEP_SECONDS", "1")
        .start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    let welcome = call(
        &mut socket,
        json!({"type": "hello", "id": 1, "node_id": "ws_ttl", "ttl_seconds": 1}),
    );
    let session = welcome["session_id"].as_str().unwrap().to_string();
    let notice = recv(&mut socket);
    assert_eq!(notice["code"], "KATO_SESSION_EXPIRED", "{notice}");
    assert_eq!(close_code(&mut socket), 4004);
    // Resuming it later: not found, 4004.
    let mut again = connect_as(&app, "/v2/ws", "alice");
    let refused = call(
        &mut again,
        json!({"type": "hello", "id": 1, "session_id": session}),
    );
    assert_eq!(refused["type"], "error");
    assert_eq!(close_code(&mut again), 4004);
}

#[test]
fn an_expired_but_unswept_session_is_refused_with_session_expired() {
    let app = TestApp::builder()
        .env("KATO_SESSION_SWEEP_SECONDS", "3600")
        .start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    let welcome = call(
        &mut socket,
        json!({"type": "hello", "id": 1, "node_id": "ws_ttl", "ttl_seconds": 1}),
    );
    let session = welcome["session_id"].as_str().unwrap().to_string();
    drop(socket);
    std::thread::sleep(Duration::from_millis(1500));
    let mut again = connect_as(&app, "/v2/ws", "alice");
    let refused = call(
        &mut again,
        json!({"type": "hello", "id": 2, "session_id": session}),
    );
    assert_eq!(refused["code"], "KATO_SESSION_EXPIRED", "{refused}");
    assert_eq!(refused["id"], 2);
    assert_eq!(close_code(&mut again), 4004);
}

#[test]
fn a_fragmented_message_is_reassembled_and_an_oversized_one_closes_4009() {
    let app = TestApp::builder()
        .env("KATO_WS_MAX_FRAME_BYTES", "4096")
        .env("KATO_WS_OUTBOUND_QUEUE_BYTES", "65536")
        .start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    let text = json!({"type": "hello", "id": 1, "node_id": "ws_fragments"}).to_string();
    let (head, tail) = text.split_at(10);
    socket
        .write(Message::Frame(Frame::message(
            head.as_bytes().to_vec(),
            OpCode::Data(Data::Text),
            false,
        )))
        .unwrap();
    socket
        .write(Message::Frame(Frame::message(
            tail.as_bytes().to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .unwrap();
    socket.flush().unwrap();
    let welcome = recv(&mut socket);
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["limits"]["max_frame_bytes"], 4096);
    // Three 2 KiB fragments: each under the limit, together over it.
    let chunk = vec![b' '; 2048];
    for (opcode, fin) in [
        (OpCode::Data(Data::Text), false),
        (OpCode::Data(Data::Continue), false),
        (OpCode::Data(Data::Continue), true),
    ] {
        let _ = socket.write(Message::Frame(Frame::message(chunk.clone(), opcode, fin)));
    }
    let _ = socket.flush();
    assert_eq!(close_code(&mut socket), 4009);
}

#[test]
fn shutdown_finishes_the_in_flight_command_then_closes_4000() {
    let mut app = TestApp::start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    hello(&mut socket, "ws_shutdown");
    // A long command: 1000 observations in one frame.
    let observations: Vec<Value> = (0..1000)
        .map(|i| json!({"strings": [format!("s{i}"), "common"]}))
        .collect();
    send(
        &mut socket,
        json!({"type": "observe_sequence", "id": 2, "observations": observations}),
    );
    std::thread::sleep(Duration::from_millis(30));
    app.terminate();
    let reply = recv(&mut socket);
    assert_eq!(reply["type"], "sequence_result", "{reply}");
    assert_eq!(reply["observations_processed"], 1000);
    assert_eq!(close_code(&mut socket), 4000);
    let status = app
        .wait_exit(Duration::from_secs(15))
        .expect("the server exits after its connections closed");
    assert!(status.success(), "{status:?}");
}
