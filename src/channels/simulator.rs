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

/// The simulated phones (by customer address) and a live feed of their messages.
pub struct Simulator {
    phones: DashMap<String, VecDeque<SimMessage>>,
    feed: broadcast::Sender<Arc<SimMessage>>,
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
    /// Keeps `msg` on the customer's phone and streams it.
    pub fn record(&self, customer: &str, msg: SimMessage) {
        let mut phone = self.phones.entry(customer.to_owned()).or_default();
        phone.push_back(msg.clone());
        while phone.len() > HISTORY {
            phone.pop_front();
        }
        let _ = self.feed.send(Arc::new(msg));
    }

    /// A phone's messages, oldest first.
    pub fn history(&self, customer: &str) -> Vec<SimMessage> {
        self.phones
            .get(customer)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every message from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<SimMessage>> {
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
