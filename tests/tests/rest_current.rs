//! The upstream-compatible REST surface (API.md §1) against the real server: every `/sessions`
//! route, the node-scoped routes, the worked example of ALGORITHM.md §7.7 end to end, session
//! and node isolation, 50 concurrent observes on one session, TTL expiry and sliding,
//! authorisation (subject, nodes claim, scope), bad input with exact bodies and nothing
//! changed, and what survives a restart (learned patterns do; sessions are in memory and die).

use std::time::Duration;

use kato_e2e::reqwest::Method;
use kato_e2e::{invalid, observation_id, send, session_not_found, Answer, Caller, TestApp};
use serde_json::{json, Value};

/// The session's `time` (read through cognition-data, which does not change it).
fn time(caller: &Caller, session: &str) -> Value {
    caller
        .get(&format!("/sessions/{session}/cognition-data"))
        .ok()["cognition_data"]["time"]
        .clone()
}

/// The upstream middleware's 404 for an unknown session, trace id inside `error`, and no
/// `X-Session-ID` header.
fn assert_session_not_found(answer: &Answer, id: &str) {
    answer.is(404, session_not_found(id));
    assert_eq!(
        answer.session_header, None,
        "the middleware 404 has no X-Session-ID"
    );
}

fn close(actual: &Value, expected: f64) -> bool {
    actual
        .as_f64()
        .is_some_and(|a| (a - expected).abs() <= 1e-9 * expected.abs().max(1.0))
}

/// `2026-04-27T10:20:30.123456Z` (the fraction is absent when zero).
fn is_pydantic_datetime(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    let bytes = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let shape = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19);
    shape
        && match s.len() {
            20 => s.ends_with('Z'),
            27 => bytes[19] == b'.' && digits(20..26) && s.ends_with('Z'),
            _ => false,
        }
}

const PAST_PATTERN: &str = "PTRN|63b6f94454dab80c6ace4a849bd99c0979c21b8b";

/// ALGORITHM.md §7.7 through the REST API: create → observe → learn → predictions.
#[test]
fn walkthrough_reproduces_the_worked_example() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");

    let created = alice.post(
        "/sessions",
        json!({"node_id": "walk", "config": {"recall_threshold": 0.3}, "metadata": {"who": "alice"}}),
    );
    let session = created.ok();
    let id = session["session_id"].as_str().expect("id").to_string();
    let parts: Vec<&str> = id.splitn(3, '-').collect();
    assert_eq!(parts[0], "session");
    assert_eq!(parts[1].len(), 32);
    assert!(parts[2].parse::<u64>().is_ok(), "{id}");
    assert_eq!(session["node_id"], "walk");
    assert_eq!(session["ttl_seconds"], 3600);
    assert_eq!(session["metadata"], json!({"who": "alice"}));
    assert!(is_pydantic_datetime(&session["created_at"]), "{session}");
    assert!(is_pydantic_datetime(&session["expires_at"]), "{session}");
    assert_eq!(session["session_config"]["recall_threshold"], 0.3);
    assert_eq!(session["session_config"]["max_pattern_length"], 0);
    assert_eq!(created.session_header, None);

    for (i, symbol) in ["beginning", "middle", "end"].iter().enumerate() {
        let observed = alice.post(
            &format!("/sessions/{id}/observe"),
            json!({"strings": [symbol]}),
        );
        assert_eq!(observed.session_header.as_deref(), Some(id.as_str()));
        let body = observed.ok();
        let unique_id = observation_id(body);
        assert!(
            unique_id[4..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{unique_id}"
        );
        assert_eq!(
            body,
            &json!({
                "status": "okay",
                "session_id": id,
                "processor_id": "walk",
                "stm_length": i + 1,
                "time": i + 1,
                "unique_id": unique_id,
                "auto_learned_pattern": null,
            })
        );
    }
    alice.get(&format!("/sessions/{id}/stm")).is(
        200,
        json!({"stm": [["beginning"], ["middle"], ["end"]], "session_id": id, "length": 3}),
    );
    let learned = alice.post_empty(&format!("/sessions/{id}/learn"));
    assert_eq!(learned.session_header.as_deref(), Some(id.as_str()));
    learned.is(
        200,
        json!({
            "status": "learned",
            "pattern_name": PAST_PATTERN,
            "session_id": id,
            "processor_id": null,
            "message": format!("Learned pattern {PAST_PATTERN} from 0 events"),
        }),
    );
    alice
        .post_empty(&format!("/sessions/{id}/clear-stm"))
        .is(200, json!({"status": "cleared", "session_id": id}));
    alice.observe(&id, &["middle"]);
    alice.observe(&id, &["end"]);

    let answer = alice.get(&format!("/sessions/{id}/predictions?unique_id=ignored"));
    assert_eq!(answer.session_header.as_deref(), Some(id.as_str()));
    let body = answer.ok();
    assert_eq!(body["session_id"], id.as_str());
    assert_eq!(body["processor_id"], Value::Null);
    assert_eq!(body["time"], Value::Null);
    assert_eq!(body["unique_id"], Value::Null);
    assert_eq!(body["count"], 1);
    assert_eq!(body["future_potentials"], json!([]));
    let p = &body["predictions"][0];
    assert_eq!(p["name"], &PAST_PATTERN[5..]);
    assert_eq!(p["type"], "prototypical");
    assert_eq!(p["past"], json!([["beginning"]]));
    assert_eq!(p["present"], json!([["middle"], ["end"]]));
    assert_eq!(p["future"], json!([]));
    assert_eq!(p["matches"], json!(["middle", "end"]));
    assert_eq!(p["missing"], json!([[], []]));
    assert_eq!(p["extras"], json!([[], []]));
    for (field, expected) in [
        ("similarity", 0.8),
        ("evidence", 0.6666666666666666),
        ("confidence", 1.0),
        ("snr", 1.0),
        ("fragmentation", 0.0),
        ("entropy", 1.0),
        ("normalized_entropy", 0.6309297535714574),
        ("global_normalized_entropy", 0.0),
        ("itfdf_similarity", 0.9999999999999998),
        ("confluence", 0.0),
        ("tfidf_score", 0.5),
        ("predictive_information", 0.0),
        ("bayesian_prior", 1.0),
        ("bayesian_likelihood", 0.8),
        ("bayesian_posterior", 1.0),
        ("potential", 3.666666666666666),
    ] {
        assert!(
            close(&p[field], expected),
            "{field}: {} vs {expected}",
            p[field]
        );
    }

    // The learned pattern, node-scoped, with and without the prefix (URL-encoded `|`).
    let expected_pattern = json!({
        "pattern": {"status": "okay", "pattern": {
            "name": PAST_PATTERN,
            "pattern_data": [["beginning"], ["middle"], ["end"]],
            "length": 3,
            "frequency": 1,
            "emotives": [],
            "metadata": {},
        }},
        "node_id": "walk_kato",
    });
    alice
        .get(&format!(
            "/pattern/PTRN%7C{}?node_id=walk",
            &PAST_PATTERN[5..]
        ))
        .is(200, expected_pattern.clone());
    alice
        .get(&format!("/pattern/{}?node_id=walk", &PAST_PATTERN[5..]))
        .is(200, expected_pattern);
}

