//! Authentication end to end (PROTOCOL.md §3, issue 3 item 4): the real server, started with
//! each key configuration (HS256 secret, RS256 PEM key, ES256/RS256 JWKS, API keys, auth
//! disabled), answers a protected route (`POST /sessions`) with the exact status and body for
//! every kind of bad credential, changes nothing when it refuses, and never logs a token.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use kato_e2e::reqwest::blocking::{RequestBuilder, Response};
use kato_e2e::{now, server_binary, token, token_with_secret, Caller, TestApp, TEST_SECRET};
use serde_json::{json, Value};

/// A service key whose SHA-256 (`printf %s KEY | sha256sum`) is in the keys file.
const SERVICE_KEY: &str = "kato-e2e-service-key-0123456789";
const SERVICE_KEY_SHA256: &str = "4cbb605cce8f2a5943f79f9898647b076d638dd51fd7135d28688d5cd9639016";
/// A plaintext key in the file, limited to node `other`.
const LIMITED_KEY: &str = "kato-e2e-limited-key-0123456789";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../server/tests/fixtures")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

fn claims(subject: &str, extra: Value) -> Value {
    let mut claims = json!({"sub": subject, "exp": now() + 3600, "iat": now()});
    if let (Some(c), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    claims
}

fn rs256(kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    let key = EncodingKey::from_rsa_pem(&fixture_bytes("test-only-rsa2048-private.pem"))
        .expect("rsa key");
    encode(&header, claims, &key).expect("sign")
}

fn es256(private_key: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_string);
    let key = EncodingKey::from_ec_pem(&fixture_bytes(private_key)).expect("ec key");
    encode(&header, claims, &key).expect("sign")
}

/// An unsigned token: `{"alg":"none"}`, the claims, an empty signature.
fn alg_none(claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn create(app: &TestApp) -> RequestBuilder {
    app.client()
        .post(app.url("/sessions"))
        .json(&json!({"node_id": "n"}))
}

fn with_token(app: &TestApp, token: &str) -> Response {
    create(app).bearer_auth(token).send().expect("request")
}

fn body(response: Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let trace = response
        .headers()
        .get("x-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.json().unwrap_or(Value::Null);
    (status, trace, body)
}

/// 401 with the upstream-shaped body, the stable reason and the request's trace id.
fn assert_unauthorized(response: Response, reason: &str, detail: &str) {
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.as_bytes()),
        Some(&b"Bearer"[..]),
        "{reason}: WWW-Authenticate"
    );
    let (status, trace, body) = body(response);
    assert_eq!(status, 401, "{reason}: {body}");
    assert_eq!(
        body,
        json!({"detail": detail, "code": "KATO_UNAUTHORIZED", "reason": reason, "trace_id": trace}),
        "{reason}"
    );
}

fn assert_created(response: Response) -> String {
    let (status, _, body) = body(response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["node_id"], "n", "{body}");
    let id = body["session_id"].as_str().unwrap_or_default().to_string();
    assert!(id.starts_with("session-"), "{body}");
    id
}

fn assert_forbidden_node(response: Response) {
    let (status, trace, body) = body(response);
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body,
        json!({"detail": "the credentials do not allow node n", "code": "KATO_FORBIDDEN", "trace_id": trace})
    );
}

fn session_count(app: &TestApp, token: &str) -> u64 {
    Caller::with_token(app, token).session_count()
}

fn assert_log_free_of(app: &TestApp, secrets: &[&str]) {
    let log = app.stderr();
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(
            !log.contains(secret),
            "the server log contains a credential:\n{log}"
        );
        // Nor any of its signature or payload segments.
        for part in secret.split('.').filter(|p| p.len() > 16) {
            assert!(
                !log.contains(part),
                "the server log contains part of a token"
            );
        }
    }
}

