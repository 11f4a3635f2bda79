//! Per-session event stream (PROTOCOL.md §5, §8): the `epoch`/`offset` of every state change,
//! a bounded history for `hello.resume`, the watchers that receive `event` frames, and the
//! `unique_id` window that makes `observe` idempotent. Owned by the session's slot behind a
//! plain mutex that is held only to append or attach, never across I/O: delivery hands a
//! shared frame to each watcher's non-blocking sink (a slow watcher is the sink's problem).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use kato_protocol::server::EventKind;

/// Bounds of the history and the idempotency window (server settings).
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Most events kept for resume.
    pub history_len: usize,
    /// Most bytes of event frames kept for resume.
    pub history_bytes: usize,
    /// Oldest event kept for resume.
    pub history_age: Duration,
    /// How many `unique_id`s of applied observations are remembered.
    pub idempotency_window: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            history_len: 1000,
            history_bytes: 256 << 10,
            history_age: Duration::from_secs(600),
            idempotency_window: 1000,
        }
    }
}

/// One published event: the whole `event` frame, serialised once and shared by every watcher
/// and the history.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    pub offset: u64,
    pub kind: EventKind,
    /// `{"type":"event",...,"data":{...}}`.
    pub frame: ByteString,
    /// Byte position of `data`'s opening brace inside `frame`.
    data_start: usize,
    at: Instant,
}

impl PublishedEvent {
    /// The event's `data` object as JSON text.
    pub fn data(&self) -> &str {
        self.frame
            .get(self.data_start..self.frame.len().saturating_sub(1))
            .unwrap_or("{}")
    }
}

/// Receives the events of the sessions it is attached to. Implementations never block (they
/// queue or drop); `deliver` returns `false` once the receiver is gone, and is then detached.
pub trait EventSink: Send + Sync {
    /// `watching`: the receiver asked for this session's events; `bound`: the receiver's
    /// connection is bound to this session (it must learn when the session ends).
    fn deliver(
        &self,
        session_id: &str,
        event: &PublishedEvent,
        watching: bool,
        bound: bool,
    ) -> bool;
}

/// Why a receiver is attached to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    /// The connection is bound to the session (only `deleted`/`expired` matter to it).
    Bound,
    /// The connection watches the session (every event).
    Watch,
}

struct Watcher {
    id: u64,
    sink: Arc<dyn EventSink>,
    watching: bool,
    bound: bool,
}

/// What a resuming receiver gets (PROTOCOL.md §5).
#[derive(Debug, Clone)]
pub struct Attached {
    pub epoch: String,
    /// Offset of the last event so far (0 before the first).
    pub offset: u64,
    /// With a resume position: the missed events in order, or `None` when the history no
    /// longer covers the gap (or the epoch differs).
    pub replay: Option<Vec<ByteString>>,
}

/// The stream of one session.
pub struct EventStream {
    session_id: Arc<str>,
    epoch: String,
    offset: u64,
    limits: StreamLimits,
    history: VecDeque<PublishedEvent>,
    history_bytes: usize,
    watchers: Vec<Watcher>,
    /// Keyed 64-bit hash of a `unique_id` → offset of its `observed` event. Hashes, not the
    /// ids, keep the window at ~32 bytes an id whatever the ids' length; the key is random per
    /// session, so no client can make two ids collide on purpose, and an accidental collision
    /// in a window of 1000 has a chance of about 1 in 10^13.
    applied: HashMap<u64, u64>,
    applied_order: VecDeque<u64>,
    id_hasher: std::collections::hash_map::RandomState,
}

/// The answer to a replayed `observe` (a known `unique_id`).
#[derive(Debug, Clone)]
pub enum Replayed {
    /// The stored `observed` event (its `data` is the original reply without `id`).
    Stored(PublishedEvent),
    /// The observation was applied at this offset, but its result has left the history.
    Evicted { offset: u64 },
}

