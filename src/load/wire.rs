//! The frames the simulated clients write and the parts of the server's frames they read
//! (docs/protocol.md). Incoming frames are parsed into one flat shape whose optional fields
//! cover every event the load uses; whatever else a frame carries is ignored. Message bodies
//! carry the load's stamp, `t<µs since the run started>#<sequence> `, so every receiver can
//! tell the send time (SMS phones too, which see only the body).

use serde::Deserialize;
use serde_json::json;

/// A server → client frame.
#[derive(Debug, Deserialize)]
pub struct Incoming {
    /// `reply`, `error` or `event`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The command's id (answers).
    pub id: Option<u64>,
    /// The event's name (events).
    pub event: Option<String>,
    /// The conversation an event belongs to.
    pub conversation_sid: Option<String>,
    /// An event's data.
    pub data: Option<Data>,
    /// A reply's result.
    pub result: Option<Data>,
    /// An error's body.
    pub error: Option<ErrorBody>,
}

/// An error frame's body.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// Twilio's code.
    pub code: i64,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
}

/// The union of the event data and reply results the load reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Data {
    // Message (`message_added`).
    /// Message index.
    pub index: Option<u64>,
    /// Message author.
    pub author: Option<String>,
    /// Message body.
    pub body: Option<String>,
    /// Attachments (only their presence is used).
    pub media: Option<Vec<serde::de::IgnoredAny>>,
    // Participant (`participant_added` / `_updated`), typing.
    /// A participant's or typer's identity.
    pub identity: Option<String>,
    /// A participant's read horizon.
    pub last_read_message_index: Option<i64>,
    // Summary (`conversation_joined`, `hello` conversations, `monitor`).
    /// Messages up to this index are history.
    pub last_message_index: Option<i64>,
    /// The conversation of a summary or state change.
    pub conversation: Option<Conversation>,
    // Session (`hello` reply).
    /// The session's conversation service.
    pub chat_service_sid: Option<String>,
    /// The session's conversations.
    pub conversations: Option<Vec<Summary>>,
    // Replies.
    /// A `send` reply's message.
    pub message: Option<MessageRef>,
    // Routing.
    /// `reservation.created`, …
    pub event_type: Option<String>,
    /// A reservation (routing events and answers).
    pub reservation: Option<Reservation>,
    /// A worker (routing events and answers).
    pub worker: Option<Worker>,
}

/// A conversation summary.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Summary {
    /// The conversation.
    pub conversation: Conversation,
    /// Messages up to this index are history.
    pub last_message_index: Option<i64>,
}

/// The conversation fields the load reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Conversation {
    /// `CH…`
    pub sid: String,
    /// `active`, `inactive`, `closed`.
    pub state: String,
}

/// A `send` reply's message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageRef {
    /// Its index.
    pub index: Option<u64>,
}

/// A reservation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Reservation {
    /// `WR…`
    pub sid: String,
    /// `pending`, `accepted`, `wrapping`, …
    pub reservation_status: String,
    /// Its task.
    pub task: Option<Task>,
}

/// A task.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Task {
    /// `WT…`
    pub sid: String,
    /// Flex's attributes.
    pub attributes: TaskAttributes,
}

/// The Flex task attributes the load reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskAttributes {
    /// The conversation.
    pub conversation_sid: Option<String>,
    /// The interaction (`KD…`).
    pub flex_interaction_sid: Option<String>,
    /// Its channel (`UO…`).
    pub flex_interaction_channel_sid: Option<String>,
    /// `web`, `sms`, …
    pub channel_type: Option<String>,
    /// The customer's name (a webchat's `FriendlyName`).
    pub customer_name: Option<String>,
    /// The customer's address (an SMS customer's phone).
    pub customer_address: Option<String>,
}

/// A worker.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Worker {
    /// Its activity's name.
    pub activity_name: String,
    /// Whether that activity is available.
    pub available: bool,
}

