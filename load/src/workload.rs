//! Deterministic workloads: the server's own generator (`kato_server::engine::synthetic`), so
//! `--seed 7` with the default vocabulary builds the knowledge base the engine benchmarks use.
//! `--vocabulary` widens the symbol set (a sparser knowledge base: each observe matches fewer
//! patterns). Pure and seeded: no IO, no clock, no global randomness.

use kato_server::engine::synthetic::{Generator as ServerGenerator, Shape};

/// One event: distinct symbols, sorted as the server's observe would sort them.
pub type Event = Vec<String>;

/// The vocabulary of issue 2's benchmark shape (symbols `s0…s999`).
pub const DEFAULT_VOCABULARY: usize = 1000;

/// Generates events and patterns of the benchmark shape (3–6 events of 1–5 symbols) over
/// `vocabulary` symbols.
#[derive(Debug, Clone)]
pub struct Generator(ServerGenerator);

impl Generator {
    pub fn new(seed: u64, vocabulary: usize) -> Self {
        Generator(ServerGenerator::new(
            seed,
            Shape {
                vocabulary: vocabulary.max(1),
                ..Shape::default()
            },
        ))
    }

    /// One event of 1–5 distinct symbols, sorted.
    pub fn event(&mut self) -> Event {
        self.0.event()
    }

    /// One pattern: 3–6 events.
    pub fn sequence(&mut self) -> Vec<Event> {
        self.0.sequence()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_patterns_and_the_vocabulary_is_respected() {
        let patterns = |seed, vocabulary| {
            let mut g = Generator::new(seed, vocabulary);
            (0..50).map(|_| g.sequence()).collect::<Vec<_>>()
        };
        assert_eq!(patterns(7, 1000), patterns(7, 1000));
        assert_ne!(patterns(7, 1000), patterns(8, 1000));
        for pattern in patterns(3, 20) {
            assert!((3..=6).contains(&pattern.len()));
            for event in pattern {
                assert!((1..=5).contains(&event.len()));
                for symbol in event {
                    let n: usize = symbol[1..].parse().unwrap();
                    assert!(n < 20, "{symbol}");
                }
            }
        }
    }
}