/// Rows 4–11 and 20–22: the lifecycle and read routes in their exact shapes.
#[test]
fn session_routes_answer_in_upstream_shapes() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let admin = Caller::with_claims(&app, "alice", json!({"scope": "observe learn admin"}));
    let anonymous = Caller::anonymous(&app);

    alice
        .get("/sessions/count")
        .is(200, json!({"active_session_count": 0}));
    let id = alice.create_session_with(json!({"node_id": "shapes", "ttl_seconds": 120}));
    let second = alice.create_session("shapes");
    alice
        .get("/sessions/count")
        .is(200, json!({"active_session_count": 2}));

    // exists: anonymous, no TTL extension.
    anonymous.get(&format!("/sessions/{id}/exists")).is(
        200,
        json!({"exists": true, "expired": false, "session_id": id}),
    );
    anonymous.get("/sessions/session-nope/exists").is(
        200,
        json!({"exists": false, "expired": false, "session_id": "session-nope"}),
    );

    // GET: remaining whole seconds of the sliding TTL the session was created with.
    let info = alice.get(&format!("/sessions/{id}"));
    assert_eq!(info.session_header, None);
    let info = info.ok();
    let remaining = info["ttl_seconds"].as_u64().expect("ttl");
    assert!((118..=120).contains(&remaining), "{remaining}");
    assert_eq!(info["node_id"], "shapes");
    assert_eq!(info["metadata"], json!({}));
    let config = alice.get(&format!("/sessions/{id}/config"));
    assert_eq!(config.session_header.as_deref(), Some(id.as_str()));
    let config = config.ok().clone();
    assert_eq!(config["session_id"], id.as_str());
    assert_eq!(info["session_config"], config["config"]);
    assert_eq!(config["config"]["recall_threshold"], 0.1);
    assert!(config["config"].get("affinity_emotive").is_none());

    // POST config, wrapped and flat; unknown keys ignored.
    alice
        .post(
            &format!("/sessions/{id}/config"),
            json!({"config": {"max_predictions": 7, "no_such_key": 1}}),
        )
        .is(
            200,
            json!({"status": "okay", "message": "Configuration updated", "session_id": id}),
        );
    alice
        .post(&format!("/sessions/{id}/config"), json!({"persistence": 9}))
        .ok();
    let config = alice.get(&format!("/sessions/{id}/config"));
    assert_eq!(config.ok()["config"]["max_predictions"], 7);
    assert_eq!(config.body["config"]["persistence"], 9);
    assert!(config.body["config"].get("no_such_key").is_none());

    // extend: query, default 3600.
    alice
        .post_empty(&format!("/sessions/{id}/extend?ttl_seconds=600"))
        .is(
            200,
            json!({"status": "extended", "session_id": id, "ttl_seconds": 600}),
        );
    alice.post_empty(&format!("/sessions/{id}/extend")).is(
        200,
        json!({"status": "extended", "session_id": id, "ttl_seconds": 3600}),
    );
    alice
        .post_empty(&format!("/sessions/{id}/extend?ttl_seconds=soon"))
        .is(
            422,
            invalid(
                "int_parsing",
                json!(["query", "ttl_seconds"]),
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        );

    // observe-sequence: client ids kept, others seq-obs-<hex>; learn at end.
    let sequence = alice.post(
        &format!("/sessions/{id}/observe-sequence"),
        json!({"observations": [
            {"strings": ["b", "a"], "unique_id": "mine-1", "emotives": {"joy": 2}},
            {"strings": ["c"], "metadata": {"k": 1}},
        ], "learn_at_end": true}),
    );
    let body = sequence.ok();
    let generated = body["results"][1]["unique_id"].as_str().expect("id");
    assert!(
        generated.len() == 40 && generated.starts_with("seq-obs-"),
        "{generated}"
    );
    let learned = body["final_learned_pattern"]
        .as_str()
        .expect("learned")
        .to_string();
    assert!(learned.starts_with("PTRN|"));
    assert_eq!(
        body,
        &json!({
            "status": "completed",
            "processor_id": "shapes",
            "observations_processed": 2,
            "initial_stm_length": 0,
            "final_stm_length": 0,
            "results": [
                {"status": "okay", "sequence_position": 0, "stm_length": 1, "time": 1,
                 "unique_id": "mine-1", "auto_learned_pattern": null},
                {"status": "okay", "sequence_position": 1, "stm_length": 2, "time": 2,
                 "unique_id": generated, "auto_learned_pattern": null},
            ],
            "auto_learned_patterns": [learned],
            "final_learned_pattern": learned,
            "isolated": false,
        })
    );
    alice
        .post(
            &format!("/sessions/{id}/observe-sequence"),
            json!({"observations": []}),
        )
        .is(
            200,
            json!({
                "status": "completed", "processor_id": "shapes", "observations_processed": 0,
                "initial_stm_length": 0, "final_stm_length": 0, "results": [],
                "auto_learned_patterns": [], "final_learned_pattern": null, "isolated": false,
            }),
        );

    // percept and cognition data.
    alice.get(&format!("/sessions/{second}/percept-data")).is(
        200,
        json!({"percept_data": {}, "session_id": second, "node_id": "shapes"}),
    );
    alice.post(
        &format!("/sessions/{second}/observe"),
        json!({"strings": ["z", "y"], "emotives": {"joy": 4, "fear": 1}, "metadata": {"m": "v"}}),
    );
    alice
        .get(&format!("/sessions/{second}/percept-data"))
        .is(
            200,
            json!({
                "percept_data": {"strings": ["y", "z"], "vectors": [], "emotives": {"joy": 4.0, "fear": 1.0}, "path": [], "metadata": {"m": "v"}},
                "session_id": second,
                "node_id": "shapes",
            }),
        );
    let cognition = alice.get(&format!("/sessions/{second}/cognition-data"));
    let cognition = cognition.ok();
    assert_eq!(cognition["session_id"], second.as_str());
    assert_eq!(cognition["node_id"], "shapes");
    let data = &cognition["cognition_data"];
    assert_eq!(data["symbols"], json!(["y", "z"]));
    assert_eq!(data["short_term_memory"], json!([["y", "z"]]));
    assert_eq!(data["emotives"], json!({"joy": 4.0, "fear": 1.0}));
    assert_eq!(data["time"], 1);
    assert_eq!(data["command"], "");
    assert!(data["predictions"].is_array());

    // finalize-training over the node's one pattern.
    let finalized = alice.post_empty(&format!("/sessions/{id}/finalize-training"));
    let body = finalized.ok();
    assert_eq!(body["status"], "completed");
    assert_eq!(body["patterns_processed"], 1);
    assert_eq!(body["session_id"], id.as_str());
    assert_eq!(body["node_id"], "shapes");
    assert!(body["time_ms"].as_f64().is_some_and(|t| t >= 0.0));
    assert!(
        body["message"].as_str().is_some_and(
            |m| m.starts_with("Computed Shannon entropy and TF vectors for 1 patterns in ")
        ),
        "{body}"
    );

    // clear-stm ignores any body; clear-all needs admin and wipes the node.
    alice.observe(&second, &["q"]);
    alice
        .post_raw(&format!("/sessions/{second}/clear-stm"), "not json at all")
        .is(200, json!({"status": "cleared", "session_id": second}));
    assert_eq!(alice.stm(&second), json!([]));
    assert_eq!(time(&alice, &second), 0);
    admin.post_empty(&format!("/sessions/{id}/clear-all")).is(
        200,
        json!({"status": "cleared", "session_id": id, "scope": "all"}),
    );
    alice
        .get("/symbols/stats?node_id=shapes")
        .is(200, json!({"symbols": {}, "node_id": "shapes_kato"}));

    // Upstream's quirk: /sessions/test/{id} is the middleware 404 ("test" is no session).
    assert_session_not_found(&alice.get("/sessions/test/abc"), "test");
    // Unknown sub-paths and wrong methods: middleware 404 for an unknown session, else
    // FastAPI's 404/405.
    assert_session_not_found(
        &alice.get("/sessions/session-nope/whatever"),
        "session-nope",
    );
    assert_session_not_found(&alice.get("/sessions/session-nope/observe"), "session-nope");
    alice
        .get(&format!("/sessions/{id}/whatever"))
        .is(404, json!({"detail": "Not Found"}));
    alice
        .get(&format!("/sessions/{id}/observe"))
        .is(405, json!({"detail": "Method Not Allowed"}));
    alice
        .post_empty(&format!("/sessions/{id}"))
        .is(405, json!({"detail": "Method Not Allowed"}));
    alice
        .get("/sessions")
        .is(405, json!({"detail": "Method Not Allowed"}));

    // DELETE, then everything about it is gone.
    let deleted = alice.delete(&format!("/sessions/{id}"));
    assert_eq!(deleted.session_header.as_deref(), Some(id.as_str()));
    deleted.is(200, json!({"status": "deleted", "session_id": id}));
    assert_session_not_found(&alice.delete(&format!("/sessions/{id}")), &id);
    alice.get(&format!("/sessions/{id}")).is(
        404,
        json!({"detail": format!("Session {id} not found or expired")}),
    );
    anonymous.get(&format!("/sessions/{id}/exists")).is(
        200,
        json!({"exists": false, "expired": false, "session_id": id}),
    );
    alice
        .get("/sessions/count")
        .is(200, json!({"active_session_count": 1}));
}

