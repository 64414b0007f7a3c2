//! The Flex interaction resources as stored: interactions (KD), interaction channels (UO),
//! channel participants (UT), invites (KG) and transfers (UX). Each is one JSON document of
//! the store's `docs` table; this file holds the shapes and the typed load/save helpers.
//!
//! Scopes and alternate keys: an interaction is scoped to its account; a channel to its
//! interaction, with the conversation it is bound to as alternate key (so a conversation finds
//! its channel); participants, invites and transfers to their channel, a transfer with the
//! task it created as alternate key (so an accepted reservation finds its transfer).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;
use crate::ids::*;
use crate::store::records::{DocRecord, Timestamp};
use crate::store::{Mutation, Store};

/// Document kind of an interaction.
pub const INTERACTION: &str = "flex_interaction";
/// Document kind of an interaction channel.
pub const CHANNEL: &str = "flex_channel";
/// Document kind of a channel participant.
pub const PARTICIPANT: &str = "flex_participant";
/// Document kind of an invite.
pub const INVITE: &str = "flex_invite";
/// Document kind of a transfer.
pub const TRANSFER: &str = "flex_transfer";

/// `POST /v1/Interactions`: one customer contact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interaction {
    /// `KD…`
    pub sid: InteractionSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Its (first) channel.
    pub channel_sid: InteractionChannelSid,
    /// Channel type (`sms`, `chat`, …).
    pub channel_type: String,
    /// Workspace of the first task.
    pub workspace_sid: WorkspaceSid,
    /// The first task.
    pub task_sid: TaskSid,
    /// `HQ…` as given.
    pub interaction_context_sid: Option<String>,
    /// As given.
    pub webhook_ttid: Option<String>,
    /// Created (Unix seconds).
    pub created: Timestamp,
    /// Updated.
    pub updated: Timestamp,
}

/// An interaction channel: the binding of an interaction to one conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Channel {
    /// `UO…`
    pub sid: InteractionChannelSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Its interaction.
    pub interaction_sid: InteractionSid,
    /// `sms`, `whatsapp`, `chat`, `web`, …
    pub channel_type: String,
    /// `active`, `closed`, `inactive`, `failed`.
    pub status: String,
    /// The bound conversation.
    pub conversation_sid: ConversationSid,
    /// Its service.
    pub service_sid: ServiceSid,
    /// Workspace tasks are created in by default.
    pub workspace_sid: WorkspaceSid,
    /// `customer`, `agent` or `api`.
    pub initiated_by: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The customer's address (or chat identity).
    pub customer_address: Option<String>,
    /// The customer's display name.
    pub customer_name: Option<String>,
    /// Error code when setup failed.
    pub error_code: Option<u32>,
    /// Error text when setup failed.
    pub error_message: Option<String>,
    /// Created.
    pub created: Timestamp,
    /// Updated.
    pub updated: Timestamp,
}

/// A participant of an interaction channel (agents get one when they accept a task).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelParticipant {
    /// `UT…`
    pub sid: ChannelParticipantSid,
    /// Its interaction.
    pub interaction_sid: InteractionSid,
    /// Its channel.
    pub channel_sid: InteractionChannelSid,
    /// `agent`, `customer`, `supervisor`, `external`, `unknown`.
    pub kind: String,
    /// `joined`, `closed` or `wrapup`.
    pub status: String,
    /// How it is in the conversation (`conversation_sid`, `identity`, …).
    pub media_properties: Value,
    /// `{workspace_sid, task_sid, worker_sid, reservation_sid}` for agents.
    pub routing_properties: Option<Value>,
    /// The conversation participant it added (removed when it closes).
    pub conversation_participant: Option<String>,
    /// Created.
    pub created: Timestamp,
    /// Updated.
    pub updated: Timestamp,
}

impl ChannelParticipant {
    /// `(workspace, task)` of an agent participant.
    pub fn task(&self) -> Option<(String, TaskSid)> {
        let r = self.routing_properties.as_ref()?;
        let ws = r.get("workspace_sid")?.as_str()?.to_owned();
        let task = r.get("task_sid")?.as_str()?.parse().ok()?;
        Some((ws, task))
    }
}

/// A request to route the channel again (a task per invite).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invite {
    /// `KG…`
    pub sid: InviteSid,
    /// Its interaction.
    pub interaction_sid: InteractionSid,
    /// Its channel.
    pub channel_sid: InteractionChannelSid,
    /// Workspace of the task.
    pub workspace_sid: WorkspaceSid,
    /// The task (none until it was created).
    pub task_sid: Option<TaskSid>,
    /// The routing as rendered on create (`{"properties": task}`).
    pub routing: Value,
    /// Created.
    pub created: Timestamp,
}

