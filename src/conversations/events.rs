//! Events a conversation emits after a change has committed, in commit order. The gateway will
//! fan them out to sessions, the webhook dispatcher to post-event hooks, channel adapters to
//! SMS/WhatsApp participants. Past tense, fire-and-forget.

use crate::ids::{ConversationSid, ServiceSid};
use crate::store::delivery::ReceiptRecord;
use crate::store::records::{
    ConversationRecord, ConversationState, MessageRecord, ParticipantRecord,
};

/// Why a conversation changed state (Twilio's `Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateReason {
    /// A REST or SDK call.
    Api,
    /// A state timer fired.
    Timer,
    /// Activity (a new message) reactivated it.
    Event,
}

impl StateReason {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateReason::Api => "API",
            StateReason::Timer => "TIMER",
            StateReason::Event => "EVENT",
        }
    }
}

/// Something that happened to one conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationEvent {
    /// Created.
    ConversationAdded(ConversationRecord),
    /// Fields changed.
    ConversationUpdated(ConversationRecord),
    /// State changed.
    StateUpdated {
        /// The conversation after the change.
        conversation: ConversationRecord,
        /// Previous state.
        from: ConversationState,
        /// Why.
        reason: StateReason,
    },
    /// Deleted.
    ConversationRemoved(ConversationRecord),
    /// A participant joined.
    ParticipantAdded(ParticipantRecord),
    /// A participant changed (including its read horizon).
    ParticipantUpdated(ParticipantRecord),
    /// A participant left.
    ParticipantRemoved(ParticipantRecord),
    /// A message was added.
    MessageAdded(MessageRecord),
    /// A message was edited.
    MessageUpdated(MessageRecord),
    /// A message was deleted.
    MessageRemoved(MessageRecord),
    /// A participant is typing (ephemeral: never stored, no webhook).
    Typing(ParticipantRecord),
    /// A recipient's delivery receipt changed (and with it the message's summary).
    DeliveryUpdated {
        /// The message with its new delivery counts.
        message: MessageRecord,
        /// The receipt.
        receipt: ReceiptRecord,
    },
}

impl ConversationEvent {
    /// The conversation the event belongs to.
    pub fn conversation_sid(&self) -> &ConversationSid {
        use ConversationEvent::*;
        match self {
            ConversationAdded(c) | ConversationUpdated(c) | ConversationRemoved(c) => &c.sid,
            StateUpdated { conversation, .. } => &conversation.sid,
            ParticipantAdded(p) | ParticipantUpdated(p) | ParticipantRemoved(p) | Typing(p) => {
                &p.conversation_sid
            }
            MessageAdded(m) | MessageUpdated(m) | MessageRemoved(m) => &m.conversation_sid,
            DeliveryUpdated { message, .. } => &message.conversation_sid,
        }
    }

    /// The service of the event's conversation.
    pub fn service_sid(&self) -> &ServiceSid {
        use ConversationEvent::*;
        match self {
            ConversationAdded(c) | ConversationUpdated(c) | ConversationRemoved(c) => {
                &c.service_sid
            }
            StateUpdated { conversation, .. } => &conversation.service_sid,
            ParticipantAdded(p) | ParticipantUpdated(p) | ParticipantRemoved(p) | Typing(p) => {
                &p.service_sid
            }
            MessageAdded(m) | MessageUpdated(m) | MessageRemoved(m) => &m.service_sid,
            DeliveryUpdated { message, .. } => &message.service_sid,
        }
    }

    /// Twilio's post-event name for this event (none for ephemeral events).
    pub fn webhook_name(&self) -> Option<&'static str> {
        use ConversationEvent::*;
        Some(match self {
            ConversationAdded(_) => "onConversationAdded",
            ConversationUpdated(_) => "onConversationUpdated",
            StateUpdated { .. } => "onConversationStateUpdated",
            ConversationRemoved(_) => "onConversationRemoved",
            ParticipantAdded(_) => "onParticipantAdded",
            ParticipantUpdated(_) => "onParticipantUpdated",
            ParticipantRemoved(_) => "onParticipantRemoved",
            MessageAdded(_) => "onMessageAdded",
            MessageUpdated(_) => "onMessageUpdated",
            MessageRemoved(_) => "onMessageRemoved",
            DeliveryUpdated { .. } => "onDeliveryUpdated",
            Typing(_) => return None,
        })
    }

    /// The chat identity whose own participation this event adds or removes, so sessions of
    /// that identity learn about conversations they were just added to.
    pub fn participation_of(&self) -> Option<&str> {
        match self {
            ConversationEvent::ParticipantAdded(p) | ConversationEvent::ParticipantRemoved(p) => {
                p.identity.as_deref()
            }
            _ => None,
        }
    }
}
