//! One-node event bus: a bounded broadcast channel per conversation with subscribers.

use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::broadcast;

use super::EventBus;
use crate::conversations::events::ConversationEvent;
use crate::ids::ConversationSid;

/// Events buffered per conversation for a slow subscriber before it lags.
const CAPACITY: usize = 1024;

/// In-process [`EventBus`].
#[derive(Default)]
pub struct LocalBus {
    topics: DashMap<ConversationSid, broadcast::Sender<Arc<ConversationEvent>>>,
}

impl EventBus for LocalBus {
    fn publish(&self, event: Arc<ConversationEvent>) {
        let sid = event.conversation_sid().clone();
        let mut drop_topic = false;
        if let Some(tx) = self.topics.get(&sid) {
            drop_topic = tx.send(event).is_err();
        }
        if drop_topic {
            // No subscriber left: forget the topic unless someone subscribed meanwhile.
            self.topics
                .remove_if(&sid, |_, tx| tx.receiver_count() == 0);
        }
    }

    fn subscribe(
        &self,
        conversation: &ConversationSid,
    ) -> broadcast::Receiver<Arc<ConversationEvent>> {
        self.topics
            .entry(conversation.clone())
            .or_insert_with(|| broadcast::channel(CAPACITY).0)
            .subscribe()
    }
}
