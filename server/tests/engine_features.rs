//! End-to-end tests of the engine features the ALGORITHM.md §7 examples do not cover: the filter
//! pipeline, fuzzy tokens, every ranking key, truncation and pruning, affinity weighting,
//! finalize-training, vectors, observe-sequence, the session operations and the single-symbol
//! path. One table row per case, run against the engine as the session service drives it. Every
//! expected value is derived by hand from the spec (arithmetic in the comments); floats are
//! compared with a relative tolerance of 1e-9, everything else exactly.

use kato_server::engine::config::{parse_update, ConfigError, EngineConfig};
use kato_server::engine::kb::KbRecord;
use kato_server::engine::observation::Observation;
use kato_server::engine::session::{
    EngineError, SequenceOptions, SequenceOutcome, SessionState, MAX_STM_EVENTS,
};
use serde_json::{json, Map, Value};

mod common;
use common::*;

fn error_json(error: &EngineError) -> Value {
    match error {
        EngineError::EmptyStm => json!({"error": "EmptyStm"}),
        EngineError::NeedsExclusiveAccess => json!({"error": "NeedsExclusiveAccess"}),
        EngineError::VectorDimension {
            vector_index,
            expected_dimension,
            actual_dimension,
            vector_name,
        } => json!({
            "error": "VectorDimension",
            "vector_index": vector_index,
            "expected_dimension": expected_dimension,
            "actual_dimension": actual_dimension,
            "vector_name": vector_name,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Filter pipeline (§4.2)
// ---------------------------------------------------------------------------------------------

/// Seven one-event patterns against the state `a b c d e f` (n = 6), recall threshold 0 so that
/// every candidate the pipeline lets through becomes a prediction (similarity 0 included), then
/// `update` on top. Returns the candidate set as sorted flattened sequences.
///
/// | pattern         | length | I = shared | U  | Jaccard I/U | token similarity 2·I/(len+6) |
/// |-----------------|--------|------------|----|-------------|------------------------------|
/// | `ab`            | 2      | 2          | 6  | 0.333       | 4/8   = 0.5                  |
/// | `abcd`          | 4      | 4          | 6  | 0.667       | 8/10  = 0.8                  |
/// | `abcdef`        | 6      | 6          | 6  | 1.0         | 12/12 = 1.0                  |
/// | `abcdefghi`     | 9      | 6          | 9  | 0.667       | 12/15 = 0.8                  |
/// | `abcdefghijklm` | 13     | 6          | 13 | 0.4615      | 12/19 = 0.632                |
/// | `az`            | 2      | 1          | 7  | 0.143       | 2/8   = 0.25                 |
/// | `yz`            | 2      | 0          | 8  | 0.0         | 0                            |
///
/// (Both sides are sorted runs of distinct symbols, so the LCS is the intersection.)
fn filtered(h: &mut Harness, update: Value) -> Value {
    filtered_state(h, update, &["a", "b", "c", "d", "e", "f"])
}

fn filtered_state(h: &mut Harness, update: Value, state: &[&str]) -> Value {
    for pattern in [
        "ab",
        "abcd",
        "abcdef",
        "abcdefghi",
        "abcdefghijklm",
        "az",
        "yz",
    ] {
        let symbols: Vec<String> = pattern.chars().map(String::from).collect();
        h.observe(Observation::strings(symbols));
        h.learn();
    }
    h.configure(json!({"recall_threshold": 0.0}));
    h.configure(update);
    h.obs(state);
    h.sequences("")
}

#[test]
fn filter_pipeline() {
    const ALL: [&str; 7] = [
        "ab",
        "abcd",
        "abcdef",
        "abcdefghi",
        "abcdefghijklm",
        "az",
        "yz",
    ];
    run_table(&[
        Case {
            name: "no pipeline, threshold 0: every pattern",
            run: |h| filtered(h, json!({})),
            expected: || json!(ALL),
        },
        Case {
            name: "no pipeline, threshold 0.1 drops the similarity-0 pattern",
            run: |h| filtered(h, json!({"recall_threshold": 0.1})),
            expected: || json!(["ab", "abcd", "abcdef", "abcdefghi", "abcdefghijklm", "az"]),
        },
        Case {
            // min = max(1, int(6·0.5)) = 3, max = int(6·2.0) = 12.
            name: "length with the default ratios",
            run: |h| filtered(h, json!({"filter_pipeline": ["length"]})),
            expected: || json!(["abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            // min = max(1, int(1.5)) = 1, max = int(9.0) = 9.
            name: "length 0.25 / 1.5",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["length"], "length_min_ratio": 0.25,
                           "length_max_ratio": 1.5}),
                )
            },
            expected: || json!(["ab", "abcd", "abcdef", "abcdefghi", "az", "yz"]),
        },
        Case {
            // min = int(6·0.7) = int(4.2) = 4, max = int(6·1.4) = int(8.4) = 8.
            name: "length bounds are truncated products",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["length"], "length_min_ratio": 0.7,
                           "length_max_ratio": 1.4}),
                )
            },
            expected: || json!(["abcd", "abcdef"]),
        },
        Case {
            name: "length 1.0 / 1.0 keeps exactly the state length",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["length"], "length_min_ratio": 1.0,
                           "length_max_ratio": 1.0}),
                )
            },
            expected: || json!(["abcdef"]),
        },
        Case {
            // A configured 0 falls back to 0.5: min = 3, max = int(6·1.0) = 6. Taken literally,
            // min = max(1, 0) = 1 would also keep ab, az and yz.
            name: "length_min_ratio 0 falls back to the default",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["length"], "length_min_ratio": 0.0,
                           "length_max_ratio": 1.0}),
                )
            },
            expected: || json!(["abcd", "abcdef"]),
        },
        Case {
            // The validator refuses length_max_ratio < 1, so only a server default can be 0: it
            // falls back to 2.0 (max 12) instead of keeping nothing (max 0).
            name: "length_max_ratio 0 falls back to the default",
            run: |h| {
                h.config.length_max_ratio = 0.0;
                filtered(h, json!({"filter_pipeline": ["length"]}))
            },
            expected: || json!(["abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            // I ≥ 2 and I/U ≥ 0.3: az (I = 1) and yz (I = 0) fail the overlap.
            name: "jaccard with the defaults",
            run: |h| filtered(h, json!({"filter_pipeline": ["jaccard"]})),
            expected: || json!(["ab", "abcd", "abcdef", "abcdefghi", "abcdefghijklm"]),
        },
        Case {
            name: "jaccard threshold 0.5",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["jaccard"], "jaccard_threshold": 0.5}),
                )
            },
            expected: || json!(["abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            name: "jaccard threshold 1.0",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["jaccard"], "jaccard_threshold": 1.0}),
                )
            },
            expected: || json!(["abcdef"]),
        },
        Case {
            name: "jaccard min_overlap 1, threshold 0: everything sharing a symbol",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["jaccard"], "jaccard_min_overlap": 1,
                           "jaccard_threshold": 0.0}),
                )
            },
            expected: || json!(["ab", "abcd", "abcdef", "abcdefghi", "abcdefghijklm", "az"]),
        },
        Case {
            name: "jaccard min_overlap 5, threshold 0",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["jaccard"], "jaccard_min_overlap": 5,
                           "jaccard_threshold": 0.0}),
                )
            },
            expected: || json!(["abcdef", "abcdefghi", "abcdefghijklm"]),
        },
        Case {
            // Exact Jaccard ≥ minhash_threshold (the documented divergence from LSH).
            name: "minhash with the default threshold 0.7",
            run: |h| filtered(h, json!({"filter_pipeline": ["minhash"]})),
            expected: || json!(["abcdef"]),
        },
        Case {
            name: "minhash 0.6",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["minhash"], "minhash_threshold": 0.6}),
                )
            },
            expected: || json!(["abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            name: "minhash 0.4",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["minhash"], "minhash_threshold": 0.4}),
                )
            },
            expected: || json!(["abcd", "abcdef", "abcdefghi", "abcdefghijklm"]),
        },
        Case {
            // ab 0.333 and az 0.143 pass; yz shares nothing.
            name: "minhash 0.1",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["minhash"], "minhash_threshold": 0.1}),
                )
            },
            expected: || json!(["ab", "abcd", "abcdef", "abcdefghi", "abcdefghijklm", "az"]),
        },
        Case {
            name: "bloom alone: skipped, no database filter ran, no candidates",
            run: |h| filtered(h, json!({"filter_pipeline": ["bloom"]})),
            expected: || json!([]),
        },
        Case {
            name: "rapidfuzz alone: no candidates",
            run: |h| filtered(h, json!({"filter_pipeline": ["rapidfuzz"]})),
            expected: || json!([]),
        },
        Case {
            name: "bloom then rapidfuzz: no candidates",
            run: |h| filtered(h, json!({"filter_pipeline": ["bloom", "rapidfuzz"]})),
            expected: || json!([]),
        },
        Case {
            name: "bloom first is skipped, then length runs as usual",
            run: |h| filtered(h, json!({"filter_pipeline": ["bloom", "length"]})),
            expected: || json!(["abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            name: "bloom after a database filter passes everything",
            run: |h| filtered(h, json!({"filter_pipeline": ["length", "bloom"]})),
            expected: || json!(["abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            // Length keeps abcd (0.8), abcdef (1.0), abcdefghi (0.8); rapidfuzz and the
            // threshold that always follows both keep similarity ≥ 0.9.
            name: "length then rapidfuzz at threshold 0.9",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["length", "rapidfuzz"], "recall_threshold": 0.9}),
                )
            },
            expected: || json!(["abcdef"]),
        },
        Case {
            // Jaccard keeps ab 0.5, abcd 0.8, abcdef 1.0, abcdefghi 0.8, abcdefghijklm 0.632;
            // the threshold after the pipeline drops ab.
            name: "the recall threshold applies after the pipeline",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["jaccard"], "recall_threshold": 0.6}),
                )
            },
            expected: || json!(["abcd", "abcdef", "abcdefghi", "abcdefghijklm"]),
        },
        Case {
            // Length 0.25/1.5 drops abcdefghijklm, jaccard (defaults) then drops az and yz.
            name: "stages compose in order",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["length", "jaccard"], "length_min_ratio": 0.25,
                           "length_max_ratio": 1.5}),
                )
            },
            expected: || json!(["ab", "abcd", "abcdef", "abcdefghi"]),
        },
        Case {
            // State a..f plus q, unknown to the node: U counts it, so abcdef has I/U = 6/7 =
            // 0.857 (abcd 4/7, abcdefghi 6/10): kept at 0.85, dropped at 0.9.
            name: "jaccard counts unknown state symbols in the union",
            run: |h| {
                let state = ["a", "b", "c", "d", "e", "f", "q"];
                let mut out = Vec::new();
                for threshold in [0.85, 0.9] {
                    *h = Harness::new();
                    out.push(filtered_state(
                        h,
                        json!({"filter_pipeline": ["jaccard"], "jaccard_threshold": threshold}),
                        &state,
                    ));
                }
                json!(out)
            },
            expected: || json!([["abcdef"], []]),
        },
        Case {
            // No pattern shares 7 symbols with a 6-symbol state: jaccard yields 0 candidates
            // and the pipeline stops there.
            name: "a stage yielding no candidates stops the pipeline",
            run: |h| {
                filtered(
                    h,
                    json!({"filter_pipeline": ["jaccard", "length"], "jaccard_min_overlap": 7}),
                )
            },
            expected: || json!([]),
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// 2. Fuzzy token matching (§4.4, QUIRK-21)
// ---------------------------------------------------------------------------------------------

/// Learns `[the],[quick],[fox]`, observes `state` (one symbol per event) with the given fuzzy
/// threshold, returns the single prediction.
///
/// Exact alignment of `[the,quick,fox]` with `[the,quikc,fox]`: blocks (0,0,1),(2,2,1), nb = 2,
/// present = all three events, LCS 2 → similarity (2·2/6)·100/100 = 0.6666666666666665.
/// `fuzz.ratio("quikc","quick")`: LCS 4 ("quik"), L = 10 → (1 − 2/10)·100 = 80.0.
/// itfdf (N = 1, every known symbol has P = 1, quikc P = 0): vocabulary [fox, quick, quikc, the],
/// state vector [1,0,0,1], pattern vector [1,1,0,1] → cos = 2/(√3·√2) = 0.8164965809277259,
/// itfdf = 1 − (1 − cos)·1/1; frag_term = 1/(1+1) = 0.5.
fn fuzzy(h: &mut Harness, threshold: f64, state: &[&str]) -> Value {
    h.learn_events(&[&["the"], &["quick"], &["fox"]]);
    h.configure(json!({"fuzzy_token_threshold": threshold}));
    for symbol in state {
        h.obs(&[symbol]);
    }
    json!(h.prediction_list())
}

#[test]
fn fuzzy_token_matching() {
    run_table(&[
        Case {
            // Exact: matches [the, fox]; flat extras [quikc] → snr (4−1)/(4+1) = 0.6;
            // potential (2/3 + 2/3)·0.6 + 0.8164965809277259 + 0.5.
            name: "fuzzy off: the misspelt token is an extra",
            run: |h| fuzzy(h, 0.0, &["the", "quikc", "fox"]),
            expected: || {
                json!([{
                    "matches": ["the", "fox"], "anomalies": [],
                    "missing": [[], ["quick"], []], "extras": [[], ["quikc"], []],
                    "similarity": 0.6666666666666665, "evidence": 0.6666666666666666,
                    "confidence": 0.6666666666666666, "snr": 0.6, "fragmentation": 1.0,
                    "itfdf_similarity": 0.8164965809277259, "potential": 2.116496580927726
                }])
            },
        },
        Case {
            // Fuzzy 0.75: quikc pairs with quick at 80 ≥ 75 → matches [the, quikc, fox],
            // evidence 3/3, confidence 3/3, snr (6−0)/6 = 1; similarity stays the exact one.
            // QUIRK-21: missing/extras still show quick/quikc. potential 2·1 + 0.8165 + 0.5.
            name: "fuzzy 0.75 pairs the misspelt token with an anomaly",
            run: |h| fuzzy(h, 0.75, &["the", "quikc", "fox"]),
            expected: || {
                json!([{
                    "matches": ["the", "quikc", "fox"],
                    "anomalies": [{"observed": "quikc", "expected": "quick", "similarity": 0.8}],
                    "missing": [[], ["quick"], []], "extras": [[], ["quikc"], []],
                    "past": [], "present": [["the"], ["quick"], ["fox"]], "future": [],
                    "similarity": 0.6666666666666665, "evidence": 1.0, "confidence": 1.0,
                    "snr": 1.0, "fragmentation": 1.0,
                    "itfdf_similarity": 0.8164965809277259, "potential": 3.316496580927726
                }])
            },
        },
        Case {
            name: "fuzzy 0.9: a score of 80 does not pair, as if fuzzy were off",
            run: |h| fuzzy(h, 0.9, &["the", "quikc", "fox"]),
            expected: || {
                json!([{"matches": ["the", "fox"], "anomalies": [], "snr": 0.6,
                        "evidence": 0.6666666666666666, "potential": 2.116496580927726}])
            },
        },
        Case {
            // zzz scores 0 against every pattern token → unmatched → one flat extra:
            // snr (6−1)/(6+1) = 5/7. Similarity 2·2/(3+4) = 4/7. potential 2·5/7 + 0.8165 + 0.5.
            name: "an unmatched token counts as an extra for snr",
            run: |h| fuzzy(h, 0.75, &["the", "quikc", "fox", "zzz"]),
            expected: || {
                json!([{
                    "matches": ["the", "quikc", "fox"],
                    "anomalies": [{"observed": "quikc", "expected": "quick", "similarity": 0.8}],
                    "extras": [[], ["quikc"], [], ["zzz"]], "missing": [[], ["quick"], []],
                    "similarity": 0.5714285714285714, "evidence": 1.0, "confidence": 1.0,
                    "snr": 0.7142857142857143, "potential": 2.7450680094991546
                }])
            },
        },
        Case {
            // fuzz.ratio("xat","bat") = fuzz.ratio("xat","cat") = (1 − 2/6)·100: equal scores,
            // the first pattern token (bat) is the partner.
            name: "fuzzy ties go to the first pattern token",
            run: |h| {
                h.learn_events(&[&["bat"], &["cat"], &["dog"]]);
                h.configure(json!({"fuzzy_token_threshold": 0.6}));
                h.obs(&["xat"]);
                h.obs(&["dog"]);
                json!(h.prediction_list())
            },
            expected: || {
                json!([{"matches": ["xat", "dog"], "past": [["bat"], ["cat"]],
                        "present": [["dog"]],
                        "anomalies": [{"observed": "xat", "expected": "bat",
                                       "similarity": 0.6666666666666667}]}])
            },
        },
        Case {
            // [hello,world] vs [helo,world]: one exact block (1,1,1) → past [[hello]], present
            // [[world]]. fuzz.ratio("helo","hello") = (1 − 1/9)·100. Both state tokens match,
            // so confidence = 2 matches / 1 present symbol = 2.0 (§4.5 taken literally); the
            // past-fix does not fire (helo ∉ [hello]).
            name: "fuzzy matches outside the exact present",
            run: |h| {
                h.learn_events(&[&["hello"], &["world"]]);
                h.configure(json!({"fuzzy_token_threshold": 0.8}));
                h.obs(&["helo"]);
                h.obs(&["world"]);
                json!(h.prediction_list())
            },
            expected: || {
                json!([{
                    "matches": ["helo", "world"],
                    "anomalies": [{"observed": "helo", "expected": "hello",
                                   "similarity": 0.8888888888888888}],
                    "past": [["hello"]], "present": [["world"]], "future": [],
                    "missing": [[]], "extras": [["helo"], []],
                    "similarity": 0.5, "evidence": 1.0, "confidence": 2.0, "snr": 1.0,
                    "fragmentation": 0.0
                }])
            },
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// 3. Ranking keys, truncation, pruning (§4.6, §4.8, Decision D4)
// ---------------------------------------------------------------------------------------------

/// The §7.17 node, learned in the order c, b, a (so insertion order is not name order), plus an
/// extra branch for each letter in `extra`. Names: a 28edab…, b 37fba6…, c 61b10b…, d b3b07b…,
/// so name order is a < b < c < d.
fn branches(h: &mut Harness, letters: &[&str]) {
    for letter in letters {
        let (branch, end) = (format!("branch_{letter}"), format!("end_{letter}"));
        h.learn_events(&[&["shared"], &[&branch], &[&end]]);
    }
}

fn branch_letters(predictions: &[Value]) -> Vec<String> {
    predictions
        .iter()
        .map(|p| {
            p["sequence"][2][0]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("end_")
                .to_string()
        })
        .collect()
}

/// A prediction list is ranked by `key`: descending, ties by name ascending (D4).
fn assert_ranked(predictions: &[Value], key: &str) {
    for pair in predictions.windows(2) {
        let (x, y) = (&pair[0], &pair[1]);
        let (vx, vy) = (
            x[key].as_f64().expect("numeric key"),
            y[key].as_f64().expect("numeric key"),
        );
        let (nx, ny) = (
            x["name"].as_str().unwrap_or_default(),
            y["name"].as_str().unwrap_or_default(),
        );
        assert!(
            vx > vy || (vx == vy && nx < ny),
            "{key}: {nx} ({vx}) ranked before {ny} ({vy})"
        );
    }
}

#[test]
fn every_rank_sort_algo_orders_descending_with_ties_by_name() {
    // (key, C learned a second time, affinity_emotive set, expected order). The §7.17 values:
    // A: similarity 0.8, evidence ⅔, confidence 1, snr 1, fragmentation 0, frequency 1,
    //    normalized_entropy 0.356, global 0.188, itfdf 1.0, confluence 0.222, PI 0.5333,
    //    posterior 0.5, prior ⅓, tfidf 0.896, potential 3.667;
    // B, C: similarity 0.4, evidence ⅓, confidence 1, snr ⅓, fragmentation 0, frequency 1,
    //    entropies 0, itfdf 0.983, confluence 0, PI 0.5333 (= 0.4·⅓/0.25, the same bits as
    //    0.8·⅓/0.5), posterior 0.25, prior ⅓, tfidf 1.0, potential 2.427.
    // With affinity on and no affinities learned every state symbol weighs 0.01:
    // A: weighted_similarity 2·0.02/(0.02+0.02) = 1, evidence 1, confidence 1, snr 1;
    // B, C: weighted_similarity 2·0.01/(0.02+0.01) = ⅔, evidence 1, confidence 1,
    //    snr 0.01/(0.01+0.01) = 0.5.
    // C learned twice: frequency C 2 > A = B 1; prior C 2/4 > A = B 1/4; posterior
    // A 0.8·¼/0.5 = C 0.4·½/0.5 = 0.4 > B 0.2.
    let table: &[(&str, bool, bool, &[&str])] = &[
        ("potential", false, false, &["a", "b", "c"]),
        ("similarity", false, false, &["a", "b", "c"]),
        ("evidence", false, false, &["a", "b", "c"]),
        ("confidence", false, false, &["a", "b", "c"]),
        ("snr", false, false, &["a", "b", "c"]),
        ("fragmentation", false, false, &["a", "b", "c"]),
        ("frequency", false, false, &["a", "b", "c"]),
        ("normalized_entropy", false, false, &["a", "b", "c"]),
        ("global_normalized_entropy", false, false, &["a", "b", "c"]),
        ("itfdf_similarity", false, false, &["a", "b", "c"]),
        ("confluence", false, false, &["a", "b", "c"]),
        ("predictive_information", false, false, &["a", "b", "c"]),
        ("bayesian_posterior", false, false, &["a", "b", "c"]),
        ("bayesian_prior", false, false, &["a", "b", "c"]),
        ("bayesian_likelihood", false, false, &["a", "b", "c"]),
        ("tfidf_score", false, false, &["b", "c", "a"]),
        ("weighted_similarity", false, true, &["a", "b", "c"]),
        ("weighted_evidence", false, true, &["a", "b", "c"]),
        ("weighted_confidence", false, true, &["a", "b", "c"]),
        ("weighted_snr", false, true, &["a", "b", "c"]),
        ("frequency", true, false, &["c", "a", "b"]),
        ("bayesian_prior", true, false, &["c", "a", "b"]),
        ("bayesian_posterior", true, false, &["a", "c", "b"]),
        ("similarity", true, false, &["a", "b", "c"]),
    ];
    let mut failures = Vec::new();
    for (key, c_twice, affinity, expected) in table {
        let mut h = Harness::new();
        branches(&mut h, &["c", "b", "a"]);
        if *c_twice {
            branches(&mut h, &["c"]);
        }
        let mut update = json!({"rank_sort_algo": key});
        if *affinity {
            update["affinity_emotive"] = json!("joy");
        }
        h.configure(update);
        h.obs(&["shared"]);
        h.obs(&["branch_a"]);
        let predictions = h.prediction_list();
        assert_ranked(&predictions, key);
        let order = branch_letters(&predictions);
        if order != *expected {
            failures.push(format!(
                "{key} (c twice: {c_twice}): {order:?} != {expected:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn truncation_and_pruning() {
    run_table(&[
        Case {
            name: "max_predictions truncates the ranked list",
            run: |h| {
                branches(h, &["c", "b", "a"]);
                h.obs(&["shared"]);
                h.obs(&["branch_a"]);
                let mut out = Vec::new();
                for max in [1, 2, 3] {
                    h.configure(json!({"max_predictions": max}));
                    out.push(json!(branch_letters(&h.prediction_list())));
                }
                json!(out)
            },
            expected: || json!([["a"], ["a", "b"], ["a", "b", "c"]]),
        },
        Case {
            // 4 candidates > K = 3·1: pre = (evidence + confidence)·snr + 1/(fragmentation+1):
            // A (⅔+1)·1 + 1 = 2.6666666666666665; B, C, D (⅓+1)·⅓ + 1 = 1.4444444444444444 tie,
            // the earlier (lower name) wins → pruned set {A, B, C}. Over it: priors ⅓ each (not
            // ¼), posterior A = 0.8·⅓/(0.8·⅓ + 2·0.4·⅓) = 0.5, future groups end_a 0.8,
            // b 0.4, c 0.4 → 0.5, 0.25, 0.25, and no group for d.
            name: "pruning above 3 × max_predictions",
            run: |h| {
                branches(h, &["d", "c", "b", "a"]);
                h.configure(json!({"max_predictions": 1}));
                h.obs(&["shared"]);
                h.obs(&["branch_a"]);
                let set = h.predictions();
                let first = &set["predictions"][0];
                json!({
                    "count": set["predictions"].as_array().map_or(0, Vec::len),
                    "first": first,
                    "future_potentials": set["future_potentials"],
                })
            },
            expected: || {
                json!({
                    "count": 1,
                    "first": {
                        "sequence": [["shared"], ["branch_a"], ["end_a"]],
                        "_pre_potential": 2.6666666666666665,
                        "bayesian_prior": 0.3333333333333333, "bayesian_posterior": 0.5,
                        "pattern_probability": 0.3333333333333333
                    },
                    "future_potentials": [
                        {"future": [["end_a"]], "aggregate_potential": 0.5,
                         "supporting_patterns": 1, "total_weighted_frequency": 0.8},
                        {"future": [["branch_b"], ["end_b"]], "aggregate_potential": 0.25,
                         "supporting_patterns": 1, "total_weighted_frequency": 0.4},
                        {"future": [["branch_c"], ["end_c"]], "aggregate_potential": 0.25,
                         "supporting_patterns": 1, "total_weighted_frequency": 0.4}
                    ]
                })
            },
        },
        Case {
            // K = 6 ≥ 4: nothing pruned, no `_pre_potential`; priors ¼ each; future groups
            // 0.8, 0.4, 0.4, 0.4 over W = 2.0 → 0.4, 0.2, 0.2, 0.2 (ties in ensemble order).
            name: "no pruning at or below 3 × max_predictions",
            run: |h| {
                branches(h, &["d", "c", "b", "a"]);
                h.configure(json!({"max_predictions": 2}));
                h.obs(&["shared"]);
                h.obs(&["branch_a"]);
                let set = h.predictions();
                let predictions = h.prediction_list();
                json!({
                    "order": branch_letters(&predictions),
                    "pre_potential": predictions.iter()
                        .map(|p| p.get("_pre_potential").is_some()).collect::<Vec<_>>(),
                    "priors": predictions.iter()
                        .map(|p| p["bayesian_prior"].clone()).collect::<Vec<_>>(),
                    "aggregates": set["future_potentials"].as_array().cloned().unwrap_or_default()
                        .iter().map(|f| f["aggregate_potential"].clone()).collect::<Vec<_>>(),
                })
            },
            expected: || {
                json!({
                    "order": ["a", "b"],
                    "pre_potential": [false, false],
                    "priors": [0.25, 0.25],
                    "aggregates": [0.4, 0.2, 0.2, 0.2]
                })
            },
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// 4. Affinity in predictions (§4.4, §4.5, §4.7.7, Decision D7)
// ---------------------------------------------------------------------------------------------

/// P1 = [A],[B] learned with joy 0.8 and 0.4 (affinity A = B = 0.6000000000000001), then
/// P2 = [A],[C] without emotives (D3 cleared the accumulators), so freq A = 2, B = 1, C = 1,
/// N = 2. State [A],[B],[X] (X unknown). Weights over the distinct state symbols:
/// wA = 0.6000000000000001/2 + 0.01 = 0.31000000000000005, wB = 0.6/1 + 0.01 = 0.6100000000000001,
/// wX = 0.01; C is not in the map and weighs 0.
///
/// P1: block (0,0,2), present [[A],[B]], matches [A,B], flat extras [X] → snr (4−1)/(4+1) = 0.6,
///   similarity 4/5 = 0.8, evidence 1, confidence 1, event extras [[],[],[X]].
///   weighted_similarity = 2(wA+wB)/((wA+wB+wX) + (wA+wB)) = 1.84/1.85 = 0.9945945945945945,
///   weighted_evidence = (wA+wB)/(wA+wB) = 1, weighted_confidence = 1,
///   weighted_snr = (wA+wB)/((wA+wB) + wX) = 0.92/0.93 = 0.989247311827957.
/// P2: block (0,0,1), present [[A]], future [[C]], matches [A], flat extras [B,X] → snr
///   (2−2)/(2+2) = 0, similarity 2/5 = 0.4, evidence ½, confidence 1, event extras [[],[B],[X]].
///   weighted_similarity = 2wA/((wA+wB+wX) + wA) = 0.62/1.24 = 0.5, weighted_evidence =
///   wA/(wA + 0) = 1, weighted_confidence = 1, weighted_snr = wA/(wA + wB + wX) = ⅓.
/// itfdf: P(A) = 2/2 = 1, P(B) = ½; vocabulary [A,B,X], state vector [1, 0.5, 0];
///   P1 [1, 0.5, 0] → cos 1 → itfdf ≈ 1; P2 [1, 0, 0] → cos 1/√1.25 = 0.8944271909999159 →
///   itfdf = 1 − (1 − cos)·1/2 = 0.9472135954999579.
/// potential (weighted triple, §4.7.7): P1 (1+1)·0.989247… + 1 + 1 = 3.978494623655914;
///   P2 (1+1)·⅓ + 0.9472… + 1 = 2.6138802621666244.
/// potential (unweighted): P1 (1+1)·0.6 + 1 + 1 = 3.2; P2 (½+1)·0 + 0.9472… + 1.
fn affinity_node(h: &mut Harness) {
    h.obs_emotives(&["A"], &[("joy", 0.8)]);
    h.obs_emotives(&["B"], &[("joy", 0.4)]);
    h.learn();
    h.learn_events(&[&["A"], &["C"]]);
}

fn affinity_predictions(h: &mut Harness, update: Value) -> Value {
    affinity_node(h);
    h.configure(update);
    h.obs(&["A"]);
    h.obs(&["B"]);
    h.obs(&["X"]);
    json!(h.prediction_list())
}

#[test]
fn affinity_in_predictions() {
    run_table(&[
        Case {
            name: "weighted fields and the weighted potential",
            run: |h| affinity_predictions(h, json!({"affinity_emotive": "joy"})),
            expected: || {
                json!([
                    {"sequence": [["A"], ["B"]], "similarity": 0.8, "evidence": 1.0,
                     "confidence": 1.0, "snr": 0.6, "extras": [[], [], ["X"]],
                     "weighted_similarity": 0.9945945945945945, "weighted_evidence": 1.0,
                     "weighted_confidence": 1.0, "weighted_snr": 0.989247311827957,
                     "itfdf_similarity": 0.9999999999999999, "potential": 3.978494623655914},
                    {"sequence": [["A"], ["C"]], "similarity": 0.4, "evidence": 0.5,
                     "confidence": 1.0, "snr": 0.0, "present": [["A"]], "future": [["C"]],
                     "extras": [[], ["B"], ["X"]],
                     "weighted_similarity": 0.5, "weighted_evidence": 1.0,
                     "weighted_confidence": 1.0, "weighted_snr": 0.3333333333333333,
                     "itfdf_similarity": 0.9472135954999579, "potential": 2.6138802621666244}
                ])
            },
        },
        Case {
            name: "weighted fields are null without affinity",
            run: |h| affinity_predictions(h, json!({})),
            expected: || {
                json!([
                    {"sequence": [["A"], ["B"]], "weighted_similarity": null,
                     "weighted_evidence": null, "weighted_confidence": null,
                     "weighted_snr": null, "potential": 3.1999999999999997},
                    {"sequence": [["A"], ["C"]], "weighted_similarity": null,
                     "weighted_evidence": null, "weighted_confidence": null,
                     "weighted_snr": null, "potential": 1.9472135954999579}
                ])
            },
        },
        Case {
            // No symbol has a `fear` affinity: every state symbol weighs the 0.01 floor.
            // P1: ws 2·0.02/(0.03 + 0.02) = 0.8, wsnr 0.02/(0.02 + 0.01) = ⅔,
            //     potential 2·⅔ + 1 + 1; P2: ws 2·0.01/(0.03 + 0.01) = 0.5,
            //     wsnr 0.01/(0.01 + 0.02) = ⅓, potential 2·⅓ + 0.9472… + 1.
            name: "an emotive nobody has weighs every symbol at the 0.01 floor",
            run: |h| affinity_predictions(h, json!({"affinity_emotive": "fear"})),
            expected: || {
                json!([
                    {"weighted_similarity": 0.8, "weighted_evidence": 1.0,
                     "weighted_confidence": 1.0, "weighted_snr": 0.6666666666666666,
                     "potential": 3.3333333333333335},
                    {"weighted_similarity": 0.5, "weighted_evidence": 1.0,
                     "weighted_confidence": 1.0, "weighted_snr": 0.3333333333333333,
                     "potential": 2.6138802621666244}
                ])
            },
        },
    ]);
}

#[test]
fn weighted_rank_needs_affinity() {
    // (body, field blamed or None when accepted) — Decision D7, on the default config.
    let table: &[(Value, Option<&str>)] = &[
        (
            json!({"rank_sort_algo": "weighted_similarity"}),
            Some("rank_sort_algo"),
        ),
        (
            json!({"rank_sort_algo": "weighted_evidence"}),
            Some("rank_sort_algo"),
        ),
        (
            json!({"rank_sort_algo": "weighted_confidence"}),
            Some("rank_sort_algo"),
        ),
        (
            json!({"rank_sort_algo": "weighted_snr"}),
            Some("rank_sort_algo"),
        ),
        (
            json!({"rank_sort_algo": "weighted_snr", "affinity_emotive": null}),
            Some("rank_sort_algo"),
        ),
        (
            json!({"rank_sort_algo": "weighted_similarity", "affinity_emotive": "joy"}),
            None,
        ),
        (json!({"rank_sort_algo": "similarity"}), None),
    ];
    for (body, blamed) in table {
        let result = parse_update(body, &EngineConfig::default());
        match (blamed, result) {
            (None, Ok(_)) => {}
            (Some(field), Err(ConfigError::Validation(errors))) => {
                assert_eq!(
                    errors.keys().map(String::as_str).collect::<Vec<_>>(),
                    vec![*field],
                    "{body}"
                );
            }
            (blamed, result) => panic!("{body}: expected {blamed:?}, got {result:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. finalize-training (§3.6, §4.7.4, Decision D9)
// ---------------------------------------------------------------------------------------------

#[test]
fn finalize_training() {
    // P = [beginning],[middle],[end], Q = [middle],[other]; N = 2, T = 4; pmf middle 2, others 1
    // → P(beginning) = P(end) = P(other) = ½, P(middle) = 1. State [middle],[end]:
    // P present [[middle],[end]], Q present [[middle]]; prob cache {middle: 1, end: ½}.
    //
    // Runtime (over present): P: entropy −2·½·log2 ½ = 1; normalized −2·½·ln½/ln4 = 0.5;
    //   global −(½·ln½/ln4 + 1·ln1/ln4) = 0.25; tfidf mean(½·(log2(2/1)+1), ½·(log2(2/2)+1))
    //   = mean(1, 0.5) = 0.75 (D_end = int(½·2) = 1, D_middle = 2).
    //   Q: one present symbol with P = 1 → entropies 0; tfidf 1·(log2(2/2)+1) = 1.
    // Precomputed (whole pattern): P: entropy log2 3 = 1.584962500721156; normalized
    //   −3·⅓·ln⅓/ln4 = 0.792481250360578; global ½·½ (beginning) + ½·½ (end) + 0 (middle) = 0.5;
    //   tfidf mean over tf ⅓ each of (log2(2/D)+1) with D beginning 1 (not cached), middle 2,
    //   end 1 → (⅔ + ⅓ + ⅔)/3 = 0.5555555555555555.
    //   Q: entropy 1, normalized 0.5, global 0 + 0.25 = 0.25, tfidf mean(0.5·1, 0.5·2) = 0.75.
    fn metrics(h: &Harness) -> Value {
        let keys = [
            "entropy",
            "normalized_entropy",
            "global_normalized_entropy",
            "tfidf_score",
        ];
        let by_sequence = h.by_sequence();
        let pick = |sequence: &str| -> Value {
            keys.iter()
                .map(|k| (k.to_string(), by_sequence[sequence][*k].clone()))
                .collect::<Map<_, _>>()
                .into()
        };
        json!({
            "P": pick("beginning middle end"),
            "Q": pick("middle other"),
            "finalized": h.kb.is_finalized(),
        })
    }
    run_table(&[
        Case {
            name: "precomputed whole-pattern metrics until the next learn",
            run: |h| {
                h.learn_events(&[&["beginning"], &["middle"], &["end"]]);
                h.learn_events(&[&["middle"], &["other"]]);
                h.obs(&["middle"]);
                h.obs(&["end"]);
                let runtime = metrics(h);
                h.kb.apply(&KbRecord::FinalizeTraining);
                let finalized = metrics(h);
                // D9: a re-learn (N, T and pmf unchanged) drops the precomputed values.
                let predicting = std::mem::take(&mut h.session);
                h.learn_events(&[&["middle"], &["other"]]);
                h.session = predicting;
                json!([runtime, finalized, metrics(h)])
            },
            expected: || {
                let runtime = json!({
                    "P": {"entropy": 1.0, "normalized_entropy": 0.5,
                          "global_normalized_entropy": 0.25, "tfidf_score": 0.75},
                    "Q": {"entropy": 0.0, "normalized_entropy": 0.0,
                          "global_normalized_entropy": 0.0, "tfidf_score": 1.0},
                    "finalized": false,
                });
                json!([
                    runtime,
                    {
                        "P": {"entropy": 1.584962500721156, "normalized_entropy": 0.792481250360578,
                              "global_normalized_entropy": 0.5, "tfidf_score": 0.5555555555555555},
                        "Q": {"entropy": 1.0, "normalized_entropy": 0.5,
                              "global_normalized_entropy": 0.25, "tfidf_score": 0.75},
                        "finalized": true,
                    },
                    runtime
                ])
            },
        },
        Case {
            name: "clear-all drops the precomputed metrics",
            run: |h| {
                h.learn_events(&[&["a"], &["b"]]);
                h.kb.apply(&KbRecord::FinalizeTraining);
                let finalized = h.kb.is_finalized();
                h.session.clear_all(&mut h.kb, &mut h.records);
                json!([finalized, h.kb.is_finalized()])
            },
            expected: || json!([true, false]),
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// 6. Vectors (§1.4, Appendix B, Decisions D5, D8, D9)
// ---------------------------------------------------------------------------------------------

// NumPy texts (Appendix B) and their names:
// w1 [1,0]  "[1. 0.]"    VCTR|b2ee9b10732bd3dcfa2ecc8ee3c56ceed36ddcfc
// w2 [-1,0] "[-1.  0.]"  VCTR|5c31ca35f0bc9b30775e952ad6494ee798699f18
// w3 [0,1]  "[0. 1.]"    VCTR|92fee23207d7d9a9be1cec5d325a41b48f2277c8
// w4 [0,-1] "[ 0. -1.]"  VCTR|8cdbf5899c35a2cca1b87ea48898830b76f80768
// q  [0,0]  "[0. 0.]"    VCTR|7fe044153e8812717283b8448617881cce6353de
// Name order: w2 < q < w4 < w3 < w1.
const W1: &str = "VCTR|b2ee9b10732bd3dcfa2ecc8ee3c56ceed36ddcfc";
const W2: &str = "VCTR|5c31ca35f0bc9b30775e952ad6494ee798699f18";
const W3: &str = "VCTR|92fee23207d7d9a9be1cec5d325a41b48f2277c8";
const W4: &str = "VCTR|8cdbf5899c35a2cca1b87ea48898830b76f80768";
const Q: &str = "VCTR|7fe044153e8812717283b8448617881cce6353de";
const V123: &str = "VCTR|fe5de4472f7e4d5c9cdd19cadebfa06fe3da8e43";
const V12: &str = "VCTR|6786a5fc0b30a70ed8fdbaaa451e7c26b5d6c359";
const V345: &str = "VCTR|5cf78edf3af7aa7256b1d8e555c2b9731e847ca6";

/// Observes w1, w2, w3, w4, q, w1 (one vector each) and returns the STM. Squared distances:
/// w2→{w1 4}; w3→{w1 2, w2 2}; w4→{w1 2, w2 2, w3 4}; q→{all four 1: the first three inserted};
/// w1 again→{w1 0, q 1, w3 2, w4 2, w2 4}: w1, q, w3 (w3 before w4 by insertion), own name
/// already present.
fn neighbour_walk(h: &mut Harness) -> Value {
    for vector in [
        &[1.0, 0.0][..],
        &[-1.0, 0.0],
        &[0.0, 1.0],
        &[0.0, -1.0],
        &[0.0, 0.0],
        &[1.0, 0.0],
    ] {
        h.obs_vectors(&[], &[vector]);
    }
    h.stm()
}

#[test]
fn vectors() {
    run_table(&[
        Case {
            name: "one vector",
            run: |h| {
                h.obs_vectors(&[], &[&[1.0, 2.0, 3.0]]);
                h.stm()
            },
            expected: || json!([[V123]]),
        },
        Case {
            name: "vectors of one observation are summed: [1.5 0.5]",
            run: |h| {
                h.obs_vectors(&[], &[&[0.5, 0.5], &[1.0, 0.0]]);
                h.stm()
            },
            expected: || json!([["VCTR|f11daefdddee30b6a7a043c084fad802f0553a99"]]),
        },
        Case {
            name: "integer-valued vector [1 0 0]",
            run: |h| {
                h.obs_vectors(&[], &[&[1.0, 0.0, 0.0]]);
                h.stm()
            },
            expected: || json!([["VCTR|9d58821e286eae6a77923d694a12ede7cbeabfbd"]]),
        },
        Case {
            name: "3 nearest neighbours plus own name, sorted",
            run: neighbour_walk,
            expected: || {
                json!([
                    [W1],
                    [W2, W1],
                    [W2, W3, W1],
                    [W2, W4, W3, W1],
                    [W2, Q, W3, W1],
                    [Q, W3, W1]
                ])
            },
        },
        Case {
            name: "unsorted: nearest first, ties by insertion order, own name last",
            run: |h| {
                h.configure(json!({"sort_symbols": false}));
                neighbour_walk(h)
            },
            expected: || {
                json!([
                    [W1],
                    [W1, W2],
                    [W1, W2, W3],
                    [W1, W2, W3, W4],
                    [W1, W2, W3, Q],
                    [W1, Q, W3]
                ])
            },
        },
        Case {
            // A merged sort would give ["0", "VCTR|…", "Z"].
            name: "vector symbols come before the separately sorted strings",
            run: |h| {
                h.obs_vectors(&["Z", "0"], &[&[1.0, 2.0, 3.0]]);
                h.stm()
            },
            expected: || json!([[V123, "0", "Z"]]),
        },
        Case {
            name: "neighbours are per node: another session sees the first one's vectors",
            run: |h| {
                h.obs_vectors(&[], &[&[1.0, 0.0]]);
                h.session = SessionState::new();
                h.obs_vectors(&[], &[&[0.0, 1.0]]);
                h.stm()
            },
            expected: || json!([[W3, W1]]),
        },
        Case {
            name: "lengths differing inside one observation: error, nothing changed",
            run: |h| {
                h.obs(&["before"]);
                let (session, records) = (h.session.clone(), h.records.len());
                let mut observation = with_vectors(&["s"], &[&[1.0, 2.0], &[1.0, 2.0, 3.0]]);
                observation.emotives = [("joy".to_string(), 1.0)].into_iter().collect();
                let error = h.try_observe(observation).expect_err("rejected");
                json!({
                    "error": error_json(&error),
                    "session_unchanged": h.session == session,
                    "records_unchanged": h.records.len() == records,
                    "vectors": h.kb.vectors().len(),
                })
            },
            expected: || {
                json!({
                    "error": {"error": "VectorDimension", "vector_index": 1,
                              "expected_dimension": 2, "actual_dimension": 3,
                              "vector_name": "vectors[1]"},
                    "session_unchanged": true, "records_unchanged": true, "vectors": 0
                })
            },
        },
        Case {
            name: "a dimension other than the node's first vector: error, nothing changed",
            run: |h| {
                h.obs_vectors(&[], &[&[1.0, 2.0]]);
                let (session, records) = (h.session.clone(), h.records.len());
                let mut observation = with_vectors(&["s"], &[&[3.0, 4.0, 5.0]]);
                observation.emotives = [("joy".to_string(), 1.0)].into_iter().collect();
                let error = h.try_observe(observation).expect_err("rejected");
                json!({
                    "error": error_json(&error),
                    "session_unchanged": h.session == session,
                    "records_unchanged": h.records.len() == records,
                    "vectors": h.kb.vectors().len(),
                    "dimension": h.kb.vectors().dimension(),
                })
            },
            expected: || {
                json!({
                    "error": {"error": "VectorDimension", "vector_index": 0,
                              "expected_dimension": 2, "actual_dimension": 3,
                              "vector_name": V345},
                    "session_unchanged": true, "records_unchanged": true,
                    "vectors": 1, "dimension": 2
                })
            },
        },
        Case {
            // D9: the index is empty again, so a new dimension is accepted and the vector is
            // its own only neighbour.
            name: "clear-all drops the node's vectors",
            run: |h| {
                h.obs_vectors(&[], &[&[1.0, 2.0]]);
                h.obs_vectors(&[], &[&[2.0, 2.0]]);
                h.session.clear_all(&mut h.kb, &mut h.records);
                let after_clear = json!([h.kb.vectors().len(), h.kb.vectors().dimension()]);
                h.obs_vectors(&[], &[&[3.0, 4.0, 5.0]]);
                json!({"after_clear": after_clear, "stm": h.stm(),
                       "dimension": h.kb.vectors().dimension()})
            },
            expected: || json!({"after_clear": [0, null], "stm": [[V345]], "dimension": 3}),
        },
        Case {
            // The learned pattern starts with the vector's symbol, so observing the same
            // vector alone (its own stored copy is its only neighbour) finds it on the
            // single-symbol path.
            name: "vector symbols are learned and predicted like strings",
            run: |h| {
                h.obs_vectors(&["a"], &[&[1.0, 2.0]]);
                h.obs(&["b"]);
                let name = h.learn();
                h.session = SessionState::new();
                h.obs_vectors(&[], &[&[1.0, 2.0]]);
                json!({"pattern": h.pattern(&name)["pattern_data"], "stm": h.stm(),
                       "predictions": h.prediction_list()})
            },
            expected: || {
                json!({"pattern": [[V12, "a"], ["b"]], "stm": [[V12]],
                       "predictions": [{"matches": [V12], "future": ["a", "b"]}]})
            },
        },
        Case {
            name: "vectors observed twice are indexed once",
            run: |h| {
                h.obs_vectors(&[], &[&[1.0, 2.0]]);
                h.obs_vectors(&[], &[&[1.0, 2.0]]);
                json!({"stm": h.stm(), "vectors": h.kb.vectors().len()})
            },
            expected: || json!({"stm": [[V12], [V12]], "vectors": 1}),
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// 7. observe-sequence (§1.8) and the session operations (§1.2, §2.5, Decisions D2, D3, D9)
// ---------------------------------------------------------------------------------------------

const AB: &str = "PTRN|395314cc2f2880a00c3e6e11f1e02d8b8c45a0e4"; // [['a', 'b']]
const CD: &str = "PTRN|cb6d41f60aba52a3bc72907265d45fac238db50c"; // [['c', 'd']]
const A_B_C: &str = "PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9"; // [['a'], ['b'], ['c']]
const A_B: &str = "PTRN|76d7efca2e96cb5eeddf4e06ac96a0f424630135"; // [['a'], ['b']]
const X_A: &str = "PTRN|c05e16096296e1e8b961013451f8979d38bf2979"; // [['x'], ['a']]

fn sequence(
    h: &mut Harness,
    observations: Vec<Observation>,
    options: SequenceOptions,
) -> Result<SequenceOutcome, (usize, EngineError)> {
    let ids = (0..observations.len())
        .map(|i| format!("seq-{i}"))
        .collect();
    h.session.observe_sequence(
        &mut h.kb,
        &observations,
        ids,
        options,
        &h.config,
        &mut h.records,
    )
}

fn sequence_json(outcome: &SequenceOutcome) -> Value {
    json!({
        "initial_stm_length": outcome.initial_stm_length,
        "final_stm_length": outcome.final_stm_length,
        "results": outcome.results.iter().map(|item| json!({
            "sequence_position": item.sequence_position,
            "stm_length": item.observed.stm_length,
            "time": item.observed.time,
            "unique_id": item.observed.unique_id,
            "auto_learned_pattern": item.observed.auto_learned_pattern,
        })).collect::<Vec<_>>(),
        "auto_learned_patterns": outcome.auto_learned_patterns,
        "final_learned_pattern": outcome.final_learned_pattern,
        "isolated": outcome.isolated,
    })
}

fn items(events: &[&[&str]]) -> Vec<Observation> {
    events
        .iter()
        .map(|event| Observation::strings(event.iter().copied()))
        .collect()
}

#[test]
fn observe_sequence() {
    run_table(&[
        Case {
            // Each item is learned right after it is observed: [a,b] is stored, the
            // one-symbol events store nothing and record "". An item's stm_length is taken
            // after its learn (upstream builds the item after learning).
            name: "learn_after_each",
            run: |h| {
                let options = SequenceOptions {
                    learn_after_each: true,
                    ..Default::default()
                };
                let outcome = sequence(h, items(&[&["b", "a"], &["c"], &["d"]]), options);
                json!({"outcome": sequence_json(&outcome.expect("ok")), "stm": h.stm()})
            },
            expected: || {
                json!({
                    "outcome": {
                        "initial_stm_length": 0, "final_stm_length": 0,
                        "results": [
                            {"sequence_position": 0, "stm_length": 0, "time": 1,
                             "unique_id": "seq-0", "auto_learned_pattern": null},
                            {"sequence_position": 1, "stm_length": 0, "time": 2,
                             "unique_id": "seq-1", "auto_learned_pattern": null},
                            {"sequence_position": 2, "stm_length": 0, "time": 3,
                             "unique_id": "seq-2", "auto_learned_pattern": null}
                        ],
                        "auto_learned_patterns": [AB, "", ""],
                        "final_learned_pattern": null, "isolated": false
                    },
                    "stm": []
                })
            },
        },
        Case {
            name: "learn_at_end",
            run: |h| {
                let options = SequenceOptions {
                    learn_at_end: true,
                    ..Default::default()
                };
                let outcome = sequence(h, items(&[&["a"], &["b"], &["c"]]), options);
                sequence_json(&outcome.expect("ok"))
            },
            expected: || {
                json!({
                    "initial_stm_length": 0, "final_stm_length": 0,
                    "results": [{"stm_length": 1}, {"stm_length": 2}, {"stm_length": 3}],
                    "auto_learned_patterns": [A_B_C], "final_learned_pattern": A_B_C,
                    "isolated": false
                })
            },
        },
        Case {
            // The STM is emptied before item 1 only; time and the emotive accumulator are not,
            // so the learned [c,d] carries item 0's emotives (D3).
            name: "clear_stm_between with learn_at_end",
            run: |h| {
                let observations = vec![
                    with_emotives(&["a", "b"], &[("joy", 1.0)]),
                    Observation::strings(["d", "c"]),
                ];
                let options = SequenceOptions {
                    clear_stm_between: true,
                    learn_at_end: true,
                    ..Default::default()
                };
                let outcome = sequence(h, observations, options).expect("ok");
                json!({"outcome": sequence_json(&outcome), "pattern": h.pattern(CD)})
            },
            expected: || {
                json!({
                    "outcome": {
                        "final_stm_length": 0,
                        "results": [{"stm_length": 1, "time": 1}, {"stm_length": 1, "time": 2}],
                        "auto_learned_patterns": [CD], "final_learned_pattern": CD,
                        "isolated": true
                    },
                    "pattern": {"pattern_data": [["c", "d"]], "emotives": [{"joy": 1.0}]}
                })
            },
        },
        Case {
            // STM [[x]] before; item [a] makes [[x],[a]] → ROLLING (M = 2) learns it and keeps
            // [[a]]; learn_after_each then learns [[a]] → "". Recorded in that order: the
            // explicit learn, then the auto-learn.
            name: "auto-learn inside a sequence, with learn_after_each",
            run: |h| {
                h.configure(json!({"max_pattern_length": 2, "stm_mode": "ROLLING"}));
                h.obs(&["x"]);
                let options = SequenceOptions {
                    learn_after_each: true,
                    ..Default::default()
                };
                sequence_json(&sequence(h, items(&[&["a"]]), options).expect("ok"))
            },
            expected: || {
                json!({
                    "initial_stm_length": 1, "final_stm_length": 0,
                    "results": [{"stm_length": 0, "time": 2, "auto_learned_pattern": X_A}],
                    "auto_learned_patterns": ["", X_A], "final_learned_pattern": null
                })
            },
        },
        Case {
            name: "auto-learn CLEAR records the auto-learned name",
            run: |h| {
                h.configure(json!({"max_pattern_length": 2}));
                let outcome = sequence(h, items(&[&["a"], &["b"], &["c"]]), Default::default());
                sequence_json(&outcome.expect("ok"))
            },
            expected: || {
                json!({
                    "final_stm_length": 1,
                    "results": [{"auto_learned_pattern": null}, {"auto_learned_pattern": A_B},
                                {"auto_learned_pattern": null}],
                    "auto_learned_patterns": [A_B], "final_learned_pattern": null
                })
            },
        },
        Case {
            name: "an empty list is a no-op",
            run: |h| {
                h.obs(&["a"]);
                let options = SequenceOptions {
                    learn_after_each: true,
                    learn_at_end: true,
                    clear_stm_between: true,
                };
                let outcome = sequence(h, Vec::new(), options).expect("ok");
                json!({"outcome": sequence_json(&outcome), "stm": h.stm(),
                       "time": h.session.time, "patterns": h.kb.patterns().len()})
            },
            expected: || {
                json!({
                    "outcome": {"initial_stm_length": 1, "final_stm_length": 1, "results": [],
                                "auto_learned_patterns": [], "final_learned_pattern": null},
                    "stm": [["a"]], "time": 1, "patterns": 0
                })
            },
        },
        Case {
            name: "an invalid item stops the sequence, earlier items stay applied",
            run: |h| {
                let observations = vec![
                    Observation::strings(["a"]),
                    with_vectors(&[], &[&[1.0], &[1.0, 2.0]]),
                    Observation::strings(["c"]),
                ];
                let error = sequence(h, observations, Default::default()).expect_err("fails");
                json!({"at": error.0, "error": error_json(&error.1), "stm": h.stm(),
                       "time": h.session.time})
            },
            expected: || {
                json!({"at": 1, "error": {"error": "VectorDimension", "vector_index": 1},
                       "stm": [["a"]], "time": 1})
            },
        },
    ]);
}

#[test]
fn session_operations() {
    run_table(&[
        Case {
            name: "clear-stm resets the session, not the config or the node",
            run: |h| {
                h.configure(json!({"recall_threshold": 0.5}));
                h.learn_events(&[&["a"], &["b"]]);
                h.observe(with_metadata(
                    with_emotives(&["a"], &[("joy", 1.0)]),
                    json!({"k": "v"}),
                ));
                h.obs(&["b"]);
                let before = json!([
                    h.session.emotives.len(),
                    h.session.metadata.len(),
                    h.session.time,
                    h.session.predictions.predictions.len()
                ]);
                h.clear();
                json!({
                    "before": before,
                    "after": h.session == SessionState::default(),
                    "percept_data": h.session.percept_data.is_none(),
                    "recall_threshold": h.config.recall_threshold,
                    "patterns": h.kb.patterns().len(),
                })
            },
            expected: || {
                json!({"before": [1, 1, 4, 1], "after": true, "percept_data": true,
                       "recall_threshold": 0.5, "patterns": 1})
            },
        },
        Case {
            // Another session of the node keeps its STM but finds nothing to predict from.
            name: "clear-all wipes the node",
            run: |h| {
                h.learn_events(&[&["a"], &["b"]]);
                h.obs_vectors(&["a"], &[&[1.0, 2.0]]);
                let mut other = SessionState::new();
                for symbol in ["a", "b"] {
                    other
                        .observe(
                            &mut h.kb,
                            &Observation::strings([symbol]),
                            String::new(),
                            &h.config,
                            &mut h.records,
                        )
                        .expect("observe");
                }
                let before = other.predictions(&h.kb, &h.config).predictions.len();
                h.session.clear_all(&mut h.kb, &mut h.records);
                json!({
                    "before": before,
                    "session_cleared": h.session == SessionState::default(),
                    "patterns": h.kb.patterns().len(),
                    "symbols": h.kb.total_symbols(),
                    "vectors": h.kb.vectors().len(),
                    "totals": h.kb.totals(),
                    "pattern_gone": h.kb.pattern_by_name(A_B).is_none(),
                    "last_record_is_clear_all": h.records.last() == Some(&KbRecord::ClearAll),
                    "other_stm": other.stm,
                    "other_predictions": other.predictions(&h.kb, &h.config).predictions.len(),
                })
            },
            expected: || {
                json!({
                    "before": 1, "session_cleared": true, "patterns": 0, "symbols": 0,
                    "vectors": 0, "pattern_gone": true, "last_record_is_clear_all": true,
                    "totals": {"total_symbols_in_patterns_frequencies": 0,
                               "total_pattern_frequencies": 0, "total_unique_patterns": 0},
                    "other_stm": [["a"], ["b"]], "other_predictions": 0
                })
            },
        },
        Case {
            // D3: the accumulators are attached, then cleared, so the re-learn attaches
            // nothing again and adds nothing to the affinity (QUIRK-5/6 fixed).
            name: "learn attaches emotives and metadata once, then clears them",
            run: |h| {
                h.observe(with_metadata(
                    with_emotives(&["A"], &[("joy", 1.0)]),
                    json!({"src": "x"}),
                ));
                h.obs_emotives(&["B"], &[("joy", 3.0)]);
                let name = h.learn();
                let accumulators = json!([h.session.emotives, h.session.metadata]);
                h.learn_events(&[&["A"], &["B"]]);
                json!({"name": name, "accumulators": accumulators,
                       "pattern": h.pattern(&name), "affinity": h.affinity("A")})
            },
            expected: || {
                json!({
                    "name": "PTRN|3651a86de198b54b13e1d7a02407dc4faaa622ff",
                    "accumulators": [[], []],
                    "pattern": {"frequency": 2, "emotives": [{"joy": 1.0}, {"joy": 3.0}],
                                "metadata": {"src": ["x"]}},
                    "affinity": {"joy": 2.0}
                })
            },
        },
        Case {
            // C {joy 4}, D {joy 6, meta k: 1} → auto-learned [[C],[D]] with both emotives,
            // metadata {k: ["1"]}, affinity (4+6)/2 = 5 on C and D; accumulators emptied.
            name: "auto-learn attaches emotives and metadata too",
            run: |h| {
                h.configure(json!({"max_pattern_length": 2}));
                h.obs_emotives(&["C"], &[("joy", 4.0)]);
                let observed = h.observe(with_metadata(
                    with_emotives(&["D"], &[("joy", 6.0)]),
                    json!({"k": 1}),
                ));
                let name = observed["auto_learned_pattern"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                json!({
                    "name": name, "pattern": h.pattern(&name),
                    "affinity": [h.affinity("C"), h.affinity("D")],
                    "accumulators": [h.session.emotives.len(), h.session.metadata.len()],
                })
            },
            expected: || {
                json!({
                    "name": "PTRN|478c806e238e15d0c44b1c0d2058ba4290c68607",
                    "pattern": {"pattern_data": [["C"], ["D"]],
                                "emotives": [{"joy": 4.0}, {"joy": 6.0}],
                                "metadata": {"k": ["1"]}},
                    "affinity": [{"joy": 5.0}, {"joy": 5.0}],
                    "accumulators": [0, 0]
                })
            },
        },
        Case {
            // §2.2: an empty observation never auto-learns (nor predicts), even with the STM
            // past a lowered max_pattern_length; the next real observation learns the whole
            // (longer) STM.
            name: "lowering max_pattern_length: the next observe learns the whole STM",
            run: |h| {
                for symbol in ["a", "b", "c"] {
                    h.obs(&[symbol]);
                }
                h.configure(json!({"max_pattern_length": 2}));
                let empty = h.observe(with_emotives(&[], &[("joy", 1.0)]));
                let after_empty = h.stm();
                let next = h.obs(&["d"]);
                json!({"empty": [empty["auto_learned_pattern"], empty["predictions"]],
                       "after_empty": after_empty, "learned": next["auto_learned_pattern"],
                       "stm": h.stm()})
            },
            expected: || {
                json!({"empty": [null, null], "after_empty": [["a"], ["b"], ["c"]],
                       "learned": "PTRN|08765292ef1217264602ed4b06d2cddbe94fba09", "stm": []})
            },
        },
        Case {
            // QUIRK-4 kept: ROLLING with max_pattern_length 1 keeps STM[-0:], the whole STM.
            name: "ROLLING with max_pattern_length 1 keeps the whole STM",
            run: |h| {
                for symbol in ["a", "b", "c"] {
                    h.obs(&[symbol]);
                }
                h.configure(json!({"max_pattern_length": 1, "stm_mode": "ROLLING"}));
                let learned = h.obs(&["d"])["auto_learned_pattern"].clone();
                json!({"learned": learned, "stm": h.stm()})
            },
            expected: || {
                json!({"learned": "PTRN|08765292ef1217264602ed4b06d2cddbe94fba09",
                       "stm": [["a"], ["b"], ["c"], ["d"]]})
            },
        },
        Case {
            // L == 1 == M: learn (one symbol stores nothing → null) and empty the STM; a
            // two-symbol event is stored.
            name: "max_pattern_length 1 learns every event",
            run: |h| {
                h.configure(json!({"max_pattern_length": 1}));
                let one = h.obs(&["a"])["auto_learned_pattern"].clone();
                let after_one = h.stm();
                let two = h.obs(&["b", "a"])["auto_learned_pattern"].clone();
                json!([one, after_one, two, h.stm()])
            },
            expected: || json!([null, [], AB, []]),
        },
        Case {
            // Observe-time predictions are computed before the auto-learn: the [a],[b] just
            // learned is not among them, and the STM they describe is the pre-learn one.
            name: "observe-time predictions come before the auto-learn",
            run: |h| {
                h.learn_events(&[&["a"], &["b"], &["c"]]);
                h.configure(json!({"max_pattern_length": 2}));
                h.obs(&["a"]);
                let observed = h.obs(&["b"]);
                json!({"learned": observed["auto_learned_pattern"],
                       "predictions": observed["predictions"], "stm": h.stm()})
            },
            expected: || {
                json!({"learned": A_B, "stm": [],
                       "predictions": [{"sequence": [["a"], ["b"], ["c"]], "similarity": 0.8}]})
            },
        },
        Case {
            // The engine's reading of D3 (session.rs `store_pattern`): a learn that stores
            // nothing still starts the next pattern's emotives afresh.
            name: "a learn that stores nothing still clears the accumulators",
            run: |h| {
                h.obs_emotives(&["lonely"], &[("joy", 1.0)]);
                let name = h.learn();
                json!([name, h.session.emotives.len()])
            },
            expected: || json!(["", 0]),
        },
        Case {
            // D2: the session's sort flag is honoured; percept_data strings are always sorted.
            name: "sort_symbols false keeps the observed order",
            run: |h| {
                h.configure(json!({"sort_symbols": false}));
                h.obs(&["b", "a"]);
                let percept = h.session.percept_data.as_ref().map(|p| p.strings.clone());
                json!({"stm": h.stm(), "percept": percept, "name": h.learn()})
            },
            expected: || {
                json!({"stm": [["b", "a"]], "percept": ["a", "b"],
                       "name": "PTRN|fbe541339f86759dad596a4ae4e06d43f63874b3"})
            },
        },
        Case {
            name: "use_token_matching false turns sorting off with it",
            run: |h| {
                h.configure(json!({"use_token_matching": false}));
                h.obs(&["z", "a"]);
                h.stm()
            },
            expected: || json!([["z", "a"]]),
        },
        Case {
            // Session 1 (persistence 2) learns with 3 entries → the last 2; session 2
            // (default 5) re-learns with 3 → 2 + 3 = 5 kept; session 1 again with 1 → last 2.
            name: "persistence is the learning session's",
            run: |h| {
                /// A fresh session under `config` learns [p],[q] with one emotive entry per
                /// value (empty observations carry them); returns the stored window.
                fn learn_pq(h: &mut Harness, config: &EngineConfig, values: &[f64]) -> Value {
                    let mut session = SessionState::new();
                    let mut observations =
                        vec![Observation::strings(["p"]), Observation::strings(["q"])];
                    observations.extend(values.iter().map(|v| with_emotives(&[], &[("v", *v)])));
                    for observation in &observations {
                        session
                            .observe(
                                &mut h.kb,
                                observation,
                                String::new(),
                                config,
                                &mut h.records,
                            )
                            .expect("observe");
                    }
                    let name = session
                        .learn(&mut h.kb, config, &mut h.records)
                        .expect("learn");
                    h.pattern(&name)["emotives"].clone()
                }
                let short = parse_update(&json!({"persistence": 2}), &h.config)
                    .expect("valid")
                    .apply_to(&h.config);
                let long = EngineConfig::default();
                let first = learn_pq(h, &short, &[1.0, 2.0, 3.0]);
                let second = learn_pq(h, &long, &[4.0, 5.0, 6.0]);
                let third = learn_pq(h, &short, &[7.0]);
                json!([first, second, third])
            },
            expected: || {
                json!([
                    [{"v": 2.0}, {"v": 3.0}],
                    [{"v": 2.0}, {"v": 3.0}, {"v": 4.0}, {"v": 5.0}, {"v": 6.0}],
                    [{"v": 6.0}, {"v": 7.0}]
                ])
            },
        },
        Case {
            // §1.2 step 8: strings always sorted, raw vectors, the average of the whole
            // emotive accumulator ({joy: (2+4)/2, sad: 1/1}), path [], raw metadata. An empty
            // observation still updates it.
            name: "percept_data",
            run: |h| {
                h.configure(json!({"sort_symbols": false}));
                h.observe(with_metadata(
                    {
                        let mut o = with_vectors(&["b", "a"], &[&[1.0, 2.0]]);
                        o.emotives = [("joy".to_string(), 2.0)].into_iter().collect();
                        o
                    },
                    json!({"m": 1}),
                ));
                h.obs_emotives(&["c"], &[("joy", 4.0), ("sad", 1.0)]);
                let second = json!(h.session.percept_data);
                h.observe(with_emotives(&[], &[("sad", 3.0)]));
                json!({"second": second, "empty": h.session.percept_data,
                       "stm_length": h.session.stm.len(), "time": h.session.time})
            },
            expected: || {
                json!({
                    "second": {"strings": ["c"], "vectors": [], "path": [], "metadata": {},
                               "emotives": {"joy": 3.0, "sad": 1.0}},
                    "empty": {"strings": [], "vectors": [], "path": [], "metadata": {},
                              "emotives": {"joy": 3.0, "sad": 2.0}},
                    "stm_length": 2, "time": 3
                })
            },
        },
        Case {
            name: "percept_data of the first observation",
            run: |h| {
                h.configure(json!({"sort_symbols": false}));
                let mut observation = with_vectors(&["b", "a"], &[&[1.0, 2.0]]);
                observation.emotives = [("joy".to_string(), 2.0)].into_iter().collect();
                h.observe(with_metadata(observation, json!({"m": 1})));
                json!({"percept": h.session.percept_data, "stm": h.stm()})
            },
            expected: || {
                json!({
                    "percept": {"strings": ["a", "b"], "vectors": [[1.0, 2.0]], "path": [],
                                "metadata": {"m": 1}, "emotives": {"joy": 2.0}},
                    "stm": [[V12, "b", "a"]]
                })
            },
        },
        Case {
            // 1005 observations: the oldest 5 STM events, emotive and metadata entries drop.
            name: "session limits",
            run: |h| {
                h.configure(json!({"process_predictions": false}));
                for i in 0..1005 {
                    let symbol = format!("s{i}");
                    h.observe(with_metadata(
                        with_emotives(&[&symbol], &[("i", f64::from(i))]),
                        json!({"i": i}),
                    ));
                }
                let s = &h.session;
                json!({
                    "stm": [s.stm.len(), &s.stm[0], &s.stm[s.stm.len() - 1]],
                    "emotives": [s.emotives.len(), &s.emotives[0]],
                    "metadata": [s.metadata.len(), &s.metadata[0]],
                    "time": s.time,
                    "limit": MAX_STM_EVENTS,
                })
            },
            expected: || {
                json!({
                    "stm": [1000, ["s5"], ["s1004"]],
                    "emotives": [1000, {"i": 5.0}],
                    "metadata": [1000, {"i": 5}],
                    "time": 1005,
                    "limit": 1000
                })
            },
        },
        Case {
            // D2: the session threshold applies at observe time too (0.8 < 0.9 → none), and
            // process_predictions false computes nothing.
            name: "observe-time predictions use the session config",
            run: |h| {
                h.learn_events(&[&["a"], &["b"], &["c"]]);
                h.obs(&["a"]);
                let default = h.obs(&["b"])["predictions"].clone();
                h.clear();
                h.configure(json!({"recall_threshold": 0.9}));
                h.obs(&["a"]);
                let strict = h.obs(&["b"])["predictions"].clone();
                h.configure(json!({"process_predictions": false}));
                let off = h.obs(&["c"])["predictions"].clone();
                json!([default, strict, off])
            },
            expected: || json!([[{"similarity": 0.8}], [], null]),
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// 8. The single-symbol path (§4.9) and empty STM (§4.1)
// ---------------------------------------------------------------------------------------------

/// P1 = [A],[B] with joy 0.8/0.4 (affinity A = B = 0.6000000000000001), P2 = [A],[C],[D]
/// without emotives; freq A = 2. STM [[A]]: both start with A. Weights over A and every symbol
/// of both candidates: wA = 0.6/2 + 0.01 = 0.31000000000000005, wB = 0.6100000000000001,
/// wC = wD = 0.01. matches [A], present [A], no extras:
/// P1: similarity 2·1/3, evidence ½; ws = 2wA/(wA + wA + wB) = 0.5040650406504065,
///     we = wA/(wA + wB) = 0.33695652173913043, wc = wA/wA = 1, wsnr = wA/(wA + 0) = 1,
///     potential (we + wc)·wsnr + 1 = 2.3369565217391304 (unweighted (½ + 1)·1 + 1 = 2.5).
/// P2: similarity 2·1/4 = 0.5, evidence ⅓; ws = 2wA/(wA + wA + wC + wD) = 0.96875,
///     we = wA/(wA + 0.02) = 0.9393939393939393, potential 2.9393939393939394
///     (unweighted (⅓ + 1)·1 + 1 = 2.333333333333333).
fn single_symbol_node(h: &mut Harness) {
    h.obs_emotives(&["A"], &[("joy", 0.8)]);
    h.obs_emotives(&["B"], &[("joy", 0.4)]);
    h.learn();
    h.learn_events(&[&["A"], &["C"], &["D"]]);
}

#[test]
fn single_symbol_and_empty_paths() {
    run_table(&[
        Case {
            name: "single symbol with affinity: the weighted potential ranks",
            run: |h| {
                single_symbol_node(h);
                h.configure(json!({"affinity_emotive": "joy"}));
                h.obs(&["A"]);
                h.predictions()
            },
            expected: || {
                json!({
                    "predictions": [
                        {"pattern_data": [["A"], ["C"], ["D"]], "similarity": 0.5,
                         "evidence": 0.3333333333333333, "confidence": 1.0, "snr": 1.0,
                         "fragmentation": 0, "matches": ["A"], "present": ["A"],
                         "future": ["C", "D"], "missing": [], "extras": [],
                         "weighted_similarity": 0.96875,
                         "weighted_evidence": 0.9393939393939393,
                         "weighted_confidence": 1.0, "weighted_snr": 1.0,
                         "potential": 2.9393939393939394},
                        {"pattern_data": [["A"], ["B"]], "similarity": 0.6666666666666666,
                         "evidence": 0.5, "emotives": {"joy": 0.6000000000000001},
                         "weighted_similarity": 0.5040650406504065,
                         "weighted_evidence": 0.33695652173913043,
                         "weighted_confidence": 1.0, "weighted_snr": 1.0,
                         "potential": 2.3369565217391304}
                    ],
                    "future_potentials": []
                })
            },
        },
        Case {
            name: "single symbol without affinity: shorter pattern first, weighted null",
            run: |h| {
                single_symbol_node(h);
                h.obs(&["A"]);
                json!(h.prediction_list())
            },
            expected: || {
                json!([
                    {"pattern_data": [["A"], ["B"]], "weighted_similarity": null,
                     "weighted_evidence": null, "weighted_confidence": null,
                     "weighted_snr": null, "potential": 2.5},
                    {"pattern_data": [["A"], ["C"], ["D"]], "weighted_similarity": null,
                     "potential": 2.333333333333333}
                ])
            },
        },
        Case {
            // fuzz.ratio("alpha beta gamma", "alpha"): L = 16 + 5 = 21, LCS 5 →
            // (1 − 11/21)·100/100 = 0.4761904761904761. Everything else as in §7.16.
            name: "single symbol, character level",
            run: |h| {
                h.configure(json!({"use_token_matching": false}));
                h.learn_events(&[&["alpha"], &["beta"], &["gamma"]]);
                h.obs(&["alpha"]);
                json!(h.prediction_list())
            },
            expected: || {
                json!([{"similarity": 0.4761904761904761, "evidence": 0.3333333333333333,
                        "confidence": 1.0, "snr": 1.0, "future": ["beta", "gamma"],
                        "potential": 2.333333333333333}])
            },
        },
        Case {
            // Both potentials are (½ + 1)·1 + 1 = 2.5: D4 orders them by name, [s],[c]
            // (69158c…) before [s],[b] (e1d98d…) although [s],[b] was learned first.
            name: "single symbol: ties by name, then max_predictions",
            run: |h| {
                h.learn_events(&[&["s"], &["b"]]);
                h.learn_events(&[&["s"], &["c"]]);
                h.obs(&["s"]);
                let both = h.prediction_list();
                h.configure(json!({"max_predictions": 1}));
                json!([both, h.prediction_list()])
            },
            expected: || {
                json!([
                    [{"name": "69158c0c399ea51997401453a33e73de0d36d04a", "potential": 2.5},
                     {"name": "e1d98d3c1c0abd45b93ef935e736e3bb7222e396", "potential": 2.5}],
                    [{"name": "69158c0c399ea51997401453a33e73de0d36d04a"}]
                ])
            },
        },
        Case {
            // §4.9: similarity 0.5 < 0.9 and a pipeline that would keep nothing, yet the
            // prediction is there.
            name: "single symbol ignores the recall threshold and the filter pipeline",
            run: |h| {
                h.learn_events(&[&["alpha"], &["beta"], &["gamma"]]);
                h.configure(json!({"recall_threshold": 0.9, "filter_pipeline": ["bloom"]}));
                h.obs(&["alpha"]);
                json!(h.prediction_list())
            },
            expected: || json!([{"similarity": 0.5, "potential": 2.333333333333333}]),
        },
        Case {
            name: "single unknown symbol: no predictions",
            run: |h| {
                h.learn_events(&[&["alpha"], &["beta"]]);
                h.obs(&["zeta"]);
                h.predictions()
            },
            expected: || json!({"predictions": [], "future_potentials": []}),
        },
        Case {
            name: "empty STM: no predictions",
            run: |h| {
                h.learn_events(&[&["alpha"], &["beta"]]);
                let fresh = h.predictions();
                h.observe(with_emotives(&[], &[("joy", 1.0)]));
                json!([fresh, h.predictions()])
            },
            expected: || {
                json!([
                    {"predictions": [], "future_potentials": []},
                    {"predictions": [], "future_potentials": []}
                ])
            },
        },
    ]);
}
