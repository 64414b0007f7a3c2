//! The persisted shapes of every aggregate. These are plain data: the API renders them to
//! Twilio's wire format, the conversation logic changes them, the store keeps them. Times are
//! Unix seconds (Twilio's wire format has second resolution).

use serde::{Deserialize, Serialize};

use crate::ids::{
    AccountSid, ConversationSid, MediaSid, MessageSid, MessagingServiceSid, ParticipantSid,
    RoleSid, ServiceSid, UserSid,
};

/// Unix time in seconds.
pub type Timestamp = i64;

/// An account: the tenant every other resource belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// `AC…`
    pub sid: AccountSid,
    /// Display name.
    pub friendly_name: String,
    /// Secret for HTTP Basic auth and webhook signatures.
    pub auth_token: String,
    /// The account that created this one (subaccounts), or itself.
    pub owner_account_sid: AccountSid,
    /// `active`, `suspended` or `closed`.
    pub status: String,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// An API key: its secret signs access tokens (HS256) and authenticates REST calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// `SK…`
    pub sid: crate::ids::KeySid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Display name.
    pub friendly_name: String,
    /// The secret, shown to the client only when the key is created.
    pub secret: String,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// The account-wide Conversations configuration (`/v1/Configuration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountConfigRecord {
    /// Owner.
    pub account_sid: AccountSid,
    /// The service unscoped paths use.
    pub default_chat_service_sid: ServiceSid,
    /// Stored as given; messaging services are not hosted here.
    pub default_messaging_service_sid: Option<MessagingServiceSid>,
    /// ISO-8601 duration applied to new conversations' `Timers.Inactive`.
    pub default_inactive_timer: Option<String>,
    /// ISO-8601 duration applied to new conversations' `Timers.Closed`.
    pub default_closed_timer: Option<String>,
}

/// A conversation service (`IS…`): a namespace of conversations, users and roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// `IS…`
    pub sid: ServiceSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Display name.
    pub friendly_name: String,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// Per-service configuration (`/v1/Services/{IS}/Configuration`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceConfigRecord {
    /// The service.
    pub service_sid: ServiceSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Role given to a conversation's creator.
    pub default_conversation_creator_role_sid: RoleSid,
    /// Role given to participants.
    pub default_conversation_role_sid: RoleSid,
    /// Role given to users.
    pub default_chat_service_role_sid: RoleSid,
    /// Whether reachability indicators are on.
    pub reachability_enabled: bool,
}

/// A role (`RL…`): a named set of permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// `RL…`
    pub sid: RoleSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// The service it belongs to.
    pub service_sid: ServiceSid,
    /// Display name.
    pub friendly_name: String,
    /// `conversation` or `service`.
    pub role_type: String,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// A conversations user (`US…`), keyed by identity within a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// `US…`
    pub sid: UserSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// The service it belongs to.
    pub service_sid: ServiceSid,
    /// Its role.
    pub role_sid: RoleSid,
    /// Unique within the service.
    pub identity: String,
    /// Display name.
    pub friendly_name: Option<String>,
    /// JSON text.
    pub attributes: String,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// Lifecycle state of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationState {
    /// Created but not yet set up (ConversationWithParticipants in progress).
    Initializing,
    /// In use.
    Active,
    /// No activity for `Timers.Inactive`; a new message makes it active again.
    Inactive,
    /// Final: no more changes; address bindings released.
    Closed,
}

impl ConversationState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Initializing => "initializing",
            ConversationState::Active => "active",
            ConversationState::Inactive => "inactive",
            ConversationState::Closed => "closed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "initializing" => Some(ConversationState::Initializing),
            "active" => Some(ConversationState::Active),
            "inactive" => Some(ConversationState::Inactive),
            "closed" => Some(ConversationState::Closed),
            _ => None,
        }
    }
}

/// A conversation's state timers: the configured durations and when they next fire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timers {
    /// `Timers.Inactive` as given (ISO-8601 duration).
    pub inactive: Option<String>,
    /// `Timers.Closed` as given (ISO-8601 duration).
    pub closed: Option<String>,
    /// When the conversation becomes inactive, if still active.
    pub date_inactive: Option<Timestamp>,
    /// When the conversation closes.
    pub date_closed: Option<Timestamp>,
}

