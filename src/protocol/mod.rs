//! Every type that crosses the WebSocket boundary (docs/protocol.md, version [`VERSION`]):
//! client commands, server answers and events, and the objects inside them. Serde only, no
//! logic: the gateway decides what to send, this module decides how it looks.

mod objects;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use objects::{Conversation, Message, Participant, Receipt, Session, Summary};

use crate::conversations::events::ConversationEvent;
use crate::error::ApiError;
use crate::ids::{ConversationSid, MediaSid, ReservationSid};

/// The protocol version this server speaks.
pub const VERSION: u32 = 1;

/// A client frame: the correlation id plus the command.
#[derive(Debug, Deserialize)]
pub struct Frame {
    /// Chosen by the client (string or number); echoed in the answer.
    #[serde(default)]
    pub id: Value,
    /// What to do.
    #[serde(flatten)]
    pub command: Command,
}

/// Only the id of a frame that failed to parse, so the error can still be correlated.
#[derive(Debug, Deserialize)]
pub struct FrameId {
    /// As sent.
    #[serde(default)]
    pub id: Value,
}

/// A client command (`type` on the wire).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Authenticate (unless the URL had the token) and start receiving events.
    Hello {
        /// Protocol version the client speaks.
        protocol: Option<u32>,
        /// Access token (when not in the URL).
        token: Option<String>,
        /// Highest message index seen per conversation, to catch up from (-1: none seen).
        #[serde(default)]
        resume: std::collections::BTreeMap<ConversationSid, i64>,
    },
    /// List the session's conversations.
    Conversations,
    /// Post a message as the session's identity.
    Send {
        /// Where.
        conversation_sid: ConversationSid,
        /// Text.
        body: Option<String>,
        /// JSON text.
        attributes: Option<String>,
        /// Uploaded attachments.
        media_sids: Option<Vec<MediaSid>>,
        /// Makes a retried send create one message.
        client_message_id: Option<String>,
    },
    /// Edit an own message.
    Edit {
        /// Where.
        conversation_sid: ConversationSid,
        /// Which message.
        index: u64,
        /// New text.
        body: Option<String>,
        /// New JSON text.
        attributes: Option<String>,
    },
    /// Delete an own message.
    Delete {
        /// Where.
        conversation_sid: ConversationSid,
        /// Which message.
        index: u64,
    },
    /// Signal typing.
    Typing {
        /// Where.
        conversation_sid: ConversationSid,
    },
    /// Confirm a message reached this client (a `delivered` receipt).
    Delivered {
        /// Where.
        conversation_sid: ConversationSid,
        /// Which message.
        index: u64,
    },
    /// Move the read horizon.
    Read {
        /// Where.
        conversation_sid: ConversationSid,
        /// Last message read.
        index: u64,
    },
    /// Page backwards through messages.
    History {
        /// Where.
        conversation_sid: ConversationSid,
        /// Only indexes below this one (default: up to the newest).
        before: Option<u64>,
        /// Page size, 1–100 (default 30).
        limit: Option<u32>,
    },
    /// Everyone in a conversation the session sees (participant or monitor).
    Participants {
        /// Where.
        conversation_sid: ConversationSid,
    },
    /// Supervisors: receive a conversation's events without being a participant.
    Monitor {
        /// Which.
        conversation_sid: ConversationSid,
        /// Catch up after this index (-1: from the first message).
        after_index: Option<i64>,
    },
    /// Stop monitoring.
    Unmonitor {
        /// Which.
        conversation_sid: ConversationSid,
    },
    /// Supervisors: become a visible participant.
    Join {
        /// Which.
        conversation_sid: ConversationSid,
    },
    /// Stop being a participant.
    Leave {
        /// Which.
        conversation_sid: ConversationSid,
    },
    /// Replace the session's token before it expires.
    Renew {
        /// The new token.
        token: String,
    },
    /// Application-level liveness check.
    Ping,
    /// Agents: the session's worker with its activity, channels and live reservations.
    Worker,
    /// Agents: change the worker's activity (by SID or name).
    Activity {
        /// `WA…`
        activity_sid: Option<String>,
        /// e.g. `Available`.
        activity_name: Option<String>,
    },
    /// Agents: take an offered task.
    Accept {
        /// Which offer.
        reservation_sid: ReservationSid,
    },
    /// Agents: decline an offer, optionally moving to another activity.
    Reject {
        /// Which offer.
        reservation_sid: ReservationSid,
        /// New activity (`WA…`).
        activity_sid: Option<String>,
    },
    /// Agents: start wrap-up of an accepted task.
    Wrapup {
        /// Which reservation.
        reservation_sid: ReservationSid,
    },
    /// Agents: finish a task.
    Complete {
        /// Which reservation.
        reservation_sid: ReservationSid,
    },
    /// Supervisors: the workspace's live statistics now (they also arrive as events).
    Statistics,
}

