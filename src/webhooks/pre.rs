//! Pre-event webhooks (`onMessageAdd`, `onConversationUpdate`, …): asked before the action,
//! with Twilio's contract — a 200 with a JSON object replaces the modifiable fields, any 4xx
//! or 5xx rejects the action, no answer within `webhooks.pre_timeout` lets it through as is.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::{Hooks, params};
use crate::conversations::drafts::Scope;

/// What the pre-event hooks decided.
#[derive(Debug, Clone, PartialEq)]
pub enum PreOutcome {
    /// Go ahead, with these fields replaced (empty: unmodified).
    Proceed(Map<String, Value>),
    /// The action is refused; the text says by whom.
    Reject(String),
}

impl Hooks {
    /// The pre-event hook call for `event` in the scope's service, if one is configured and
    /// the action's source fires webhooks. `build` adds the event's own parameters.
    pub fn pre(
        &self,
        scope: &Scope,
        event: &'static str,
        build: impl FnOnce(&mut params::Params),
    ) -> Option<BoxFuture<'static, PreOutcome>> {
        if !scope.source.fires_webhooks() {
            return None;
        }
        let targets = self
            .directory
            .pre_targets(&scope.account, &scope.service, event);
        if targets.is_empty() {
            return None;
        }
        let mut form = params::common(
            scope.account.as_str(),
            event,
            scope.source.as_str(),
            scope.identity.as_deref(),
        );
        build(&mut form);
        let token = self.signing_key(&scope.account).unwrap_or_default();
        let client = self.client().clone();
        let timeout = self.settings.pre_timeout;
        Some(Box::pin(async move {
            let mut changes = Map::new();
            for target in targets {
                let sent = super::send(
                    &client,
                    &target.url,
                    &target.method,
                    &form,
                    &token,
                    None,
                    timeout,
                )
                .await;
                match sent {
                    Ok(answer) if answer.status >= 400 => {
                        return PreOutcome::Reject(format!(
                            "the {event} webhook rejected the action (HTTP {})",
                            answer.status
                        ));
                    }
                    Ok(answer) => {
                        if let Ok(Value::Object(fields)) =
                            serde_json::from_slice::<Value>(&answer.body)
                        {
                            changes.extend(fields);
                        }
                    }
                    // No answer in time (or none at all): go ahead unmodified.
                    Err(e) => {
                        tracing::info!(event, url = %target.url, error = %e, "pre-event webhook did not answer; proceeding");
                    }
                }
            }
            PreOutcome::Proceed(changes)
        }))
    }
}

/// A replaced text field: a JSON string, or an error naming the field.
pub fn text_field(changes: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match changes.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("the webhook's `{key}` must be a string")),
    }
}