/// Rows 23–28 and 32–36, node routing included; unknown routes and wrong methods.
#[test]
fn node_scoped_routes_answer_in_upstream_shapes() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    // Learn [a, b] with emotives on node "test_t1" (the x-test-id routing target).
    let id = alice.create_session("test_t1");
    alice.post(
        &format!("/sessions/{id}/observe"),
        json!({"strings": ["a"], "emotives": {"joy": 1.0}}),
    );
    alice.post(
        &format!("/sessions/{id}/observe"),
        json!({"strings": ["b"], "emotives": {"joy": 3.0}, "metadata": {"src": 7}}),
    );
    let name = alice.post_empty(&format!("/sessions/{id}/learn")).ok()["pattern_name"]
        .as_str()
        .expect("name")
        .to_string();

    let by_test_id = send(
        alice
            .request(Method::GET, &format!("/pattern/{}", &name[5..]))
            .header("x-test-id", "t1"),
    );
    by_test_id.is(
        200,
        json!({
            "pattern": {"status": "okay", "pattern": {
                "name": name,
                "pattern_data": [["a"], ["b"]],
                "length": 2,
                "frequency": 1,
                "emotives": [{"joy": 1.0}, {"joy": 3.0}],
                "metadata": {"src": ["7"]},
            }},
            "node_id": "test_t1_kato",
        }),
    );
    let by_node_id = send(
        alice
            .request(Method::GET, &format!("/pattern/{}", &name[5..]))
            .header("x-node-id", "test_t1"),
    );
    assert_eq!(by_node_id.body, by_test_id.body);
    // Not found is still 200; the default node is default_node.
    alice.get("/pattern/PTRN%7Cfeed").is(
        200,
        json!({
            "pattern": {"status": "error", "message": "Pattern PTRN|feed not found"},
            "node_id": "default_node_kato",
        }),
    );

    alice.get("/symbols/stats?node_id=test_t1").is(
        200,
        json!({
            "symbols": {
                "a": {"frequency": 1, "pattern_member_frequency": 1},
                "b": {"frequency": 1, "pattern_member_frequency": 1},
            },
            "node_id": "test_t1_kato",
        }),
    );
    alice.get("/symbols/affinity?node_id=test_t1").is(
        200,
        json!({"affinities": {"a": {"joy": 2.0}, "b": {"joy": 2.0}}, "node_id": "test_t1_kato"}),
    );
    alice.get("/symbols/a/affinity?node_id=test_t1").is(
        200,
        json!({"symbol": "a", "affinity": {"joy": 2.0}, "node_id": "test_t1_kato"}),
    );
    alice.get("/symbols/zzz/affinity?node_id=test_t1").is(
        200,
        json!({"symbol": "zzz", "affinity": {}, "node_id": "test_t1_kato"}),
    );

    // Deprecated stubs.
    alice.get("/percept-data?node_id=my.node").is(
        200,
        json!({
            "percept_data": {},
            "node_id": "my_node_kato",
            "warning": "This endpoint is deprecated. Use /sessions/{session_id}/percept-data for session-aware data.",
        }),
    );
    alice.get("/cognition-data").is(
        200,
        json!({
            "cognition_data": {"predictions": [], "emotives": {}, "symbols": [], "command": "",
                "metadata": {}, "path": [], "strings": [], "vectors": [], "short_term_memory": []},
            "node_id": "default_node_kato",
            "warning": "This endpoint is deprecated. Use /sessions/{session_id}/cognition-data for session-aware data.",
        }),
    );

    // Introspection routes: shape only (no test upstream reads them).
    for (path, keys) in [
        (
            "/concurrency",
            &[
                "status",
                "current",
                "peak",
                "limits",
                "configuration",
                "recommendations",
                "timestamp",
            ][..],
        ),
        (
            "/cache/stats",
            &["cache_performance", "cache_health", "timestamp"][..],
        ),
        ("/distributed-stm/stats", &["status", "timestamp"][..]),
        ("/connection-pools", &["status", "timestamp"][..]),
    ] {
        let body = alice.get(path).ok().clone();
        for key in keys {
            assert!(body.get(key).is_some(), "{path} lacks {key}: {body}");
        }
    }
    let invalidated = alice.post_empty("/cache/invalidate?session_id=s1");
    assert_eq!(invalidated.ok()["status"], "disabled");
    assert_eq!(invalidated.body["session_id"], "s1");

    // Unknown routes and wrong methods, and a removed upstream route.
    alice.get("/gene/x").is(404, json!({"detail": "Not Found"}));
    Caller::anonymous(&app)
        .get("/no/such/route")
        .is(404, json!({"detail": "Not Found"}));
    alice
        .post_empty("/symbols/stats")
        .is(405, json!({"detail": "Method Not Allowed"}));
    alice
        .get("/cache/invalidate")
        .is(405, json!({"detail": "Method Not Allowed"}));
    // Node routes need credentials and the node in the token.
    assert_eq!(Caller::anonymous(&app).get("/symbols/stats").status, 401);
    let other_node = Caller::with_claims(&app, "alice", json!({"nodes": ["elsewhere"]}));
    assert_eq!(other_node.get("/symbols/stats?node_id=test_t1").status, 403);
}

