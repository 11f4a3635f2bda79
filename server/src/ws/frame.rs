//! Parsing of inbound text frames (PROTOCOL.md §2): JSON → `ClientFrame`, with the error a
//! client gets for each kind of malformed frame. Pure and allocation-bounded by the frame size
//! limit the transport enforces before this runs; never panics on any input (fuzzed by
//! `server/fuzz`).

use kato_protocol::client::ClientFrame;
use serde_json::Value;

/// A frame that parsed: the typed frame and the raw object (the observe path re-reads fields
/// from it with the REST input limits).
#[derive(Debug)]
pub struct Parsed {
    pub frame: ClientFrame,
    pub raw: Value,
}

/// Why a frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Not JSON at all (or nested deeper than serde_json's recursion limit of 128): counts
    /// toward the 4400 close.
    NotJson,
    /// JSON, but not a valid client frame: an in-band `KATO_VALIDATION_ERROR` naming `field`;
    /// `id` is echoed when the frame had a readable one.
    Invalid {
        id: Option<u64>,
        field: String,
        message: String,
    },
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Parsed, FrameError> {
    let raw: Value = serde_json::from_str(text).map_err(|_| FrameError::NotJson)?;
    let id = raw.get("id").and_then(Value::as_u64);
    if !raw.is_object() {
        return Err(FrameError::Invalid {
            id,
            field: "frame".into(),
            message: "a frame must be a JSON object".into(),
        });
    }
    let kind = match raw.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) => return Err(invalid(id, "type", "`type` must be a string")),
        None => return Err(invalid(id, "type", "missing field `type`")),
    };
    let frame = match kind {
        "hello" => typed(&raw, id).map(ClientFrame::Hello),
        "observe" => typed(&raw, id).map(ClientFrame::Observe),
        "observe_sequence" => typed(&raw, id).map(ClientFrame::ObserveSequence),
        "learn" => typed(&raw, id).map(ClientFrame::Learn),
        "get_predictions" => typed(&raw, id).map(ClientFrame::GetPredictions),
        "get_stm" => typed(&raw, id).map(ClientFrame::GetStm),
        "clear_stm" => typed(&raw, id).map(ClientFrame::ClearStm),
        "clear_all" => typed(&raw, id).map(ClientFrame::ClearAll),
        "config" => typed(&raw, id).map(ClientFrame::Config),
        "watch" => typed(&raw, id).map(ClientFrame::Watch),
        "unwatch" => typed(&raw, id).map(ClientFrame::Unwatch),
        "refresh" => typed(&raw, id).map(ClientFrame::Refresh),
        "ping" => typed(&raw, id).map(ClientFrame::Ping),
        _ => Err(invalid(id, "type", "unknown frame type")),
    }?;
    Ok(Parsed { frame, raw })
}

fn invalid(id: Option<u64>, field: &str, message: impl Into<String>) -> FrameError {
    FrameError::Invalid {
        id,
        field: field.into(),
        message: message.into(),
    }
}

/// Deserialises one frame body, naming the offending field by its path (`strings[2]`).
fn typed<T: serde::de::DeserializeOwned>(raw: &Value, id: Option<u64>) -> Result<T, FrameError> {
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path.is_empty() || path == "." {
            message
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "frame".into())
        } else {
            path
        };
        invalid(id, &field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_malformed_frames() {
        assert_eq!(parse("not json").unwrap_err(), FrameError::NotJson);
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(parse(&deep).unwrap_err(), FrameError::NotJson);
        match parse(r#"{"type":"nope","id":4}"#).unwrap_err() {
            FrameError::Invalid { id, field, .. } => {
                assert_eq!(id, Some(4));
                assert_eq!(field, "type");
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"type":"observe","id":5,"strings":"a"}"#).unwrap_err() {
            FrameError::Invalid { id, field, .. } => {
                assert_eq!(id, Some(5));
                assert_eq!(field, "strings");
            }
            other => panic!("{other:?}"),
        }
        match parse("[1]").unwrap_err() {
            FrameError::Invalid { field, .. } => assert_eq!(field, "frame"),
            other => panic!("{other:?}"),
        }
        match parse(r#"{"type":"observe","id":6,"strings":["a",3]}"#).unwrap_err() {
            FrameError::Invalid { field, .. } => assert_eq!(field, "strings[1]"),
            other => panic!("{other:?}"),
        }
        match parse(r#"{"type":"watch","id":7}"#).unwrap_err() {
            FrameError::Invalid { id, field, .. } => {
                assert_eq!(id, Some(7));
                assert_eq!(field, "session_id");
            }
            other => panic!("{other:?}"),
        }
        match parse(r#"{"type":"ping"}"#).unwrap_err() {
            FrameError::Invalid { field, .. } => assert_eq!(field, "id"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type":"ping","id":1}"#).map(|p| p.frame),
            Ok(ClientFrame::Ping(_))
        ));
    }
}
