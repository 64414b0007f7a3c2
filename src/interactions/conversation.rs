//! What interactions ask of conversations, always through the conversation actor's messages:
//! create an outbound conversation with its customer, add or remove an agent, close it, and
//! find the customer of an existing one.

use crate::api::AppState;
use crate::conversations::commands::{AddParticipant, RemoveParticipant, UpdateConversation};
use crate::conversations::drafts::{
    ConversationChanges, ConversationDraft, ParticipantDraft, Scope, Source,
};
use crate::conversations::state::{new_conversation, new_participant};
use crate::error::ApiError;
use crate::ids::{AccountSid, ConversationSid, RoleSid, ServiceSid};
use crate::store::records::{ConversationRecord, ConversationState, MessagingBinding, now};

fn scope(account: &AccountSid, service: &ServiceSid) -> Scope {
    Scope::internal(account.clone(), service.clone())
}

async fn default_role(state: &AppState, service: &ServiceSid) -> Result<Option<RoleSid>, ApiError> {
    Ok(state
        .store
        .service_config(service)
        .await?
        .map(|c| c.default_conversation_role_sid))
}

/// A customer of an outbound interaction: an address pair, or a chat identity.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Chat identity (web/chat).
    pub identity: Option<String>,
    /// Messaging binding (sms/whatsapp/messenger).
    pub binding: Option<MessagingBinding>,
    /// Display name, if given.
    pub name: Option<String>,
}

impl Customer {
    /// The address (or identity) Flex shows as `customerAddress`.
    pub fn address(&self) -> Option<String> {
        self.binding
            .as_ref()
            .and_then(|b| b.address.clone())
            .or_else(|| self.identity.clone())
    }
}

/// Creates a conversation in the account's default service with its customers.
pub async fn create_outbound(
    state: &AppState,
    account: &AccountSid,
    customers: Vec<Customer>,
) -> Result<ConversationRecord, ApiError> {
    let service = state
        .accounts
        .default_service(account)
        .await?
        .ok_or(ApiError::Internal)?;
    let at = now();
    let record = new_conversation(&scope(account, &service), ConversationDraft::default(), at);
    let role = default_role(state, &service).await?;
    let participants = customers
        .into_iter()
        .map(|c| {
            new_participant(
                &record,
                ParticipantDraft {
                    identity: c.identity,
                    binding: c.binding,
                    role_sid: role.clone(),
                    ..Default::default()
                },
                at,
            )
        })
        .collect();
    let (record, _) = state
        .registry
        .create(record, participants, Source::Api { webhooks: false })
        .await?;
    Ok(record)
}

/// A conversation of the account by SID.
pub async fn find(
    state: &AppState,
    account: &AccountSid,
    sid: &ConversationSid,
) -> Result<Option<crate::store::records::LoadedConversation>, ApiError> {
    Ok(state
        .store
        .load_conversation(sid)
        .await?
        .filter(|c| &c.record.account_sid == account))
}

/// Adds a chat participant unless the identity already is one; returns its SID. `name` is
/// the name the others see (`friendlyName` in its attributes, as webchat shows it).
pub async fn add_agent(
    state: &AppState,
    account: &AccountSid,
    service: &ServiceSid,
    conversation: &ConversationSid,
    identity: &str,
    name: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(p) = state.store.participant(conversation, identity).await? {
        return Ok(p.sid.to_string());
    }
    let draft = ParticipantDraft {
        identity: Some(identity.to_owned()),
        attributes: name.map(|n| serde_json::json!({ "friendlyName": n }).to_string()),
        role_sid: default_role(state, service).await?,
        ..Default::default()
    };
    let added = state
        .registry
        .call(
            conversation,
            AddParticipant {
                scope: scope(account, service),
                draft,
            },
        )
        .await;
    match added {
        Ok(p) => Ok(p.sid.to_string()),
        // Lost a race with another accept of the same identity: it is a participant now.
        Err(ApiError::ParticipantIdentityTaken) => Ok(state
            .store
            .participant(conversation, identity)
            .await?
            .map(|p| p.sid.to_string())
            .unwrap_or_default()),
        Err(e) => Err(e),
    }
}

/// Removes a participant (gone already is fine).
pub async fn remove(
    state: &AppState,
    account: &AccountSid,
    service: &ServiceSid,
    conversation: &ConversationSid,
    key: &str,
) -> Result<(), ApiError> {
    let removed = state
        .registry
        .call(
            conversation,
            RemoveParticipant {
                scope: scope(account, service),
                key: key.to_owned(),
            },
        )
        .await;
    match removed {
        Ok(_) | Err(ApiError::NotFound(_)) | Err(ApiError::ConversationClosed(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Closes the conversation (already closed or deleted is fine).
pub async fn close(
    state: &AppState,
    account: &AccountSid,
    service: &ServiceSid,
    conversation: &ConversationSid,
) -> Result<(), ApiError> {
    let closed = state
        .registry
        .call(
            conversation,
            UpdateConversation {
                scope: scope(account, service),
                changes: ConversationChanges {
                    state: Some(ConversationState::Closed),
                    ..Default::default()
                },
            },
        )
        .await;
    match closed {
        Ok(_) | Err(ApiError::NotFound(_)) | Err(ApiError::ConversationClosed(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Adds a messaging participant (address + proxy address); returns its SID.
pub async fn add_customer(
    state: &AppState,
    account: &AccountSid,
    service: &ServiceSid,
    conversation: &ConversationSid,
    address: String,
    proxy: String,
) -> Result<String, ApiError> {
    let kind = crate::api::participants::channel_of(&address)?;
    if crate::api::participants::channel_of(&proxy)? != kind {
        return Err(ApiError::InvalidBindingAddress(proxy));
    }
    let draft = ParticipantDraft {
        binding: Some(MessagingBinding {
            kind: kind.into(),
            address: Some(address),
            proxy_address: Some(proxy),
            projected_address: None,
        }),
        role_sid: default_role(state, service).await?,
        ..Default::default()
    };
    let p = state
        .registry
        .call(
            conversation,
            AddParticipant {
                scope: scope(account, service),
                draft,
            },
        )
        .await?;
    Ok(p.sid.to_string())
}
