//! Planning delivery receipts: the pure rules (who may record one, which transitions count),
//! kept apart from the rest of [`Conversation`]'s plans.

use super::events::ConversationEvent;
use super::state::{Conversation, Plan};
use crate::conversations::drafts::Scope;
use crate::error::ApiError;
use crate::ids::ReceiptSid;
use crate::store::Mutation;
use crate::store::delivery::{ReceiptRecord, ReceiptStatus};
use crate::store::records::{MessageRecord, Timestamp};

/// A receipt change to plan.
pub struct ReceiptChange<'a> {
    /// The recipient: participant SID or identity.
    pub participant: &'a str,
    /// The new status.
    pub status: ReceiptStatus,
    /// The channel's message id.
    pub channel_message_sid: Option<String>,
    /// The channel's error code.
    pub error_code: Option<u32>,
}

impl Conversation {
    /// Plans `change` to the receipt of `message` (`existing`: its current receipt for that
    /// participant). `Ok(None)`: the receipt already reached that status, nothing to do.
    pub fn plan_receipt(
        &self,
        scope: &Scope,
        message: &MessageRecord,
        existing: Option<&ReceiptRecord>,
        change: ReceiptChange<'_>,
        now: Timestamp,
    ) -> Result<Option<Plan<(MessageRecord, ReceiptRecord)>>, ApiError> {
        let participant = self.participant(change.participant).ok_or_else(|| {
            ApiError::NotFound(format!(
                "/Conversations/{}/Participants/{}",
                self.record.sid, change.participant
            ))
        })?;
        if let Some(identity) = &scope.identity
            && participant.identity.as_ref() != Some(identity)
        {
            return Err(ApiError::Forbidden(
                "a participant records only its own receipts".into(),
            ));
        }
        if message.participant_sid.as_ref() == Some(&participant.sid) {
            return Err(ApiError::invalid(
                "participant",
                "the author of a message is not one of its recipients",
            ));
        }
        if existing.is_some_and(|r| !r.status.may_become(change.status)) {
            return Ok(None);
        }
        let receipt = ReceiptRecord {
            sid: existing.map_or_else(ReceiptSid::generate, |r| r.sid.clone()),
            account_sid: message.account_sid.clone(),
            service_sid: message.service_sid.clone(),
            conversation_sid: message.conversation_sid.clone(),
            message_sid: message.sid.clone(),
            participant_sid: participant.sid.clone(),
            channel_message_sid: change
                .channel_message_sid
                .or_else(|| existing.and_then(|r| r.channel_message_sid.clone())),
            status: change.status,
            error_code: change.error_code,
            date_created: existing.map_or(now, |r| r.date_created),
            date_updated: now,
        };
        let mut message = message.clone();
        message
            .delivery
            .get_or_insert_with(Default::default)
            .apply(existing.map(|r| r.status), change.status);
        Ok(Some(Plan {
            value: (message.clone(), receipt.clone()),
            mutations: vec![
                Mutation::PutReceipt(receipt.clone()),
                Mutation::UpdateMessage(message.clone()),
            ],
            events: vec![ConversationEvent::DeliveryUpdated { message, receipt }],
            conversation: None,
        }))
    }
}
