//! The outbound side of one WebSocket connection (PROTOCOL.md §6): a queue bounded in bytes in
//! front of actix-ws's session, drained by one writer task. Anything may queue without waiting
//! (replies, events from other sessions' publishers, pings); a client that lets the queue
//! overflow is closed 4008 and the publisher moves on. Nothing here ever awaits a socket while
//! holding the queue lock.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use actix_web::web::Bytes;
use actix_ws::{CloseReason, Session};
use bytestring::ByteString;
use kato_protocol::close::CloseCode;
use kato_protocol::server::{EventKind, ServerFrame};
use kato_protocol::ErrorCode;
use tokio::sync::{watch, Notify};

use crate::session::{EventSink, PublishedEvent};

enum Item {
    Text(ByteString),
    Ping,
    Pong(Bytes),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    bytes: usize,
    /// Set once: the close to send after the queued items (or instead of them, for 4008).
    close: Option<(CloseCode, String)>,
}

/// The queue of one connection. Shared (`Arc`) by the connection, its writer task and every
/// session stream the connection is attached to.
pub struct Outbound {
    queue: Mutex<Queue>,
    wake: Notify,
    limit: usize,
    /// How long a closing connection's socket may refuse data (the queued frames and the close
    /// frame) before it is dropped without a close handshake.
    linger: Duration,
    /// The close code once the connection is closing (the reader stops on change).
    closed: watch::Sender<Option<CloseCode>>,
}

impl Outbound {
    pub fn new(limit: usize, linger: Duration) -> Self {
        Outbound {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            limit,
            linger,
            closed: watch::Sender::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a text frame. `false` when the connection is closing (now or because this frame
    /// overflowed the queue: then it is closed 4008 and its pending frames are dropped).
    pub fn text(&self, text: ByteString) -> bool {
        let mut queue = self.lock();
        if queue.close.is_some() {
            return false;
        }
        // The bound is on the backlog: one frame bigger than the limit still goes out when
        // nothing is waiting (a large predictions reply is not a slow consumer).
        if queue.bytes > 0 && queue.bytes + text.len() > self.limit {
            queue.items.clear();
            queue.bytes = 0;
            let reason = format!("outbound queue over {} bytes", self.limit);
            queue.close = Some((CloseCode::SlowConsumer, reason));
            drop(queue);
            self.closed.send_replace(Some(CloseCode::SlowConsumer));
            self.wake.notify_one();
            return false;
        }
        queue.bytes += text.len();
        queue.items.push_back(Item::Text(text));
        drop(queue);
        self.wake.notify_one();
        true
    }

    /// Queues a server frame.
    pub fn frame(&self, frame: &ServerFrame) -> bool {
        match serde_json::to_string(frame) {
            Ok(text) => self.text(ByteString::from(text)),
            Err(e) => {
                tracing::error!(error = %e, "server frame encoding failed");
                false
            }
        }
    }

    pub fn ping(&self) {
        self.control(Item::Ping);
    }

    pub fn pong(&self, bytes: Bytes) {
        self.control(Item::Pong(bytes));
    }

    fn control(&self, item: Item) {
        let mut queue = self.lock();
        if queue.close.is_none() {
            queue.items.push_back(item);
            drop(queue);
            self.wake.notify_one();
        }
    }

    /// Closes after the frames already queued (the first close wins).
    pub fn close(&self, code: CloseCode, reason: impl Into<String>) {
        let mut queue = self.lock();
        if queue.close.is_some() {
            return;
        }
        queue.close = Some((code, reason.into()));
        drop(queue);
        self.closed.send_replace(Some(code));
        self.wake.notify_one();
    }

    /// An `error` frame (no request id), then close.
    pub fn fail(&self, code: CloseCode, error: kato_protocol::server::Error) {
        let reason = error.message.clone();
        self.frame(&ServerFrame::Error(error));
        self.close(code, reason);
    }

    /// The close code once closing.
    pub fn closing(&self) -> Option<CloseCode> {
        *self.closed.borrow()
    }

    /// A receiver that changes when the connection starts closing.
    pub fn watch_closed(&self) -> watch::Receiver<Option<CloseCode>> {
        self.closed.subscribe()
    }

    /// Bytes queued and not yet handed to the socket.
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The writer task: drains the queue into the socket, then sends the close frame.
    pub async fn write(self: std::sync::Arc<Self>, mut session: Session) {
        let mut closed = self.watch_closed();
        loop {
            let next = {
                let mut queue = self.lock();
                match queue.items.pop_front() {
                    Some(item) => {
                        if let Item::Text(text) = &item {
                            queue.bytes -= text.len();
                        }
                        Ok(item)
                    }
                    None => Err(queue.close.clone()),
                }
            };
            let sent = match next {
                // A socket that takes no data must not keep this task (and the connection)
                // forever once the connection is closing.
                Ok(Item::Text(text)) => tokio::select! {
                    sent = session.text(text) => sent,
                    _ = abandon(&mut closed, self.linger) => return,
                },
                Ok(Item::Ping) => session.ping(b"").await,
                Ok(Item::Pong(bytes)) => session.pong(&bytes).await,
                Err(Some((code, reason))) => {
                    let reason = CloseReason {
                        code: actix_ws::CloseCode::Other(code.code()),
                        description: (!reason.is_empty()).then_some(truncate(reason, 120)),
                    };
                    let _ = tokio::time::timeout(self.linger, session.close(Some(reason))).await;
                    return;
                }
                Err(None) => {
                    self.wake.notified().await;
                    continue;
                }
            };
            if sent.is_err() {
                // The socket is gone: make the reader stop too.
                self.close(CloseCode::Normal, "");
                return;
            }
        }
    }
}

/// Resolves `linger` after the connection started closing.
async fn abandon(closed: &mut watch::Receiver<Option<CloseCode>>, linger: Duration) {
    if closed.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(linger).await;
}

/// A close reason must fit in a control frame (125 bytes with the code).
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

impl EventSink for Outbound {
    fn deliver(
        &self,
        session_id: &str,
        event: &PublishedEvent,
        watching: bool,
        bound: bool,
    ) -> bool {
        if self.closing().is_some() {
            return false;
        }
        if watching && !self.text(event.frame.clone()) {
            return false;
        }
        if bound && matches!(event.kind, EventKind::Deleted | EventKind::Expired) {
            let (code, what) = match event.kind {
                EventKind::Expired => (ErrorCode::SessionExpired, "expired"),
                _ => (ErrorCode::SessionNotFound, "was deleted"),
            };
            self.fail(
                CloseCode::SessionNotFound,
                super::error(None, code, format!("session {session_id} {what}")),
            );
            return false;
        }
        true
    }
}
