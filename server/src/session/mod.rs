//! The session service (embedded backend): every session's identity, owner, TTL and state, and
//! every command on a session, shared by all transports (REST surfaces and WebSocket). It checks
//! ownership, scopes and rate limits, serialises the commands of one session in arrival order,
//! runs the engine off the async workers, and acknowledges a knowledge-base change only once it
//! is durable. Handlers never touch the engine or the stores directly.

mod error;
mod id;
mod stream;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

pub use error::ServiceError;
pub use id::SessionId;
pub use stream::{
    Attached, Attachment, EventSink, EventStream, PublishedEvent, Replayed, StreamLimits,
};

use crate::auth::{Principal, Scope};
use crate::engine::config::{parse_create, parse_update, ConfigOverrides, EngineConfig};
use crate::engine::kb::{KbRecord, NodeKb};
use crate::engine::observation::{Event, Observation};
use crate::engine::predict::{FuturePotential, Prediction, PredictionSet};
use crate::engine::session::{Observed, SequenceOptions, SequenceOutcome, SessionState};
use crate::store::{KnowledgeBases, NodeId};
use kato_protocol::server::EventKind;

/// Capacity of the session-event channel (`/ws/events` and watchers); a lagging receiver skips.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// Limits and defaults of the service (from the server settings).
#[derive(Debug, Clone)]
pub struct SessionLimits {
    pub default_ttl: Duration,
    pub max_ttl: Duration,
    pub max_sessions: usize,
    pub session_per_second: NonZeroU32,
    pub session_burst: NonZeroU32,
    pub subject_per_second: NonZeroU32,
    pub subject_burst: NonZeroU32,
    /// Event history and idempotency window of every session.
    pub stream: StreamLimits,
}

/// A session-level event for the event stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum SessionEvent {
    #[serde(rename = "session.created")]
    Created {
        session_id: String,
        node_id: String,
        /// The owner (never serialised: event streams filter on it).
        #[serde(skip)]
        subject: String,
        #[serde(skip)]
        created_at: SystemTime,
    },
    #[serde(rename = "session.destroyed")]
    Destroyed {
        session_id: String,
        node_id: String,
        #[serde(skip)]
        subject: String,
        /// `"deleted"` or `"expired"`.
        reason: &'static str,
    },
}

/// Public view of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: String,
    pub node: NodeId,
    pub subject: String,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    /// The sliding TTL the session was created with.
    pub ttl: Duration,
    pub metadata: Map<String, Value>,
    /// Effective config as served by GET config (API.md §1.4).
    pub config: Map<String, Value>,
}

/// Mutable state of one session, behind its command lock.
pub struct SessionData {
    pub state: SessionState,
    pub overrides: ConfigOverrides,
    /// `overrides` applied to the server defaults.
    pub config: EngineConfig,
}

struct Timing {
    ttl: Duration,
    expires_at: Instant,
    expires_at_wall: SystemTime,
}

struct Slot {
    id: String,
    node: NodeId,
    subject: String,
    created_at: SystemTime,
    metadata: Map<String, Value>,
    timing: Mutex<Timing>,
    /// The effective config as served (kept beside the command lock so `info` never waits for
    /// or races a running command).
    /// Sessions on the default config share one map (most sessions), saving a few KB each.
    config_view: Mutex<Arc<Map<String, Value>>>,
    /// Event offsets, history, watchers and applied `unique_id`s (PROTOCOL.md §5). Locked only
    /// to append or attach; appends happen under the command lock, so events of one session
    /// are published in command order.
    stream: Mutex<EventStream>,
    /// The command lock: tokio's mutex is fair (FIFO), so the commands of one session run one
    /// at a time in arrival order while other sessions run in parallel.
    data: Arc<tokio::sync::Mutex<SessionData>>,
}

impl Slot {
    fn expired(&self, now: Instant) -> bool {
        self.timing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expires_at
            <= now
    }

    /// Sliding TTL: every access moves the expiry to now + ttl.
    fn stream(&self) -> std::sync::MutexGuard<'_, EventStream> {
        self.stream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes an event with `data` (a JSON object) to the session's stream.
    fn publish(&self, kind: EventKind, data: &serde_json::Value) -> PublishedEvent {
        self.stream().publish(kind, &data.to_string(), None)
    }

    fn touch(&self) {
        let mut timing = self.timing.lock().unwrap_or_else(PoisonError::into_inner);
        timing.expires_at = Instant::now() + timing.ttl;
        timing.expires_at_wall = SystemTime::now() + timing.ttl;
    }
}

/// Counters for `/metrics` and `/status`.
#[derive(Debug, Default)]
pub struct SessionCounters {
    pub created: AtomicU64,
    pub deleted: AtomicU64,
    pub expired: AtomicU64,
    pub operations: AtomicU64,
}

