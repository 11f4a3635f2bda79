//! Content-derived names: `PTRN|` + SHA-1 of a pattern's Python repr (ALGORITHM.md §3.2) and
//! `VCTR|` + SHA-1 of a summed vector's NumPy text (§1.4, decision D5), plus the element-wise
//! vector sum that precedes naming. Deterministic and pure; names never depend on storage.

use sha1::{Digest, Sha1};
use thiserror::Error;

use crate::engine::numpy_fmt::{numpy_str, THRESHOLD};
use crate::engine::pyrepr::{push_py_float_repr, repr_pattern_with};

/// Prefix of the pattern names shown to clients (learn, auto-learn, `/pattern`).
pub const PATTERN_PREFIX: &str = "PTRN|";
/// Prefix of vector symbols.
pub const VECTOR_PREFIX: &str = "VCTR|";

/// Lowercase hex SHA-1 digest of `bytes` (40 characters).
pub fn sha1_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha1::digest(bytes);
    let mut out = String::with_capacity(digest.len() * 2);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xF)]));
    }
    out
}

/// The bare pattern hash: SHA-1 of the UTF-8 Python `repr` of the events (ALGORITHM.md §3.2).
/// Prediction objects carry this form; clients are otherwise shown [`pattern_name`].
pub fn pattern_hash<E: AsRef<[S]>, S: AsRef<str>>(events: &[E]) -> String {
    sha1_hex(repr_pattern_with(events).as_bytes())
}

/// `"PTRN|" + pattern_hash(events)`.
pub fn pattern_name<E: AsRef<[S]>, S: AsRef<str>>(events: &[E]) -> String {
    let mut name = String::with_capacity(PATTERN_PREFIX.len() + 40);
    name.push_str(PATTERN_PREFIX);
    name.push_str(&pattern_hash(events));
    name
}

/// The symbol naming an observation's summed vector (ALGORITHM.md §1.4).
///
/// Up to [`THRESHOLD`] (1000) dimensions: `"VCTR|" + sha1(numpy_str(summed))`, bit-identical to
/// upstream. Above that, decision D5 replaces NumPy's summarised text (which keeps only the
/// first and last three values, QUIRK-2) by the full-precision values: the SHA-1 input is the
/// Python float repr of every element, joined by one space, inside square brackets (e.g.
/// `[0.5 -1.0 nan]`). Those names differ from upstream's for such vectors, on purpose.
pub fn vector_name(summed: &[f64]) -> String {
    let text = if summed.len() <= THRESHOLD {
        numpy_str(summed)
    } else {
        let mut text = String::with_capacity(summed.len() * 20 + 2);
        text.push('[');
        for (i, &x) in summed.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            push_py_float_repr(x, &mut text);
        }
        text.push(']');
        text
    };
    let mut name = String::with_capacity(VECTOR_PREFIX.len() + 40);
    name.push_str(VECTOR_PREFIX);
    name.push_str(&sha1_hex(text.as_bytes()));
    name
}

/// The vectors of one observation do not all have the length of the first (decision D8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("vector {index} has {actual} elements but vector 0 has {expected}")]
pub struct VectorLengthMismatch {
    /// Position of the first offending vector in the observation's `vectors`.
    pub index: usize,
    /// Length of vector 0.
    pub expected: usize,
    /// Length of the offending vector.
    pub actual: usize,
}