impl Timers {
    /// The earliest pending deadline, if any.
    pub fn next_due(&self) -> Option<Timestamp> {
        match (self.date_inactive, self.date_closed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A conversation (`CH…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// `CH…`
    pub sid: ConversationSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Its service.
    pub service_sid: ServiceSid,
    /// Stored as given.
    pub messaging_service_sid: Option<MessagingServiceSid>,
    /// Display name.
    pub friendly_name: Option<String>,
    /// Alternate key, unique within the service.
    pub unique_name: Option<String>,
    /// JSON text.
    pub attributes: String,
    /// Lifecycle state.
    pub state: ConversationState,
    /// State timers.
    pub timers: Timers,
    /// Email bindings and the like, as JSON (`{}` when unset).
    pub bindings: serde_json::Value,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// How a non-chat participant is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingBinding {
    /// `sms`, `whatsapp` or `messenger` (from the address prefix).
    #[serde(rename = "type")]
    pub kind: String,
    /// The participant's own address (`+1555…`, `whatsapp:+1555…`).
    pub address: Option<String>,
    /// Our address they write to.
    pub proxy_address: Option<String>,
    /// Group MMS projected address.
    pub projected_address: Option<String>,
}

/// A conversation participant (`MB…`): chat (identity) or messaging (binding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    /// `MB…`
    pub sid: ParticipantSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// The conversation's service.
    pub service_sid: ServiceSid,
    /// The conversation.
    pub conversation_sid: ConversationSid,
    /// Chat identity (null for messaging participants).
    pub identity: Option<String>,
    /// JSON text.
    pub attributes: String,
    /// Messaging binding (null for chat participants).
    pub messaging_binding: Option<MessagingBinding>,
    /// Its role.
    pub role_sid: Option<RoleSid>,
    /// Read horizon.
    pub last_read_message_index: Option<u64>,
    /// When the read horizon moved, as given (ISO-8601).
    pub last_read_timestamp: Option<String>,
    /// `default` or `muted` (set through the user's view of the conversation).
    #[serde(default)]
    pub notification_level: Option<String>,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// One attachment of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    /// `ME…`
    pub sid: MediaSid,
    /// Bytes.
    pub size: u64,
    /// MIME type.
    pub content_type: String,
    /// Original file name.
    pub filename: Option<String>,
}

/// An uploaded media file (`ME…`); the bytes live in a content-addressed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    /// `ME…`
    pub sid: MediaSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Its service.
    pub service_sid: ServiceSid,
    /// Bytes.
    pub size: u64,
    /// MIME type as uploaded.
    pub content_type: String,
    /// Original file name.
    pub filename: Option<String>,
    /// The identity that uploaded it (token uploads), if any.
    pub author: Option<String>,
    /// SHA-256 of the content, hex: the file's name.
    pub sha256: String,
    /// Upload time.
    pub date_created: Timestamp,
}

impl MediaRecord {
    /// How a message refers to it.
    pub fn as_ref(&self) -> MediaRef {
        MediaRef {
            sid: self.sid.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            filename: self.filename.clone(),
        }
    }
}

/// A conversation message (`IM…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// `IM…`
    pub sid: MessageSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// The conversation's service.
    pub service_sid: ServiceSid,
    /// The conversation.
    pub conversation_sid: ConversationSid,
    /// 0,1,2,… per conversation, gap-free, never reused.
    pub index: u64,
    /// Who wrote it (`system` by default).
    pub author: String,
    /// Text, ≤ 1600 characters.
    pub body: Option<String>,
    /// Subject, ≤ 256 characters.
    pub subject: Option<String>,
    /// JSON text.
    pub attributes: String,
    /// The author's participant, when the author is one.
    pub participant_sid: Option<ParticipantSid>,
    /// Attachments.
    pub media: Option<Vec<MediaRef>>,
    /// Content template, stored as given.
    pub content_sid: Option<String>,
    /// Delivery counts over its receipts (`None`: no receipt yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<super::delivery::DeliveryCounts>,
    /// The sender's idempotency key (WebSocket `client_message_id`), unique per conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// A conversation together with what its actor needs to take over.
#[derive(Debug, Clone)]
pub struct LoadedConversation {
    /// The conversation.
    pub record: ConversationRecord,
    /// The index the next message gets.
    pub next_index: u64,
    /// Its participants in creation order.
    pub participants: Vec<ParticipantRecord>,
    /// Client message ids of its latest messages with one, newest first.
    pub recent_client_ids: Vec<(String, MessageSid)>,
}

/// The first response to an idempotent create, replayed to retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Owner.
    pub account_sid: AccountSid,
    /// Client-chosen key.
    pub key: String,
    /// SHA-256 of method, path and body of the first request.
    pub fingerprint: String,
    /// HTTP status of the first response.
    pub status: u16,
    /// Body of the first response.
    pub body: String,
    /// When it was stored.
    pub date_created: Timestamp,
}

/// Current Unix time in seconds.
pub fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}

/// A stored JSON document: a routing or interaction resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRecord {
    /// The resource's SID.
    pub sid: String,
    /// What it is (`worker`, `task`, `interaction`, …).
    pub kind: String,
    /// What it belongs to (a workspace SID, an account SID, …).
    pub scope: String,
    /// An indexed alternate key (e.g. the conversation an interaction channel is bound to).
    pub alt: Option<String>,
    /// The resource as JSON.
    pub data: String,
}

/// A TaskRouter event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingEventRecord {
    /// `EV…`
    pub sid: String,
    /// Owner.
    pub account_sid: String,
    /// Workspace.
    pub workspace_sid: String,
    /// e.g. `task.created`.
    pub event_type: String,
    /// `task`, `reservation`, `worker`, …
    pub resource_type: String,
    /// The resource's SID.
    pub resource_sid: String,
    /// Human-readable.
    pub description: String,
    /// Unix ms.
    pub date_ms: i64,
    /// `event_data`: snake_case keys, string values.
    pub data: std::collections::BTreeMap<String, String>,
}
