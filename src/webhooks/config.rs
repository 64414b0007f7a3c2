//! Where Conversations webhooks go: the account-wide and per-service configurations
//! (`/v1/Configuration/Webhooks`, `/v1/Services/{IS}/Configuration/Webhooks`), the
//! conversation-scoped webhooks (`/v1/Conversations/{CH}/Webhooks`), and the [`Directory`]
//! that holds all of them in memory so an actor can tell, without a read, which deliveries an
//! event causes. Stored as JSON documents (`docs`, kinds [`KIND`] and [`SCOPED_KIND`]).

use std::sync::Arc;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::ids::{AccountSid, ConversationSid, ServiceSid, WebhookSid};
use crate::store::records::{DocRecord, Timestamp};
use crate::store::{DocStore, Mutation, StoreError};

/// Document kind of an account or service configuration.
pub const KIND: &str = "webhook_config";

/// Document kind of a conversation-scoped webhook (scope: the conversation SID).
pub const SCOPED_KIND: &str = "conversation_webhook";

/// Every event name a `Filters` entry may hold (pre-action and post-action).
pub const EVENTS: &[&str] = &[
    "onMessageAdd",
    "onMessageUpdate",
    "onMessageRemove",
    "onConversationAdd",
    "onConversationUpdate",
    "onConversationRemove",
    "onParticipantAdd",
    "onParticipantUpdate",
    "onParticipantRemove",
    "onUserUpdate",
    "onMessageAdded",
    "onMessageUpdated",
    "onMessageRemoved",
    "onConversationAdded",
    "onConversationUpdated",
    "onConversationRemoved",
    "onConversationStateUpdated",
    "onParticipantAdded",
    "onParticipantUpdated",
    "onParticipantRemoved",
    "onDeliveryUpdated",
    "onUserAdded",
    "onUserUpdated",
];

/// The post-events a conversation-scoped webhook (or an address's auto-creation webhook) may
/// filter on.
pub const SCOPED_EVENTS: &[&str] = &[
    "onMessageAdded",
    "onMessageUpdated",
    "onMessageRemoved",
    "onConversationUpdated",
    "onConversationStateUpdated",
    "onConversationRemoved",
    "onParticipantAdded",
    "onParticipantUpdated",
    "onParticipantRemoved",
    "onDeliveryUpdated",
];

/// A webhook configuration (account or service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookConfig {
    /// The account (`AC…`) or service (`IS…`) it belongs to.
    #[serde(default)]
    pub owner: String,
    /// `GET` or `POST`.
    pub method: String,
    /// Events that fire.
    pub filters: Vec<String>,
    /// Pre-action URL.
    pub pre_webhook_url: Option<String>,
    /// Post-action URL.
    pub post_webhook_url: Option<String>,
    /// `webhook` or `flex` (account level only).
    pub target: String,
}

impl WebhookConfig {
    /// The empty configuration of `owner`.
    pub fn empty(owner: &str) -> Self {
        WebhookConfig {
            owner: owner.to_owned(),
            method: "POST".into(),
            filters: Vec::new(),
            pre_webhook_url: None,
            post_webhook_url: None,
            target: "webhook".into(),
        }
    }

    /// The document SID of `owner`'s configuration.
    pub fn doc_sid(owner: &str) -> String {
        format!("webhooks:{owner}")
    }

    /// The mutation storing it under `account`.
    pub fn put(&self, account: &str) -> Mutation {
        Mutation::PutDoc(DocRecord {
            sid: Self::doc_sid(&self.owner),
            kind: KIND.into(),
            scope: account.to_owned(),
            alt: None,
            data: serde_json::to_string(self).unwrap_or_default(),
        })
    }
}

/// A conversation-scoped webhook (`WH…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedWebhook {
    /// `WH…`
    pub sid: WebhookSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// The conversation's service.
    pub service_sid: ServiceSid,
    /// The conversation.
    pub conversation_sid: ConversationSid,
    /// `webhook`, `trigger` or `studio`.
    pub target: String,
    /// Where it posts (`webhook`, `trigger`).
    pub url: Option<String>,
    /// `GET` or `POST`.
    pub method: String,
    /// `webhook`: post-event names; `trigger`: keywords.
    pub filters: Vec<String>,
    /// `trigger`: keywords that fire it.
    pub triggers: Vec<String>,
    /// `studio`: the flow, kept as given.
    pub flow_sid: Option<String>,
    /// Created.
    pub date_created: Timestamp,
    /// Updated.
    pub date_updated: Timestamp,
}

