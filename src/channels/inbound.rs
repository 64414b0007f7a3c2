//! An inbound message from a provider: find the account whose address configuration holds the
//! `To` address, then the open conversation of the (`From`, `To`) pair — or auto-create one
//! with the sender as participant, the address's scoped webhook, and (when the address routes
//! to agents) a Flex interaction whose task reaches an agent. Messages of one pair are taken
//! one at a time, so twenty first messages at once still make exactly one conversation.
//! A provider retry of the same message (same provider message SID) adds nothing. A first
//! message that is refused (a pre-event webhook blocked it) leaves no conversation behind, so
//! the contact's next message starts, and is routed, afresh.

use actix_web::web;

use crate::addresses::{self, AddressRecord};
use crate::api::AppState;
use crate::conversations::commands::{DeleteConversation, PostMessage};
use crate::conversations::drafts::{
    ConversationDraft, MessageDraft, ParticipantDraft, Scope, Source,
};
use crate::conversations::state::{new_conversation, new_participant};
use crate::error::ApiError;
use crate::ids::{AccountSid, ConversationSid, MediaSid, WebhookSid};
use crate::store::records::{MediaRef, MessageRecord, MessagingBinding, now};
use crate::webhooks::config::ScopedWebhook;

/// A message as the provider delivered it.
#[derive(Debug, Clone, Default)]
pub struct InboundMessage {
    /// The customer's address (`+1555…`, `whatsapp:+1555…`).
    pub from: String,
    /// Our address.
    pub to: String,
    /// Text.
    pub body: Option<String>,
    /// The provider's message id (`SM…`); a retry with the same id adds nothing.
    pub provider_sid: Option<String>,
    /// Attachments already stored (`ME…`).
    pub media: Vec<MediaRef>,
    /// Message attributes (JSON text), e.g. attachments the channel limits refused.
    pub attributes: Option<String>,
}

/// What became of an inbound message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The account it was delivered to.
    pub account: AccountSid,
    /// Its conversation.
    pub conversation: ConversationSid,
    /// The message.
    pub message: MessageRecord,
    /// True when this message created the conversation.
    pub created: bool,
}

/// The account and address configuration that own `to`, if any.
pub async fn address_for(
    state: &AppState,
    to: &str,
) -> Result<Option<(AccountSid, AddressRecord)>, ApiError> {
    for account in state.accounts.sids() {
        if let Some(address) = addresses::find(state.store.as_ref(), &account, to).await? {
            return Ok(Some((account, address)));
        }
    }
    Ok(None)
}

/// The service an inbound message of the pair lands in: its open conversation's, else the
/// one the address creates conversations in.
pub async fn service_for(
    state: &AppState,
    account: &AccountSid,
    address: &AddressRecord,
    from: &str,
    to: &str,
) -> Result<crate::ids::ServiceSid, ApiError> {
    if let Some(sid) = state.store.binding_conversation(account, from, to).await?
        && let Some(c) = state.store.load_conversation(&sid).await?
    {
        return Ok(c.record.service_sid);
    }
    match &address.auto_creation.conversation_service_sid {
        Some(s) => Ok(s.clone()),
        None => state
            .accounts
            .default_service(account)
            .await?
            .ok_or(ApiError::Internal),
    }
}

/// Delivers `msg` into its conversation (creating it if needed) as the sender.
pub async fn receive(
    state: &web::Data<AppState>,
    account: &AccountSid,
    address: &AddressRecord,
    msg: InboundMessage,
) -> Result<Received, ApiError> {
    let channel = crate::api::participants::channel_of(&msg.from)?;
    let source = Source::Channel(super::source_name(channel));
    let lock = state
        .channels
        .pair_lock(format!("{account}\n{}\n{}", msg.from, msg.to));
    let _held = lock.lock().await;
    let existing = state
        .store
        .binding_conversation(account, &msg.from, &msg.to)
        .await?;
    let (conversation, service, created) = match existing {
        Some(sid) => {
            let service = state
                .store
                .load_conversation(&sid)
                .await?
                .map(|c| c.record.service_sid)
                .ok_or_else(|| ApiError::NotFound(format!("/Conversations/{sid}")))?;
            (sid, service, false)
        }
        None => {
            let (sid, service) =
                auto_create(state, account, address, channel, source, &msg).await?;
            (sid, service, true)
        }
    };
    let scope = Scope {
        account: account.clone(),
        service,
        identity: None,
        source,
    };
    let draft = MessageDraft {
        author: Some(msg.from.clone()),
        body: msg.body.clone(),
        attributes: msg.attributes.clone(),
        media: (!msg.media.is_empty()).then(|| msg.media.clone()),
        client_message_id: msg.provider_sid.as_ref().map(|s| format!("provider:{s}")),
        ..Default::default()
    };
    let message = post_first(state, scope, &conversation, draft, created).await?;
    if created && routes_to_agents(address) {
        start_interaction(state, account, address, channel, &conversation).await;
    }
    Ok(Received {
        account: account.clone(),
        conversation,
        message,
        created,
    })
}

