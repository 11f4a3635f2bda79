//! One node's knowledge base in memory (ALGORITHM.md §3, §1.4): patterns, frequencies, emotive
//! windows, metadata, symbol statistics and affinity, the symbol → patterns index and the vector
//! index. Every change is a [`KbRecord`] applied by [`NodeKb::apply`], so a store can persist the
//! records and rebuild the same state by replaying them. No IO here.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::naming::pattern_hash;
use super::observation::{
    average_emotives, merge_pattern_metadata, Emotives, Event, PatternMetadata,
};

/// Index of a symbol in its node's symbol table (first-learn order, so replay gives equal ids).
pub type SymId = u32;
/// Index of a pattern in its node's pattern table (first-learn order).
pub type PatternId = u32;

/// A change to a node's knowledge base. Applying the same records in the same order always gives
/// the same knowledge base, bit for bit: this is what the durable stores persist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KbRecord {
    /// Store (or re-learn) a pattern (§3.3). `emotives` is the whole list passed to the learn,
    /// `metadata` already accumulated (§3.3.4), `persistence` the emotive window of the session.
    Learn {
        events: Vec<Event>,
        #[serde(default)]
        emotives: Vec<Emotives>,
        #[serde(default)]
        metadata: PatternMetadata,
        persistence: u32,
    },
    /// Index an observed vector under its `VCTR|` name (Decision D5: indexed when observed).
    Vector { name: String, values: Vec<f64> },
    /// Delete everything of the node (§2.5, Decision D9: vectors too).
    ClearAll,
    /// Precompute entropy and tf-idf inputs for every pattern (§3.6).
    FinalizeTraining,
}

/// What applying a [`KbRecord::Learn`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Bare 40-hex hash.
    pub hash: String,
    pub id: PatternId,
    pub is_new: bool,
    pub frequency: u64,
}

/// A learned pattern. Events are stored flat with their lengths, as interned symbol ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Bare 40-hex SHA-1 of the Python repr of the events (§3.2).
    pub hash: Arc<str>,
    /// The first 16 hex digits of `hash` as a number: ordering by it then by `hash` is ordering
    /// by name (lowercase hex sorts like its value), without a string compare on every tie-break.
    pub hash_key: u64,
    pub flat: Vec<SymId>,
    pub event_lens: Vec<u32>,
    pub frequency: u64,
    /// Emotive window: one dict per observation, oldest first, at most `persistence` entries.
    pub emotives: Vec<Emotives>,
    pub metadata: PatternMetadata,
}

impl Pattern {
    /// The events as slices of the flat symbol list.
    pub fn events(&self) -> impl Iterator<Item = &[SymId]> + '_ {
        let mut start = 0usize;
        self.event_lens.iter().map(move |len| {
            let end = start + *len as usize;
            let event = &self.flat[start..end];
            start = end;
            event
        })
    }

    /// Number of symbols (the pattern's `length`).
    pub fn length(&self) -> usize {
        self.flat.len()
    }

    /// Orders patterns by name (Decision D4's tie-break).
    pub fn cmp_name(&self, other: &Pattern) -> std::cmp::Ordering {
        self.hash_key
            .cmp(&other.hash_key)
            .then_with(|| self.hash.cmp(&other.hash))
    }

    /// Stored frequency with the floor of §3.5.
    pub fn frequency_floor(&self) -> u64 {
        self.frequency.max(1)
    }
}

/// Statistics of one symbol of a node (§3.4).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SymbolEntry {
    /// Shared so predictions can carry symbols without copying them.
    pub name: Arc<str>,
    /// Occurrences over all learns, re-learns included.
    pub frequency: u64,
    /// Number of distinct patterns containing the symbol.
    pub pattern_member_frequency: u64,
    /// Emotive key → accumulated average emotive value.
    pub affinity: IndexMap<String, f64>,
    /// Patterns containing the symbol, each once, in learn order: the candidate index.
    pub patterns: Vec<PatternId>,
    /// Patterns whose first symbol is this one: the single-symbol path's index (§4.9).
    pub first_of: Vec<PatternId>,
}

