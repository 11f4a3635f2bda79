//! The seeds' `/v2` surface (API.md §2.2) against the real server: every endpoint with its exact
//! status and body, HEAD create semantics (always a new session), and the structured error
//! body `{"error":{code,message,details:{...,trace_id},timestamp},"status"}` on every failure,
//! its trace id equal to the `X-Trace-ID` response header.

use kato_e2e::reqwest::Method;
use kato_e2e::{observation_id, pattern_name, send, Answer, Caller, TestApp};
use serde_json::{json, Value};

/// The effective default config of a new session (API.md §1.4).
fn default_config() -> Value {
    json!({
        "max_pattern_length": 0,
        "persistence": 5,
        "recall_threshold": 0.1,
        "stm_mode": "CLEAR",
        "indexer_type": "VI",
        "max_predictions": 100,
        "sort_symbols": true,
        "process_predictions": true,
        "use_token_matching": true,
        "rank_sort_algo": "potential",
        "filter_pipeline": [],
        "length_min_ratio": 0.5,
        "length_max_ratio": 2.0,
        "jaccard_threshold": 0.3,
        "jaccard_min_overlap": 2,
        "minhash_threshold": 0.7,
        "minhash_bands": 20,
        "minhash_rows": 5,
        "minhash_num_hashes": 100,
        "bloom_false_positive_rate": 0.01,
        "max_candidates_per_stage": 100000,
        "enable_filter_metrics": true,
    })
}

fn is_session_id(id: &str) -> bool {
    let parts: Vec<&str> = id.splitn(3, '-').collect();
    parts.len() == 3
        && parts[0] == "session"
        && parts[1].len() == 32
        && parts[2].parse::<u64>().is_ok()
}

#[test]
fn sessions_are_created_read_extended_and_deleted() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");

    let created = alice.post(
        "/v2/sessions",
        json!({"node_id": "v2-node", "metadata": {"team": "a"}, "ttl_seconds": 120,
               "config": {"max_predictions": 7}}),
    );
    let body = created.ok().clone();
    let id = body["session_id"].as_str().expect("id").to_string();
    assert!(is_session_id(&id), "{id}");
    assert_eq!(created.session_header.as_deref(), Some(id.as_str()));
    let mut config = default_config();
    config["max_predictions"] = json!(7);
    for key in ["created_at", "expires_at"] {
        let at = body[key].as_str().expect(key);
        assert!(
            at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{key}: {at}"
        );
    }
    assert_eq!(
        body,
        json!({
            "session_id": id,
            "node_id": "v2-node",
            "user_id": "v2-node",
            "created_at": body["created_at"],
            "expires_at": body["expires_at"],
            "ttl_seconds": 120,
            "metadata": {"team": "a"},
            "session_config": config,
        })
    );

    // HEAD semantics: the same subject and node get a new session every time.
    let again = alice.create_session_v2("v2-node");
    assert_ne!(again, id);
    // The v2-era `user_id` is accepted; `node_id` wins when both are sent.
    let by_user = alice.post("/v2/sessions", json!({"user_id": "legacy-user"}));
    assert_eq!(by_user.ok()["node_id"], "legacy-user");
    assert_eq!(by_user.ok()["ttl_seconds"], 3600);
    assert_eq!(by_user.ok()["metadata"], json!({}));
    let both = alice.post("/v2/sessions", json!({"user_id": "u", "node_id": "n"}));
    assert_eq!(both.ok()["node_id"], "n");
    assert_eq!(both.ok()["user_id"], "n");

    let got = alice.get(&format!("/v2/sessions/{id}"));
    assert_eq!(got.session_header.as_deref(), Some(id.as_str()));
    let got = got.ok();
    assert_eq!(got["session_id"], json!(id));
    assert_eq!(got["node_id"], "v2-node");
    assert_eq!(got["metadata"], json!({"team": "a"}));
    assert_eq!(got["session_config"], config);
    let remaining = got["ttl_seconds"].as_u64().expect("remaining");
    assert!((118..=120).contains(&remaining), "{remaining}");

    let extended = alice.post_empty(&format!("/v2/sessions/{id}/extend?ttl_seconds=600"));
    assert_eq!(
        extended.ok(),
        &json!({"status": "extended", "session_id": id, "ttl_seconds": 600})
    );
    let remaining = alice.get(&format!("/v2/sessions/{id}")).ok()["ttl_seconds"].clone();
    // Extend sets now + 600, then the read slides the expiry back to now + the session TTL.
    assert_eq!(remaining, json!(120));
    let default_extend = alice.post_empty(&format!("/v2/sessions/{id}/extend"));
    assert_eq!(default_extend.ok()["ttl_seconds"], 3600);

    let deleted = alice.delete(&format!("/v2/sessions/{id}"));
    assert_eq!(
        deleted.ok(),
        &json!({"status": "deleted", "session_id": id})
    );
    alice
        .delete(&format!("/v2/sessions/{id}"))
        .is_v2_session_gone("KATO_SESSION_NOT_FOUND", &id);
    alice
        .get(&format!("/v2/sessions/{id}"))
        .is_v2_session_gone("KATO_SESSION_NOT_FOUND", &id);
}

