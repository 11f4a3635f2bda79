//! ALGORITHM.md §7 worked examples (including 7.S) and the §3.2 hash vectors, one table row per
//! case, run against the engine exactly as the session service drives it. Floats are compared
//! with a relative tolerance of 1e-9; everything else exactly.

use kato_server::engine::matcher::{lcs_len, lcs_ratio, matching_blocks, uncovered};
use kato_server::engine::predict::weighted_similarity;
use kato_server::engine::session::EngineError;
use serde_json::{json, Value};

mod common;
use common::*;
use std::collections::HashMap;

#[test]
fn section_3_2_pattern_name_vectors() {
    fn learn_unsorted(h: &mut Harness, events: &[&[&str]]) -> Value {
        h.configure(json!({"sort_symbols": false}));
        json!(h.learn_events(events))
    }
    run_table(&[
        Case {
            name: "hello world",
            run: |h| learn_unsorted(h, &[&["hello"], &["world"]]),
            expected: || json!("PTRN|7d0678ba6305341ce0d25133ab086208656a562f"),
        },
        Case {
            name: "a b c",
            run: |h| learn_unsorted(h, &[&["a"], &["b"], &["c"]]),
            expected: || json!("PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9"),
        },
        Case {
            name: "alpha beta gamma",
            run: |h| learn_unsorted(h, &[&["alpha"], &["beta"], &["gamma"]]),
            expected: || json!("PTRN|24e0f524f26eecfb14849cf3b3b57c44f3e705c2"),
        },
        Case {
            name: "beginning middle end",
            run: |h| learn_unsorted(h, &[&["beginning"], &["middle"], &["end"]]),
            expected: || json!("PTRN|63b6f94454dab80c6ace4a849bd99c0979c21b8b"),
        },
        Case {
            name: "two-symbol events",
            run: |h| learn_unsorted(h, &[&["bar", "foo"], &["hello", "world"]]),
            expected: || json!("PTRN|2f96a2ee3fcbc42e6e9d266a2bc24c82a9cc0931"),
        },
        Case {
            name: "quotes",
            run: |h| learn_unsorted(h, &[&["it's", "x"], &["a\"b"]]),
            expected: || json!("PTRN|303097c4811ad8571a139c8350055623cf56b4ad"),
        },
        Case {
            name: "non-ASCII, nbsp and tab",
            run: |h| learn_unsorted(h, &[&["café", "naïve"], &["\u{a0}", "tab\there"]]),
            expected: || json!("PTRN|879f74902321caa26abc80ee5abd5924ddcbe370"),
        },
        Case {
            name: "empty string and VCTR-like symbol",
            run: |h| learn_unsorted(h, &[&["", "A"], &["VCTR|x"]]),
            expected: || json!("PTRN|a8fc5309dc0c2b2811d3deb241618134250170e6"),
        },
    ]);
}

