//! Predictions (ALGORITHM.md §4): candidate selection, similarity and the recall threshold,
//! block alignment and event re-alignment, every ensemble metric, ranking and truncation, and
//! the single-symbol path. Reads the knowledge base; never changes it.
//!
//! Work happens on interned symbol ids; strings are built only for the predictions returned.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::config::{EngineConfig, FilterKind, RankSortAlgo};
use super::kb::{counts_in_order, NodeKb, PatternId, SymId};
use super::matcher::{self, Block, CharStateMatcher, StateMatcher};
use super::observation::{average_emotives, Emotives, Event};

/// A symbol inside a prediction: shared with the knowledge base, so building a prediction
/// copies no strings.
pub type SharedSymbol = Arc<str>;
/// An event inside a prediction.
pub type SharedEvent = Vec<SharedSymbol>;

/// `type` of a full-path prediction: always `"prototypical"` upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictionType {
    Prototypical,
}

/// Predictions for one STM, as returned by GET predictions and pushed after an observe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionSet {
    pub predictions: Vec<Prediction>,
    /// Decision D6: `[]` whenever it was not computed for this request.
    pub future_potentials: Vec<FuturePotential>,
}

/// One prediction: the full-path object (§4.10) or the flat single-symbol one (§4.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prediction {
    Full(Box<FullPrediction>),
    SingleSymbol(Box<SingleSymbolPrediction>),
}

impl Prediction {
    /// Bare 40-hex pattern hash.
    pub fn name(&self) -> &str {
        match self {
            Prediction::Full(p) => &p.name,
            Prediction::SingleSymbol(p) => &p.name,
        }
    }
}

/// A fuzzy-token substitution (§4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub observed: String,
    pub expected: String,
    pub similarity: f64,
}

/// The full-path prediction object, fields in the order of ALGORITHM.md §4.10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FullPrediction {
    #[serde(rename = "type")]
    pub kind: PredictionType,
    pub name: SharedSymbol,
    pub frequency: u64,
    pub emotives: Emotives,
    pub matches: Vec<SharedSymbol>,
    pub past: Vec<SharedEvent>,
    pub present: Vec<SharedEvent>,
    pub missing: Vec<SharedEvent>,
    pub extras: Vec<SharedEvent>,
    pub anomalies: Vec<Anomaly>,
    pub potential: f64,
    pub evidence: f64,
    pub similarity: f64,
    pub fragmentation: f64,
    pub snr: f64,
    pub confluence: f64,
    pub predictive_information: f64,
    pub sequence: Vec<SharedEvent>,
    pub future: Vec<SharedEvent>,
    pub confidence: f64,
    pub weighted_similarity: Option<f64>,
    pub weighted_evidence: Option<f64>,
    pub weighted_confidence: Option<f64>,
    pub weighted_snr: Option<f64>,
    pub entropy: f64,
    pub normalized_entropy: f64,
    pub global_normalized_entropy: f64,
    pub itfdf_similarity: f64,
    pub tfidf_score: f64,
    pub pattern_probability: f64,
    pub weighted_strength: f64,
    pub bayesian_posterior: f64,
    pub bayesian_prior: f64,
    pub bayesian_likelihood: f64,
    /// Present only when the ensemble was pruned (§4.6).
    #[serde(
        rename = "_pre_potential",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_potential: Option<f64>,
}

/// The single-symbol path's flat object (§4.9, QUIRK-15 kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleSymbolPrediction {
    pub name: SharedSymbol,
    pub pattern_data: Vec<SharedEvent>,
    pub length: usize,
    pub frequency: u64,
    pub emotives: Emotives,
    pub matches: Vec<SharedSymbol>,
    pub missing: Vec<SharedSymbol>,
    pub present: Vec<SharedSymbol>,
    pub past: Vec<SharedSymbol>,
    pub future: Vec<SharedSymbol>,
    pub extras: Vec<SharedSymbol>,
    pub similarity: f64,
    pub evidence: f64,
    pub confidence: f64,
    pub snr: f64,
    /// An integer on this path (upstream emits `0`, not `0.0`).
    pub fragmentation: i64,
    pub anomalies: Vec<Anomaly>,
    pub weighted_similarity: Option<f64>,
    pub weighted_evidence: Option<f64>,
    pub weighted_confidence: Option<f64>,
    pub weighted_snr: Option<f64>,
    pub potential: f64,
}

/// One entry of `future_potentials` (§4.7.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FuturePotential {
    pub future: Vec<SharedEvent>,
    pub aggregate_potential: f64,
    pub supporting_patterns: usize,
    pub total_weighted_frequency: f64,
}

/// Computes the predictions for `stm` against `kb` with the session's effective config
/// (Decision D2: every setting of the session is honoured).
pub fn predict(stm: &[Event], kb: &NodeKb, config: &EngineConfig) -> PredictionSet {
    let state = StateTokens::new(stm, kb);
    match state.ids.len() {
        0 => PredictionSet::default(),
        1 => single_symbol(&state, kb, config),
        _ => full_path(stm, &state, kb, config),
    }
}

/// The flattened STM as ids. Symbols the node has never learned get ids from the top of the
/// id space (one per distinct string) so they can never equal a pattern symbol.
struct StateTokens<'a> {
    ids: Vec<SymId>,
    names: Vec<&'a str>,
    unknown: Vec<&'a str>,
}

const UNKNOWN_TOP: SymId = SymId::MAX;

impl<'a> StateTokens<'a> {
    fn new(stm: &'a [Event], kb: &NodeKb) -> Self {
        let mut tokens = StateTokens {
            ids: Vec::new(),
            names: Vec::new(),
            unknown: Vec::new(),
        };
        for symbol in stm.iter().flatten() {
            let id = tokens.id_of(symbol, kb);
            tokens.ids.push(id);
            tokens.names.push(symbol);
        }
        tokens
    }