#[test]
fn observe_learn_and_predict_in_a_session() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let id = alice.create_session_v2("walkthrough");

    let first = alice.post(
        &format!("/v2/sessions/{id}/observe"),
        json!({"strings": ["hello", "world"], "emotives": {"joy": 1.0}, "metadata": {"src": "t"}}),
    );
    assert_eq!(first.session_header.as_deref(), Some(id.as_str()));
    let first = first.ok().clone();
    let unique_id = observation_id(&first);
    assert_eq!(
        first,
        json!({
            "status": "ok",
            "session_id": id,
            "processor_id": "walkthrough",
            "stm_length": 1,
            "time": 1,
            "unique_id": unique_id,
            "auto_learned_pattern": null,
        })
    );
    assert_eq!(alice.observe_v2(&id, &["foo", "bar"])["stm_length"], 2);
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/stm")).ok(),
        &json!({"stm": [["hello", "world"], ["bar", "foo"]], "session_id": id, "length": 2})
    );

    let learned = alice
        .post_empty(&format!("/v2/sessions/{id}/learn"))
        .ok()
        .clone();
    let pattern = pattern_name(&learned);
    assert_eq!(
        learned,
        json!({
            "status": "learned",
            "pattern_name": pattern,
            "session_id": id,
            "processor_id": null,
            "message": format!("Learned pattern {pattern} from 0 events"),
        })
    );
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/stm")).ok()["length"],
        0
    );

    alice.observe_v2(&id, &["hello", "world"]);
    let predictions = alice
        .get(&format!("/v2/sessions/{id}/predictions"))
        .ok()
        .clone();
    assert_eq!(predictions["session_id"], json!(id));
    assert_eq!(predictions["count"], 1);
    assert_eq!(predictions["processor_id"], Value::Null);
    assert_eq!(predictions["time"], Value::Null);
    assert_eq!(predictions["unique_id"], Value::Null);
    let prediction = &predictions["predictions"][0];
    assert_eq!(prediction["name"], json!(&pattern[5..]));
    assert_eq!(prediction["present"], json!([["hello", "world"]]));
    assert_eq!(prediction["future"], json!([["bar", "foo"]]));
    assert_eq!(prediction["emotives"], json!({"joy": 1.0}));
    let futures = predictions["future_potentials"]
        .as_array()
        .expect("future_potentials is a list");
    assert_eq!(futures.len(), 1, "{predictions:#}");
    assert_eq!(futures[0]["future"], json!([["bar", "foo"]]));

    assert_eq!(
        alice
            .post_empty(&format!("/v2/sessions/{id}/clear-stm"))
            .ok(),
        &json!({"status": "cleared", "session_id": id})
    );
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/stm")).ok(),
        &json!({"stm": [], "session_id": id, "length": 0})
    );
    // An empty STM cannot be learned.
    alice
        .post_empty(&format!("/v2/sessions/{id}/learn"))
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "Cannot learn from empty STM",
            json!({}),
        );
    // A second session of the node sees the pattern but has its own STM.
    let other = alice.create_session_v2("walkthrough");
    assert_eq!(
        alice.get(&format!("/v2/sessions/{other}/stm")).ok()["length"],
        0
    );
    alice.observe_v2(&other, &["hello", "world"]);
    assert_eq!(
        alice.get(&format!("/v2/sessions/{other}/predictions")).ok()["count"],
        1
    );
}

