//! The server starts on a free port, answers with a trace id, prints a development token when
//! no key is configured, refuses start-up with an unsupported backend URL, and the `token`
//! sub-command mints tokens for the configured secret.

use kato_e2e::{server_binary, TestApp, TEST_SECRET};

#[test]
fn unknown_route_is_404_with_a_trace_id() {
    let app = TestApp::start();
    let response = app
        .client()
        .get(app.url("/no-such-route"))
        .header("X-Trace-ID", "trace-abc")
        .send()
        .expect("request");
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-trace-id"], "trace-abc");
    let generated = app
        .client()
        .get(app.url("/no-such-route"))
        .send()
        .expect("request");
    assert_eq!(
        generated.headers()["x-trace-id"].len(),
        36,
        "a UUID is generated"
    );
}

#[test]
fn without_a_secret_a_development_token_is_printed() {
    let app = TestApp::builder().without_secret().start();
    let banner = app.banner.join("\n");
    assert!(banner.contains("development token"), "{banner}");
    assert!(banner.contains("dies with this process"), "{banner}");
    let token = app.banner.last().expect("token line");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
}

#[test]
fn unsupported_backend_urls_fail_start_up() {
    let output = std::process::Command::new(server_binary())
        .env("KATO_BIND", "127.0.0.1:0")
        .env("KATO_REDIS_URL", "redis://127.0.0.1:1")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("KATO_REDIS_URL"));
}

#[test]
fn token_subcommand_mints_a_verifiable_token() {
    let output = std::process::Command::new(server_binary())
        .args([
            "token", "--sub", "alice", "--nodes", "a,b", "--scope", "observe",
        ])
        .env("KATO_JWT_SECRET", TEST_SECRET)
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(TEST_SECRET.as_bytes()),
        &validation,
    )
    .expect("valid token");
    assert_eq!(data.claims["sub"], "alice");
    assert_eq!(data.claims["nodes"], serde_json::json!(["a", "b"]));
    assert_eq!(data.claims["scope"], "observe");

    let without_secret = std::process::Command::new(server_binary())
        .args(["token", "--sub", "alice"])
        .env_remove("KATO_JWT_SECRET")
        .output()
        .expect("run");
    assert!(!without_secret.status.success());
}
