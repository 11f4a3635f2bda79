//! Knowledge-base storage: the backend interface ([`KbBackend`]) and the per-node registry
//! ([`KnowledgeBases`]) that keeps each node's in-memory index and makes every change durable
//! before the caller acknowledges it. Backends live one per file; nothing here knows HTTP.

pub mod embedded;
pub mod log;

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rustc_hash::FxHashMap;

use crate::engine::kb::{KbRecord, NodeKb};

/// Longest accepted node id, in bytes.
pub const MAX_NODE_ID_BYTES: usize = 128;

/// A validated node id: 1–128 bytes, no control characters. Nodes never share anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

/// Why a node id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeIdError {
    #[error("node_id must not be empty")]
    Empty,
    #[error("node_id is longer than {MAX_NODE_ID_BYTES} bytes")]
    TooLong,
    #[error("node_id must not contain control characters")]
    ControlCharacter,
}

impl NodeId {
    pub fn parse(raw: &str) -> Result<Self, NodeIdError> {
        if raw.is_empty() {
            return Err(NodeIdError::Empty);
        }
        if raw.len() > MAX_NODE_ID_BYTES {
            return Err(NodeIdError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(NodeIdError::ControlCharacter);
        }
        Ok(NodeId(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Storage failures. Clients see these as `KATO_DATABASE_ERROR` / 503.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("knowledge base of node {node} could not be loaded: {reason}")]
    Load { node: NodeId, reason: String },
    #[error("change to node {node} could not be made durable: {reason}")]
    Persist { node: NodeId, reason: String },
}

/// A durable home for node knowledge bases. `load` rebuilds a node by replaying its records;
/// `persist` returns only once the records are durable (the backend's guarantee, documented per
/// backend). Records of one node are persisted in the order given.
pub trait KbBackend: Send + Sync + 'static {
    fn load(&self, node: &NodeId) -> Result<NodeKb, StoreError>;
    fn persist(&self, node: &NodeId, records: &[KbRecord]) -> Result<(), StoreError>;
    /// Forgets cached handles of the node (after a failure) so the next `load` starts afresh.
    fn reset(&self, node: &NodeId);
    /// Whether anything was ever persisted for the node (reads of a node that does not exist
    /// must not create it).
    fn exists(&self, node: &NodeId) -> bool;
    /// Short backend name for logs and `/status`.
    fn name(&self) -> &'static str;
}

/// One node's in-memory knowledge base. The lock is needed because every session of the node
/// reads it concurrently while learns change it; writers hold it while their records are
/// persisted so the durable order always equals the in-memory order.
pub struct Node {
    id: NodeId,
    kb: RwLock<NodeKb>,
}

impl Node {
    pub fn id(&self) -> &NodeId {
        &self.id
    }

    /// Whether a reader would get the lock at once (no writer holds it right now): callers on
    /// async workers use it to decide whether to read inline or on the blocking pool.
    pub fn readable_now(&self) -> bool {
        self.kb.try_read().is_ok()
    }

    /// Runs `f` with shared access (predictions, reads).
    pub fn read<R>(&self, f: impl FnOnce(&NodeKb) -> R) -> R {
        let kb = self.kb.read().unwrap_or_else(PoisonError::into_inner);
        f(&kb)
    }
}

/// Every node this process has loaded, each loaded lazily from the backend on first use.
pub struct KnowledgeBases {
    backend: Arc<dyn KbBackend>,
    nodes: Mutex<FxHashMap<NodeId, Arc<Node>>>,
    /// One gate per node being loaded: a node loads once, outside the registry lock, so a
    /// large first load never delays lookups of other nodes.
    loading: Mutex<FxHashMap<NodeId, Arc<Mutex<()>>>>,
}

impl KnowledgeBases {
    pub fn new(backend: Arc<dyn KbBackend>) -> Self {
        KnowledgeBases {
            backend,
            nodes: Mutex::new(FxHashMap::default()),
            loading: Mutex::new(FxHashMap::default()),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The node, loading it from the backend if this process has not yet.
    pub fn node(&self, id: &NodeId) -> Result<Arc<Node>, StoreError> {
        if let Some(node) = self.loaded_node(id) {
            return Ok(node);
        }
        let gate = self
            .loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id.clone())
            .or_default()
            .clone();
        let _loading = gate.lock().unwrap_or_else(PoisonError::into_inner);
        // Someone else may have loaded it while this caller waited at the gate.
        if let Some(node) = self.loaded_node(id) {
            return Ok(node);
        }
        let started = std::time::Instant::now();
        let loaded = self.backend.load(id);
        let result = loaded.map(|kb| {
            tracing::info!(
                node = %id,
                patterns = kb.patterns().len(),
                backend = self.backend.name(),
                millis = started.elapsed().as_millis() as u64,
                "node loaded"
            );
            let node = Arc::new(Node {
                id: id.clone(),
                kb: RwLock::new(kb),
            });
            self.nodes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.clone(), node.clone());
            node
        });
        if result.is_ok() {
            // Later callers find the node in the registry. After a failure the gate stays, so
            // callers queued behind it and newcomers still load one at a time.
            self.loading
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id);
        }
        result
    }

    /// The node if this process has already loaded it (never loads).
    pub fn loaded_node(&self, id: &NodeId) -> Option<Arc<Node>> {
        self.nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Runs a read on the node if it exists (loaded here or persisted), else on an empty
    /// knowledge base, without loading or creating anything for a node nobody has written.
    pub fn read_existing<R>(
        &self,
        id: &NodeId,
        f: impl FnOnce(&NodeKb) -> R,
    ) -> Result<R, StoreError> {
        match self.loaded_node(id) {
            Some(node) => Ok(node.read(f)),
            None if self.backend.exists(id) => Ok(self.node(id)?.read(f)),
            None => Ok(f(&NodeKb::new())),
        }
    }

    /// Runs `f` with exclusive access; every record `f` pushes (it has already applied them to
    /// the in-memory knowledge base) is made durable before this returns `Ok`. If persisting
    /// fails, the node is dropped from memory so the next access reloads exactly what is
    /// durable, and the caller must not acknowledge the change.
    pub fn write<R>(
        &self,
        node: &Node,
        f: impl FnOnce(&mut NodeKb, &mut Vec<KbRecord>) -> R,
    ) -> Result<R, StoreError> {
        let mut kb = node.kb.write().unwrap_or_else(PoisonError::into_inner);
        let mut records = Vec::new();
        let result = f(&mut kb, &mut records);
        if records.is_empty() {
            return Ok(result);
        }
        match self.backend.persist(&node.id, &records) {
            Ok(()) => Ok(result),
            Err(error) => {
                tracing::error!(node = %node.id, %error, "persist failed; node will be reloaded");
                drop(kb);
                self.evict(&node.id);
                Err(error)
            }
        }
    }

    fn evict(&self, id: &NodeId) {
        self.nodes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        self.backend.reset(id);
    }

    /// Node ids loaded in this process, sorted.
    pub fn loaded(&self) -> Vec<NodeId> {
        let nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ids: Vec<NodeId> = nodes.keys().cloned().collect();
        ids.sort();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_are_validated() {
        let cases: &[(&str, Result<(), NodeIdError>)] = &[
            ("default", Ok(())),
            ("tenant/a b.c", Ok(())),
            ("ünïcode", Ok(())),
            ("", Err(NodeIdError::Empty)),
            ("a\nb", Err(NodeIdError::ControlCharacter)),
        ];
        for (raw, expected) in cases {
            assert_eq!(NodeId::parse(raw).map(|_| ()), *expected, "{raw:?}");
        }
        assert_eq!(NodeId::parse(&"x".repeat(129)), Err(NodeIdError::TooLong));
        assert!(NodeId::parse(&"x".repeat(128)).is_ok());
    }
}