/// Sessions of one node: separate STM, shared patterns; another node sees neither.
#[test]
fn sessions_share_patterns_within_a_node_and_nothing_across_nodes() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let bob = Caller::new(&app, "bob");
    let a1 = alice.create_session("shared");
    let b1 = bob.create_session("shared");
    let other = bob.create_session("other");

    alice.observe(&a1, &["x"]);
    alice.observe(&a1, &["y"]);
    bob.observe(&b1, &["x"]);
    assert_eq!(alice.stm(&a1), json!([["x"], ["y"]]));
    assert_eq!(bob.stm(&b1), json!([["x"]]), "STM is per session");
    let name = alice.post_empty(&format!("/sessions/{a1}/learn")).ok()["pattern_name"].clone();
    assert_eq!(
        bob.stm(&b1),
        json!([["x"]]),
        "a learn elsewhere leaves this STM"
    );

    // b1 (same node) predicts from alice's pattern; the other node has nothing.
    bob.observe(&b1, &["y"]);
    let shared = bob.get(&format!("/sessions/{b1}/predictions"));
    assert_eq!(shared.ok()["count"], 1);
    assert_eq!(
        json!(format!(
            "PTRN|{}",
            shared.body["predictions"][0]["name"].as_str().unwrap_or("")
        )),
        name
    );
    bob.observe(&other, &["x"]);
    bob.observe(&other, &["y"]);
    bob.get(&format!("/sessions/{other}/predictions")).is(
        200,
        json!({"predictions": [], "future_potentials": [], "session_id": other,
               "processor_id": null, "count": 0, "time": null, "unique_id": null}),
    );
    bob.get("/symbols/stats?node_id=other")
        .is(200, json!({"symbols": {}, "node_id": "other_kato"}));
}

