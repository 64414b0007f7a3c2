//! The simulator provider: a messaging provider inside the server, for demos and tests with no
//! phone. Outbound messages for messaging participants land in the simulated phone of their
//! recipient (and are streamed to whoever watches it); the simulator then reports them `sent`
//! and, a moment later, `delivered`, as a carrier would. Inbound messages typed into a
//! simulated phone take the same path as a provider's inbound webhook.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use dashmap::DashMap;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::api::AppState;
use crate::ids::{AccountSid, random_hex32};
use crate::store::delivery::ReceiptStatus;
use crate::store::outbox::ChannelSendJob;

/// Messages a simulated phone keeps.
const HISTORY: usize = 200;

/// One message on a simulated phone.
#[derive(Debug, Clone, Serialize)]
pub struct SimMessage {
    /// Provider message id (`SM…`).
    pub sid: String,
    /// `inbound` (customer → us) or `outbound` (us → customer).
    pub direction: &'static str,
    /// Sender address.
    pub from: String,
    /// Recipient address.
    pub to: String,
    /// Text.
    pub body: Option<String>,
    /// Links to attachments.
    pub media_urls: Vec<String>,
    /// Milliseconds since the epoch.
    pub date_ms: i64,
}

/// A phone: the account whose number it texts, and its customer address.
type PhoneKey = (AccountSid, String);

/// Messages a phone's live feed holds for a watcher that has not read them yet; one further
/// behind is told it lagged (and reloads the history).
const FEED: usize = 256;

/// The simulated phones (by account and customer address) and the live feeds of those being
/// watched. Each watched phone has its own feed, so a message wakes only its own phone's
/// watchers, however many phones are open.
#[derive(Default)]
pub struct Simulator {
    phones: DashMap<PhoneKey, VecDeque<SimMessage>>,
    feeds: Arc<DashMap<PhoneKey, broadcast::Sender<Arc<SimMessage>>>>,
}

/// A subscription to one phone's new messages; the phone's feed goes away with its last one.
pub struct PhoneFeed {
    rx: broadcast::Receiver<Arc<SimMessage>>,
    key: PhoneKey,
    feeds: Arc<DashMap<PhoneKey, broadcast::Sender<Arc<SimMessage>>>>,
}

impl PhoneFeed {
    /// The phone's next new message (or how many were missed, or that the feed closed).
    pub async fn recv(&mut self) -> Result<Arc<SimMessage>, broadcast::error::RecvError> {
        self.rx.recv().await
    }
}

impl Drop for PhoneFeed {
    fn drop(&mut self) {
        // Under the shard's lock, as `subscribe` is: a new watcher either finds the feed still
        // there or makes a new one. `self.rx` still counts here, hence `<= 1`.
        self.feeds
            .remove_if(&self.key, |_, tx| tx.receiver_count() <= 1);
    }
}

impl Simulator {
    /// Keeps `msg` on the account's phone of `customer` and streams it to the phone's watchers.
    pub fn record(&self, account: &AccountSid, customer: &str, msg: SimMessage) {
        let key = (account.clone(), customer.to_owned());
        {
            // The guard is dropped before streaming: a slow subscriber never holds the shard.
            let mut phone = self.phones.entry(key.clone()).or_default();
            phone.push_back(msg.clone());
            while phone.len() > HISTORY {
                phone.pop_front();
            }
        }
        let feed = self.feeds.get(&key).map(|tx| tx.clone());
        if let Some(feed) = feed {
            // Its last watcher may have gone since: nobody to tell is not an error.
            let _ = feed.send(Arc::new(msg));
        }
    }

