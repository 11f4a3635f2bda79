//! Session ids: `session-<32 hex>-<epoch ms>` as upstream, unguessable (UUID v4).

use std::time::{SystemTime, UNIX_EPOCH};

/// Longest session id accepted from a client, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub fn generate(now: SystemTime) -> Self {
        let millis = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        SessionId(format!(
            "session-{}-{millis}",
            uuid::Uuid::new_v4().simple()
        ))
    }

    /// A client-supplied id: non-empty, at most 128 bytes, visible ASCII only. Anything else
    /// cannot name a session, so lookups can answer "not found" without touching the table.
    pub fn is_plausible(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= MAX_SESSION_ID_BYTES
            && raw.bytes().all(|b| b.is_ascii_graphic())
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_upstream_shape_and_differ() {
        let a = SessionId::generate(SystemTime::now()).into_string();
        let b = SessionId::generate(SystemTime::now()).into_string();
        assert_ne!(a, b);
        let parts: Vec<&str> = a.splitn(3, '-').collect();
        assert_eq!(parts[0], "session");
        assert_eq!(parts[1].len(), 32);
        assert!(parts[2].parse::<u128>().is_ok());
        assert!(SessionId::is_plausible(&a));
        assert!(!SessionId::is_plausible(""));
        assert!(!SessionId::is_plausible("a b"));
    }
}
