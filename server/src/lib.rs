//! KATO server library. Data flows one way: transport (`api`, later `ws`) → `session` service →
//! `engine` + `store`. `main.rs` only calls [`cli::main`].

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dev_echo;
pub mod engine;
pub mod resilience;
pub mod session;
pub mod shell;
pub mod store;
pub mod telemetry;
pub mod ws;