    /// The messages of the account's phone of `customer`, oldest first.
    pub fn history(&self, account: &AccountSid, customer: &str) -> Vec<SimMessage> {
        self.phones
            .get(&(account.clone(), customer.to_owned()))
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every message recorded from now on on the account's phone of `customer`.
    pub fn subscribe(&self, account: &AccountSid, customer: &str) -> PhoneFeed {
        let key = (account.clone(), customer.to_owned());
        let rx = self
            .feeds
            .entry(key.clone())
            .or_insert_with(|| broadcast::channel(FEED).0)
            .subscribe();
        PhoneFeed {
            rx,
            key,
            feeds: self.feeds.clone(),
        }
    }

    /// A fresh provider message id.
    pub fn message_sid() -> String {
        format!("SM{}", random_hex32())
    }

    /// Takes an outbound message: it appears on the recipient's phone at once, and is
    /// reported delivered shortly after. Returns its provider id.
    pub fn deliver(
        &self,
        state: &web::Data<AppState>,
        account: &AccountSid,
        job: &ChannelSendJob,
        media_urls: Vec<String>,
    ) -> String {
        let sid = Self::message_sid();
        self.record(
            account,
            &job.to,
            SimMessage {
                sid: sid.clone(),
                direction: "outbound",
                from: job.from.clone(),
                to: job.to.clone(),
                body: job.body.clone(),
                media_urls,
                date_ms: crate::routing::model::now_ms(),
            },
        );
        let (state, account, job, provider) =
            (state.clone(), account.clone(), job.clone(), sid.clone());
        // On the local set (the dispatcher's attempts run there): recording the receipt may
        // start the conversation's actor.
        actix_web::rt::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            super::outbound::record(
                &state,
                &account,
                &job,
                ReceiptStatus::Delivered,
                Some(provider),
                None,
            )
            .await;
        });
        sid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> AccountSid {
        format!("AC{}", format!("{n:x}").repeat(32))
            .parse()
            .expect("account sid")
    }

    fn message(direction: &'static str, body: &str) -> SimMessage {
        SimMessage {
            sid: Simulator::message_sid(),
            direction,
            from: "+15557654321".into(),
            to: "+15550001111".into(),
            body: Some(body.into()),
            media_urls: Vec::new(),
            date_ms: 0,
        }
    }

    #[test]
    fn phones_belong_to_their_account() {
        let sim = Simulator::default();
        let (a, b) = (account(1), account(2));
        sim.record(&a, "+15557654321", message("inbound", "hello"));
        sim.record(&a, "+15557654321", message("outbound", "hi there"));
        sim.record(&b, "+15557654321", message("inbound", "other account"));
        let bodies = |acc: &AccountSid| -> Vec<String> {
            sim.history(acc, "+15557654321")
                .into_iter()
                .filter_map(|m| m.body)
                .collect()
        };
        assert_eq!(bodies(&a), ["hello", "hi there"]);
        assert_eq!(bodies(&b), ["other account"]);
        assert!(sim.history(&a, "+15550000000").is_empty());
    }

    #[test]
    fn a_phone_keeps_its_latest_messages() {
        let sim = Simulator::default();
        let a = account(1);
        for i in 0..HISTORY + 5 {
            sim.record(&a, "+15557654321", message("inbound", &i.to_string()));
        }
        let kept = sim.history(&a, "+15557654321");
        assert_eq!(kept.len(), HISTORY);
        assert_eq!(kept[0].body.as_deref(), Some("5"));
    }

    #[tokio::test]
    async fn a_phone_feed_carries_only_its_own_phone() {
        let sim = Simulator::default();
        let (a, b) = (account(3), account(4));
        let mut feed = sim.subscribe(&a, "whatsapp:+15557654321");
        sim.record(
            &b,
            "whatsapp:+15557654321",
            message("inbound", "other account"),
        );
        sim.record(&a, "+15550000000", message("inbound", "other phone"));
        sim.record(&a, "whatsapp:+15557654321", message("outbound", "hey"));
        let got = feed.recv().await.expect("recorded message streamed");
        assert_eq!(got.body.as_deref(), Some("hey"));
        assert!(
            feed.rx.is_empty(),
            "nothing of other phones: {:?}",
            feed.rx.len()
        );
    }

    #[test]
    fn a_feed_goes_away_with_its_last_watcher() {
        let sim = Simulator::default();
        let a = account(5);
        let first = sim.subscribe(&a, "+15557654321");
        let second = sim.subscribe(&a, "+15557654321");
        assert_eq!(sim.feeds.len(), 1, "watchers of one phone share its feed");
        drop(first);
        assert_eq!(sim.feeds.len(), 1, "kept while a watcher is left");
        drop(second);
        assert!(sim.feeds.is_empty());
        // Nobody watching: recorded all the same.
        sim.record(&a, "+15557654321", message("inbound", "hello"));
        assert_eq!(sim.history(&a, "+15557654321").len(), 1);
    }
}
