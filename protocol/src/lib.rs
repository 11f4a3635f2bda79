//! Wire types of the KATO real-time protocol (PROTOCOL.md) and the structured error body of the
//! REST v2 surface. Shared by the server, the end-to-end tests, the load tools and (through
//! generated declarations) the JS client. Types only: no IO, no server logic.

pub mod error;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
