//! Twilio's form parameters for each Conversations webhook (`twilio-api.md` §4): the common
//! ones (`AccountSid`, `EventType`, `Source`, `ClientIdentity`) and those of each event, for
//! post-events (built from a committed [`ConversationEvent`]) and pre-events (built from what is
//! about to happen).

use crate::conversations::events::ConversationEvent;
use crate::store::records::{
    ConversationRecord, MediaRef, MessageRecord, ParticipantRecord, Timestamp,
};

/// Ordered form parameters.
pub type Params = Vec<(String, String)>;

/// Twilio's webhook time format (`2019-04-24T19:36:19Z`).
pub fn iso(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn push(p: &mut Params, key: &str, value: impl Into<String>) {
    p.push((key.to_owned(), value.into()));
}

fn push_opt(p: &mut Params, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        push(p, key, v);
    }
}

/// `AccountSid`, `EventType`, `Source` and, for chat clients, `ClientIdentity`.
pub fn common(account: &str, event: &str, source: &str, identity: Option<&str>) -> Params {
    let mut p = Vec::with_capacity(16);
    push(&mut p, "AccountSid", account);
    push(&mut p, "EventType", event);
    push(&mut p, "Source", source);
    if source == "SDK" {
        push_opt(&mut p, "ClientIdentity", identity);
    }
    p
}