/// Told what the service did, for metrics. Implementations are cheap and never block; every
/// method has an empty default. Installed once with [`SessionService::set_observer`].
pub trait ServiceObserver: Send + Sync {
    fn session_created(&self) {}
    /// `reason`: `"deleted"` or `"expired"`.
    fn session_removed(&self, _reason: &'static str) {}
    /// A command refused by the `"session"` or `"subject"` rate limit.
    fn rate_limited(&self, _scope: &'static str) {}
    /// Observations applied, the STM length after them, and the engine time when measured.
    fn observed(&self, _observations: u64, _stm_length: usize, _engine_time: Option<Duration>) {}
    /// Learns that stored or reinforced a pattern.
    fn learned(&self, _patterns: u64) {}
    /// Engine time of one prediction set computed on request.
    fn predicted(&self, _engine_time: Duration) {}
}

/// The service. Cheap to clone.
#[derive(Clone)]
pub struct SessionService {
    inner: Arc<Inner>,
}

struct Inner {
    /// Session table. A lock is needed because every transport looks sessions up concurrently;
    /// it is held only for the map operation, never across engine work.
    sessions: RwLock<HashMap<String, Arc<Slot>>>,
    kbs: Arc<KnowledgeBases>,
    defaults: EngineConfig,
    limits: SessionLimits,
    by_session: DefaultKeyedRateLimiter<String>,
    by_subject: DefaultKeyedRateLimiter<String>,
    counters: SessionCounters,
    events: broadcast::Sender<SessionEvent>,
    observer: OnceLock<Arc<dyn ServiceObserver>>,
    /// The effective config view of a session without overrides.
    default_view: Arc<Map<String, Value>>,
}

impl SessionService {
    pub fn new(kbs: Arc<KnowledgeBases>, defaults: EngineConfig, limits: SessionLimits) -> Self {
        let quota =
            |rate: NonZeroU32, burst: NonZeroU32| Quota::per_second(rate).allow_burst(burst);
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let default_view = Arc::new(defaults.to_json(&ConfigOverrides::default()));
        SessionService {
            inner: Arc::new(Inner {
                sessions: RwLock::new(HashMap::new()),
                kbs,
                defaults,
                by_session: RateLimiter::keyed(quota(
                    limits.session_per_second,
                    limits.session_burst,
                )),
                by_subject: RateLimiter::keyed(quota(
                    limits.subject_per_second,
                    limits.subject_burst,
                )),
                limits,
                counters: SessionCounters::default(),
                default_view,
                events,
                observer: OnceLock::new(),
            }),
        }
    }

    pub fn knowledge_bases(&self) -> &Arc<KnowledgeBases> {
        &self.inner.kbs
    }

    pub fn defaults(&self) -> &EngineConfig {
        &self.inner.defaults
    }

    pub fn counters(&self) -> &SessionCounters {
        &self.inner.counters
    }

    /// Installs the observer (metrics); only the first call has an effect.
    pub fn set_observer(&self, observer: Arc<dyn ServiceObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    fn notify(&self, event: impl FnOnce(&dyn ServiceObserver)) {
        if let Some(observer) = self.inner.observer.get() {
            event(observer.as_ref());
        }
    }

    /// Session events (created/destroyed) as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.inner.events.subscribe()
    }

    /// Live sessions (expired ones not yet swept are not counted).
    pub fn count(&self) -> usize {
        let now = Instant::now();
        self.table_read()
            .values()
            .filter(|s| !s.expired(now))
            .count()
    }

    /// Live sessions, as `(id, node)` pairs, sorted by id.
    pub fn list(&self) -> Vec<(String, NodeId)> {
        let now = Instant::now();
        let mut all: Vec<(String, NodeId)> = self
            .table_read()
            .values()
            .filter(|s| !s.expired(now))
            .map(|s| (s.id.clone(), s.node.clone()))
            .collect();
        all.sort();
        all
    }

    fn table_read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Slot>>> {
        self.inner
            .sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn table_write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Slot>>> {
        self.inner
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates a session on `node` owned by `principal`. `config` is validated (Decision D10).
    pub fn create(
        &self,
        principal: &Principal,
        node: &str,
        config: Option<&Value>,
        metadata: Map<String, Value>,
        ttl_seconds: Option<u64>,
    ) -> Result<SessionInfo, ServiceError> {
        let node = NodeId::parse(node).map_err(|e| ServiceError::validation("node_id", e))?;
        if !principal.nodes.allows(node.as_str()) {
            return Err(ServiceError::Forbidden(format!(
                "the credentials do not allow node {node}"
            )));
        }
        if principal.session.is_some() {
            return Err(ServiceError::Forbidden(
                "the credentials are bound to one session (sid) and cannot create sessions".into(),
            ));
        }
        let overrides = parse_create(config, &self.inner.defaults).map_err(ServiceError::Config)?;
        // Creating sessions counts against the subject's rate limit like any command, so no
        // caller can fill the session table in a loop.
        Self::check(&self.inner.by_subject, &principal.subject)
            .inspect_err(|_| self.notify(|o| o.rate_limited("subject")))?;
        let ttl = match ttl_seconds {
            None | Some(0) => self.inner.limits.default_ttl,
            Some(seconds) => {
                let ttl = Duration::from_secs(seconds);
                if ttl > self.inner.limits.max_ttl {
                    return Err(ServiceError::validation(
                        "ttl_seconds",
                        format!(
                            "must be at most {} seconds",
                            self.inner.limits.max_ttl.as_secs()
                        ),
                    ));
                }
                ttl
            }
        };
        let config = overrides.apply_to(&self.inner.defaults);
        let config_view = if overrides == ConfigOverrides::default() {
            self.inner.default_view.clone()
        } else {
            Arc::new(config.to_json(&overrides))
        };
        let now = SystemTime::now();
        let session_id = SessionId::generate(now).into_string();
        let slot = Arc::new(Slot {
            stream: Mutex::new(EventStream::new(&session_id, self.inner.limits.stream)),
            id: session_id,
            node,
            subject: principal.subject.clone(),
            created_at: now,
            metadata,
            timing: Mutex::new(Timing {
                ttl,
                expires_at: Instant::now() + ttl,
                expires_at_wall: now + ttl,
            }),
            config_view: Mutex::new(config_view),
            data: Arc::new(tokio::sync::Mutex::new(SessionData {
                state: SessionState::new(),
                overrides,
                config,
            })),
        });
        {
            let mut table = self.table_write();
            if table.len() >= self.inner.limits.max_sessions {
                // Expired sessions do not count against the capacity.
                let now = Instant::now();
                table.retain(|_, s| !s.expired(now));
                if table.len() >= self.inner.limits.max_sessions {
                    return Err(ServiceError::Capacity(self.inner.limits.max_sessions));
                }
            }
            table.insert(slot.id.clone(), slot.clone());
        }
        self.inner.counters.created.fetch_add(1, Ordering::Relaxed);
        self.notify(|o| o.session_created());
        let _ = self.inner.events.send(SessionEvent::Created {
            session_id: slot.id.clone(),
            node_id: slot.node.to_string(),
            subject: slot.subject.clone(),
            created_at: slot.created_at,
        });
        Ok(self.info_of(&slot))
    }

    fn info_of(&self, slot: &Slot) -> SessionInfo {
        let timing = slot.timing.lock().unwrap_or_else(PoisonError::into_inner);
        SessionInfo {
            id: slot.id.clone(),
            node: slot.node.clone(),
            subject: slot.subject.clone(),
            created_at: slot.created_at,
            expires_at: timing.expires_at_wall,
            ttl: timing.ttl,
            metadata: slot.metadata.clone(),
            config: Map::clone(
                &slot
                    .config_view
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            ),
        }
    }

    /// Finds a live session; an expired one is removed and reported as expired.
    fn find(&self, id: &str) -> Result<Arc<Slot>, ServiceError> {
        let slot = self
            .table_read()
            .get(id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(id.to_string()))?;
        if slot.expired(Instant::now()) {
            self.remove(id, "expired");
            return Err(ServiceError::Expired(id.to_string()));
        }
        Ok(slot)
    }

    fn remove(&self, id: &str, reason: &'static str) -> bool {
        let removed = self.table_write().remove(id);
        match removed {
            Some(slot) => {
                let counter = if reason == "expired" {
                    &self.inner.counters.expired
                } else {
                    &self.inner.counters.deleted
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let kind = if reason == "expired" {
                    EventKind::Expired
                } else {
                    EventKind::Deleted
                };
                slot.publish(kind, &serde_json::json!({}));
                self.notify(|o| o.session_removed(reason));
                let _ = self.inner.events.send(SessionEvent::Destroyed {
                    session_id: slot.id.clone(),
                    node_id: slot.node.to_string(),
                    subject: slot.subject.clone(),
                    reason,
                });
                true
            }
            None => false,
        }
    }

    /// A live session the principal may use, with its TTL extended.
    fn authorize(&self, principal: &Principal, id: &str) -> Result<Arc<Slot>, ServiceError> {
        let slot = self.find(id)?;
        let owner = slot.subject == principal.subject || principal.has(Scope::Admin);
        let bound_ok = principal.session.as_deref().is_none_or(|sid| sid == id);
        if !owner || !bound_ok {
            return Err(ServiceError::Forbidden(format!(
                "session {id} belongs to another subject"
            )));
        }
        if !principal.nodes.allows(slot.node.as_str()) {
            return Err(ServiceError::Forbidden(format!(
                "the credentials do not allow node {}",
                slot.node
            )));
        }
        slot.touch();
        Ok(slot)
    }

    /// Rate limits (per session and per subject): over either, nothing is applied.
    fn admit(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        for (limiter, key, scope) in [
            (&self.inner.by_session, id.to_string(), "session"),
            (&self.inner.by_subject, principal.subject.clone(), "subject"),
        ] {
            Self::check(limiter, &key).inspect_err(|_| self.notify(|o| o.rate_limited(scope)))?;
        }
        self.inner
            .counters
            .operations
            .fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &String) -> Result<(), ServiceError> {
        use governor::clock::Clock;
        limiter.check_key(key).map_err(|not_until| {
            // The limiter's own clock: a new clock per call would recalibrate every time.
            ServiceError::RateLimited(not_until.wait_time_from(limiter.clock().now()))
        })
    }

    fn require(principal: &Principal, scope: Scope) -> Result<(), ServiceError> {
        if principal.has(scope) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "the credentials lack the '{}' scope",
                scope.as_str()
            )))
        }
    }

    /// The session's info (extends its TTL).
    pub fn info(&self, principal: &Principal, id: &str) -> Result<SessionInfo, ServiceError> {
        let slot = self.authorize(principal, id)?;
        Ok(self.info_of(&slot))
    }

    /// `(exists, expired)` without extending the TTL (API.md endpoint 6). Not owner-checked:
    /// it reveals nothing but existence of an unguessable id.
    pub fn exists(&self, id: &str) -> (bool, bool) {
        match self.find(id) {
            Ok(_) => (true, false),
            Err(ServiceError::Expired(_)) => (false, true),
            Err(_) => (false, false),
        }
    }

    pub fn delete(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        self.authorize(principal, id)?;
        if self.remove(id, "deleted") {
            Ok(())
        } else {
            Err(ServiceError::NotFound(id.to_string()))
        }
    }

    /// Sets the expiry to now + `ttl_seconds` (the sliding TTL itself is unchanged, as upstream).
    pub fn extend(
        &self,
        principal: &Principal,
        id: &str,
        ttl_seconds: u64,
    ) -> Result<u64, ServiceError> {
        let slot = self.authorize(principal, id)?;
        let ttl = Duration::from_secs(ttl_seconds);
        if ttl.is_zero() || ttl > self.inner.limits.max_ttl {
            return Err(ServiceError::validation(
                "ttl_seconds",
                format!(
                    "must be between 1 and {}",
                    self.inner.limits.max_ttl.as_secs()
                ),
            ));
        }
        let mut timing = slot.timing.lock().unwrap_or_else(PoisonError::into_inner);
        timing.expires_at = Instant::now() + ttl;
        timing.expires_at_wall = SystemTime::now() + ttl;
        Ok(ttl_seconds)
    }

    /// Removes expired sessions; returns how many. Also forgets idle rate-limiter keys.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let expired: Vec<String> = self
            .table_read()
            .values()
            .filter(|s| s.expired(now))
            .map(|s| s.id.clone())
            .collect();
        let swept = expired
            .iter()
            .filter(|id| self.remove(id, "expired"))
            .count();
        let live: Vec<Arc<Slot>> = self.table_read().values().cloned().collect();
        for slot in live {
            slot.stream().trim(now);
        }
        self.inner.by_session.retain_recent();
        self.inner.by_subject.retain_recent();
        self.inner.by_session.shrink_to_fit();
        self.inner.by_subject.shrink_to_fit();
        swept
    }

