//! The v1 fallback (API.md product decision 1) against the real server: every endpoint in its
//! v1 shape, real `X-Session-ID` routing (unknown → 404, another subject's → 403, own → that
//! session and not the default one), per-caller default sessions (per subject; with auth
//! disabled per legacy caller id), and an observe → learn → predictions walkthrough.

use kato_e2e::reqwest::Method;
use kato_e2e::{invalid, observation_id, pattern_name, send, session_not_found, Caller, TestApp};
use serde_json::{json, Value};

fn live_sessions(app: &TestApp) -> u64 {
    Caller::new(app, "counter").session_count()
}

#[test]
fn observe_learn_predict_walkthrough() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");

    let first = alice.observe_v1(&["hello", "world"]);
    let session = first.session();
    let body = first.ok().clone();
    let unique_id = observation_id(&body);
    assert_eq!(
        body,
        json!({
            "status": "okay",
            "session_id": session,
            "processor_id": "default",
            "stm_length": 1,
            "time": 1,
            "unique_id": unique_id,
            "auto_learned_pattern": null,
        })
    );
    let second = alice.observe_v1(&["foo", "bar"]);
    assert_eq!(second.session(), session, "the same default session");
    assert_eq!(second.ok()["stm_length"], 2);
    for path in ["/stm", "/short-term-memory"] {
        let stm = alice.get(path);
        assert_eq!(stm.session(), session);
        assert_eq!(
            stm.ok(),
            &json!({"stm": [["hello", "world"], ["bar", "foo"]], "session_id": session, "length": 2})
        );
    }

    let learned = alice.post_empty("/learn");
    assert_eq!(learned.session(), session);
    let learned = learned.ok().clone();
    let pattern = pattern_name(&learned);
    assert_eq!(
        learned,
        json!({"status": "learned", "pattern_name": pattern, "processor_id": "default"})
    );
    assert_eq!(alice.get("/stm").ok()["length"], 0);

    alice.observe_v1(&["hello", "world"]).ok();
    for method in [Method::GET, Method::POST] {
        let predictions = send(alice.request(method, "/predictions?unique_id=u-1"));
        assert_eq!(predictions.session(), session);
        let body = predictions.ok().clone();
        assert_eq!(body["count"], 1);
        assert_eq!(body["processor_id"], "default");
        assert_eq!(body["unique_id"], "u-1");
        let time = body["time"].as_f64().expect("unix seconds");
        assert!(time > 1.7e9, "{time}");
        assert_eq!(
            body.as_object().expect("object").len(),
            5,
            "v1 keys only: {body:#}"
        );
        let prediction = &body["predictions"][0];
        assert_eq!(prediction["pattern_name"], json!(pattern));
        assert_eq!(prediction["name"], json!(&pattern[5..]));
        assert_eq!(prediction["present"], json!([["hello", "world"]]));
        assert_eq!(prediction["future"], json!([["bar", "foo"]]));
    }
    assert_eq!(alice.get("/predictions").ok()["unique_id"], Value::Null);

    // The pattern and the session's data, through X-Session-ID.
    let with_session = Caller::new(&app, "alice").header("X-Session-ID", &session);
    let found = with_session.get(&format!("/pattern/{pattern}"));
    assert_eq!(found.session(), session);
    assert_eq!(
        found.ok(),
        &json!({
            "pattern": {"status": "okay", "pattern": {
                "name": pattern,
                "pattern_data": [["hello", "world"], ["bar", "foo"]],
                "length": 4,
                "frequency": 1,
                "emotives": [],
                "metadata": {},
            }},
            "node_id": "default_kato",
        })
    );
    assert_eq!(
        with_session.get("/pattern/PTRN%7Cnothing").ok(),
        &json!({
            "pattern": {"status": "error", "message": "Pattern PTRN|nothing not found"},
            "node_id": "default_kato",
        })
    );
    let percept = with_session.get("/percept-data").ok().clone();
    assert_eq!(
        percept,
        json!({
            "percept_data": {"strings": ["hello", "world"], "vectors": [], "emotives": {},
                             "path": [], "metadata": {}},
            "session_id": session,
            "node_id": "default",
        })
    );
    let cognition = with_session.get("/cognition-data").ok().clone();
    assert_eq!(cognition["session_id"], json!(session));
    assert_eq!(cognition["node_id"], "default");
    let data = &cognition["cognition_data"];
    assert_eq!(data["short_term_memory"], json!([["hello", "world"]]));
    assert_eq!(data["symbols"], json!(["hello", "world"]));
    assert_eq!(data["time"], 3);
    assert_eq!(data["predictions"][0]["name"], json!(&pattern[5..]));

    // Without the header these paths are the current surface's node-level routes.
    let stub = alice.get("/percept-data").ok().clone();
    assert_eq!(stub["percept_data"], json!({}));
    assert!(stub["warning"].is_string(), "{stub:#}");
    let node_scoped = alice.get(&format!("/pattern/{pattern}?node_id=default"));
    assert_eq!(node_scoped.ok()["pattern"]["status"], "okay");
    assert_eq!(node_scoped.session_header, None);
}

