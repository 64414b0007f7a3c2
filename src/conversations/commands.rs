//! The messages [`ConversationActor`](super::actor::ConversationActor) accepts. REST and the
//! WebSocket gateway send the same messages: one path, one set of rules. Each is `Clone` so a
//! call can be retried on a fresh actor if the old one was stopping.

use actix::Message;

use super::drafts::*;
use crate::error::ApiError;
use crate::store::delivery::{ReceiptRecord, ReceiptStatus};
use crate::store::records::{ConversationRecord, MessageRecord, ParticipantRecord};

/// Persists a brand-new conversation (and its first participants) as the actor's first act.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(ConversationRecord, Vec<ParticipantRecord>), ApiError>")]
pub struct Create {
    /// The conversation.
    pub record: ConversationRecord,
    /// Participants created with it (ConversationWithParticipants).
    pub participants: Vec<ParticipantRecord>,
    /// Where the creation comes from (decides its webhooks).
    pub source: super::drafts::Source,
}

/// Changes fields or the state of the conversation.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ConversationRecord, ApiError>")]
pub struct UpdateConversation {
    /// Caller's account and service.
    pub scope: Scope,
    /// What to change.
    pub changes: ConversationChanges,
}

/// Deletes the conversation with everything in it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ApiError>")]
pub struct DeleteConversation {
    /// Caller's account and service.
    pub scope: Scope,
}

/// Applies state timers that are due (sent by the timer task).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ApiError>")]
pub struct ApplyTimers;

/// Adds a participant.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ParticipantRecord, ApiError>")]
pub struct AddParticipant {
    /// Caller's account and service.
    pub scope: Scope,
    /// The participant.
    pub draft: ParticipantDraft,
}

/// Changes a participant (found by SID or identity).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ParticipantRecord, ApiError>")]
pub struct UpdateParticipant {
    /// Caller's account and service.
    pub scope: Scope,
    /// Participant SID or identity.
    pub key: String,
    /// What to change.
    pub changes: ParticipantChanges,
}

/// Removes a participant (found by SID or identity).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ParticipantRecord, ApiError>")]
pub struct RemoveParticipant {
    /// Caller's account and service.
    pub scope: Scope,
    /// Participant SID or identity.
    pub key: String,
}

/// Adds a message at the next index; answered after it is durable.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<MessageRecord, ApiError>")]
pub struct PostMessage {
    /// Caller's account and service.
    pub scope: Scope,
    /// The message.
    pub draft: MessageDraft,
}

/// Edits a message (found by SID or index).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<MessageRecord, ApiError>")]
pub struct EditMessage {
    /// Caller's account and service.
    pub scope: Scope,
    /// Message SID or index.
    pub key: String,
    /// What to change.
    pub changes: MessageChanges,
}

/// Deletes a message (found by SID or index); its index is not reused.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ApiError>")]
pub struct DeleteMessage {
    /// Caller's account and service.
    pub scope: Scope,
    /// Message SID or index.
    pub key: String,
}

/// Announces that the scope's identity is typing: checked and published, never stored.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ApiError>")]
pub struct Typing {
    /// Caller's account, service and identity (required).
    pub scope: Scope,
}

/// Records a recipient's delivery receipt of a message (channels, or a chat client confirming
/// delivery). A status the receipt already reached (or passed) changes nothing.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(MessageRecord, ReceiptRecord), ApiError>")]
pub struct RecordReceipt {
    /// Caller's account and service (with an identity: only its own receipts).
    pub scope: Scope,
    /// Message SID or index.
    pub message: String,
    /// The recipient: participant SID or identity.
    pub participant: String,
    /// The new status.
    pub status: ReceiptStatus,
    /// The channel's message id.
    pub channel_message_sid: Option<String>,
    /// The channel's error code.
    pub error_code: Option<u32>,
    /// Committed in the receipt's unit when the command succeeds (the outbox job the receipt
    /// settles), and on their own when the receipt was already there.
    pub with: Vec<crate::store::Mutation>,
}
