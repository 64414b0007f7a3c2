//! `POST /v1/Interactions`: parses the `Channel` object, binds an existing conversation
//! (inbound, `properties.media_channel_sid`) or creates one with its customer (outbound,
//! `initiated_by` agent/api), then stores the interaction, its channel and first invite and
//! creates the task. The channel is stored before the task exists, so an accept that comes
//! at once already finds it.

use actix_web::web;
use serde_json::Value;

use super::conversation::{self, Customer};
use super::records::{Channel, Interaction, Invite};
use super::routing::{self, RoutingSpec};
use super::watcher;
use crate::api::AppState;
use crate::api::participants::channel_of;
use crate::error::ApiError;
use crate::ids::*;
use crate::store::records::{MessagingBinding, now};

/// Channel types Flex knows.
pub const CHANNEL_TYPES: [&str; 8] = [
    "sms",
    "whatsapp",
    "web",
    "chat",
    "email",
    "messenger",
    "gbm",
    "voice",
];

/// A parsed `Channel` parameter.
#[derive(Debug, Clone)]
pub struct ChannelSpec {
    /// Channel type.
    pub channel_type: String,
    /// `customer`, `agent` or `api` (lowercased).
    pub initiated_by: String,
    /// Conversation to bind (inbound).
    pub media_channel_sid: Option<ConversationSid>,
    /// Customers to add (outbound).
    pub customers: Vec<Customer>,
}

impl ChannelSpec {
    /// Outbound: an agent or the API started it.
    pub fn outbound(&self) -> bool {
        self.initiated_by != "customer"
    }
}

fn customer(channel_type: &str, v: &Value) -> Result<Customer, ApiError> {
    let bad = |why: &str| ApiError::invalid("Channel", format!("participants: {why}"));
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = s("name").or_else(|| s("friendly_name"));
    if let Some(identity) = s("identity") {
        return Ok(Customer {
            identity: Some(identity),
            binding: None,
            name,
        });
    }
    let Some(address) = s("address") else {
        return Err(bad("each needs an address (or an identity)"));
    };
    let proxy = s("proxy_address");
    let messaging = matches!(channel_type, "sms" | "whatsapp" | "messenger");
    match proxy {
        None if messaging => Err(bad("proxy_address is required for messaging channels")),
        None => Ok(Customer {
            identity: Some(address),
            binding: None,
            name,
        }),
        Some(proxy) => {
            let kind = channel_of(&address)?;
            if channel_of(&proxy)? != kind {
                return Err(ApiError::InvalidBindingAddress(proxy));
            }
            Ok(Customer {
                identity: None,
                binding: Some(MessagingBinding {
                    kind: kind.into(),
                    address: Some(address),
                    proxy_address: Some(proxy),
                    projected_address: None,
                }),
                name,
            })
        }
    }
}

/// Parses a `Channel` parameter.
pub fn parse_channel(text: &str) -> Result<ChannelSpec, ApiError> {
    let root = Value::Object(routing::json_object("Channel", text)?);
    let channel_type = root
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| ApiError::invalid("Channel", "type is required"))?;
    if !CHANNEL_TYPES.contains(&channel_type.as_str()) {
        return Err(ApiError::invalid(
            "Channel",
            format!("type must be one of {}", CHANNEL_TYPES.join(", ")),
        ));
    }
    let initiated_by = root
        .get("initiated_by")
        .and_then(Value::as_str)
        .unwrap_or("customer")
        .to_ascii_lowercase();
    if !matches!(initiated_by.as_str(), "customer" | "agent" | "api") {
        return Err(ApiError::invalid(
            "Channel",
            "initiated_by must be customer, agent or api",
        ));
    }
    let media_channel_sid = match root.pointer("/properties/media_channel_sid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse().map_err(|_| {
            ApiError::invalid(
                "Channel",
                "properties.media_channel_sid is not a conversation SID",
            )
        })?),
        Some(_) => {
            return Err(ApiError::invalid(
                "Channel",
                "properties.media_channel_sid must be a string",
            ));
        }
    };
    let customers = match root.get("participants") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|p| customer(&channel_type, p))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::invalid("Channel", "participants must be a list")),
    };
    let spec = ChannelSpec {
        channel_type,
        initiated_by,
        media_channel_sid,
        customers,
    };
    if spec.media_channel_sid.is_none() && !spec.outbound() {
        return Err(ApiError::invalid(
            "Channel",
            "properties.media_channel_sid is required when the customer initiated the interaction",
        ));
    }
    if spec.media_channel_sid.is_none() && spec.customers.is_empty() {
        return Err(ApiError::invalid(
            "Channel",
            "participants is required to start an outbound interaction",
        ));
    }
    Ok(spec)
}

/// What `POST /v1/Interactions` got.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    /// `Channel`.
    pub channel: ChannelSpec,
    /// `Routing`.
    pub routing: RoutingSpec,
    /// `InteractionContextSid`.
    pub interaction_context_sid: Option<String>,
    /// `WebhookTtid`.
    pub webhook_ttid: Option<String>,
}

