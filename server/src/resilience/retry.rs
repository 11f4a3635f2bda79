//! Retries with exponential backoff and full jitter (delay drawn uniformly from
//! `[0, min(max, base · factor^attempt)]`), for transient errors only: the caller classifies
//! each error. Also the reconnect schedule of background loops (pub/sub, change streams).

use std::future::Future;
use std::time::Duration;

use rand::Rng;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (the first call included).
    pub max_attempts: u32,
    pub base: Duration,
    pub factor: u32,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// The seeds' policy: 3 attempts, factor 2, at most 10 s; first delay up to 100 ms.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(100),
            factor: 2,
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The upper bound of the delay before retry number `attempt` (0-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.factor.max(1).saturating_pow(attempt.min(30));
        self.base.saturating_mul(factor).min(self.max_delay)
    }

    /// Runs `call` until it succeeds, fails with an error `transient` says is permanent, or
    /// runs out of attempts; sleeps a jittered backoff between attempts.
    pub async fn run<T, E, F, Fut>(
        &self,
        mut call: F,
        transient: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt + 1 < self.max_attempts.max(1) && transient(&error) => {
                    tokio::time::sleep(jitter(self.ceiling(attempt))).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// A reconnect schedule without an attempt limit: full-jitter delays growing to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            policy: RetryPolicy {
                max_attempts: u32::MAX,
                base,
                factor: 2,
                max_delay: max,
            },
            attempt: 0,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        let delay = jitter(self.policy.ceiling(self.attempt));
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// After a success: start again from the base delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

fn jitter(ceiling: Duration) -> Duration {
    let micros = ceiling.as_micros().min(u64::MAX as u128) as u64;
    Duration::from_micros(rand::thread_rng().gen_range(0..=micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn ceilings_grow_by_the_factor_up_to_the_maximum() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u128> = (0..10).map(|a| policy.ceiling(a).as_millis()).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000]
        );
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
        for _ in 0..20 {
            assert!(backoff.next_delay() <= Duration::from_millis(50));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_only_and_at_most_max_attempts() {
        let policy = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let result: Result<(), &str> = policy
            .run(
                || async {
                    calls.fetch_add(1, Ordering::Relaxed);
                    Err("timeout")
                },
                |e| *e == "timeout",
            )
            .await;
        assert_eq!(result, Err("timeout"));
        assert_eq!(calls.load(Ordering::Relaxed), 3);

        calls.store(0, Ordering::Relaxed);
        let result: Result<(), &str> = policy
            .run(
                || async {
                    calls.fetch_add(1, Ordering::Relaxed);
                    Err("bad request")
                },
                |e| *e == "timeout",
            )
            .await;
        assert_eq!(result, Err("bad request"));
        assert_eq!(
            calls.load(Ordering::Relaxed),
            1,
            "permanent errors are not retried"
        );

        calls.store(0, Ordering::Relaxed);
        let result = policy
            .run(
                || async {
                    let n = calls.fetch_add(1, Ordering::Relaxed);
                    if n == 0 {
                        Err("timeout")
                    } else {
                        Ok(n)
                    }
                },
                |e| *e == "timeout",
            )
            .await;
        assert_eq!(result, Ok(1));
    }
}