/// 50 concurrent observes on one session all land, in the order the server accepted them.
#[test]
fn fifty_concurrent_observes_on_one_session_all_land_in_order() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let id = alice.create_session("busy");
    let answers: Vec<(String, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let alice = &alice;
                let id = &id;
                scope.spawn(move || {
                    let symbol = format!("s{i:02}");
                    let body = alice.observe(id, &[symbol.as_str()]);
                    (symbol, body["time"].as_u64().expect("time"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("observer thread"))
            .collect()
    });
    let mut times: Vec<u64> = answers.iter().map(|(_, t)| *t).collect();
    times.sort_unstable();
    assert_eq!(
        times,
        (1..=50).collect::<Vec<u64>>(),
        "times are 1..=50, no duplicates"
    );
    let stm = alice.stm(&id);
    let stm = stm.as_array().expect("stm");
    assert_eq!(stm.len(), 50);
    // The event at position t-1 is the one whose observe answered `time: t`.
    for (symbol, time) in &answers {
        assert_eq!(stm[(*time - 1) as usize], json!([symbol]), "time {time}");
    }
}

/// A session expires after its TTL without access, and any access slides the expiry.
#[test]
fn sessions_expire_after_their_ttl_and_access_slides_it() {
    let app = TestApp::builder()
        .env("KATO_SESSION_SWEEP_SECONDS", "3600")
        .start();
    let alice = Caller::new(&app, "alice");
    let idle = alice.create_session_with(json!({"node_id": "ttl", "ttl_seconds": 2}));
    let busy = alice.create_session_with(json!({"node_id": "ttl", "ttl_seconds": 2}));
    for _ in 0..4 {
        std::thread::sleep(Duration::from_secs(1));
        alice.stm(&busy);
    }
    // 4 s after creation: the idle one is past its 2 s; /exists reports it once as expired.
    Caller::anonymous(&app)
        .get(&format!("/sessions/{idle}/exists"))
        .is(
            200,
            json!({"exists": false, "expired": true, "session_id": idle}),
        );
    assert_session_not_found(&alice.get(&format!("/sessions/{idle}/stm")), &idle);
    alice.get(&format!("/sessions/{idle}")).is(
        404,
        json!({"detail": format!("Session {idle} not found or expired")}),
    );
    assert_eq!(
        alice.stm(&busy),
        json!([]),
        "touched every second, still alive"
    );
    alice
        .get("/sessions/count")
        .is(200, json!({"active_session_count": 1}));
}

/// Another subject's session, a token for another node, a missing scope, no token.
#[test]
fn authorisation_is_enforced_per_subject_node_and_scope() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let mallory = Caller::new(&app, "mallory");
    let id = alice.create_session("guarded");
    alice.observe(&id, &["secret"]);

    let forbidden = |answer: Answer| {
        answer.is(
            403,
            json!({"detail": format!("session {id} belongs to another subject"), "code": "KATO_FORBIDDEN"}),
        );
        assert_eq!(answer.session_header.as_deref(), Some(id.as_str()));
    };
    forbidden(mallory.get(&format!("/sessions/{id}/stm")));
    forbidden(mallory.post(
        &format!("/sessions/{id}/observe"),
        json!({"strings": ["evil"]}),
    ));
    forbidden(mallory.delete(&format!("/sessions/{id}")));
    assert_eq!(mallory.get(&format!("/sessions/{id}")).status, 403);
    assert_eq!(alice.stm(&id), json!([["secret"]]), "nothing changed");

    let elsewhere = Caller::with_claims(&app, "alice", json!({"nodes": ["n1"]}));
    elsewhere.post("/sessions", json!({"node_id": "n2"})).is(
        403,
        json!({"detail": "the credentials do not allow node n2", "code": "KATO_FORBIDDEN"}),
    );
    elsewhere.create_session("n1");

    let observer = Caller::with_claims(&app, "alice", json!({"scope": "observe"}));
    observer.post_empty(&format!("/sessions/{id}/learn")).is(
        403,
        json!({"detail": "the credentials lack the 'learn' scope", "code": "KATO_FORBIDDEN"}),
    );
    assert_eq!(alice.stm(&id), json!([["secret"]]), "nothing learned");
    alice.post_empty(&format!("/sessions/{id}/clear-all")).is(
        403,
        json!({"detail": "the credentials lack the 'admin' scope", "code": "KATO_FORBIDDEN"}),
    );

    let anonymous = Caller::anonymous(&app);
    for answer in [
        anonymous.post("/sessions", json!({"node_id": "n"})),
        anonymous.get("/sessions/count"),
        anonymous.get(&format!("/sessions/{id}")),
        anonymous.get(&format!("/sessions/{id}/stm")),
        anonymous.get("/sessions/session-unknown/stm"),
    ] {
        assert_eq!(answer.status, 401, "{:#}", answer.body);
        assert_eq!(answer.body["code"], "KATO_UNAUTHORIZED");
    }
}

