//! Records → Twilio JSON. One function per resource, field names exactly as Twilio's (and its
//! OpenAPI spec) have them; `url`/`links` built from the request's base URL.

use serde_json::{Value, json};

use crate::api::params::format_datetime as date;
use crate::store::records::*;

/// A conversation.
pub fn conversation(base: &str, c: &ConversationRecord) -> Value {
    let url = format!("{base}/Conversations/{}", c.sid);
    let mut timers = serde_json::Map::new();
    if let Some(t) = c.timers.date_inactive {
        timers.insert("date_inactive".into(), Value::String(date(t)));
    }
    if let Some(t) = c.timers.date_closed {
        timers.insert("date_closed".into(), Value::String(date(t)));
    }
    json!({
        "account_sid": c.account_sid,
        "chat_service_sid": c.service_sid,
        "messaging_service_sid": c.messaging_service_sid,
        "sid": c.sid,
        "friendly_name": c.friendly_name,
        "unique_name": c.unique_name,
        "attributes": c.attributes,
        "state": c.state.as_str(),
        "date_created": date(c.date_created),
        "date_updated": date(c.date_updated),
        "timers": timers,
        "bindings": c.bindings,
        "links": {
            "participants": format!("{url}/Participants"),
            "messages": format!("{url}/Messages"),
            "webhooks": format!("{url}/Webhooks"),
            "export": format!("{url}/Export"),
        },
        "url": url,
    })
}

/// A participant's messaging binding, or null for chat participants.
pub fn binding(b: &Option<MessagingBinding>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), Value::String(b.kind.clone()));
            for (k, v) in [
                ("address", &b.address),
                ("proxy_address", &b.proxy_address),
                ("projected_address", &b.projected_address),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), Value::String(v.clone()));
                }
            }
            Value::Object(m)
        }
    }
}

/// A participant.
pub fn participant(base: &str, p: &ParticipantRecord) -> Value {
    json!({
        "account_sid": p.account_sid,
        "chat_service_sid": p.service_sid,
        "conversation_sid": p.conversation_sid,
        "sid": p.sid,
        "identity": p.identity,
        "attributes": p.attributes,
        "messaging_binding": binding(&p.messaging_binding),
        "role_sid": p.role_sid,
        "date_created": date(p.date_created),
        "date_updated": date(p.date_updated),
        "last_read_message_index": p.last_read_message_index,
        "last_read_timestamp": p.last_read_timestamp,
        "url": format!("{base}/Conversations/{}/Participants/{}", p.conversation_sid, p.sid),
    })
}

/// A message.
pub fn message(base: &str, m: &MessageRecord) -> Value {
    let url = format!(
        "{base}/Conversations/{}/Messages/{}",
        m.conversation_sid, m.sid
    );
    let media = m.media.as_ref().map(|list| {
        list.iter()
            .map(|x| json!({"sid": x.sid, "size": x.size, "content_type": x.content_type, "filename": x.filename}))
            .collect::<Vec<_>>()
    });
    json!({
        "account_sid": m.account_sid,
        "chat_service_sid": m.service_sid,
        "conversation_sid": m.conversation_sid,
        "sid": m.sid,
        "index": m.index,
        "author": m.author,
        "body": m.body,
        "subject": m.subject,
        "media": media,
        "attributes": m.attributes,
        "participant_sid": m.participant_sid,
        "date_created": date(m.date_created),
        "date_updated": date(m.date_updated),
        "delivery": m.delivery.as_ref().map_or(Value::Null, |d| d.summary()),
        "content_sid": m.content_sid,
        "links": {
            "delivery_receipts": format!("{url}/Receipts"),
            "channel_metadata": format!("{url}/ChannelMetadata"),
        },
        "url": url,
    })
}

/// A delivery receipt.
pub fn receipt(base: &str, r: &crate::store::delivery::ReceiptRecord) -> Value {
    json!({
        "account_sid": r.account_sid,
        "chat_service_sid": r.service_sid,
        "conversation_sid": r.conversation_sid,
        "message_sid": r.message_sid,
        "sid": r.sid,
        "channel_message_sid": r.channel_message_sid,
        "participant_sid": r.participant_sid,
        "status": r.status.as_str(),
        "error_code": r.error_code,
        "date_created": date(r.date_created),
        "date_updated": date(r.date_updated),
        "url": format!(
            "{base}/Conversations/{}/Messages/{}/Receipts/{}",
            r.conversation_sid, r.message_sid, r.sid
        ),
    })
}

/// A conversation service.
pub fn service(v1: &str, s: &ServiceRecord) -> Value {
    let url = format!("{v1}/Services/{}", s.sid);
    json!({
        "account_sid": s.account_sid,
        "sid": s.sid,
        "friendly_name": s.friendly_name,
        "date_created": date(s.date_created),
        "date_updated": date(s.date_updated),
        "links": {
            "conversations": format!("{url}/Conversations"),
            "users": format!("{url}/Users"),
            "roles": format!("{url}/Roles"),
            "bindings": format!("{url}/Bindings"),
            "configuration": format!("{url}/Configuration"),
            "participant_conversations": format!("{url}/ParticipantConversations"),
            "conversation_with_participants": format!("{url}/ConversationWithParticipants"),
        },
        "url": url,
    })
}

