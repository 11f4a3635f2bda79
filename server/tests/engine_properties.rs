//! Property tests of the engine (issue 2): determinism, stable names, bounded STM, replayable
//! knowledge-base records, and no panic on any observation the validator accepts.

use kato_server::engine::config::{parse_update, EngineConfig};
use kato_server::engine::kb::{KbRecord, NodeKb};
use kato_server::engine::observation::{Emotives, Observation};
use kato_server::engine::session::{SessionState, MAX_STM_EVENTS};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Symbols from a small alphabet so that patterns overlap and predictions are non-trivial,
/// plus the odd unicode, quote, backslash and empty string.
fn symbol() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-f]{1,2}",
        1 => Just(String::new()),
        1 => "\\PC{0,6}",
        1 => Just("it's \"quoted\" \\ \t".to_string()),
    ]
}

fn emotives() -> impl Strategy<Value = Emotives> {
    prop::collection::vec(("[a-c]", -100.0f64..100.0), 0..3)
        .prop_map(|pairs| pairs.into_iter().collect())
}

fn metadata() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    let value = prop_oneof![
        any::<i64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "\\PC{0,5}".prop_map(Value::from),
        Just(Value::Null),
        Just(json!([1, "two", [3.5, null], {"k": false}])),
    ];
    prop::collection::vec(("[a-c]", value), 0..3).prop_map(|pairs| pairs.into_iter().collect())
}

fn observation(dimension: usize) -> impl Strategy<Value = Observation> {
    let vectors = prop_oneof![
        4 => Just(Vec::new()),
        1 => prop::collection::vec(prop::collection::vec(-1e6f64..1e6, dimension..=dimension), 1..3),
    ];
    (
        prop::collection::vec(symbol(), 0..4),
        vectors,
        emotives(),
        metadata(),
    )
        .prop_map(|(strings, vectors, emotives, metadata)| Observation {
            strings,
            vectors,
            emotives,
            metadata,
            unique_id: None,
        })
}

fn config() -> impl Strategy<Value = Value> {
    (
        0usize..5,
        prop::bool::ANY,
        prop_oneof![Just(0.0), Just(0.1), Just(0.5)],
        prop::bool::ANY,
        prop_oneof![Just(0.0), Just(0.6)],
        prop_oneof![
            Just(json!([])),
            Just(json!(["length"])),
            Just(json!(["jaccard", "rapidfuzz"])),
            Just(json!(["bloom", "minhash"]))
        ],
        prop_oneof![Just(Value::Null), Just(json!("a"))],
        prop_oneof![
            Just("potential"),
            Just("similarity"),
            Just("confluence"),
            Just("frequency")
        ],
        1usize..4,
    )
        .prop_map(
            |(
                max_len,
                rolling,
                threshold,
                tokens,
                fuzzy,
                filters,
                affinity,
                rank,
                max_predictions,
            )| {
                json!({
                    "max_pattern_length": max_len,
                    "stm_mode": if rolling { "ROLLING" } else { "CLEAR" },
                    "recall_threshold": threshold,
                    "use_token_matching": tokens,
                    "fuzzy_token_threshold": fuzzy,
                    "filter_pipeline": filters,
                    "affinity_emotive": affinity,
                    "rank_sort_algo": rank,
                    "max_predictions": max_predictions,
                })
            },
        )
}

#[derive(Debug, Clone)]
enum Step {
    Observe(Box<Observation>),
    Learn,
    ClearStm,
    Predict,
}

fn steps(dimension: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            8 => observation(dimension).prop_map(|o| Step::Observe(Box::new(o))),
            2 => Just(Step::Learn),
            1 => Just(Step::ClearStm),
            2 => Just(Step::Predict),
        ],
        1..40,
    )
}

/// Runs the steps on a fresh node and returns every output as JSON text plus the records.
fn run(config: &EngineConfig, steps: &[Step]) -> (Vec<String>, Vec<KbRecord>, NodeKb) {
    run_with(config, steps, false)
}

