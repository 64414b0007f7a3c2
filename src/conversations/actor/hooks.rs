//! The conversation actor's dealings with the outside: the outbox jobs a change writes
//! (post-event webhooks, messages for messaging participants), pre-event hooks asked before
//! an action, and the channel limits an attachment must meet.

use super::*;

impl ConversationActor {
    /// Adds to `mutations` the outbox jobs `events` cause — post-event webhooks and messages
    /// for messaging participants — so they commit with the change. True when there are any.
    pub(super) fn side_effects(
        &self,
        scope: &Scope,
        events: &[ConversationEvent],
        mutations: &mut Vec<crate::store::Mutation>,
    ) -> bool {
        let before = mutations.len();
        let now_ms = crate::routing::model::now_ms();
        mutations.extend(self.deps.hooks.post_jobs(scope, events, now_ms));
        if let Phase::Live(c) = &self.phase {
            for event in events {
                if let ConversationEvent::MessageAdded(m) = event {
                    mutations.extend(crate::channels::outbound::jobs(m, &c.participants));
                }
            }
        }
        mutations.len() > before
    }

    /// Asks the pre-event webhook (if any), then runs `then` on the actor with the fields the
    /// hook replaced. A rejection answers the caller with 403 and performs nothing. Handlers
    /// answering with `AtomicResponse` keep the mailbox waiting through the hook, so actions
    /// stay in order.
    pub(super) fn hooked<T: Send + 'static>(
        &mut self,
        hook: Option<futures_util::future::BoxFuture<'static, PreOutcome>>,
        then: impl FnOnce(
            &mut Self,
            serde_json::Map<String, serde_json::Value>,
        ) -> ResponseActFuture<Self, Reply<T>>
        + 'static,
    ) -> ResponseActFuture<Self, Reply<T>> {
        let Some(hook) = hook else {
            return then(self, serde_json::Map::new());
        };
        self.inflight += 1;
        Box::pin(hook.into_actor(self).then(move |outcome, act, _ctx| {
            act.inflight -= 1;
            match outcome {
                PreOutcome::Proceed(changes) => then(act, changes),
                PreOutcome::Reject(why) => fail(ApiError::Forbidden(why)),
            }
        }))
    }

    /// Runs `work` with the mailbox waiting until it is done (for handlers that otherwise
    /// pipeline, like `PostMessage`); the returned future hears its result.
    pub(super) fn exclusively<T: Send + 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        work: ResponseActFuture<Self, Reply<T>>,
    ) -> ResponseActFuture<Self, Reply<T>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        ctx.wait(work.map(move |result, _, _| {
            let _ = tx.send(result);
        }));
        Box::pin(async move { rx.await.unwrap_or(Err(ApiError::Unavailable)) }.into_actor(self))
    }

    /// Refuses attachments a messaging participant's channel would not take (size, type), so
    /// a message is never stored that its SMS/WhatsApp recipients cannot receive.
    pub(super) fn check_channel_media(
        &self,
        author: Option<&str>,
        media: Option<&[crate::store::records::MediaRef]>,
    ) -> Result<(), ApiError> {
        let (Some(media), Phase::Live(c)) = (media, &self.phase) else {
            return Ok(());
        };
        for p in &c.participants {
            let Some(address) = p
                .messaging_binding
                .as_ref()
                .and_then(|b| b.address.as_deref())
            else {
                continue;
            };
            if author == Some(address) {
                continue;
            }
            let Ok(channel) = crate::api::participants::channel_of(address)
                .and_then(|name| name.parse::<crate::media::limits::MediaChannel>())
            else {
                continue;
            };
            for m in media {
                crate::media::limits::check(&self.deps.media, channel, &m.content_type, m.size)?;
            }
        }
        Ok(())
    }
}

/// Applies a pre-event webhook's `body`, `author` and `attributes` to a new message.
pub(super) fn apply_message_changes(
    changes: &serde_json::Map<String, serde_json::Value>,
    draft: &mut crate::conversations::drafts::MessageDraft,
) -> Result<(), ApiError> {
    let text = |key| pre::text_field(changes, key).map_err(ApiError::InvalidParameter);
    if let Some(body) = text("body")? {
        draft.body = Some(body);
    }
    if let Some(author) = text("author")? {
        draft.author = Some(author);
    }
    if let Some(attributes) = text("attributes")? {
        match serde_json::from_str::<serde_json::Value>(&attributes) {
            Ok(serde_json::Value::Object(_)) => draft.attributes = Some(attributes),
            _ => {
                return Err(ApiError::InvalidParameter(
                    "the webhook's `attributes` must be a JSON object in a string".into(),
                ));
            }
        }
    }
    Ok(())
}
