//! The objects inside WebSocket frames. Field names and formats follow the REST API's
//! resources (ISO-8601 dates, `attributes` as JSON text) without its `url`/`links`.

use serde::Serialize;
use serde_json::Value;

use crate::api::params::format_datetime as date;
use crate::api::render;
use crate::ids::{
    AccountSid, ConversationSid, MediaSid, MessageSid, ParticipantSid, ReceiptSid, RoleSid,
    ServiceSid,
};
use crate::store::delivery::ReceiptRecord;
use crate::store::records::{ConversationRecord, MessageRecord, ParticipantRecord};

/// A conversation.
#[derive(Debug, Serialize)]
pub struct Conversation<'a> {
    sid: &'a ConversationSid,
    account_sid: &'a AccountSid,
    chat_service_sid: &'a ServiceSid,
    friendly_name: &'a Option<String>,
    unique_name: &'a Option<String>,
    attributes: &'a str,
    state: &'static str,
    date_created: String,
    date_updated: String,
}

impl<'a> From<&'a ConversationRecord> for Conversation<'a> {
    fn from(c: &'a ConversationRecord) -> Self {
        Conversation {
            sid: &c.sid,
            account_sid: &c.account_sid,
            chat_service_sid: &c.service_sid,
            friendly_name: &c.friendly_name,
            unique_name: &c.unique_name,
            attributes: &c.attributes,
            state: c.state.as_str(),
            date_created: date(c.date_created),
            date_updated: date(c.date_updated),
        }
    }
}

/// A participant.
#[derive(Debug, Serialize)]
pub struct Participant<'a> {
    sid: &'a ParticipantSid,
    conversation_sid: &'a ConversationSid,
    identity: &'a Option<String>,
    attributes: &'a str,
    messaging_binding: Value,
    role_sid: &'a Option<RoleSid>,
    last_read_message_index: Option<u64>,
    last_read_timestamp: &'a Option<String>,
    date_created: String,
    date_updated: String,
}

impl<'a> From<&'a ParticipantRecord> for Participant<'a> {
    fn from(p: &'a ParticipantRecord) -> Self {
        Participant {
            sid: &p.sid,
            conversation_sid: &p.conversation_sid,
            identity: &p.identity,
            attributes: &p.attributes,
            messaging_binding: render::binding(&p.messaging_binding),
            role_sid: &p.role_sid,
            last_read_message_index: p.last_read_message_index,
            last_read_timestamp: &p.last_read_timestamp,
            date_created: date(p.date_created),
            date_updated: date(p.date_updated),
        }
    }
}

/// One attachment.
#[derive(Debug, Serialize)]
struct Media<'a> {
    sid: &'a MediaSid,
    content_type: &'a str,
    filename: &'a Option<String>,
    size: u64,
}

/// A message.
#[derive(Debug, Serialize)]
pub struct Message<'a> {
    sid: &'a MessageSid,
    conversation_sid: &'a ConversationSid,
    index: u64,
    author: &'a str,
    participant_sid: &'a Option<ParticipantSid>,
    body: &'a Option<String>,
    attributes: &'a str,
    media: Option<Vec<Media<'a>>>,
    delivery: Value,
    client_message_id: Option<&'a str>,
    date_created: String,
    date_updated: String,
}

impl<'a> From<&'a MessageRecord> for Message<'a> {
    fn from(m: &'a MessageRecord) -> Self {
        Message {
            sid: &m.sid,
            conversation_sid: &m.conversation_sid,
            index: m.index,
            author: &m.author,
            participant_sid: &m.participant_sid,
            body: &m.body,
            attributes: &m.attributes,
            media: m.media.as_ref().map(|media| {
                media
                    .iter()
                    .map(|r| Media {
                        sid: &r.sid,
                        content_type: &r.content_type,
                        filename: &r.filename,
                        size: r.size,
                    })
                    .collect()
            }),
            // Stored namespaced by the author ("identity:id"); the wire shows the client's id.
            delivery: m.delivery.as_ref().map_or(Value::Null, |d| d.summary()),
            client_message_id: m.client_message_id.as_deref().map(|id| {
                id.strip_prefix(m.author.as_str())
                    .and_then(|rest| rest.strip_prefix(':'))
                    .unwrap_or(id)
            }),
            date_created: date(m.date_created),
            date_updated: date(m.date_updated),
        }
    }
}

/// A delivery receipt.
#[derive(Debug, Serialize)]
pub struct Receipt<'a> {
    sid: &'a ReceiptSid,
    message_sid: &'a MessageSid,
    participant_sid: &'a ParticipantSid,
    status: &'static str,
    channel_message_sid: &'a Option<String>,
    error_code: Option<u32>,
    date_created: String,
    date_updated: String,
}

impl<'a> From<&'a ReceiptRecord> for Receipt<'a> {
    fn from(r: &'a ReceiptRecord) -> Self {
        Receipt {
            sid: &r.sid,
            message_sid: &r.message_sid,
            participant_sid: &r.participant_sid,
            status: r.status.as_str(),
            channel_message_sid: &r.channel_message_sid,
            error_code: r.error_code,
            date_created: date(r.date_created),
            date_updated: date(r.date_updated),
        }
    }
}

/// A conversation as a session sees it.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// The conversation.
    pub conversation: Conversation<'a>,
    /// The session identity's participant; null for a monitor.
    pub participant: Option<Participant<'a>>,
    /// Highest message index at the time of the summary.
    pub last_message_index: Option<u64>,
}

/// The `hello` reply.
#[derive(Debug, Serialize)]
pub struct Session<'a> {
    /// Server-chosen id of this connection.
    pub session_id: &'a str,
    /// Protocol version.
    pub protocol: u32,
    /// `grants.identity`
    pub identity: &'a str,
    /// `agent`, `supervisor` or `guest`.
    pub role: &'static str,
    /// The token's account.
    pub account_sid: &'a AccountSid,
    /// The service the session works in.
    pub chat_service_sid: &'a ServiceSid,
    /// Token expiry, ISO-8601.
    pub expires_at: String,
    /// Largest frame the server accepts.
    pub max_frame_bytes: usize,
    /// Conversations the identity participates in.
    pub conversations: Vec<Summary<'a>>,
}
