//! Wire types of the KATO real-time protocol (PROTOCOL.md) and the structured error body of the
//! REST v2 surface. Shared by the server, the end-to-end tests, the load tools and (through
//! generated declarations) the JS client. Types only: no IO, no server logic.

pub mod client;
pub mod close;
pub mod error;
pub mod generate;
pub mod prediction;
pub mod server;

pub use client::ClientFrame;
pub use close::{CloseCode, ReconnectPolicy};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use prediction::{FullPrediction, Prediction, PredictionSet, SingleSymbolPrediction};
pub use server::ServerFrame;
