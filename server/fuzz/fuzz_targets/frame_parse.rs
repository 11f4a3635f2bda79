//! Fuzz target for the WebSocket frame parser (`kato_server::ws::frame::parse`) and the
//! observe-input validation the server runs on a parsed frame. Checks only that neither panics
//! and that their results are self-consistent; it must never depend on a running server.

#![no_main]

use kato_protocol::client::ClientFrame;
use kato_server::api::input::{self, InputLimits};
use kato_server::config::Settings;
use kato_server::ws::frame::{self, FrameError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

fn limits() -> &'static InputLimits {
    static LIMITS: OnceLock<InputLimits> = OnceLock::new();
    LIMITS.get_or_init(|| InputLimits::from(&Settings::default()))
}

fuzz_target!(|data: &[u8]| {
    // A text frame is valid UTF-8 by the time the parser sees it (the WebSocket codec rejects
    // anything else), so other inputs are not interesting.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match frame::parse(text) {
        Ok(parsed) => {
            // The raw object is what the handlers re-read; it must be an object with the type.
            let kind = parsed.raw.get("type").and_then(Value::as_str);
            assert_eq!(kind, Some(parsed.frame.type_name()));
            assert_eq!(
                parsed.raw.get("id").and_then(Value::as_u64),
                Some(parsed.frame.id())
            );
            match &parsed.frame {
                ClientFrame::Observe(_) => {
                    if let Err(e) = input::observation(&parsed.raw, limits(), "") {
                        assert!(!e.field.is_empty());
                    }
                }
                ClientFrame::ObserveSequence(_) => {
                    if let Err(e) = input::observations(parsed.raw.get("observations"), limits()) {
                        assert!(e.field.starts_with("observations"));
                    }
                }
                _ => {}
            }
            // Every parsed frame serialises again (the protocol types round-trip).
            assert!(serde_json::to_string(&parsed.frame).is_ok());
        }
        Err(FrameError::NotJson) => {
            assert!(serde_json::from_str::<Value>(text).is_err());
        }
        Err(FrameError::Invalid { id, field, .. }) => {
            assert!(!field.is_empty());
            if let Some(id) = id {
                let raw: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                assert_eq!(raw.get("id").and_then(Value::as_u64), Some(id));
            }
        }
    }
});
