//! The event bus: how committed conversation events reach whoever listens (sessions on this
//! node now; other nodes through Redis pub/sub in cluster mode). [`LocalBus`] is the one-node
//! implementation.
//!
//! Never: block the publisher. A subscriber that falls behind loses its place (it is told it
//! lagged) and must resume from the store, which is the source of truth.

mod local;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::conversations::events::ConversationEvent;
use crate::ids::ConversationSid;

pub use local::LocalBus;

/// Publishes and subscribes to per-conversation event streams.
pub trait EventBus: Send + Sync {
    /// Delivers `event` to the current subscribers of its conversation, in publish order.
    fn publish(&self, event: Arc<ConversationEvent>);
    /// Receives the conversation's events published from now on.
    fn subscribe(
        &self,
        conversation: &ConversationSid,
    ) -> broadcast::Receiver<Arc<ConversationEvent>>;
}
