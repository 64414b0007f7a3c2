//! The event bus: how committed conversation events reach whoever listens (sessions on this
//! node now; other nodes through Redis pub/sub in cluster mode). [`LocalBus`] is the one-node
//! implementation.
//!
//! Two kinds of topic: one per conversation (every event of it), and one per chat identity of
//! a service (only the events that add or remove that identity as a participant), so a
//! session learns about a conversation it was just added to.
//!
//! Never: block the publisher. A subscriber that falls behind loses its place (it is told it
//! lagged) and must resume from the store, which is the source of truth.

mod local;

use std::sync::{Arc, OnceLock};

use bytestring::ByteString;
use tokio::sync::broadcast;

use crate::conversations::events::ConversationEvent;
use crate::ids::{ConversationSid, ServiceSid};

pub use local::LocalBus;

/// An event as carried by the bus, with its wire frame cached: the first session that sends it
/// serialises it, every other subscriber shares the same bytes.
#[derive(Debug)]
pub struct BusEvent {
    /// What happened.
    pub event: ConversationEvent,
    frame: OnceLock<ByteString>,
}

impl BusEvent {
    /// Wraps a committed event.
    pub fn new(event: ConversationEvent) -> Self {
        BusEvent {
            event,
            frame: OnceLock::new(),
        }
    }

    /// The wire frame, built with `encode` by the first caller only.
    pub fn frame(&self, encode: impl FnOnce(&ConversationEvent) -> ByteString) -> ByteString {
        self.frame.get_or_init(|| encode(&self.event)).clone()
    }
}

/// Receives a topic's events.
pub type Subscription = broadcast::Receiver<Arc<BusEvent>>;

/// Publishes and subscribes to event streams.
pub trait EventBus: Send + Sync {
    /// Delivers `event` to the current subscribers of its conversation (and, when it adds or
    /// removes an identity, of that identity), in publish order.
    fn publish(&self, event: Arc<BusEvent>);
    /// Receives the conversation's events published from now on.
    fn subscribe(&self, conversation: &ConversationSid) -> Subscription;
    /// Receives, from now on, the events that add or remove `identity` as a participant of a
    /// conversation of `service`.
    fn subscribe_identity(&self, service: &ServiceSid, identity: &str) -> Subscription;
    /// Delivers an already encoded frame to the subscribers of a routing topic (a worker's
    /// offers and updates, a workspace's statistics; see [`routing_topic`]).
    fn publish_frame(&self, topic: &str, frame: ByteString);
    /// Receives a routing topic's frames published from now on.
    fn subscribe_frames(&self, topic: &str) -> FrameSubscription;
    /// Whether anyone listens to a routing topic (so producers can skip costly frames).
    fn has_frame_subscribers(&self, topic: &str) -> bool;
}

/// Receives a routing topic's frames.
pub type FrameSubscription = broadcast::Receiver<ByteString>;

/// Routing topic names.
pub mod routing_topic {
    use crate::ids::{WorkerSid, WorkspaceSid};

    /// A worker's reservations and state.
    pub fn worker(worker: &WorkerSid) -> String {
        format!("worker:{worker}")
    }

    /// A workspace's live statistics.
    pub fn workspace(workspace: &WorkspaceSid) -> String {
        format!("workspace:{workspace}")
    }
}
