//! A session's short-term state and the operations on it (ALGORITHM.md §1.2, §1.8, §2, §3.1):
//! observe, observe-sequence, learn, auto-learn, clear-stm, clear-all. Every knowledge-base
//! change is applied to the node AND pushed to `records`, so the caller can make it durable
//! before it acknowledges anything.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::config::{EngineConfig, StmMode};
use super::kb::{KbRecord, Learned, NodeKb};
use super::naming::{sum_vectors, vector_name};
use super::observation::{
    accumulate_metadata, average_emotives, sort_symbols, Emotives, Event, Metadata, Observation,
    PerceptData,
};
use super::predict::{predict, PredictionSet};

/// Session limits (§1.2 step 9): oldest entries are dropped beyond these.
pub const MAX_STM_EVENTS: usize = 1000;
pub const MAX_EMOTIVE_ENTRIES: usize = 1000;
pub const MAX_METADATA_ENTRIES: usize = 1000;
/// Vector neighbours per observed vector (§1.4).
pub const VECTOR_NEIGHBOURS: usize = 3;

/// Errors a client can cause; everything else in the engine is infallible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("Cannot learn from empty STM")]
    EmptyStm,
    /// A caller bug: `observe_shared` on an observation that needs exclusive access.
    #[error("observation needs exclusive access to the knowledge base")]
    NeedsExclusiveAccess,
    /// Decision D8 (QUIRK-23 fixed): vectors of one observation must have equal lengths, and
    /// match the dimension the node's first vector locked.
    #[error(
        "vector {vector_index} has dimension {actual_dimension}, expected {expected_dimension}"
    )]
    VectorDimension {
        vector_index: usize,
        expected_dimension: usize,
        actual_dimension: usize,
        vector_name: String,
    },
}

/// Everything a session owns besides its identity and config (§0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub stm: Vec<Event>,
    pub emotives: Vec<Emotives>,
    pub metadata: Vec<Metadata>,
    pub time: u64,
    pub percept_data: Option<PerceptData>,
    /// Predictions computed by the last observe (for cognition-data).
    /// Shared with the observe result that computed them, so keeping them costs no copy.
    pub predictions: Arc<PredictionSet>,
}

/// Result of one observe (§1.2 response), plus the predictions computed for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub stm_length: usize,
    pub time: u64,
    pub unique_id: String,
    /// `PTRN|…` when this observe auto-learned a pattern.
    pub auto_learned_pattern: Option<String>,
    /// Predictions for the STM right after the event was appended (before any auto-learn),
    /// `None` when the observation had no strings/vectors or `process_predictions` is off.
    pub predictions: Option<Arc<PredictionSet>>,
}

/// Options of observe-sequence (§1.8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceOptions {
    #[serde(default)]
    pub learn_after_each: bool,
    #[serde(default)]
    pub learn_at_end: bool,
    #[serde(default)]
    pub clear_stm_between: bool,
}

/// One item's outcome inside observe-sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceItem {
    pub sequence_position: usize,
    /// The item's observe result; its `stm_length` is taken after the item's
    /// `learn_after_each` learn, if any (as upstream reports it).
    pub observed: Observed,
}

/// Result of observe-sequence (§1.8).
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceOutcome {
    pub initial_stm_length: usize,
    pub final_stm_length: usize,
    pub results: Vec<SequenceItem>,
    /// Every learned name in order: explicit learns (may be `""`) and auto-learns.
    pub auto_learned_patterns: Vec<String>,
    pub final_learned_pattern: Option<String>,
    pub isolated: bool,
}

impl SessionState {
    pub fn new() -> Self {
        Self::default()
    }

    /// §1.2: one observation. `unique_id` is the id the caller assigned to it.
    pub fn observe(
        &mut self,
        kb: &mut NodeKb,
        observation: &Observation,
        unique_id: String,
        config: &EngineConfig,
        records: &mut Vec<KbRecord>,
    ) -> Result<Observed, EngineError> {
        self.observe_with(
            &mut Exclusive { kb, records },
            observation,
            unique_id,
            config,
        )
    }

