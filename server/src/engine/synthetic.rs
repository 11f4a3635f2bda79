//! Deterministic synthetic workloads for benchmarks, load tools and property tests: random
//! patterns of 3–6 events of 1–5 symbols over a fixed vocabulary (issue 2's benchmark shape).
//! Seeded, so every run and every machine gets the same knowledge base.

use super::observation::Event;

/// SplitMix64: tiny, fast, and good enough to spread symbols; not for cryptography.
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

    /// Uniform in `low..=high` (inclusive); `low` when the range is empty.
    pub fn between(&mut self, low: usize, high: usize) -> usize {
        if high <= low {
            return low;
        }
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }
}

/// Shape of the generated sequences.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub vocabulary: usize,
    pub events: (usize, usize),
    pub symbols_per_event: (usize, usize),
}

impl Default for Shape {
    /// The benchmark shape of issue 2: 3–6 events of 1–5 symbols over 1,000 symbols.
    fn default() -> Self {
        Shape {
            vocabulary: 1000,
            events: (3, 6),
            symbols_per_event: (1, 5),
        }
    }
}

/// Generates sequences of events with a given shape.
#[derive(Debug, Clone)]
pub struct Generator {
    rng: SplitMix64,
    shape: Shape,
}

impl Generator {
    pub fn new(seed: u64, shape: Shape) -> Self {
        Generator {
            rng: SplitMix64::new(seed),
            shape,
        }
    }

    /// One event of distinct symbols `s0…s{vocabulary-1}`, sorted as observe would sort it.
    pub fn event(&mut self) -> Event {
        let count = self.rng.between(
            self.shape.symbols_per_event.0,
            self.shape.symbols_per_event.1,
        );
        let mut event: Event = Vec::with_capacity(count);
        while event.len() < count.min(self.shape.vocabulary.max(1)) {
            let symbol = format!(
                "s{}",
                self.rng.between(0, self.shape.vocabulary.saturating_sub(1))
            );
            if !event.contains(&symbol) {
                event.push(symbol);
            }
        }
        event.sort_unstable();
        event
    }

    /// A sequence with the shape's number of events.
    pub fn sequence(&mut self) -> Vec<Event> {
        let count = self.rng.between(self.shape.events.0, self.shape.events.1);
        (0..count).map(|_| self.event()).collect()
    }

    /// `count` events, e.g. an STM to predict from.
    pub fn events(&mut self, count: usize) -> Vec<Event> {
        (0..count).map(|_| self.event()).collect()
    }
}