impl EventStream {
    pub fn new(session_id: &str, limits: StreamLimits) -> Self {
        EventStream {
            session_id: Arc::from(session_id),
            epoch: uuid::Uuid::new_v4().simple().to_string(),
            offset: 0,
            limits,
            history: VecDeque::new(),
            history_bytes: 0,
            watchers: Vec::new(),
            applied: HashMap::new(),
            applied_order: VecDeque::new(),
            id_hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The offset the next event will get.
    pub fn next_offset(&self) -> u64 {
        self.offset + 1
    }

    /// How many receivers are attached.
    pub fn watcher_count(&self) -> usize {
        self.watchers.len()
    }

    /// Whether an observation with this id was applied (and what to answer with).
    pub fn replayed(&self, unique_id: &str) -> Option<Replayed> {
        let offset = *self.applied.get(&self.id_hasher.hash_one(unique_id))?;
        Some(
            self.history
                .iter()
                .find(|e| e.offset == offset)
                .cloned()
                .map_or(Replayed::Evicted { offset }, Replayed::Stored),
        )
    }

    /// Appends an event whose `data` is the JSON object `data`, delivers it to the watchers and
    /// keeps it in the history. `unique_id`: the observation id to remember for idempotency.
    pub fn publish(
        &mut self,
        kind: EventKind,
        data: &str,
        unique_id: Option<&str>,
    ) -> PublishedEvent {
        let written: Result<_, std::convert::Infallible> =
            self.publish_with(kind, unique_id, data.len(), |buffer| {
                buffer.extend_from_slice(data.as_bytes());
                Ok(())
            });
        match written {
            Ok(event) => event,
            Err(never) => match never {},
        }
    }

    /// [`EventStream::publish`] with `data` written straight into the frame by `write` (one
    /// serialisation, no copy); `size_hint` pre-sizes the buffer. When `write` fails nothing
    /// is published.
    pub fn publish_with<E>(
        &mut self,
        kind: EventKind,
        unique_id: Option<&str>,
        size_hint: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<PublishedEvent, E> {
        let event = self.frame(kind, size_hint, write)?;
        self.offset = event.offset;
        if let Some(unique_id) = unique_id {
            self.remember(unique_id);
        }
        self.deliver(&event);
        self.keep(event.clone());
        Ok(event)
    }

    fn frame<E>(
        &self,
        kind: EventKind,
        size_hint: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<PublishedEvent, E> {
        let kind_name = match kind {
            EventKind::Observed => "observed",
            EventKind::Learned => "learned",
            EventKind::StmCleared => "stm_cleared",
            EventKind::ConfigChanged => "config_changed",
            EventKind::Deleted => "deleted",
            EventKind::Expired => "expired",
        };
        let offset = self.offset + 1;
        let mut head = String::with_capacity(160);
        head.push_str(r#"{"type":"event","session_id":"#);
        // Session ids and epochs are plain ASCII (validated at creation); quoting via serde
        // keeps this correct whatever they contain.
        head.push_str(&serde_json::Value::from(&*self.session_id).to_string());
        let _ = write!(
            head,
            r#","epoch":"{}","offset":{},"kind":"{}","data":"#,
            self.epoch, offset, kind_name
        );
        let mut frame = Vec::with_capacity(head.len() + size_hint + 1);
        frame.extend_from_slice(head.as_bytes());
        let data_start = frame.len();
        write(&mut frame)?;
        frame.push(b'}');
        // The writers produce JSON, which is UTF-8; the fallback only guards the type.
        let frame = String::from_utf8(frame)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Ok(PublishedEvent {
            offset,
            kind,
            frame: ByteString::from(frame),
            data_start,
            at: Instant::now(),
        })
    }

    fn remember(&mut self, unique_id: &str) {
        if self.limits.idempotency_window == 0 {
            return;
        }
        let key = self.id_hasher.hash_one(unique_id);
        if self.applied.insert(key, self.offset).is_none() {
            self.applied_order.push_back(key);
        }
        while self.applied_order.len() > self.limits.idempotency_window {
            if let Some(old) = self.applied_order.pop_front() {
                self.applied.remove(&old);
            }
        }
    }

    fn deliver(&mut self, event: &PublishedEvent) {
        let session_id = self.session_id.clone();
        self.watchers
            .retain(|w| w.sink.deliver(&session_id, event, w.watching, w.bound));
    }

    fn keep(&mut self, event: PublishedEvent) {
        self.history_bytes += event.frame.len();
        self.history.push_back(event);
        self.trim(Instant::now());
    }

    /// Drops events older than the history's age limit (the sweeper calls this for idle
    /// sessions, whose history is otherwise trimmed only when they publish).
    pub fn trim(&mut self, now: Instant) {
        while let Some(front) = self.history.front() {
            let too_many = self.history.len() > self.limits.history_len;
            let too_big = self.history_bytes > self.limits.history_bytes;
            let too_old = now.duration_since(front.at) > self.limits.history_age;
            if !(too_many || too_big || too_old) {
                break;
            }
            self.history_bytes -= front.frame.len();
            self.history.pop_front();
        }
    }

    /// Attaches a receiver (or widens an existing attachment of the same `id`). With
    /// `resume`, also collects the events after that position. `on_attach` runs before the
    /// lock is released, so what it queues precedes every later event.
    pub fn attach(
        &mut self,
        id: u64,
        sink: Arc<dyn EventSink>,
        why: Attachment,
        resume: Option<(&str, u64)>,
        on_attach: impl FnOnce(&Attached),
    ) {
        self.trim(Instant::now());
        let replay = resume.and_then(|(epoch, offset)| self.since(epoch, offset));
        let attached = Attached {
            epoch: self.epoch.clone(),
            offset: self.offset,
            replay,
        };
        on_attach(&attached);
        match self.watchers.iter_mut().find(|w| w.id == id) {
            Some(w) => match why {
                Attachment::Bound => w.bound = true,
                Attachment::Watch => w.watching = true,
            },
            None => self.watchers.push(Watcher {
                id,
                sink,
                watching: why == Attachment::Watch,
                bound: why == Attachment::Bound,
            }),
        }
    }

    /// Removes one reason a receiver is attached; returns whether it was watching.
    pub fn detach(&mut self, id: u64, why: Attachment) -> bool {
        let mut was = false;
        for w in self.watchers.iter_mut().filter(|w| w.id == id) {
            match why {
                Attachment::Bound => w.bound = false,
                Attachment::Watch => {
                    was = w.watching;
                    w.watching = false;
                }
            }
        }
        self.watchers.retain(|w| w.bound || w.watching);
        was
    }

    /// The frames after `offset` in `epoch`, or `None` when they are not all kept.
    fn since(&self, epoch: &str, offset: u64) -> Option<Vec<ByteString>> {
        if epoch != self.epoch || offset > self.offset {
            return None;
        }
        if offset == self.offset {
            return Some(Vec::new());
        }
        let first = self.history.front()?.offset;
        if first > offset + 1 {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|e| e.offset > offset)
                .map(|e| e.frame.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(u64, bool, bool)>>);

    impl EventSink for Collect {
        fn deliver(&self, _: &str, event: &PublishedEvent, watching: bool, bound: bool) -> bool {
            self.0.lock().unwrap().push((event.offset, watching, bound));
            true
        }
    }

    #[test]
    fn offsets_history_and_resume() {
        let limits = StreamLimits {
            history_len: 3,
            ..StreamLimits::default()
        };
        let mut stream = EventStream::new("s1", limits);
        let sink = Arc::new(Collect::default());
        stream.attach(1, sink.clone(), Attachment::Watch, None, |a| {
            assert_eq!(a.offset, 0)
        });
        for i in 0..5 {
            let e = stream.publish(EventKind::Observed, &format!("{{\"n\":{i}}}"), None);
            assert_eq!(e.offset, i + 1);
            assert_eq!(e.data(), format!("{{\"n\":{i}}}"));
            let parsed: serde_json::Value = serde_json::from_str(&e.frame).unwrap();
            assert_eq!(parsed["offset"], i + 1);
            assert_eq!(parsed["data"]["n"], i);
        }
        assert_eq!(sink.0.lock().unwrap().len(), 5);
        let epoch = stream.epoch().to_string();
        let resume = |stream: &mut EventStream, epoch: &str, offset| {
            let mut out = None;
            stream.attach(
                2,
                sink.clone(),
                Attachment::Bound,
                Some((epoch, offset)),
                |a| out = Some(a.replay.clone()),
            );
            out.flatten().map(|frames| frames.len())
        };
        assert_eq!(resume(&mut stream, &epoch, 5), Some(0));
        assert_eq!(resume(&mut stream, &epoch, 2), Some(3));
        assert_eq!(resume(&mut stream, &epoch, 1), None, "offset 2 was evicted");
        assert_eq!(resume(&mut stream, "other", 5), None);
        assert_eq!(resume(&mut stream, &epoch, 6), None);
    }

    #[test]
    fn idempotency_window() {
        let limits = StreamLimits {
            history_len: 1,
            idempotency_window: 2,
            ..StreamLimits::default()
        };
        let mut stream = EventStream::new("s1", limits);
        stream.publish(EventKind::Observed, "{}", Some("a"));
        stream.publish(EventKind::Observed, "{}", Some("b"));
        assert!(matches!(
            stream.replayed("a"),
            Some(Replayed::Evicted { offset: 1 })
        ));
        assert!(matches!(stream.replayed("b"), Some(Replayed::Stored(e)) if e.offset == 2));
        stream.publish(EventKind::Observed, "{}", Some("c"));
        assert!(stream.replayed("a").is_none());
    }

    #[test]
    fn detach_keeps_other_reason() {
        let mut stream = EventStream::new("s1", StreamLimits::default());
        let sink = Arc::new(Collect::default());
        stream.attach(1, sink.clone(), Attachment::Bound, None, |_| {});
        stream.attach(1, sink.clone(), Attachment::Watch, None, |_| {});
        assert_eq!(stream.watcher_count(), 1);
        stream.publish(EventKind::Learned, "{}", None);
        assert!(stream.detach(1, Attachment::Watch));
        stream.publish(EventKind::Learned, "{}", None);
        assert!(!stream.detach(1, Attachment::Watch));
        stream.detach(1, Attachment::Bound);
        assert_eq!(stream.watcher_count(), 0);
        assert_eq!(
            *sink.0.lock().unwrap(),
            vec![(1, true, true), (2, false, true)]
        );
    }
}