/// `shared`: observe with read-only access whenever `needs_write` allows it, as the session
/// service does.
fn run_with(
    config: &EngineConfig,
    steps: &[Step],
    shared: bool,
) -> (Vec<String>, Vec<KbRecord>, NodeKb) {
    let mut kb = NodeKb::new();
    let mut session = SessionState::new();
    let mut records = Vec::new();
    let mut outputs = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let out = match step {
            Step::Observe(observation) => {
                let outcome = if shared && !session.needs_write(observation, config) {
                    session.observe_shared(&kb, observation, format!("obs-{i}"), config)
                } else {
                    session.observe(
                        &mut kb,
                        observation,
                        format!("obs-{i}"),
                        config,
                        &mut records,
                    )
                };
                match outcome {
                    Ok(observed) => {
                        let max = config.max_pattern_length;
                        assert!(session.stm.len() <= MAX_STM_EVENTS);
                        if max > 0 {
                            assert!(
                                session.stm.len() < max,
                                "STM {} with max_pattern_length {max}",
                                session.stm.len()
                            );
                        }
                        json!({
                            "stm_length": observed.stm_length,
                            "time": observed.time,
                            "auto": observed.auto_learned_pattern,
                            "predictions": observed.predictions,
                        })
                    }
                    Err(e) => json!({"error": e.to_string()}),
                }
            }
            Step::Learn => match session.learn(&mut kb, config, &mut records) {
                Ok(name) => json!({"learned": name}),
                Err(e) => json!({"error": e.to_string()}),
            },
            Step::ClearStm => {
                session.clear_stm();
                json!("cleared")
            }
            Step::Predict => json!(session.predictions(&kb, config)),
        };
        outputs.push(serde_json::to_string(&out).expect("serialisable"));
    }
    (outputs, records, kb)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn same_inputs_give_byte_identical_outputs_and_records_replay(
        update in config(),
        dimension in 1usize..4,
        steps in (1usize..4).prop_flat_map(steps),
    ) {
        let _ = dimension;
        let defaults = EngineConfig::default();
        let config = parse_update(&update, &defaults).expect("generated config is valid").apply_to(&defaults);
        let (first, records, kb) = run(&config, &steps);
        let (second, records_again, _) = run(&config, &steps);
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(&records, &records_again);
        // Shared (read-only) observes where allowed give exactly the same results.
        let (shared, records_shared, _) = run_with(&config, &steps, true);
        prop_assert_eq!(&first, &shared);
        prop_assert_eq!(&records, &records_shared);

        // A node rebuilt from the records (what the durable store does) predicts the same.
        let mut replayed = NodeKb::new();
        for record in &records {
            let text = serde_json::to_string(record).expect("record serialises");
            let back: KbRecord = serde_json::from_str(&text).expect("record parses");
            replayed.apply(&back);
        }
        let probe = SessionState { stm: vec![vec!["a".into()], vec!["b".into(), "c".into()]], ..Default::default() };
        prop_assert_eq!(
            serde_json::to_string(&probe.predictions(&kb, &config)).expect("json"),
            serde_json::to_string(&probe.predictions(&replayed, &config)).expect("json")
        );
        prop_assert_eq!(kb.totals(), replayed.totals());
    }

    #[test]
    fn names_are_stable_under_relearn(events in prop::collection::vec(prop::collection::vec(symbol(), 1..4), 1..5)) {
        let config = EngineConfig::default();
        let mut kb = NodeKb::new();
        let mut records = Vec::new();
        let mut names = Vec::new();
        for _ in 0..3 {
            let mut session = SessionState::new();
            for event in &events {
                session.observe(&mut kb, &Observation::strings(event.clone()), String::new(), &config, &mut records).expect("observe");
            }
            names.push(session.learn(&mut kb, &config, &mut records).expect("learn"));
        }
        prop_assert_eq!(&names[0], &names[1]);
        prop_assert_eq!(&names[1], &names[2]);
        let symbols: usize = events.iter().map(Vec::len).sum();
        if symbols >= 2 {
            let pattern = kb.pattern_by_name(&names[0]).expect("stored");
            prop_assert_eq!(pattern.frequency, 3);
            prop_assert_eq!(kb.totals().total_unique_patterns, 1);
        } else {
            prop_assert_eq!(names[0].as_str(), "");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// predict.rs derives the §4.4 flat extras from the (A, B) blocks instead of re-running the
    /// matcher on (present_flat, B): both must agree on every input.
    #[test]
    fn flat_extras_equal_state_outside_the_blocks(
        a in prop::collection::vec(0u8..5, 0..30),
        b in prop::collection::vec(0u8..5, 0..30),
    ) {
        use kato_server::engine::matcher::{matching_blocks, uncovered};
        let blocks = matching_blocks(&a, &b);
        let present = match (blocks.first(), blocks.last()) {
            (Some(first), Some(last)) => &a[first.a..last.a + last.size],
            _ => &a[..],
        };
        let matched: usize = blocks.iter().map(|block| block.size).sum();
        let (_, extras) = uncovered(present, &b);
        prop_assert_eq!(extras.len(), b.len() - matched);
    }
}
