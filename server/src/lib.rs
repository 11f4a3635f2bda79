//! KATO server library: the pure engine, storage backends, and (later) sessions and transports.

pub mod engine;
pub mod shell;
pub mod store;