    /// Runs [`SessionService::sweep`] every `interval` until the returned handle is aborted.
    pub fn spawn_sweeper(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                let swept = service.sweep();
                if swept > 0 {
                    tracing::debug!(swept, "expired sessions swept");
                }
            }
        })
    }

    /// Runs `op` on the session's data under its command lock, on the blocking pool, with the
    /// session's node. The closure gets the node and the data; it decides itself whether it
    /// needs exclusive access (and then goes through [`KnowledgeBases::write`]).
    async fn run<R: Send + 'static>(
        &self,
        principal: &Principal,
        id: &str,
        scope: Scope,
        op: impl FnOnce(
                &KnowledgeBases,
                &crate::store::Node,
                &Slot,
                &mut SessionData,
            ) -> Result<R, ServiceError>
            + Send
            + 'static,
    ) -> Result<R, ServiceError> {
        self.run_where(principal, id, scope, |_| false, op).await
    }

    /// [`SessionService::run`], but `op` runs inline on the calling async worker when `inline`
    /// says it only reads the node (given the session's data), the node is loaded, and no
    /// writer holds it: a short read-only engine call costs less than a hop to the blocking
    /// pool. Anything that may write (and wait for an fsync) always goes to the blocking pool.
    async fn run_where<R: Send + 'static>(
        &self,
        principal: &Principal,
        id: &str,
        scope: Scope,
        inline: impl FnOnce(&SessionData) -> bool,
        op: impl FnOnce(
                &KnowledgeBases,
                &crate::store::Node,
                &Slot,
                &mut SessionData,
            ) -> Result<R, ServiceError>
            + Send
            + 'static,
    ) -> Result<R, ServiceError> {
        Self::require(principal, scope)?;
        let slot = self.authorize(principal, id)?;
        self.admit(principal, id)?;
        let mut data = slot.data.clone().lock_owned().await;
        let kbs = self.inner.kbs.clone();
        if inline(&data) {
            if let Some(node) = kbs.loaded_node(&slot.node).filter(|n| n.readable_now()) {
                return op(&kbs, &node, &slot, &mut data);
            }
        }
        tokio::task::spawn_blocking(move || {
            let node = kbs.node(&slot.node).map_err(ServiceError::Store)?;
            op(&kbs, &node, &slot, &mut data)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("engine task failed: {e}")))?
    }

    /// Applies a change that may touch the knowledge base: runs `op` on a copy of the session
    /// state with exclusive node access, and keeps the copy only once the records are durable.
    fn mutate<R>(
        kbs: &KnowledgeBases,
        node: &crate::store::Node,
        data: &mut SessionData,
        op: impl FnOnce(&mut SessionState, &mut NodeKb, &EngineConfig, &mut Vec<KbRecord>) -> R,
    ) -> Result<R, ServiceError> {
        let mut next = data.state.clone();
        let config = &data.config;
        let result = kbs
            .write(node, |kb, records| op(&mut next, kb, config, records))
            .map_err(ServiceError::Store)?;
        data.state = next;
        Ok(result)
    }

    /// Observe (§1.2) as the REST surfaces do: always applied (upstream semantics), published
    /// as an `observed` event.
    pub async fn observe(
        &self,
        principal: &Principal,
        id: &str,
        observation: Observation,
        unique_id: String,
    ) -> Result<Observed, ServiceError> {
        match self
            .observe_event(principal, id, observation, unique_id, false)
            .await?
        {
            ObserveOutcome::Applied { observed, .. } => Ok(observed),
            ObserveOutcome::Replayed(_) => Err(ServiceError::Internal(
                "observation replayed without deduplication".into(),
            )),
        }
    }

    /// Observe (§1.2), published as an `observed` event whose `data` is the WebSocket
    /// `predictions` reply without `id`. With `dedupe`, an observation whose `unique_id` is in
    /// the session's window is not applied again (PROTOCOL.md §8). Read-only node access when
    /// the observation cannot change the node.
    pub async fn observe_event(
        &self,
        principal: &Principal,
        id: &str,
        observation: Observation,
        unique_id: String,
        dedupe: bool,
    ) -> Result<ObserveOutcome, ServiceError> {
        let observation = Arc::new(observation);
        let shared = observation.clone();
        let read_only = move |data: &SessionData| !data.state.needs_write(&shared, &data.config);
        let outcome = self
            .run_where(
                principal,
                id,
                Scope::Observe,
                read_only,
                move |kbs, node, slot, data| {
                    if dedupe {
                        if let Some(replayed) = slot.stream().replayed(&unique_id) {
                            return Ok(ObserveOutcome::Replayed(replayed));
                        }
                    }
                    let started = Instant::now();
                    let observed = if data.state.needs_write(&observation, &data.config) {
                        Self::mutate(kbs, node, data, |state, kb, config, records| {
                            state.observe(kb, &observation, unique_id, config, records)
                        })?
                        .map_err(ServiceError::Engine)
                    } else {
                        let SessionData { state, config, .. } = data;
                        node.read(|kb| state.observe_shared(kb, &observation, unique_id, config))
                            .map_err(ServiceError::Engine)
                    }?;
                    let engine_time = started.elapsed();
                    let event = {
                        let mut stream = slot.stream();
                        let payload =
                            PredictionsPayload::of(&observed, engine_time, stream.next_offset());
                        stream
                            .publish_with(
                                EventKind::Observed,
                                Some(&observed.unique_id),
                                payload.size_hint(),
                                |buffer| serde_json::to_writer(buffer, &payload),
                            )
                            .map_err(|e| ServiceError::Internal(format!("event encoding: {e}")))?
                    };
                    Ok(ObserveOutcome::Applied {
                        observed,
                        engine_time,
                        event,
                    })
                },
            )
            .await?;
        if let ObserveOutcome::Applied {
            observed,
            engine_time,
            ..
        } = &outcome
        {
            let learned = observed
                .auto_learned_pattern
                .as_deref()
                .is_some_and(|name| !name.is_empty());
            self.notify(|o| {
                o.observed(1, observed.stm_length, Some(*engine_time));
                if learned {
                    o.learned(1);
                }
            });
        }
        Ok(outcome)
    }

    /// observe-sequence (§1.8). Needs `learn` as well when it learns.
    pub async fn observe_sequence(
        &self,
        principal: &Principal,
        id: &str,
        observations: Vec<Observation>,
        unique_ids: Vec<String>,
        options: SequenceOptions,
    ) -> Result<SequenceOutcome, ServiceError> {
        let (outcome, _, _) = self
            .observe_sequence_event(principal, id, observations, unique_ids, options, false)
            .await?;
        Ok(outcome)
    }

    /// observe-sequence, also returning the predictions for the final STM when `predict` is
    /// set. Publishes one `observed` event per observation (the last one carries the final
    /// predictions when they were computed).
    pub async fn observe_sequence_event(
        &self,
        principal: &Principal,
        id: &str,
        observations: Vec<Observation>,
        unique_ids: Vec<String>,
        options: SequenceOptions,
        predict: bool,
    ) -> Result<(SequenceOutcome, Option<PredictionSet>, u64), ServiceError> {
        if options.learn_after_each || options.learn_at_end {
            Self::require(principal, Scope::Learn)?;
        }
        let (outcome, predictions, offset) = self
            .run(
                principal,
                id,
                Scope::Observe,
                move |kbs, node, slot, data| {
                    let outcome = Self::mutate(kbs, node, data, |state, kb, config, records| {
                        state.observe_sequence(
                            kb,
                            &observations,
                            unique_ids,
                            options,
                            config,
                            records,
                        )
                    })?
                    .map_err(|(index, error)| ServiceError::Sequence(index, error))?;
                    let predictions =
                        predict.then(|| node.read(|kb| data.state.predictions(kb, &data.config)));
                    let mut stream = slot.stream();
                    let last = outcome.results.len().saturating_sub(1);
                    for (index, item) in outcome.results.iter().enumerate() {
                        let mut payload = serde_json::json!({
                            "unique_id": item.observed.unique_id,
                            "time": item.observed.time,
                            "stm_length": item.observed.stm_length,
                            "auto_learned_pattern": item.observed.auto_learned_pattern,
                            "sequence_position": item.sequence_position,
                            "offset": stream.next_offset(),
                        });
                        if let (true, Some(set), Some(map)) =
                            (index == last, &predictions, payload.as_object_mut())
                        {
                            map.insert("predictions".into(), serde_json::json!(set.predictions));
                            map.insert(
                                "future_potentials".into(),
                                serde_json::json!(set.future_potentials),
                            );
                        }
                        stream.publish(
                            EventKind::Observed,
                            &payload.to_string(),
                            Some(&item.observed.unique_id),
                        );
                    }
                    if let Some(name) = outcome.final_learned_pattern.as_deref() {
                        let data = serde_json::json!({ "pattern_name": name });
                        stream.publish(EventKind::Learned, &data.to_string(), None);
                    }
                    let offset = stream.offset();
                    drop(stream);
                    Ok((outcome, predictions, offset))
                },
            )
            .await?;
        let learned = outcome
            .auto_learned_patterns
            .iter()
            .filter(|name| !name.is_empty())
            .count() as u64;
        self.notify(|o| {
            o.observed(outcome.results.len() as u64, outcome.final_stm_length, None);
            if learned > 0 {
                o.learned(learned);
            }
        });
        Ok((outcome, predictions, offset))
    }

    /// Manual learn (§3.1): the pattern name, `""` when nothing was stored.
    pub async fn learn(&self, principal: &Principal, id: &str) -> Result<String, ServiceError> {
        let name = self
            .run(principal, id, Scope::Learn, |kbs, node, slot, data| {
                let name = Self::mutate(kbs, node, data, |state, kb, config, records| {
                    state.learn(kb, config, records)
                })?
                .map_err(ServiceError::Engine)?;
                slot.publish(
                    EventKind::Learned,
                    &serde_json::json!({ "pattern_name": name }),
                );
                Ok(name)
            })
            .await?;
        if !name.is_empty() {
            self.notify(|o| o.learned(1));
        }
        Ok(name)
    }

    /// Predictions recomputed from the current STM (§4.1).
    pub async fn predictions(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<PredictionSet, ServiceError> {
        Ok(self.predictions_view(principal, id).await?.set)
    }

    /// Predictions for the current STM with the session's position (for the WebSocket
    /// `predictions` reply), in one command.
    pub async fn predictions_view(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<PredictionsView, ServiceError> {
        let view = self
            .run_where(
                principal,
                id,
                Scope::Observe,
                |_| true,
                |_, node, slot, data| {
                    let started = Instant::now();
                    let set = node.read(|kb| data.state.predictions(kb, &data.config));
                    Ok(PredictionsView {
                        set,
                        engine_time: started.elapsed(),
                        time: data.state.time,
                        stm_length: data.state.stm.len(),
                        offset: slot.stream().offset(),
                    })
                },
            )
            .await?;
        self.notify(|o| o.predicted(view.engine_time));
        Ok(view)
    }

    /// Reads the session's data (STM, percept data, cognition data, config).
    pub async fn read<R: Send + 'static>(
        &self,
        principal: &Principal,
        id: &str,
        read: impl FnOnce(&SessionData) -> R + Send + 'static,
    ) -> Result<R, ServiceError> {
        Self::require(principal, Scope::Observe)?;
        let slot = self.authorize(principal, id)?;
        let data = slot.data.lock().await;
        Ok(read(&data))
    }

    pub async fn stm(&self, principal: &Principal, id: &str) -> Result<Vec<Event>, ServiceError> {
        self.read(principal, id, |data| data.state.stm.clone())
            .await
    }

    /// clear-stm (§2.5).
    pub async fn clear_stm(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        Self::require(principal, Scope::Observe)?;
        let slot = self.authorize(principal, id)?;
        self.admit(principal, id)?;
        let mut data = slot.data.lock().await;
        data.state.clear_stm();
        slot.publish(EventKind::StmCleared, &serde_json::json!({}));
        Ok(())
    }

    /// clear-all (§2.5): the session's state and the node's whole knowledge base. Needs `admin`
    /// when auth is on.
    pub async fn clear_all(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        Self::require(principal, Scope::Admin)?;
        self.run(principal, id, Scope::Observe, |kbs, node, slot, data| {
            Self::mutate(kbs, node, data, |state, kb, _, records| {
                state.clear_all(kb, records)
            })?;
            slot.publish(
                EventKind::StmCleared,
                &serde_json::json!({ "knowledge_base_cleared": true }),
            );
            Ok(())
        })
        .await
    }

    /// finalize-training (§3.6): `(patterns processed, milliseconds)`.
    pub async fn finalize_training(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<(usize, f64), ServiceError> {
        self.run(principal, id, Scope::Learn, |kbs, node, _, data| {
            let started = Instant::now();
            let processed = Self::mutate(kbs, node, data, |_, kb, _, records| {
                kb.apply(&KbRecord::FinalizeTraining);
                records.push(KbRecord::FinalizeTraining);
                kb.patterns().len()
            })?;
            Ok((processed, started.elapsed().as_secs_f64() * 1000.0))
        })
        .await
    }

    /// POST config (§5.1): validates against the current effective config; nothing is applied
    /// on error.
    pub async fn update_config(
        &self,
        principal: &Principal,
        id: &str,
        body: Value,
    ) -> Result<Map<String, Value>, ServiceError> {
        Self::require(principal, Scope::Observe)?;
        let slot = self.authorize(principal, id)?;
        self.admit(principal, id)?;
        let mut data = slot.data.lock().await;
        let update = parse_update(&body, &data.config).map_err(ServiceError::Config)?;
        let mut overrides = data.overrides.clone();
        overrides.merge(update);
        data.config = overrides.apply_to(&self.inner.defaults);
        data.overrides = overrides;
        let view = data.config.to_json(&data.overrides);
        *slot
            .config_view
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(view.clone());
        slot.publish(
            EventKind::ConfigChanged,
            &serde_json::json!({ "config": view }),
        );
        Ok(view)
    }

    /// The effective config (GET config).
    pub async fn config(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Map<String, Value>, ServiceError> {
        self.read(principal, id, |data| data.config.to_json(&data.overrides))
            .await
    }

    /// Runs a read on a node's knowledge base (patterns, symbols), loading it if needed.
    pub async fn node_read<R: Send + 'static>(
        &self,
        principal: &Principal,
        node: &str,
        read: impl FnOnce(&NodeKb) -> R + Send + 'static,
    ) -> Result<R, ServiceError> {
        let node = NodeId::parse(node).map_err(|e| ServiceError::validation("node_id", e))?;
        if !principal.nodes.allows(node.as_str()) {
            return Err(ServiceError::Forbidden(format!(
                "the credentials do not allow node {node}"
            )));
        }
        let kbs = self.inner.kbs.clone();
        // A node nobody has written reads as empty and is neither loaded nor created, so
        // reads of arbitrary node ids cost nothing lasting.
        tokio::task::spawn_blocking(move || {
            kbs.read_existing(&node, read).map_err(ServiceError::Store)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("node task failed: {e}")))?
    }

    /// Owner and node of a session without touching it (for routing decisions).
    pub fn owner_of(&self, id: &str) -> Option<(String, NodeId)> {
        self.table_read()
            .get(id)
            .map(|slot| (slot.subject.clone(), slot.node.clone()))
    }

    /// Attaches an event receiver to a session (PROTOCOL.md §5). `Bound`: the receiver's
    /// connection is bound to the session (owner checks as for any command; extends the TTL).
    /// `Watch`: needs scope `watch` or the same subject, and the session's node must be
    /// allowed. `on_attach` runs under the stream lock (see [`EventStream::attach`]).
    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        &self,
        principal: &Principal,
        id: &str,
        receiver: u64,
        sink: Arc<dyn EventSink>,
        why: Attachment,
        resume: Option<(&str, u64)>,
        on_attach: impl FnOnce(&SessionInfo, &Attached),
    ) -> Result<(), ServiceError> {
        let slot = match why {
            Attachment::Bound => self.authorize(principal, id)?,
            Attachment::Watch => {
                let slot = self.find(id)?;
                let own = slot.subject == principal.subject
                    && principal.session.as_deref().is_none_or(|sid| sid == id);
                if !(own || principal.has(Scope::Watch) || principal.has(Scope::Admin)) {
                    return Err(ServiceError::Forbidden(format!(
                        "watching session {id} needs the 'watch' scope or the same subject"
                    )));
                }
                if !principal.nodes.allows(slot.node.as_str()) {
                    return Err(ServiceError::Forbidden(format!(
                        "the credentials do not allow node {}",
                        slot.node
                    )));
                }
                slot
            }
        };
        let info = self.info_of(&slot);
        slot.stream()
            .attach(receiver, sink, why, resume, |attached| {
                on_attach(&info, attached)
            });
        Ok(())
    }

    /// Removes one reason `receiver` is attached to a session; returns whether it was
    /// watching. A session that no longer exists has nothing to detach.
    pub fn detach(&self, id: &str, receiver: u64, why: Attachment) -> bool {
        let slot = self.table_read().get(id).cloned();
        slot.is_some_and(|slot| slot.stream().detach(receiver, why))
    }

    /// Extends a session's TTL without a command (an open connection bound to it keeps it
    /// alive). Unknown or expired sessions are left alone.
    pub fn keep_alive(&self, id: &str) {
        let slot = self.table_read().get(id).cloned();
        if let Some(slot) = slot.filter(|s| !s.expired(Instant::now())) {
            slot.touch();
        }
    }
}

