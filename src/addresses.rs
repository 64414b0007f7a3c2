//! Address Configurations (`twilio-api.md` §3.6): which of the account's addresses (an SMS
//! number, a WhatsApp sender, a webchat deployment) auto-create a conversation for a new
//! inbound contact, and what is attached to it. Stored as JSON documents scoped to the account
//! (`docs`, kind `address`, alternate key `{account}:{address}`).
//!
//! Inbound messages use it in `crate::channels::inbound`.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ids::{AccountSid, AddressSid, ServiceSid};
use crate::store::records::{DocRecord, Timestamp};
use crate::store::{DocStore, Mutation, StoreError};

/// Document kind of an address configuration.
pub const KIND: &str = "address";

/// Address types Twilio accepts.
pub const TYPES: &[&str] = &[
    "sms",
    "whatsapp",
    "messenger",
    "gbm",
    "email",
    "rcs",
    "apple",
    "chat",
];

/// `AutoCreation.WebhookFilters` values Twilio accepts.
pub const WEBHOOK_FILTERS: &[&str] = crate::webhooks::config::SCOPED_EVENTS;

/// What a new contact on the address gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoCreation {
    /// Whether inbound contacts auto-create conversations.
    pub enabled: bool,
    /// `webhook`, `studio` or `default`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Service of the new conversations (default: the account's).
    pub conversation_service_sid: Option<ServiceSid>,
    /// `webhook`: where the scoped webhook posts.
    pub webhook_url: Option<String>,
    /// `GET` or `POST`.
    pub webhook_method: Option<String>,
    /// `webhook`: the events it receives.
    pub webhook_filters: Option<Vec<String>>,
    /// `studio`: the flow (`FW…`), kept as given.
    pub studio_flow_sid: Option<String>,
    /// `studio`: retries.
    pub studio_retry_count: Option<u32>,
}

/// Where an address's new conversations are routed (the built-in equivalent of Studio's
/// "Send to Flex" widget).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRouting {
    /// Workspace (default: the account's Flex workspace).
    pub workspace_sid: Option<String>,
    /// Workflow (default: the workspace's first).
    pub workflow_sid: Option<crate::ids::WorkflowSid>,
    /// Task channel unique name (default: from the address type).
    pub task_channel: Option<String>,
    /// Extra task attributes.
    #[serde(default)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// One address configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRecord {
    /// `IG…`
    pub sid: AddressSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// `sms`, `whatsapp`, `chat`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The address (`+15551230000`, `whatsapp:+1…`, a webchat key).
    pub address: String,
    /// Name.
    pub friendly_name: Option<String>,
    /// Auto-creation settings.
    pub auto_creation: AutoCreation,
    /// ISO country code.
    pub address_country: Option<String>,
    /// Switchboard's "Send to Flex": route each new conversation to agents (an interaction
    /// and its task). Implied, with the defaults, by `AutoCreation.Type=studio`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<AddressRouting>,
    /// Created.
    pub date_created: Timestamp,
    /// Updated.
    pub date_updated: Timestamp,
}

impl AddressRecord {
    /// The alternate key that makes an address unique within its account.
    pub fn alt_key(account: &AccountSid, address: &str) -> String {
        format!("{account}:address:{address}")
    }

    /// The mutation storing it.
    pub fn put(&self) -> Result<Mutation, ApiError> {
        Ok(Mutation::PutDoc(DocRecord {
            sid: self.sid.to_string(),
            kind: KIND.into(),
            scope: self.account_sid.to_string(),
            alt: Some(Self::alt_key(&self.account_sid, &self.address)),
            data: serde_json::to_string(self).map_err(|_| ApiError::Internal)?,
        }))
    }
}

/// An account's address configuration by SID or by address.
pub async fn find(
    store: &dyn DocStore,
    account: &AccountSid,
    key: &str,
) -> Result<Option<AddressRecord>, StoreError> {
    let by_sid = crate::ids::has_sid_shape(AddressSid::PREFIX, key);
    let alt = AddressRecord::alt_key(account, key);
    crate::store::account_docs::find(store, account, KIND, key, by_sid, &alt).await
}

/// An address configuration by SID, whichever account owns it (a webchat widget names its
/// address, not its account).
pub async fn by_sid(
    store: &dyn DocStore,
    sid: &AddressSid,
) -> Result<Option<AddressRecord>, StoreError> {
    match store.doc(sid.as_str()).await? {
        Some(doc) if doc.kind == KIND => serde_json::from_str(&doc.data)
            .map(Some)
            .map_err(|e| StoreError::Database(format!("decode {KIND}: {e}"))),
        _ => Ok(None),
    }
}

/// Every address configuration of the account, oldest first.
pub async fn list(
    store: &dyn DocStore,
    account: &AccountSid,
) -> Result<Vec<AddressRecord>, StoreError> {
    crate::store::account_docs::list(store, account, KIND).await
}
