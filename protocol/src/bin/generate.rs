//! Writes the JS client's generated protocol files (JSON Schema and TypeScript) from the Rust
//! types. Run from anywhere in the workspace: `cargo run -p kato-protocol --bin generate`.

use std::path::Path;

use kato_protocol::generate::{schema_text, typescript, SCHEMA_PATH, TYPESCRIPT_PATH};

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (path, text) in [
        (SCHEMA_PATH, schema_text()),
        (TYPESCRIPT_PATH, typescript()),
    ] {
        let target = root.join(path);
        std::fs::create_dir_all(target.parent().expect("parent"))?;
        std::fs::write(&target, text)?;
        println!("wrote {path}");
    }
    Ok(())
}
