//! The protocol crate's prediction types must read what the engine emits without loss:
//! a full-path and a single-symbol `PredictionSet`, parsed and re-serialised, give the same JSON.

mod common;

use common::Harness;
use kato_protocol::{Prediction, PredictionSet};

/// Parses the engine's JSON with the protocol types and checks the round trip is exact (text).
fn assert_lossless(engine_json: &serde_json::Value) -> PredictionSet {
    let text = serde_json::to_string(engine_json).expect("engine json");
    let parsed: PredictionSet = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("protocol types reject the engine's predictions: {e}\n{text}"));
    assert_eq!(serde_json::to_string(&parsed).expect("re-serialise"), text);
    parsed
}

fn learned_harness() -> Harness {
    let mut h = Harness::new();
    h.obs_emotives(&["hello"], &[("joy", 0.5)]);
    h.obs(&["world"]);
    h.obs(&["again", "more"]);
    h.learn();
    h.learn_events(&[&["hello"], &["there"], &["friend"]]);
    h.learn_events(&[&["hello"], &["world"], &["again"]]);
    h
}

#[test]
fn full_path_predictions_parse_without_loss() {
    let mut h = learned_harness();
    h.obs(&["hello"]);
    h.obs(&["world", "stranger"]);
    let parsed = assert_lossless(&h.predictions());
    assert!(!parsed.predictions.is_empty());
    assert!(parsed
        .predictions
        .iter()
        .all(|p| matches!(p, Prediction::Full(_))));
}

#[test]
fn weighted_full_path_predictions_parse_without_loss() {
    let mut h = learned_harness();
    h.configure(
        serde_json::json!({"rank_sort_algo": "weighted_similarity", "affinity_emotive": "joy"}),
    );
    h.obs_emotives(&["hello"], &[("joy", 1.0)]);
    h.obs(&["world"]);
    let parsed = assert_lossless(&h.predictions());
    assert!(parsed.predictions.iter().any(|p| match p {
        Prediction::Full(full) => full.weighted_similarity.is_some(),
        Prediction::SingleSymbol(_) => false,
    }));
}

#[test]
fn single_symbol_predictions_parse_without_loss() {
    let mut h = learned_harness();
    h.obs(&["hello"]);
    let parsed = assert_lossless(&h.predictions());
    assert!(!parsed.predictions.is_empty());
    assert!(parsed
        .predictions
        .iter()
        .all(|p| matches!(p, Prediction::SingleSymbol(_))));
}