#[test]
fn hs256_server_rejects_each_bad_credential_with_its_reason_and_changes_nothing() {
    let app = TestApp::builder()
        .env("KATO_LOG_FILTER", "trace")
        .capture_stderr()
        .start();
    let now = now();
    let expired = token("alice", &json!({"exp": now - 60}));
    let not_yet = token("alice", &json!({"nbf": now + 600}));
    let unsigned = alg_none(&claims("alice", json!({})));
    let other_secret = token_with_secret(b"not-the-server-secret-0123456789", "alice", &json!({}));
    let rsa = rs256(None, &claims("alice", json!({})));
    let no_sub = token_with_secret(TEST_SECRET.as_bytes(), "", &json!({"sub": null}));

    assert_unauthorized(
        create(&app).send().expect("request"),
        "missing_credentials",
        "missing credentials: send Authorization: Bearer <token> or X-API-Key",
    );
    assert_unauthorized(
        create(&app)
            .header("Authorization", "Basic YWxpY2U6c2VjcmV0")
            .send()
            .expect("request"),
        "malformed_header",
        "malformed Authorization header: expected Bearer <token>",
    );
    let malformed =
        "invalid token: not a well-formed JWT (three base64url parts, JSON header and claims)";
    for (bad, reason, detail) in [
        ("garbage", "malformed_token", malformed),
        ("a.b.c", "malformed_token", malformed),
        (expired.as_str(), "token_expired", "token expired"),
        (
            not_yet.as_str(),
            "token_not_yet_valid",
            "token not yet valid",
        ),
        (
            unsigned.as_str(),
            "alg_none",
            "invalid token: unsigned tokens (alg none) are not accepted",
        ),
        (
            other_secret.as_str(),
            "bad_signature",
            "invalid token: the signature does not verify",
        ),
        (
            rsa.as_str(),
            "unexpected_algorithm",
            "invalid token: signed with an algorithm this server does not accept",
        ),
        (
            no_sub.as_str(),
            "missing_sub",
            "invalid token: the sub claim is required",
        ),
    ] {
        assert_unauthorized(with_token(&app, bad), reason, detail);
    }
    assert_unauthorized(
        create(&app)
            .header("X-API-Key", SERVICE_KEY)
            .send()
            .expect("request"),
        "unknown_api_key",
        "unknown API key",
    );
    // Nothing was created by any refusal.
    let counter = token("counter", &json!({}));
    assert_eq!(session_count(&app, &counter), 0);

    let good = token("alice", &json!({"nodes": ["n"]}));
    assert_created(with_token(&app, &good));
    let elsewhere = token("alice", &json!({"nodes": ["other"]}));
    assert_forbidden_node(with_token(&app, &elsewhere));
    assert_eq!(session_count(&app, &counter), 1);

    // The log was captured (the refusals are logged, by reason) ...
    let log = app.stderr();
    assert!(
        log.contains("reason=\"alg_none\"") && log.contains("reason=\"token_expired\""),
        "{log}"
    );
    // ... and holds none of the credentials.
    assert_log_free_of(
        &app,
        &[
            &expired,
            &not_yet,
            &unsigned,
            &other_secret,
            &rsa,
            &good,
            &elsewhere,
            SERVICE_KEY,
        ],
    );
}

#[test]
fn rs256_server_accepts_rs256_tokens_only() {
    let app = TestApp::builder()
        .without_secret()
        .env(
            "KATO_JWT_PUBLIC_KEY",
            fixture("test-only-rsa2048-public.pem")
                .to_str()
                .expect("path"),
        )
        .capture_stderr()
        .env("KATO_LOG_FILTER", "debug")
        .start();
    let banner = app.banner.join("\n");
    assert!(!banner.contains("development token"), "{banner}");

    let good = rs256(None, &claims("alice", json!({})));
    assert_created(with_token(&app, &good));

    let unexpected = "invalid token: signed with an algorithm this server does not accept";
    let hs256 = token("alice", &json!({}));
    assert_unauthorized(with_token(&app, &hs256), "unexpected_algorithm", unexpected);
    // HS256 "signed" with the public key's PEM text, the classic algorithm-confusion attack.
    let confused = token_with_secret(
        &fixture_bytes("test-only-rsa2048-public.pem"),
        "alice",
        &json!({}),
    );
    assert_unauthorized(
        with_token(&app, &confused),
        "unexpected_algorithm",
        unexpected,
    );
    let ec = es256(
        "test-only-ec-p256-private.pem",
        None,
        &claims("alice", json!({})),
    );
    assert_unauthorized(with_token(&app, &ec), "unexpected_algorithm", unexpected);
    assert_unauthorized(
        with_token(&app, &alg_none(&claims("alice", json!({})))),
        "alg_none",
        "invalid token: unsigned tokens (alg none) are not accepted",
    );
    // The claims of a valid token with another subject pasted in: the signature breaks.
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims("mallory", json!({})).to_string());
    assert_unauthorized(
        with_token(&app, &parts.join(".")),
        "bad_signature",
        "invalid token: the signature does not verify",
    );
    assert_unauthorized(
        with_token(
            &app,
            &rs256(None, &claims("alice", json!({"exp": now() - 60}))),
        ),
        "token_expired",
        "token expired",
    );
    assert_eq!(session_count(&app, &good), 1);
    assert_log_free_of(&app, &[&good, &hs256, &confused, &ec]);
}

