//! Shared by the engine test files: a one-node harness driven as the session service drives the
//! engine, a JSON comparator with a 1e-9 relative float tolerance, and table runners.
#![allow(dead_code)]

use kato_server::engine::config::{parse_update, EngineConfig};
use kato_server::engine::kb::{KbRecord, NodeKb};
use kato_server::engine::observation::{Emotives, Observation};
use kato_server::engine::session::{EngineError, SessionState};
use serde_json::{json, Map, Value};

/// One node, one current session, the §7 fixture defaults.
pub struct Harness {
    pub kb: NodeKb,
    pub session: SessionState,
    pub config: EngineConfig,
    pub records: Vec<KbRecord>,
    pub next_id: u64,
}

impl Harness {
    pub fn new() -> Self {
        Harness {
            kb: NodeKb::new(),
            session: SessionState::new(),
            config: EngineConfig::default(),
            records: Vec::new(),
            next_id: 0,
        }
    }

    pub fn configure(&mut self, update: Value) {
        let overrides = parse_update(&update, &self.config).expect("valid test config");
        self.config = overrides.apply_to(&self.config);
    }

    pub fn try_observe(&mut self, observation: Observation) -> Result<Value, EngineError> {
        self.next_id += 1;
        let observed = self.session.observe(
            &mut self.kb,
            &observation,
            format!("obs-{}", self.next_id),
            &self.config,
            &mut self.records,
        )?;
        Ok(json!({
            "stm_length": observed.stm_length,
            "time": observed.time,
            "unique_id": observed.unique_id,
            "auto_learned_pattern": observed.auto_learned_pattern,
            "predictions": observed.predictions.map(|set| set.predictions.clone()),
        }))
    }

    pub fn observe(&mut self, observation: Observation) -> Value {
        self.try_observe(observation).expect("observe")
    }

    pub fn obs(&mut self, strings: &[&str]) -> Value {
        self.observe(Observation::strings(strings.iter().copied()))
    }

    pub fn obs_emotives(&mut self, strings: &[&str], emotives: &[(&str, f64)]) -> Value {
        self.observe(with_emotives(strings, emotives))
    }

    pub fn obs_vectors(&mut self, strings: &[&str], vectors: &[&[f64]]) -> Value {
        self.observe(with_vectors(strings, vectors))
    }

    pub fn learn(&mut self) -> String {
        self.session
            .learn(&mut self.kb, &self.config, &mut self.records)
            .expect("learn")
    }

    pub fn learn_events(&mut self, events: &[&[&str]]) -> String {
        for event in events {
            self.obs(event);
        }
        self.learn()
    }

    pub fn clear(&mut self) {
        self.session.clear_stm();
    }

    pub fn new_session(&mut self) {
        self.session = SessionState::new();
    }

    pub fn obs_metadata(&mut self, strings: &[&str], metadata: Value) -> Value {
        self.observe(with_metadata(
            Observation::strings(strings.iter().copied()),
            metadata,
        ))
    }

    pub fn symbol(&self, symbol: &str) -> Value {
        let entry = self.kb.symbol_by_name(symbol).expect("symbol exists");
        json!({
            "frequency": entry.frequency,
            "pattern_member_frequency": entry.pattern_member_frequency,
            "affinity": entry.affinity,
        })
    }

    pub fn stm(&self) -> Value {
        json!(self.session.stm)
    }

    pub fn predictions(&self) -> Value {
        serde_json::to_value(self.session.predictions(&self.kb, &self.config)).expect("json")
    }

    pub fn prediction_list(&self) -> Vec<Value> {
        match self.predictions()["predictions"].clone() {
            Value::Array(list) => list,
            other => panic!("predictions is not a list: {other}"),
        }
    }

    /// Each prediction's flattened `sequence` as one string (symbols joined by `sep`), sorted:
    /// the candidate set, independent of ranking.
    pub fn sequences(&self, sep: &str) -> Value {
        let mut out: Vec<String> = self
            .prediction_list()
            .iter()
            .map(|p| flat_sequence(p, sep))
            .collect();
        out.sort();
        json!(out)
    }

    /// The predictions keyed by their flattened `sequence` (symbols joined by spaces).
    pub fn by_sequence(&self) -> Value {
        let map: Map<String, Value> = self
            .prediction_list()
            .into_iter()
            .map(|p| (flat_sequence(&p, " "), p))
            .collect();
        Value::Object(map)
    }

    pub fn pattern(&self, name: &str) -> Value {
        let pattern = self.kb.pattern_by_name(name).expect("pattern exists");
        json!({
            "frequency": pattern.frequency,
            "emotives": pattern.emotives,
            "metadata": pattern.metadata,
            "pattern_data": self.kb.pattern_events(pattern),
        })
    }

    pub fn affinity(&self, symbol: &str) -> Value {
        json!(self.kb.symbol_by_name(symbol).expect("symbol").affinity)
    }
}

pub fn with_emotives(strings: &[&str], emotives: &[(&str, f64)]) -> Observation {
    let mut observation = Observation::strings(strings.iter().copied());
    observation.emotives = emotives
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect::<Emotives>();
    observation
}

pub fn with_metadata(mut observation: Observation, metadata: Value) -> Observation {
    observation.metadata = metadata.as_object().cloned().unwrap_or_default();
    observation
}

pub fn with_vectors(strings: &[&str], vectors: &[&[f64]]) -> Observation {
    let mut observation = Observation::strings(strings.iter().copied());
    observation.vectors = vectors.iter().map(|v| v.to_vec()).collect();
    observation
}

pub fn flat_sequence(prediction: &Value, sep: &str) -> String {
    let events = prediction["sequence"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    events
        .iter()
        .flat_map(|event| event.as_array().cloned().unwrap_or_default())
        .map(|symbol| symbol.as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

/// `actual` matches `expected` when every key of an expected object matches, arrays match
/// element-wise with equal length, and numbers agree to 1e-9 relative.
pub fn matches(actual: &Value, expected: &Value, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            let scale = a.abs().max(e.abs()).max(f64::MIN_POSITIVE);
            if a == e || (a - e).abs() / scale <= 1e-9 {
                Ok(())
            } else {
                Err(format!("{path}: {a:?} != expected {e:?}"))
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            for (key, expected) in e {
                let actual = a
                    .get(key)
                    .ok_or_else(|| format!("{path}.{key}: missing in {actual}"))?;
                matches(actual, expected, &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!(
                    "{path}: length {} != expected {} ({actual})",
                    a.len(),
                    e.len()
                ));
            }
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                matches(a, e, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        _ if actual == expected => Ok(()),
        _ => Err(format!("{path}: {actual} != expected {expected}")),
    }
}

pub struct Case {
    pub name: &'static str,
    pub run: fn(&mut Harness) -> Value,
    pub expected: fn() -> Value,
}

pub fn run_table(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let mut harness = Harness::new();
        let actual = (case.run)(&mut harness);
        if let Err(why) = matches(&actual, &(case.expected)(), "") {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