#[test]
fn section_7_observation_stm_and_learning() {
    run_table(&[
        Case {
            name: "7.1 sorting inside an event",
            run: |h| {
                let inputs: &[&[&str]] = &[
                    &["z", "a", "m"],
                    &["3", "1", "2"],
                    &["Zoo", "Apple", "apple"],
                    &["test_2", "test_1", "test_10"],
                    &["!special", "@symbol", "#hash"],
                    &["10", "2", "1", "20", "100", "3"],
                    &["z", "", "a", "middle"],
                ];
                let mut out = Vec::new();
                for input in inputs {
                    h.clear();
                    h.obs(input);
                    out.push(h.stm());
                }
                json!(out)
            },
            expected: || {
                json!([
                    [["a", "m", "z"]],
                    [["1", "2", "3"]],
                    [["Apple", "Zoo", "apple"]],
                    [["test_1", "test_10", "test_2"]],
                    [["!special", "#hash", "@symbol"]],
                    [["1", "10", "100", "2", "20", "3"]],
                    [["", "a", "middle", "z"]]
                ])
            },
        },
        Case {
            name: "7.2 empty observations tick time only",
            run: |h| {
                for input in [&["first"][..], &[], &["second"], &[], &["third"]] {
                    h.obs(input);
                }
                json!({"stm": h.stm(), "time": h.session.time})
            },
            expected: || json!({"stm": [["first"], ["second"], ["third"]], "time": 5}),
        },
        Case {
            name: "7.3a one symbol learns nothing and clears STM",
            run: |h| {
                h.obs(&["single"]);
                json!({"name": h.learn(), "stm": h.stm()})
            },
            expected: || json!({"name": "", "stm": []}),
        },
        Case {
            name: "7.3b learn on empty STM is an error",
            run: |h| {
                let result = h.session.learn(&mut h.kb, &h.config, &mut h.records);
                json!(result == Err(EngineError::EmptyStm))
            },
            expected: || json!(true),
        },
        Case {
            name: "7.3c insufficient strings",
            run: |h| {
                h.obs(&["lonely"]);
                json!(h.learn())
            },
            expected: || json!(""),
        },
        Case {
            name: "7.3 note: one event with two symbols is stored",
            run: |h| {
                h.obs(&["a", "b"]);
                json!(h.learn())
            },
            expected: || json!("PTRN|395314cc2f2880a00c3e6e11f1e02d8b8c45a0e4"),
        },
        Case {
            name: "7.4 deterministic names and frequency",
            run: |h| {
                let first = h.learn_events(&[&["a"], &["b"], &["c"]]);
                let second = h.learn_events(&[&["a"], &["b"], &["c"]]);
                let totals = h.kb.totals();
                json!({
                    "first": first,
                    "second": second,
                    "pattern": h.pattern(&first),
                    "a": h.symbol("a"), "b": h.symbol("b"), "c": h.symbol("c"),
                    "totals": totals,
                })
            },
            expected: || {
                let name = "PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9";
                let stats = json!({"frequency": 2, "pattern_member_frequency": 1});
                json!({
                    "first": name, "second": name,
                    "pattern": {"frequency": 2},
                    "a": stats, "b": stats, "c": stats,
                    "totals": {
                        "total_unique_patterns": 1,
                        "total_pattern_frequencies": 1,
                        "total_symbols_in_patterns_frequencies": 6
                    }
                })
            },
        },
        Case {
            name: "7.5 auto-learn CLEAR",
            run: |h| {
                h.configure(json!({"max_pattern_length": 3, "stm_mode": "CLEAR"}));
                let r1 = h.obs(&["clear1"]);
                let r2 = h.obs(&["clear2"]);
                let r3 = h.obs(&["clear3"]);
                let after_third = h.stm();
                h.obs(&["after_clear"]);
                json!({
                    "names": [r1["auto_learned_pattern"], r2["auto_learned_pattern"], r3["auto_learned_pattern"]],
                    "after_third": after_third,
                    "final": h.stm(),
                })
            },
            expected: || {
                json!({
                    "names": [null, null, "PTRN|83ba97d087414507b2c059e3742d08d9f00368cb"],
                    "after_third": [],
                    "final": [["after_clear"]],
                })
            },
        },
        Case {
            name: "7.6 auto-learn ROLLING",
            run: |h| {
                h.configure(json!({"max_pattern_length": 3, "stm_mode": "ROLLING"}));
                let names: Vec<Value> = ["A", "B", "C", "D", "E"]
                    .iter()
                    .map(|s| h.obs(&[s])["auto_learned_pattern"].clone())
                    .collect();
                json!({"names": names, "stm": h.stm()})
            },
            expected: || {
                json!({
                    "names": [
                        null, null,
                        "PTRN|5b93697e1e591a765dd0b3c91ae7b57fa44589d9",
                        "PTRN|c47f928fc5bc01bb5ff056f238105c8920fde7bf",
                        "PTRN|500395bcec5d10db5cdcfd0c86e887d956be1f09"
                    ],
                    "stm": [["D"], ["E"]],
                })
            },
        },
        Case {
            name: "7.6 rolling_mode_behavior",
            run: |h| {
                h.configure(json!({"max_pattern_length": 3, "stm_mode": "ROLLING"}));
                h.obs(&["roll1"]);
                h.obs(&["roll2"]);
                h.obs(&["roll3"]);
                let after_three = h.stm();
                h.obs(&["roll4"]);
                json!([after_three, h.stm()])
            },
            expected: || json!([[["roll2"], ["roll3"]], [["roll3"], ["roll4"]]]),
        },
        Case {
            name: "7.6 rolling windows of 2 and 4",
            run: |h| {
                h.configure(json!({"max_pattern_length": 2, "stm_mode": "ROLLING"}));
                for s in ["A", "B", "C"] {
                    h.obs(&[s]);
                }
                let two = h.session.stm.len();
                h.clear();
                h.configure(json!({"max_pattern_length": 4}));
                for s in ["A", "B", "C", "D", "E"] {
                    h.obs(&[s]);
                }
                json!([two, h.session.stm.len()])
            },
            expected: || json!([1, 3]),
        },
        Case {
            name: "7.6 invalid stm_mode behaves as CLEAR",
            run: |h| {
                h.configure(json!({"max_pattern_length": 3, "stm_mode": "INVALID_MODE"}));
                for s in ["X", "Y", "Z", "W", "V"] {
                    h.obs(&[s]);
                }
                h.stm()
            },
            expected: || json!([["W"], ["V"]]),
        },
        Case {
            name: "7.14 emotive window and averaging",
            run: |h| {
                h.configure(json!({"recall_threshold": 0.2}));
                h.obs_emotives(&["A"], &[("value", 1.0)]);
                h.obs_emotives(&["B"], &[("value", 0.8)]);
                h.obs_emotives(&["C"], &[("value", 0.6)]);
                let name = h.learn();
                h.clear();
                h.obs_emotives(&["A"], &[("value", 0.4)]);
                h.obs_emotives(&["B"], &[("value", 0.2)]);
                h.obs_emotives(&["C"], &[("value", 0.1)]);
                h.learn();
                h.clear();
                h.obs(&["A"]);
                h.obs(&["B"]);
                json!({"pattern": h.pattern(&name), "prediction": h.predictions()["predictions"][0]})
            },
            expected: || {
                json!({
                    "pattern": {
                        "frequency": 2,
                        "emotives": [{"value": 0.8}, {"value": 0.6}, {"value": 0.4}, {"value": 0.2}, {"value": 0.1}]
                    },
                    "prediction": {"emotives": {"value": 0.41999999999999993}}
                })
            },
        },
        Case {
            name: "7.14 window overflow keeps the last 5 observations",
            run: |h| {
                for i in 0..7 {
                    h.obs_emotives(&[&format!("item_{i}")], &[("value", i as f64)]);
                }
                let name = h.learn();
                h.pattern(&name)["emotives"].clone()
            },
            expected: || json!([{"value": 2.0}, {"value": 3.0}, {"value": 4.0}, {"value": 5.0}, {"value": 6.0}]),
        },
        Case {
            name: "7.14 averaging in predictions",
            run: |h| {
                h.obs_emotives(&["p"], &[("joy", 1.0), ("confidence", 0.8)]);
                h.obs_emotives(&["q"], &[("joy", 0.5), ("confidence", 0.6)]);
                h.obs_emotives(&["r"], &[("joy", 0.3), ("confidence", 0.4)]);
                h.learn();
                h.obs(&["p"]);
                h.obs(&["q"]);
                h.predictions()["predictions"][0]["emotives"].clone()
            },
            expected: || json!({"joy": 0.6, "confidence": 0.6}),
        },
        Case {
            name: "7.15a metadata type conversion",
            run: |h| {
                h.obs_metadata(
                    &["A"],
                    json!({"count": 123, "price": 45.67, "flag": true, "name": "test"}),
                );
                h.obs_metadata(&["B"], json!({}));
                let name = h.learn();
                h.pattern(&name)["metadata"].clone()
            },
            expected: || json!({"count": ["123"], "price": ["45.67"], "flag": ["True"], "name": ["test"]}),
        },
        Case {
            name: "7.15b metadata accumulation with re-learning",
            run: |h| {
                h.obs_metadata(&["X"], json!({"version": "v1"}));
                h.obs_metadata(&["Y"], json!({"version": "v1"}));
                let name = h.learn();
                h.obs_metadata(&["X"], json!({"version": "v2"}));
                h.obs_metadata(&["Y"], json!({"version": "v2"}));
                h.learn();
                h.pattern(&name)["metadata"].clone()
            },
            expected: || json!({"version": ["v1", "v2"]}),
        },
        Case {
            name: "7.15c duplicate metadata filtered",
            run: |h| {
                let mut name = String::new();
                for _ in 0..5 {
                    h.obs_metadata(&["A"], json!({"tag": "constant"}));
                    h.obs_metadata(&["B"], json!({"tag": "constant"}));
                    name = h.learn();
                }
                h.pattern(&name)["metadata"].clone()
            },
            expected: || json!({"tag": ["constant"]}),
        },
        Case {
            name: "7.19a affinity from one learn",
            run: |h| {
                h.obs_emotives(&["A"], &[("joy", 0.8)]);
                h.obs_emotives(&["B"], &[("joy", 0.4)]);
                h.learn();
                json!([h.symbol("A")["affinity"], h.symbol("B")["affinity"]])
            },
            expected: || json!([{"joy": 0.6000000000000001}, {"joy": 0.6000000000000001}]),
        },
        Case {
            name: "7.19b affinity accumulates across patterns",
            run: |h| {
                h.obs_emotives(&["A"], &[("joy", 1.0)]);
                h.obs_emotives(&["B"], &[("joy", 1.0)]);
                h.learn();
                h.new_session();
                h.obs_emotives(&["B"], &[("joy", 2.0)]);
                h.obs_emotives(&["C"], &[("joy", 2.0)]);
                h.learn();
                json!([
                    h.symbol("A")["affinity"],
                    h.symbol("B")["affinity"],
                    h.symbol("C")["affinity"]
                ])
            },
            expected: || json!([{"joy": 1.0}, {"joy": 3.0}, {"joy": 2.0}]),
        },
        Case {
            name: "3.4 affinity with varying emotive keys",
            run: |h| {
                h.obs_emotives(&["D"], &[("utility", 30.0), ("energy", -5.0)]);
                h.obs_emotives(&["E"], &[("utility", 30.0), ("energy", -5.0)]);
                h.learn();
                h.new_session();
                h.obs_emotives(&["D"], &[("utility", -5.0), ("happy", 12.0)]);
                h.obs_emotives(&["F"], &[("utility", -5.0), ("happy", 12.0)]);
                h.learn();
                json!([
                    h.symbol("D")["affinity"],
                    h.symbol("E")["affinity"],
                    h.symbol("F")["affinity"]
                ])
            },
            expected: || {
                json!([
                    {"utility": 25.0, "energy": -5.0, "happy": 12.0},
                    {"utility": 30.0, "energy": -5.0},
                    {"utility": -5.0, "happy": 12.0}
                ])
            },
        },
    ]);
}