/// A server frame.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a, D: Serialize = Value> {
    /// A command succeeded.
    Reply {
        /// The command's id.
        id: &'a Value,
        /// Command-specific result.
        result: D,
    },
    /// A command was refused.
    Error {
        /// The command's id (null when the frame could not be read).
        id: &'a Value,
        /// Why.
        error: ErrorObject,
    },
    /// Something happened.
    Event {
        /// Event name.
        event: &'static str,
        /// The conversation, for conversation events.
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation_sid: Option<&'a ConversationSid>,
        /// Event-specific data.
        data: D,
    },
}

/// The error object of an `error` frame: the REST API's code and status.
#[derive(Debug, Serialize)]
pub struct ErrorObject {
    /// Twilio numeric code.
    pub code: u32,
    /// HTTP status equivalent.
    pub status: u16,
    /// Explanation.
    pub message: String,
}

impl From<&ApiError> for ErrorObject {
    fn from(err: &ApiError) -> Self {
        let (status, code) = err.status_and_code();
        ErrorObject {
            code,
            status: status.as_u16(),
            message: err.to_string(),
        }
    }
}

impl<D: Serialize> ServerFrame<'_, D> {
    /// The frame as JSON text.
    pub fn encode(&self) -> ByteString {
        // Serialising plain structs and `Value`s into a string cannot fail.
        ByteString::from(serde_json::to_string(self).unwrap_or_default())
    }
}

/// A reply frame.
pub fn reply(id: &Value, result: Value) -> ByteString {
    ServerFrame::Reply { id, result }.encode()
}

/// An error frame.
pub fn error(id: &Value, err: &ApiError) -> ByteString {
    let frame: ServerFrame<'_> = ServerFrame::Error {
        id,
        error: err.into(),
    };
    frame.encode()
}

/// A conversation event frame (`conversation_sid` set).
pub fn conversation_event<D: Serialize>(
    event: &'static str,
    conversation_sid: &ConversationSid,
    data: D,
) -> ByteString {
    ServerFrame::Event {
        event,
        conversation_sid: Some(conversation_sid),
        data,
    }
    .encode()
}

/// A session event frame (no conversation).
pub fn session_event<D: Serialize>(event: &'static str, data: D) -> ByteString {
    ServerFrame::Event {
        event,
        conversation_sid: None,
        data,
    }
    .encode()
}

/// The frame of a committed (or ephemeral) conversation event.
pub fn event_frame(event: &ConversationEvent, typing_timeout_ms: u64) -> ByteString {
    use ConversationEvent::*;
    // Each branch serialises its wire object straight into the frame (no `Value` in between):
    // this runs once per event, shared by every subscriber.
    let sid = event.conversation_sid();
    match event {
        ConversationAdded(c) => {
            conversation_event("conversation_added", sid, Conversation::from(c))
        }
        ConversationUpdated(c) => {
            conversation_event("conversation_updated", sid, Conversation::from(c))
        }
        StateUpdated {
            conversation,
            from,
            reason,
        } => conversation_event(
            "conversation_state_updated",
            sid,
            serde_json::json!({
                "conversation": Conversation::from(conversation),
                "from": from.as_str(),
                "reason": reason.as_str(),
            }),
        ),
        ConversationRemoved(c) => {
            conversation_event("conversation_removed", sid, Conversation::from(c))
        }
        ParticipantAdded(p) => conversation_event("participant_added", sid, Participant::from(p)),
        ParticipantUpdated(p) => {
            conversation_event("participant_updated", sid, Participant::from(p))
        }
        ParticipantRemoved(p) => {
            conversation_event("participant_removed", sid, Participant::from(p))
        }
        MessageAdded(m) => conversation_event("message_added", sid, Message::from(m)),
        MessageUpdated(m) => conversation_event("message_updated", sid, Message::from(m)),
        MessageRemoved(m) => conversation_event("message_removed", sid, Message::from(m)),
        DeliveryUpdated { message, receipt } => conversation_event(
            "delivery_updated",
            sid,
            serde_json::json!({
                "message": Message::from(message),
                "receipt": Receipt::from(receipt),
            }),
        ),
        Typing(p) => conversation_event(
            "typing",
            sid,
            serde_json::json!({
                "participant_sid": p.sid,
                "identity": p.identity,
                "timeout_ms": typing_timeout_ms,
            }),
        ),
    }
}

/// A wire object as JSON (serialising plain structs cannot fail).
pub fn json<T: Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod golden;
