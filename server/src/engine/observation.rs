//! Observations and the per-session accumulators they feed (ALGORITHM.md §1): emotive averaging,
//! metadata accumulation, string ordering. Pure data handling; never touches the knowledge base.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::pyrepr::py_str_json;

/// One symbol: a string token (`VCTR|…` for vectors, `PTRN|…` never appears inside events).
pub type Symbol = String;
/// A non-empty ordered list of symbols observed together.
pub type Event = Vec<Symbol>;
/// One observation's emotives, keys in the order the client sent them.
pub type Emotives = IndexMap<String, f64>;
/// One observation's metadata, as sent.
pub type Metadata = serde_json::Map<String, serde_json::Value>;
/// Metadata accumulated for a pattern: key → sorted distinct Python-`str` renderings.
pub type PatternMetadata = IndexMap<String, Vec<String>>;

/// A validated observation (ALGORITHM.md §1.1). The transport layer has already checked types
/// and size limits; the engine trusts these values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    #[serde(default)]
    pub strings: Vec<String>,
    #[serde(default)]
    pub vectors: Vec<Vec<f64>>,
    #[serde(default)]
    pub emotives: Emotives,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub unique_id: Option<String>,
}

impl Observation {
    /// An observation of strings only, as most callers and tests use.
    pub fn strings<S: Into<String>>(strings: impl IntoIterator<Item = S>) -> Self {
        Observation {
            strings: strings.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// True when neither strings nor vectors were sent (§1.5: STM untouched, time still ticks).
    pub fn is_empty_event(&self) -> bool {
        self.strings.is_empty() && self.vectors.is_empty()
    }
}

/// `percept_data` of the session after an observation (§1.2 step 8).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PerceptData {
    pub strings: Vec<String>,
    pub vectors: Vec<Vec<f64>>,
    pub emotives: Emotives,
    pub path: Vec<String>,
    pub metadata: Metadata,
}

/// Per-key mean over the dicts that contain the key, keys in order of first appearance,
/// sums taken left to right (§1.6). Missing keys are not zeros.
pub fn average_emotives(list: &[Emotives]) -> Emotives {
    let mut sums: IndexMap<&str, (f64, u32)> = IndexMap::new();
    for entry in list {
        for (key, value) in entry {
            let slot = sums.entry(key.as_str()).or_insert((0.0, 0));
            slot.0 += *value;
            slot.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(key, (sum, count))| (key.to_string(), sum / f64::from(count)))
        .collect()
}

/// `accumulate_metadata` (§3.3.4): every value rendered with Python `str()`, per key the sorted
/// set of distinct renderings, keys in first-appearance order.
pub fn accumulate_metadata(list: &[Metadata]) -> PatternMetadata {
    let mut out: PatternMetadata = IndexMap::new();
    for entry in list {
        for (key, value) in entry {
            let rendered = py_str_json(value);
            let values = out.entry(key.clone()).or_default();
            if let Err(at) = values.binary_search(&rendered) {
                values.insert(at, rendered);
            }
        }
    }
    out
}

/// Re-learn merge (§3.3.2): for every key of either side, the sorted union of both value sets.
/// Key order: existing keys first, then new ones (upstream order is a Python set's; unordered).
pub fn merge_pattern_metadata(existing: &mut PatternMetadata, new: &PatternMetadata) {
    for (key, values) in new {
        let slot = existing.entry(key.clone()).or_default();
        for value in values {
            if let Err(at) = slot.binary_search(value) {
                slot.insert(at, value.clone());
            }
        }
    }
}

/// Orders the strings of one event: Python `list.sort()` on `str` is code-point order, which is
/// byte order of UTF-8 (§1.3).
pub fn sort_symbols(symbols: &mut [String]) {
    symbols.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn emotives(pairs: &[(&str, f64)]) -> Emotives {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn averages_per_key_over_dicts_that_have_the_key() {
        let list = vec![
            emotives(&[("happy", 4.0), ("sad", 2.0)]),
            emotives(&[("happy", 6.0)]),
            emotives(&[("sad", 4.0)]),
        ];
        let avg = average_emotives(&list);
        assert_eq!(avg, emotives(&[("happy", 5.0), ("sad", 3.0)]));
        assert_eq!(
            avg.keys().collect::<Vec<_>>(),
            vec!["happy", "sad"],
            "first-appearance key order"
        );
        assert!(average_emotives(&[]).is_empty());
    }

    #[test]
    fn sorting_follows_python_code_point_order() {
        // ALGORITHM.md §1.3 / §7.1, one row per case.
        let cases: &[(&[&str], &[&str])] = &[
            (&["z", "a", "m"], &["a", "m", "z"]),
            (&["3", "1", "2"], &["1", "2", "3"]),
            (&["Zoo", "Apple", "apple"], &["Apple", "Zoo", "apple"]),
            (
                &["test_2", "test_1", "test_10"],
                &["test_1", "test_10", "test_2"],
            ),
            (
                &["!special", "@symbol", "#hash"],
                &["!special", "#hash", "@symbol"],
            ),
            (
                &["10", "2", "1", "20", "100", "3"],
                &["1", "10", "100", "2", "20", "3"],
            ),
            (&["z", "", "a", "middle"], &["", "a", "middle", "z"]),
            (
                &["é", "z", "\u{1F600}", "\u{FFFD}"],
                &["z", "é", "\u{FFFD}", "\u{1F600}"],
            ),
        ];
        for (input, expected) in cases {
            let mut symbols: Vec<String> = input.iter().map(|s| s.to_string()).collect();
            sort_symbols(&mut symbols);
            assert_eq!(&symbols, expected, "input {input:?}");
        }
    }

    #[test]
    fn metadata_values_are_python_strings_sorted_and_distinct() {
        let first = json!({"count": 123, "price": 45.67, "flag": true, "name": "test"});
        let second = json!({"name": "alpha", "flag": true, "none": null});
        let list: Vec<Metadata> = vec![
            first.as_object().cloned().unwrap_or_default(),
            second.as_object().cloned().unwrap_or_default(),
        ];
        let acc = accumulate_metadata(&list);
        let expected: PatternMetadata = [
            ("count", vec!["123"]),
            ("price", vec!["45.67"]),
            ("flag", vec!["True"]),
            ("name", vec!["alpha", "test"]),
            ("none", vec!["None"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(acc, expected);

        let mut merged = acc.clone();
        let newer: PatternMetadata = [(
            "name".to_string(),
            vec!["beta".to_string(), "test".to_string()],
        )]
        .into_iter()
        .collect();
        merge_pattern_metadata(&mut merged, &newer);
        assert_eq!(merged["name"], vec!["alpha", "beta", "test"]);
    }
}