impl ScopedWebhook {
    /// The mutation storing it.
    pub fn put(&self) -> Mutation {
        Mutation::PutDoc(DocRecord {
            sid: self.sid.to_string(),
            kind: SCOPED_KIND.into(),
            scope: self.conversation_sid.to_string(),
            alt: None,
            data: serde_json::to_string(self).unwrap_or_default(),
        })
    }
}

/// A place a delivery goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// URL as configured.
    pub url: String,
    /// `GET` or `POST`.
    pub method: String,
    /// The scoped webhook it comes from (adds `WebhookSid`/`WebhookType`).
    pub scoped: Option<(WebhookSid, String)>,
}

/// Every webhook configuration, in memory. Written through by the REST handlers after their
/// change committed; loaded from the store at start-up.
#[derive(Default)]
pub struct Directory {
    configs: DashMap<String, Arc<WebhookConfig>>,
    scoped: DashMap<ConversationSid, Vec<Arc<ScopedWebhook>>>,
}

fn decode<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Database(format!("decode webhook: {e}")))
}

impl Directory {
    /// Loads every stored configuration and scoped webhook.
    pub async fn load(store: &dyn DocStore) -> Result<Directory, StoreError> {
        let directory = Directory::default();
        for (scope, data) in store.docs_of_kind(KIND).await? {
            let mut config: WebhookConfig = decode(&data)?;
            if config.owner.is_empty() {
                config.owner = scope;
            }
            directory.set_config(config);
        }
        for (_, data) in store.docs_of_kind(SCOPED_KIND).await? {
            directory.put_scoped(decode(&data)?);
        }
        Ok(directory)
    }

    /// The configuration of an account or service (empty when never set).
    pub fn config(&self, owner: &str) -> WebhookConfig {
        self.configs
            .get(owner)
            .map(|c| (**c).clone())
            .unwrap_or_else(|| WebhookConfig::empty(owner))
    }

    /// Replaces a configuration.
    pub fn set_config(&self, config: WebhookConfig) {
        self.configs.insert(config.owner.clone(), Arc::new(config));
    }

    /// Forgets a service's configuration (the service was deleted).
    pub fn remove_config(&self, owner: &str) {
        self.configs.remove(owner);
    }