#[test]
fn section_7_predictions() {
    run_table(&[
        Case {
            name: "7.7 past / present / future",
            run: |h| {
                h.configure(json!({"recall_threshold": 0.3}));
                let name = h.learn_events(&[&["beginning"], &["middle"], &["end"]]);
                h.clear();
                h.obs(&["middle"]);
                h.obs(&["end"]);
                json!({"name": name, "predictions": h.predictions()})
            },
            expected: || {
                json!({
                    "name": "PTRN|63b6f94454dab80c6ace4a849bd99c0979c21b8b",
                    "predictions": {
                        "predictions": [{
                            "past": [["beginning"]], "present": [["middle"], ["end"]], "future": [],
                            "similarity": 0.8, "evidence": 0.6666666666666666, "confidence": 1.0,
                            "snr": 1.0, "fragmentation": 0.0, "matches": ["middle", "end"],
                            "missing": [[], []], "extras": [[], []], "entropy": 1.0,
                            "normalized_entropy": 0.6309297535714574, "global_normalized_entropy": 0.0,
                            "itfdf_similarity": 0.9999999999999998, "confluence": 0.0,
                            "tfidf_score": 0.5, "predictive_information": 0.0,
                            "pattern_probability": 1.0, "weighted_strength": 0.8,
                            "bayesian_prior": 1.0, "bayesian_likelihood": 0.8, "bayesian_posterior": 1.0,
                            "potential": 3.666666666666666
                        }],
                        "future_potentials": []
                    }
                })
            },
        },
        Case {
            name: "7.8 event-aligned missing",
            run: |h| {
                h.learn_events(&[&["hello", "world"], &["bar", "foo"]]);
                h.clear();
                h.obs(&["hello"]);
                h.obs(&["foo"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{
                    "missing": [["world"], ["bar"]], "present": [["hello", "world"], ["bar", "foo"]],
                    "past": [], "future": [], "matches": ["hello", "foo"],
                    "similarity": 0.6666666666666665, "evidence": 0.5, "confidence": 0.5, "snr": 1.0,
                    "fragmentation": 1.0, "extras": [[], []], "itfdf_similarity": 0.7071067811865475,
                    "entropy": 2.0, "normalized_entropy": 1.0, "tfidf_score": 0.25,
                    "potential": 2.2071067811865475
                }])
            },
        },
        Case {
            name: "7.9 missing and extras together",
            run: |h| {
                h.learn_events(&[&["a", "b"], &["c", "d"]]);
                h.clear();
                h.obs(&["a", "x"]);
                h.obs(&["c", "y"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{
                    "missing": [["b"], ["d"]], "extras": [["x"], ["y"]],
                    "similarity": 0.5, "evidence": 0.5, "confidence": 0.5,
                    "snr": 0.3333333333333333, "fragmentation": 1.0,
                    "itfdf_similarity": 0.7071067811865475, "potential": 1.5404401145198807
                }])
            },
        },
        Case {
            name: "7.10a recall threshold boundaries at similarity 0.8",
            run: |h| {
                h.learn_events(&[&["alpha"], &["beta"], &["gamma"]]);
                h.obs(&["alpha"]);
                h.obs(&["beta"]);
                let mut counts = Vec::new();
                for threshold in [0.0, 0.1, 0.3, 0.5, 0.7, 0.9] {
                    h.configure(json!({"recall_threshold": threshold}));
                    counts.push(
                        h.predictions()["predictions"]
                            .as_array()
                            .map_or(0, Vec::len),
                    );
                }
                h.configure(json!({"recall_threshold": 0.7}));
                json!({"counts": counts, "at_0_7": h.predictions()["predictions"][0]})
            },
            expected: || {
                json!({
                    "counts": [1, 1, 1, 1, 1, 0],
                    "at_0_7": {"similarity": 0.8, "future": [["gamma"]],
                               "predictive_information": 0.8, "potential": 3.666666666666666}
                })
            },
        },
        Case {
            name: "7.10b boundary at the actual similarity",
            run: |h| {
                h.learn_events(&[&["bound_a"], &["bound_b"], &["bound_c"], &["bound_d"]]);
                h.obs(&["bound_a"]);
                h.obs(&["bound_b"]);
                let mut out = Vec::new();
                for threshold in [0.6, 0.65, 0.7] {
                    h.configure(json!({"recall_threshold": threshold}));
                    out.push(h.predictions()["predictions"].clone());
                }
                json!(out)
            },
            expected: || {
                json!([
                    [{"similarity": 0.6666666666666665}],
                    [{"similarity": 0.6666666666666665}],
                    []
                ])
            },
        },
        Case {
            name: "7.10c threshold with missing symbols",
            run: |h| {
                h.learn_events(&[
                    &["alpha", "beta", "gamma"],
                    &["delta", "epsilon", "zeta"],
                    &["eta", "theta", "iota"],
                ]);
                h.obs(&["alpha", "beta", "gamma"]);
                h.obs(&["delta", "epsilon"]);
                let mut out = Vec::new();
                for threshold in [0.7, 0.8] {
                    h.configure(json!({"recall_threshold": threshold}));
                    out.push(h.predictions()["predictions"].clone());
                }
                h.clear();
                h.obs(&["alpha"]);
                h.obs(&["delta"]);
                for threshold in [0.3, 0.7] {
                    h.configure(json!({"recall_threshold": threshold}));
                    out.push(h.predictions()["predictions"].clone());
                }
                json!(out)
            },
            expected: || {
                json!([
                    [{"similarity": 0.7142857142857143, "missing": [[], ["zeta"]],
                      "future": [["eta", "iota", "theta"]]}],
                    [],
                    [{"similarity": 0.36363636363636365,
                      "missing": [["beta", "gamma"], ["epsilon", "zeta"]]}],
                    []
                ])
            },
        },
        Case {
            name: "7.11 threshold 0 keeps a zero-similarity prediction",
            run: |h| {
                h.configure(json!({"recall_threshold": 0.0}));
                h.learn_events(&[&["known"], &["pattern"], &["here"]]);
                h.obs(&["unknown1"]);
                h.obs(&["unknown2"]);
                let at_zero = h.predictions()["predictions"].clone();
                h.configure(json!({"recall_threshold": 0.1}));
                h.clear();
                h.obs(&["unknown3"]);
                h.obs(&["unknown4"]);
                json!([at_zero, h.predictions()["predictions"]])
            },
            expected: || {
                json!([
                    [{
                        "similarity": 0.0, "matches": [], "past": [],
                        "present": [["known"], ["pattern"], ["here"]], "future": [],
                        "missing": [["known"], ["pattern"], ["here"]],
                        "extras": [["unknown1"], ["unknown2"]],
                        "evidence": 0.0, "confidence": 0.0, "snr": -1.0, "fragmentation": -1.0,
                        "itfdf_similarity": 0.0, "confluence": 0.0,
                        "entropy": 1.584962500721156, "normalized_entropy": 1.0,
                        "tfidf_score": 0.3333333333333333, "bayesian_posterior": 0.0,
                        "bayesian_likelihood": 0.0, "bayesian_prior": 1.0, "potential": 0.0
                    }],
                    []
                ])
            },
        },
        Case {
            name: "7.12 frequency-weighted Bayesian prior",
            run: |h| {
                h.configure(json!({"recall_threshold": 0.2}));
                let xyz = h.learn_events(&[&["x"], &["y"], &["z"]]);
                h.learn_events(&[&["x"], &["y"], &["z"]]);
                let xyw = h.learn_events(&[&["x"], &["y"], &["w"]]);
                h.obs(&["x"]);
                h.obs(&["y"]);
                let totals = h.kb.totals();
                json!({"names": [xyz, xyw], "predictions": h.predictions(), "totals": totals})
            },
            expected: || {
                let common = json!({"similarity": 0.8, "predictive_information": 0.8,
                    "normalized_entropy": 0.5, "confluence": 0.0,
                    "itfdf_similarity": 0.9999999999999999, "potential": 3.6666666666666665});
                let mut xyz = common.clone();
                let mut xyw = common;
                for (target, extra) in [
                    (
                        &mut xyz,
                        json!({"name": "f8903d387eddaf0d6b73c6bc1fd9986dc3ff4d5a", "frequency": 2,
                        "bayesian_prior": 0.6666666666666666, "bayesian_posterior": 0.6666666666666666,
                        "pattern_probability": 0.6666666666666666, "weighted_strength": 0.5333333333333333,
                        "future": [["z"]]}),
                    ),
                    (
                        &mut xyw,
                        json!({"name": "0ea6da0f96418cdddd9b1d5884f401533c7d124d", "frequency": 1,
                        "bayesian_prior": 0.3333333333333333, "bayesian_posterior": 0.3333333333333333,
                        "future": [["w"]]}),
                    ),
                ] {
                    if let (Some(t), Some(e)) = (target.as_object_mut(), extra.as_object()) {
                        t.extend(e.clone());
                    }
                }
                json!({
                    "names": ["PTRN|f8903d387eddaf0d6b73c6bc1fd9986dc3ff4d5a",
                              "PTRN|0ea6da0f96418cdddd9b1d5884f401533c7d124d"],
                    // Equal potentials: Decision D4 orders them by name, 0ea6… first.
                    "predictions": {
                        "predictions": [xyw, xyz],
                        "future_potentials": [
                            {"future": [["z"]], "aggregate_potential": 0.6666666666666666,
                             "supporting_patterns": 1, "total_weighted_frequency": 1.6},
                            {"future": [["w"]], "aggregate_potential": 0.3333333333333333,
                             "supporting_patterns": 1, "total_weighted_frequency": 0.8}
                        ]
                    },
                    "totals": {"total_pattern_frequencies": 2, "total_unique_patterns": 2}
                })
            },
        },
        Case {
            name: "7.13 re-learned identical pattern",
            run: |h| {
                h.configure(json!({"recall_threshold": 0.2}));
                for _ in 0..3 {
                    h.learn_events(&[&["identical"], &["pattern"]]);
                }
                h.obs(&["identical"]);
                h.obs(&["pattern"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{"frequency": 3, "similarity": 1.0, "potential": 4.0,
                        "itfdf_similarity": 0.9999999999999998, "confluence": 0.0,
                        "bayesian_prior": 1.0, "bayesian_posterior": 1.0}])
            },
        },
        Case {
            name: "7.13 prediction frequency",
            run: |h| {
                for _ in 0..3 {
                    h.learn_events(&[&["freq"], &["test"]]);
                }
                h.obs(&["freq"]);
                h.obs(&["test"]);
                h.predictions()["predictions"].clone()
            },
            expected: || json!([{"frequency": 3, "similarity": 1.0}]),
        },
        Case {
            name: "7.16 single-symbol fast path",
            run: |h| {
                h.learn_events(&[&["alpha"], &["beta"], &["gamma"]]);
                h.clear();
                h.obs(&["alpha"]);
                json!({"stm": h.stm(), "predictions": h.predictions()})
            },
            expected: || {
                json!({
                    "stm": [["alpha"]],
                    "predictions": {
                        "predictions": [{
                            "name": "24e0f524f26eecfb14849cf3b3b57c44f3e705c2",
                            "pattern_data": [["alpha"], ["beta"], ["gamma"]], "length": 3,
                            "frequency": 1, "emotives": {}, "matches": ["alpha"], "missing": [],
                            "present": ["alpha"], "past": [], "future": ["beta", "gamma"],
                            "extras": [], "similarity": 0.5, "evidence": 0.3333333333333333,
                            "confidence": 1.0, "snr": 1.0, "fragmentation": 0, "anomalies": [],
                            "weighted_similarity": null, "weighted_evidence": null,
                            "weighted_confidence": null, "weighted_snr": null,
                            "potential": 2.333333333333333
                        }],
                        "future_potentials": []
                    }
                })
            },
        },
        Case {
            name: "7.16 mixed event sizes: first token only",
            run: |h| {
                h.learn_events(&[&["w", "x"], &["y"], &["z"]]);
                h.obs(&["w"]);
                let by_w = h.predictions()["predictions"]
                    .as_array()
                    .map_or(0, Vec::len);
                h.clear();
                h.obs(&["x"]);
                let by_x = h.predictions()["predictions"]
                    .as_array()
                    .map_or(0, Vec::len);
                json!([by_w, by_x])
            },
            expected: || json!([1, 0]),
        },
        Case {
            name: "7.17 shared prefix, three branches",
            run: |h| {
                for branch in ["a", "b", "c"] {
                    let (b, e) = (format!("branch_{branch}"), format!("end_{branch}"));
                    h.learn_events(&[&["shared"], &[&b], &[&e]]);
                }
                h.obs(&["shared"]);
                h.obs(&["branch_a"]);
                let set = h.predictions();
                json!({"predictions": set["predictions"], "future_potentials": set["future_potentials"]})
            },
            expected: || {
                let side = |b: &str| {
                    json!({"similarity": 0.4, "evidence": 0.3333333333333333, "confidence": 1.0,
                        "present": [["shared"]], "future": [[format!("branch_{b}")], [format!("end_{b}")]],
                        "extras": [[], ["branch_a"]], "missing": [[]], "snr": 0.3333333333333333,
                        "itfdf_similarity": 0.9828944326835046, "confluence": 0.0,
                        "normalized_entropy": 0.0, "global_normalized_entropy": 0.0, "tfidf_score": 1.0,
                        "predictive_information": 0.5333333333333333, "bayesian_posterior": 0.25,
                        "potential": 2.427338877127949})
                };
                json!({
                    "predictions": [
                        {"similarity": 0.8, "evidence": 0.6666666666666666, "confidence": 1.0,
                         "snr": 1.0, "fragmentation": 0.0, "present": [["shared"], ["branch_a"]],
                         "future": [["end_a"]], "itfdf_similarity": 1.0,
                         "confluence": 0.22222222222222224,
                         "global_normalized_entropy": 0.18819167801785988,
                         "normalized_entropy": 0.3562071871080222, "tfidf_score": 0.896240625180289,
                         "predictive_information": 0.5333333333333333, "bayesian_posterior": 0.5,
                         "potential": 3.6666666666666665},
                        side("b"), side("c")
                    ],
                    "future_potentials": [
                        {"future": [["end_a"]], "aggregate_potential": 0.5, "total_weighted_frequency": 0.8},
                        {"future": [["branch_b"], ["end_b"]], "aggregate_potential": 0.25, "total_weighted_frequency": 0.4},
                        {"future": [["branch_c"], ["end_c"]], "aggregate_potential": 0.25, "total_weighted_frequency": 0.4}
                    ]
                })
            },
        },
        Case {
            name: "7.20 token-level similarity",
            run: |h| {
                h.learn_events(&[&["token1", "token2", "token3", "token4"]]);
                h.clear();
                h.obs(&["token1", "token2", "token3"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{"similarity": 0.8571428571428571, "evidence": 0.75, "confidence": 0.75,
                        "missing": [["token4"]], "extras": [[]],
                        "itfdf_similarity": 0.8660254037844387, "potential": 3.366025403784439}])
            },
        },
        Case {
            name: "7.20 character-level similarity",
            run: |h| {
                h.configure(json!({"use_token_matching": false}));
                h.learn_events(&[&["token1", "token2", "token3", "token4"]]);
                h.clear();
                h.obs(&["token1", "token2", "token3"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{"similarity": 0.851063829787234, "evidence": 0.75, "confidence": 0.75,
                        "missing": [["token4"]], "extras": [[]],
                        "itfdf_similarity": 0.8660254037844387, "potential": 3.366025403784439}])
            },
        },
        Case {
            name: "7.20 character-level basic matching",
            run: |h| {
                h.configure(json!({"use_token_matching": false}));
                h.learn_events(&[&["apple"], &["banana"], &["cherry"]]);
                h.clear();
                h.obs(&["apple"]);
                h.obs(&["banana"]);
                h.predictions()["predictions"][0]["similarity"].clone()
            },
            expected: || json!(0.7741935483870968),
        },
        Case {
            name: "7.S1 straddling event",
            run: |h| {
                h.learn_events(&[&["a", "b"], &["c"]]);
                h.obs(&["b"]);
                h.obs(&["c"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{"past": [], "present": [["a", "b"], ["c"]], "missing": [["a"], []],
                        "confidence": 0.6666666666666666, "similarity": 0.8,
                        "potential": 3.1498299142610593}])
            },
        },
        Case {
            name: "7.S2 past-fix misfire",
            run: |h| {
                h.configure(json!({"sort_symbols": false}));
                h.learn_events(&[&["x"], &["x", "y"]]);
                h.obs(&["x", "y"]);
                h.predictions()["predictions"].clone()
            },
            expected: || {
                json!([{"past": [], "present": [["x"], ["x", "y"]], "missing": [[], []],
                        "extras": [[]], "confidence": 0.6666666666666666,
                        "potential": 3.282016631383847}])
            },
        },
    ]);
}