/// Bad input: exact status and body, and nothing changed on the server.
#[test]
fn bad_input_is_rejected_exactly_and_changes_nothing() {
    let app = TestApp::builder()
        .env("KATO_MAX_BODY_BYTES", "2048")
        .start();
    let alice = Caller::new(&app, "alice");
    let id = alice.create_session("strict");
    alice.observe(&id, &["kept"]);
    let observe = format!("/sessions/{id}/observe");
    let unchanged = |what: &str| {
        assert_eq!(alice.stm(&id), json!([["kept"]]), "{what}");
        assert_eq!(time(&alice, &id), 1, "{what}");
    };

    let malformed = alice.post_raw(&observe, "{\"strings\": [");
    assert_eq!(malformed.session_header.as_deref(), Some(id.as_str()));
    assert_eq!(malformed.status, 422);
    let detail = &malformed.body["detail"][0];
    assert_eq!(detail["type"], "json_invalid");
    assert_eq!(detail["loc"], json!(["body", 0]));
    assert_eq!(detail["msg"], "JSON decode error");
    assert_eq!(detail["input"], json!({}));
    assert!(detail["ctx"]["error"].is_string());
    assert_eq!(malformed.body["trace_id"], json!(malformed.trace_id));
    unchanged("malformed JSON");

    for (body, expected) in [
        (
            json!({"strings": [null]}),
            invalid(
                "string_type",
                json!(["body", "strings", 0]),
                "Input should be a valid string",
            ),
        ),
        (
            json!({"strings": "x"}),
            invalid(
                "list_type",
                json!(["body", "strings"]),
                "Input should be a valid list",
            ),
        ),
        (
            json!({"vectors": "x"}),
            invalid(
                "list_type",
                json!(["body", "vectors"]),
                "Input should be a valid list",
            ),
        ),
        (
            json!({"emotives": "x"}),
            invalid(
                "dict_type",
                json!(["body", "emotives"]),
                "Input should be a valid dictionary",
            ),
        ),
        (
            json!({"emotives": {"joy": "high"}}),
            invalid(
                "float_type",
                json!(["body", "emotives", "joy"]),
                "Input should be a valid number",
            ),
        ),
        (
            json!({"metadata": [1]}),
            invalid(
                "dict_type",
                json!(["body", "metadata"]),
                "Input should be a valid dictionary",
            ),
        ),
    ] {
        alice.post(&observe, body.clone()).is(422, expected);
        unchanged(&body.to_string());
    }
    alice
        .post_empty(&observe)
        .is(422, invalid("missing", json!(["body"]), "Field required"));
    alice
        .post(
            &format!("/sessions/{id}/observe-sequence"),
            json!({"observations": [{"strings": ["fine"]}, {"strings": [3]}]}),
        )
        .is(
            422,
            invalid(
                "string_type",
                json!(["body", "observations", 1, "strings", 0]),
                "Input should be a valid string",
            ),
        );
    alice
        .post(&format!("/sessions/{id}/observe-sequence"), json!({}))
        .is(
            422,
            invalid("missing", json!(["body", "observations"]), "Field required"),
        );
    unchanged("observe-sequence");

    // Oversized body (limit 2048 bytes).
    let big = json!({"strings": ["x".repeat(3000)]});
    alice.post(&observe, big).is(
        413,
        json!({"detail": "body larger than 2048 bytes", "code": "KATO_PAYLOAD_TOO_LARGE"}),
    );
    unchanged("oversized");

    // Create: wrong types (422) and an invalid config (400, the config-validation body).
    for (body, expected) in [
        (
            json!({}),
            invalid("missing", json!(["body", "node_id"]), "Field required"),
        ),
        (
            json!({"node_id": 5}),
            invalid(
                "string_type",
                json!(["body", "node_id"]),
                "Input should be a valid string",
            ),
        ),
        (
            json!({"node_id": "n", "metadata": "x"}),
            invalid(
                "dict_type",
                json!(["body", "metadata"]),
                "Input should be a valid dictionary",
            ),
        ),
        (
            json!({"node_id": "n", "ttl_seconds": "soon"}),
            invalid(
                "int_type",
                json!(["body", "ttl_seconds"]),
                "Input should be a valid integer",
            ),
        ),
        (
            json!({"node_id": "n", "config": 3}),
            invalid(
                "dict_type",
                json!(["body", "config"]),
                "Input should be a valid dictionary",
            ),
        ),
    ] {
        alice.post("/sessions", body).is(422, expected);
    }
    alice
        .post("/sessions", json!({"node_id": "n", "config": {"recall_threshold": 5}}))
        .is(
            400,
            json!({"detail": {
                "error": "Configuration validation failed",
                "validation_errors": {"recall_threshold": "Must be a number between 0.0 and 1.0; got 5"},
            }}),
        );
    alice
        .get("/sessions/count")
        .is(200, json!({"active_session_count": 1}));

    // POST config: invalid values (400), not an object (422); nothing applied.
    alice
        .post(
            &format!("/sessions/{id}/config"),
            json!({"config": {"recall_threshold": 5, "max_predictions": 3}}),
        )
        .is(
            400,
            json!({"detail": {
                "error": "Configuration validation failed",
                "validation_errors": {"recall_threshold": "Must be a number between 0.0 and 1.0; got 5"},
            }}),
        );
    alice
        .post(&format!("/sessions/{id}/config"), json!([1]))
        .is(
            422,
            invalid(
                "dict_type",
                json!(["body"]),
                "Input should be a valid dictionary",
            ),
        );
    let config = alice.get(&format!("/sessions/{id}/config"));
    assert_eq!(config.ok()["config"]["max_predictions"], 100);
    assert_eq!(config.body["config"]["recall_threshold"], 0.1);

    // Vector dimension mismatch (Decision D8): 400 with upstream's detail object.
    let vectors = alice.create_session("vectors");
    alice
        .post(
            &format!("/sessions/{vectors}/observe"),
            json!({"vectors": [[1.0, 2.0, 3.0]]}),
        )
        .ok();
    let mismatch = alice.post(
        &format!("/sessions/{vectors}/observe"),
        json!({"vectors": [[1.0, 2.0]]}),
    );
    let vector_name = mismatch.body["detail"]["vector_name"].clone();
    assert!(
        vector_name
            .as_str()
            .is_some_and(|n| n.len() == 45 && n.starts_with("VCTR|")),
        "{vector_name}"
    );
    mismatch.is(
        400,
        json!({"detail": {
            "error": "VectorDimensionError",
            "message": "vector 0 has dimension 2, expected 3",
            "expected_dimension": 3,
            "actual_dimension": 2,
            "vector_name": vector_name,
        }}),
    );
    assert_eq!(
        time(&alice, &vectors),
        1,
        "the rejected observation did not tick"
    );

    // Learn on an empty STM.
    let empty = alice.create_session("strict");
    alice.post_empty(&format!("/sessions/{empty}/learn")).is(
        400,
        json!({"detail": "Cannot learn from empty STM", "code": "KATO_VALIDATION_ERROR"}),
    );

    // Unknown sessions: the middleware 404 before any body validation.
    for answer in [
        alice.post_raw("/sessions/session-unknown/observe", "{{{"),
        alice.get("/sessions/session-unknown/stm"),
        alice.post_empty("/sessions/session-unknown/learn"),
        alice.delete("/sessions/session-unknown"),
        alice.get("/sessions/session-unknown/predictions"),
    ] {
        assert_session_not_found(&answer, "session-unknown");
    }
    unchanged("after everything");
}

