//! Web chat (Flex `POST /v2/WebChats`): a `chat` address configuration is the deployment key of
//! a webchat widget. Starting a chat creates the conversation in the address's service with the
//! customer as a chat participant (name and pre-engagement data in its attributes), attaches
//! the address's webhook, posts the customer's question as the first message, and — when the
//! address routes to agents — hands the conversation to Flex as a `web` interaction.

use actix_web::web;
use serde_json::{Map, Value, json};

use super::inbound::{
    create_with_hook, default_role, post_first, routes_to_agents, service_of, start_interaction,
};
use crate::addresses::AddressRecord;
use crate::api::AppState;
use crate::conversations::drafts::{
    ConversationDraft, MessageDraft, ParticipantDraft, Scope, Source,
};
use crate::conversations::state::{new_conversation, new_participant};
use crate::error::ApiError;
use crate::ids::{AccountSid, ConversationSid, ServiceSid};
use crate::store::records::now;

/// Longest customer name accepted.
pub const MAX_NAME_CHARS: usize = 64;

/// A chat to start.
#[derive(Debug, Clone, Default)]
pub struct NewWebChat {
    /// The conversation's friendly name (default: the customer's name).
    pub chat_friendly_name: Option<String>,
    /// The customer's display name.
    pub customer_friendly_name: Option<String>,
    /// What the pre-engagement form collected (a JSON object).
    pub pre_engagement_data: Map<String, Value>,
    /// The customer's chat identity (generated when absent).
    pub identity: Option<String>,
    /// Posted as the customer's first message.
    pub first_message: Option<String>,
}

/// A started chat.
#[derive(Debug, Clone)]
pub struct StartedChat {
    /// The conversation.
    pub conversation: ConversationSid,
    /// Its service.
    pub service: ServiceSid,
    /// The customer's chat identity.
    pub identity: String,
}

/// A fresh guest identity: `guest-` and 24 random hex digits.
fn guest_identity() -> String {
    format!("guest-{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// Starts a chat on `address` (which must be a `chat` address of `account`).
pub async fn start(
    state: &web::Data<AppState>,
    account: &AccountSid,
    address: &AddressRecord,
    chat: NewWebChat,
) -> Result<StartedChat, ApiError> {
    if address.kind != "chat" {
        return Err(ApiError::invalid(
            "AddressSid",
            format!(
                "{} is a {} address; web chats need a chat address",
                address.sid, address.kind
            ),
        ));
    }
    if !address.auto_creation.enabled {
        return Err(ApiError::Forbidden(format!(
            "address {} does not auto-create conversations (AutoCreation.Enabled is false)",
            address.sid
        )));
    }
    let identity = chat.identity.clone().unwrap_or_else(guest_identity);
    let name = chat
        .customer_friendly_name
        .clone()
        .unwrap_or_else(|| "Customer".into());
    let service = service_of(state, account, address).await?;
    let scope = Scope {
        account: account.clone(),
        service: service.clone(),
        identity: None,
        source: Source::Api { webhooks: true },
    };
    let at = now();
    let draft = ConversationDraft {
        friendly_name: Some(
            chat.chat_friendly_name
                .clone()
                .unwrap_or_else(|| name.clone()),
        ),
        attributes: Some(json!({ "pre_engagement_data": chat.pre_engagement_data }).to_string()),
        ..Default::default()
    };
    let record = new_conversation(&scope, draft, at);
    let role = default_role(state, &service).await?;
    let customer = new_participant(
        &record,
        ParticipantDraft {
            identity: Some(identity.clone()),
            attributes: Some(
                json!({ "friendlyName": name, "pre_engagement_data": chat.pre_engagement_data })
                    .to_string(),
            ),
            role_sid: role,
            ..Default::default()
        },
        at,
    );
    let conversation = record.sid.clone();
    create_with_hook(
        state,
        address,
        record,
        vec![customer],
        Source::Api { webhooks: true },
    )
    .await?;
    if let Some(body) = chat.first_message.filter(|b| !b.trim().is_empty()) {
        let scope = Scope {
            identity: Some(identity.clone()),
            source: Source::Sdk,
            ..scope
        };
        let draft = MessageDraft {
            author: Some(identity.clone()),
            body: Some(body),
            ..Default::default()
        };
        // A chat whose question was refused is not started: nothing stays behind.
        post_first(state, scope, &conversation, draft, true).await?;
    }
    if routes_to_agents(address) {
        let mut address = address.clone();
        let routing = address.routing.get_or_insert_with(Default::default);
        routing
            .attributes
            .entry("pre_engagement_data")
            .or_insert(Value::Object(chat.pre_engagement_data));
        start_interaction(state, account, &address, "web", &conversation).await;
    }
    Ok(StartedChat {
        conversation,
        service,
        identity,
    })
}