#[test]
fn config_is_read_updated_and_validated() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let id = alice.create_session_v2("config-node");

    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/config")).ok(),
        &json!({"session_id": id, "config": default_config()})
    );
    let updated = alice.post(
        &format!("/v2/sessions/{id}/config"),
        json!({"config": {"recall_threshold": 0.5}}),
    );
    assert_eq!(
        updated.ok(),
        &json!({"status": "okay", "message": "Configuration updated", "session_id": id})
    );
    alice
        .post(
            &format!("/v2/sessions/{id}/config"),
            json!({"max_pattern_length": 3}),
        )
        .ok();
    let mut expected = default_config();
    expected["recall_threshold"] = json!(0.5);
    expected["max_pattern_length"] = json!(3);
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/config")).ok()["config"],
        expected
    );

    // One invalid key refuses the whole update.
    alice
        .post(
            &format!("/v2/sessions/{id}/config"),
            json!({"persistence": 0, "recall_threshold": 0.9}),
        )
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "Configuration validation failed",
            json!({"validation_errors": {"persistence": "Must be an integer between 1 and 100; got 0"}}),
        );
    alice
        .post(&format!("/v2/sessions/{id}/config"), json!({"config": 5}))
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "config: Input should be a valid dictionary",
            json!({"field": "config"}),
        );
    alice
        .post(&format!("/v2/sessions/{id}/config"), json!([1]))
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "body: Input should be a valid dictionary",
            json!({"field": "body"}),
        );
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/config")).ok()["config"],
        expected,
        "nothing of a refused update was applied"
    );
}

