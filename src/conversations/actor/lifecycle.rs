//! The conversation actor's handlers for the conversation itself and its participants:
//! create, update, delete, state timers, add/update/remove participants.

use super::*;

impl Handler<Create> for ConversationActor {
    type Result = AtomicResponse<
        Self,
        Reply<(
            ConversationRecord,
            Vec<crate::store::records::ParticipantRecord>,
        )>,
    >;

    fn handle(&mut self, msg: Create, _ctx: &mut Self::Context) -> Self::Result {
        if !matches!(self.phase, Phase::Creating) {
            return refuse(ApiError::Internal);
        }
        let scope = Scope {
            account: msg.record.account_sid.clone(),
            service: msg.record.service_sid.clone(),
            identity: None,
            source: msg.source,
        };
        let record = msg.record.clone();
        let hook = self.deps.hooks.pre(&scope, "onConversationAdd", |p| {
            params::push_conversation_add(p, &record, msg.participants.first());
        });
        AtomicResponse::new(self.hooked(hook, move |act, changes| {
            let Create {
                mut record,
                participants,
                ..
            } = msg;
            match pre::text_field(&changes, "friendly_name") {
                Ok(Some(name)) => record.friendly_name = Some(name),
                Ok(None) => {}
                Err(e) => return fail(ApiError::InvalidParameter(e)),
            }
            act.create(record, participants, scope)
        }))
    }
}

impl ConversationActor {
    pub(super) fn create(
        &mut self,
        record: ConversationRecord,
        participants: Vec<crate::store::records::ParticipantRecord>,
        scope: Scope,
    ) -> ResponseActFuture<
        Self,
        Reply<(
            ConversationRecord,
            Vec<crate::store::records::ParticipantRecord>,
        )>,
    > {
        let mut mutations = vec![crate::store::Mutation::InsertConversation(record.clone())];
        let mut events = vec![ConversationEvent::ConversationAdded(record.clone())];
        for p in &participants {
            mutations.push(crate::store::Mutation::InsertParticipant(p.clone()));
            events.push(ConversationEvent::ParticipantAdded(p.clone()));
        }
        let wake = self.side_effects(&scope, &events, &mut mutations);
        let seq = self.publisher.reserve();
        let commit = self.deps.store.submit(mutations);
        self.inflight += 1;
        Box::pin(commit.into_actor(self).map(move |result, act, ctx| {
            act.inflight -= 1;
            match result {
                Ok(()) => {
                    if wake {
                        act.deps.outbox.wake();
                    }
                    act.phase = Phase::Live(Box::new(Conversation {
                        record: record.clone(),
                        next_index: 0,
                        participants: participants.clone(),
                    }));
                    act.publisher.complete(seq, events, &act.deps);
                    act.schedule_timers();
                    Ok((record, participants))
                }
                Err(e) => {
                    act.phase = Phase::Missing;
                    ctx.stop();
                    Err(e.into())
                }
            }
        }))
    }

    /// The live conversation (scope already checked when the command arrived).
    pub(super) fn current(&self) -> Result<&Conversation, ApiError> {
        match &self.phase {
            Phase::Live(c) => Ok(c),
            _ => Err(self.not_found()),
        }
    }
}

impl Handler<UpdateConversation> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<ConversationRecord>>;

    fn handle(&mut self, msg: UpdateConversation, _ctx: &mut Self::Context) -> Self::Result {
        let record = match self.live(&msg.scope) {
            Ok(c) => c.record.clone(),
            Err(e) => return refuse(e),
        };
        let hook = self
            .deps
            .hooks
            .pre(&msg.scope, "onConversationUpdate", |p| {
                params::conversation(p, &record)
            });
        AtomicResponse::new(self.hooked(hook, move |act, changes| {
            let mut msg = msg;
            match pre::text_field(&changes, "friendly_name") {
                Ok(Some(name)) => msg.changes.friendly_name = Some(Some(name)),
                Ok(None) => {}
                Err(e) => return fail(ApiError::InvalidParameter(e)),
            }
            match act
                .current()
                .and_then(|c| c.plan_update(msg.changes, now()))
            {
                Ok(plan) => act.commit_then(plan, &msg.scope, |_, _| {}),
                Err(e) => fail(e),
            }
        }))
    }
}

