//! Resilience for external services (Redis, MongoDB, Qdrant): a circuit breaker per service and
//! retries with exponential backoff and full jitter for transient errors only. Pure policy: no
//! I/O, no clients; the backends wrap their calls in these. Defaults are the seeds'
//! (`ARCHITECTURE_SPEC_V2`: failure threshold 5, recovery 30 s; retry 3 attempts, factor 2,
//! at most 10 s).

pub mod breaker;
pub mod retry;

pub use breaker::{Admission, BreakerConfig, CircuitBreaker};
pub use retry::{Backoff, RetryPolicy};
