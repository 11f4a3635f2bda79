//! Deterministic workloads: the same generator as the server's `engine::synthetic` (SplitMix64,
//! patterns of 3–6 events of 1–5 symbols `s0…s999`), so `--seed 7` builds the knowledge base the
//! engine benchmarks use. Pure and seeded: no IO, no clock, no global randomness.

/// One event: distinct symbols, sorted as the server's observe would sort them.
pub type Event = Vec<String>;

/// SplitMix64, bit for bit as `kato_server::engine::synthetic::SplitMix64`.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`; `low` when the range is empty.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        if high <= low {
            return low;
        }
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }
}

/// Vocabulary size and event/symbol counts of issue 2's benchmark shape.
const VOCABULARY: usize = 1000;
const EVENTS: (usize, usize) = (3, 6);
const SYMBOLS_PER_EVENT: (usize, usize) = (1, 5);

/// Generates events and patterns of the benchmark shape.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: SplitMix64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: SplitMix64::new(seed),
        }
    }

    /// One event of 1–5 distinct symbols, sorted.
    pub fn event(&mut self) -> Event {
        let count = self.rng.between(SYMBOLS_PER_EVENT.0, SYMBOLS_PER_EVENT.1);
        let mut event: Event = Vec::with_capacity(count);
        while event.len() < count.min(VOCABULARY) {
            let symbol = format!("s{}", self.rng.between(0, VOCABULARY - 1));
            if !event.contains(&symbol) {
                event.push(symbol);
            }
        }
        event.sort_unstable();
        event
    }

    /// One pattern: 3–6 events.
    pub fn sequence(&mut self) -> Vec<Event> {
        let count = self.rng.between(EVENTS.0, EVENTS.1);
        (0..count).map(|_| self.event()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_patterns() {
        let a: Vec<_> = {
            let mut g = Generator::new(7);
            (0..50).map(|_| g.sequence()).collect()
        };
        let mut g = Generator::new(7);
        let b: Vec<_> = (0..50).map(|_| g.sequence()).collect();
        assert_eq!(a, b);
        assert_ne!(a, {
            let mut g = Generator::new(8);
            (0..50).map(|_| g.sequence()).collect::<Vec<_>>()
        });
    }

    #[test]
    fn shape_is_respected() {
        let mut g = Generator::new(1);
        for _ in 0..500 {
            let pattern = g.sequence();
            assert!((3..=6).contains(&pattern.len()));
            for event in pattern {
                assert!((1..=5).contains(&event.len()));
                let mut sorted = event.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted, event);
            }
        }
    }

    /// Bit for bit the server's generator (so `--seed 7` is the engine benchmarks' knowledge
    /// base).
    #[test]
    fn matches_the_server_generator() {
        use kato_server::engine::synthetic::{Generator as ServerGenerator, Shape};
        for seed in [7, 99, 12345] {
            let mut ours = Generator::new(seed);
            let mut theirs = ServerGenerator::new(seed, Shape::default());
            for _ in 0..1000 {
                assert_eq!(ours.sequence(), theirs.sequence());
            }
            assert_eq!(ours.event(), theirs.events(1)[0]);
        }
    }
}
