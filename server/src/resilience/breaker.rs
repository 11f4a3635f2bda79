//! A circuit breaker (closed → open → half-open → closed). Closed: calls pass; `threshold`
//! consecutive failures open it. Open: calls are refused at once (`KATO_CIRCUIT_OPEN`) until
//! `recovery` has passed. Half-open: one trial call passes (others are refused); its success
//! closes the breaker, its failure opens it again. Time is passed in, so the policy is
//! deterministic and testable; the state is reported through a callback for the
//! `kato_circuit_breaker_state{service}` gauge.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::telemetry::metrics::BreakerState;

/// Thresholds of one breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub threshold: u32,
    /// How long it stays open before a trial call is let through.
    pub recovery: Duration,
}

impl BreakerConfig {
    /// The seeds' MongoDB/Redis breaker: 5 failures, 30 s.
    pub const DATABASE: BreakerConfig = BreakerConfig {
        threshold: 5,
        recovery: Duration::from_secs(30),
    };
    /// The seeds' Qdrant breaker: 3 failures, 20 s.
    pub const VECTORS: BreakerConfig = BreakerConfig {
        threshold: 3,
        recovery: Duration::from_secs(20),
    };
}

/// Whether a call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead; report the outcome with [`CircuitBreaker::record`].
    Allowed,
    /// Go ahead as the half-open trial; report the outcome with [`CircuitBreaker::record`].
    Trial,
    /// Refused; retry after this long.
    Refused(Duration),
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

/// One service's breaker. Cheap to share (`Arc`); every method is short and never blocks on
/// I/O.
pub struct CircuitBreaker {
    service: &'static str,
    config: BreakerConfig,
    state: Mutex<State>,
    on_change: Box<dyn Fn(&'static str, BreakerState) + Send + Sync>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("service", &self.service)
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// A closed breaker; `on_change` is told every transition (and the initial state).
    pub fn new(
        service: &'static str,
        config: BreakerConfig,
        on_change: impl Fn(&'static str, BreakerState) + Send + Sync + 'static,
    ) -> Self {
        on_change(service, BreakerState::Closed);
        CircuitBreaker {
            service,
            config: BreakerConfig {
                threshold: config.threshold.max(1),
                ..config
            },
            state: Mutex::new(State::Closed { failures: 0 }),
            on_change: Box::new(on_change),
        }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state (for `/health/ready` and the gauge).
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`.
    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Admission::Allowed,
            State::Open { until } if now < until => Admission::Refused(until - now),
            State::Open { .. } => {
                *state = State::HalfOpen {
                    trial_running: true,
                };
                drop(state);
                (self.on_change)(self.service, BreakerState::HalfOpen);
                Admission::Trial
            }
            State::HalfOpen {
                trial_running: true,
            } => Admission::Refused(Duration::from_millis(100)),
            State::HalfOpen {
                trial_running: false,
            } => {
                *state = State::HalfOpen {
                    trial_running: true,
                };
                Admission::Trial
            }
        }
    }

    /// Reports the outcome of an admitted call. `failed` must be true only for failures of the
    /// service itself (connection, timeout), never for a client's mistake.
    pub fn record(&self, now: Instant, failed: bool) {
        let mut state = self.lock();
        let next = match (&*state, failed) {
            (State::Closed { .. }, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures + 1 < self.config.threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (State::Closed { .. }, true) | (State::HalfOpen { .. }, true) => State::Open {
                until: now + self.config.recovery,
            },
            (State::HalfOpen { .. }, false) => State::Closed { failures: 0 },
            // A call admitted before the breaker opened: its outcome changes nothing.
            (State::Open { until }, _) => State::Open { until: *until },
        };
        let before = state_name(&state);
        *state = next;
        let after = state_name(&state);
        drop(state);
        if before != after {
            if after == BreakerState::Open {
                tracing::warn!(service = self.service, "circuit breaker opened");
            } else if after == BreakerState::Closed {
                tracing::info!(service = self.service, "circuit breaker closed");
            }
            (self.on_change)(self.service, after);
        }
    }
}

fn state_name(state: &State) -> BreakerState {
    match state {
        State::Closed { .. } => BreakerState::Closed,
        State::Open { .. } => BreakerState::Open,
        State::HalfOpen { .. } => BreakerState::HalfOpen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn breaker() -> (CircuitBreaker, Arc<Mutex<Vec<BreakerState>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let breaker = CircuitBreaker::new(
            "redis",
            BreakerConfig {
                threshold: 3,
                recovery: Duration::from_secs(10),
            },
            move |_, state| log.lock().unwrap().push(state),
        );
        (breaker, seen)
    }

    #[test]
    fn opens_after_threshold_consecutive_failures_and_recovers_through_a_trial() {
        let (b, seen) = breaker();
        let t0 = Instant::now();
        assert_eq!(b.admit(t0), Admission::Allowed);
        b.record(t0, true);
        b.record(t0, true);
        b.record(t0, false); // a success resets the count
        b.record(t0, true);
        b.record(t0, true);
        assert_eq!(b.state(), BreakerState::Closed);
        b.record(t0, true);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(4)),
            Admission::Refused(Duration::from_secs(6))
        );
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(t1), Admission::Trial);
        assert!(
            matches!(b.admit(t1), Admission::Refused(_)),
            "one trial at a time"
        );
        b.record(t1, true);
        assert_eq!(b.state(), BreakerState::Open, "a failed trial reopens");
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(b.admit(t2), Admission::Trial);
        b.record(t2, false);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.admit(t2), Admission::Allowed);
        use BreakerState::*;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![Closed, Open, HalfOpen, Open, HalfOpen, Closed]
        );
    }
}