/// Predictions for a session's current STM and where the session stands.
pub struct PredictionsView {
    pub set: PredictionSet,
    pub engine_time: Duration,
    pub time: u64,
    pub stm_length: usize,
    /// The session's event offset.
    pub offset: u64,
}

impl PredictionsView {
    /// The `get_predictions` reply body (no `unique_id`, no auto-learn).
    pub fn payload(&self) -> PredictionsPayload<'_> {
        PredictionsPayload {
            unique_id: None,
            time: self.time,
            stm_length: self.stm_length,
            auto_learned_pattern: None,
            predictions: &self.set.predictions,
            future_potentials: &self.set.future_potentials,
            elapsed_us: self.engine_time.as_micros() as u64,
            offset: self.offset,
        }
    }
}

/// What [`SessionService::observe_event`] did.
pub enum ObserveOutcome {
    /// Applied now: the engine result, the engine time, and the published `observed` event.
    Applied {
        observed: Observed,
        engine_time: Duration,
        event: PublishedEvent,
    },
    /// The `unique_id` was already applied; nothing changed.
    Replayed(Replayed),
}

/// The WebSocket `predictions` reply without `type` and `id`: the `data` of an `observed`
/// event, and (with no `unique_id`) the `get_predictions` reply. One shape, one serialiser.
#[derive(Serialize)]
pub struct PredictionsPayload<'a> {
    unique_id: Option<&'a str>,
    time: u64,
    stm_length: usize,
    auto_learned_pattern: Option<&'a str>,
    predictions: &'a [Prediction],
    future_potentials: &'a [FuturePotential],
    elapsed_us: u64,
    offset: u64,
}

impl<'a> PredictionsPayload<'a> {
    /// A generous guess of the encoded size (a full prediction is about 1.2 KB).
    pub fn size_hint(&self) -> usize {
        256 + 1536 * self.predictions.len() + 64 * self.future_potentials.len()
    }

    fn of(observed: &'a Observed, engine_time: Duration, offset: u64) -> Self {
        let (predictions, future_potentials): (&[Prediction], &[FuturePotential]) =
            match observed.predictions.as_deref() {
                Some(set) => (&set.predictions, &set.future_potentials),
                None => (&[], &[]),
            };
        PredictionsPayload {
            unique_id: Some(&observed.unique_id),
            time: observed.time,
            stm_length: observed.stm_length,
            auto_learned_pattern: observed.auto_learned_pattern.as_deref(),
            predictions,
            future_potentials,
            elapsed_us: engine_time.as_micros() as u64,
            offset,
        }
    }
}