/// Posts a message into `conversation`. When `created` (the conversation was just made for
/// it) and the message is refused — a pre-event webhook blocked it, or the store failed — the
/// conversation goes again with its participants and scoped webhook, so nothing half-made
/// stays: a contact's next message opens (and routes) a conversation afresh. No webhook is
/// asked about that removal: a pre-event hook must not keep the remains.
pub(crate) async fn post_first(
    state: &web::Data<AppState>,
    scope: Scope,
    conversation: &ConversationSid,
    draft: MessageDraft,
    created: bool,
) -> Result<MessageRecord, ApiError> {
    let cleanup = Scope {
        identity: None,
        source: Source::Api { webhooks: false },
        ..scope.clone()
    };
    let refused = match state
        .registry
        .call(conversation, PostMessage { scope, draft })
        .await
    {
        Ok(message) => return Ok(message),
        Err(e) => e,
    };
    if created
        && let Err(e) = state
            .registry
            .call(conversation, DeleteConversation { scope: cleanup })
            .await
    {
        tracing::error!(conversation_sid = %conversation, error = %e, "removing a conversation whose first message was refused failed");
    }
    Err(refused)
}

/// Whether new conversations of the address go to agents ("Send to Flex").
pub(crate) fn routes_to_agents(address: &AddressRecord) -> bool {
    address.routing.is_some() || address.auto_creation.kind.as_deref() == Some("studio")
}

/// Creates the conversation of a new contact, with the sender and the address's webhook.
async fn auto_create(
    state: &web::Data<AppState>,
    account: &AccountSid,
    address: &AddressRecord,
    channel: &str,
    source: Source,
    msg: &InboundMessage,
) -> Result<(ConversationSid, crate::ids::ServiceSid), ApiError> {
    let auto = &address.auto_creation;
    if !auto.enabled {
        return Err(ApiError::Forbidden(format!(
            "address {} does not auto-create conversations (AutoCreation.Enabled is false)",
            address.address
        )));
    }
    let service = service_of(state, account, address).await?;
    let scope = Scope {
        account: account.clone(),
        service: service.clone(),
        identity: None,
        source,
    };
    let at = now();
    let draft = ConversationDraft {
        friendly_name: Some(msg.from.clone()),
        ..Default::default()
    };
    let record = new_conversation(&scope, draft, at);
    let role = default_role(state, &service).await?;
    let sender = new_participant(
        &record,
        ParticipantDraft {
            binding: Some(MessagingBinding {
                kind: channel.to_owned(),
                address: Some(msg.from.clone()),
                proxy_address: Some(msg.to.clone()),
                projected_address: None,
            }),
            role_sid: role,
            ..Default::default()
        },
        at,
    );
    let sid = record.sid.clone();
    create_with_hook(state, address, record, vec![sender], source).await?;
    Ok((sid, service))
}

/// The conversation service new conversations of `address` go to.
pub(crate) async fn service_of(
    state: &AppState,
    account: &AccountSid,
    address: &AddressRecord,
) -> Result<crate::ids::ServiceSid, ApiError> {
    match &address.auto_creation.conversation_service_sid {
        Some(s) => Ok(s.clone()),
        None => state
            .accounts
            .default_service(account)
            .await?
            .ok_or(ApiError::Internal),
    }
}