#[test]
fn clears_observe_sequence_and_bad_input() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    alice.observe_v1(&["a"]).ok();
    for path in ["/clear-stm", "/clear-short-term-memory"] {
        alice.observe_v1(&["a"]).ok();
        assert_eq!(
            alice.post_empty(path).ok(),
            &json!({"status": "okay", "message": "stm-cleared"})
        );
        assert_eq!(alice.get("/stm").ok()["length"], 0);
    }

    let sequence = alice.post(
        "/observe-sequence",
        json!({"observations": [
            {"strings": ["x", "y"]},
            {"strings": ["z"], "unique_id": "mine"},
        ], "learn_at_end": true}),
    );
    let session = sequence.session();
    let body = sequence.ok().clone();
    let results = body["individual_results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["unique_id"], "mine");
    let generated = results[0]["unique_id"].as_str().expect("generated id");
    assert!(generated.starts_with("seq-obs-"), "{generated}");
    let learned = body["patterns_learned"][0]
        .as_str()
        .expect("learned")
        .to_string();
    assert!(learned.starts_with("PTRN|"), "{learned}");
    assert_eq!(
        body,
        json!({
            "status": "okay",
            "processor_id": "default",
            "observations_processed": 2,
            "patterns_learned": [learned],
            "individual_results": [
                {"status": "okay", "processor_id": "default", "unique_id": generated,
                 "time": 1, "auto_learned_pattern": null},
                {"status": "okay", "processor_id": "default", "unique_id": "mine",
                 "time": 2, "auto_learned_pattern": null},
            ],
            "final_predictions": [],
        })
    );
    // Each batch starts from an empty STM (v1): the earlier observation is not in the pattern.
    alice.observe_v1(&["q"]).ok();
    let again = alice
        .post(
            "/observe-sequence",
            json!({"observations": [{"strings": ["x", "y"]}, {"strings": ["z"]}]}),
        )
        .ok()
        .clone();
    assert_eq!(again["patterns_learned"], json!([]));
    assert_eq!(alice.get("/stm").ok()["stm"], json!([["x", "y"], ["z"]]));
    let predicted = &again["final_predictions"][0];
    assert_eq!(predicted["pattern_name"], json!(learned));
    assert_eq!(
        again["individual_results"][0]["time"], 1,
        "the batch restarted the session's time"
    );

    // A learning sequence without the learn scope is refused before anything changes.
    let observer = Caller::with_claims(&app, "alice", json!({"scope": "observe"}));
    observer
        .post(
            "/observe-sequence",
            json!({"observations": [{"strings": ["w"]}], "learn_at_end": true}),
        )
        .is(
            403,
            json!({"detail": "the credentials lack the 'learn' scope", "code": "KATO_FORBIDDEN"}),
        );
    assert_eq!(alice.get("/stm").ok()["stm"], json!([["x", "y"], ["z"]]));

    // Bad input: 422 naming the field, no session created, nothing changed.
    let bob = Caller::new(&app, "bob");
    let before = live_sessions(&app);
    bob.post("/observe", json!({"strings": [1]})).is(
        422,
        invalid(
            "string_type",
            json!(["body", "strings", 0]),
            "Input should be a valid string",
        ),
    );
    bob.post("/observe-sequence", json!({"learn_at_end": true}))
        .is(
            422,
            invalid("missing", json!(["body", "observations"]), "Field required"),
        );
    bob.post("/observe-sequence", json!({"observations": {}}))
        .is(
            422,
            invalid(
                "list_type",
                json!(["body", "observations"]),
                "Input should be a valid list",
            ),
        );
    bob.get("/stm?node_id=").ok();
    let after = live_sessions(&app);
    assert_eq!(after, before + 1, "only the valid call created a session");
    let long = "n".repeat(300);
    bob.get(&format!("/stm?node_id={long}")).is(
        422,
        invalid(
            "value_error",
            json!(["query", "node_id"]),
            "at most 256 bytes",
        ),
    );
    assert_eq!(live_sessions(&app), after);

    // Learning an empty STM is HEAD's 400, not v1's accidental 500.
    let empty = bob.post_empty("/learn");
    assert!(empty.session_header.is_some());
    empty.is(
        400,
        json!({"detail": "Cannot learn from empty STM", "code": "KATO_VALIDATION_ERROR"}),
    );

    // clear-all wipes the node and needs the admin scope.
    let denied = alice.post_empty("/clear-all");
    assert_eq!(denied.status, 403, "{:#}", denied.body);
    assert_eq!(denied.body["code"], "KATO_FORBIDDEN");
    let admin = Caller::with_claims(&app, "alice", json!({"scope": "observe learn admin"}));
    for path in ["/clear-all", "/clear-all-memory"] {
        let cleared = admin.post_empty(path);
        assert_eq!(
            cleared.session(),
            session,
            "admin alice has alice's default session"
        );
        assert_eq!(
            cleared.ok(),
            &json!({"status": "okay", "message": "all-cleared"})
        );
    }
    alice.observe_v1(&["x", "y"]).ok();
    assert_eq!(
        alice.get("/predictions").ok()["count"],
        0,
        "the node was wiped"
    );
    // No token: 401.
    let anonymous = Caller::anonymous(&app).observe_v1(&["a"]);
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["code"], "KATO_UNAUTHORIZED");
}