/// `hello` with the token in it, id 0.
pub fn hello(token: &str) -> String {
    json!({"type": "hello", "id": 0, "protocol": 1, "token": token}).to_string()
}

/// `send` of a stamped body, optionally with attachments.
pub fn send(id: u64, conversation: &str, body: &str, media: &[String], client_id: &str) -> String {
    let mut frame = json!({
        "type": "send", "id": id, "conversation_sid": conversation, "body": body,
        "client_message_id": client_id,
    });
    if !media.is_empty() {
        frame["media_sids"] = json!(media);
    }
    frame.to_string()
}

/// A command on one conversation: `typing`, `unmonitor`.
pub fn on_conversation(kind: &str, id: u64, conversation: &str) -> String {
    json!({"type": kind, "id": id, "conversation_sid": conversation}).to_string()
}

/// `read` up to `index`.
pub fn read(id: u64, conversation: &str, index: u64) -> String {
    json!({"type": "read", "id": id, "conversation_sid": conversation, "index": index}).to_string()
}

/// `monitor` from the first message.
pub fn monitor(id: u64, conversation: &str) -> String {
    json!({"type": "monitor", "id": id, "conversation_sid": conversation, "after_index": -1})
        .to_string()
}

/// A routing answer: `accept`, `reject`, `complete`.
pub fn reservation(kind: &str, id: u64, reservation: &str) -> String {
    json!({"type": kind, "id": id, "reservation_sid": reservation}).to_string()
}

/// `activity` by name.
pub fn activity(id: u64, name: &str) -> String {
    json!({"type": "activity", "id": id, "activity_name": name}).to_string()
}

/// A body: the stamp, then `filler` bytes of text; `last` marks a customer's final message.
pub fn body(stamp_us: u64, seq: u64, filler: usize, last: bool) -> String {
    let mut b = format!("t{stamp_us}#{seq}{} ", if last { "!" } else { "" });
    let words = b"the quick brown fox jumps over the lazy dog ";
    b.extend((0..filler).map(|i| char::from(words[i % words.len()])));
    b
}

/// The stamp of a body: (µs, sequence, last).
pub fn stamp(body: &str) -> Option<(u64, u64, bool)> {
    let rest = body.strip_prefix('t')?;
    let (t, rest) = rest.split_once('#')?;
    let end = rest.find([' ', '!']).unwrap_or(rest.len());
    let seq = rest[..end].parse().ok()?;
    let last = rest[end..].starts_with('!');
    Some((t.parse().ok()?, seq, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        let b = body(123_456, 7, 40, false);
        assert_eq!(stamp(&b), Some((123_456, 7, false)));
        let b = body(9, 0, 0, true);
        assert_eq!(stamp(&b), Some((9, 0, true)));
        assert!(b.len() < 30, "{b:?}");
        assert_eq!(stamp("hello"), None);
        assert_eq!(stamp("t12#x "), None);
    }

    #[test]
    fn events_parse_into_the_flat_shape() {
        let f: Incoming = serde_json::from_str(
            r#"{"type":"event","event":"reservation_created","data":{"event_type":"reservation.created",
            "reservation":{"sid":"WR1","reservation_status":"pending","task":{"sid":"WT1",
            "attributes":{"conversationSid":"CH1","flexInteractionSid":"KD1","channelType":"web"}}}}}"#,
        )
        .expect("parses");
        let r = f.data.and_then(|d| d.reservation).expect("reservation");
        let a = r.task.expect("task").attributes;
        assert_eq!(a.conversation_sid.as_deref(), Some("CH1"));
        assert_eq!(a.flex_interaction_sid.as_deref(), Some("KD1"));
        let f: Incoming = serde_json::from_str(
            r#"{"type":"reply","id":3,"result":{"message":{"index":4,"sid":"IM1"}}}"#,
        )
        .expect("parses");
        assert_eq!(
            f.result.and_then(|r| r.message).and_then(|m| m.index),
            Some(4)
        );
    }
}
