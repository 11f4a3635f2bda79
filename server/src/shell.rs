//! The engine shell: a line-oriented JSON front end to the engine and the embedded store, one
//! command per stdin line, one JSON reply per stdout line. It is what `kato-server` serves until
//! the HTTP/WebSocket transports land, and what the crash-recovery test drives. It owns sessions
//! in memory; knowledge bases are durable (a learn is acknowledged only after its fsync).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::engine::config::{parse_update, EngineConfig};
use crate::engine::kb::KbRecord;
use crate::engine::observation::Observation;
use crate::engine::session::SessionState;
use crate::store::{KnowledgeBases, NodeId};

/// Longest accepted command line, in bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Most sessions one shell keeps.
pub const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Command {
    Observe {
        session: String,
        #[serde(default)]
        node: Option<String>,
        #[serde(flatten)]
        observation: Observation,
    },
    Learn {
        session: String,
    },
    Predictions {
        session: String,
    },
    Stm {
        session: String,
    },
    ClearStm {
        session: String,
    },
    ClearAll {
        session: String,
    },
    Config {
        session: String,
        config: Value,
    },
    FinalizeTraining {
        session: String,
    },
    Pattern {
        node: String,
        name: String,
    },
}

struct ShellSession {
    node: NodeId,
    state: SessionState,
    config: EngineConfig,
}

/// Runs the shell until end of input.
pub struct Shell {
    kbs: Arc<KnowledgeBases>,
    sessions: HashMap<String, ShellSession>,
    observed: u64,
}

impl Shell {
    pub fn new(kbs: Arc<KnowledgeBases>) -> Self {
        Shell {
            kbs,
            sessions: HashMap::new(),
            observed: 0,
        }
    }

    /// Reads commands from `input` and writes one reply line per command to `output`.
    pub fn run(&mut self, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let reply = if line.len() > MAX_LINE_BYTES {
                json!({"ok": false, "error": format!("command longer than {MAX_LINE_BYTES} bytes")})
            } else {
                match serde_json::from_str::<Command>(&line) {
                    Ok(command) => self.execute(command),
                    Err(e) => json!({"ok": false, "error": format!("bad command: {e}")}),
                }
            };
            writeln!(output, "{reply}")?;
            output.flush()?;
        }
        Ok(())
    }

    fn session(&mut self, id: &str, node: Option<&str>) -> Result<&mut ShellSession, String> {
        if !self.sessions.contains_key(id) {
            if self.sessions.len() >= MAX_SESSIONS {
                return Err(format!("at most {MAX_SESSIONS} sessions"));
            }
            let node = NodeId::parse(node.unwrap_or("default")).map_err(|e| e.to_string())?;
            self.sessions.insert(
                id.to_string(),
                ShellSession {
                    node,
                    state: SessionState::new(),
                    config: EngineConfig::default(),
                },
            );
        }
        self.sessions
            .get_mut(id)
            .ok_or_else(|| "session vanished".to_string())
    }

    /// Runs an engine operation that may change the knowledge base on a copy of the session,
    /// keeping the copy only once the change is durable.
    fn mutate<R>(
        &mut self,
        id: &str,
        node: Option<&str>,
        op: impl FnOnce(
            &mut SessionState,
            &mut crate::engine::kb::NodeKb,
            &EngineConfig,
            &mut Vec<KbRecord>,
        ) -> R,
    ) -> Result<R, String> {
        let kbs = self.kbs.clone();
        let session = self.session(id, node)?;
        let handle = kbs.node(&session.node).map_err(|e| e.to_string())?;
        let mut next = session.state.clone();
        let config = session.config.clone();
        let result = kbs
            .write(&handle, |kb, records| op(&mut next, kb, &config, records))
            .map_err(|e| e.to_string())?;
        session.state = next;
        Ok(result)
    }

    fn execute(&mut self, command: Command) -> Value {
        let result: Result<Value, String> = match command {
            Command::Observe {
                session,
                node,
                observation,
            } => {
                self.observed += 1;
                let unique_id = format!("obs-{}", self.observed);
                self.mutate(&session, node.as_deref(), |state, kb, config, records| {
                    state.observe(kb, &observation, unique_id, config, records)
                })
                .and_then(|r| r.map_err(|e| e.to_string()))
                .map(|observed| {
                    json!({
                        "stm_length": observed.stm_length,
                        "time": observed.time,
                        "unique_id": observed.unique_id,
                        "auto_learned_pattern": observed.auto_learned_pattern,
                        "predictions": observed.predictions,
                    })
                })
            }
            Command::Learn { session } => self
                .mutate(&session, None, |state, kb, config, records| {
                    state.learn(kb, config, records)
                })
                .and_then(|r| r.map_err(|e| e.to_string()))
                .map(|name| json!({"pattern_name": name})),
            Command::ClearAll { session } => self
                .mutate(&session, None, |state, kb, _, records| {
                    state.clear_all(kb, records)
                })
                .map(|()| json!({"status": "cleared", "scope": "all"})),
            Command::FinalizeTraining { session } => self
                .mutate(&session, None, |_, kb, _, records| {
                    kb.apply(&KbRecord::FinalizeTraining);
                    records.push(KbRecord::FinalizeTraining);
                    kb.patterns().len()
                })
                .map(|n| json!({"status": "completed", "patterns_processed": n})),
            Command::Predictions { session } => {
                let kbs = self.kbs.clone();
                self.session(&session, None).and_then(|s| {
                    let node = kbs.node(&s.node).map_err(|e| e.to_string())?;
                    Ok(json!(node.read(|kb| s.state.predictions(kb, &s.config))))
                })
            }
            Command::Stm { session } => self
                .session(&session, None)
                .map(|s| json!({"stm": s.state.stm, "length": s.state.stm.len()})),
            Command::ClearStm { session } => self.session(&session, None).map(|s| {
                s.state.clear_stm();
                json!({"status": "cleared"})
            }),
            Command::Config { session, config } => self.session(&session, None).and_then(|s| {
                let overrides = parse_update(&config, &s.config).map_err(|e| e.to_string())?;
                s.config = overrides.apply_to(&s.config);
                Ok(json!({"status": "okay"}))
            }),
            Command::Pattern { node, name } => NodeId::parse(&node)
                .map_err(|e| e.to_string())
                .and_then(|id| self.kbs.node(&id).map_err(|e| e.to_string()))
                .map(|handle| {
                    handle.read(|kb| match kb.pattern_by_name(&name) {
                        Some(p) => json!({
                            "name": format!("PTRN|{}", p.hash),
                            "pattern_data": kb.pattern_events(p),
                            "length": p.length(),
                            "frequency": p.frequency,
                            "emotives": p.emotives,
                            "metadata": p.metadata,
                        }),
                        None => Value::Null,
                    })
                }),
        };
        match result {
            Ok(Value::Object(mut map)) => {
                map.insert("ok".into(), Value::Bool(true));
                Value::Object(map)
            }
            Ok(other) => json!({"ok": true, "result": other}),
            Err(error) => json!({"ok": false, "error": error}),
        }
    }
}