#[test]
fn x_session_id_routes_to_that_session() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let bob = Caller::new(&app, "bob");
    let default = alice.observe_v1(&["in-default"]).session();
    let explicit = alice
        .post("/v2/sessions", json!({"node_id": "elsewhere"}))
        .ok()["session_id"]
        .as_str()
        .expect("id")
        .to_string();
    let bobs = bob.post("/v2/sessions", json!({"node_id": "bobs"})).ok()["session_id"]
        .as_str()
        .expect("id")
        .to_string();

    // Own session: the call lands there, not in the default session.
    let routed = Caller::new(&app, "alice").header("X-Session-ID", &explicit);
    let observed = routed.observe_v1(&["routed"]);
    assert_eq!(observed.session(), explicit);
    assert_eq!(observed.ok()["processor_id"], "elsewhere");
    assert_eq!(observed.ok()["session_id"], json!(explicit));
    assert_eq!(alice.stm_v2(&explicit), json!([["routed"]]));
    assert_eq!(alice.stm_v2(&default), json!([["in-default"]]));
    assert_eq!(
        routed.get("/stm").ok(),
        &json!({"stm": [["routed"]], "session_id": explicit, "length": 1})
    );
    assert_eq!(
        routed.post_empty("/clear-stm").ok()["message"],
        "stm-cleared"
    );
    assert_eq!(alice.stm_v2(&explicit), json!([]));
    assert_eq!(alice.stm_v2(&default), json!([["in-default"]]));

    // Unknown session: 404 in the upstream session-middleware shape, nothing created.
    let before = live_sessions(&app);
    let unknown = "session-00000000000000000000000000000000-1";
    let lost = Caller::new(&app, "alice").header("X-Session-ID", unknown);
    for answer in [
        lost.observe_v1(&["x"]),
        lost.get("/stm"),
        lost.post_empty("/learn"),
        lost.get("/predictions"),
        lost.get("/percept-data"),
        lost.get("/pattern/abc"),
    ] {
        answer.is(404, session_not_found(unknown));
    }
    Caller::new(&app, "alice")
        .header("X-Session-ID", "not a session id")
        .get("/stm")
        .is(404, session_not_found("not a session id"));
    assert_eq!(live_sessions(&app), before);

    // Another subject's session: 403, nothing changed.
    let intruder = Caller::new(&app, "alice").header("X-Session-ID", &bobs);
    let forbidden = json!({"detail": format!("session {bobs} belongs to another subject"),
                           "code": "KATO_FORBIDDEN"});
    for answer in [
        intruder.observe_v1(&["x"]),
        intruder.get("/stm"),
        intruder.post_empty("/clear-stm"),
        intruder.get("/predictions"),
        intruder.get("/cognition-data"),
        intruder.get("/pattern/abc"),
    ] {
        answer.is(403, forbidden.clone());
    }
    assert_eq!(bob.stm_v2(&bobs), json!([]));

    // A token bound to one session (`sid`) uses it without the header.
    let bound = Caller::with_claims(&app, "alice", json!({"sid": explicit}));
    assert_eq!(bound.observe_v1(&["bound"]).session(), explicit);
    assert_eq!(alice.stm_v2(&explicit), json!([["bound"]]));
}

