//! Per-call latency percentiles (p50/p90/p99/max) of predictions for a 3-event STM at 1k, 10k
//! and 100k learned patterns, one core. Criterion reports means and medians; this reports tails.
//! Run: `cargo bench -p kato-server --bench latency`.

use std::time::Instant;

use kato_server::engine::config::EngineConfig;
use kato_server::engine::kb::{KbRecord, NodeKb};
use kato_server::engine::predict::predict;
use kato_server::engine::synthetic::{Generator, Shape};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench`-less args; skip quickly then.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let config = EngineConfig::default();
    println!("| patterns | calls | p50 µs | p90 µs | p99 µs | max µs | mean predictions |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    // KATO_BENCH_SIZES=10000 limits the run (e.g. for profiling one size).
    let sizes: Vec<usize> = std::env::var("KATO_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    for size in sizes {
        let mut generator = Generator::new(7, Shape::default());
        let mut kb = NodeKb::new();
        while kb.patterns().len() < size {
            kb.apply(&KbRecord::Learn {
                events: generator.sequence(),
                emotives: Vec::new(),
                metadata: Default::default(),
                persistence: 5,
            });
        }
        let mut queries = Generator::new(99, Shape::default());
        let stms: Vec<_> = (0..256).map(|_| queries.events(3)).collect();
        let calls = if size >= 100_000 { 2_000 } else { 10_000 };
        let mut samples = Vec::with_capacity(calls);
        let mut returned = 0usize;
        for i in 0..calls {
            let stm = &stms[i % stms.len()];
            let start = Instant::now();
            let set = predict(stm, &kb, &config);
            samples.push(start.elapsed().as_secs_f64() * 1e6);
            returned += set.predictions.len();
        }
        samples.sort_by(f64::total_cmp);
        println!(
            "| {size} | {calls} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            percentile(&samples, 0.5),
            percentile(&samples, 0.9),
            percentile(&samples, 0.99),
            samples.last().copied().unwrap_or(0.0),
            returned as f64 / calls as f64
        );
    }
}