#[test]
fn every_error_is_structured_with_the_trace_id() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    let bob = Caller::new(&app, "bob");
    let id = alice.create_session_v2("errors");
    let unknown = "session-00000000000000000000000000000000-1";

    // Unknown session on every route.
    for (method, path) in [
        (Method::GET, format!("/v2/sessions/{unknown}")),
        (Method::DELETE, format!("/v2/sessions/{unknown}")),
        (Method::GET, format!("/v2/sessions/{unknown}/stm")),
        (Method::POST, format!("/v2/sessions/{unknown}/learn")),
        (Method::POST, format!("/v2/sessions/{unknown}/clear-stm")),
        (Method::GET, format!("/v2/sessions/{unknown}/predictions")),
        (Method::GET, format!("/v2/sessions/{unknown}/config")),
        (Method::POST, format!("/v2/sessions/{unknown}/extend")),
    ] {
        send(alice.request(method, &path)).is_v2_session_gone("KATO_SESSION_NOT_FOUND", unknown);
    }
    alice
        .post(
            &format!("/v2/sessions/{unknown}/observe"),
            json!({"strings": ["a"]}),
        )
        .is_v2_session_gone("KATO_SESSION_NOT_FOUND", unknown);

    // Another subject's session: 403 on every route, and nothing changes.
    let forbidden = format!("session {id} belongs to another subject");
    for (method, path) in [
        (Method::GET, format!("/v2/sessions/{id}")),
        (Method::GET, format!("/v2/sessions/{id}/stm")),
        (Method::POST, format!("/v2/sessions/{id}/learn")),
        (Method::POST, format!("/v2/sessions/{id}/clear-stm")),
        (Method::GET, format!("/v2/sessions/{id}/predictions")),
        (Method::GET, format!("/v2/sessions/{id}/config")),
        (Method::POST, format!("/v2/sessions/{id}/extend")),
        (Method::DELETE, format!("/v2/sessions/{id}")),
    ] {
        send(bob.request(method, &path)).is_v2_error(403, "KATO_FORBIDDEN", &forbidden, json!({}));
    }
    bob.post(
        &format!("/v2/sessions/{id}/observe"),
        json!({"strings": ["x"]}),
    )
    .is_v2_error(403, "KATO_FORBIDDEN", &forbidden, json!({}));
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/stm")).ok()["length"],
        0
    );

    // Validation errors name the field.
    let invalid = |body: Value, field: &str, message: &str| {
        alice
            .post(&format!("/v2/sessions/{id}/observe"), body)
            .is_v2_error(
                400,
                "KATO_VALIDATION_ERROR",
                &format!("{field}: {message}"),
                json!({"field": field}),
            );
    };
    invalid(
        json!({"strings": [null]}),
        "strings[0]",
        "Input should be a valid string",
    );
    invalid(
        json!({"vectors": "x"}),
        "vectors",
        "Input should be a valid list",
    );
    invalid(
        json!({"emotives": {"joy": "high"}}),
        "emotives.joy",
        "Input should be a valid number",
    );
    invalid(
        json!({"metadata": [1]}),
        "metadata",
        "Input should be a valid dictionary",
    );
    let create_invalid = |body: Value, field: &str, message: &str| {
        alice.post("/v2/sessions", body).is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            &format!("{field}: {message}"),
            json!({"field": field}),
        );
    };
    create_invalid(json!({}), "node_id", "Field required");
    create_invalid(
        json!({"node_id": 5}),
        "node_id",
        "Input should be a valid string",
    );
    create_invalid(
        json!({"user_id": ["u"]}),
        "user_id",
        "Input should be a valid string",
    );
    create_invalid(
        json!({"node_id": "n", "ttl_seconds": -1}),
        "ttl_seconds",
        "Input should be greater than or equal to 0",
    );
    create_invalid(
        json!({"node_id": "n", "ttl_seconds": "long"}),
        "ttl_seconds",
        "Input should be a valid integer",
    );
    create_invalid(
        json!({"node_id": "n", "metadata": "m"}),
        "metadata",
        "Input should be a valid dictionary",
    );
    create_invalid(
        json!({"node_id": "n", "config": [1]}),
        "config",
        "Input should be a valid dictionary",
    );
    create_invalid(
        json!({"node_id": "n", "ttl_seconds": 10_000_000}),
        "ttl_seconds",
        "must be at most 86400 seconds",
    );
    alice
        .post(
            "/v2/sessions",
            json!({"node_id": "n", "config": {"recall_threshold": 2}}),
        )
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "Configuration validation failed",
            json!({"validation_errors": {"recall_threshold": "Must be a number between 0.0 and 1.0; got 2"}}),
        );
    let malformed = send(
        alice
            .request(Method::POST, "/v2/sessions")
            .header("content-type", "application/json")
            .body("{\"node_id\": "),
    );
    assert_eq!(malformed.status, 400, "{:#}", malformed.body);
    assert_eq!(malformed.body["error"]["code"], "KATO_VALIDATION_ERROR");
    assert_eq!(malformed.body["error"]["details"]["field"], "body");
    assert_eq!(
        malformed.body["error"]["details"]["trace_id"],
        json!(malformed.trace_id)
    );
    alice
        .post_empty(&format!("/v2/sessions/{id}/extend?ttl_seconds=soon"))
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "query.ttl_seconds: Input should be a valid integer",
            json!({"field": "query.ttl_seconds"}),
        );
    alice
        .post_empty(&format!("/v2/sessions/{id}/extend?ttl_seconds=0"))
        .is_v2_error(
            400,
            "KATO_VALIDATION_ERROR",
            "ttl_seconds: must be between 1 and 86400",
            json!({"field": "ttl_seconds"}),
        );

    // Credentials.
    let missing = Caller::anonymous(&app).get(&format!("/v2/sessions/{id}"));
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body["error"]["code"], "KATO_UNAUTHORIZED");
    assert_eq!(
        missing.body["error"]["details"],
        json!({"reason": "missing_credentials", "trace_id": missing.trace_id})
    );
    assert_eq!(missing.body["status"], 401);

    // Unknown routes and wrong methods under /v2.
    alice
        .get("/v2/no-such-thing")
        .is_v2_error(404, "KATO_NOT_FOUND", "Not Found", json!({}));
    alice
        .get(&format!("/v2/sessions/{id}/no-such-command"))
        .is_v2_error(404, "KATO_NOT_FOUND", "Not Found", json!({}));
    alice.get(&format!("/v2/sessions/{id}/learn")).is_v2_error(
        405,
        "KATO_METHOD_NOT_ALLOWED",
        "Method Not Allowed",
        json!({}),
    );

    // A client-chosen trace id is echoed in the header and the body.
    let traced = send(
        bob.request(Method::GET, &format!("/v2/sessions/{id}"))
            .header("X-Trace-ID", "trace-v2-0001"),
    );
    assert_eq!(traced.status, 403);
    assert_eq!(traced.trace_id, "trace-v2-0001");
    assert_eq!(traced.body["error"]["details"]["trace_id"], "trace-v2-0001");
}

#[test]
fn health_status_and_metrics_need_no_token() {
    let app = TestApp::start();
    let alice = Caller::new(&app, "alice");
    alice.create_session_v2("monitored");
    let anonymous = Caller::anonymous(&app);

    let health = anonymous.get("/v2/health").ok().clone();
    let status = health["status"].as_str().expect("status");
    // "degraded" only on a host short of memory or disk, and then it says why.
    assert!(
        status == "healthy" || (status == "degraded" && health["issues"][0].is_string()),
        "{health:#}"
    );
    assert_eq!(health["processor_status"], "healthy");
    assert_eq!(health["base_processor_id"], "kato");
    assert_eq!(
        health.get("service_name"),
        None,
        "the v2 body names base_processor_id"
    );
    assert_eq!(health["active_sessions"], 1);
    assert!(health["uptime_seconds"].as_f64().expect("uptime") >= 0.0);
    assert!(health["timestamp"].is_string());

    let status = anonymous.get("/v2/status").ok().clone();
    assert_eq!(status["version"], "2.0.0");
    assert_eq!(status["base_processor_id"], "kato");
    assert_eq!(status["sessions"]["active_sessions"], 1);
    assert_eq!(status["sessions"]["total_sessions"], 1);

    let metrics = anonymous.get("/v2/metrics").ok().clone();
    assert_eq!(metrics["sessions"]["active"], 1);
    assert_eq!(metrics["sessions"]["total_created"], 1);
    assert!(metrics["timestamp"].as_f64().expect("timestamp") > 1.7e9);
    assert!(
        metrics["performance"]["total_requests"]
            .as_u64()
            .expect("requests")
            >= 2
    );
}

