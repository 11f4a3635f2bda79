//! Observability end to end: the monitoring routes (`/`, `/health` and its probes, `/status`,
//! JSON `/metrics`, `/stats`, `/metrics/{name}`, `/metrics/prometheus`, `/openapi.json`,
//! `/docs`) answer without a token with their exact statuses and keys; the Prometheus scrape
//! parses with a real parser and its counters move with traffic; JSON logs carry the trace id
//! and never a token; rate limits and body limits refuse with nothing applied.

use std::time::{Duration, Instant};

use kato_e2e::reqwest::blocking::Response;
use kato_e2e::reqwest::{header, Method, StatusCode};
use kato_e2e::{token, TestApp};
use prometheus_parse::{Scrape, Value as PromValue};
use serde_json::{json, Value};

/// Every metric family the server must expose.
const METRIC_NAMES: &[&str] = &[
    "kato_requests_total",
    "kato_request_duration_seconds",
    "kato_active_sessions",
    "kato_stm_size",
    "kato_database_connections",
    "kato_circuit_breaker_state",
    "kato_prediction_seconds",
    "kato_rate_limited_total",
    "kato_observations_total",
    "kato_patterns_learned_total",
    "kato_sessions_created_total",
    "kato_sessions_deleted_total",
];

/// A server that samples its history every second (so `/stats` fills quickly).
fn start() -> TestApp {
    TestApp::builder()
        .env("KATO_METRICS_SAMPLE_SECONDS", "1")
        .start()
}

fn get(app: &TestApp, path: &str) -> Response {
    app.client().get(app.url(path)).send().expect("request")
}

fn json_of(response: Response) -> Value {
    let status = response.status();
    let text = response.text().expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
}

/// GET `path` without credentials; asserts the status and returns the JSON body.
fn get_json(app: &TestApp, path: &str, status: u16) -> Value {
    let response = get(app, path);
    assert_eq!(response.status().as_u16(), status, "GET {path}");
    json_of(response)
}

fn assert_keys(body: &Value, keys: &[&str], what: &str) {
    for key in keys {
        assert!(body.get(key).is_some(), "{what} lacks {key:?}: {body}");
    }
}

fn scrape(app: &TestApp) -> Scrape {
    let response = get(app, "/metrics/prometheus");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().expect("body");
    Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("valid exposition")
}

/// The value of `metric` summed over samples whose labels include `labels` (histograms: their
/// observation count); 0 when no sample matches.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            PromValue::Counter(v) | PromValue::Gauge(v) | PromValue::Untyped(v) => *v,
            PromValue::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count),
            PromValue::Summary(_) => 0.0,
        })
        .sum()
}

