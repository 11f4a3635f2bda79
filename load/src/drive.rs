//! Observe and echo runs: C connections (bound to their own sessions, or on the echo endpoint)
//! send observe frames at a total target rate or flat out with one frame in flight each, for a
//! warm-up and then a measured window; every loop ends at the window's end. Latency is
//! measured per round trip; at a target rate, a send delayed by the previous reply is measured
//! from its scheduled time, so a slow server cannot hide queueing (no coordinated omission).

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use crate::conn::{self, Ended};
use crate::frames;
use crate::report::Stats;
use crate::target::{Socket, Target};
use crate::token::Minter;
use crate::workload::Generator;

/// Which endpoint the connections talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v2/ws`, bound with `hello`: observe → predictions.
    Observe,
    /// `/dev/echo`: the same frames come back unchanged.
    Echo,
}

/// Timing and shape of a run, shared by every connection.
#[derive(Debug, Clone)]
pub struct Plan {
    pub endpoint: Endpoint,
    pub node: String,
    pub connections: usize,
    /// Total target round trips per second; 0 = flat out.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    /// Events per STM: after this many observes the connection clears its STM (the clear is
    /// sent right before the next observe and is not measured).
    pub stm_events: usize,
    /// Seed of the observed events (each connection derives its own stream).
    pub seed: u64,
    /// Symbols the observed events are drawn from (the seeded node's vocabulary).
    pub vocabulary: usize,
    pub subject_prefix: String,
    pub connect_concurrency: usize,
    /// When set, the server's CPU time over the measured window is reported.
    pub server_pid: Option<u32>,
}

/// CPU used over the measured window, in seconds: the server's (when its pid is known) and
/// this process's.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub server_s: Option<f64>,
    pub client_s: Option<f64>,
}

/// Opens every connection (bounded concurrency); failures are counted by label.
pub async fn open(target: &Target, minter: &Minter, plan: &Plan) -> (Vec<Socket>, Stats) {
    let results: Vec<Result<Socket, Ended>> = stream::iter(0..plan.connections)
        .map(|i| async move {
            let token = minter
                .token(&format!("{}-{i}", plan.subject_prefix))
                .map_err(|_| Ended("token".into()))?;
            match plan.endpoint {
                Endpoint::Observe => conn::bind(target, &token, &plan.node, None).await,
                Endpoint::Echo => target
                    .connect("/dev/echo", Some(&token))
                    .await
                    .map_err(|_| Ended("connect".into())),
            }
        })
        .buffer_unordered(plan.connect_concurrency.max(1))
        .collect()
        .await;
    let mut stats = Stats::default();
    let mut sockets = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(socket) => sockets.push(socket),
            Err(Ended(label)) => stats.error(format!("setup:{label}")),
        }
    }
    (sockets, stats)
}

/// Runs the plan on the open sockets and merges what every connection measured.
pub async fn run(sockets: Vec<Socket>, plan: &Plan) -> (Stats, CpuUse) {
    let count = sockets.len().max(1);
    let start = Instant::now() + Duration::from_millis(50);
    let timing = Arc::new(Timing {
        start,
        measure_from: start + plan.warmup,
        end: start + plan.warmup + plan.duration,
        interval: (plan.rate > 0.0).then(|| Duration::from_secs_f64(count as f64 / plan.rate)),
    });
    let sampler = {
        let (from, end, server) = (timing.measure_from, timing.end, plan.server_pid);
        tokio::spawn(async move {
            let read = || {
                (
                    server.and_then(|pid| crate::idle::cpu_seconds(pid).ok()),
                    crate::idle::cpu_seconds(std::process::id()).ok(),
                )
            };
            tokio::time::sleep_until(from).await;
            let before = read();
            tokio::time::sleep_until(end).await;
            let after = read();
            let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
            CpuUse {
                server_s: delta(before.0, after.0),
                client_s: delta(before.1, after.1),
            }
        })
    };
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, socket)| {
            let timing = timing.clone();
            let plan = plan.clone();
            tokio::spawn(async move { connection(socket, i, count, &timing, &plan).await })
        })
        .collect();
    let mut total = Stats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => total.merge(&stats),
            Err(_) => total.error("task_panicked"),
        }
    }
    (total, sampler.await.unwrap_or_default())
}