/// Node-wide counters (§3.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub total_symbols_in_patterns_frequencies: u64,
    /// Incremented for new patterns only (QUIRK-9, kept: confluence depends on it).
    pub total_pattern_frequencies: u64,
    pub total_unique_patterns: u64,
}

/// Metrics precomputed by finalize-training for one pattern (§3.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Precomputed {
    pub entropy: f64,
    pub normalized_entropy: f64,
    pub global_normalized_entropy: f64,
    /// `(symbol, count / length)` in first-occurrence order.
    pub tf_vector: Vec<(SymId, f64)>,
}

/// Exact Euclidean nearest-neighbour index of one node's vectors (Decision D5).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VectorIndex {
    dimension: Option<usize>,
    names: Vec<String>,
    values: Vec<Vec<f64>>,
    by_name: FxHashMap<String, usize>,
}

impl VectorIndex {
    /// Dimension locked by the first stored vector.
    pub fn dimension(&self) -> Option<usize> {
        self.dimension
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Names of the `k` nearest stored vectors, nearest first; ties by insertion order.
    /// A query of another dimension finds nothing (the caller validates dimensions first).
    pub fn nearest(&self, query: &[f64], k: usize) -> Vec<&str> {
        if self.dimension != Some(query.len()) || k == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(f64, usize)> = self
            .values
            .iter()
            .enumerate()
            .map(|(at, stored)| {
                let distance: f64 = stored
                    .iter()
                    .zip(query)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (distance, at)
            })
            .collect();
        // total_cmp orders NaN last; `at` breaks ties by insertion order.
        scored.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        scored
            .into_iter()
            .take(k)
            .map(|(_, at)| self.names[at].as_str())
            .collect()
    }

    fn insert(&mut self, name: &str, values: &[f64]) -> bool {
        if self.by_name.contains_key(name) {
            return false;
        }
        match self.dimension {
            Some(dimension) if dimension != values.len() => return false,
            None => self.dimension = Some(values.len()),
            _ => {}
        }
        self.by_name.insert(name.to_string(), self.names.len());
        self.names.push(name.to_string());
        self.values.push(values.to_vec());
        true
    }
}

/// One node's knowledge base. Nodes never share anything.
#[derive(Debug, Clone, Default)]
pub struct NodeKb {
    symbols: Vec<SymbolEntry>,
    symbol_ids: FxHashMap<String, SymId>,
    patterns: Vec<Pattern>,
    pattern_ids: FxHashMap<String, PatternId>,
    totals: Totals,
    vectors: VectorIndex,
    /// Present between finalize-training and the next learn or clear-all (Decision D9).
    precomputed: Option<Vec<Precomputed>>,
    /// Bumped by every applied record; lets caches notice change.
    version: u64,
}

impl NodeKb {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one record. Returns what a learn did, `None` for other records.
    pub fn apply(&mut self, record: &KbRecord) -> Option<Learned> {
        self.version += 1;
        match record {
            KbRecord::Learn {
                events,
                emotives,
                metadata,
                persistence,
            } => Some(self.learn(events, emotives, metadata, *persistence as usize)),
            KbRecord::Vector { name, values } => {
                self.vectors.insert(name, values);
                None
            }
            KbRecord::ClearAll => {
                let version = self.version;
                *self = NodeKb::default();
                self.version = version;
                None
            }
            KbRecord::FinalizeTraining => {
                self.precomputed = Some(self.finalize());
                None
            }
        }
    }

