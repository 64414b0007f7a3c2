//! One-node event bus: a bounded broadcast channel per topic with subscribers. Topics nobody
//! listens to are dropped at the next publish.

use std::hash::Hash;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::broadcast;

use bytestring::ByteString;

use super::{BusEvent, EventBus, FrameSubscription, Subscription};
use crate::ids::{ConversationSid, ServiceSid};

/// Events buffered per conversation for a subscriber before it lags (and is told to resume).
/// A broadcast channel allocates all its slots up front, so this is memory per live topic:
/// 128 slots are ~5 KiB, and 4 s of a conversation at the default 30 writes/s.
const CONVERSATION_CAPACITY: usize = 128;
/// Identity topics carry only joins and leaves: a handful of slots is plenty.
const IDENTITY_CAPACITY: usize = 16;

/// Frames buffered per routing topic (a worker's offers, a workspace's statistics).
const FRAME_CAPACITY: usize = 64;

/// In-process [`EventBus`].
#[derive(Default)]
pub struct LocalBus {
    conversations: DashMap<ConversationSid, broadcast::Sender<Arc<BusEvent>>>,
    identities: DashMap<(ServiceSid, String), broadcast::Sender<Arc<BusEvent>>>,
    frames: DashMap<String, broadcast::Sender<ByteString>>,
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
    capacity: usize,
) -> Subscription {
    topics
        .entry(key)
        .or_insert_with(|| broadcast::channel(capacity).0)
        .subscribe()
}

impl LocalBus {
    /// Forgets topics nobody listens to any more (their slots are allocated memory); returns
    /// how many were dropped. Run periodically: sessions that go away leave their topics.
    pub fn sweep(&self) -> usize {
        let before = self.conversations.len() + self.identities.len() + self.frames.len();
        self.conversations.retain(|_, tx| tx.receiver_count() > 0);
        self.identities.retain(|_, tx| tx.receiver_count() > 0);
        self.frames.retain(|_, tx| tx.receiver_count() > 0);
        before - (self.conversations.len() + self.identities.len() + self.frames.len())
    }
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
        subscribe(
            &self.conversations,
            conversation.clone(),
            CONVERSATION_CAPACITY,
        )
    }

    fn subscribe_identity(&self, service: &ServiceSid, identity: &str) -> Subscription {
        subscribe(
            &self.identities,
            (service.clone(), identity.to_owned()),
            IDENTITY_CAPACITY,
        )
    }

    fn publish_frame(&self, topic: &str, frame: ByteString) {
        let unheard = self
            .frames
            .get(topic)
            .is_some_and(|tx| tx.send(frame).is_err());
        if unheard {
            self.frames
                .remove_if(topic, |_, tx| tx.receiver_count() == 0);
        }
    }

    fn has_frame_subscribers(&self, topic: &str) -> bool {
        self.frames
            .get(topic)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }

    fn subscribe_frames(&self, topic: &str) -> FrameSubscription {
        self.frames
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(FRAME_CAPACITY).0)
            .subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::conversations::events::ConversationEvent;
    use crate::store::records::ParticipantRecord;

    fn participant(identity: &str) -> ParticipantRecord {
        ParticipantRecord {
            sid: crate::ids::ParticipantSid::generate(),
            account_sid: crate::ids::AccountSid::generate(),
            service_sid: "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("IS"),
            conversation_sid: "CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("CH"),
            identity: Some(identity.into()),
            attributes: "{}".into(),
            messaging_binding: None,
            role_sid: None,
            last_read_message_index: None,
            last_read_timestamp: None,
            notification_level: None,
            date_created: 0,
            date_updated: 0,
        }
    }

    #[tokio::test]
    async fn events_reach_conversation_and_identity_topics_and_encode_once() {
        let bus = LocalBus::default();
        let added = participant("alice");
        let mut conversation = bus.subscribe(&added.conversation_sid);
        let mut alice = bus.subscribe_identity(&added.service_sid, "alice");
        let mut bob = bus.subscribe_identity(&added.service_sid, "bob");
        bus.publish(Arc::new(BusEvent::new(
            ConversationEvent::ParticipantAdded(added.clone()),
        )));
        bus.publish(Arc::new(BusEvent::new(ConversationEvent::Typing(added))));
        let first = conversation.recv().await.expect("conversation topic");
        let via_identity = alice.recv().await.expect("identity topic");
        assert!(Arc::ptr_eq(&first, &via_identity), "one event, shared");
        assert!(matches!(
            conversation.recv().await.expect("typing").event,
            ConversationEvent::Typing(_)
        ));
        assert!(
            alice.try_recv().is_err(),
            "typing is not a participation change"
        );
        assert!(bob.try_recv().is_err(), "other identities hear nothing");
        // Every subscriber shares one serialisation.
        let encodes = AtomicUsize::new(0);
        let encode = |_: &ConversationEvent| {
            encodes.fetch_add(1, Ordering::SeqCst);
            bytestring::ByteString::from_static("frame")
        };
        assert_eq!(first.frame(encode), via_identity.frame(encode));
        assert_eq!(encodes.load(Ordering::SeqCst), 1);
        drop((conversation, alice, bob, first, via_identity));
        assert_eq!(bus.sweep(), 3, "unheard topics are forgotten");
    }
}