    /// Whether observing `observation` may change the knowledge base (a vector to index, or an
    /// auto-learn). When it cannot, [`SessionState::observe_shared`] runs with shared access so
    /// the sessions of one node observe in parallel.
    pub fn needs_write(&self, observation: &Observation, config: &EngineConfig) -> bool {
        !observation.vectors.is_empty()
            || (!observation.is_empty_event()
                && config.max_pattern_length > 0
                && self.stm.len() + 1 >= config.max_pattern_length)
    }

    /// [`SessionState::observe`] with read-only access to the node; refuses (changing nothing)
    /// when [`SessionState::needs_write`] says the observation needs exclusive access.
    pub fn observe_shared(
        &mut self,
        kb: &NodeKb,
        observation: &Observation,
        unique_id: String,
        config: &EngineConfig,
    ) -> Result<Observed, EngineError> {
        if self.needs_write(observation, config) {
            return Err(EngineError::NeedsExclusiveAccess);
        }
        self.observe_with(&mut Shared(kb), observation, unique_id, config)
    }

    fn observe_with(
        &mut self,
        kb: &mut impl KbAccess,
        observation: &Observation,
        unique_id: String,
        config: &EngineConfig,
    ) -> Result<Observed, EngineError> {
        // Step 1: vectors → symbols, validated before anything changes.
        let vector_symbols = self.vector_symbols(kb, &observation.vectors, config)?;
        // Steps 2–3.
        let mut strings = observation.strings.clone();
        if config.sort_symbols {
            sort_symbols(&mut strings);
        }
        let mut event = vector_symbols;
        event.extend(strings);

        // Steps 6–7 come first here: the emotives and metadata of the observation that
        // completes an auto-learned pattern belong to that pattern (Decision D3).
        if !observation.emotives.is_empty() {
            self.emotives.push(observation.emotives.clone());
        }
        if !observation.metadata.is_empty() {
            self.metadata.push(observation.metadata.clone());
        }
        let percept_emotives = if self.emotives.is_empty() {
            Emotives::new()
        } else {
            average_emotives(&self.emotives)
        };

        // Step 4.
        let mut auto_learned_pattern = None;
        let mut predictions = None;
        if !observation.is_empty_event() {
            if !event.is_empty() {
                self.stm.push(event);
            }
            if config.process_predictions {
                let computed = Arc::new(predict(&self.stm, kb.kb(), config));
                self.predictions = computed.clone();
                predictions = Some(computed);
            }
            auto_learned_pattern = self.auto_learn(kb, config);
        }
        // Step 5.
        self.time += 1;
        // Step 8.
        let mut sorted_strings = observation.strings.clone();
        sort_symbols(&mut sorted_strings);
        self.percept_data = Some(PerceptData {
            strings: sorted_strings,
            vectors: observation.vectors.clone(),
            emotives: percept_emotives,
            path: Vec::new(),
            metadata: observation.metadata.clone(),
        });
        // Step 9.
        self.enforce_limits();
        Ok(Observed {
            stm_length: self.stm.len(),
            time: self.time,
            unique_id,
            auto_learned_pattern,
            predictions,
        })
    }

