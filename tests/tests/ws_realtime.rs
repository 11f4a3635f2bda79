//! End-to-end tests of the real-time side of the WebSocket protocol (PROTOCOL.md §4, §5, §8)
//! against the real server: watchers and event offsets, every event kind, idempotent
//! `observe`, `hello.resume` replay, `observe_sequence`, `clear_all`, and a slow watcher
//! being closed 4008 while the observer carries on.

use std::time::{Duration, Instant};

use kato_e2e::ws::*;
use kato_e2e::{token, TestApp};
use serde_json::{json, Value};
use tungstenite::Message;

fn observe(socket: &mut Socket, id: u64, strings: &[&str]) -> Value {
    let reply = call(
        socket,
        json!({"type": "observe", "id": id, "strings": strings}),
    );
    assert_eq!(reply["type"], "predictions", "{reply}");
    assert_eq!(reply["id"], id);
    reply
}

/// Reads `n` frames that must all be events; returns them.
fn events(socket: &mut Socket, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| {
            let frame = recv(socket);
            assert_eq!(frame["type"], "event", "{frame}");
            frame
        })
        .collect()
}

#[test]
fn two_connections_on_one_session_see_each_others_events_in_offset_order() {
    let app = TestApp::start();
    let mut a = connect_as(&app, "/v2/ws", "alice");
    let welcome = hello(&mut a, "ws_events");
    let session = welcome["session_id"].as_str().unwrap().to_string();
    let epoch = welcome["epoch"].as_str().unwrap().to_string();
    assert_eq!(welcome["offset"], 0);
    let mut b = connect_as(&app, "/ws", "alice");
    let welcome_b = call(
        &mut b,
        json!({"type": "hello", "id": 1, "session_id": session}),
    );
    assert_eq!(welcome_b["epoch"], epoch.as_str());
    for socket in [&mut a, &mut b] {
        let ack = call(
            socket,
            json!({"type": "watch", "id": 2, "session_id": session}),
        );
        assert_eq!(ack, json!({"type": "ack", "id": 2}));
    }
    // Interleaved observes from both connections.
    let mut replies = Vec::new();
    for round in 0..5u64 {
        let (socket, other) = if round % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        send(
            socket,
            json!({"type": "observe", "id": 10 + round, "strings": [format!("s{round}")]}),
        );
        // The requester's own event precedes its reply; the other sees only the event.
        let own = recv(socket);
        assert_eq!(own["type"], "event", "{own}");
        let reply = recv(socket);
        assert_eq!(reply["type"], "predictions", "{reply}");
        let seen = recv(other);
        assert_eq!(seen, own);
        assert_eq!(own["offset"], round + 1);
        assert_eq!(own["epoch"], epoch.as_str());
        assert_eq!(own["session_id"], session.as_str());
        assert_eq!(own["kind"], "observed");
        // The event's data is the reply without type and id.
        let mut data = reply.clone();
        data.as_object_mut().unwrap().remove("type");
        data.as_object_mut().unwrap().remove("id");
        assert_eq!(own["data"], data);
        assert_eq!(reply["offset"], round + 1);
        replies.push(reply);
    }
    assert_eq!(replies[4]["stm_length"], 5);
    // unwatch: b stops receiving events, a still does.
    assert_eq!(
        call(
            &mut b,
            json!({"type": "unwatch", "id": 3, "session_id": session})
        ),
        json!({"type": "ack", "id": 3})
    );
    observe_via(&mut a, 30);
    assert_eq!(try_recv(&mut b, Duration::from_millis(300)), None);
}

/// Sends an observe on `socket` (which watches its own session) and returns the reply.
fn observe_via(socket: &mut Socket, id: u64) -> Value {
    send(
        socket,
        json!({"type": "observe", "id": id, "strings": ["x"]}),
    );
    let event = recv(socket);
    assert_eq!(event["type"], "event");
    let reply = recv(socket);
    assert_eq!(reply["type"], "predictions");
    reply
}