impl Handler<DeleteConversation> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<()>>;

    fn handle(&mut self, msg: DeleteConversation, _ctx: &mut Self::Context) -> Self::Result {
        let record = match self.live(&msg.scope) {
            Ok(c) => c.record.clone(),
            Err(e) => return refuse(e),
        };
        let hook = self
            .deps
            .hooks
            .pre(&msg.scope, "onConversationRemove", |p| {
                params::conversation(p, &record)
            });
        AtomicResponse::new(self.hooked(hook, move |act, _| {
            match act.current().map(|c| c.plan_delete()) {
                Ok(mut plan) => {
                    // Its scoped webhooks go with it.
                    plan.mutations
                        .push(crate::store::Mutation::DeleteScope(act.sid.to_string()));
                    act.commit_then(plan, &msg.scope, |act, _| {
                        act.deps.hooks.directory.forget_conversation(&act.sid);
                        act.phase = Phase::Missing;
                    })
                }
                Err(e) => fail(e),
            }
        }))
    }
}

impl Handler<ApplyTimers> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<()>>;

    fn handle(&mut self, _msg: ApplyTimers, _ctx: &mut Self::Context) -> Self::Result {
        let planned = match &self.phase {
            Phase::Live(c) => c.plan_timers(now()).map(|plan| {
                let scope = Scope {
                    account: c.record.account_sid.clone(),
                    service: c.record.service_sid.clone(),
                    identity: None,
                    source: Source::System,
                };
                (plan, scope)
            }),
            _ => None,
        };
        match planned {
            Some((plan, scope)) => AtomicResponse::new(self.commit_then(plan, &scope, |_, _| {})),
            None => {
                self.schedule_timers();
                refuse(ApiError::NotFound("no timer due".into()))
            }
        }
    }
}

impl Handler<AddParticipant> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<crate::store::records::ParticipantRecord>>;

    fn handle(&mut self, msg: AddParticipant, _ctx: &mut Self::Context) -> Self::Result {
        let sid = match self.live(&msg.scope) {
            Ok(c) => c.record.sid.clone(),
            Err(e) => return refuse(e),
        };
        let hook = self.deps.hooks.pre(&msg.scope, "onParticipantAdd", |p| {
            params::participant_add(p, &sid, &msg.draft);
        });
        AtomicResponse::new(self.hooked(hook, move |act, _| {
            match act
                .current()
                .and_then(|c| c.plan_add_participant(msg.draft, now()))
            {
                Ok(plan) => act.commit_then(plan, &msg.scope, |act, p| {
                    if let Some(c) = act.conversation_mut() {
                        c.participants.push(p.clone());
                    }
                }),
                Err(e) => fail(e),
            }
        }))
    }
}

impl Handler<UpdateParticipant> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<crate::store::records::ParticipantRecord>>;

    fn handle(&mut self, msg: UpdateParticipant, _ctx: &mut Self::Context) -> Self::Result {
        let current = match self.live(&msg.scope) {
            Ok(c) => c.participant(&msg.key).cloned(),
            Err(e) => return refuse(e),
        };
        // Read-horizon moves are not "participant updates" for pre-event hooks.
        let only_horizon = msg.changes.last_read_message_index.is_some()
            && msg.changes.attributes.is_none()
            && msg.changes.role_sid.is_none()
            && msg.changes.identity.is_none();
        let hook = match &current {
            Some(x) if !only_horizon => {
                self.deps.hooks.pre(&msg.scope, "onParticipantUpdate", |p| {
                    params::participant(p, x)
                })
            }
            _ => None,
        };
        AtomicResponse::new(self.hooked(hook, move |act, _| {
            match act
                .current()
                .and_then(|c| c.plan_update_participant(&msg.key, msg.changes, now()))
            {
                Ok(plan) => act.commit_then(plan, &msg.scope, |act, p| {
                    if let Some(c) = act.conversation_mut()
                        && let Some(slot) = c.participants.iter_mut().find(|x| x.sid == p.sid)
                    {
                        *slot = p.clone();
                    }
                }),
                Err(e) => fail(e),
            }
        }))
    }
}

impl Handler<RemoveParticipant> for ConversationActor {
    type Result = AtomicResponse<Self, Reply<crate::store::records::ParticipantRecord>>;

    fn handle(&mut self, msg: RemoveParticipant, _ctx: &mut Self::Context) -> Self::Result {
        let current = match self.live(&msg.scope) {
            Ok(c) => c.participant(&msg.key).cloned(),
            Err(e) => return refuse(e),
        };
        let hook = current.as_ref().and_then(|x| {
            self.deps.hooks.pre(&msg.scope, "onParticipantRemove", |p| {
                params::participant(p, x)
            })
        });
        AtomicResponse::new(self.hooked(hook, move |act, _| {
            match act
                .current()
                .and_then(|c| c.plan_remove_participant(&msg.key))
            {
                Ok(plan) => act.commit_then(plan, &msg.scope, |act, p| {
                    if let Some(c) = act.conversation_mut() {
                        c.participants.retain(|x| x.sid != p.sid);
                    }
                }),
                Err(e) => fail(e),
            }
        }))
    }
}
