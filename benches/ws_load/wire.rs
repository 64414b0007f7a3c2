//! The frames the load speaks: the subset of Switchboard's WebSocket protocol v1
//! (docs/protocol.md) that customers, agents and supervisors use here (`hello`, `monitor`,
//! `send`; `reply`, `error` and `event` frames back), which the bare broadcaster speaks too.
//!
//! Incoming frames are parsed into borrowed structs that name only the fields the load reads,
//! so parsing stays cheap next to the server under test on the same two cores.

use std::borrow::Cow;

use serde::Deserialize;

/// Any server → client frame.
#[derive(Debug, Deserialize)]
pub struct Incoming<'a> {
    /// `reply`, `error` or `event`.
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The command id a `reply` or `error` answers.
    #[serde(default)]
    pub id: Option<u64>,
    /// An event's name (`message_added`, …).
    #[serde(default, borrow)]
    pub event: Option<Cow<'a, str>>,
    /// The conversation an event belongs to.
    #[serde(default, borrow)]
    pub conversation_sid: Option<Cow<'a, str>>,
    /// An event's payload; only a `Message`'s fields are read.
    #[serde(default, borrow)]
    pub data: Option<MessageFields<'a>>,
    /// A `reply`'s result; only `result.message` is read (the answer to `send`).
    #[serde(default, borrow)]
    pub result: Option<ReplyResult<'a>>,
    /// An `error`'s body.
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// The fields of a `Message` the load reads (other objects parse with them all absent).
#[derive(Debug, Default, Deserialize)]
pub struct MessageFields<'a> {
    /// Per-conversation index.
    #[serde(default)]
    pub index: Option<u64>,
    /// The author's identity.
    #[serde(default, borrow)]
    pub author: Option<Cow<'a, str>>,
    /// JSON text; the load puts `{"t": <µs since the bench started>}` in it.
    #[serde(default, borrow)]
    pub attributes: Option<Cow<'a, str>>,
}

/// `reply.result`.
#[derive(Debug, Default, Deserialize)]
pub struct ReplyResult<'a> {
    /// Present in the answer to `send`.
    #[serde(default, borrow)]
    pub message: Option<MessageFields<'a>>,
}

/// `error.error`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// Twilio numeric code.
    pub code: i64,
}

/// The attributes the load writes into each message it sends.
#[derive(Debug, Deserialize)]
struct Stamp {
    /// Microseconds since the bench started, when the message was (due to be) sent.
    t: u64,
}

/// Reads the send timestamp out of a message's `attributes` JSON text.
pub fn stamp_of(attributes: &str) -> Option<u64> {
    serde_json::from_str::<Stamp>(attributes).ok().map(|s| s.t)
}

/// A `send` command carrying `t` (µs since the bench started) in its attributes.
pub fn send_frame(id: u64, conversation_sid: &str, body: &str, t: u64, client_id: &str) -> String {
    serde_json::json!({
        "type": "send",
        "id": id,
        "conversation_sid": conversation_sid,
        "body": body,
        "attributes": format!("{{\"t\":{t}}}"),
        "client_message_id": client_id,
    })
    .to_string()
}

/// A `monitor` command (supervisors).
pub fn monitor_frame(id: u64, conversation_sid: &str) -> String {
    serde_json::json!({"type": "monitor", "id": id, "conversation_sid": conversation_sid})
        .to_string()
}
