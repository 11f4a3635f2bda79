//! Knowledge-base storage: the store interface and its backends.

pub mod log;
