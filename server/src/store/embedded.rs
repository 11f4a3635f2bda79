//! The embedded backend: one append-only [`RecordLog`] per node under the data directory. Each
//! persisted change is one log record holding a JSON array of [`KbRecord`]s, so a multi-record
//! change (a vector and an auto-learn) is atomic on replay. Appends are group-committed and
//! fdatasync'ed before `persist` returns (with the default `SyncPolicy::Always`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;

use super::log::{DamageKind, LogOptions, RecordLog, ReplayError};
use super::{KbBackend, NodeId, StoreError};
use crate::engine::kb::{KbRecord, NodeKb};

/// Node logs live in `<data_dir>/nodes/<escaped node id>.kblog`.
pub struct EmbeddedBackend {
    nodes_dir: PathBuf,
    options: LogOptions,
    logs: Mutex<FxHashMap<NodeId, Arc<RecordLog>>>,
}

impl EmbeddedBackend {
    /// Creates the data directory if needed.
    pub fn open(data_dir: &Path, options: LogOptions) -> std::io::Result<Self> {
        let nodes_dir = data_dir.join("nodes");
        std::fs::create_dir_all(&nodes_dir)?;
        Ok(EmbeddedBackend {
            nodes_dir,
            options,
            logs: Mutex::new(FxHashMap::default()),
        })
    }

    fn path_of(&self, node: &NodeId) -> PathBuf {
        self.nodes_dir
            .join(format!("{}.kblog", escape_file_name(node.as_str())))
    }

    fn log_of(&self, node: &NodeId) -> Option<Arc<RecordLog>> {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(node)
            .cloned()
    }
}

/// Escapes a node id into a file name: bytes outside `[A-Za-z0-9_-]` become `%XX`, so every
/// node id maps to its own file and no id can climb out of the directory.
pub fn escape_file_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl KbBackend for EmbeddedBackend {
    fn load(&self, node: &NodeId) -> Result<NodeKb, StoreError> {
        let path = self.path_of(node);
        let mut kb = NodeKb::new();
        let load_error = |reason: String| StoreError::Load {
            node: node.clone(),
            reason,
        };
        let (log, report) = RecordLog::open(&path, self.options, |_, payload| {
            let records: Vec<KbRecord> =
                serde_json::from_slice(payload).map_err(|e| Box::new(e) as ReplayError)?;
            for record in &records {
                kb.apply(record);
            }
            Ok(())
        })
        .map_err(|e| load_error(e.to_string()))?;
        if let Some(damage) = report.damage {
            match damage.kind {
                DamageKind::TornTail => tracing::warn!(
                    node = %node, bytes = damage.bytes_dropped,
                    "dropped an incomplete record at the end of the node log (never acknowledged)"
                ),
                DamageKind::MidLogCorruption => tracing::error!(
                    node = %node, offset = damage.offset, bytes = damage.bytes_dropped,
                    "node log was damaged; records after the damage were dropped"
                ),
            }
        }
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node.clone(), Arc::new(log));
        Ok(kb)
    }

    fn persist(&self, node: &NodeId, records: &[KbRecord]) -> Result<(), StoreError> {
        let persist_error = |reason: String| StoreError::Persist {
            node: node.clone(),
            reason,
        };
        let log = self
            .log_of(node)
            .ok_or_else(|| persist_error("node log is not open".to_string()))?;
        let payload = serde_json::to_vec(records).map_err(|e| persist_error(e.to_string()))?;
        log.append(&payload)
            .map(|_| ())
            .map_err(|e| persist_error(e.to_string()))
    }

    fn reset(&self, node: &NodeId) {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(node);
    }

    fn exists(&self, node: &NodeId) -> bool {
        self.log_of(node).is_some() || self.path_of(node).exists()
    }

    fn name(&self) -> &'static str {
        "embedded"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::observation::Event;
    use crate::store::KnowledgeBases;

    fn learn(events: &[&[&str]]) -> KbRecord {
        KbRecord::Learn {
            events: events
                .iter()
                .map(|e| e.iter().map(|s| s.to_string()).collect::<Event>())
                .collect(),
            emotives: Vec::new(),
            metadata: Default::default(),
            persistence: 5,
        }
    }

    #[test]
    fn file_names_are_escaped_and_distinct() {
        let cases = [
            ("default", "default"),
            ("a/b", "a%2Fb"),
            ("..", "%2E%2E"),
            ("a b", "a%20b"),
            ("é", "%C3%A9"),
        ];
        for (raw, expected) in cases {
            assert_eq!(escape_file_name(raw), expected);
        }
    }

    #[test]
    fn records_survive_reopen_and_nodes_are_isolated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = NodeId::parse("a").expect("id");
        let b = NodeId::parse("b").expect("id");
        {
            let backend =
                Arc::new(EmbeddedBackend::open(dir.path(), LogOptions::default()).expect("open"));
            let kbs = KnowledgeBases::new(backend);
            let node = kbs.node(&a).expect("node a");
            for _ in 0..2 {
                kbs.write(&node, |kb, records| {
                    let record = learn(&[&["x"], &["y"]]);
                    kb.apply(&record);
                    records.push(record);
                })
                .expect("persist");
            }
            let node_b = kbs.node(&b).expect("node b");
            kbs.write(&node_b, |kb, records| {
                for record in [
                    learn(&[&["p", "q"]]),
                    KbRecord::ClearAll,
                    learn(&[&["r"], &["s"]]),
                ] {
                    kb.apply(&record);
                    records.push(record);
                }
            })
            .expect("persist");
        }
        let backend =
            Arc::new(EmbeddedBackend::open(dir.path(), LogOptions::default()).expect("open"));
        let kbs = KnowledgeBases::new(backend);
        let node = kbs.node(&a).expect("node a");
        node.read(|kb| {
            assert_eq!(kb.patterns().len(), 1);
            assert_eq!(kb.patterns()[0].frequency, 2);
            assert!(
                kb.symbol_by_name("r").is_none(),
                "node b's symbols never reach node a"
            );
        });
        let node_b = kbs.node(&b).expect("node b");
        node_b.read(|kb| {
            assert_eq!(kb.patterns().len(), 1, "clear-all replayed in order");
            assert!(kb.symbol_by_name("p").is_none());
            assert_eq!(kb.totals().total_unique_patterns, 1);
        });
    }

    #[test]
    fn reading_an_unknown_node_creates_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend =
            Arc::new(EmbeddedBackend::open(dir.path(), LogOptions::default()).expect("open"));
        let kbs = KnowledgeBases::new(backend);
        let ghost = NodeId::parse("never-written").expect("id");
        let patterns = kbs
            .read_existing(&ghost, |kb| kb.patterns().len())
            .expect("read");
        assert_eq!(patterns, 0);
        assert!(kbs.loaded().is_empty(), "not loaded");
        let files = std::fs::read_dir(dir.path().join("nodes"))
            .expect("dir")
            .count();
        assert_eq!(files, 0, "no log file created");

        let real = NodeId::parse("real").expect("id");
        let node = kbs.node(&real).expect("node");
        kbs.write(&node, |kb, records| {
            let record = learn(&[&["x"], &["y"]]);
            kb.apply(&record);
            records.push(record);
        })
        .expect("persist");
        assert_eq!(
            kbs.read_existing(&real, |kb| kb.patterns().len())
                .expect("read"),
            1
        );
    }
}
