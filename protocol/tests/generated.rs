//! The committed JS client files must be what the Rust types generate now.

use std::path::Path;

use kato_protocol::generate::{schema_text, typescript, SCHEMA_PATH, TYPESCRIPT_PATH};

#[test]
fn committed_generated_files_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (path, expected) in [
        (SCHEMA_PATH, schema_text()),
        (TYPESCRIPT_PATH, typescript()),
    ] {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(
            committed == expected,
            "{path} is stale: the protocol types changed. Regenerate with \
             `cargo run -p kato-protocol --bin generate` and commit the result."
        );
    }
}
