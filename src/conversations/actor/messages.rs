//! The conversation actor's handlers for messages, typing and receipts: post (pipelined, or
//! exclusive while a pre-event hook is asked), edit, delete, typing, delivery receipts.

use super::hooks::apply_message_changes;
use super::*;

impl Handler<PostMessage> for ConversationActor {
    type Result = ResponseActFuture<Self, Reply<crate::store::records::MessageRecord>>;

    fn handle(&mut self, msg: PostMessage, ctx: &mut Self::Context) -> Self::Result {
        let retried = msg
            .draft
            .client_message_id
            .as_deref()
            .and_then(|id| self.client_ids.get(id))
            .cloned();
        if let Some(first) = retried {
            return self.answer_retry(&msg.scope, first);
        }
        let (sid, author_sid) = match self.live(&msg.scope) {
            Ok(c) => {
                let author = msg.draft.author.as_deref().unwrap_or("system");
                let participant = c
                    .participants
                    .iter()
                    .find(|p| {
                        p.identity.as_deref() == Some(author)
                            || p.messaging_binding
                                .as_ref()
                                .and_then(|b| b.address.as_deref())
                                == Some(author)
                    })
                    .map(|p| p.sid.to_string());
                (c.record.sid.clone(), participant)
            }
            Err(e) => return fail(e),
        };
        let hook = self.deps.hooks.pre(&msg.scope, "onMessageAdd", |p| {
            p.push(("ConversationSid".into(), sid.to_string()));
            params::message_content(
                p,
                msg.draft.body.as_deref(),
                msg.draft.author.as_deref().unwrap_or("system"),
                author_sid.as_deref(),
                msg.draft.attributes.as_deref().unwrap_or("{}"),
                msg.draft.media.as_deref(),
            );
        });
        if hook.is_none() {
            return self.post(msg);
        }
        let work = self.hooked(hook, move |act, changes| {
            let mut msg = msg;
            if let Err(e) = apply_message_changes(&changes, &mut msg.draft) {
                return fail(e);
            }
            act.post(msg)
        });
        self.exclusively(ctx, work)
    }
}

impl ConversationActor {
    /// Assigns the next index and submits the message; answers once it committed.
    pub(super) fn post(
        &mut self,
        msg: PostMessage,
    ) -> ResponseActFuture<Self, Reply<crate::store::records::MessageRecord>> {
        let client_id = msg.draft.client_message_id.clone();
        if let Err(e) =
            self.check_channel_media(msg.draft.author.as_deref(), msg.draft.media.as_deref())
        {
            return fail(e);
        }
        let plan = match self
            .current()
            .and_then(|c| c.plan_message(msg.draft, now()))
        {
            Ok(plan) => plan,
            Err(e) => return fail(e),
        };
        let Plan {
            value,
            mut mutations,
            events,
            conversation,
        } = plan;
        if let Some(id) = client_id {
            self.client_ids.insert(id, value.sid.clone());
        }
        let wake = self.side_effects(&msg.scope, &events, &mut mutations);
        // Optimistic: the next command already sees this index as taken. If the commit fails
        // the actor stops and the next command reloads the truth from the store.
        if let Some(c) = self.conversation_mut() {
            c.next_index += 1;
            c.commit_conversation(conversation);
        }
        let seq = self.publisher.reserve();
        let commit = self.deps.store.submit(mutations);
        self.inflight += 1;
        Box::pin(commit.into_actor(self).map(move |result, act, ctx| {
            act.inflight -= 1;
            match result {
                Ok(()) => {
                    metrics::counter!(telemetry::MESSAGES_COMMITTED).increment(1);
                    if wake {
                        act.deps.outbox.wake();
                    }
                    act.publisher.complete(seq, events, &act.deps);
                    act.schedule_timers();
                    Ok(value)
                }
                Err(e) => {
                    tracing::warn!(conversation_sid = %act.sid, error = %e, "message write failed; reloading");
                    act.publisher.complete(seq, Vec::new(), &act.deps);
                    act.phase = Phase::Missing;
                    ctx.stop();
                    Err(match e {
                        crate::store::StoreError::Stale => ApiError::Unavailable,
                        other => other.into(),
                    })
                }
            }
        }))
    }
}

impl Handler<EditMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<crate::store::records::MessageRecord>>;

    fn handle(&mut self, msg: EditMessage, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.live(&msg.scope) {
            return refuse(e);
        }
        let read = self.read_message(&msg.key);
        AtomicResponse::new(Box::pin(read.into_actor(self).then(
            move |found, act, _ctx| {
                let current = match act.found_message(found, &msg.key, &msg.scope) {
                    Ok(m) => m,
                    Err(e) => return fail(e),
                };
                let hook = act.deps.hooks.pre(&msg.scope, "onMessageUpdate", |p| {
                    params::message(p, &current)
                });
                act.hooked(hook, move |act, replaced| {
                    let mut changes = msg.changes;
                    let mut draft = crate::conversations::drafts::MessageDraft::default();
                    if let Err(e) = apply_message_changes(&replaced, &mut draft) {
                        return fail(e);
                    }
                    changes.body = draft.body.or(changes.body);
                    changes.author = draft.author.or(changes.author);
                    changes.attributes = draft.attributes.or(changes.attributes);
                    match act
                        .current()
                        .and_then(|c| c.plan_edit_message(&current, changes, now()))
                    {
                        Ok(plan) => Box::pin(act.submit_plan(plan, &msg.scope)),
                        Err(e) => fail(e),
                    }
                })
            },
        )))
    }
}

