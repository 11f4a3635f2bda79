//! API keys for service accounts (PROTOCOL.md §3): a JSON file maps each key, stored as its
//! SHA-256 digest (or, discouraged, in plain text), to a subject, scopes and nodes. Presented
//! keys are hashed and compared in constant time; no key or digest is ever logged.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::jwt::{node_access, MAX_SUBJECT_BYTES};
use super::{AuthError, Principal, Scope};

/// Largest API-keys file read.
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Longest key accepted in `X-API-Key` (longer ones are rejected without hashing).
pub const MAX_KEY_BYTES: usize = 1024;
/// Shortest plaintext key accepted in the file: shorter keys are guessable.
pub const MIN_PLAINTEXT_KEY_BYTES: usize = 16;

/// One entry of the file. Exactly one of `key` and `key_sha256`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    /// The key itself (discouraged: the file then holds a secret).
    #[serde(default)]
    key: Option<String>,
    /// Lower- or upper-case hex SHA-256 of the key's UTF-8 bytes (`printf %s KEY | sha256sum`).
    #[serde(default)]
    key_sha256: Option<String>,
    subject: String,
    /// A list of scope names or one space-separated string; absent: `observe learn watch`,
    /// as for a token without a `scope` claim.
    #[serde(default)]
    scopes: Option<Value>,
    /// Node ids or `"*"`; absent: any node (refused when `require_nodes_claim` is on).
    #[serde(default)]
    nodes: Option<Value>,
    /// Free text for operators (who holds the key); ignored.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

struct Entry {
    digest: [u8; 32],
    principal: Principal,
}

/// The configured API keys. May be empty (no file configured).
#[derive(Default)]
pub struct ApiKeys {
    entries: Vec<Entry>,
}