#[test]
fn jwks_server_selects_the_key_by_kid() {
    let app = TestApp::builder()
        .without_secret()
        .env(
            "KATO_JWT_JWKS_FILE",
            fixture("test-only-jwks.json").to_str().expect("path"),
        )
        .start();
    let c = claims("alice", json!({}));
    assert_created(with_token(
        &app,
        &es256("test-only-ec-p256-private.pem", Some("test-ec-a"), &c),
    ));
    assert_created(with_token(
        &app,
        &es256("test-only-ec-p256-b-private.pem", Some("test-ec-b"), &c),
    ));
    assert_created(with_token(&app, &rs256(Some("test-rsa"), &c)));
    assert_unauthorized(
        with_token(
            &app,
            &es256("test-only-ec-p256-private.pem", Some("rotated-away"), &c),
        ),
        "unknown_kid",
        "invalid token: no key with this kid",
    );
    assert_unauthorized(
        with_token(&app, &es256("test-only-ec-p256-private.pem", None, &c)),
        "missing_kid",
        "invalid token: the token has no kid and the server's key set holds several keys",
    );
    // Signed with key a, naming key b.
    assert_unauthorized(
        with_token(
            &app,
            &es256("test-only-ec-p256-private.pem", Some("test-ec-b"), &c),
        ),
        "bad_signature",
        "invalid token: the signature does not verify",
    );
    assert_unauthorized(
        with_token(&app, &token("alice", &json!({}))),
        "unexpected_algorithm",
        "invalid token: signed with an algorithm this server does not accept",
    );

    // A JWKS with a single key accepts tokens without a kid.
    let single = TestApp::builder()
        .without_secret()
        .env(
            "KATO_JWT_JWKS_FILE",
            fixture("test-only-jwks-single-no-kid.json")
                .to_str()
                .expect("path"),
        )
        .start();
    assert_created(with_token(
        &single,
        &es256("test-only-ec-p256-private.pem", None, &c),
    ));
}

#[test]
fn audience_and_issuer_are_enforced_when_configured() {
    let app = TestApp::builder()
        .env("KATO_JWT_AUDIENCE", "kato-api")
        .env("KATO_JWT_ISSUER", "https://idp.test")
        .start();
    let good = json!({"aud": "kato-api", "iss": "https://idp.test"});
    assert_created(with_token(&app, &token("alice", &good)));
    let audience = "invalid token: the aud claim does not name this server's audience";
    let issuer = "invalid token: the iss claim is not this server's issuer";
    for (extra, reason, detail) in [
        (
            json!({"aud": "other-api", "iss": "https://idp.test"}),
            "bad_audience",
            audience,
        ),
        (json!({"iss": "https://idp.test"}), "bad_audience", audience),
        (
            json!({"aud": "kato-api", "iss": "https://evil.test"}),
            "bad_issuer",
            issuer,
        ),
        (json!({"aud": "kato-api"}), "bad_issuer", issuer),
    ] {
        assert_unauthorized(with_token(&app, &token("alice", &extra)), reason, detail);
    }
}

#[test]
fn nodes_claim_limits_nodes_and_can_be_required() {
    let app = TestApp::builder()
        .env("KATO_REQUIRE_NODES_CLAIM", "true")
        .start();
    assert_unauthorized(
        with_token(&app, &token("alice", &json!({}))),
        "missing_nodes_claim",
        "invalid token: this server requires a nodes claim",
    );
    assert_forbidden_node(with_token(
        &app,
        &token("alice", &json!({"nodes": ["a", "b"]})),
    ));
    assert_created(with_token(
        &app,
        &token("alice", &json!({"nodes": ["a", "n"]})),
    ));
    assert_created(with_token(&app, &token("alice", &json!({"nodes": "*"}))));
}

#[test]
fn api_keys_authenticate_service_accounts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("api-keys.json");
    let file = json!([
        {"key_sha256": SERVICE_KEY_SHA256, "subject": "ingest", "scopes": ["observe", "learn"], "description": "e2e"},
        {"key": LIMITED_KEY, "subject": "limited", "scopes": "observe", "nodes": ["other"]},
    ]);
    std::fs::write(&keys, file.to_string()).expect("write keys");
    let app = TestApp::builder()
        .env("KATO_API_KEYS_FILE", keys.to_str().expect("path"))
        .env("KATO_LOG_FILTER", "debug")
        .capture_stderr()
        .start();
    let id = assert_created(
        create(&app)
            .header("X-API-Key", SERVICE_KEY)
            .send()
            .expect("request"),
    );
    assert_unauthorized(
        create(&app)
            .header("X-API-Key", "kato-e2e-service-key-012345678")
            .send()
            .expect("request"),
        "unknown_api_key",
        "unknown API key",
    );
    // The digest itself is not a key.
    assert_unauthorized(
        create(&app)
            .header("X-API-Key", SERVICE_KEY_SHA256)
            .send()
            .expect("request"),
        "unknown_api_key",
        "unknown API key",
    );
    assert_forbidden_node(
        create(&app)
            .header("X-API-Key", LIMITED_KEY)
            .send()
            .expect("request"),
    );
    // The key's subject owns the session: the same subject by token sees it, another does not.
    let get = |subject: &str| {
        app.as_user(
            kato_e2e::reqwest::Method::GET,
            &format!("/sessions/{id}"),
            subject,
        )
        .send()
        .expect("request")
        .status()
        .as_u16()
    };
    assert_eq!(get("ingest"), 200);
    assert_eq!(get("someone-else"), 403);
    assert_log_free_of(&app, &[SERVICE_KEY, LIMITED_KEY]);
}