#[test]
fn limits_scopes_and_expiry_are_structured_errors() {
    let app = TestApp::builder()
        .env("KATO_RATE_SESSION_PER_SECOND", "1")
        .env("KATO_RATE_SESSION_BURST", "2")
        .env("KATO_MAX_SESSIONS", "3")
        .env("KATO_SESSION_SWEEP_SECONDS", "3600")
        .start();
    let alice = Caller::new(&app, "alice");

    // Over the per-session rate (burst 2, then 1/s): 429 with Retry-After, nothing applied.
    let id = alice.create_session_v2("limited");
    let mut applied = Vec::new();
    let (retry_after, limited) = loop {
        let symbol = format!("s{}", applied.len());
        let response = alice
            .request(Method::POST, &format!("/v2/sessions/{id}/observe"))
            .json(&json!({"strings": [symbol]}))
            .send()
            .expect("request");
        if response.status() == 429 {
            let retry_after = response.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .to_string();
            break (retry_after, Answer::from_response(response));
        }
        assert_eq!(response.status(), 200);
        applied.push(vec![symbol]);
        assert!(applied.len() < 10, "the rate limit never answered");
    };
    assert!(applied.len() >= 2, "the burst is allowed");
    assert!(retry_after.parse::<u64>().expect("seconds") >= 1);
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["error"]["code"], "KATO_RATE_LIMITED");
    assert!(limited.body["error"]["details"]["retry_after_ms"]
        .as_u64()
        .is_some());
    assert_eq!(
        limited.body["error"]["details"]["trace_id"],
        json!(limited.trace_id)
    );
    assert_eq!(
        alice.get(&format!("/v2/sessions/{id}/stm")).ok()["stm"],
        json!(applied)
    );

    // A body over the limit: 413.
    let huge = "x".repeat((1 << 20) + 10);
    let too_large = send(
        alice
            .request(Method::POST, "/v2/sessions")
            .header("content-type", "application/json")
            .body(format!("{{\"node_id\": \"{huge}\"}}")),
    );
    too_large.is_v2_error(
        413,
        "KATO_PAYLOAD_TOO_LARGE",
        "body larger than 1048576 bytes",
        json!({"limit_bytes": 1_048_576}),
    );

    // Scopes and the nodes claim.
    let observer = Caller::with_claims(&app, "alice", json!({"scope": "observe"}));
    observer
        .post_empty(&format!("/v2/sessions/{id}/learn"))
        .is_v2_error(
            403,
            "KATO_FORBIDDEN",
            "the credentials lack the 'learn' scope",
            json!({}),
        );
    let red_only = Caller::with_claims(&app, "alice", json!({"nodes": ["red"]}));
    red_only
        .post("/v2/sessions", json!({"node_id": "blue"}))
        .is_v2_error(
            403,
            "KATO_FORBIDDEN",
            "the credentials do not allow node blue",
            json!({}),
        );

    // Expiry: the first access after the TTL says expired, later ones not found.
    let short = alice
        .post(
            "/v2/sessions",
            json!({"node_id": "short", "ttl_seconds": 1}),
        )
        .ok()["session_id"]
        .as_str()
        .expect("id")
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(1300));
    alice
        .get(&format!("/v2/sessions/{short}/stm"))
        .is_v2_session_gone("KATO_SESSION_EXPIRED", &short);
    alice
        .get(&format!("/v2/sessions/{short}"))
        .is_v2_session_gone("KATO_SESSION_NOT_FOUND", &short);

    // Capacity: at most 3 live sessions.
    alice.create_session_v2("full");
    alice.create_session_v2("full");
    alice
        .post("/v2/sessions", json!({"node_id": "full"}))
        .is_v2_error(
            503,
            "KATO_CAPACITY",
            "at most 3 sessions can be open on this server",
            json!({"max_sessions": 3}),
        );
}
