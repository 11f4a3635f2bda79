//! Validation of client input at the edge, into engine types that past this point are trusted
//! (STYLE.md "Types carry the rules"). Every input size has a limit from the settings.

use serde_json::{Map, Value};

use crate::config::Settings;
use crate::engine::observation::{Emotives, Observation};

/// Limits on one observation and one sequence.
#[derive(Debug, Clone, Copy)]
pub struct InputLimits {
    pub max_strings: usize,
    pub max_symbol_bytes: usize,
    pub max_vectors: usize,
    pub max_vector_dimensions: usize,
    pub max_emotives: usize,
    pub max_sequence: usize,
}

/// Longest client-supplied `unique_id` or emotive key, in bytes.
pub const MAX_ID_BYTES: usize = 256;

impl From<&Settings> for InputLimits {
    fn from(s: &Settings) -> Self {
        InputLimits {
            max_strings: s.max_strings_per_observation,
            max_symbol_bytes: s.max_symbol_bytes,
            max_vectors: s.max_vectors_per_observation,
            max_vector_dimensions: s.max_vector_dimensions,
            max_emotives: s.max_emotives_per_observation,
            max_sequence: s.max_sequence_observations,
        }
    }
}

/// A rejected field: its path (`strings[3]`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn reject(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Parses one observation object (ALGORITHM.md §1.1). `prefix` names it in errors
/// (`observations[2].`). Unknown keys are ignored; `null` means "absent".
pub fn observation(
    value: &Value,
    limits: &InputLimits,
    prefix: &str,
) -> Result<Observation, FieldError> {
    let object = value.as_object().ok_or_else(|| {
        reject(
            match prefix.trim_end_matches('.') {
                "" => "body".to_string(),
                item => item.to_string(),
            },
            "Input should be a valid object",
        )
    })?;
    let field = |name: &str| format!("{prefix}{name}");
    let present = |name: &str| object.get(name).filter(|v| !v.is_null());

    let mut strings = Vec::new();
    if let Some(raw) = present("strings") {
        let list = raw
            .as_array()
            .ok_or_else(|| reject(field("strings"), "Input should be a valid list"))?;
        if list.len() > limits.max_strings {
            return Err(reject(
                field("strings"),
                format!("at most {} strings per observation", limits.max_strings),
            ));
        }
        for (i, item) in list.iter().enumerate() {
            let s = item.as_str().ok_or_else(|| {
                reject(
                    format!("{}[{i}]", field("strings")),
                    "Input should be a valid string",
                )
            })?;
            if s.len() > limits.max_symbol_bytes {
                return Err(reject(
                    format!("{}[{i}]", field("strings")),
                    format!("at most {} bytes per symbol", limits.max_symbol_bytes),
                ));
            }
            strings.push(s.to_string());
        }
    }

    let mut vectors = Vec::new();
    if let Some(raw) = present("vectors") {
        let list = raw
            .as_array()
            .ok_or_else(|| reject(field("vectors"), "Input should be a valid list"))?;
        if list.len() > limits.max_vectors {
            return Err(reject(
                field("vectors"),
                format!("at most {} vectors per observation", limits.max_vectors),
            ));
        }
        for (i, vector) in list.iter().enumerate() {
            let name = format!("{}[{i}]", field("vectors"));
            let values = vector
                .as_array()
                .ok_or_else(|| reject(&name, "Input should be a valid list"))?;
            if values.is_empty() || values.len() > limits.max_vector_dimensions {
                return Err(reject(
                    &name,
                    format!("a vector has 1 to {} numbers", limits.max_vector_dimensions),
                ));
            }
            let mut out = Vec::with_capacity(values.len());
            for (j, number) in values.iter().enumerate() {
                let x = number.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    reject(format!("{name}[{j}]"), "Input should be a valid number")
                })?;
                out.push(x);
            }
            vectors.push(out);
        }
    }

    let mut emotives = Emotives::new();
    if let Some(raw) = present("emotives") {
        let map = raw
            .as_object()
            .ok_or_else(|| reject(field("emotives"), "Input should be a valid dictionary"))?;
        if map.len() > limits.max_emotives {
            return Err(reject(
                field("emotives"),
                format!("at most {} emotives per observation", limits.max_emotives),
            ));
        }
        for (key, value) in map {
            if key.len() > MAX_ID_BYTES {
                return Err(reject(
                    field("emotives"),
                    format!("emotive names are at most {MAX_ID_BYTES} bytes"),
                ));
            }
            let x = value.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                reject(
                    format!("{}.{key}", field("emotives")),
                    "Input should be a valid number",
                )
            })?;
            emotives.insert(key.clone(), x);
        }
    }

    let metadata: Map<String, Value> = match present("metadata") {
        None => Map::new(),
        Some(raw) => raw
            .as_object()
            .cloned()
            .ok_or_else(|| reject(field("metadata"), "Input should be a valid dictionary"))?,
    };

    let unique_id = match present("unique_id") {
        None => None,
        Some(raw) => {
            let s = raw
                .as_str()
                .ok_or_else(|| reject(field("unique_id"), "Input should be a valid string"))?;
            if s.len() > MAX_ID_BYTES {
                return Err(reject(
                    field("unique_id"),
                    format!("at most {MAX_ID_BYTES} bytes"),
                ));
            }
            Some(s.to_string())
        }
    };

    Ok(Observation {
        strings,
        vectors,
        emotives,
        metadata,
        unique_id,
    })
}