/// The role new participants of `service` get.
pub(crate) async fn default_role(
    state: &AppState,
    service: &crate::ids::ServiceSid,
) -> Result<Option<crate::ids::RoleSid>, ApiError> {
    Ok(state
        .store
        .service_config(service)
        .await?
        .map(|c| c.default_conversation_role_sid))
}

/// Creates a new conversation of `address` with its first participants. The address's webhook
/// is attached first, so it hears the conversation's first events, and removed again if the
/// conversation cannot be created.
pub(crate) async fn create_with_hook(
    state: &web::Data<AppState>,
    address: &AddressRecord,
    record: crate::store::records::ConversationRecord,
    participants: Vec<crate::store::records::ParticipantRecord>,
    source: Source,
) -> Result<(), ApiError> {
    let hook = scoped_webhook(
        address,
        &record.sid,
        &record.service_sid,
        record.date_created,
    );
    if let Some(hook) = &hook {
        state.store.submit(vec![hook.put()]).await?;
        state.hooks.directory.put_scoped(hook.clone());
    }
    let sid = record.sid.clone();
    match state.registry.create(record, participants, source).await {
        Ok(_) => Ok(()),
        Err(e) => {
            if let Some(hook) = hook {
                state.hooks.directory.remove_scoped(&sid, &hook.sid);
                let _ = state
                    .store
                    .submit(vec![crate::store::Mutation::DeleteDoc(
                        hook.sid.to_string(),
                    )])
                    .await;
            }
            Err(e)
        }
    }
}

/// The scoped webhook `AutoCreation.Type=webhook` attaches to each new conversation.
fn scoped_webhook(
    address: &AddressRecord,
    conversation: &ConversationSid,
    service: &crate::ids::ServiceSid,
    at: i64,
) -> Option<ScopedWebhook> {
    let auto = &address.auto_creation;
    if auto.kind.as_deref() != Some("webhook") {
        return None;
    }
    let url = auto.webhook_url.clone()?;
    Some(ScopedWebhook {
        sid: WebhookSid::generate(),
        account_sid: address.account_sid.clone(),
        service_sid: service.clone(),
        conversation_sid: conversation.clone(),
        target: "webhook".into(),
        url: Some(url),
        method: auto
            .webhook_method
            .clone()
            .unwrap_or_else(|| "POST".into())
            .to_ascii_uppercase(),
        filters: auto.webhook_filters.clone().unwrap_or_default(),
        triggers: Vec::new(),
        flow_sid: None,
        date_created: at,
        date_updated: at,
    })
}

/// Hands the new conversation to routing, as Studio's "Send to Flex" widget would. A failure
/// is logged: the message is stored and the conversation exists either way.
pub(crate) async fn start_interaction(
    state: &web::Data<AppState>,
    account: &AccountSid,
    address: &AddressRecord,
    channel: &str,
    conversation: &ConversationSid,
) {
    use crate::interactions::create::{ChannelSpec, NewInteraction, create};
    use crate::interactions::routing::RoutingSpec;
    let routing = address.routing.clone().unwrap_or_default();
    let mut attributes = routing.attributes.clone();
    attributes
        .entry("from")
        .or_insert_with(|| serde_json::Value::String(address.address.clone()));
    let request = NewInteraction {
        channel: ChannelSpec {
            channel_type: channel.to_owned(),
            initiated_by: "customer".into(),
            media_channel_sid: Some(conversation.clone()),
            customers: Vec::new(),
        },
        routing: RoutingSpec {
            workspace_sid: routing.workspace_sid.clone(),
            workflow_sid: routing.workflow_sid.clone(),
            task_channel: routing.task_channel.clone(),
            attributes,
            ..Default::default()
        },
        interaction_context_sid: None,
        webhook_ttid: None,
    };
    if let Err(e) = create(state, account, request).await {
        tracing::error!(conversation_sid = %conversation, address = %address.address, error = %e, "routing the new conversation failed");
    }
}

/// Attachments stored from the provider's media URLs, in order.
pub fn media_refs(stored: Vec<(MediaSid, u64, String, Option<String>)>) -> Vec<MediaRef> {
    stored
        .into_iter()
        .map(|(sid, size, content_type, filename)| MediaRef {
            sid,
            size,
            content_type,
            filename,
        })
        .collect()
}