    /// §3.3: store a new pattern or re-learn a known one.
    fn learn(
        &mut self,
        events: &[Event],
        emotives: &[Emotives],
        metadata: &PatternMetadata,
        persistence: usize,
    ) -> Learned {
        let hash = pattern_hash(events);
        let mut flat = Vec::with_capacity(events.iter().map(Vec::len).sum());
        let mut event_lens = Vec::with_capacity(events.len());
        for event in events {
            event_lens.push(event.len() as u32);
            for symbol in event {
                flat.push(self.intern(symbol));
            }
        }
        let counts = counts_in_order(&flat);
        let length = flat.len() as u64;
        let window = persistence.max(1);

        let (id, is_new) = match self.pattern_ids.get(&hash) {
            Some(id) => {
                let pattern = &mut self.patterns[*id as usize];
                pattern.frequency += 1;
                if !emotives.is_empty() {
                    pattern.emotives.extend(emotives.iter().cloned());
                    trim_front(&mut pattern.emotives, window);
                }
                if !metadata.is_empty() {
                    merge_pattern_metadata(&mut pattern.metadata, metadata);
                }
                for (symbol, count) in &counts {
                    self.symbols[*symbol as usize].frequency += count;
                }
                (*id, false)
            }
            None => {
                let id = self.patterns.len() as PatternId;
                let mut stored_emotives = emotives.to_vec();
                trim_front(&mut stored_emotives, window);
                if let Some(first) = flat.first() {
                    self.symbols[*first as usize].first_of.push(id);
                }
                for (symbol, count) in &counts {
                    let entry = &mut self.symbols[*symbol as usize];
                    entry.frequency += count;
                    entry.pattern_member_frequency += 1;
                    entry.patterns.push(id);
                }
                self.patterns.push(Pattern {
                    hash_key: u64::from_str_radix(hash.get(..16).unwrap_or("0"), 16).unwrap_or(0),
                    hash: Arc::from(hash.as_str()),
                    flat,
                    event_lens,
                    frequency: 1,
                    emotives: stored_emotives,
                    metadata: metadata.clone(),
                });
                self.pattern_ids.insert(hash.clone(), id);
                self.totals.total_pattern_frequencies += 1;
                self.totals.total_unique_patterns += 1;
                (id, true)
            }
        };
        self.totals.total_symbols_in_patterns_frequencies += length;

        // §3.4: affinity from the full, untrimmed emotive list.
        if !emotives.is_empty() {
            let average = average_emotives(emotives);
            for (symbol, _) in &counts {
                let affinity = &mut self.symbols[*symbol as usize].affinity;
                for (key, value) in &average {
                    *affinity.entry(key.clone()).or_insert(0.0) += *value;
                }
            }
        }
        self.precomputed = None;
        Learned {
            hash,
            id,
            is_new,
            frequency: self.patterns[id as usize].frequency,
        }
    }

    fn intern(&mut self, symbol: &str) -> SymId {
        if let Some(id) = self.symbol_ids.get(symbol) {
            return *id;
        }
        let id = self.symbols.len() as SymId;
        self.symbols.push(SymbolEntry {
            name: Arc::from(symbol),
            ..Default::default()
        });
        self.symbol_ids.insert(symbol.to_string(), id);
        id
    }