impl ApiKeys {
    /// Loads and validates the file; any problem is a start-up error naming the entry.
    pub fn load(path: &Path, require_nodes: bool) -> Result<ApiKeys, String> {
        let shown = path.display();
        let prefix = format!("api_keys_file (KATO_API_KEYS_FILE) {shown}");
        let meta = std::fs::metadata(path).map_err(|e| format!("{prefix}: cannot read: {e}"))?;
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            return Err(format!(
                "{prefix}: not a regular file of at most {MAX_FILE_BYTES} bytes"
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{prefix}: cannot read: {e}"))?;
        Self::parse(&bytes, require_nodes).map_err(|e| format!("{prefix}: {e}"))
    }

    pub fn parse(bytes: &[u8], require_nodes: bool) -> Result<ApiKeys, String> {
        // Errors from serde would quote the offending value, which may be a key: say less.
        let records: Vec<Value> = serde_json::from_slice(bytes)
            .map_err(|e| format!("expected a JSON list of key entries (line {})", e.line()))?;
        let mut entries: Vec<Entry> = Vec::with_capacity(records.len());
        for (index, raw) in records.into_iter().enumerate() {
            let record: Record = serde_json::from_value(raw).map_err(|e| {
                let what = e.to_string();
                // Field names are safe to show; values are not.
                let hint = if what.contains("unknown field") || what.contains("missing field") {
                    what.split(", expected").next().unwrap_or("").to_string()
                } else {
                    "wrong field types".to_string()
                };
                format!("entry {index}: {hint} (fields: key or key_sha256, subject, scopes, nodes, description)")
            })?;
            let entry = entry(record, require_nodes).map_err(|e| format!("entry {index}: {e}"))?;
            if entries
                .iter()
                .any(|e| bool::from(e.digest.ct_eq(&entry.digest)))
            {
                return Err(format!("entry {index}: the same key appears twice"));
            }
            entries.push(entry);
        }
        Ok(ApiKeys { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal of a presented key. Every entry is compared (in constant time), so the
    /// time taken does not depend on which entry, if any, matches.
    pub fn authenticate(&self, key: &str) -> Result<Principal, AuthError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(AuthError::UnknownApiKey);
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut found: Option<&Entry> = None;
        for entry in &self.entries {
            if bool::from(entry.digest.ct_eq(&digest)) {
                found = Some(entry);
            }
        }
        found
            .map(|e| e.principal.clone())
            .ok_or(AuthError::UnknownApiKey)
    }
}

fn entry(record: Record, require_nodes: bool) -> Result<Entry, String> {
    let digest = match (&record.key, &record.key_sha256) {
        (Some(key), None) => {
            if key.len() < MIN_PLAINTEXT_KEY_BYTES || key.len() > MAX_KEY_BYTES {
                return Err(format!(
                    "\"key\" must be {MIN_PLAINTEXT_KEY_BYTES} to {MAX_KEY_BYTES} bytes"
                ));
            }
            Sha256::digest(key.as_bytes()).into()
        }
        (None, Some(hex)) => hex_digest(hex)
            .ok_or("\"key_sha256\" must be 64 hex digits (the SHA-256 of the key)")?,
        _ => return Err("give exactly one of \"key\" and \"key_sha256\"".into()),
    };
    let subject = record.subject;
    if subject.is_empty()
        || subject.len() > MAX_SUBJECT_BYTES
        || subject.chars().any(char::is_control)
    {
        return Err(format!(
            "\"subject\" must be 1 to {MAX_SUBJECT_BYTES} bytes without control characters"
        ));
    }
    let scopes = match &record.scopes {
        None => Scope::default_set(),
        Some(Value::String(raw)) => strict_scopes(raw.split_whitespace())?,
        Some(Value::Array(list)) => {
            let names: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
            strict_scopes(names.ok_or("\"scopes\" must be a list of scope names")?)?
        }
        Some(_) => return Err("\"scopes\" must be a list of scope names".into()),
    };
    let nodes =
        node_access(record.nodes.as_ref(), require_nodes).map_err(|e| match e.reason() {
            "missing_nodes_claim" => {
                "\"nodes\" is required (require_nodes_claim is on)".to_string()
            }
            _ => "\"nodes\" must be a list of node ids or \"*\"".to_string(),
        })?;
    Ok(Entry {
        digest,
        principal: Principal {
            subject,
            scopes,
            nodes,
            session: None,
            expires_at: None,
        },
    })
}

/// Unlike a token's `scope` claim, an unknown scope here is an operator's typo: refuse it.
fn strict_scopes<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<BTreeSet<Scope>, String> {
    names
        .into_iter()
        .map(|name| {
            Scope::parse(name)
                .ok_or_else(|| format!("unknown scope {name:?} (observe, learn, watch, admin)"))
        })
        .collect()
}

fn hex_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::super::NodeAccess;
    use super::*;

    const KEY: &str = "kato-test-api-key-0123456789";

    fn sha256_hex(key: &str) -> String {
        Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn hashed_and_plaintext_keys_map_to_their_principal() {
        let file = format!(
            r#"[
              {{"key_sha256": "{}", "subject": "svc-a", "scopes": ["observe", "learn"], "nodes": ["n1"], "description": "ingest job"}},
              {{"key_sha256": "{}", "subject": "svc-b", "scopes": "watch admin", "nodes": "*"}},
              {{"key": "plain-text-key-0123456789", "subject": "svc-c"}}
            ]"#,
            sha256_hex(KEY),
            sha256_hex("second-key-abcdefghijkl").to_uppercase(),
        );
        let keys = ApiKeys::parse(file.as_bytes(), false).expect("valid file");
        assert_eq!(keys.len(), 3);
        let a = keys.authenticate(KEY).expect("svc-a");
        assert_eq!(a.subject, "svc-a");
        assert_eq!(a.scopes, [Scope::Observe, Scope::Learn].into());
        assert_eq!(a.nodes, NodeAccess::Only(["n1".to_string()].into()));
        assert_eq!(a.expires_at, None);
        let b = keys.authenticate("second-key-abcdefghijkl").expect("svc-b");
        assert_eq!((b.subject.as_str(), b.nodes), ("svc-b", NodeAccess::Any));
        assert_eq!(b.scopes, [Scope::Watch, Scope::Admin].into());
        let c = keys
            .authenticate("plain-text-key-0123456789")
            .expect("svc-c");
        assert_eq!(c.scopes, Scope::default_set());
        for wrong in [
            "",
            "kato-test-api-key-012345678",
            "KATO-TEST-API-KEY-0123456789",
            &sha256_hex(KEY),
        ] {
            assert_eq!(
                keys.authenticate(wrong),
                Err(AuthError::UnknownApiKey),
                "{wrong}"
            );
        }
        assert_eq!(
            keys.authenticate(&"k".repeat(MAX_KEY_BYTES + 1)),
            Err(AuthError::UnknownApiKey)
        );
    }

    #[test]
    fn file_problems_are_start_up_errors_without_the_key() {
        let hash = sha256_hex(KEY);
        let cases = [
            ("{}".to_string(), "expected a JSON list"),
            (r#"[{"subject": "a"}]"#.to_string(), "exactly one of"),
            (
                format!(r#"[{{"key": "{KEY}", "key_sha256": "{hash}", "subject": "a"}}]"#),
                "exactly one of",
            ),
            (r#"[{"key": "short", "subject": "a"}]"#.to_string(), "16 to"),
            (
                r#"[{"key_sha256": "abc", "subject": "a"}]"#.to_string(),
                "64 hex digits",
            ),
            (
                format!(
                    r#"[{{"key_sha256": "{}", "subject": "a"}}]"#,
                    "z".repeat(64)
                ),
                "64 hex digits",
            ),
            (
                format!(r#"[{{"key_sha256": "{hash}", "subject": ""}}]"#),
                "\"subject\"",
            ),
            (
                format!(
                    r#"[{{"key_sha256": "{hash}", "subject": "a", "scopes": ["observe", "obsrve"]}}]"#
                ),
                "unknown scope \"obsrve\"",
            ),
            (
                format!(r#"[{{"key_sha256": "{hash}", "subject": "a", "nodes": "n1"}}]"#),
                "\"nodes\" must be",
            ),
            (
                format!(r#"[{{"key_sha256": "{hash}", "subject": "a", "scope": "observe"}}]"#),
                "unknown field `scope`",
            ),
            (
                format!(r#"[{{"key": "{KEY}", "subject": 5}}]"#),
                "wrong field types",
            ),
            (
                format!(
                    r#"[{{"key": "{KEY}", "subject": "a"}}, {{"key_sha256": "{hash}", "subject": "b"}}]"#
                ),
                "entry 1: the same key appears twice",
            ),
        ];
        for (file, expected) in cases {
            match ApiKeys::parse(file.as_bytes(), false) {
                Ok(_) => panic!("accepted {file}"),
                Err(e) => {
                    assert!(e.contains(expected), "{file}: {e:?} lacks {expected:?}");
                    assert!(!e.contains(KEY), "the error quotes the key: {e}");
                }
            }
        }
        let no_nodes = format!(r#"[{{"key_sha256": "{hash}", "subject": "a"}}]"#);
        let error = ApiKeys::parse(no_nodes.as_bytes(), true)
            .err()
            .expect("nodes required");
        assert!(error.contains("require_nodes_claim"), "{error}");
    }

    #[test]
    fn a_missing_file_names_the_setting() {
        let error = ApiKeys::load(Path::new("/nonexistent/keys.json"), false)
            .err()
            .expect("missing");
        assert!(
            error.starts_with(
                "api_keys_file (KATO_API_KEYS_FILE) /nonexistent/keys.json: cannot read"
            ),
            "{error}"
        );
    }
}
