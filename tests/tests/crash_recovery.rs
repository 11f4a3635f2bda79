//! Issue 2 acceptance: learn N patterns, SIGKILL the process right after the last acknowledged
//! learn, restart on the same data directory, and every pattern is there with its frequency.

use kato_e2e::ShellProcess;
use serde_json::json;

const PATTERNS: usize = 60;

#[test]
fn acknowledged_learns_survive_sigkill() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut expected: Vec<(String, u64)> = Vec::new();
    {
        let mut shell = ShellProcess::start(data.path());
        for i in 0..PATTERNS {
            // Every third pattern is learned twice, so frequencies are checked too.
            let times = if i % 3 == 0 { 2 } else { 1 };
            let mut name = String::new();
            for _ in 0..times {
                for symbol in [format!("a{i}"), format!("b{i}"), format!("c{i}")] {
                    let reply = shell.call(json!({"op": "observe", "session": "s", "node": "crash", "strings": [symbol]}));
                    assert_eq!(reply["ok"], true, "{reply}");
                }
                let reply = shell.call(json!({"op": "learn", "session": "s"}));
                assert_eq!(reply["ok"], true, "{reply}");
                name = reply["pattern_name"].as_str().expect("name").to_string();
                assert!(name.starts_with("PTRN|"), "{reply}");
            }
            expected.push((name, times));
        }
        // The last learn was acknowledged: kill without any shutdown.
        shell.kill();
    }

    let mut shell = ShellProcess::start(data.path());
    for (name, frequency) in &expected {
        let reply = shell.call(json!({"op": "pattern", "node": "crash", "name": name}));
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(
            reply["name"],
            json!(name),
            "pattern {name} lost after SIGKILL: {reply}"
        );
        assert_eq!(reply["frequency"], json!(frequency), "{reply}");
    }
    // The restarted process predicts from the recovered knowledge base.
    shell.call(json!({"op": "observe", "session": "t", "node": "crash", "strings": ["a5"]}));
    shell.call(json!({"op": "observe", "session": "t", "strings": ["b5"]}));
    let predictions = shell.call(json!({"op": "predictions", "session": "t"}));
    assert_eq!(
        predictions["predictions"][0]["future"],
        json!([["c5"]]),
        "{predictions}"
    );
    // And a node that was never written stays empty (nodes are isolated).
    let other = shell.call(json!({"op": "pattern", "node": "other", "name": expected[0].0}));
    assert_eq!(other["result"], json!(null), "{other}");
}
