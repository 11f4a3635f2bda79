//! The KATO algorithm (ALGORITHM.md), pure and synchronous: no IO, no async, no clock reads.
//! Time and randomness (unique ids) come in from the caller; storage is the caller's business.

pub mod config;
pub mod kb;
pub mod matcher;
pub mod naming;
pub mod numpy_fmt;
pub mod observation;
pub mod predict;
pub mod pyrepr;
pub mod session;
pub mod synthetic;