impl Handler<DeleteMessage> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<()>>;

    fn handle(&mut self, msg: DeleteMessage, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.live(&msg.scope) {
            return refuse(e);
        }
        let read = self.read_message(&msg.key);
        AtomicResponse::new(Box::pin(read.into_actor(self).then(
            move |found, act, _ctx| {
                let current = match act.found_message(found, &msg.key, &msg.scope) {
                    Ok(m) => m,
                    Err(e) => return fail(e),
                };
                let hook = act.deps.hooks.pre(&msg.scope, "onMessageRemove", |p| {
                    params::message(p, &current)
                });
                act.hooked(hook, move |act, _| match act.current() {
                    Ok(c) => {
                        let plan = c.plan_delete_message(&current);
                        Box::pin(act.submit_plan(plan, &msg.scope))
                    }
                    Err(e) => fail(e),
                })
            },
        )))
    }
}

impl ConversationActor {
    /// Reads a message by SID or index (edits and deletes start from the stored one).
    pub(super) fn read_message(
        &self,
        key: &str,
    ) -> impl std::future::Future<
        Output = Result<Option<crate::store::records::MessageRecord>, crate::store::StoreError>,
    > + use<> {
        let store = self.deps.store.clone();
        let sid = self.sid.clone();
        let key = key.to_owned();
        async move { store.message(&sid, &key).await }
    }

    /// The message a read found, if the conversation is live and the scope may change it.
    pub(super) fn found_message(
        &self,
        found: Result<Option<crate::store::records::MessageRecord>, crate::store::StoreError>,
        key: &str,
        scope: &Scope,
    ) -> Result<crate::store::records::MessageRecord, ApiError> {
        match (found, &self.phase) {
            (Ok(Some(current)), Phase::Live(_)) => {
                check_author(scope, &current)?;
                Ok(current)
            }
            (Ok(_), _) => Err(ApiError::NotFound(format!(
                "/Conversations/{}/Messages/{key}",
                self.sid
            ))),
            (Err(e), _) => Err(e.into()),
        }
    }
}

impl Handler<Typing> for ConversationActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: Typing, _ctx: &mut Self::Context) -> Self::Result {
        self.last_activity = Instant::now();
        let Phase::Live(conversation) = &self.phase else {
            return Err(self.not_found());
        };
        conversation.check_scope(&msg.scope)?;
        let participant = conversation
            .check_participant(&msg.scope)?
            .ok_or_else(|| ApiError::Forbidden("typing needs a participant identity".into()))?;
        // Ephemeral: published at once, not ordered behind commits in flight.
        let event = ConversationEvent::Typing(participant.clone());
        self.deps.bus.publish(Arc::new(BusEvent::new(event)));
        Ok(())
    }
}

impl Handler<RecordReceipt> for ConversationActor {
    type Result = AtomicResponse<
        Self,
        Reply<(
            crate::store::records::MessageRecord,
            crate::store::delivery::ReceiptRecord,
        )>,
    >;

    fn handle(&mut self, msg: RecordReceipt, _ctx: &mut Self::Context) -> Self::Result {
        let recipient = match self.live(&msg.scope) {
            Ok(c) => c.participant(&msg.participant).map(|p| p.sid.clone()),
            Err(e) => return refuse(e),
        };
        let store = self.deps.store.clone();
        let sid = self.sid.clone();
        let key = msg.message.clone();
        let read = async move {
            let message = store.message(&sid, &key).await?;
            let existing = match (&message, &recipient) {
                (Some(m), Some(p)) => store.receipt(&m.sid, p.as_str()).await?,
                _ => None,
            };
            Ok::<_, ApiError>((message, existing))
        };
        AtomicResponse::new(Box::pin(read.into_actor(self).then(
            move |found, act, _ctx| {
                let change = crate::conversations::receipts::ReceiptChange {
                    participant: &msg.participant,
                    status: msg.status,
                    channel_message_sid: msg.channel_message_sid.clone(),
                    error_code: msg.error_code,
                };
                let planned = match (found, &act.phase) {
                    (Ok((Some(message), existing)), Phase::Live(c)) => c
                        .plan_receipt(&msg.scope, &message, existing.as_ref(), change, now())
                        .map(|plan| (plan, message, existing)),
                    (Ok(_), _) => Err(ApiError::NotFound(format!(
                        "/Conversations/{}/Messages/{}",
                        act.sid, msg.message
                    ))),
                    (Err(e), _) => Err(e),
                };
                let next: ResponseActFuture<Self, Reply<_>> = match planned {
                    Ok((Some(mut plan), _, _)) => {
                        plan.mutations.extend(msg.with);
                        Box::pin(act.submit_plan(plan, &msg.scope))
                    }
                    // Already there: answer with the current state, change nothing of it.
                    Ok((None, message, Some(existing))) if msg.with.is_empty() => {
                        Box::pin(fut::ready(Ok((message, existing))))
                    }
                    Ok((None, message, Some(existing))) => {
                        let commit = act.deps.store.submit(msg.with);
                        let answer = async move {
                            commit.await?;
                            Ok::<_, ApiError>((message, existing))
                        };
                        Box::pin(answer.into_actor(act))
                    }
                    Ok((None, _, None)) => Box::pin(fut::ready(Err(ApiError::Internal))),
                    Err(e) => Box::pin(fut::ready(Err(e))),
                };
                next
            },
        )))
    }
}
