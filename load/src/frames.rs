//! The frames the load tool sends (built from `kato_protocol`'s `ClientFrame`, so they cannot
//! drift from the server's parser) and a light reading of replies: only `type`, `id`, `code`,
//! `elapsed_us` and `retry_after_ms` are decoded, the rest is skipped, so the client spends as
//! little of the shared CPU as it can. Never panics on a reply it does not understand.

use anyhow::Context;
use kato_protocol::client::{ClearStm, ClientFrame, Hello, Learn, Observe, SessionConfig};
use serde::Deserialize;

use crate::workload::Event;

pub fn encode(frame: &ClientFrame) -> anyhow::Result<String> {
    serde_json::to_string(frame).context("encoding a frame")
}

pub fn hello(id: u64, node_id: &str, config: Option<SessionConfig>) -> ClientFrame {
    ClientFrame::Hello(Hello {
        id,
        token: None,
        api_key: None,
        session_id: None,
        node_id: Some(node_id.to_string()),
        config,
        ttl_seconds: None,
        resume: None,
    })
}

pub fn observe(id: u64, event: &Event) -> ClientFrame {
    ClientFrame::Observe(Observe {
        id,
        strings: Some(event.clone()),
        vectors: None,
        emotives: None,
        metadata: None,
        unique_id: None,
    })
}

pub fn learn(id: u64) -> ClientFrame {
    ClientFrame::Learn(Learn { id })
}

pub fn clear_stm(id: u64) -> ClientFrame {
    ClientFrame::ClearStm(ClearStm { id })
}

/// The fields of a server frame the load tool looks at.
#[derive(Debug, Deserialize)]
pub struct Reply {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<u64>,
    /// `error` frames: the error code (kept as text so unknown codes are still counted).
    #[serde(default)]
    pub code: Option<String>,
    /// `predictions` frames: the server's engine time.
    #[serde(default)]
    pub elapsed_us: Option<u64>,
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
    /// `learned` frames.
    #[serde(default)]
    pub pattern_name: Option<String>,
}

impl Reply {
    /// Reads a text frame; `None` when it is not a JSON object with a `type`.
    pub fn parse(text: &str) -> Option<Reply> {
        serde_json::from_str(text).ok()
    }

    pub fn is_error(&self) -> bool {
        self.kind == "error"
    }

    /// The error code, or a label for an error frame without one.
    pub fn error_code(&self) -> String {
        self.code.clone().unwrap_or_else(|| "error".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_what_the_server_parses() {
        let text = encode(&observe(5, &vec!["a".into(), "b".into()])).unwrap();
        assert_eq!(text, r#"{"type":"observe","id":5,"strings":["a","b"]}"#);
        let text = encode(&hello(1, "n1", None)).unwrap();
        assert_eq!(text, r#"{"type":"hello","id":1,"node_id":"n1"}"#);
        assert_eq!(
            encode(&clear_stm(2)).unwrap(),
            r#"{"type":"clear_stm","id":2}"#
        );
        assert_eq!(encode(&learn(3)).unwrap(), r#"{"type":"learn","id":3}"#);
    }

    #[test]
    fn replies_are_read_lightly() {
        let reply = Reply::parse(
            r#"{"type":"predictions","id":9,"predictions":[{"name":"x","future":[["a"]]}],"elapsed_us":412,"offset":0}"#,
        )
        .unwrap();
        assert_eq!(
            (reply.kind.as_str(), reply.id, reply.elapsed_us),
            ("predictions", Some(9), Some(412))
        );
        let reply = Reply::parse(
            r#"{"type":"error","id":3,"code":"KATO_RATE_LIMITED","message":"m","trace_id":"t","retry_after_ms":4}"#,
        )
        .unwrap();
        assert!(reply.is_error());
        assert_eq!(reply.error_code(), "KATO_RATE_LIMITED");
        assert_eq!(reply.retry_after_ms, Some(4));
        assert!(Reply::parse("not json").is_none());
        assert!(Reply::parse(r#"{"id":1}"#).is_none());
    }
}
