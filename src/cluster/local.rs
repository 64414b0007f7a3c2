//! One-node event bus: a bounded broadcast channel per topic with subscribers. Topics nobody
//! listens to are dropped at the next publish.

use std::hash::Hash;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::broadcast;

use super::{BusEvent, EventBus, Subscription};
use crate::ids::{ConversationSid, ServiceSid};

/// Events buffered per topic for a slow subscriber before it lags.
const CAPACITY: usize = 1024;

/// In-process [`EventBus`].
#[derive(Default)]
pub struct LocalBus {
    conversations: DashMap<ConversationSid, broadcast::Sender<Arc<BusEvent>>>,
    identities: DashMap<(ServiceSid, String), broadcast::Sender<Arc<BusEvent>>>,
}

fn send<K: Eq + Hash + Clone>(
    topics: &DashMap<K, broadcast::Sender<Arc<BusEvent>>>,
    key: &K,
    event: Arc<BusEvent>,
) {
    let mut unheard = false;
    if let Some(tx) = topics.get(key) {
        unheard = tx.send(event).is_err();
    }
    if unheard {
        // No subscriber left: forget the topic unless someone subscribed meanwhile.
        topics.remove_if(key, |_, tx| tx.receiver_count() == 0);
    }
}

fn subscribe<K: Eq + Hash>(
    topics: &DashMap<K, broadcast::Sender<Arc<BusEvent>>>,
    key: K,
) -> Subscription {
    topics
        .entry(key)
        .or_insert_with(|| broadcast::channel(CAPACITY).0)
        .subscribe()
}

impl EventBus for LocalBus {
    fn publish(&self, event: Arc<BusEvent>) {
        if let Some(identity) = event.event.participation_of() {
            let key = (event.event.service_sid().clone(), identity.to_owned());
            send(&self.identities, &key, event.clone());
        }
        let sid = event.event.conversation_sid().clone();
        send(&self.conversations, &sid, event);
    }

    fn subscribe(&self, conversation: &ConversationSid) -> Subscription {
        subscribe(&self.conversations, conversation.clone())
    }

    fn subscribe_identity(&self, service: &ServiceSid, identity: &str) -> Subscription {
        subscribe(&self.identities, (service.clone(), identity.to_owned()))
    }
}