    /// §1.4 with Decisions D5 and D8: sum, name, find the 3 nearest stored vectors, index it.
    fn vector_symbols(
        &self,
        access: &mut impl KbAccess,
        vectors: &[Vec<f64>],
        config: &EngineConfig,
    ) -> Result<Vec<String>, EngineError> {
        let kb = access.kb();
        if vectors.is_empty() {
            return Ok(Vec::new());
        }
        let summed = sum_vectors(vectors).map_err(|mismatch| EngineError::VectorDimension {
            vector_index: mismatch.index,
            expected_dimension: mismatch.expected,
            actual_dimension: mismatch.actual,
            vector_name: format!("vectors[{}]", mismatch.index),
        })?;
        let name = vector_name(&summed);
        if let Some(expected) = kb.vectors().dimension() {
            if expected != summed.len() {
                return Err(EngineError::VectorDimension {
                    vector_index: 0,
                    expected_dimension: expected,
                    actual_dimension: summed.len(),
                    vector_name: name,
                });
            }
        }
        let mut symbols: Vec<String> = Vec::with_capacity(VECTOR_NEIGHBOURS + 1);
        for neighbour in kb.vectors().nearest(&summed, VECTOR_NEIGHBOURS) {
            if !symbols.iter().any(|s| s == neighbour) {
                symbols.push(neighbour.to_string());
            }
        }
        if !symbols.contains(&name) {
            symbols.push(name.clone());
        }
        if config.sort_symbols {
            sort_symbols(&mut symbols);
        }
        if !kb.vectors().contains(&name) {
            access.apply(KbRecord::Vector {
                name,
                values: summed,
            });
        }
        Ok(symbols)
    }

    /// §2.2 auto-learn in CLEAR and ROLLING modes.
    fn auto_learn(&mut self, kb: &mut impl KbAccess, config: &EngineConfig) -> Option<String> {
        let max = config.max_pattern_length;
        let len = self.stm.len();
        if max == 0 || len < max {
            return None;
        }
        let keep = if len > 1 && config.stm_mode == StmMode::Rolling {
            // Python `STM[-w:]` with w = max - 1; w == 0 keeps the whole STM (QUIRK-4 kept).
            let window = max - 1;
            if window == 0 {
                self.stm.clone()
            } else {
                self.stm[len.saturating_sub(window)..].to_vec()
            }
        } else {
            Vec::new()
        };
        let name = self.store_pattern(kb, config);
        self.stm = keep;
        name
    }

    /// §3.1 manual learn: `Ok("")` when nothing was stored (fewer than 2 symbols).
    pub fn learn(
        &mut self,
        kb: &mut NodeKb,
        config: &EngineConfig,
        records: &mut Vec<KbRecord>,
    ) -> Result<String, EngineError> {
        if self.stm.is_empty() {
            return Err(EngineError::EmptyStm);
        }
        let name = self.store_pattern(&mut Exclusive { kb, records }, config);
        self.stm.clear();
        Ok(name.unwrap_or_default())
    }

    /// Stores the whole STM as a pattern if it has at least 2 symbols, attaching and then
    /// clearing the accumulators (Decision D3; they are cleared even when nothing was stored,
    /// so a learn always starts the next pattern's emotives afresh).
    fn store_pattern(&mut self, kb: &mut impl KbAccess, config: &EngineConfig) -> Option<String> {
        let symbols: usize = self.stm.iter().map(Vec::len).sum();
        let emotives = std::mem::take(&mut self.emotives);
        let metadata = std::mem::take(&mut self.metadata);
        if symbols < 2 {
            return None;
        }
        let record = KbRecord::Learn {
            events: self.stm.clone(),
            emotives,
            metadata: accumulate_metadata(&metadata),
            persistence: config.persistence,
        };
        kb.apply(record).map(|l| format!("PTRN|{}", l.hash))
    }

    /// §2.5 clear-stm.
    pub fn clear_stm(&mut self) {
        *self = SessionState::default();
    }

    /// §2.5 clear-all: this session's state and the node's whole knowledge base (D9).
    pub fn clear_all(&mut self, kb: &mut NodeKb, records: &mut Vec<KbRecord>) {
        self.clear_stm();
        kb.apply(&KbRecord::ClearAll);
        records.push(KbRecord::ClearAll);
    }

    /// Predictions for the current STM with the session's config (GET predictions).
    pub fn predictions(&self, kb: &NodeKb, config: &EngineConfig) -> PredictionSet {
        predict(&self.stm, kb, config)
    }