#[test]
fn disabled_auth_serves_everyone_anonymously_and_warns() {
    let app = TestApp::builder()
        .without_secret()
        .env("KATO_AUTH", "disabled")
        .capture_stderr()
        .start();
    assert_created(create(&app).send().expect("request"));
    assert_created(with_token(&app, "garbage"));
    let log = app.stderr();
    assert!(log.contains("authentication is DISABLED"), "{log}");
    assert!(!app.banner.join("\n").contains("development token"));
}

/// Runs the binary with `env` and expects it to exit with an error within 30 s; returns stderr.
fn failed_start(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("stderr");
    let mut command = std::process::Command::new(server_binary());
    command
        .args(args)
        .env("KATO_BIND", "127.0.0.1:0")
        .env("KATO_DATA_DIR", dir.path().join("data"))
        .env_remove("KATO_JWT_SECRET")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"));
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kato-server {args:?} with {env:?} kept running; expected it to refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "{args:?} {env:?} succeeded");
    std::fs::read_to_string(log_path).expect("stderr")
}

#[test]
fn unreadable_or_invalid_key_files_stop_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_keys = dir.path().join("keys.json");
    std::fs::write(&bad_keys, r#"[{"key": "short", "subject": "a"}]"#).expect("write");
    let p384 = fixture("test-only-ec-p384-public.pem");
    let private = fixture("test-only-rsa2048-private.pem");
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "KATO_JWT_PUBLIC_KEY",
            "/nonexistent/key.pem",
            &["KATO_JWT_PUBLIC_KEY", "cannot read"],
        ),
        (
            "KATO_JWT_PUBLIC_KEY",
            p384.to_str().expect("path"),
            &["P-384", "only P-256"],
        ),
        (
            "KATO_JWT_PUBLIC_KEY",
            private.to_str().expect("path"),
            &["private key", "-pubout"],
        ),
        (
            "KATO_JWT_JWKS_FILE",
            bad_keys.to_str().expect("path"),
            &["KATO_JWT_JWKS_FILE", "not a JWKS"],
        ),
        (
            "KATO_API_KEYS_FILE",
            bad_keys.to_str().expect("path"),
            &["KATO_API_KEYS_FILE", "entry 0", "16 to"],
        ),
    ];
    for (name, value, expected) in cases {
        let stderr = failed_start(&[], &[(name, value)]);
        for text in expected {
            assert!(
                stderr.contains(text),
                "{name}={value}: {stderr:?} lacks {text:?}"
            );
        }
    }
}

#[test]
fn token_subcommand_refuses_to_mint_for_an_rs256_server() {
    let key = fixture("test-only-rsa2048-public.pem");
    let stderr = failed_start(
        &["token", "--sub", "alice"],
        &[("KATO_JWT_PUBLIC_KEY", key.to_str().expect("path"))],
    );
    assert!(stderr.contains("RS256/ES256"), "{stderr}");
    assert!(stderr.contains("cannot sign"), "{stderr}");
}

#[test]
fn every_surface_reports_the_reason() {
    let app = TestApp::start();
    let unsigned = alg_none(&claims("alice", json!({})));
    // v2: the structured body, the reason in `details`.
    let response = app
        .client()
        .post(app.url("/v2/sessions"))
        .bearer_auth(&unsigned)
        .json(&json!({"node_id": "n"}))
        .send()
        .expect("request");
    let (status, trace, body) = body(response);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["status"], 401);
    assert_eq!(body["error"]["code"], "KATO_UNAUTHORIZED");
    assert_eq!(
        body["error"]["message"],
        "invalid token: unsigned tokens (alg none) are not accepted"
    );
    assert_eq!(
        body["error"]["details"],
        json!({"reason": "alg_none", "trace_id": trace})
    );
    // v1 fallback: the upstream shape, as on the current surface.
    assert_unauthorized(
        app.client().get(app.url("/stm")).send().expect("request"),
        "missing_credentials",
        "missing credentials: send Authorization: Bearer <token> or X-API-Key",
    );
}
