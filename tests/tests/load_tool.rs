//! Smoke test of the load tool (`kato-load`, `load/`) against the real server: seeding, a short
//! flat-out observe run, the echo baseline and the idle-memory mode each complete with round
//! trips and no errors, and a non-loopback target is refused before any connection. Speed is
//! never asserted (the benchmarks in the README report it).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use kato_e2e::{build_binary, TestApp, TEST_SECRET};
use serde_json::Value;

/// The `kato-load` binary, built once with the cargo running the tests.
fn load_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| build_binary("kato-load", "kato-load"))
        .clone()
}

fn kato_load(app: &TestApp, args: &[&str]) -> Output {
    Command::new(load_binary())
        .arg("--url")
        .arg(&app.base_url)
        .args(["--json", "--threads", "1"])
        .args(args)
        .env("KATO_LOAD_SECRET", TEST_SECRET)
        .output()
        .expect("run kato-load")
}

/// Runs `kato-load` and parses its JSON report; fails with its stderr if it failed.
fn report(app: &TestApp, args: &[&str]) -> Value {
    let output = kato_load(app, args);
    assert!(
        output.status.success(),
        "kato-load {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "kato-load printed no JSON report ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A server whose rate limits cannot refuse a flat-out run of a few connections.
fn app() -> TestApp {
    TestApp::builder()
        .env("KATO_DEV_ECHO", "true")
        .env("KATO_RATE_SESSION_PER_SECOND", "100000")
        .env("KATO_RATE_SESSION_BURST", "100000")
        .env("KATO_RATE_SUBJECT_PER_SECOND", "100000")
        .env("KATO_RATE_SUBJECT_BURST", "100000")
        .start()
}

#[test]
fn seeds_then_observes_flat_out_without_errors() {
    let app = app();
    let run = report(
        &app,
        &[
            "--node",
            "smoke",
            "--seed-patterns",
            "40",
            "--seed-connections",
            "4",
            "-c",
            "4",
            "--warmup",
            "0.5",
            "-d",
            "2",
        ],
    );
    assert_eq!(run["seeding"]["patterns"], 40, "{run}");
    assert_eq!(run["seeding"]["node"], "smoke");
    assert_eq!(run["run"]["mode"], "observe");
    assert_eq!(run["run"]["connected"], 4);
    assert_eq!(run["errors"], serde_json::json!({}), "{run}");
    assert!(run["round_trips"].as_u64().unwrap() > 0, "{run}");
    assert!(run["throughput_per_s"].as_f64().unwrap() > 0.0);
    let latency = &run["latency_us"];
    for key in ["p50", "p90", "p99", "max"] {
        assert!(latency[key].as_u64().unwrap() > 0, "{key}: {run}");
    }
    assert!(latency["p50"].as_u64() <= latency["p99"].as_u64());
    // The server reported its engine time in every reply.
    assert!(run["server_elapsed_us"]["p50"].as_u64().is_some(), "{run}");
    // The seeded patterns are really there: predictions were returned (replies are far larger
    // than an empty predictions frame).
    assert!(run["reply_bytes_mean"].as_u64().unwrap() > 300, "{run}");

    // The same connections against the echo endpoint: same request frames, echoed back.
    let echo = report(
        &app,
        &["--mode", "echo", "-c", "4", "--warmup", "0.2", "-d", "1"],
    );
    assert_eq!(echo["run"]["mode"], "echo");
    assert_eq!(echo["errors"], serde_json::json!({}), "{echo}");
    assert!(echo["round_trips"].as_u64().unwrap() > 0);
    assert_eq!(echo["request_bytes_mean"], echo["reply_bytes_mean"]);
}

#[test]
fn idle_mode_reads_the_server_rss() {
    let app = app();
    let pid = app.pid().to_string();
    let idle = report(
        &app,
        &[
            "--mode",
            "idle",
            "-c",
            "8",
            "--settle",
            "0.5",
            "--server-pid",
            &pid,
        ],
    );
    assert_eq!(idle["run"]["connected"], 8, "{idle}");
    assert_eq!(idle["setup_errors"], serde_json::json!({}));
    assert_eq!(idle["closed_by_server_while_idle"], 0);
    assert!(idle["rss_before_bytes"].as_u64().unwrap() > 0);
    assert!(idle["rss_after_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn refuses_remote_targets_and_bad_credentials() {
    let app = app();
    let output = Command::new(load_binary())
        .args(["--url", "ws://192.0.2.1:8000", "-d", "1"])
        .env("KATO_LOAD_SECRET", TEST_SECRET)
        .output()
        .expect("run kato-load");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("only loopback targets"), "{stderr}");

    // A wrong secret: every hello is refused, and the tool says so instead of measuring.
    let output = Command::new(load_binary())
        .args(["--url", &app.base_url, "-c", "2", "-d", "1", "--json"])
        .env("KATO_LOAD_SECRET", "not-the-server-secret")
        .output()
        .expect("run kato-load");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no connection could be opened"), "{stderr}");
    // The upgrade carried the bad token: the server answers in-band and closes 4001.
    assert!(stderr.contains("setup:close:4001"), "{stderr}");
}