/// Parses the `observations` list of observe-sequence.
pub fn observations(
    value: Option<&Value>,
    limits: &InputLimits,
) -> Result<Vec<Observation>, FieldError> {
    let list = value
        .ok_or_else(|| reject("observations", "Field required"))?
        .as_array()
        .ok_or_else(|| reject("observations", "Input should be a valid list"))?;
    if list.len() > limits.max_sequence {
        return Err(reject(
            "observations",
            format!("at most {} observations per sequence", limits.max_sequence),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, item)| observation(item, limits, &format!("observations[{i}].")))
        .collect()
}

/// An optional boolean field (`null`/absent = `false`).
pub fn flag(object: &Map<String, Value>, name: &str) -> Result<bool, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(reject(name, "Input should be a valid boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> InputLimits {
        InputLimits::from(&Settings::default())
    }

    #[test]
    fn accepts_what_upstream_accepts_and_names_what_it_rejects() {
        let rows: &[(Value, Result<(), &str>)] = &[
            (json!({}), Ok(())),
            (
                json!({"strings": ["a", ""], "vectors": [[1, 2.5]], "emotives": {"joy": 1}, "metadata": {"k": [1]}}),
                Ok(()),
            ),
            (json!({"strings": null, "unknown": 5}), Ok(())),
            (json!({"strings": [null]}), Err("strings[0]")),
            (json!({"strings": "x"}), Err("strings")),
            (json!({"vectors": "x"}), Err("vectors")),
            (json!({"vectors": [[1, "a"]]}), Err("vectors[0][1]")),
            (json!({"vectors": [[]]}), Err("vectors[0]")),
            (json!({"emotives": "x"}), Err("emotives")),
            (json!({"emotives": {"joy": "high"}}), Err("emotives.joy")),
            (json!({"metadata": [1]}), Err("metadata")),
            (json!({"unique_id": 5}), Err("unique_id")),
            (json!([1, 2]), Err("body")),
        ];
        for (input, expected) in rows {
            let got = observation(input, &limits(), "")
                .map(|_| ())
                .map_err(|e| e.field);
            assert_eq!(got, expected.map_err(String::from), "{input}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let l = InputLimits {
            max_strings: 2,
            max_symbol_bytes: 3,
            max_vectors: 1,
            max_vector_dimensions: 2,
            max_emotives: 1,
            max_sequence: 1,
        };
        assert!(observation(&json!({"strings": ["a", "b", "c"]}), &l, "").is_err());
        assert!(observation(&json!({"strings": ["abcd"]}), &l, "").is_err());
        assert!(observation(&json!({"vectors": [[1], [2]]}), &l, "").is_err());
        assert!(observation(&json!({"vectors": [[1, 2, 3]]}), &l, "").is_err());
        assert!(observation(&json!({"emotives": {"a": 1, "b": 2}}), &l, "").is_err());
        assert!(observations(Some(&json!([{}, {}])), &l).is_err());
        assert!(observations(Some(&json!([{}])), &l).is_ok());
        let err = observations(Some(&json!([{"strings": [1]}])), &l).unwrap_err();
        assert_eq!(err.field, "observations[0].strings[0]");
        let err = observations(Some(&json!([7])), &l).unwrap_err();
        assert_eq!(err.field, "observations[0]");
    }
}
