//! Each v1 caller's default session: a bounded map from (caller, node) to a session id,
//! recreated when the session it names has expired or was deleted. It only remembers ids; the
//! session service owns the sessions and must never be called back from here.

use std::sync::{Mutex, PoisonError};

use indexmap::IndexMap;

/// Most remembered default sessions (the server's default session capacity: an entry only
/// matters while its session is alive).
pub const DEFAULT_SESSIONS_CAPACITY: usize = 100_000;

/// (caller key, node) → session id, oldest first. A lock is needed because every v1 request
/// looks its caller up; it is held for the lookup and, on first use, for the creation of the
/// session, so two concurrent first requests of one caller get the same session.
pub struct DefaultSessions {
    capacity: usize,
    entries: Mutex<IndexMap<(String, String), String>>,
}

impl Default for DefaultSessions {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_SESSIONS_CAPACITY)
    }
}

impl DefaultSessions {
    pub fn with_capacity(capacity: usize) -> Self {
        DefaultSessions {
            capacity: capacity.max(1),
            entries: Mutex::new(IndexMap::new()),
        }
    }

    /// Remembered entries (live or not).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexMap<(String, String), String>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caller's session on `node` if `is_live` still says so, else a new one from
    /// `create`. Returns the id and whether it was just created. When the map is full, entries
    /// of dead sessions go first, then the oldest tenth (their sessions live on until their TTL;
    /// the callers get a new default session on their next call).
    pub fn get_or_create<E>(
        &self,
        caller: &str,
        node: &str,
        is_live: impl Fn(&str) -> bool,
        create: impl FnOnce() -> Result<String, E>,
    ) -> Result<(String, bool), E> {
        let key = (caller.to_string(), node.to_string());
        let mut entries = self.lock();
        if let Some(id) = entries.get(&key) {
            if is_live(id) {
                return Ok((id.clone(), false));
            }
            entries.shift_remove(&key);
        }
        let id = create()?;
        if entries.len() >= self.capacity {
            entries.retain(|_, id| is_live(id));
            if entries.len() >= self.capacity {
                let keep = self.capacity - self.capacity / 10 - 1;
                let excess = entries.len() - keep.min(entries.len());
                entries.drain(..excess);
            }
        }
        entries.insert(key, id.clone());
        Ok((id, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashSet;

    #[test]
    fn one_session_per_caller_and_node_recreated_when_dead() {
        let defaults = DefaultSessions::with_capacity(10);
        let live: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
        let counter = RefCell::new(0);
        let get = |caller: &str, node: &str| {
            defaults
                .get_or_create::<()>(
                    caller,
                    node,
                    |id| live.borrow().contains(id),
                    || {
                        *counter.borrow_mut() += 1;
                        let id = format!("s{}", counter.borrow());
                        live.borrow_mut().insert(id.clone());
                        Ok(id)
                    },
                )
                .unwrap()
        };
        assert_eq!(get("alice", "default"), ("s1".to_string(), true));
        assert_eq!(get("alice", "default"), ("s1".to_string(), false));
        assert_eq!(get("bob", "default"), ("s2".to_string(), true));
        assert_eq!(get("alice", "other"), ("s3".to_string(), true));
        live.borrow_mut().remove("s1");
        assert_eq!(get("alice", "default"), ("s4".to_string(), true));
        assert_eq!(defaults.len(), 3);
    }

    #[test]
    fn stays_bounded_dropping_dead_entries_then_the_oldest() {
        let defaults = DefaultSessions::with_capacity(10);
        let mut n = 0;
        for i in 0..100 {
            let caller = format!("c{i}");
            defaults
                .get_or_create::<()>(
                    &caller,
                    "n",
                    |_| true,
                    || {
                        n += 1;
                        Ok(format!("s{n}"))
                    },
                )
                .unwrap();
            assert!(defaults.len() <= 10);
        }
        // The newest caller is remembered, the oldest forgotten.
        let (id, created) = defaults
            .get_or_create::<()>("c99", "n", |_| true, || Ok("new".into()))
            .unwrap();
        assert_eq!((id.as_str(), created), ("s100", false));
        let (_, created) = defaults
            .get_or_create::<()>("c0", "n", |_| true, || Ok("new".into()))
            .unwrap();
        assert!(created);
        // Dead entries are dropped before live ones.
        let dead = DefaultSessions::with_capacity(3);
        for caller in ["a", "b", "c"] {
            dead.get_or_create::<()>(caller, "n", |_| true, || Ok(caller.to_string()))
                .unwrap();
        }
        dead.get_or_create::<()>("d", "n", |id| id != "b", || Ok("d".into()))
            .unwrap();
        let (_, created) = dead
            .get_or_create::<()>("a", "n", |_| true, || Ok("again".into()))
            .unwrap();
        assert!(!created, "a live entry was kept");
    }

    #[test]
    fn a_failed_creation_remembers_nothing() {
        let defaults = DefaultSessions::with_capacity(2);
        let result = defaults.get_or_create("a", "n", |_| true, || Err("capacity"));
        assert_eq!(result, Err("capacity"));
        assert!(defaults.is_empty());
    }
}