/// Learned patterns survive a restart (SIGKILL); sessions live in memory and do not.
#[test]
fn learned_patterns_survive_a_restart_and_sessions_do_not() {
    let app = TestApp::start();
    let id = {
        let alice = Caller::new(&app, "alice");
        let id = alice.create_session("durable");
        alice.observe(&id, &["beginning"]);
        alice.observe(&id, &["middle"]);
        alice.observe(&id, &["end"]);
        alice.post_empty(&format!("/sessions/{id}/learn")).ok();
        id
    };
    let app = app.restart();
    let alice = Caller::new(&app, "alice");
    alice
        .get(&format!("/pattern/{PAST_PATTERN}?node_id=durable"))
        .is(
            200,
            json!({
                "pattern": {"status": "okay", "pattern": {
                    "name": PAST_PATTERN,
                    "pattern_data": [["beginning"], ["middle"], ["end"]],
                    "length": 3,
                    "frequency": 1,
                    "emotives": [],
                    "metadata": {},
                }},
                "node_id": "durable_kato",
            }),
        );
    assert_session_not_found(&alice.get(&format!("/sessions/{id}/stm")), &id);
    alice
        .get("/sessions/count")
        .is(200, json!({"active_session_count": 0}));
    // A new session on the node predicts from the surviving pattern.
    let fresh = alice.create_session("durable");
    alice.observe(&fresh, &["middle"]);
    alice.observe(&fresh, &["end"]);
    let predictions = alice.get(&format!("/sessions/{fresh}/predictions"));
    assert_eq!(predictions.ok()["count"], 1);
    assert_eq!(
        predictions.body["predictions"][0]["past"],
        json!([["beginning"]])
    );
}
