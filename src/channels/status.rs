//! Provider status callbacks → delivery receipts. Twilio's `MessageStatus` moves through
//! `queued`, `sending`, `sent`, `delivered`, `read`, or ends `failed`/`undelivered`; the states
//! before `sent` change nothing, the others become the recipient's receipt (and with it the
//! message's `delivery` summary and an `onDeliveryUpdated` webhook).

use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::{ConversationSid, MessageSid, ParticipantSid, ServiceSid};
use crate::store::delivery::ReceiptStatus;
use crate::store::outbox::ChannelSendJob;

/// Which message and recipient a status concerns (carried in our `StatusCallback` URL).
#[derive(Debug, Clone)]
pub struct StatusTarget {
    /// The conversation's service.
    pub service: ServiceSid,
    /// The conversation.
    pub conversation: ConversationSid,
    /// The message.
    pub message: MessageSid,
    /// The recipient.
    pub participant: ParticipantSid,
}

/// Applies a provider status to the recipient's receipt. Unknown or early statuses are
/// accepted and ignored, as a provider expects a 2xx for every callback.
pub async fn apply(
    state: &AppState,
    target: &StatusTarget,
    status: &str,
    provider_sid: Option<String>,
    error_code: Option<u32>,
) -> Result<(), ApiError> {
    let Some(status) = ReceiptStatus::parse(&status.to_ascii_lowercase()) else {
        return Ok(());
    };
    let conversation = state
        .store
        .load_conversation(&target.conversation)
        .await?
        .filter(|c| c.record.service_sid == target.service)
        .ok_or_else(|| ApiError::NotFound(format!("/Conversations/{}", target.conversation)))?;
    let participant = conversation
        .participants
        .iter()
        .find(|p| p.sid == target.participant)
        .and_then(|p| p.messaging_binding.as_ref()?.address.clone())
        .unwrap_or_default();
    let job = ChannelSendJob {
        service_sid: target.service.clone(),
        conversation_sid: target.conversation.clone(),
        message_sid: target.message.clone(),
        participant_sid: target.participant.clone(),
        from: String::new(),
        to: participant,
        body: None,
        media: Vec::new(),
    };
    let account = conversation.record.account_sid;
    super::outbound::record(state, &account, &job, status, provider_sid, error_code).await;
    Ok(())
}