/// §7.18: the §4.4 routine called directly with given weights (token mode, cutoff 0, no
/// round trip on similarity, as the upstream extractor test does).
fn extractor(pattern: &[&str], state: &[&str], weights: &[(&str, f64)]) -> Value {
    let blocks = matching_blocks(pattern, state);
    let matches: Vec<&str> = blocks
        .iter()
        .flat_map(|b| state[b.b..b.b + b.size].iter().copied())
        .collect();
    let (first, last) = (blocks[0], blocks[blocks.len() - 1]);
    let present = &pattern[first.a..last.a + last.size];
    let (missing, extras) = uncovered(present, state);
    let weights: HashMap<&str, f64> = weights.iter().copied().collect();
    json!({
        "matches": matches,
        "past": &pattern[..first.a],
        "present": present,
        "missing": missing.iter().map(|i| present[*i]).collect::<Vec<_>>(),
        "extras": extras.iter().map(|i| state[*i]).collect::<Vec<_>>(),
        "similarity": lcs_ratio(lcs_len(pattern, state), pattern.len(), state.len()),
        "number_of_blocks": blocks.len(),
        "weighted_similarity": weighted_similarity(&weights, &matches, state, pattern),
    })
}

#[test]
fn section_7_18_affinity_weighted_similarity() {
    run_table(&[
        Case {
            name: "7.18 noise between two weighted symbols",
            run: |_| {
                extractor(
                    &["A", "NOISE_1", "B", "NOISE_2"],
                    &["A", "NOISE_3", "B"],
                    &[
                        ("A", 0.84),
                        ("B", 0.81),
                        ("NOISE_1", 0.01),
                        ("NOISE_2", 0.01),
                        ("NOISE_3", 0.01),
                    ],
                )
            },
            expected: || {
                json!({"matches": ["A", "B"], "past": [], "present": ["A", "NOISE_1", "B"],
                       "missing": ["NOISE_1"], "extras": ["NOISE_3"],
                       "similarity": 0.5714285714285714, "number_of_blocks": 2,
                       "weighted_similarity": 0.990990990990991})
            },
        },
        Case {
            name: "7.18 only noise matches",
            run: |_| {
                extractor(
                    &["A", "NOISE_1"],
                    &["B", "NOISE_1"],
                    &[("A", 0.8), ("B", 0.8), ("NOISE_1", 0.01)],
                )
            },
            expected: || {
                json!({"matches": ["NOISE_1"], "past": ["A"], "similarity": 0.5,
                       "weighted_similarity": 0.012345679012345678})
            },
        },
        Case {
            name: "7.18 long noisy pattern",
            run: |_| {
                let noise: Vec<(&str, f64)> = [
                    "NOISE_1", "NOISE_2", "NOISE_3", "NOISE_4", "NOISE_5", "NOISE_6", "NOISE_7",
                    "NOISE_8",
                ]
                .iter()
                .map(|n| (*n, 0.01))
                .collect();
                let mut weights = vec![("A", 0.84), ("B", 0.81), ("C", 0.84)];
                weights.extend(noise);
                extractor(
                    &["A", "NOISE_5", "B", "NOISE_6", "NOISE_7", "C", "NOISE_8"],
                    &["A", "NOISE_1", "NOISE_2", "NOISE_3", "B", "NOISE_4"],
                    &weights,
                )
            },
            expected: || json!({"similarity": 0.3076923076923077, "weighted_similarity": 0.7819905213270142}),
        },
        Case {
            name: "7.18 no weights",
            run: |_| extractor(&["A", "B"], &["A", "B"], &[]),
            expected: || json!({"weighted_similarity": null}),
        },
    ]);
}

/// The comparator itself must reject differences, or every table above would pass vacuously.
#[test]
fn comparator_rejects_what_differs() {
    let rows = [
        (json!(1.0), json!(1.0 + 1e-12), true),
        (json!(1.0), json!(1.0 + 1e-6), false),
        (json!({"a": 1, "b": 2}), json!({"a": 1}), true),
        (json!({"a": 1}), json!({"a": 1, "b": 2}), false),
        (json!([1, 2]), json!([1]), false),
        (json!("x"), json!("y"), false),
        (json!(null), json!(0.0), false),
        (json!(0.0), json!(-0.0), true),
    ];
    for (actual, expected, ok) in rows {
        assert_eq!(
            matches(&actual, &expected, "").is_ok(),
            ok,
            "{actual} vs {expected}"
        );
    }
}