struct Timing {
    start: Instant,
    measure_from: Instant,
    end: Instant,
    /// Per-connection send interval at a target rate.
    interval: Option<Duration>,
}

async fn connection(
    mut socket: Socket,
    index: usize,
    count: usize,
    timing: &Timing,
    plan: &Plan,
) -> Stats {
    let mut stats = Stats::default();
    let mut events = Generator::new(plan.seed.wrapping_add(index as u64), plan.vocabulary);
    let mut next_id = 2u64;
    let mut in_stm = 0usize;
    // When the previous reply arrived: a send scheduled before it was held up by the server.
    let mut last_reply = timing.start;
    // Spread the connections' schedules evenly over one interval.
    let mut next_send = match timing.interval {
        Some(interval) => timing.start + interval.mul_f64(index as f64 / count as f64),
        None => timing.start,
    };
    tokio::time::sleep_until(timing.start).await;
    let expected = match plan.endpoint {
        Endpoint::Observe => "predictions",
        Endpoint::Echo => "observe",
    };
    loop {
        let scheduled = match timing.interval {
            Some(interval) => {
                if next_send >= timing.end {
                    break;
                }
                tokio::time::sleep_until(next_send).await;
                let at = next_send;
                next_send += interval;
                at
            }
            None => {
                let now = Instant::now();
                if now >= timing.end {
                    break;
                }
                now
            }
        };
        if in_stm >= plan.stm_events.max(1) {
            // Pipelined right before the observe; its reply is skipped below.
            let id = next_id;
            next_id += 1;
            let Ok(text) = frames::encode(&frames::clear_stm(id)) else {
                stats.error("encode");
                break;
            };
            if let Err(Ended(label)) = conn::send(&mut socket, text).await {
                stats.error(label);
                return stats;
            }
            in_stm = 0;
        }
        let id = next_id;
        next_id += 1;
        let Ok(text) = frames::encode(&frames::observe(id, &events.event())) else {
            stats.error("encode");
            break;
        };
        let request_bytes = text.len();
        let sent = Instant::now();
        if let Err(Ended(label)) = conn::send(&mut socket, text).await {
            stats.error(label);
            return stats;
        }
        in_stm += 1;
        let (reply_bytes, reply) = loop {
            match conn::recv(&mut socket).await {
                Ok((bytes, Some(reply))) if reply.id == Some(id) => break (bytes, reply),
                Ok((_, Some(reply))) if reply.is_error() => {
                    // An error for the pipelined clear (or a connection-level one).
                    stats.error(reply.error_code());
                }
                Ok(_) => continue,
                Err(Ended(label)) => {
                    stats.error(label);
                    return stats;
                }
            }
        };
        let received = Instant::now();
        let held_up = timing.interval.is_some() && last_reply > scheduled;
        last_reply = received;
        let measured = scheduled >= timing.measure_from && received <= timing.end;
        if reply.is_error() {
            // Counted in warm-up too: an error is never hidden.
            stats.error(reply.error_code());
            in_stm = in_stm.saturating_sub(1);
            if let Some(after) = reply.retry_after_ms {
                // Honour the server's back-off instead of spinning on refusals.
                tokio::time::sleep(Duration::from_millis(after.min(1000))).await;
            }
            continue;
        }
        if reply.kind != expected {
            stats.error(format!("unexpected:{}", reply.kind));
            continue;
        }
        if measured {
            // From the schedule when the server held the send up; otherwise from the send
            // itself, so the client timer's own lateness (up to ~1 ms) is not counted.
            let origin = if held_up { scheduled } else { sent };
            let latency = received.saturating_duration_since(origin);
            stats.round_trip(latency.as_micros() as u64, request_bytes, reply_bytes);
            if let Some(elapsed) = reply.elapsed_us {
                stats.server.saturating_record(elapsed.max(1));
            }
        }
    }
    conn::close(socket).await;
    stats
}
