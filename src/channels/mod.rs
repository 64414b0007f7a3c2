//! Messaging channels (SMS, WhatsApp, Messenger) through a provider: inbound messages find or
//! auto-create their conversation ([`inbound`]); messages for messaging participants leave
//! through the outbox to the provider ([`outbound`]); the provider's status callbacks become
//! delivery receipts ([`status`]). [`twilio`] speaks Twilio's Messaging webhook and API format;
//! [`simulator`] is a provider in the server itself, for demos and tests with no phone.

pub mod inbound;
pub mod outbound;
pub mod simulator;
pub mod status;
pub mod twilio;
pub mod webchat;

use std::sync::{Arc, OnceLock};

use dashmap::DashMap;

/// Channel state shared by requests.
#[derive(Default)]
pub struct Channels {
    /// One lock per (account, address, proxy address) pair: inbound messages of a pair are
    /// taken one at a time, so a burst of first messages creates exactly one conversation.
    pub pair_locks: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// The simulated phones.
    pub simulator: simulator::Simulator,
    /// Our own base URL (for status callbacks), set once the listener is bound.
    pub origin: OnceLock<String>,
}

impl Channels {
    /// The lock of an address pair.
    pub fn pair_lock(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        self.pair_locks.entry(key).or_default().clone()
    }
}

/// Twilio's webhook `Source` for a channel.
pub fn source_name(channel: &str) -> &'static str {
    match channel {
        "whatsapp" => "WHATSAPP",
        "messenger" => "MESSENGER",
        _ => "SMS",
    }
}
