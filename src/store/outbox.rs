//! The outbox: deliveries to the outside world (webhook posts, messages handed to a channel
//! provider) written in the same atomic unit as the change that caused them, so a committed
//! change never loses its deliveries, even if the process dies before sending them. The
//! dispatcher (`crate::outbox`) sends due jobs, reschedules failures with backoff, and parks a
//! job that keeps failing as a dead letter that can be listed and replayed.

use serde::{Deserialize, Serialize};

use super::records::Timestamp;
use crate::ids::{AccountSid, ConversationSid, MessageSid, ParticipantSid, ServiceSid};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// One delivery job and where it is in its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    /// Unique id (`WD` + 32 hex); also the `I-Twilio-Idempotency-Token` of webhook posts, so it
    /// stays the same across retries.
    pub id: String,
    /// Whose delivery (signing key, dead-letter listing).
    pub account_sid: AccountSid,
    /// Jobs with the same lane run one at a time, in order (a conversation's channel sends).
    pub lane: Option<String>,
    /// What to deliver.
    pub job: OutboxJob,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_ms: Millis,
    /// Gave up: kept as a dead letter until replayed or deleted.
    pub dead: bool,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the job was created.
    pub date_created: Timestamp,
    /// When it last changed.
    pub date_updated: Timestamp,
}

/// What a job delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxJob {
    /// A signed form request to a webhook URL.
    Webhook(WebhookJob),
    /// A conversation message handed to the messaging provider for one recipient.
    ChannelSend(ChannelSendJob),
}

/// A webhook request (post-event, TaskRouter event callback).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookJob {
    /// Target URL as configured (signed as given, fragment removed).
    pub url: String,
    /// `GET` or `POST`.
    pub method: String,
    /// Form parameters, in order.
    pub params: Vec<(String, String)>,
    /// Event name, for logs and the dead-letter list.
    pub event: String,
}

/// An outbound message to one messaging participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSendJob {
    /// The conversation's service.
    pub service_sid: ServiceSid,
    /// The conversation.
    pub conversation_sid: ConversationSid,
    /// The message.
    pub message_sid: MessageSid,
    /// The recipient participant.
    pub participant_sid: ParticipantSid,
    /// Our address (the participant's proxy address).
    pub from: String,
    /// The participant's address.
    pub to: String,
    /// Text.
    pub body: Option<String>,
    /// Attachments (`ME…`), sent as `MediaUrl`s.
    pub media: Vec<String>,
}

impl OutboxRecord {
    /// A new job due now.
    pub fn new(account: AccountSid, lane: Option<String>, job: OutboxJob, now_ms: Millis) -> Self {
        OutboxRecord {
            id: format!("WD{}", crate::ids::random_hex32()),
            account_sid: account,
            lane,
            job,
            attempts: 0,
            next_attempt_ms: now_ms,
            dead: false,
            last_error: None,
            date_created: now_ms / 1000,
            date_updated: now_ms / 1000,
        }
    }

    /// A short name of what it delivers (`onMessageAdded`, `channel_send`, …).
    pub fn label(&self) -> &str {
        match &self.job {
            OutboxJob::Webhook(w) => &w.event,
            OutboxJob::ChannelSend(_) => "channel_send",
        }
    }
}
