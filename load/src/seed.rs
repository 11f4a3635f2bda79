//! Seeds a node's knowledge base with N learned patterns over the WebSocket: K connections
//! (each its own subject and session, predictions off) share the patterns of one seeded
//! generator; per pattern, its events are observed (pipelined) and then learned. A refused
//! frame (rate limit) never leaves a partial pattern: the STM is cleared and the pattern redone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

use crate::conn::{self, Ended};
use crate::frames;
use crate::target::{Socket, Target};
use crate::token::Minter;
use crate::workload::{Event, Generator};

/// Times one pattern is retried before seeding gives up.
const MAX_ATTEMPTS: u32 = 50;
/// Longest wait after a rate-limited frame.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

pub struct SeedPlan {
    pub node: String,
    pub patterns: usize,
    pub connections: usize,
    pub seed: u64,
    /// Symbols the patterns are drawn from.
    pub vocabulary: usize,
    pub subject_prefix: String,
}

/// Seeds `plan.patterns` patterns; returns a summary (JSON) for the report.
pub async fn seed(target: &Target, minter: &Minter, plan: &SeedPlan) -> anyhow::Result<Value> {
    let started = Instant::now();
    let mut generator = Generator::new(plan.seed, plan.vocabulary);
    let connections = plan.connections.clamp(1, plan.patterns.max(1));
    let mut shares: Vec<Vec<Vec<Event>>> = vec![Vec::new(); connections];
    for i in 0..plan.patterns {
        shares[i % connections].push(generator.sequence());
    }
    let target = Arc::new(target.clone());
    let mut tasks = Vec::with_capacity(connections);
    for (k, share) in shares.into_iter().enumerate() {
        let token = minter.token(&format!("{}-seed-{k}", plan.subject_prefix))?;
        let target = target.clone();
        let node = plan.node.clone();
        tasks.push(tokio::spawn(async move {
            // Seeding needs no predictions: the knowledge base is what matters.
            let mut config = serde_json::Map::new();
            config.insert("process_predictions".into(), json!(false));
            let mut socket = conn::bind(&target, &token, &node, Some(config)).await?;
            let mut next_id = 2u64;
            let mut retries = 0u64;
            for pattern in &share {
                retries += learn_pattern(&mut socket, &mut next_id, pattern).await?;
            }
            conn::close(socket).await;
            Ok::<(usize, u64), Ended>((share.len(), retries))
        }));
    }
    let mut learned = 0usize;
    let mut retries = 0u64;
    let mut failures = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok((n, r))) => {
                learned += n;
                retries += r;
            }
            Ok(Err(Ended(label))) => failures.push(label),
            Err(e) => failures.push(format!("task: {e}")),
        }
    }
    if !failures.is_empty() {
        bail!(
            "seeding failed on {} of {connections} connections: {}",
            failures.len(),
            failures.join(", ")
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "node": plan.node,
        "patterns": learned,
        "seed": plan.seed,
        "vocabulary": plan.vocabulary,
        "connections": connections,
        "retries": retries,
        "seconds": (seconds * 100.0).round() / 100.0,
        "patterns_per_s": (learned as f64 / seconds.max(1e-9)).round(),
    }))
}

/// What the server answered to one frame.
enum Answer {
    Ok,
    RateLimited(Duration),
    Failed(String),
}

fn answer(reply: Option<frames::Reply>, expected: &str) -> Answer {
    match reply {
        // A learn that stored nothing would leave the knowledge base short of N patterns.
        Some(r)
            if r.kind == "learned"
                && !r
                    .pattern_name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("PTRN|")) =>
        {
            Answer::Failed("learned_nothing".into())
        }
        Some(r) if r.kind == expected => Answer::Ok,
        Some(r) if r.code.as_deref() == Some("KATO_RATE_LIMITED") => Answer::RateLimited(
            Duration::from_millis(r.retry_after_ms.unwrap_or(10)).min(MAX_BACKOFF),
        ),
        Some(r) if r.is_error() => Answer::Failed(r.error_code()),
        Some(r) => Answer::Failed(format!("unexpected:{}", r.kind)),
        None => Answer::Failed("unreadable reply".into()),
    }
}

/// Reads replies until the one with `id`.
async fn reply_to(socket: &mut Socket, id: u64) -> Result<Option<frames::Reply>, Ended> {
    loop {
        let (_, reply) = conn::recv(socket).await?;
        match reply {
            Some(r) if r.id == Some(id) => return Ok(Some(r)),
            // A server-initiated frame (no id) or a stray one: not ours.
            Some(_) => continue,
            None => return Ok(None),
        }
    }
}

/// Sends a frame made by `make` (with a fresh id) until it is not rate limited.
async fn call(
    socket: &mut Socket,
    next_id: &mut u64,
    make: fn(u64) -> kato_protocol::ClientFrame,
    expected: &str,
) -> Result<(), Ended> {
    for _ in 0..MAX_ATTEMPTS {
        let id = *next_id;
        *next_id += 1;
        let text = frames::encode(&make(id)).map_err(|_| Ended("encode".into()))?;
        conn::send(socket, text).await?;
        match answer(reply_to(socket, id).await?, expected) {
            Answer::Ok => return Ok(()),
            Answer::RateLimited(after) => tokio::time::sleep(after).await,
            Answer::Failed(label) => return Err(Ended(label)),
        }
    }
    Err(Ended("seeding: too many rate-limited retries".into()))
}

/// Observes a pattern's events (pipelined), then learns it. Returns how many retries it took.
async fn learn_pattern(
    socket: &mut Socket,
    next_id: &mut u64,
    pattern: &[Event],
) -> Result<u64, Ended> {
    for attempt in 0..MAX_ATTEMPTS {
        let mut ids = Vec::with_capacity(pattern.len());
        for event in pattern {
            let id = *next_id;
            *next_id += 1;
            let text =
                frames::encode(&frames::observe(id, event)).map_err(|_| Ended("encode".into()))?;
            conn::send(socket, text).await?;
            ids.push(id);
        }
        let mut wait: Option<Duration> = None;
        for id in ids {
            match answer(reply_to(socket, id).await?, "predictions") {
                Answer::Ok => {}
                Answer::RateLimited(after) => wait = Some(wait.unwrap_or(after).max(after)),
                Answer::Failed(label) => return Err(Ended(label)),
            }
        }
        let Some(after) = wait else {
            call(socket, next_id, frames::learn, "learned").await?;
            return Ok(u64::from(attempt));
        };
        // Part of the pattern was refused: start it again from an empty STM.
        tokio::time::sleep(after).await;
        call(socket, next_id, frames::clear_stm, "ack").await?;
    }
    Err(Ended("seeding: too many rate-limited retries".into()))
}