    fn id_of(&mut self, symbol: &'a str, kb: &NodeKb) -> SymId {
        if let Some(id) = kb.symbol_id(symbol) {
            return id;
        }
        match self.unknown.iter().position(|known| *known == symbol) {
            Some(at) => UNKNOWN_TOP - at as SymId,
            None => {
                self.unknown.push(symbol);
                UNKNOWN_TOP - (self.unknown.len() - 1) as SymId
            }
        }
    }

    fn shared(&self, id: SymId, kb: &NodeKb) -> SharedSymbol {
        if (id as usize) < kb.total_symbols() {
            kb.symbol_arc(id).clone()
        } else {
            Arc::from(self.unknown[(UNKNOWN_TOP - id) as usize])
        }
    }

    fn name<'k>(&'k self, id: SymId, kb: &'k NodeKb) -> &'k str {
        if (id as usize) < kb.total_symbols() {
            kb.symbol_name(id)
        } else {
            self.unknown[(UNKNOWN_TOP - id) as usize]
        }
    }
}

/// Affinity weight map (§4.4): `|affinity[t][e]| / freq[t] + 0.01`, `0.01` without affinity.
struct Weights {
    map: FxHashMap<SymId, f64>,
}

const AFFINITY_EPSILON: f64 = 0.01;

impl Weights {
    fn new(emotive: &str, symbols: impl Iterator<Item = SymId>, kb: &NodeKb) -> Self {
        let mut map = FxHashMap::default();
        for id in symbols {
            map.entry(id).or_insert_with(|| {
                if (id as usize) >= kb.total_symbols() {
                    return AFFINITY_EPSILON;
                }
                let entry = kb.symbol(id);
                match entry.affinity.get(emotive) {
                    Some(affinity) if entry.frequency > 0 && *affinity != 0.0 => {
                        affinity.abs() / entry.frequency as f64 + AFFINITY_EPSILON
                    }
                    _ => AFFINITY_EPSILON,
                }
            });
        }
        Weights { map }
    }

    /// Sum of the weights of `tokens`, left to right; tokens outside the map weigh 0.
    fn total<'t>(&self, tokens: impl IntoIterator<Item = &'t SymId>) -> f64 {
        tokens
            .into_iter()
            .map(|t| self.map.get(t).copied().unwrap_or(0.0))
            .sum()
    }
}

/// §4.4 affinity-weighted similarity: `2·W(matches) / (W(state) + W(pattern))`, where `W` sums
/// the weights of a token list left to right and tokens absent from `weights` weigh 0. `None`
/// when the map is empty or the denominator is 0.
pub fn weighted_similarity<T: Eq + std::hash::Hash, H: std::hash::BuildHasher>(
    weights: &std::collections::HashMap<T, f64, H>,
    matches: &[T],
    state: &[T],
    pattern: &[T],
) -> Option<f64> {
    let total = |tokens: &[T]| -> f64 {
        tokens
            .iter()
            .map(|t| weights.get(t).copied().unwrap_or(0.0))
            .sum()
    };
    let denominator = total(state) + total(pattern);
    (denominator != 0.0 && !weights.is_empty()).then(|| 2.0 * total(matches) / denominator)
}

