//! A session's conversation feed. actix polls every stream an actor owns each time the actor
//! wakes, so a session with a stream per conversation polled all of its bus receivers for every
//! event on any one of them: a supervisor monitoring 100 conversations did 100 polls per event
//! (measured: 12 % of the server's CPU at 2,000 conversations). Here each subscription is a
//! small task on the session's thread that forwards its bus receiver into one bounded channel
//! per session, and the session reads only that channel: an event wakes its own forwarder and
//! the session, nothing else.
//!
//! Order per conversation is the bus's: one forwarder per subscription, and the channel is
//! FIFO. A session that falls behind fills its channel; its forwarders then stop reading, their
//! bus receivers lag, and the session hears `Err(skipped)` as before. Each subscription has a
//! generation, so what a cancelled subscription had already queued is dropped if the
//! conversation is subscribed again.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::cluster::{BusEvent, Subscription};
use crate::ids::ConversationSid;

/// Deliveries queued per session before its forwarders wait.
const CAPACITY: usize = 256;

/// One item of a subscription: an event, or `Err(skipped)` when its bus receiver lagged.
pub(super) struct Delivery {
    pub(super) conversation: ConversationSid,
    pub(super) generation: u64,
    pub(super) item: Result<Arc<BusEvent>, u64>,
}

/// The sending side of a session's feed.
pub(super) struct Feed {
    tx: mpsc::Sender<Delivery>,
    next_generation: u64,
}

/// A running forwarder; dropping it stops the forwarding.
pub(super) struct Forwarder {
    pub(super) generation: u64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    /// A feed and the receiver the session reads.
    pub(super) fn new() -> (Feed, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let feed = Feed {
            tx,
            next_generation: 0,
        };
        (feed, rx)
    }

    /// Forwards `rx`, the bus receiver of `conversation`, into the feed until the returned
    /// forwarder is dropped, the topic closes or the receiver lags (the lag is the last item).
    /// Must run on the session's arbiter.
    pub(super) fn forward(&mut self, conversation: ConversationSid, rx: Subscription) -> Forwarder {
        let generation = self.next_generation;
        self.next_generation += 1;
        let tx = self.tx.clone();
        let task = actix::spawn(async move {
            let mut items = std::pin::pin!(bus_stream(rx));
            while let Some(item) = items.next().await {
                let last = item.is_err();
                let delivery = Delivery {
                    conversation: conversation.clone(),
                    generation,
                    item,
                };
                if tx.send(delivery).await.is_err() || last {
                    return;
                }
            }
        });
        Forwarder { generation, task }
    }
}

/// Bus receiver → stream of `Ok(event)`, or `Err(skipped)` when the receiver lagged; ends when
/// the topic closes.
pub(super) fn bus_stream(
    rx: Subscription,
) -> impl futures_util::Stream<Item = Result<Arc<BusEvent>, u64>> + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(event) => Some((Ok(event), rx)),
            Err(RecvError::Lagged(n)) => Some((Err(n), rx)),
            Err(RecvError::Closed) => None,
        }
    })
}

/// The session's side as a stream.
pub(super) fn stream(
    rx: mpsc::Receiver<Delivery>,
) -> impl futures_util::Stream<Item = Delivery> + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|d| (d, rx)) })
}