#[test]
fn every_event_kind_reaches_a_watcher() {
    let app = TestApp::start();
    let mut owner = connect_as(&app, "/v2/ws", "alice");
    let session = hello(&mut owner, "ws_kinds")["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Another subject with scope `watch` may watch; without it, it may not.
    let watch_token = token("bob", &json!({"scope": "observe watch"}));
    let mut watcher = connect_with(
        &app,
        "/v2/ws",
        &[("authorization", format!("Bearer {watch_token}"))],
    )
    .0;
    let mut stranger = connect_with(
        &app,
        "/v2/ws",
        &[(
            "authorization",
            format!("Bearer {}", token("carol", &json!({"scope": "observe"}))),
        )],
    )
    .0;
    let refused = call(
        &mut stranger,
        json!({"type": "watch", "id": 1, "session_id": session}),
    );
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "KATO_FORBIDDEN");
    assert_eq!(refused["id"], 1);
    let missing = call(
        &mut watcher,
        json!({"type": "watch", "id": 2, "session_id": "session-00000000000000000000000000000000-1"}),
    );
    assert_eq!(missing["code"], "KATO_SESSION_NOT_FOUND");
    // A watcher need not be bound to a session of its own.
    assert_eq!(
        call(
            &mut watcher,
            json!({"type": "watch", "id": 3, "session_id": session})
        )["type"],
        "ack"
    );

    observe(&mut owner, 10, &["a", "b"]);
    let learned = call(&mut owner, json!({"type": "learn", "id": 11}));
    assert_eq!(learned["type"], "learned");
    let cleared = call(&mut owner, json!({"type": "clear_stm", "id": 12}));
    assert_eq!(cleared, json!({"type": "ack", "id": 12}));
    let config = call(
        &mut owner,
        json!({"type": "config", "id": 13, "config": {"max_predictions": 7}}),
    );
    assert_eq!(config["type"], "config", "{config}");
    // A REST change of the same session is an event too.
    let deleted = app
        .as_user(
            reqwest_method("DELETE"),
            &format!("/sessions/{session}"),
            "alice",
        )
        .send()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);

    let seen = events(&mut watcher, 5);
    let kinds: Vec<&str> = seen.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "observed",
            "learned",
            "stm_cleared",
            "config_changed",
            "deleted"
        ]
    );
    let offsets: Vec<u64> = seen.iter().map(|e| e["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, [1, 2, 3, 4, 5]);
    assert_eq!(seen[1]["data"]["pattern_name"], learned["pattern_name"]);
    assert_eq!(seen[3]["data"]["config"]["max_predictions"], 7);
    // The connection bound to the deleted session is told and closed 4004.
    let notice = recv(&mut owner);
    assert_eq!(notice["code"], "KATO_SESSION_NOT_FOUND", "{notice}");
    assert_eq!(close_code(&mut owner), 4004);
}

fn reqwest_method(name: &str) -> kato_e2e::reqwest::Method {
    kato_e2e::reqwest::Method::from_bytes(name.as_bytes()).unwrap()
}

#[test]
fn a_replayed_observe_is_answered_from_the_stored_result_not_applied_twice() {
    let app = TestApp::builder()
        .env("KATO_EVENT_HISTORY_LEN", "2")
        .start();
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    hello(&mut socket, "ws_idem");
    let frame = |id: u64, unique: &str, s: &str| json!({"type": "observe", "id": id, "strings": [s], "unique_id": unique});
    let first = call(&mut socket, frame(1, "u-1", "a"));
    assert_eq!(first["unique_id"], "u-1");
    assert_eq!(first["stm_length"], 1);
    // Same unique_id, even with other content: not applied, same answer (new request id).
    let again = call(&mut socket, frame(2, "u-1", "zzz"));
    let mut expected = first.clone();
    expected["id"] = json!(2);
    assert_eq!(again, expected);
    let stm = call(&mut socket, json!({"type": "get_stm", "id": 3}));
    assert_eq!(stm["stm"], json!([["a"]]));
    // Once its result left the history (2 events here), the id is still known: refused
    // in-band with the offset it was applied at, never applied again.
    call(&mut socket, frame(4, "u-2", "b"));
    call(&mut socket, frame(5, "u-3", "c"));
    let evicted = call(&mut socket, frame(6, "u-1", "a"));
    assert_eq!(evicted["type"], "error", "{evicted}");
    assert_eq!(evicted["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(evicted["details"]["field"], "unique_id");
    assert_eq!(evicted["details"]["applied_offset"], 1);
    let stm = call(&mut socket, json!({"type": "get_stm", "id": 7}));
    assert_eq!(stm["length"], 3);
    // get_predictions reports the current offset.
    let predictions = call(&mut socket, json!({"type": "get_predictions", "id": 8}));
    assert_eq!(predictions["offset"], 3);
    assert_eq!(predictions["unique_id"], Value::Null);
}

#[test]
fn hello_resume_replays_missed_events_or_says_not_recovered() {
    let app = TestApp::builder()
        .env("KATO_EVENT_HISTORY_LEN", "3")
        .start();
    let mut first = connect_as(&app, "/v2/ws", "alice");
    let welcome = hello(&mut first, "ws_resume");
    let session = welcome["session_id"].as_str().unwrap().to_string();
    let epoch = welcome["epoch"].as_str().unwrap().to_string();
    for (id, s) in [(2, "a"), (3, "b"), (4, "c"), (5, "d")] {
        observe(&mut first, id, &[s]);
    }
    drop(first);

    let resume = |epoch: &str, offset: u64| {
        let mut socket = connect_as(&app, "/ws", "alice");
        let welcome = call(
            &mut socket,
            json!({"type": "hello", "id": 1, "session_id": session,
                   "resume": {"epoch": epoch, "offset": offset}}),
        );
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (socket, welcome)
    };
    // Saw up to offset 2: events 3 and 4 are replayed, in order, then live events follow.
    let (mut socket, welcome) = resume(&epoch, 2);
    assert_eq!(welcome["recovered"], true);
    assert_eq!(welcome["offset"], 4);
    let replayed = events(&mut socket, 2);
    assert_eq!(replayed[0]["offset"], 3);
    assert_eq!(replayed[1]["offset"], 4);
    assert_eq!(replayed[1]["data"]["stm_length"], 4);
    send(
        &mut socket,
        json!({"type": "observe", "id": 9, "strings": ["e"]}),
    );
    assert_eq!(events(&mut socket, 1)[0]["offset"], 5);
    assert_eq!(recv(&mut socket)["type"], "predictions");
    // Up to date: recovered, nothing replayed.
    let (mut socket, welcome) = resume(&epoch, 5);
    assert_eq!(welcome["recovered"], true);
    assert_eq!(try_recv(&mut socket, Duration::from_millis(200)), None);
    // The history keeps 3 events (3..5): offset 1 is a gap it no longer covers.
    let (_, welcome) = resume(&epoch, 1);
    assert_eq!(welcome["recovered"], false);
    // Another epoch (the stream was lost) is never recovered.
    let (_, welcome) = resume("0123456789abcdef", 4);
    assert_eq!(welcome["recovered"], false);
    // Another subject cannot resume the session: 4003.
    let mut other = connect_as(&app, "/ws", "mallory");
    let refused = call(
        &mut other,
        json!({"type": "hello", "id": 1, "session_id": session,
               "resume": {"epoch": epoch, "offset": 0}}),
    );
    assert_eq!(refused["code"], "KATO_FORBIDDEN");
    assert_eq!(close_code(&mut other), 4003);
}

#[test]
fn observe_sequence_and_clear_all() {
    let app = TestApp::start();
    let admin = token("alice", &json!({"scope": "observe learn watch admin"}));
    let mut socket = connect_with(
        &app,
        "/v2/ws",
        &[("authorization", format!("Bearer {admin}"))],
    )
    .0;
    hello(&mut socket, "ws_sequence");
    let result = call(
        &mut socket,
        json!({"type": "observe_sequence", "id": 2, "learn_at_end": true, "observations": [
            {"strings": ["hello"]}, {"strings": ["world"]}, {"strings": ["again"], "unique_id": "mine"}
        ]}),
    );
    assert_eq!(result["type"], "sequence_result", "{result}");
    assert_eq!(result["id"], 2);
    assert_eq!(result["status"], "completed");
    assert_eq!(result["observations_processed"], 3);
    assert_eq!(result["results"][2]["unique_id"], "mine");
    let learned = result["final_learned_pattern"].as_str().unwrap();
    assert!(learned.starts_with("PTRN|"), "{learned}");
    // 3 observed events and 1 learned event.
    assert_eq!(result["offset"], 4);
    // Observing the start again predicts the rest of the learned sequence.
    let reply = call(
        &mut socket,
        json!({"type": "observe_sequence", "id": 3, "observations": [
            {"strings": ["hello"]}, {"strings": ["world"]}
        ]}),
    );
    let predictions = reply["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 1, "{reply}");
    assert_eq!(predictions[0]["future"], json!([["again"]]));
    // Bad items are named by index.
    let bad = call(
        &mut socket,
        json!({"type": "observe_sequence", "id": 4, "observations": [{"strings": [1]}]}),
    );
    assert_eq!(bad["code"], "KATO_VALIDATION_ERROR", "{bad}");
    // clear_all needs admin: a plain token is refused, the admin's is obeyed.
    let mut plain = connect_as(&app, "/v2/ws", "bob");
    hello(&mut plain, "ws_sequence");
    let refused = call(&mut plain, json!({"type": "clear_all", "id": 5}));
    assert_eq!(refused["code"], "KATO_FORBIDDEN", "{refused}");
    assert_eq!(
        call(&mut socket, json!({"type": "clear_all", "id": 6})),
        json!({"type": "ack", "id": 6})
    );
    let after = call(
        &mut plain,
        json!({"type": "observe_sequence", "id": 7, "observations": [
            {"strings": ["hello"]}, {"strings": ["world"]}
        ]}),
    );
    assert_eq!(after["predictions"], json!([]), "the node was wiped");
}

#[test]
fn a_slow_watcher_is_closed_4008_and_the_observer_is_not_held_up() {
    let app = TestApp::builder()
        .env("KATO_WS_OUTBOUND_QUEUE_BYTES", "65536")
        .env("KATO_RATE_SESSION_PER_SECOND", "100000")
        .env("KATO_RATE_SESSION_BURST", "100000")
        .env("KATO_RATE_SUBJECT_PER_SECOND", "100000")
        .env("KATO_RATE_SUBJECT_BURST", "100000")
        // No liveness pings here: the stalled watcher would (rightly) be closed 4012 first.
        .env("KATO_WS_PING_INTERVAL_MS", "3600000")
        .start();
    let mut observer = connect_as(&app, "/v2/ws", "alice");
    let session = hello(&mut observer, "ws_slow")["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Big events: 100 learned patterns sharing two symbols make every observe of those two
    // predict all of them (about 60 KB an event), while the engine work stays small.
    let filler: Vec<String> = (0..20).map(|i| format!("filler-{i:02}")).collect();
    let observations: Vec<Value> = (0..100)
        .map(|i| {
            let mut strings = vec!["common".to_string(), format!("unique-{i:03}")];
            strings.extend(filler.iter().cloned());
            json!({ "strings": strings })
        })
        .collect();
    let seeded = call(
        &mut observer,
        json!({"type": "observe_sequence", "id": 100, "learn_after_each": true,
               "observations": observations}),
    );
    assert_eq!(seeded["type"], "sequence_result", "{seeded}");
    let wide = ["common", "filler-00"];
    let mut slow = connect_as(&app, "/v2/ws", "alice");
    assert_eq!(
        call(
            &mut slow,
            json!({"type": "watch", "id": 1, "session_id": session})
        )["type"],
        "ack"
    );
    // The watcher stops reading; the observer goes on.
    let mut latencies = Vec::new();
    for id in 0..200u64 {
        let started = Instant::now();
        let reply = call(
            &mut observer,
            json!({"type": "observe", "id": 1000 + id, "strings": wide}),
        );
        latencies.push(started.elapsed());
        assert_eq!(reply["type"], "predictions", "{reply}");
        assert_eq!(reply["id"], 1000 + id);
        assert_eq!(reply["predictions"].as_array().map(Vec::len), Some(100));
        // Back to a one-event STM, so every observe predicts all 100 patterns.
        let cleared = call(&mut observer, json!({"type": "clear_stm", "id": 9000 + id}));
        assert_eq!(cleared["type"], "ack");
    }
    latencies.sort();
    eprintln!(
        "observer round trips with a stalled watcher: p50 {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    // The watcher, reading again, finds what was in flight, then the 4008 close.
    let mut received = 0;
    let code = loop {
        match slow.read() {
            Ok(Message::Text(_)) => received += 1,
            Ok(Message::Close(Some(frame))) => break u16::from(frame.code),
            Ok(_) => continue,
            Err(e) => panic!("no close frame after {received} events: {e}"),
        }
    };
    assert_eq!(code, 4008);
    assert!(received < 400, "it was closed before receiving everything");
    // The observer's connection is unaffected.
    observe(&mut observer, 5000, &["still", "here"]);
}

#[test]
fn a_connection_watches_at_most_the_configured_number_of_sessions() {
    let app = TestApp::builder().env("KATO_WS_MAX_WATCHES", "1").start();
    let mut owner = connect_as(&app, "/v2/ws", "alice");
    let first = hello(&mut owner, "ws_watch_max")["session_id"].clone();
    let mut other = connect_as(&app, "/v2/ws", "alice");
    let second = hello(&mut other, "ws_watch_max")["session_id"].clone();
    let mut watcher = connect_as(&app, "/v2/ws", "alice");
    let watch = |socket: &mut Socket, id: u64, session: &Value| {
        call(
            socket,
            json!({"type": "watch", "id": id, "session_id": session}),
        )
    };
    assert_eq!(watch(&mut watcher, 1, &first)["type"], "ack");
    assert_eq!(
        watch(&mut watcher, 2, &first)["type"],
        "ack",
        "re-watching is free"
    );
    let refused = watch(&mut watcher, 3, &second);
    assert_eq!(refused["code"], "KATO_VALIDATION_ERROR", "{refused}");
    assert_eq!(refused["details"]["field"], "session_id");
    // Once the first session is gone it no longer counts.
    let session = first.as_str().unwrap();
    let deleted = app
        .as_user(
            reqwest_method("DELETE"),
            &format!("/sessions/{session}"),
            "alice",
        )
        .send()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    assert_eq!(recv(&mut watcher)["kind"], "deleted");
    assert_eq!(watch(&mut watcher, 4, &second)["type"], "ack");
}