fn ratio_or_zero(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

#[derive(Debug, Clone, Copy)]
struct Weighted {
    similarity: Option<f64>,
    evidence: f64,
    confidence: f64,
    snr: f64,
}

/// Per-candidate results of §4.3–§4.5, still in id space.
struct Scored {
    id: PatternId,
    similarity: f64,
    matches: Vec<SymId>,
    anomalies: Vec<Anomaly>,
    /// Event index where present starts (after the past-fix) and where future starts.
    present_events: (usize, usize),
    /// Flat index range of the present events.
    present_flat: (usize, usize),
    number_of_blocks: usize,
    evidence: f64,
    confidence: f64,
    snr: f64,
    weighted: Option<Weighted>,
    frequency: u64,
    // Ensemble metrics (§4.7), filled later.
    pre_potential: Option<f64>,
    itfdf_similarity: f64,
    confluence: f64,
    entropy: f64,
    normalized_entropy: f64,
    global_normalized_entropy: f64,
    tfidf_score: f64,
    pattern_probability: f64,
    weighted_strength: f64,
    predictive_information: f64,
    bayesian_prior: f64,
    bayesian_posterior: f64,
    potential: f64,
}

impl Scored {
    fn fragmentation(&self) -> f64 {
        self.number_of_blocks as f64 - 1.0
    }

    fn frag_term(&self) -> f64 {
        let fragmentation = self.fragmentation();
        if fragmentation == -1.0 {
            0.0
        } else {
            1.0 / (fragmentation + 1.0)
        }
    }

    fn rank_key(&self, key: RankSortAlgo) -> f64 {
        let weighted = |pick: fn(&Weighted) -> Option<f64>| {
            self.weighted
                .as_ref()
                .and_then(pick)
                .unwrap_or(f64::NEG_INFINITY)
        };
        match key {
            RankSortAlgo::Potential => self.potential,
            RankSortAlgo::Similarity => self.similarity,
            RankSortAlgo::Evidence => self.evidence,
            RankSortAlgo::Confidence => self.confidence,
            RankSortAlgo::Snr => self.snr,
            RankSortAlgo::Fragmentation => self.fragmentation(),
            RankSortAlgo::Frequency => self.frequency as f64,
            RankSortAlgo::NormalizedEntropy => self.normalized_entropy,
            RankSortAlgo::GlobalNormalizedEntropy => self.global_normalized_entropy,
            RankSortAlgo::ItfdfSimilarity => self.itfdf_similarity,
            RankSortAlgo::Confluence => self.confluence,
            RankSortAlgo::PredictiveInformation => self.predictive_information,
            RankSortAlgo::BayesianPosterior => self.bayesian_posterior,
            RankSortAlgo::BayesianPrior => self.bayesian_prior,
            RankSortAlgo::BayesianLikelihood => self.similarity,
            RankSortAlgo::TfidfScore => self.tfidf_score,
            RankSortAlgo::WeightedSimilarity => weighted(|w| w.similarity),
            RankSortAlgo::WeightedEvidence => weighted(|w| Some(w.evidence)),
            RankSortAlgo::WeightedConfidence => weighted(|w| Some(w.confidence)),
            RankSortAlgo::WeightedSnr => weighted(|w| Some(w.snr)),
        }
    }
}

fn full_path(
    stm: &[Event],
    state: &StateTokens,
    kb: &NodeKb,
    config: &EngineConfig,
) -> PredictionSet {
    let weights = config
        .affinity_emotive
        .as_deref()
        .map(|emotive| Weights::new(emotive, state.ids.iter().copied(), kb));
    let threshold = config.recall_threshold;

    // Decision D4: a deterministic ensemble order (name ascending) before anything else.
    let mut candidates = select_candidates(state, kb, config);
    candidates.sort_unstable_by(|a, b| kb.pattern(*a).cmp_name(kb.pattern(*b)));
    let mut matchers = Matchers::new(state, config);
    let mut scored: Vec<Scored> = Vec::new();
    for id in candidates {
        if let Some(candidate) = score_candidate(
            id,
            state,
            kb,
            config,
            threshold,
            weights.as_ref(),
            &mut matchers,
        ) {
            scored.push(candidate);
        }
    }

    // §4.6 step 1: pruning to 3 × max_predictions by the pre-potential (stable).
    let keep = 3 * config.max_predictions;
    if scored.len() > keep {
        for candidate in scored.iter_mut() {
            candidate.pre_potential = Some(
                (candidate.evidence + candidate.confidence) * candidate.snr + candidate.frag_term(),
            );
        }
        sort_by_moving_once(&mut scored, |a, b| {
            let (x, y) = (
                a.pre_potential.unwrap_or(0.0),
                b.pre_potential.unwrap_or(0.0),
            );
            y.total_cmp(&x)
        });
        scored.truncate(keep);
    }

    let future_potentials = ensemble_metrics(&mut scored, state, kb);

    let affinity_active = weights.as_ref().is_some_and(|w| !w.map.is_empty())
        && scored.iter().any(|s| s.weighted.is_some());
    for candidate in scored.iter_mut() {
        // §4.7.7
        let (evidence, confidence, snr) = match (affinity_active, candidate.weighted) {
            (true, Some(w)) => (w.evidence, w.confidence, w.snr),
            _ => (candidate.evidence, candidate.confidence, candidate.snr),
        };
        candidate.potential =
            (evidence + confidence) * snr + candidate.itfdf_similarity + candidate.frag_term();
    }

    // §4.8: rank positions, not the (large) scored entries.
    let key = config.rank_sort_algo;
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|a, b| {
        let (a, b) = (&scored[*a], &scored[*b]);
        b.rank_key(key)
            .total_cmp(&a.rank_key(key))
            .then_with(|| kb.pattern(a.id).cmp_name(kb.pattern(b.id)))
    });
    order.truncate(config.max_predictions);

    PredictionSet {
        predictions: order
            .into_iter()
            .map(|at| Prediction::Full(Box::new(materialize(&scored[at], stm, state, kb))))
            .collect(),
        future_potentials,
    }
}

/// The first 8 bytes of a name, big-endian and zero-padded: comparing these keys first and the
/// full names only on ties orders names exactly as a byte-wise (code point) string compare.
fn name_prefix_key(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let take = name.len().min(8);
    bytes[..take].copy_from_slice(&name.as_bytes()[..take]);
    u64::from_be_bytes(bytes)
}

/// Stable sort that moves each (large) element once: sorts positions, then permutes.
fn sort_by_moving_once<T>(
    items: &mut Vec<T>,
    mut compare: impl FnMut(&T, &T) -> std::cmp::Ordering,
) {
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    order.sort_by(|a, b| compare(&items[*a as usize], &items[*b as usize]));
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(order.into_iter().filter_map(|at| slots[at as usize].take()));
}

/// §4.8: descending by the key, ties by pattern name ascending (Decision D4).
fn rank<T>(
    items: &mut Vec<T>,
    key: RankSortAlgo,
    kb: &NodeKb,
    id: impl Fn(&T) -> PatternId,
    value: impl Fn(&T, RankSortAlgo) -> f64,
) {
    sort_by_moving_once(items, |a, b| {
        value(b, key)
            .total_cmp(&value(a, key))
            .then_with(|| kb.pattern(id(a)).cmp_name(kb.pattern(id(b))))
    });
}

