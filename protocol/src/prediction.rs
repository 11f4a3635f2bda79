//! The prediction payload as the server emits it (ALGORITHM.md §4.9, §4.10): field names and
//! order mirror `server/src/engine/predict.rs`, so a re-serialised value is byte-identical.
//! `server/tests/protocol_conformance.rs` runs the engine and checks that it stays so.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One event: symbols observed together, sorted as the engine keeps them.
pub type Event = Vec<String>;
/// Emotive name → value, in the order they were first observed.
pub type Emotives = IndexMap<String, f64>;

/// Predictions for one STM: the pushed part of a `predictions` frame and an `observed` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PredictionSet {
    pub predictions: Vec<Prediction>,
    /// `[]` whenever it was not computed for this request.
    pub future_potentials: Vec<FuturePotential>,
}

/// One prediction: the full-path object (STM of 2+ symbols) or the flat single-symbol one.
/// Untagged on the wire; the full-path shape is the one with `"type": "prototypical"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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

/// `type` of a full-path prediction: always `"prototypical"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PredictionType {
    Prototypical,
}

/// A fuzzy-token substitution (ALGORITHM.md §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Anomaly {
    pub observed: String,
    pub expected: String,
    pub similarity: f64,
}

/// The full-path prediction object, fields in the order of ALGORITHM.md §4.10.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FullPrediction {
    #[serde(rename = "type")]
    pub kind: PredictionType,
    pub name: String,
    pub frequency: u64,
    pub emotives: Emotives,
    pub matches: Vec<String>,
    pub past: Vec<Event>,
    pub present: Vec<Event>,
    pub missing: Vec<Event>,
    pub extras: Vec<Event>,
    pub anomalies: Vec<Anomaly>,
    pub potential: f64,
    pub evidence: f64,
    pub similarity: f64,
    pub fragmentation: f64,
    pub snr: f64,
    pub confluence: f64,
    pub predictive_information: f64,
    pub sequence: Vec<Event>,
    pub future: Vec<Event>,
    pub confidence: f64,
    /// `null` unless a weighted rank sort is configured.
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
    /// Present only when the ensemble was pruned (ALGORITHM.md §4.6).
    #[serde(
        rename = "_pre_potential",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_potential: Option<f64>,
}

/// The single-symbol path's flat object (ALGORITHM.md §4.9): flat symbol lists, no `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SingleSymbolPrediction {
    pub name: String,
    pub pattern_data: Vec<Event>,
    pub length: u64,
    pub frequency: u64,
    pub emotives: Emotives,
    pub matches: Vec<String>,
    pub missing: Vec<String>,
    pub present: Vec<String>,
    pub past: Vec<String>,
    pub future: Vec<String>,
    pub extras: Vec<String>,
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

/// One entry of `future_potentials` (ALGORITHM.md §4.7.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FuturePotential {
    pub future: Vec<Event>,
    pub aggregate_potential: f64,
    pub supporting_patterns: u64,
    pub total_weighted_frequency: f64,
}