    /// §1.8 observe-sequence. `unique_ids[i]` is the id of item `i`.
    /// An error on item `i` leaves the items before it applied (the caller reports the index).
    ///
    /// An empty list is a no-op (§1.8), so `learn_at_end` does not learn the STM left by earlier
    /// calls. Each item's `stm_length` is the STM length after its `learn_after_each` learn, as
    /// upstream reports it (§1.8 does not say; upstream builds the item after that learn).
    pub fn observe_sequence(
        &mut self,
        kb: &mut NodeKb,
        observations: &[Observation],
        unique_ids: Vec<String>,
        options: SequenceOptions,
        config: &EngineConfig,
        records: &mut Vec<KbRecord>,
    ) -> Result<SequenceOutcome, (usize, EngineError)> {
        let initial_stm_length = self.stm.len();
        if observations.is_empty() {
            return Ok(SequenceOutcome {
                initial_stm_length,
                final_stm_length: initial_stm_length,
                results: Vec::new(),
                auto_learned_patterns: Vec::new(),
                final_learned_pattern: None,
                isolated: options.clear_stm_between,
            });
        }
        let mut results = Vec::with_capacity(observations.len());
        let mut learned = Vec::new();
        for (position, (observation, unique_id)) in observations.iter().zip(unique_ids).enumerate()
        {
            if options.clear_stm_between && position > 0 {
                self.stm.clear();
            }
            let mut observed = self
                .observe(kb, observation, unique_id, config, records)
                .map_err(|e| (position, e))?;
            if options.learn_after_each && !self.stm.is_empty() {
                learned.push(self.learn(kb, config, records).map_err(|e| (position, e))?);
                observed.stm_length = self.stm.len();
            }
            if let Some(name) = &observed.auto_learned_pattern {
                learned.push(name.clone());
            }
            results.push(SequenceItem {
                sequence_position: position,
                observed,
            });
        }
        let mut final_learned_pattern = None;
        if options.learn_at_end && !self.stm.is_empty() {
            let name = self
                .learn(kb, config, records)
                .map_err(|e| (observations.len(), e))?;
            learned.push(name.clone());
            final_learned_pattern = Some(name);
        }
        Ok(SequenceOutcome {
            initial_stm_length,
            final_stm_length: self.stm.len(),
            results,
            auto_learned_patterns: learned,
            final_learned_pattern,
            isolated: options.clear_stm_between,
        })
    }

    fn enforce_limits(&mut self) {
        trim_oldest(&mut self.stm, MAX_STM_EVENTS);
        trim_oldest(&mut self.emotives, MAX_EMOTIVE_ENTRIES);
        trim_oldest(&mut self.metadata, MAX_METADATA_ENTRIES);
    }
}

/// How an operation reaches the node: exclusively (changes are applied and recorded) or shared
/// (read-only; only used when no change can happen).
trait KbAccess {
    fn kb(&self) -> &NodeKb;
    fn apply(&mut self, record: KbRecord) -> Option<Learned>;
}

struct Exclusive<'a> {
    kb: &'a mut NodeKb,
    records: &'a mut Vec<KbRecord>,
}

impl KbAccess for Exclusive<'_> {
    fn kb(&self) -> &NodeKb {
        self.kb
    }

    fn apply(&mut self, record: KbRecord) -> Option<Learned> {
        let learned = self.kb.apply(&record);
        self.records.push(record);
        learned
    }
}

struct Shared<'a>(&'a NodeKb);

impl KbAccess for Shared<'_> {
    fn kb(&self) -> &NodeKb {
        self.0
    }

    /// Unreachable by construction (`observe_shared` checks `needs_write` first); a change
    /// arriving here is dropped rather than applied without being recorded.
    fn apply(&mut self, _record: KbRecord) -> Option<Learned> {
        debug_assert!(false, "knowledge-base change under shared access");
        None
    }
}

fn trim_oldest<T>(list: &mut Vec<T>, keep: usize) {
    if list.len() > keep {
        list.drain(..list.len() - keep);
    }
}