/// §4.2: the filter pipeline, or every pattern that can reach the threshold.
fn select_candidates(state: &StateTokens, kb: &NodeKb, config: &EngineConfig) -> Vec<PatternId> {
    let all = || (0..kb.patterns().len() as PatternId).collect::<Vec<_>>();
    if config.filter_pipeline.is_empty() {
        // Token similarity is 0 for a pattern sharing no symbol with the state, so with a
        // positive threshold the symbol index finds every candidate that can be kept.
        if config.use_token_matching && config.recall_threshold > 0.0 {
            return reachable_by_index(state, kb, config.recall_threshold);
        }
        return all();
    }
    let n = state.ids.len() as f64;
    let mut current: Option<Vec<PatternId>> = None;
    for stage in &config.filter_pipeline {
        match stage {
            FilterKind::Length => {
                let min_ratio = nonzero_or(config.length_min_ratio, 0.5);
                let max_ratio = nonzero_or(config.length_max_ratio, 2.0);
                let min_len = ((n * min_ratio) as usize).max(1);
                let max_len = (n * max_ratio) as usize;
                let input = current.take().unwrap_or_else(all);
                current = Some(
                    input
                        .into_iter()
                        .filter(|id| {
                            let len = kb.pattern(*id).length();
                            min_len <= len && len <= max_len
                        })
                        .collect(),
                );
            }
            FilterKind::Jaccard | FilterKind::Minhash => {
                // Minhash is the exact Jaccard test here, not an LSH estimate (documented
                // divergence allowed by §4.2). Like LSH, it only ever surfaces patterns that
                // share a symbol with the state, even at a threshold of 0.
                let (threshold, min_overlap) = match stage {
                    FilterKind::Jaccard => (config.jaccard_threshold, config.jaccard_min_overlap),
                    _ => (config.minhash_threshold, 1),
                };
                let overlaps = sharing_a_symbol(state, kb);
                let state_distinct = state.ids.iter().collect::<FxHashSet<_>>().len();
                let passes = |id: &PatternId| {
                    let Some(intersection) = overlaps.get(id).map(|c| *c as usize) else {
                        return threshold <= 0.0 && min_overlap == 0;
                    };
                    let pattern_distinct = counts_in_order(&kb.pattern(*id).flat).len();
                    let union = pattern_distinct + state_distinct - intersection;
                    intersection >= min_overlap
                        && ratio_or_zero(intersection as f64, union as f64) >= threshold
                };
                let input = current.take().unwrap_or_else(all);
                current = Some(input.into_iter().filter(passes).collect());
            }
            // Python-side filters: before any database-side filter upstream errors and skips
            // them; after one, bloom passes everything and rapidfuzz repeats the threshold
            // test that always follows the pipeline.
            FilterKind::Bloom | FilterKind::Rapidfuzz => {}
        }
        if current.as_ref().is_some_and(Vec::is_empty) {
            break;
        }
    }
    current.unwrap_or_default()
}

fn nonzero_or(value: f64, default: f64) -> f64 {
    if value == 0.0 {
        default
    } else {
        value
    }
}

