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

/// A message just kept on a phone, as the live feed carries it.
#[derive(Debug, Clone)]
pub struct MessageRecorded {
    /// The account whose number it was sent to or from.
    pub account: AccountSid,
    /// The customer address of the phone.
    pub phone: String,
    /// The message.
    pub message: SimMessage,
}

/// The simulated phones (by account and customer address) and a live feed of their messages.
pub struct Simulator {
    phones: DashMap<(AccountSid, String), VecDeque<SimMessage>>,
    feed: broadcast::Sender<Arc<MessageRecorded>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator {
            phones: DashMap::new(),
            feed: broadcast::channel(1024).0,
        }
    }
}

impl Simulator {
    /// Keeps `msg` on the account's phone of `customer` and streams it.
    pub fn record(&self, account: &AccountSid, customer: &str, msg: SimMessage) {
        {
            // The guard is dropped before streaming: a slow subscriber never holds the shard.
            let mut phone = self
                .phones
                .entry((account.clone(), customer.to_owned()))
                .or_default();
            phone.push_back(msg.clone());
            while phone.len() > HISTORY {
                phone.pop_front();
            }
        }
        // No subscriber is not an error: nobody is watching that phone.
        let _ = self.feed.send(Arc::new(MessageRecorded {
            account: account.clone(),
            phone: customer.to_owned(),
            message: msg,
        }));
    }

    /// The messages of the account's phone of `customer`, oldest first.
    pub fn history(&self, account: &AccountSid, customer: &str) -> Vec<SimMessage> {
        self.phones
            .get(&(account.clone(), customer.to_owned()))
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every message recorded from now on, on every phone (subscribers filter).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<MessageRecorded>> {
        self.feed.subscribe()
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

    #[test]
    fn the_feed_names_account_and_phone() {
        let sim = Simulator::default();
        let mut feed = sim.subscribe();
        let a = account(3);
        sim.record(&a, "whatsapp:+15557654321", message("outbound", "hey"));
        let got = feed.try_recv().expect("recorded message streamed");
        assert_eq!(got.account, a);
        assert_eq!(got.phone, "whatsapp:+15557654321");
        assert_eq!(got.message.body.as_deref(), Some("hey"));
    }
}