#[test]
fn default_sessions_are_per_subject_and_node() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let bob = Caller::new(&app, "bob");
    let alices = alice.observe_v1(&["a"]).session();
    let bobs = bob.observe_v1(&["b"]).session();
    assert_ne!(alices, bobs);
    assert_eq!(alice.get("/stm").session(), alices);
    assert_eq!(alice.get("/stm").ok()["stm"], json!([["a"]]));
    assert_eq!(bob.get("/stm").ok()["stm"], json!([["b"]]));

    // Naming a node gives the subject's default session on that node.
    let on_red = alice.get("/stm?node_id=red").session();
    assert_ne!(on_red, alices);
    assert_eq!(
        alice.get(&format!("/v2/sessions/{on_red}")).ok()["node_id"],
        "red"
    );
    let by_header = Caller::new(&app, "alice").header("x-node-id", "red");
    assert_eq!(by_header.get("/stm").session(), on_red);
    let by_test_id = Caller::new(&app, "alice").header("x-test-id", "t1");
    let on_test = by_test_id.observe_v1(&["t"]);
    assert_eq!(on_test.ok()["processor_id"], "test_t1");
    assert_eq!(
        alice.get(&format!("/v2/sessions/{alices}")).ok()["node_id"],
        "default"
    );

    // A deleted (or expired) default session is replaced by a new one on the next call.
    alice
        .request(Method::DELETE, &format!("/v2/sessions/{alices}"))
        .send()
        .expect("delete");
    let replaced = alice.get("/stm");
    assert_ne!(replaced.session(), alices);
    assert_eq!(replaced.ok()["stm"], json!([]));
}

#[test]
fn default_sessions_expire_and_are_recreated() {
    let app = TestApp::builder()
        .env("KATO_SESSION_TTL_SECONDS", "1")
        .start();
    let alice = Caller::new(&app, "alice");
    let first = alice.observe_v1(&["a"]).session();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let second = alice.get("/stm");
    assert_ne!(second.session(), first);
    assert_eq!(second.ok()["stm"], json!([]));
}

#[test]
fn with_auth_disabled_default_sessions_are_keyed_by_legacy_ids() {
    let app = TestApp::builder().env("KATO_AUTH", "disabled").start();
    let node_a = Caller::anonymous(&app).header("x-node-id", "A");
    let node_b = Caller::anonymous(&app).header("x-node-id", "B");
    let a = node_a.observe_v1(&["a"]);
    assert_eq!(a.ok()["processor_id"], "A");
    let a = a.session();
    let b = node_b.observe_v1(&["b"]).session();
    assert_ne!(a, b);
    assert_eq!(node_a.get("/stm").session(), a);
    assert_eq!(node_a.get("/stm").ok()["stm"], json!([["a"]]));
    assert_eq!(node_b.get("/stm").ok()["stm"], json!([["b"]]));

    // `?processor_id=` keys (and names the node) like upstream's processor.
    let processor = Caller::anonymous(&app).observe_v1(&["p"]);
    let nobody = processor.session();
    let by_processor = Caller::anonymous(&app).get("/stm?processor_id=P");
    assert_ne!(by_processor.session(), nobody);
    assert_eq!(by_processor.ok()["stm"], json!([]));
    assert_eq!(
        Caller::anonymous(&app).get("/stm?processor_id=P").session(),
        by_processor.session()
    );
    // Callers that send no id share the anonymous default session on `default`.
    assert_eq!(Caller::anonymous(&app).get("/stm").session(), nobody);
    assert_eq!(
        Caller::anonymous(&app).get("/stm").ok()["stm"],
        json!([["p"]])
    );
    // Everyone is `anonymous`, so X-Session-ID reaches any session.
    let routed = Caller::anonymous(&app).header("X-Session-ID", &a);
    assert_eq!(routed.get("/stm").ok()["stm"], json!([["a"]]));
    // clear-all needs no admin token when auth is off.
    assert_eq!(
        node_a.post_empty("/clear-all").ok(),
        &json!({"status": "okay", "message": "all-cleared"})
    );
}
