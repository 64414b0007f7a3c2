//! Validated inputs to conversation commands, produced by the API (and later the gateway) after
//! parsing and checking every field. Inner code trusts them.
//!
//! `Option<Option<T>>` fields mean: `None` leave unchanged, `Some(None)` clear, `Some(Some)` set.

use crate::ids::{AccountSid, MessagingServiceSid, RoleSid, ServiceSid};
use crate::store::records::{ConversationState, MediaRef, MessagingBinding, Timestamp};

/// Which account and service a caller acts in; anything outside it is "not found".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The authenticated account.
    pub account: AccountSid,
    /// The service of the path (or the account's default service).
    pub service: ServiceSid,
    /// Set when acting as a chat identity (a WebSocket session): the identity must be a
    /// participant, and may edit or delete only its own messages. `None` for REST callers.
    pub identity: Option<String>,
    /// Where the action comes from: decides whether it fires webhooks.
    pub source: Source,
}

impl Scope {
    /// A scope for the server's own actions in `account`/`service` (no identity, no webhooks).
    pub fn internal(account: AccountSid, service: ServiceSid) -> Scope {
        Scope {
            account,
            service,
            identity: None,
            source: Source::Api { webhooks: false },
        }
    }
}

/// Where an action comes from (Twilio's webhook `Source`). Twilio's echo rule: actions of chat
/// clients and of SMS/WhatsApp participants fire webhooks; REST actions only when the request
/// carried `X-Twilio-Webhook-Enabled: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A REST call; `webhooks` when it opted in.
    Api {
        /// `X-Twilio-Webhook-Enabled: true`.
        webhooks: bool,
    },
    /// A chat client over the WebSocket gateway.
    Sdk,
    /// A messaging participant through a provider: `SMS`, `WHATSAPP` or `MESSENGER`.
    Channel(&'static str),
    /// The server on its own behalf (state timers).
    System,
}

impl Source {
    /// Whether the action fires webhooks.
    pub fn fires_webhooks(self) -> bool {
        match self {
            Source::Api { webhooks } => webhooks,
            Source::Sdk | Source::Channel(_) | Source::System => true,
        }
    }

    /// Twilio's `Source` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api { .. } | Source::System => "API",
            Source::Sdk => "SDK",
            Source::Channel(kind) => kind,
        }
    }
}

/// A state timer as given (`PT5M`) and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerSpec {
    /// ISO-8601 text.
    pub text: String,
    /// Length in seconds.
    pub secs: i64,
}

/// Fields of a new conversation.
#[derive(Debug, Clone, Default)]
pub struct ConversationDraft {
    /// Display name.
    pub friendly_name: Option<String>,
    /// Alternate key.
    pub unique_name: Option<String>,
    /// JSON text (validated).
    pub attributes: Option<String>,
    /// Initial state (never `closed`).
    pub state: Option<ConversationState>,
    /// Inactivity timer.
    pub timers_inactive: Option<TimerSpec>,
    /// Close timer.
    pub timers_closed: Option<TimerSpec>,
    /// Stored as given.
    pub messaging_service_sid: Option<MessagingServiceSid>,
    /// Backdated creation time.
    pub date_created: Option<Timestamp>,
    /// Backdated update time.
    pub date_updated: Option<Timestamp>,
    /// `bindings` JSON (email).
    pub bindings: Option<serde_json::Value>,
}

/// Changes to a conversation.
#[derive(Debug, Clone, Default)]
pub struct ConversationChanges {
    /// Display name.
    pub friendly_name: Option<Option<String>>,
    /// Alternate key.
    pub unique_name: Option<Option<String>>,
    /// JSON text.
    pub attributes: Option<String>,
    /// New state.
    pub state: Option<ConversationState>,
    /// Inactivity timer.
    pub timers_inactive: Option<TimerSpec>,
    /// Close timer.
    pub timers_closed: Option<TimerSpec>,
    /// Stored as given.
    pub messaging_service_sid: Option<MessagingServiceSid>,
    /// Backdated creation time.
    pub date_created: Option<Timestamp>,
    /// Explicit update time.
    pub date_updated: Option<Timestamp>,
    /// `bindings` JSON.
    pub bindings: Option<serde_json::Value>,
}

/// Fields of a new participant.
#[derive(Debug, Clone, Default)]
pub struct ParticipantDraft {
    /// Chat identity (exclusive with `binding`).
    pub identity: Option<String>,
    /// Messaging binding (exclusive with `identity`, unless projected).
    pub binding: Option<MessagingBinding>,
    /// JSON text.
    pub attributes: Option<String>,
    /// Role; the service default when absent.
    pub role_sid: Option<RoleSid>,
    /// Backdated creation time.
    pub date_created: Option<Timestamp>,
    /// Backdated update time.
    pub date_updated: Option<Timestamp>,
}

/// Changes to a participant.
#[derive(Debug, Clone, Default)]
pub struct ParticipantChanges {
    /// New identity (only for participants without one).
    pub identity: Option<String>,
    /// JSON text.
    pub attributes: Option<String>,
    /// Role.
    pub role_sid: Option<RoleSid>,
    /// New proxy address.
    pub proxy_address: Option<String>,
    /// New projected address.
    pub projected_address: Option<String>,
    /// Read horizon.
    pub last_read_message_index: Option<Option<u64>>,
    /// When the horizon moved (ISO text).
    pub last_read_timestamp: Option<Option<String>>,
    /// `default` or `muted`.
    pub notification_level: Option<String>,
    /// Backdated creation time.
    pub date_created: Option<Timestamp>,
    /// Explicit update time.
    pub date_updated: Option<Timestamp>,
}

/// Fields of a new message.
#[derive(Debug, Clone, Default)]
pub struct MessageDraft {
    /// Author; `system` when absent.
    pub author: Option<String>,
    /// Text (≤ 1600 characters, checked).
    pub body: Option<String>,
    /// Subject (≤ 256 characters, checked).
    pub subject: Option<String>,
    /// JSON text.
    pub attributes: Option<String>,
    /// Content template, stored as given.
    pub content_sid: Option<String>,
    /// Sender's idempotency key, already namespaced by the sender; a retry with the same key
    /// answers with the first message.
    pub client_message_id: Option<String>,
    /// Attachments (already uploaded, checked to exist).
    pub media: Option<Vec<MediaRef>>,
    /// Backdated creation time.
    pub date_created: Option<Timestamp>,
    /// Backdated update time.
    pub date_updated: Option<Timestamp>,
}

/// Changes to a message.
#[derive(Debug, Clone, Default)]
pub struct MessageChanges {
    /// Author.
    pub author: Option<String>,
    /// Text.
    pub body: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// JSON text.
    pub attributes: Option<String>,
    /// Backdated creation time.
    pub date_created: Option<Timestamp>,
    /// Explicit update time.
    pub date_updated: Option<Timestamp>,
}