thread_local! {
    /// Per-pattern accumulator reused across predictions on this thread (all zeros between
    /// uses), so candidate selection allocates nothing proportional to the node's size.
    static PATTERN_SCRATCH: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Patterns that share a symbol with the state and whose similarity could reach `threshold`:
/// LCS ≤ Σ over shared symbols of the symbol's count in the state, and token similarity grows
/// with the LCS, so a pattern whose bound misses the threshold cannot be kept (§4.3).
fn reachable_by_index(state: &StateTokens, kb: &NodeKb, threshold: f64) -> Vec<PatternId> {
    let mut counts: Vec<(SymId, u32)> = Vec::with_capacity(state.ids.len());
    for id in state
        .ids
        .iter()
        .filter(|id| (**id as usize) < kb.total_symbols())
    {
        match counts.iter_mut().find(|(seen, _)| seen == id) {
            Some(slot) => slot.1 += 1,
            None => counts.push((*id, 1)),
        }
    }
    let state_len = state.ids.len();
    PATTERN_SCRATCH.with(|cell| {
        let mut bound = cell.borrow_mut();
        if bound.len() < kb.patterns().len() {
            bound.resize(kb.patterns().len(), 0);
        }
        let mut touched: Vec<PatternId> = Vec::new();
        for (symbol, count) in &counts {
            for pattern in &kb.symbol(*symbol).patterns {
                let slot = &mut bound[*pattern as usize];
                if *slot == 0 {
                    touched.push(*pattern);
                }
                *slot += count;
            }
        }
        touched.retain(|id| {
            let slot = &mut bound[*id as usize];
            let pattern_len = kb.pattern(*id).length();
            let lcs_bound = (*slot as usize).min(pattern_len).min(state_len);
            *slot = 0;
            matcher::token_similarity(lcs_bound, pattern_len, state_len) >= threshold
        });
        touched
    })
}

/// Pattern → number of distinct state symbols it contains, for patterns sharing at least one.
fn sharing_a_symbol(state: &StateTokens, kb: &NodeKb) -> FxHashMap<PatternId, u32> {
    let mut distinct: Vec<SymId> = state
        .ids
        .iter()
        .copied()
        .filter(|id| (*id as usize) < kb.total_symbols())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut overlaps: FxHashMap<PatternId, u32> = FxHashMap::default();
    for symbol in distinct {
        for pattern in &kb.symbol(symbol).patterns {
            *overlaps.entry(*pattern).or_insert(0) += 1;
        }
    }
    overlaps
}

/// The state indexed once per prediction, plus reusable buffers: candidates cost no setup.
struct Matchers {
    tokens: StateMatcher<SymId>,
    chars: Option<CharStateMatcher>,
    blocks: Vec<Block>,
}

impl Matchers {
    fn new(state: &StateTokens, config: &EngineConfig) -> Self {
        Matchers {
            tokens: StateMatcher::new(&state.ids),
            chars: (!config.use_token_matching).then(|| CharStateMatcher::new(&state.names)),
            blocks: Vec::new(),
        }
    }
}

/// §4.3–§4.5 for one candidate. `None` when it falls below the threshold.
fn score_candidate(
    id: PatternId,
    state: &StateTokens,
    kb: &NodeKb,
    config: &EngineConfig,
    threshold: f64,
    weights: Option<&Weights>,
    matchers: &mut Matchers,
) -> Option<Scored> {
    let pattern = kb.pattern(id);
    let a = &pattern.flat;
    let b = &state.ids;
    let similarity = match matchers.chars.as_mut() {
        None => matchers.tokens.token_similarity(a),
        Some(chars) => {
            let pattern_names: Vec<&str> = a.iter().map(|s| kb.symbol_name(*s)).collect();
            chars.similarity(&pattern_names)
        }
    };
    if similarity < threshold {
        return None;
    }
    matchers.tokens.matching_blocks(a, &mut matchers.blocks);
    let blocks = &matchers.blocks;
    if blocks.is_empty() && threshold > 0.0 {
        return None;
    }
    let (past_len, present_end) = match (blocks.first(), blocks.last()) {
        (Some(first), Some(last)) => (first.a, last.a + last.size),
        _ => (0, a.len()),
    };

    // Matches, anomalies and the flat extras count used by snr (§4.4).
    let mut anomalies = Vec::new();
    let (matches, extras_flat) = if config.fuzzy_token_threshold > 0.0 {
        let pattern_names: Vec<&str> = a.iter().map(|s| kb.symbol_name(*s)).collect();
        let min_score = config.fuzzy_token_threshold * 100.0;
        let mut matches = Vec::new();
        let mut unmatched = 0usize;
        for (token, name) in b.iter().zip(&state.names) {
            match matcher::best_fuzzy_match(name, &pattern_names, min_score) {
                Some((at, score)) => {
                    matches.push(*token);
                    if *name != pattern_names[at] {
                        anomalies.push(Anomaly {
                            observed: name.to_string(),
                            expected: pattern_names[at].to_string(),
                            similarity: score / 100.0,
                        });
                    }
                }
                None => unmatched += 1,
            }
        }
        (matches, unmatched)
    } else {
        let matches: Vec<SymId> = blocks
            .iter()
            .flat_map(|block| b[block.b..block.b + block.size].iter().copied())
            .collect();
        // §4.4 runs the matcher again on (present_flat, B) for the flat extras. Every block of
        // (A, B) lies inside present_flat, and the longest-match recursion on the sub-window
        // picks the same blocks (an equally long block earlier in A would have been picked for
        // (A, B) too), so the state symbols outside those blocks are exactly the flat extras.
        let extras = b.len() - matches.len();
        (matches, extras)
    };

    // §4.5 step 1: whole events for the past and present flat regions (`c` is the flat index
    // where event `k` starts).
    let lens = &pattern.event_lens;
    let (mut k, mut c) = (0usize, 0usize);
    while k < lens.len() && c < past_len {
        c += lens[k] as usize;
        k += 1;
    }
    let (mut present_start, mut present_from) = (k, c);
    while k < lens.len() && c < present_end {
        c += lens[k] as usize;
        k += 1;
    }
    let (future_start, future_from) = (k, c);
    // §4.5 step 2: the past-fix (QUIRK-14 kept).
    if present_start > 0 {
        if let Some(first_match) = matches.first() {
            let last_past_from = present_from - lens[present_start - 1] as usize;
            if a[last_past_from..present_from].contains(first_match) {
                present_start -= 1;
                present_from = last_past_from;
            }
        }
    }
    let present_flat = (present_from, future_from);
    let present_symbols = &a[present_flat.0..present_flat.1];

    let m = matches.len();
    let evidence = ratio_or_zero(m as f64, a.len() as f64);
    let confidence = ratio_or_zero(m as f64, present_symbols.len() as f64);
    let snr = {
        let (signal, noise) = (2 * m as i64, extras_flat as i64);
        ratio_or_zero((signal - noise) as f64, (signal + noise) as f64)
    };

    let weighted = weights.map(|w| {
        let matched = w.total(&matches);
        let extras: Vec<SymId> = b
            .iter()
            .copied()
            .filter(|id| !present_symbols.contains(id))
            .collect();
        Weighted {
            similarity: weighted_similarity(&w.map, &matches, b, a),
            evidence: ratio_or_zero(matched, w.total(a)),
            confidence: ratio_or_zero(matched, w.total(present_symbols)),
            snr: ratio_or_zero(matched, matched + w.total(&extras)),
        }
    });

    Some(Scored {
        id,
        similarity,
        matches,
        anomalies,
        present_events: (present_start, future_start),
        present_flat,
        number_of_blocks: blocks.len(),
        evidence,
        confidence,
        snr,
        weighted,
        frequency: pattern.frequency_floor(),
        pre_potential: None,
        itfdf_similarity: 0.0,
        confluence: 0.0,
        entropy: 0.0,
        normalized_entropy: 0.0,
        global_normalized_entropy: 0.0,
        tfidf_score: 0.0,
        pattern_probability: 0.0,
        weighted_strength: 0.0,
        predictive_information: 0.0,
        bayesian_prior: 0.0,
        bayesian_posterior: 0.0,
        potential: 0.0,
    })
}

/// §4.6–§4.7.6 over the (pruned) ensemble; returns `future_potentials`.
fn ensemble_metrics(
    scored: &mut [Scored],
    state: &StateTokens,
    kb: &NodeKb,
) -> Vec<FuturePotential> {
    let totals = kb.totals();
    let n = totals.total_unique_patterns as f64;
    let tpf = totals.total_pattern_frequencies as f64;
    let t = kb.total_symbols() as f64;
    let frequency_sum: u64 = scored.iter().map(|s| s.frequency).sum();
    let f_sum = frequency_sum as f64;

    // §4.6 step 3: the probability cache covers matches and (event-aligned) missing symbols,
    // i.e. every matched symbol and every present symbol. Each symbol of the cache or the state
    // also gets its rank in name order (the vocabulary order of §4.7.1; Decision D12 for the
    // sums upstream takes over sets) and its state-vector value, resolved once per request.
    #[derive(Clone, Copy)]
    struct SymbolInfo {
        probability: Option<f64>,
        rank: u32,
        state_count: u32,
        /// Per-symbol terms of §4.7.2 and §4.7.4, computed once per request (same bits as
        /// computing them per use): `log10(q)`, `p·ln(p)/ln(T)`, `log2(N/D) + 1`.
        log10_q: f64,
        global_term: f64,
        idf: f64,
    }
    let mut vocabulary: FxHashMap<SymId, SymbolInfo> = FxHashMap::default();
    for s in scored.iter() {
        let pattern = kb.pattern(s.id);
        let present = &pattern.flat[s.present_flat.0..s.present_flat.1];
        for id in s.matches.iter().chain(present) {
            vocabulary.entry(*id).or_insert_with(|| SymbolInfo {
                probability: Some(if (*id as usize) >= kb.total_symbols() || n == 0.0 {
                    0.0
                } else {
                    kb.symbol(*id).pattern_member_frequency as f64 / n
                }),
                rank: 0,
                state_count: 0,
                log10_q: 0.0,
                global_term: 0.0,
                idf: 0.0,
            });
        }
    }
    for id in &state.ids {
        vocabulary
            .entry(*id)
            .or_insert(SymbolInfo {
                probability: None,
                rank: 0,
                state_count: 0,
                log10_q: 0.0,
                global_term: 0.0,
                idf: 0.0,
            })
            .state_count += 1;
    }
    {
        let mut by_name: Vec<(u64, SymId)> = vocabulary
            .keys()
            .map(|id| (name_prefix_key(state.name(*id, kb)), *id))
            .collect();
        by_name.sort_unstable_by(|x, y| {
            x.0.cmp(&y.0)
                .then_with(|| state.name(x.1, kb).cmp(state.name(y.1, kb)))
        });
        for (rank, (_, id)) in by_name.into_iter().enumerate() {
            if let Some(info) = vocabulary.get_mut(&id) {
                info.rank = rank as u32;
            }
        }
    }
    let ln_t = t.ln();
    let document_frequency = |probability: Option<f64>| -> f64 {
        match probability {
            Some(p) => ((p * n) as u64).max(1) as f64,
            None => 1.0,
        }
    };
    for info in vocabulary.values_mut() {
        let q = info.probability.unwrap_or(1e-10);
        info.log10_q = if q <= 0.0 { 1e-10f64 } else { q }.log10();
        info.global_term = match info.probability {
            Some(p) if p > 0.0 => p * (p.ln() / ln_t),
            _ => 0.0,
        };
        info.idf = (n / document_frequency(info.probability)).log2() + 1.0;
    }
    let outside = SymbolInfo {
        probability: None,
        rank: u32::MAX,
        state_count: 0,
        log10_q: (1e-10f64).log10(),
        global_term: 0.0,
        idf: (n / 1.0).log2() + 1.0,
    };
    let info = |id: SymId| -> SymbolInfo { vocabulary.get(&id).copied().unwrap_or(outside) };
    let state_value = |i: &SymbolInfo| i.probability.unwrap_or(0.0) * f64::from(i.state_count);

    // §4.7.1: the state vector's norm over the sorted vocabulary (only state symbols count).
    let state_norm = {
        let mut state_symbols: Vec<SymbolInfo> = vocabulary
            .values()
            .filter(|i| i.state_count > 0)
            .copied()
            .collect();
        state_symbols.sort_unstable_by_key(|i| i.rank);
        state_symbols
            .iter()
            .map(|i| state_value(i) * state_value(i))
            .sum::<f64>()
            .sqrt()
    };

    let mut distinct: Vec<(SymId, u64, SymbolInfo)> = Vec::new();
    for s in scored.iter_mut() {
        let pattern = kb.pattern(s.id);
        let present = &pattern.flat[s.present_flat.0..s.present_flat.1];
        let length = present.len() as f64;
        distinct.clear();
        distinct.extend(
            counts_in_order(present)
                .into_iter()
                .map(|(id, count)| (id, count, info(id))),
        );
        let log10_q_of = |id: SymId| -> f64 {
            distinct
                .iter()
                .find(|(seen, _, _)| *seen == id)
                .map_or(outside.log10_q, |(_, _, i)| i.log10_q)
        };

        // §4.7.2 confluence: left to right over the present symbols.
        s.confluence = if present.is_empty() {
            0.0
        } else {
            let pattern_probability = ratio_or_zero(s.frequency as f64, tpf);
            let log_sum: f64 = present.iter().map(|id| log10_q_of(*id)).sum();
            pattern_probability * (1.0 - 10f64.powf(log_sum))
        };

        // §4.7.4 runtime entropies, first-occurrence order.
        let mut entropy = 0.0;
        let mut normalized_entropy = 0.0;
        for (_, count, _) in &distinct {
            let p = *count as f64 / length;
            entropy -= p * p.log2();
            if t > 1.0 {
                normalized_entropy -= p * (p.ln() / ln_t);
            }
        }

        // From here on: sorted-name order.
        distinct.sort_unstable_by_key(|(_, _, i)| i.rank);

        // §4.7.1 itfdf_similarity.
        let mut dot = 0.0;
        let mut norm = 0.0;
        for (_, count, i) in &distinct {
            let value = i.probability.unwrap_or(0.0) * *count as f64;
            norm += value * value;
            dot += value * state_value(i);
        }
        let norm = norm.sqrt();
        let distance = if state_norm == 0.0 {
            1.0
        } else {
            let product = norm * state_norm;
            1.0 - if product == 0.0 { 0.0 } else { dot / product }
        };
        s.itfdf_similarity = if f_sum == 0.0 {
            0.0
        } else {
            1.0 - distance * s.frequency as f64 / f_sum
        };

        match kb.precomputed(s.id) {
            Some(pre) => {
                s.entropy = pre.entropy;
                s.normalized_entropy = pre.normalized_entropy;
                s.global_normalized_entropy = pre.global_normalized_entropy;
                s.tfidf_score = if n > 0.0 && !pre.tf_vector.is_empty() {
                    let sum: f64 = pre
                        .tf_vector
                        .iter()
                        .map(|(id, tf)| tf * info(*id).idf)
                        .sum();
                    sum / pre.tf_vector.len() as f64
                } else {
                    0.0
                };
            }
            None => {
                s.entropy = entropy;
                s.normalized_entropy = normalized_entropy;
                let mut global = 0.0;
                if t > 1.0 {
                    for (_, _, i) in &distinct {
                        global -= i.global_term;
                    }
                }
                s.global_normalized_entropy = global;
                s.tfidf_score = if length > 0.0 && n > 0.0 {
                    let sum: f64 = distinct
                        .iter()
                        .map(|(_, count, i)| (*count as f64 / length) * i.idf)
                        .sum();
                    sum / distinct.len() as f64
                } else {
                    0.0
                };
            }
        }
    }

    // §4.7.5 predictive information and future potentials.
    let mut future_potentials = Vec::new();
    if frequency_sum > 0 {
        // Futures are grouped by their events' symbol sets: each event sorted (by id, which is
        // as canonical as by name for equality), events separated by a marker.
        let mut groups: IndexMap<Vec<SymId>, (f64, usize, usize)> = IndexMap::new();
        let mut group_of: Vec<Option<usize>> = Vec::with_capacity(scored.len());
        for (at, s) in scored.iter_mut().enumerate() {
            s.pattern_probability = s.frequency as f64 / f_sum;
            s.weighted_strength = s.similarity * s.pattern_probability;
            let pattern = kb.pattern(s.id);
            let mut future: Vec<SymId> = Vec::new();
            for event in pattern.events().skip(s.present_events.1) {
                let start = future.len();
                future.extend_from_slice(event);
                future[start..].sort_unstable();
                future.push(SymId::MAX);
            }
            if future.is_empty() {
                group_of.push(None);
                continue;
            }
            let entry = groups.entry(future);
            let index = entry.index();
            let slot = entry.or_insert((0.0, 0, at));
            slot.0 += s.frequency as f64 * s.similarity;
            slot.1 += 1;
            group_of.push(Some(index));
        }
        let total: f64 = groups.values().map(|g| g.0).sum();
        let aggregate = |g: &(f64, usize, usize)| ratio_or_zero(g.0, total);
        for (s, group) in scored.iter_mut().zip(&group_of) {
            s.predictive_information = match group.and_then(|g| groups.get_index(g)) {
                Some((_, g)) if aggregate(g) > 0.0 => s.weighted_strength / aggregate(g),
                _ => 0.0,
            };
        }
        future_potentials = groups
            .values()
            .map(|g| FuturePotential {
                future: {
                    let pattern = kb.pattern(scored[g.2].id);
                    kb.pattern_events_shared(
                        pattern,
                        scored[g.2].present_events.1..pattern.event_lens.len(),
                    )
                },
                aggregate_potential: aggregate(g),
                supporting_patterns: g.1,
                total_weighted_frequency: g.0,
            })
            .collect();
        future_potentials.sort_by(|x, y| y.aggregate_potential.total_cmp(&x.aggregate_potential));
    }

    // §4.7.6 Bayesian fields.
    if f_sum > 0.0 {
        for s in scored.iter_mut() {
            s.bayesian_prior = s.frequency as f64 / f_sum;
        }
        let evidence: f64 = scored.iter().map(|s| s.similarity * s.bayesian_prior).sum();
        for s in scored.iter_mut() {
            s.bayesian_posterior = if evidence == 0.0 {
                0.0
            } else {
                s.similarity * s.bayesian_prior / evidence
            };
        }
    }
    future_potentials
}

/// Builds the wire object for one ranked candidate.
fn materialize(s: &Scored, stm: &[Event], state: &StateTokens, kb: &NodeKb) -> FullPrediction {
    let pattern = kb.pattern(s.id);
    let events = kb.pattern_events_shared(pattern, 0..pattern.event_lens.len());
    let (present_start, future_start) = s.present_events;
    let present = &pattern.flat[s.present_flat.0..s.present_flat.1];
    let missing = pattern
        .events()
        .skip(present_start)
        .take(future_start - present_start)
        .map(|event| {
            event
                .iter()
                .filter(|symbol| !s.matches.contains(symbol))
                .map(|symbol| kb.symbol_arc(*symbol).clone())
                .collect()
        })
        .collect();
    // Event-aligned extras: per STM event, the symbols not in the present events.
    let mut offset = 0;
    let extras = stm
        .iter()
        .map(|event| {
            let ids = &state.ids[offset..offset + event.len()];
            offset += event.len();
            ids.iter()
                .filter(|id| !present.contains(id))
                .map(|id| state.shared(*id, kb))
                .collect()
        })
        .collect();
    FullPrediction {
        kind: PredictionType::Prototypical,
        name: pattern.hash.clone(),
        frequency: s.frequency,
        emotives: average_emotives(&pattern.emotives),
        matches: s.matches.iter().map(|id| state.shared(*id, kb)).collect(),
        past: events[..present_start].to_vec(),
        present: events[present_start..future_start].to_vec(),
        missing,
        extras,
        anomalies: s.anomalies.clone(),
        potential: s.potential,
        evidence: s.evidence,
        similarity: s.similarity,
        fragmentation: s.fragmentation(),
        snr: s.snr,
        confluence: s.confluence,
        predictive_information: s.predictive_information,
        future: events[future_start..].to_vec(),
        sequence: events,
        confidence: s.confidence,
        weighted_similarity: s.weighted.and_then(|w| w.similarity),
        weighted_evidence: s.weighted.map(|w| w.evidence),
        weighted_confidence: s.weighted.map(|w| w.confidence),
        weighted_snr: s.weighted.map(|w| w.snr),
        entropy: s.entropy,
        normalized_entropy: s.normalized_entropy,
        global_normalized_entropy: s.global_normalized_entropy,
        itfdf_similarity: s.itfdf_similarity,
        tfidf_score: s.tfidf_score,
        pattern_probability: s.pattern_probability,
        weighted_strength: s.weighted_strength,
        bayesian_posterior: s.bayesian_posterior,
        bayesian_prior: s.bayesian_prior,
        bayesian_likelihood: s.similarity,
        pre_potential: s.pre_potential,
    }
}

/// §4.9: the single-symbol path. Candidates are the patterns whose first symbol is the
/// observed one; no threshold, no filters; a flat object; `future_potentials` is `[]` (D6).
/// Ranking: by the session's `rank_sort_algo` when the flat object has that field, otherwise
/// by potential (the upstream behaviour); ties by name (D4).
fn single_symbol(state: &StateTokens, kb: &NodeKb, config: &EngineConfig) -> PredictionSet {
    let x = state.ids[0];
    let candidates: &[PatternId] = if (x as usize) < kb.total_symbols() {
        &kb.symbol(x).first_of
    } else {
        &[]
    };
    let weights = config.affinity_emotive.as_deref().map(|emotive| {
        let symbols = std::iter::once(x).chain(
            candidates
                .iter()
                .flat_map(|id| kb.pattern(*id).flat.iter().copied()),
        );
        Weights::new(emotive, symbols, kb)
    });

    let mut out: Vec<(PatternId, SingleSymbolPrediction)> = candidates
        .iter()
        .map(|id| {
            let pattern = kb.pattern(*id);
            let a = &pattern.flat;
            let b = &state.ids;
            let names: Vec<&str> = a.iter().map(|s| kb.symbol_name(*s)).collect();
            let similarity = if config.use_token_matching {
                2.0 * matcher::lcs_len(a, b) as f64 / (a.len() + b.len()) as f64
            } else {
                matcher::char_similarity(&names, &state.names)
            };
            // A[0] == x: one block (0, 0, 1), nothing missing or extra.
            let matches = vec![x];
            let m = matches.len() as f64;
            let evidence = m / a.len() as f64;
            let confidence = 1.0;
            let snr = m / (m + 0.0);
            let weighted = weights.as_ref().map(|w| {
                let matched = w.total(&matches);
                Weighted {
                    similarity: weighted_similarity(&w.map, &matches, b, a),
                    evidence: ratio_or_zero(matched, w.total(a)),
                    confidence: ratio_or_zero(matched, w.total(&matches)),
                    snr: ratio_or_zero(matched, matched),
                }
            });
            let potential = match weighted {
                Some(w) => (w.evidence + w.confidence) * w.snr + 1.0,
                None => (evidence + confidence) * snr + 1.0,
            };
            let symbol = state.shared(x, kb);
            let prediction = SingleSymbolPrediction {
                name: pattern.hash.clone(),
                pattern_data: kb.pattern_events_shared(pattern, 0..pattern.event_lens.len()),
                length: a.len(),
                frequency: pattern.frequency_floor(),
                emotives: average_emotives(&pattern.emotives),
                matches: vec![symbol.clone()],
                missing: Vec::new(),
                present: vec![symbol],
                past: Vec::new(),
                future: a[1..].iter().map(|s| kb.symbol_arc(*s).clone()).collect(),
                extras: Vec::new(),
                similarity,
                evidence,
                confidence,
                snr,
                fragmentation: 0,
                anomalies: Vec::new(),
                weighted_similarity: weighted.and_then(|w| w.similarity),
                weighted_evidence: weighted.map(|w| w.evidence),
                weighted_confidence: weighted.map(|w| w.confidence),
                weighted_snr: weighted.map(|w| w.snr),
                potential,
            };
            (*id, prediction)
        })
        .collect();

    rank(
        &mut out,
        config.rank_sort_algo,
        kb,
        |(id, _)| *id,
        |(_, p), key| single_symbol_key(p, key),
    );
    out.truncate(config.max_predictions);
    PredictionSet {
        predictions: out
            .into_iter()
            .map(|(_, p)| Prediction::SingleSymbol(Box::new(p)))
            .collect(),
        future_potentials: Vec::new(),
    }
}

fn single_symbol_key(p: &SingleSymbolPrediction, key: RankSortAlgo) -> f64 {
    let weighted = |value: Option<f64>| value.unwrap_or(f64::NEG_INFINITY);
    match key {
        RankSortAlgo::Similarity | RankSortAlgo::BayesianLikelihood => p.similarity,
        RankSortAlgo::Evidence => p.evidence,
        RankSortAlgo::Confidence => p.confidence,
        RankSortAlgo::Snr => p.snr,
        RankSortAlgo::Fragmentation => p.fragmentation as f64,
        RankSortAlgo::Frequency => p.frequency as f64,
        RankSortAlgo::WeightedSimilarity => weighted(p.weighted_similarity),
        RankSortAlgo::WeightedEvidence => weighted(p.weighted_evidence),
        RankSortAlgo::WeightedConfidence => weighted(p.weighted_confidence),
        RankSortAlgo::WeightedSnr => weighted(p.weighted_snr),
        _ => p.potential,
    }
}