    /// §3.6 over every pattern, with the node's current totals.
    fn finalize(&self) -> Vec<Precomputed> {
        let n = self.totals.total_unique_patterns as f64;
        let t = self.symbols.len() as f64;
        self.patterns
            .iter()
            .map(|pattern| {
                let length = pattern.flat.len() as f64;
                let counts = counts_in_order(&pattern.flat);
                let mut entropy = 0.0;
                let mut normalized_entropy = 0.0;
                for (_, count) in &counts {
                    let p = *count as f64 / length;
                    entropy -= p * p.log2();
                    if t > 1.0 {
                        normalized_entropy -= p * (p.ln() / t.ln());
                    }
                }
                let mut global_normalized_entropy = 0.0;
                if t > 1.0 {
                    // Decision D12: sum over the symbol set in sorted-name order.
                    let mut distinct: Vec<SymId> = counts.iter().map(|(s, _)| *s).collect();
                    distinct.sort_by(|a, b| self.symbol_name(*a).cmp(self.symbol_name(*b)));
                    for symbol in distinct {
                        let pmf = self.symbols[symbol as usize].pattern_member_frequency as f64;
                        let p = if n > 0.0 { pmf / n } else { 0.0 };
                        if p > 0.0 {
                            global_normalized_entropy -= p * (p.ln() / t.ln());
                        }
                    }
                }
                Precomputed {
                    entropy,
                    normalized_entropy,
                    global_normalized_entropy,
                    tf_vector: counts
                        .iter()
                        .map(|(symbol, count)| (*symbol, *count as f64 / length))
                        .collect(),
                }
            })
            .collect()
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// `total_symbols` of the entropy metrics: distinct symbols with a frequency entry.
    pub fn total_symbols(&self) -> usize {
        self.symbols.len()
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    pub fn pattern(&self, id: PatternId) -> &Pattern {
        &self.patterns[id as usize]
    }

    /// A pattern by bare hash or `PTRN|` name.
    pub fn pattern_by_name(&self, name: &str) -> Option<&Pattern> {
        let hash = name.strip_prefix("PTRN|").unwrap_or(name);
        self.pattern_ids
            .get(hash)
            .map(|id| &self.patterns[*id as usize])
    }

    pub fn symbol_id(&self, symbol: &str) -> Option<SymId> {
        self.symbol_ids.get(symbol).copied()
    }

    pub fn symbol(&self, id: SymId) -> &SymbolEntry {
        &self.symbols[id as usize]
    }

    pub fn symbol_name(&self, id: SymId) -> &str {
        &self.symbols[id as usize].name
    }

    /// The shared name of a symbol (no copy).
    pub fn symbol_arc(&self, id: SymId) -> &Arc<str> {
        &self.symbols[id as usize].name
    }

    /// Events `range` of a pattern as shared symbols.
    pub fn pattern_events_shared(
        &self,
        pattern: &Pattern,
        range: std::ops::Range<usize>,
    ) -> Vec<Vec<Arc<str>>> {
        pattern
            .events()
            .skip(range.start)
            .take(range.end.saturating_sub(range.start))
            .map(|event| {
                event
                    .iter()
                    .map(|id| self.symbol_arc(*id).clone())
                    .collect()
            })
            .collect()
    }

    /// Every symbol, in first-learn order (deterministic).
    pub fn symbols(&self) -> &[SymbolEntry] {
        &self.symbols
    }

    /// A symbol's statistics by name.
    pub fn symbol_by_name(&self, symbol: &str) -> Option<&SymbolEntry> {
        self.symbol_id(symbol).map(|id| self.symbol(id))
    }

    /// The events of a pattern as strings.
    pub fn pattern_events(&self, pattern: &Pattern) -> Vec<Event> {
        pattern
            .events()
            .map(|event| {
                event
                    .iter()
                    .map(|id| self.symbol_name(*id).to_string())
                    .collect()
            })
            .collect()
    }

    pub fn precomputed(&self, id: PatternId) -> Option<&Precomputed> {
        self.precomputed
            .as_ref()
            .and_then(|all| all.get(id as usize))
    }

    pub fn is_finalized(&self) -> bool {
        self.precomputed.is_some()
    }

    pub fn vectors(&self) -> &VectorIndex {
        &self.vectors
    }
}

/// Distinct values with their counts, in first-occurrence order.
pub(crate) fn counts_in_order(flat: &[SymId]) -> Vec<(SymId, u64)> {
    let mut counts: Vec<(SymId, u64)> = Vec::new();
    if flat.len() <= 32 {
        for id in flat {
            match counts.iter_mut().find(|(seen, _)| seen == id) {
                Some(slot) => slot.1 += 1,
                None => counts.push((*id, 1)),
            }
        }
        return counts;
    }
    let mut slots: FxHashMap<SymId, usize> = FxHashMap::default();
    for id in flat {
        match slots.get(id) {
            Some(at) => counts[*at].1 += 1,
            None => {
                slots.insert(*id, counts.len());
                counts.push((*id, 1));
            }
        }
    }
    counts
}

fn trim_front<T>(list: &mut Vec<T>, keep: usize) {
    if list.len() > keep {
        list.drain(..list.len() - keep);
    }
}