/// The customer of a bound conversation: its first messaging participant, else its first
/// chat participant.
async fn existing_customer(
    state: &AppState,
    account: &AccountSid,
    sid: &ConversationSid,
) -> Result<(ServiceSid, Option<String>, Option<String>), ApiError> {
    let loaded = conversation::find(state, account, sid)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "Channel",
                format!("properties.media_channel_sid {sid} is not a conversation of this account"),
            )
        })?;
    let ps = &loaded.participants;
    let address = ps
        .iter()
        .find_map(|p| {
            let b = p.messaging_binding.as_ref()?;
            b.address.clone().or_else(|| b.projected_address.clone())
        })
        .or_else(|| ps.iter().find_map(|p| p.identity.clone()));
    // A webchat customer's name is in its attributes (`friendlyName`, from the pre-engagement
    // form); other customers are known by their address.
    let name = ps
        .iter()
        .find_map(|p| {
            let attrs: serde_json::Value = serde_json::from_str(&p.attributes).ok()?;
            attrs.get("friendlyName")?.as_str().map(str::to_owned)
        })
        .or_else(|| address.clone());
    Ok((loaded.record.service_sid, address, name))
}

/// Creates the interaction; answers it, its channel and the task echo.
pub async fn create(
    state: &web::Data<AppState>,
    account: &AccountSid,
    req: NewInteraction,
) -> Result<(Interaction, Channel, Value), ApiError> {
    let workspace = match &req.routing.workspace_sid {
        Some(ws) => ws.clone(),
        None => routing::default_workspace(state, account).await?,
    };
    let workspace_sid: WorkspaceSid = workspace
        .parse()
        .map_err(|_| ApiError::invalid("Routing", "properties.workspace_sid is not valid"))?;
    // Fails early (404) for an unknown workspace, before a conversation is created.
    state.routers.get(account, &workspace)?;
    let spec = &req.channel;
    let (conversation_sid, service_sid, address, name, created) = match &spec.media_channel_sid {
        Some(sid) => {
            let (service, address, name) = existing_customer(state, account, sid).await?;
            (sid.clone(), service, address, name, false)
        }
        None => {
            let first = spec.customers.first().cloned();
            let record =
                conversation::create_outbound(state, account, spec.customers.clone()).await?;
            let address = first.as_ref().and_then(Customer::address);
            let name = first.and_then(|c| c.name).or_else(|| address.clone());
            (record.sid, record.service_sid, address, name, true)
        }
    };
    let at = now();
    let channel = Channel {
        sid: InteractionChannelSid::generate(),
        account_sid: account.clone(),
        interaction_sid: InteractionSid::generate(),
        channel_type: spec.channel_type.clone(),
        status: "active".into(),
        conversation_sid,
        service_sid,
        workspace_sid: workspace_sid.clone(),
        initiated_by: spec.initiated_by.clone(),
        direction: if spec.outbound() {
            "outbound"
        } else {
            "inbound"
        }
        .into(),
        customer_address: address,
        customer_name: name,
        error_code: None,
        error_message: None,
        created: at,
        updated: at,
    };
    let invite_sid = InviteSid::generate();
    state.store.submit(vec![channel.put()?]).await?;
    let flex = routing::flex_attributes(&channel, &invite_sid);
    let default_channel = routing::task_channel_for(&channel.channel_type);
    let (task_sid, echo) = match routing::create_task(
        state,
        account,
        &workspace,
        &req.routing,
        flex,
        default_channel,
    )
    .await
    {
        Ok(t) => t,
        Err(e) => {
            // Nothing half-made stays behind: the channel goes, and so does a conversation
            // created for it.
            state
                .store
                .submit(vec![crate::store::Mutation::DeleteDoc(
                    channel.sid.to_string(),
                )])
                .await?;
            if created {
                let _ = conversation::close(
                    state,
                    account,
                    &channel.service_sid,
                    &channel.conversation_sid,
                )
                .await;
            }
            return Err(e);
        }
    };
    let interaction = Interaction {
        sid: channel.interaction_sid.clone(),
        account_sid: account.clone(),
        channel_sid: channel.sid.clone(),
        channel_type: channel.channel_type.clone(),
        workspace_sid: workspace_sid.clone(),
        task_sid: task_sid.clone(),
        interaction_context_sid: req.interaction_context_sid,
        webhook_ttid: req.webhook_ttid,
        created: at,
        updated: at,
    };
    let invite = Invite {
        sid: invite_sid,
        interaction_sid: interaction.sid.clone(),
        channel_sid: channel.sid.clone(),
        workspace_sid,
        task_sid: Some(task_sid),
        routing: serde_json::json!({"properties": echo.clone()}),
        created: at,
    };
    state
        .store
        .submit(vec![interaction.put()?, invite.put()?])
        .await?;
    watcher::watch(state.clone(), channel.clone());
    Ok((interaction, channel, echo))
}
