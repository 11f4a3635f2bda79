//! Criterion benchmarks of the engine (issue 2): observe + predictions against knowledge bases
//! of 1k, 10k and 100k learned patterns, and learn throughput.
//! Run: `cargo bench -p kato-server --bench engine`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use kato_server::engine::config::EngineConfig;
use kato_server::engine::kb::{KbRecord, NodeKb};
use kato_server::engine::observation::Observation;
use kato_server::engine::predict::predict;
use kato_server::engine::session::SessionState;
use kato_server::engine::synthetic::{Generator, Shape};

fn learned_kb(patterns: usize) -> NodeKb {
    let mut generator = Generator::new(7, Shape::default());
    let mut kb = NodeKb::new();
    while kb.patterns().len() < patterns {
        kb.apply(&KbRecord::Learn {
            events: generator.sequence(),
            emotives: Vec::new(),
            metadata: Default::default(),
            persistence: 5,
        });
    }
    kb
}

fn bench_predictions(c: &mut Criterion) {
    let config = EngineConfig::default();
    let mut group = c.benchmark_group("predict_stm3");
    for size in [1_000usize, 10_000, 100_000] {
        let kb = learned_kb(size);
        let mut generator = Generator::new(99, Shape::default());
        let stms: Vec<_> = (0..64).map(|_| generator.events(3)).collect();
        let mut at = 0usize;
        group.bench_with_input(BenchmarkId::from_parameter(size), &kb, |b, kb| {
            b.iter(|| {
                at = (at + 1) % stms.len();
                predict(&stms[at], kb, &config)
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("observe_with_predictions");
    for size in [1_000usize, 10_000, 100_000] {
        let mut kb = learned_kb(size);
        let mut generator = Generator::new(123, Shape::default());
        let sessions: Vec<(SessionState, Observation)> = (0..64)
            .map(|_| {
                let session = SessionState {
                    stm: generator.events(2),
                    ..Default::default()
                };
                (session, Observation::strings(generator.event()))
            })
            .collect();
        let mut at = 0usize;
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter_batched(
                || {
                    at = (at + 1) % sessions.len();
                    sessions[at].clone()
                },
                |(mut session, observation)| {
                    let mut records = Vec::new();
                    session
                        .observe(&mut kb, &observation, String::new(), &config, &mut records)
                        .map(|o| o.stm_length)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn bench_learn(c: &mut Criterion) {
    let mut group = c.benchmark_group("learn");
    group.throughput(Throughput::Elements(1));
    let mut kb = learned_kb(10_000);
    let mut generator = Generator::new(5, Shape::default());
    group.bench_function("new_pattern_into_10k", |b| {
        b.iter_batched(
            || KbRecord::Learn {
                events: generator.sequence(),
                emotives: Vec::new(),
                metadata: Default::default(),
                persistence: 5,
            },
            |record| kb.apply(&record),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_predictions, bench_learn);
criterion_main!(benches);