/// A role.
pub fn role(base: &str, r: &RoleRecord) -> Value {
    json!({
        "sid": r.sid,
        "account_sid": r.account_sid,
        "chat_service_sid": r.service_sid,
        "friendly_name": r.friendly_name,
        "type": r.role_type,
        "permissions": r.permissions,
        "date_created": date(r.date_created),
        "date_updated": date(r.date_updated),
        "url": format!("{base}/Roles/{}", r.sid),
    })
}

/// A user.
pub fn user(base: &str, u: &UserRecord) -> Value {
    let url = format!("{base}/Users/{}", u.sid);
    json!({
        "sid": u.sid,
        "account_sid": u.account_sid,
        "chat_service_sid": u.service_sid,
        "role_sid": u.role_sid,
        "identity": u.identity,
        "friendly_name": u.friendly_name,
        "attributes": u.attributes,
        "is_online": Value::Null,
        "is_notifiable": Value::Null,
        "date_created": date(u.date_created),
        "date_updated": date(u.date_updated),
        "links": {
            "user_conversations": format!("{url}/Conversations"),
        },
        "url": url,
    })
}

/// A participant's view of one conversation (`ParticipantConversations`).
pub fn participant_conversation(
    base: &str,
    p: &ParticipantRecord,
    c: &ConversationRecord,
) -> Value {
    let conv = conversation(base, c);
    json!({
        "account_sid": p.account_sid,
        "chat_service_sid": p.service_sid,
        "participant_sid": p.sid,
        "participant_user_sid": Value::Null,
        "participant_identity": p.identity,
        "participant_messaging_binding": binding(&p.messaging_binding),
        "conversation_sid": c.sid,
        "conversation_unique_name": c.unique_name,
        "conversation_friendly_name": c.friendly_name,
        "conversation_attributes": c.attributes,
        "conversation_date_created": date(c.date_created),
        "conversation_date_updated": date(c.date_updated),
        "conversation_created_by": Value::Null,
        "conversation_state": c.state.as_str(),
        "conversation_timers": conv["timers"].clone(),
        "links": {
            "participant": format!("{base}/Conversations/{}/Participants/{}", c.sid, p.sid),
            "conversation": format!("{base}/Conversations/{}", c.sid),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid<T: std::str::FromStr>(prefix: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        format!("{prefix}{}", "a".repeat(32)).parse().expect("sid")
    }

    /// Snapshot of the JSON of each resource (the OAI examples' shapes with our URLs).
    /// Regenerate with `UPDATE_GOLDEN=1 cargo test --lib render`.
    #[test]
    fn resources_match_the_golden_file() {
        let base = "http://127.0.0.1:8080/conversations/v1";
        let conversation = ConversationRecord {
            sid: sid("CH"),
            account_sid: sid("AC"),
            service_sid: sid("IS"),
            messaging_service_sid: None,
            friendly_name: Some("friendly_name".into()),
            unique_name: Some("unique_name".into()),
            attributes: r#"{ "topic": "feedback" }"#.into(),
            state: ConversationState::Inactive,
            timers: Timers {
                inactive: Some("PT1M".into()),
                closed: Some("PT10M".into()),
                date_inactive: Some(1_450_304_378),
                date_closed: Some(1_450_304_918),
            },
            bindings: serde_json::json!({}),
            date_created: 1_450_304_317,
            date_updated: 1_450_304_318,
        };
        let participant = ParticipantRecord {
            sid: sid("MB"),
            account_sid: sid("AC"),
            service_sid: sid("IS"),
            conversation_sid: sid("CH"),
            identity: None,
            attributes: "{}".into(),
            messaging_binding: Some(MessagingBinding {
                kind: "sms".into(),
                address: Some("+15558675310".into()),
                proxy_address: Some("+15017122661".into()),
                projected_address: None,
            }),
            role_sid: Some(sid("RL")),
            last_read_message_index: Some(3),
            last_read_timestamp: Some("2015-12-16T22:18:38Z".into()),
            notification_level: None,
            date_created: 1_450_304_317,
            date_updated: 1_450_304_318,
        };
        let message = MessageRecord {
            sid: sid("IM"),
            account_sid: sid("AC"),
            service_sid: sid("IS"),
            conversation_sid: sid("CH"),
            index: 0,
            author: "message author".into(),
            body: Some("Hello".into()),
            subject: None,
            attributes: r#"{ "importance": "high" }"#.into(),
            participant_sid: Some(sid("MB")),
            media: None,
            content_sid: None,
            client_message_id: None,
            delivery: None,
            date_created: 1_450_304_317,
            date_updated: 1_450_304_318,
        };
        let snapshot = serde_json::json!({
            "conversation": super::conversation(base, &conversation),
            "participant": super::participant(base, &participant),
            "message": super::message(base, &message),
            "receipt": super::receipt(base, &crate::store::delivery::ReceiptRecord {
                sid: sid("DY"),
                account_sid: sid("AC"),
                service_sid: sid("IS"),
                conversation_sid: sid("CH"),
                message_sid: sid("IM"),
                participant_sid: sid("MB"),
                channel_message_sid: Some(format!("SM{}", "a".repeat(32))),
                status: crate::store::delivery::ReceiptStatus::Failed,
                error_code: Some(3000),
                date_created: 1_450_304_317,
                date_updated: 1_450_304_318,
            }),
        });
        let rendered = serde_json::to_string_pretty(&snapshot).expect("json") + "\n";
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/resources.json");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &rendered).expect("write golden");
        }
        let golden = std::fs::read_to_string(&path).expect("golden file exists");
        assert_eq!(
            rendered, golden,
            "resource JSON changed; review and regenerate the golden file"
        );
    }
}