/// Element-wise sum of an observation's vectors, folded left to right as upstream's
/// `reduce(lambda x, y: x + y, arrays)` does (so `-0.0` survives a single vector and the f64
/// rounding matches). All vectors must have the same length (D8: NumPy would broadcast a
/// length-1 vector or fail with HTTP 500). No vectors → an empty sum.
pub fn sum_vectors(vectors: &[Vec<f64>]) -> Result<Vec<f64>, VectorLengthMismatch> {
    let Some((first, rest)) = vectors.split_first() else {
        return Ok(Vec::new());
    };
    let mut sum = first.clone();
    for (offset, vector) in rest.iter().enumerate() {
        if vector.len() != sum.len() {
            return Err(VectorLengthMismatch {
                index: offset + 1,
                expected: sum.len(),
                actual: vector.len(),
            });
        }
        for (acc, &x) in sum.iter_mut().zip(vector) {
            *acc += x;
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn sha1_hex_known_digests() {
        let table: &[(&[u8], &str)] = &[
            (b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (b"[1. 2. 3.]", "fe5de4472f7e4d5c9cdd19cadebfa06fe3da8e43"),
        ];
        for &(bytes, expected) in table {
            assert_eq!(sha1_hex(bytes), expected);
        }
    }

    /// ALGORITHM.md §3.2: all eight worked rows, then the empty pattern, an empty event and
    /// the event-boundary property (`[['a','b']]` ≠ `[['a'],['b']]`). Hashes from CPython.
    #[test]
    fn pattern_hashes_match_upstream() {
        let table: &[(&[&[&str]], &str, &str)] = &[
            (
                &[&["hello"], &["world"]],
                "[['hello'], ['world']]",
                "7d0678ba6305341ce0d25133ab086208656a562f",
            ),
            (
                &[&["a"], &["b"], &["c"]],
                "[['a'], ['b'], ['c']]",
                "b98534b32c1d7489d4ce1a48724aa65aeecbdba9",
            ),
            (
                &[&["alpha"], &["beta"], &["gamma"]],
                "[['alpha'], ['beta'], ['gamma']]",
                "24e0f524f26eecfb14849cf3b3b57c44f3e705c2",
            ),
            (
                &[&["beginning"], &["middle"], &["end"]],
                "[['beginning'], ['middle'], ['end']]",
                "63b6f94454dab80c6ace4a849bd99c0979c21b8b",
            ),
            (
                &[&["bar", "foo"], &["hello", "world"]],
                "[['bar', 'foo'], ['hello', 'world']]",
                "2f96a2ee3fcbc42e6e9d266a2bc24c82a9cc0931",
            ),
            (
                &[&["it's", "x"], &["a\"b"]],
                "[[\"it's\", 'x'], ['a\"b']]",
                "303097c4811ad8571a139c8350055623cf56b4ad",
            ),
            (
                &[&["caf\u{e9}", "na\u{ef}ve"], &["\u{a0}", "tab\there"]],
                "[['caf\u{e9}', 'na\u{ef}ve'], ['\\xa0', 'tab\\there']]",
                "879f74902321caa26abc80ee5abd5924ddcbe370",
            ),
            (
                &[&["", "A"], &["VCTR|x"]],
                "[['', 'A'], ['VCTR|x']]",
                "a8fc5309dc0c2b2811d3deb241618134250170e6",
            ),
            (&[], "[]", "97d170e1550eee4afc0af065b78cda302a97674c"),
            (&[&[]], "[[]]", "1376774b81b43f6e0e269cb3187301b22cff8b7e"),
            (
                &[&["a", "b"]],
                "[['a', 'b']]",
                "395314cc2f2880a00c3e6e11f1e02d8b8c45a0e4",
            ),
            (
                &[&["a"], &["b"]],
                "[['a'], ['b']]",
                "76d7efca2e96cb5eeddf4e06ac96a0f424630135",
            ),
        ];
        for &(events, repr, hash) in table {
            assert_eq!(crate::engine::pyrepr::repr_pattern_with(events), repr);
            assert_eq!(pattern_hash(events), hash, "{repr}");
            assert_eq!(pattern_name(events), format!("PTRN|{hash}"));
        }
    }

    /// ALGORITHM.md §3.2 byte-level check of the first row.
    #[test]
    fn pattern_hash_input_bytes() {
        let bytes: [u8; 22] = [
            0x5b, 0x5b, 0x27, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x27, 0x5d, 0x2c, 0x20, 0x5b, 0x27,
            0x77, 0x6f, 0x72, 0x6c, 0x64, 0x27, 0x5d, 0x5d,
        ];
        let events = [vec!["hello".to_owned()], vec!["world".to_owned()]];
        assert_eq!(
            crate::engine::pyrepr::repr_pattern(&events).as_bytes(),
            &bytes
        );
        assert_eq!(sha1_hex(&bytes), "7d0678ba6305341ce0d25133ab086208656a562f");
        assert_eq!(
            pattern_hash(&events),
            "7d0678ba6305341ce0d25133ab086208656a562f"
        );
    }

    /// Random patterns of `testdata/pyrepr_golden.json`, hashed by CPython 3.10.
    #[test]
    fn pattern_hashes_match_golden() {
        let golden: Value = serde_json::from_str(include_str!("testdata/pyrepr_golden.json"))
            .expect("pyrepr_golden.json is JSON");
        let patterns = golden["patterns"].as_array().expect("patterns");
        assert!(!patterns.is_empty());
        for case in patterns {
            let events: Vec<Vec<String>> =
                serde_json::from_value(case["events"].clone()).expect("events");
            assert_eq!(pattern_hash(&events), case["sha1"].as_str().expect("sha1"));
        }
    }

    /// ALGORITHM.md §1.4 and Appendix B test vectors.
    #[test]
    fn vector_names_match_upstream() {
        let thirty: Vec<f64> = (0..30).map(f64::from).collect();
        let table: Vec<(Vec<Vec<f64>>, &str)> = vec![
            (
                vec![vec![1.0, 2.0, 3.0]],
                "VCTR|fe5de4472f7e4d5c9cdd19cadebfa06fe3da8e43",
            ),
            (
                vec![vec![0.5, 0.5], vec![1.0, 0.0]],
                "VCTR|f11daefdddee30b6a7a043c084fad802f0553a99",
            ),
            (
                vec![vec![1.0, 0.0, 0.0]],
                "VCTR|9d58821e286eae6a77923d694a12ede7cbeabfbd",
            ),
            (
                vec![thirty],
                "VCTR|569ca6c5fef125924e7fc5c3c523fbe33c855271",
            ),
            (
                vec![vec![0.1, 0.2, 0.3]],
                "VCTR|e09ff768f2b2a0f5d5e78932dc977709e8c35f57",
            ),
            (
                vec![vec![-1.5, 2.25, 0.0]],
                "VCTR|7900dd93306fd8178a3347213c5c47c9b82d543e",
            ),
        ];
        for (vectors, expected) in table {
            let summed = sum_vectors(&vectors).expect("equal lengths");
            assert_eq!(vector_name(&summed), expected);
        }
    }

    /// The `name` column of `testdata/numpy_golden.json` (arrays of up to 1000 values).
    #[test]
    fn vector_names_match_golden() {
        let golden: Value = serde_json::from_str(include_str!("testdata/numpy_golden.json"))
            .expect("numpy_golden.json is JSON");
        let mut checked = 0;
        for case in golden["cases"].as_array().expect("cases") {
            let Some(name) = case["name"].as_str() else {
                continue;
            };
            let values: Vec<f64> = case["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|v| v.as_str().expect("repr").parse().expect("f64"))
                .collect();
            assert_eq!(vector_name(&values), name);
            checked += 1;
        }
        assert_eq!(checked, 280);
    }

    /// Decision D5: exactly 1000 dimensions still hash NumPy's text; above that the
    /// full-precision text, so vectors that differ only in the middle get different names.
    #[test]
    fn long_vectors_hash_every_value() {
        let thousand: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.25).collect();
        assert_eq!(
            vector_name(&thousand),
            "VCTR|c28362af1865c9cb9df7d41733a75200781e9ae9"
        );

        let long: Vec<f64> = (0..1001).map(f64::from).collect();
        let mut text = String::from("[0.0");
        for i in 1..1001 {
            text.push_str(&format!(" {i}.0"));
        }
        text.push(']');
        assert_eq!(
            vector_name(&long),
            format!("VCTR|{}", sha1_hex(text.as_bytes()))
        );

        let mut changed_middle = long.clone();
        changed_middle[500] = 0.5;
        assert_ne!(vector_name(&long), vector_name(&changed_middle));
        // Short vectors keep NumPy's text, non-finite values included: "[ 0.5 -1.  nan]".
        assert_eq!(
            vector_name(&[0.5, -1.0, f64::NAN]),
            "VCTR|cd78bcc9bd0ac480e2f5b5e863b9e6327f1f4a9e"
        );
    }

    #[test]
    fn sums_left_to_right() {
        let table: Vec<(Vec<Vec<f64>>, Vec<f64>)> = vec![
            (vec![], vec![]),
            (vec![vec![-0.0, 1.0]], vec![-0.0, 1.0]),
            (vec![vec![0.5, 0.5], vec![1.0, 0.0]], vec![1.5, 0.5]),
            // (0.1 + 0.2) + 0.3, not 0.1 + (0.2 + 0.3).
            (
                vec![vec![0.1], vec![0.2], vec![0.3]],
                vec![0.6000000000000001],
            ),
            (
                vec![vec![1e308], vec![1e308], vec![-1e308]],
                vec![f64::INFINITY],
            ),
        ];
        for (vectors, expected) in table {
            let sum = sum_vectors(&vectors).expect("equal lengths");
            assert_eq!(sum.len(), expected.len());
            for (got, want) in sum.iter().zip(&expected) {
                assert_eq!(got.to_bits(), want.to_bits(), "{vectors:?}");
            }
        }
        // A single -0.0 survives (no `0 +` start value); NumPy prints it as `-0.`.
        let negative_zero = sum_vectors(&[vec![-0.0]]).expect("one vector");
        assert_eq!(
            vector_name(&negative_zero),
            "VCTR|49283d13aab6dae0630b0b965a104d602c2ead15"
        );
    }

    /// Decision D8: the first vector whose length differs from vector 0 is named.
    #[test]
    fn sum_rejects_mismatched_lengths() {
        let table: Vec<(Vec<Vec<f64>>, VectorLengthMismatch)> = vec![
            (
                vec![vec![1.0, 2.0], vec![1.0]],
                VectorLengthMismatch {
                    index: 1,
                    expected: 2,
                    actual: 1,
                },
            ),
            (
                vec![vec![1.0], vec![2.0], vec![1.0, 2.0, 3.0], vec![]],
                VectorLengthMismatch {
                    index: 2,
                    expected: 1,
                    actual: 3,
                },
            ),
            (
                vec![vec![], vec![0.0]],
                VectorLengthMismatch {
                    index: 1,
                    expected: 0,
                    actual: 1,
                },
            ),
        ];
        for (vectors, expected) in table {
            assert_eq!(sum_vectors(&vectors), Err(expected));
        }
        let message = VectorLengthMismatch {
            index: 2,
            expected: 1,
            actual: 3,
        }
        .to_string();
        assert_eq!(message, "vector 2 has 3 elements but vector 0 has 1");
    }
}