    /// A conversation's scoped webhooks, oldest first.
    pub fn scoped(&self, conversation: &ConversationSid) -> Vec<Arc<ScopedWebhook>> {
        self.scoped
            .get(conversation)
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Adds or replaces a scoped webhook.
    pub fn put_scoped(&self, hook: ScopedWebhook) {
        let mut list = self
            .scoped
            .entry(hook.conversation_sid.clone())
            .or_default();
        match list.iter_mut().find(|h| h.sid == hook.sid) {
            Some(slot) => *slot = Arc::new(hook),
            None => list.push(Arc::new(hook)),
        }
    }

    /// Removes a scoped webhook.
    pub fn remove_scoped(&self, conversation: &ConversationSid, sid: &WebhookSid) {
        if let Some(mut list) = self.scoped.get_mut(conversation) {
            list.retain(|h| h.sid != *sid);
        }
    }

    /// Forgets every scoped webhook of a deleted conversation.
    pub fn forget_conversation(&self, conversation: &ConversationSid) {
        self.scoped.remove(conversation);
    }

    /// Forgets the scoped webhooks of every conversation of a deleted service.
    pub fn forget_service(&self, service: &ServiceSid) {
        self.scoped
            .retain(|_, list| list.iter().all(|h| h.service_sid != *service) && !list.is_empty());
    }

    /// Where the pre-event `event` of a conversation in `service` goes: the service's
    /// pre-URL, then the account's, when their filters hold the event.
    pub fn pre_targets(
        &self,
        account: &AccountSid,
        service: &ServiceSid,
        event: &str,
    ) -> Vec<Target> {
        self.configured(account, service, event, |c| c.pre_webhook_url.as_ref())
    }

    /// The service's and the account's post-URLs whose filters hold `event`.
    pub fn service_post_targets(
        &self,
        account: &AccountSid,
        service: &ServiceSid,
        event: &str,
    ) -> Vec<Target> {
        self.configured(account, service, event, |c| c.post_webhook_url.as_ref())
    }

    /// The URL `pick` chooses from the service's configuration, then the account's, when its
    /// filters hold `event` (one target per distinct URL).
    fn configured(
        &self,
        account: &AccountSid,
        service: &ServiceSid,
        event: &str,
        pick: impl Fn(&WebhookConfig) -> Option<&String>,
    ) -> Vec<Target> {
        let mut out: Vec<Target> = Vec::new();
        for owner in [service.as_str(), account.as_str()] {
            if let Some(config) = self.configs.get(owner)
                && let Some(url) = pick(&config)
                && config.filters.iter().any(|f| f == event)
                && !out.iter().any(|t| t.url == *url)
            {
                out.push(Target {
                    url: url.clone(),
                    method: config.method.clone(),
                    scoped: None,
                });
            }
        }
        out
    }

    /// Where the post-event `event` goes: the service's and the account's post-URLs whose
    /// filters hold it, and the conversation's scoped webhooks (`webhook` by filter, `trigger`
    /// for a message whose body holds one of its keywords).
    pub fn post_targets(
        &self,
        account: &AccountSid,
        service: &ServiceSid,
        conversation: &ConversationSid,
        event: &str,
        body: Option<&str>,
    ) -> Vec<Target> {
        let mut out = self.service_post_targets(account, service, event);
        if let Some(list) = self.scoped.get(conversation) {
            for hook in list.iter() {
                let Some(url) = &hook.url else { continue };
                let fires = match hook.target.as_str() {
                    "webhook" => hook.filters.iter().any(|f| f == event),
                    "trigger" => {
                        event == "onMessageAdded"
                            && body.is_some_and(|b| triggered(b, &hook.triggers))
                    }
                    _ => false,
                };
                if fires {
                    out.push(Target {
                        url: url.clone(),
                        method: hook.method.clone(),
                        scoped: Some((hook.sid.clone(), hook.target.clone())),
                    });
                }
            }
        }
        out
    }
}

/// Whether `body` holds one of `keywords` as a whole word (case-insensitive).
fn triggered(body: &str, keywords: &[String]) -> bool {
    let words: Vec<String> = body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    keywords
        .iter()
        .any(|k| words.iter().any(|w| *w == k.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_filters_and_dedupe_urls() {
        let d = Directory::default();
        let account = AccountSid::generate();
        let service = ServiceSid::generate();
        let conversation = ConversationSid::generate();
        let mut global = WebhookConfig::empty(account.as_str());
        global.post_webhook_url = Some("http://hooks/post".into());
        global.pre_webhook_url = Some("http://hooks/pre".into());
        global.filters = vec!["onMessageAdded".into(), "onMessageAdd".into()];
        d.set_config(global);
        let mut per_service = WebhookConfig::empty(service.as_str());
        per_service.post_webhook_url = Some("http://hooks/post".into());
        per_service.filters = vec!["onMessageAdded".into()];
        d.set_config(per_service);
        let post = d.post_targets(&account, &service, &conversation, "onMessageAdded", None);
        assert_eq!(post.len(), 1, "{post:?}");
        assert!(
            d.post_targets(&account, &service, &conversation, "onMessageRemoved", None)
                .is_empty()
        );
        assert_eq!(
            d.pre_targets(&account, &service, "onMessageAdd")[0].url,
            "http://hooks/pre"
        );
        assert!(
            d.pre_targets(&account, &service, "onConversationAdd")
                .is_empty()
        );
        d.put_scoped(ScopedWebhook {
            sid: WebhookSid::generate(),
            account_sid: account.clone(),
            service_sid: service.clone(),
            conversation_sid: conversation.clone(),
            target: "trigger".into(),
            url: Some("http://hooks/trigger".into()),
            method: "POST".into(),
            filters: vec![],
            triggers: vec!["Help".into()],
            flow_sid: None,
            date_created: 0,
            date_updated: 0,
        });
        let with = d.post_targets(
            &account,
            &service,
            &conversation,
            "onMessageAdded",
            Some("I need help!"),
        );
        assert_eq!(with.len(), 2);
        let without = d.post_targets(
            &account,
            &service,
            &conversation,
            "onMessageAdded",
            Some("helpful"),
        );
        assert_eq!(without.len(), 1);
    }
}