/// A transfer of the channel from one agent to a worker or queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transfer {
    /// `UX…`
    pub sid: TransferSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Its interaction.
    pub interaction_sid: InteractionSid,
    /// Its channel.
    pub channel_sid: InteractionChannelSid,
    /// `cold` or `warm`.
    pub kind: String,
    /// `active`, `completed` or `failed`.
    pub status: String,
    /// The transferring agent (`UT…`).
    pub from: ChannelParticipantSid,
    /// The target (`WK…` or `WQ…`).
    pub to: String,
    /// Workspace of the task.
    pub workspace_sid: WorkspaceSid,
    /// The task routed to the target.
    pub task_sid: TaskSid,
    /// Created.
    pub created: Timestamp,
    /// Updated.
    pub updated: Timestamp,
}

fn encode<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "encoding an interaction document");
        ApiError::Internal
    })
}

fn decode<T: DeserializeOwned>(data: &str) -> Option<T> {
    serde_json::from_str(data)
        .map_err(|e| tracing::warn!(error = %e, "undecodable interaction document"))
        .ok()
}

/// The store mutation that saves a document.
pub fn put<T: Serialize>(
    sid: &str,
    kind: &str,
    scope: &str,
    alt: Option<String>,
    value: &T,
) -> Result<Mutation, ApiError> {
    Ok(Mutation::PutDoc(DocRecord {
        sid: sid.to_owned(),
        kind: kind.to_owned(),
        scope: scope.to_owned(),
        alt,
        data: encode(value)?,
    }))
}

impl Interaction {
    /// Save mutation.
    pub fn put(&self) -> Result<Mutation, ApiError> {
        put(
            self.sid.as_str(),
            INTERACTION,
            self.account_sid.as_str(),
            None,
            self,
        )
    }
}

impl Channel {
    /// Save mutation (alternate key: the conversation).
    pub fn put(&self) -> Result<Mutation, ApiError> {
        put(
            self.sid.as_str(),
            CHANNEL,
            self.interaction_sid.as_str(),
            Some(self.conversation_sid.to_string()),
            self,
        )
    }
}

impl ChannelParticipant {
    /// Save mutation.
    pub fn put(&self) -> Result<Mutation, ApiError> {
        put(
            self.sid.as_str(),
            PARTICIPANT,
            self.channel_sid.as_str(),
            None,
            self,
        )
    }
}

impl Invite {
    /// Save mutation.
    pub fn put(&self) -> Result<Mutation, ApiError> {
        put(
            self.sid.as_str(),
            INVITE,
            self.channel_sid.as_str(),
            None,
            self,
        )
    }
}

impl Transfer {
    /// Save mutation (alternate key: its task).
    pub fn put(&self) -> Result<Mutation, ApiError> {
        put(
            self.sid.as_str(),
            TRANSFER,
            self.channel_sid.as_str(),
            Some(self.task_sid.to_string()),
            self,
        )
    }
}

/// One document of a kind by SID (None when missing or of another kind).
pub async fn load<T: DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
    sid: &str,
) -> Result<Option<T>, ApiError> {
    Ok(store
        .doc(sid)
        .await?
        .filter(|d| d.kind == kind)
        .and_then(|d| decode(&d.data)))
}

/// Every document of a kind in a scope, oldest first.
pub async fn load_in<T: DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
    scope: &str,
) -> Result<Vec<T>, ApiError> {
    Ok(store
        .docs_in(scope)
        .await?
        .into_iter()
        .filter(|(k, _)| k == kind)
        .filter_map(|(_, data)| decode(&data))
        .collect())
}

/// Every document of a kind with the alternate key `alt`, oldest first.
pub async fn load_by_alt<T: DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
    alt: &str,
) -> Result<Vec<T>, ApiError> {
    Ok(store
        .docs_by_alt(alt)
        .await?
        .into_iter()
        .filter(|d| d.kind == kind)
        .filter_map(|d| decode(&d.data))
        .collect())
}

/// Every document of a kind, anywhere.
pub async fn load_all<T: DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
) -> Result<Vec<T>, ApiError> {
    Ok(store
        .docs_of_kind(kind)
        .await?
        .into_iter()
        .filter_map(|(_, data)| decode(&data))
        .collect())
}