/// The `Media` parameter: a JSON string of `[{Sid, Filename, ContentType, Size}]`.
pub fn media_json(media: &[MediaRef]) -> String {
    let list: Vec<serde_json::Value> = media
        .iter()
        .map(|m| {
            serde_json::json!({
                "Sid": m.sid,
                "Filename": m.filename,
                "ContentType": m.content_type,
                "Size": m.size,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Conversation fields shared by the conversation events.
pub fn conversation(p: &mut Params, c: &ConversationRecord) {
    push(p, "ConversationSid", c.sid.as_str());
    push(p, "DateCreated", iso(c.date_created));
    push(p, "DateUpdated", iso(c.date_updated));
    conversation_fields(p, c);
}

/// What a conversation is, besides its SID and dates (also known before it exists).
fn conversation_fields(p: &mut Params, c: &ConversationRecord) {
    push_opt(p, "FriendlyName", c.friendly_name.as_deref());
    push_opt(p, "UniqueName", c.unique_name.as_deref());
    push(p, "Attributes", c.attributes.as_str());
    push(p, "ChatServiceSid", c.service_sid.as_str());
    push_opt(
        p,
        "MessagingServiceSid",
        c.messaging_service_sid.as_ref().map(|s| s.as_str()),
    );
    push(p, "State", c.state.as_str());
}

/// Message fields shared by the message events (pre-add events have no SID or index).
pub fn message(p: &mut Params, m: &MessageRecord) {
    push(p, "ConversationSid", m.conversation_sid.as_str());
    push(p, "ChatServiceSid", m.service_sid.as_str());
    push(p, "MessageSid", m.sid.as_str());
    push(p, "Index", m.index.to_string());
    push(p, "DateCreated", iso(m.date_created));
    push(p, "DateUpdated", iso(m.date_updated));
    message_content(
        p,
        m.body.as_deref(),
        &m.author,
        m.participant_sid.as_ref().map(|s| s.as_str()),
        &m.attributes,
        m.media.as_deref(),
    );
}

/// `Body`, `Author`, `ParticipantSid`, `Attributes`, `Media`.
pub fn message_content(
    p: &mut Params,
    body: Option<&str>,
    author: &str,
    participant: Option<&str>,
    attributes: &str,
    media: Option<&[MediaRef]>,
) {
    push(p, "Body", body.unwrap_or_default());
    push(p, "Author", author);
    push_opt(p, "ParticipantSid", participant);
    push(p, "Attributes", attributes);
    if let Some(media) = media.filter(|m| !m.is_empty()) {
        push(p, "Media", media_json(media));
    }
}

/// Participant fields shared by the participant events.
pub fn participant(p: &mut Params, x: &ParticipantRecord) {
    push(p, "ConversationSid", x.conversation_sid.as_str());
    push(p, "ChatServiceSid", x.service_sid.as_str());
    push(p, "ParticipantSid", x.sid.as_str());
    push(p, "DateCreated", iso(x.date_created));
    push(p, "DateUpdated", iso(x.date_updated));
    push_opt(p, "Identity", x.identity.as_deref());
    push_opt(p, "RoleSid", x.role_sid.as_ref().map(|s| s.as_str()));
    push(p, "Attributes", x.attributes.as_str());
    binding(p, x);
}

/// `MessagingBinding.*` of a messaging participant.
pub fn binding(p: &mut Params, x: &ParticipantRecord) {
    if let Some(b) = &x.messaging_binding {
        messaging_binding(p, b);
    }
}

fn messaging_binding(p: &mut Params, b: &crate::store::records::MessagingBinding) {
    push_opt(p, "MessagingBinding.Address", b.address.as_deref());
    push_opt(
        p,
        "MessagingBinding.ProxyAddress",
        b.proxy_address.as_deref(),
    );
    push_opt(
        p,
        "MessagingBinding.ProjectedAddress",
        b.projected_address.as_deref(),
    );
    push(p, "MessagingBinding.Type", b.kind.to_ascii_uppercase());
}

/// The event's own parameters (after the common ones).
pub fn post_event(p: &mut Params, event: &ConversationEvent, removed_at: Timestamp) {
    use ConversationEvent::*;
    match event {
        ConversationAdded(c) | ConversationUpdated(c) => conversation(p, c),
        ConversationRemoved(c) => {
            conversation(p, c);
            push(p, "DateRemoved", iso(removed_at));
        }
        StateUpdated {
            conversation: c,
            from,
            reason,
        } => {
            push(p, "ChatServiceSid", c.service_sid.as_str());
            push(p, "ConversationSid", c.sid.as_str());
            push_opt(
                p,
                "MessagingServiceSid",
                c.messaging_service_sid.as_ref().map(|s| s.as_str()),
            );
            push(p, "StateUpdated", iso(c.date_updated));
            push(p, "StateFrom", from.as_str());
            push(p, "StateTo", c.state.as_str());
            push(p, "Reason", reason.as_str());
        }
        ParticipantAdded(x) => participant(p, x),
        ParticipantUpdated(x) => {
            participant(p, x);
            if let Some(i) = x.last_read_message_index {
                push(p, "LastReadMessageIndex", i.to_string());
            }
        }
        ParticipantRemoved(x) => {
            participant(p, x);
            push(p, "DateRemoved", iso(removed_at));
        }
        MessageAdded(m) | MessageUpdated(m) => message(p, m),
        MessageRemoved(m) => {
            message(p, m);
            push(p, "DateRemoved", iso(removed_at));
        }
        DeliveryUpdated {
            message: m,
            receipt,
        } => {
            push(p, "ConversationSid", m.conversation_sid.as_str());
            push(p, "ChatServiceSid", m.service_sid.as_str());
            push(p, "MessageSid", m.sid.as_str());
            push(p, "DeliveryReceiptSid", receipt.sid.as_str());
            push_opt(
                p,
                "ChannelMessageSid",
                receipt.channel_message_sid.as_deref(),
            );
            push(p, "ParticipantSid", receipt.participant_sid.as_str());
            push(p, "Status", receipt.status.as_str());
            push(
                p,
                "ErrorCode",
                receipt
                    .error_code
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            );
            push(p, "DateCreated", iso(receipt.date_created));
            push(p, "DateUpdated", iso(receipt.date_updated));
        }
        Typing(_) => {}
    }
}

/// The message body an event carries (for `trigger` webhooks).
pub fn event_body(event: &ConversationEvent) -> Option<&str> {
    match event {
        ConversationEvent::MessageAdded(m) => m.body.as_deref(),
        _ => None,
    }
}

/// `onConversationAdd`: the new conversation and, for a channel contact, its binding.
pub fn push_conversation_add(
    p: &mut Params,
    c: &ConversationRecord,
    first: Option<&ParticipantRecord>,
) {
    conversation_fields(p, c);
    if let Some(x) = first {
        binding(p, x);
    }
}

/// `onParticipantAdd`: the participant about to join.
pub fn participant_add(
    p: &mut Params,
    conversation: &crate::ids::ConversationSid,
    draft: &crate::conversations::drafts::ParticipantDraft,
) {
    push(p, "ConversationSid", conversation.as_str());
    push_opt(p, "Identity", draft.identity.as_deref());
    push_opt(p, "RoleSid", draft.role_sid.as_ref().map(|s| s.as_str()));
    push(p, "Attributes", draft.attributes.as_deref().unwrap_or("{}"));
    if let Some(b) = &draft.binding {
        messaging_binding(p, b);
    }
}

/// User fields of `onUserAdded`, `onUserUpdate` and `onUserUpdated`.
pub fn user(p: &mut Params, u: &crate::store::records::UserRecord, updated: bool) {
    push(p, "ChatServiceSid", u.service_sid.as_str());
    push(p, "UserSid", u.sid.as_str());
    push(p, "DateCreated", iso(u.date_created));
    if updated {
        push(p, "DateUpdated", iso(u.date_updated));
    }
    push(p, "Identity", u.identity.as_str());
    push(p, "RoleSid", u.role_sid.as_str());
    push(p, "Attributes", u.attributes.as_str());
    push_opt(p, "FriendlyName", u.friendly_name.as_deref());
}