/// Waits until `/metrics/{series}` has data (the sampler runs every second here).
fn wait_for_series(app: &TestApp, series: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = get(app, &format!("/metrics/{series}?minutes=5"));
        if response.status() == 200 {
            return json_of(response);
        }
        assert_eq!(response.status(), 404, "{series}");
        assert!(Instant::now() < deadline, "no sample of {series} in 10 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn observe(app: &TestApp, subject: &str, session: &str, symbol: &str) -> Response {
    app.as_user(
        Method::POST,
        &format!("/sessions/{session}/observe"),
        subject,
    )
    .json(&json!({"strings": [symbol]}))
    .send()
    .expect("observe")
}

#[test]
fn monitoring_routes_answer_without_a_token() {
    let app = start();

    let root = get_json(&app, "/", 200);
    assert_eq!(root["service"], "KATO API");
    assert_eq!(root["version"], "3.10.1");
    assert_eq!(root["docs"], "/docs");
    assert_eq!(root["health"], "/health");
    assert_eq!(root["status"], "running");
    assert_eq!(root["architecture"], "modular");
    assert_eq!(root["session_support"], true);
    assert!(root["uptime_seconds"].as_f64().is_some());

    let health = get_json(&app, "/health", 200);
    assert_keys(
        &health,
        &[
            "status",
            "processor_status",
            "service_name",
            "uptime_seconds",
            "issues",
            "metrics_collected",
            "last_collection",
            "active_sessions",
            "timestamp",
        ],
        "/health",
    );
    assert!(
        ["healthy", "degraded"].contains(&health["status"].as_str().unwrap_or("")),
        "{health}"
    );
    assert_eq!(health["processor_status"], "healthy");
    assert_eq!(health["active_sessions"], 0);
    assert!(health["issues"].is_array());

    assert_eq!(get_json(&app, "/health/live", 200)["status"], "alive");
    let ready = get_json(&app, "/health/ready", 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"][0]["name"], "embedded_store");
    assert_eq!(ready["checks"][0]["ok"], true);
    assert_eq!(get_json(&app, "/health/startup", 200)["status"], "started");

    let status = get_json(&app, "/status", 200);
    assert_keys(
        &status,
        &[
            "status",
            "base_processor_id",
            "uptime_seconds",
            "sessions",
            "processors",
            "version",
        ],
        "/status",
    );
    assert_keys(
        &status["sessions"],
        &[
            "total_sessions",
            "active_sessions",
            "expired_sessions",
            "backend",
        ],
        "/status sessions",
    );
    assert_eq!(status["version"], "3.10.1");

    let metrics = get_json(&app, "/metrics", 200);
    assert_keys(
        &metrics,
        &[
            "timestamp",
            "sessions",
            "performance",
            "resources",
            "databases",
            "rates",
            "processor_manager",
        ],
        "/metrics",
    );
    assert_keys(
        &metrics["sessions"],
        &[
            "total_created",
            "total_deleted",
            "active",
            "operations_total",
        ],
        "/metrics sessions",
    );
    assert_keys(
        &metrics["performance"],
        &[
            "total_requests",
            "total_errors",
            "error_rate",
            "average_response_time",
        ],
        "/metrics performance",
    );
    assert_keys(
        &metrics["resources"],
        &["cpu_percent", "memory_percent", "disk_percent"],
        "/metrics resources",
    );
    let memory = metrics["resources"]["memory_percent"]
        .as_f64()
        .expect("memory from /proc");
    assert!((0.0..=100.0).contains(&memory), "{memory}");
    assert!(metrics["rates"]["requests_per_second"].as_f64().is_some());

    // The history fills every second: every series the API names is served.
    for series in [
        "kato_requests_total",
        "kato_cpu_usage_percent",
        "kato_memory_usage_percent",
    ] {
        let body = wait_for_series(&app, series);
        assert_eq!(body["metric_name"], series);
        assert_eq!(body["time_range_minutes"], 5);
        assert_keys(
            &body["statistics"],
            &["count", "min", "max", "avg"],
            "statistics",
        );
        let points = body["data_points"].as_array().expect("data_points");
        assert!(!points.is_empty());
        assert_keys(&points[0], &["timestamp", "value"], "data point");
    }
    let cpu = wait_for_series(&app, "kato_cpu_usage_percent");
    let max = cpu["statistics"]["max"].as_f64().expect("max");
    assert!((0.0..=100.0).contains(&max), "{cpu}");
    // Requests finished since the previous sample give a mean duration.
    let duration = wait_for_series(&app, "kato_request_duration_seconds");
    assert!(duration["statistics"]["min"].as_f64().expect("min") > 0.0);

    let stats = get_json(&app, "/stats?minutes=5", 200);
    assert_keys(
        &stats,
        &[
            "time_range_minutes",
            "timestamp",
            "processor_manager",
            "current_status",
            "time_series",
            "summary",
        ],
        "/stats",
    );
    assert_eq!(stats["time_range_minutes"], 5);
    assert_keys(
        &stats["current_status"],
        &["status", "issues", "metrics", "timestamp"],
        "current_status",
    );
    for series in [
        "kato_cpu_usage_percent",
        "kato_memory_usage_percent",
        "kato_requests_total",
        "kato_request_duration_seconds",
    ] {
        let points = stats["time_series"][series]
            .as_array()
            .unwrap_or_else(|| panic!("time_series lacks {series}"));
        assert!(!points.is_empty(), "{series} has no sample");
    }
    assert_keys(
        &stats["summary"],
        &["sessions", "performance", "resources", "databases"],
        "summary",
    );
    assert_eq!(get_json(&app, "/stats", 200)["time_range_minutes"], 10);

    // Unknown series: upstream's 404 detail. Bad windows: FastAPI's 422.
    let missing = get_json(&app, "/metrics/kato_no_such_series", 404);
    assert_eq!(
        missing["detail"],
        "No data available for metric 'kato_no_such_series' in the last 10 minutes"
    );
    assert!(missing["trace_id"].is_string());
    for bad in [
        "/stats?minutes=0",
        "/stats?minutes=abc",
        "/metrics/kato_requests_total?minutes=1441",
    ] {
        let body = get_json(&app, bad, 422);
        assert!(body["detail"].is_array(), "{bad}: {body}");
    }

    // The v2 monitoring routes answer too, also without a token.
    for path in ["/v2/health", "/v2/status", "/v2/metrics"] {
        let body = get_json(&app, path, 200);
        assert!(body.is_object(), "{path}");
    }
}

#[test]
fn prometheus_scrape_parses_and_counters_move_with_traffic() {
    let app = start();
    get_json(&app, "/health", 200);
    let before = scrape(&app);
    for name in METRIC_NAMES {
        assert!(
            before.docs.get(*name).is_some_and(|help| !help.is_empty()),
            "{name} has no HELP"
        );
    }
    let health = [
        ("method", "GET"),
        ("endpoint", "/health"),
        ("status", "200"),
    ];
    assert_eq!(value(&before, "kato_requests_total", &health), 1.0);
    assert_eq!(
        value(
            &before,
            "kato_circuit_breaker_state",
            &[("service", "embedded")]
        ),
        0.0
    );
    assert!(before
        .samples
        .iter()
        .any(|s| s.metric == "kato_database_connections"
            && s.labels.get("database") == Some("embedded")));
    for scope in ["session", "subject"] {
        assert!(
            before
                .samples
                .iter()
                .any(|s| s.metric == "kato_rate_limited_total"
                    && s.labels.get("scope") == Some(scope)),
            "rate_limited_total{{scope={scope}}} missing"
        );
    }

    for _ in 0..5 {
        get_json(&app, "/health", 200);
    }
    get_json(&app, "/metrics/kato_no_such_series", 404);
    get(&app, "/no/such/route/42");
    let after = scrape(&app);
    assert_eq!(value(&after, "kato_requests_total", &health), 6.0);
    assert_eq!(
        value(
            &after,
            "kato_request_duration_seconds",
            &[("method", "GET"), ("endpoint", "/health")]
        ),
        6.0
    );
    // Endpoints are route patterns, never raw paths; an unmatched path has its own label.
    assert_eq!(
        value(
            &after,
            "kato_requests_total",
            &[("endpoint", "/metrics/:metric_name"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "kato_requests_total",
            &[("endpoint", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    assert!(after
        .samples
        .iter()
        .filter_map(|s| s.labels.get("endpoint"))
        .all(|e| !e.contains("kato_no_such_series") && !e.contains("42")));
    // The scrape itself was counted by the time of the next one.
    assert_eq!(
        value(
            &after,
            "kato_requests_total",
            &[("endpoint", "/metrics/prometheus")]
        ),
        1.0
    );
}

#[test]
fn engine_metrics_follow_session_traffic() {
    let app = start();
    let before = scrape(&app);
    let alice = app.caller("alice");
    let session = alice.create_session("telemetry-engine");
    for symbol in ["a", "b"] {
        assert_eq!(observe(&app, "alice", &session, symbol).status(), 200);
    }
    alice.get(&format!("/sessions/{session}/predictions")).ok();
    alice.post_empty(&format!("/sessions/{session}/learn")).ok();
    let during = scrape(&app);
    assert_eq!(value(&during, "kato_active_sessions", &[]), 1.0);
    assert_eq!(
        value(
            &during,
            "kato_database_connections",
            &[("database", "embedded")]
        ),
        1.0,
        "one node log open"
    );
    alice.delete(&format!("/sessions/{session}")).ok();
    let after = scrape(&app);
    let delta = |metric: &str| value(&after, metric, &[]) - value(&before, metric, &[]);
    assert_eq!(delta("kato_sessions_created_total"), 1.0);
    assert_eq!(delta("kato_sessions_deleted_total"), 1.0);
    assert_eq!(delta("kato_observations_total"), 2.0);
    assert_eq!(delta("kato_patterns_learned_total"), 1.0);
    assert_eq!(delta("kato_stm_size"), 2.0, "one STM sample per observe");
    assert_eq!(delta("kato_prediction_seconds"), 1.0);
    assert_eq!(value(&after, "kato_active_sessions", &[]), 0.0);
    assert_eq!(
        value(
            &after,
            "kato_requests_total",
            &[
                ("method", "POST"),
                ("endpoint", "/sessions/:session_id/observe"),
                ("status", "200")
            ]
        ),
        2.0
    );
    // No label carries a session id.
    assert!(!after
        .samples
        .iter()
        .any(|s| s.labels.values().any(|v| v.contains(&session))));

    let json = get_json(&app, "/metrics", 200);
    assert_eq!(json["sessions"]["total_created"], 1);
    assert_eq!(json["sessions"]["total_deleted"], 1);
    assert_eq!(json["engine"]["observations_total"], 2);
}

#[test]
fn json_metrics_are_live_and_total_requests_grows() {
    let app = start();
    let first = get_json(&app, "/metrics", 200)["performance"]["total_requests"]
        .as_u64()
        .expect("total_requests");
    for _ in 0..3 {
        get_json(&app, "/health/live", 200);
    }
    let second = get_json(&app, "/metrics", 200)["performance"]["total_requests"]
        .as_u64()
        .expect("total_requests");
    // The three probes plus the first /metrics call, with no cache in between.
    assert_eq!(second, first + 4);
    get(&app, "/no-such-route");
    let third = get_json(&app, "/metrics", 200);
    assert_eq!(third["performance"]["total_requests"], second + 2);
    assert_eq!(third["performance"]["total_errors"], 1);
}

#[test]
fn openapi_document_describes_all_three_surfaces() {
    let app = start();
    let response = get(&app, "/openapi.json");
    assert_eq!(response.status(), 200);
    let doc = json_of(response);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/sessions/{session_id}/observe", "post"),
        ("/v2/sessions", "post"),
        ("/observe", "post"),
        ("/health/ready", "get"),
        ("/metrics/prometheus", "get"),
        ("/v2/health", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|item| item.get(method)).is_some(),
            "{method} {path} not documented"
        );
    }
    assert_eq!(
        doc["paths"]["/health"]["get"]["security"],
        json!([{}]),
        "health needs no token"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// Every documented operation is served: none answers the "no such route" 404 or a 405.
#[test]
fn every_documented_route_is_served() {
    let app = start();
    let doc = json_of(get(&app, "/openapi.json"));
    let unknown_session = "session-0123456789abcdef0123456789abcdef-1700000000000";
    let bearer = token("route-walker", &json!({}));
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("item") {
            let concrete = path
                .replace("{session_id}", unknown_session)
                .replace("{metric_name}", "kato_requests_total")
                .replace("{pattern_id}", "PTRN|0000")
                .replace("{symbol}", "a");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let mut request = app
                .client()
                .request(method.clone(), app.url(&concrete))
                .bearer_auth(&bearer);
            if method == Method::POST {
                request = request.json(&json!({}));
            }
            let response = request.send().expect("request");
            let status = response.status();
            let text = response.text().unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let no_route = status == StatusCode::NOT_FOUND
                && (body["detail"] == "Not Found" || body["error"]["code"] == "KATO_NOT_FOUND");
            assert!(
                !no_route && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}: {status} {text}"
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} operations");
}

#[test]
fn docs_page_is_offline_html() {
    let app = start();
    let response = get(&app, "/docs");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().expect("body");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("/openapi.json"),
        "the page loads the document"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external URL in the page"
    );
    assert!(!html.contains("<script src") && !html.contains("<link"));
}

#[test]
fn json_logs_have_one_line_per_request_with_its_trace_id_and_no_token() {
    let app = TestApp::builder()
        .env("KATO_LOG_FORMAT", "json")
        .env("KATO_LOG_FILTER", "info")
        .capture_stderr()
        .start();
    let bearer = token("logger", &json!({}));
    let trace_id = "telemetry-json-log-trace-1";
    let response = app
        .client()
        .get(app.url("/sessions/count?token=query-secret-value"))
        .bearer_auth(&bearer)
        .header("X-Trace-ID", trace_id)
        .send()
        .expect("request");
    assert_eq!(response.headers()["x-trace-id"], trace_id);
    let failing = app
        .client()
        .get(app.url("/sessions/count"))
        .bearer_auth("not.a.valid-token-value")
        .header("X-Trace-ID", "telemetry-json-log-trace-2")
        .send()
        .expect("request");
    assert_eq!(failing.status(), 401);

    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = app.stderr();
        if log.contains("telemetry-json-log-trace-2") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log output");
    let mut access = Vec::new();
    for line in &lines {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if entry["fields"]["message"] == "request" {
            access.push(entry);
        }
    }
    let first: Vec<&Value> = access
        .iter()
        .filter(|e| e["fields"]["trace_id"] == trace_id)
        .collect();
    assert_eq!(first.len(), 1, "one access line per request: {log}");
    assert_eq!(first[0]["fields"]["route"], "/sessions/count");
    assert_eq!(first[0]["fields"]["status"], 200);
    assert_eq!(first[0]["span"]["trace_id"], trace_id);
    assert!(access
        .iter()
        .any(|e| e["fields"]["trace_id"] == "telemetry-json-log-trace-2"
            && e["fields"]["status"] == 401));
    for secret in [
        bearer.as_str(),
        "query-secret-value",
        "not.a.valid-token-value",
    ] {
        assert!(!log.contains(secret), "a credential reached the log");
    }
}

#[test]
fn readiness_fails_while_the_data_directory_is_unusable() {
    let app = start();
    assert_eq!(get(&app, "/health/ready").status(), 200);
    let nodes = app.data_dir.path().join("nodes");
    std::fs::remove_dir_all(&nodes).expect("remove the node directory");

    let ready = get_json(&app, "/health/ready", 503);
    assert_eq!(ready["status"], "not_ready");
    assert_eq!(ready["checks"][0]["name"], "embedded_store");
    assert_eq!(ready["checks"][0]["ok"], false);
    let health = get_json(&app, "/health", 200);
    assert_eq!(health["status"], "unhealthy");
    assert_eq!(health["processor_status"], "unhealthy");
    assert!(!health["issues"].as_array().expect("issues").is_empty());
    assert_eq!(get(&app, "/health/live").status(), 200, "still alive");

    std::fs::create_dir_all(&nodes).expect("restore");
    assert_eq!(get_json(&app, "/health/ready", 200)["status"], "ready");
    assert_eq!(
        std::fs::read_dir(&nodes).expect("ls").count(),
        0,
        "the probe leaves no file behind"
    );
}

#[test]
fn over_the_session_rate_limit_is_429_with_retry_after_and_nothing_applied() {
    let app = TestApp::builder()
        .env("KATO_RATE_SESSION_PER_SECOND", "1")
        .env("KATO_RATE_SESSION_BURST", "2")
        .start();
    let session = app.caller("alice").create_session("telemetry-rate");
    let statuses: Vec<Response> = ["a", "b", "c"]
        .iter()
        .map(|symbol| observe(&app, "alice", &session, symbol))
        .collect();
    assert_eq!(statuses[0].status(), 200);
    assert_eq!(statuses[1].status(), 200);
    let limited = &statuses[2];
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(app.caller("alice").stm(&session), json!([["a"], ["b"]]));
    let after = scrape(&app);
    assert_eq!(
        value(&after, "kato_rate_limited_total", &[("scope", "session")]),
        1.0
    );
    assert_eq!(value(&after, "kato_observations_total", &[]), 2.0);
}

#[test]
fn over_the_subject_rate_limit_is_429_across_sessions() {
    let app = TestApp::builder()
        .env("KATO_RATE_SUBJECT_PER_SECOND", "1")
        .env("KATO_RATE_SUBJECT_BURST", "4")
        .start();
    // Creating a session counts against the subject's limit too: 2 creates + 2 observes.
    let one = app.caller("bob").create_session("telemetry-subject");
    let two = app.caller("bob").create_session("telemetry-subject");
    assert_eq!(observe(&app, "bob", &one, "a").status(), 200);
    assert_eq!(observe(&app, "bob", &two, "b").status(), 200);
    let limited = observe(&app, "bob", &one, "c");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
    // Another subject is not affected.
    let other = app.caller("carol").create_session("telemetry-subject");
    assert_eq!(observe(&app, "carol", &other, "x").status(), 200);
    assert_eq!(app.caller("bob").stm(&one), json!([["a"]]));
    assert_eq!(app.caller("bob").stm(&two), json!([["b"]]));
    assert_eq!(
        value(
            &scrape(&app),
            "kato_rate_limited_total",
            &[("scope", "subject")]
        ),
        1.0
    );
}

#[test]
fn an_oversized_body_is_413_and_nothing_is_applied() {
    let app = TestApp::builder()
        .env("KATO_MAX_BODY_BYTES", "1024")
        .start();
    let session = app.caller("alice").create_session("telemetry-body");
    let big = serde_json::to_vec(&json!({"strings": ["x".repeat(2000)]})).expect("body");
    let path = format!("/sessions/{session}/observe");
    let sized = app
        .as_user(Method::POST, &path, "alice")
        .header(header::CONTENT_TYPE, "application/json")
        .body(big.clone())
        .send()
        .expect("observe");
    assert_eq!(sized.status(), 413);
    let body = json_of(sized);
    assert!(body["trace_id"].is_string(), "{body}");
    // Without a Content-Length (chunked), the limit still holds.
    let chunked = app
        .as_user(Method::POST, &path, "alice")
        .header(header::CONTENT_TYPE, "application/json")
        .body(kato_e2e::reqwest::blocking::Body::new(
            std::io::Cursor::new(big),
        ))
        .send()
        .expect("observe");
    assert_eq!(chunked.status(), 413);
    assert_eq!(app.caller("alice").stm(&session), json!([]));
    assert_eq!(value(&scrape(&app), "kato_observations_total", &[]), 0.0);
}

#[test]
fn websocket_metrics_count_connections_frames_and_close_codes() {
    use kato_e2e::ws::{call, close_code, connect_as, hello};
    use tungstenite::Message;
    let app = start();
    let before = scrape(&app);
    assert_eq!(value(&before, "kato_ws_connections", &[]), 0.0);
    assert_eq!(
        value(&before, "kato_ws_closes_total", &[("code", "4400")]),
        0.0
    );
    let mut socket = connect_as(&app, "/v2/ws", "alice");
    hello(&mut socket, "ws_metrics");
    let reply = call(
        &mut socket,
        json!({"type": "observe", "id": 2, "strings": ["a"]}),
    );
    assert_eq!(reply["type"], "predictions");
    let during = scrape(&app);
    assert_eq!(value(&during, "kato_ws_connections", &[]), 1.0);
    assert_eq!(value(&during, "kato_ws_connections_total", &[]), 1.0);
    assert_eq!(
        value(&during, "kato_ws_frames_total", &[("type", "observe")]),
        1.0
    );
    assert_eq!(
        value(&during, "kato_ws_frames_total", &[("type", "hello")]),
        1.0
    );
    for _ in 0..3 {
        socket.send(Message::text("not json")).unwrap();
    }
    assert_eq!(close_code(&mut socket), 4400);
    drop(socket);
    // The close is counted once the connection task ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let after = scrape(&app);
        if value(&after, "kato_ws_closes_total", &[("code", "4400")]) == 1.0 {
            assert_eq!(value(&after, "kato_ws_connections", &[]), 0.0);
            assert_eq!(
                value(&after, "kato_ws_frames_total", &[("type", "non_json")]),
                3.0
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "close 4400 never counted"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
