//! `kato-server`: for now the engine shell over the embedded store (see README).

use std::path::PathBuf;
use std::sync::Arc;

use kato_server::shell::Shell;
use kato_server::store::embedded::EmbeddedBackend;
use kato_server::store::log::LogOptions;
use kato_server::store::KnowledgeBases;

fn main() -> std::io::Result<()> {
    let data_dir =
        PathBuf::from(std::env::var("KATO_DATA_DIR").unwrap_or_else(|_| "kato-data".into()));
    let backend = EmbeddedBackend::open(&data_dir, LogOptions::default())?;
    eprintln!(
        "kato-server engine shell: knowledge bases in {} (fsync per learn). One JSON command per line, e.g.\n  {{\"op\":\"observe\",\"session\":\"s1\",\"node\":\"demo\",\"strings\":[\"hello\"]}}\n  {{\"op\":\"learn\",\"session\":\"s1\"}}  {{\"op\":\"predictions\",\"session\":\"s1\"}}",
        data_dir.display()
    );
    let kbs = Arc::new(KnowledgeBases::new(Arc::new(backend)));
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    Shell::new(kbs).run(stdin.lock(), stdout.lock())
}
