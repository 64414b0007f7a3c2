//! `ConversationActor`: the only writer of one conversation. A thin shell over
//! [`Conversation`]: it plans each command, submits the plan to the store, answers only after
//! the commit, then publishes the events in commit order.
//!
//! Messages are pipelined: the actor assigns the index, submits, and moves on to the next
//! command while the batch commits, so one hot conversation still fills group commits. Every
//! other command waits for its commit before the next command runs (it may be refused by a
//! uniqueness rule that only the store can check).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use dashmap::DashMap;

use super::ActorDeps;
use super::commands::*;
use super::drafts::{Scope, Source};
use super::events::ConversationEvent;
use super::state::{Conversation, Plan};
use crate::cluster::BusEvent;
use crate::error::ApiError;
use crate::ids::{ConversationSid, MessageSid};
use crate::store::records::{ConversationRecord, LoadedConversation, now};
use crate::telemetry::metrics as telemetry;
use crate::webhooks::params;
use crate::webhooks::pre::{self, PreOutcome};

/// Where the actor is in its life.
enum Phase {
    /// Loading its state from the store (the mailbox waits).
    Loading,
    /// Spawned for a conversation that is being created by the `Create` command.
    Creating,
    /// Serving commands.
    Live(Box<Conversation>),
    /// The conversation does not exist (or was deleted): every command answers 404.
    Missing,
}

/// Publishes events strictly in submission (= commit) order even if completions are observed
/// out of order.
#[derive(Default)]
struct Publisher {
    next_reserved: u64,
    next_to_publish: u64,
    ready: BTreeMap<u64, Vec<ConversationEvent>>,
}

impl Publisher {
    fn reserve(&mut self) -> u64 {
        let seq = self.next_reserved;
        self.next_reserved += 1;
        seq
    }

    fn complete(&mut self, seq: u64, events: Vec<ConversationEvent>, deps: &ActorDeps) {
        self.ready.insert(seq, events);
        while let Some(events) = self.ready.remove(&self.next_to_publish) {
            for event in events {
                deps.bus.publish(Arc::new(BusEvent::new(event)));
            }
            self.next_to_publish += 1;
        }
    }
}

/// Token bucket for the per-conversation action rate.
struct RateLimit {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl RateLimit {
    fn new(per_second: u32) -> Self {
        RateLimit {
            per_second: f64::from(per_second),
            tokens: f64::from(per_second),
            refilled: Instant::now(),
        }
    }

    fn take(&mut self) -> Result<(), ApiError> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let elapsed = self.refilled.elapsed().as_secs_f64();
        self.refilled = Instant::now();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::RateLimited)
        }
    }
}

/// Client message ids of recent messages (and of messages still committing), so a retried
/// send answers with the first message instead of creating a second one. Bounded: the oldest
/// ids are forgotten first; the store's unique index still refuses a forgotten duplicate.
#[derive(Default)]
struct ClientIds {
    sids: HashMap<String, MessageSid>,
    order: VecDeque<String>,
}

impl ClientIds {
    const CAPACITY: usize = 1024;

    fn get(&self, id: &str) -> Option<&MessageSid> {
        self.sids.get(id)
    }

    fn insert(&mut self, id: String, sid: MessageSid) {
        if self.sids.insert(id.clone(), sid).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.sids.remove(&old);
            }
        }
    }
}

/// The actor owning one conversation.
pub struct ConversationActor {
    sid: ConversationSid,
    phase: Phase,
    deps: Arc<ActorDeps>,
    registry: Arc<DashMap<ConversationSid, Addr<ConversationActor>>>,
    publisher: Publisher,
    rate: RateLimit,
    last_activity: Instant,
    inflight: usize,
    client_ids: ClientIds,
}

type Reply<T> = Result<T, ApiError>;

impl ConversationActor {
    /// An actor that loads `sid` from the store when it starts.
    pub(super) fn loading(
        sid: ConversationSid,
        deps: Arc<ActorDeps>,
        registry: Arc<DashMap<ConversationSid, Addr<ConversationActor>>>,
    ) -> Self {
        Self::new(sid, Phase::Loading, deps, registry)
    }

    /// An actor for a conversation about to be created with [`Create`].
    pub(super) fn creating(
        sid: ConversationSid,
        deps: Arc<ActorDeps>,
        registry: Arc<DashMap<ConversationSid, Addr<ConversationActor>>>,
    ) -> Self {
        Self::new(sid, Phase::Creating, deps, registry)
    }

    fn new(
        sid: ConversationSid,
        phase: Phase,
        deps: Arc<ActorDeps>,
        registry: Arc<DashMap<ConversationSid, Addr<ConversationActor>>>,
    ) -> Self {
        let rate = RateLimit::new(deps.settings.rate_limit_per_second);
        ConversationActor {
            sid,
            phase,
            deps,
            registry,
            publisher: Publisher::default(),
            rate,
            last_activity: Instant::now(),
            inflight: 0,
            client_ids: ClientIds::default(),
        }
    }

    fn not_found(&self) -> ApiError {
        ApiError::NotFound(format!("/Conversations/{}", self.sid))
    }

    /// The live conversation, if `scope` may act on it; counts against the rate limit.
    fn live(&mut self, scope: &Scope) -> Result<&Conversation, ApiError> {
        self.last_activity = Instant::now();
        let conversation = match &self.phase {
            Phase::Live(c) => c,
            _ => return Err(self.not_found()),
        };
        conversation.check_scope(scope)?;
        conversation.check_participant(scope)?;
        self.rate.take()?;
        match &self.phase {
            Phase::Live(c) => Ok(c),
            _ => Err(self.not_found()),
        }
    }

    fn conversation_mut(&mut self) -> Option<&mut Conversation> {
        match &mut self.phase {
            Phase::Live(c) => Some(c),
            _ => None,
        }
    }

    fn schedule_timers(&self) {
        if let Phase::Live(c) = &self.phase
            && let Some(due) = c.record.timers.next_due()
        {
            self.deps.timers.schedule(self.sid.clone(), due);
        }
    }

    /// Commits `plan`, then applies it with `after`, publishes its events and answers. The
    /// mailbox waits meanwhile, so the next command sees the result.
    fn commit_then<T: Send + 'static>(
        &mut self,
        plan: Plan<T>,
        scope: &Scope,
        after: impl FnOnce(&mut Self, &T) + 'static,
    ) -> ResponseActFuture<Self, Reply<T>> {
        let seq = self.publisher.reserve();
        let Plan {
            value,
            mut mutations,
            events,
            conversation,
        } = plan;
        let wake = self.side_effects(scope, &events, &mut mutations);
        let commit = self.deps.store.submit(mutations);
        self.inflight += 1;
        Box::pin(commit.into_actor(self).map(move |result, act, _ctx| {
            act.inflight -= 1;
            match result {
                Ok(()) => {
                    if wake {
                        act.deps.outbox.wake();
                    }
                    if let Some(c) = act.conversation_mut() {
                        c.commit_conversation(conversation);
                    }
                    after(act, &value);
                    act.publisher.complete(seq, events, &act.deps);
                    act.schedule_timers();
                    Ok(value)
                }
                Err(e) => {
                    act.publisher.complete(seq, Vec::new(), &act.deps);
                    Err(e.into())
                }
            }
        }))
    }

    /// Adds to `mutations` the outbox jobs `events` cause — post-event webhooks and messages
    /// for messaging participants — so they commit with the change. True when there are any.
    fn side_effects(
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
    fn hooked<T: Send + 'static>(
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
    fn exclusively<T: Send + 'static>(
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
}

impl ConversationActor {
    /// Submits `plan` from inside a command's future (after its reads) and publishes its
    /// events once it committed.
    fn submit_plan<T: 'static>(
        &mut self,
        plan: Plan<T>,
        scope: &Scope,
    ) -> impl ActorFuture<Self, Output = Reply<T>> + use<T> {
        let seq = self.publisher.reserve();
        let Plan {
            value,
            mut mutations,
            events,
            ..
        } = plan;
        let wake = self.side_effects(scope, &events, &mut mutations);
        let commit = self.deps.store.submit(mutations);
        commit.into_actor(self).map(move |result, act, _| {
            if wake && result.is_ok() {
                act.deps.outbox.wake();
            }
            let published = if result.is_ok() { events } else { Vec::new() };
            act.publisher.complete(seq, published, &act.deps);
            result.map(|()| value).map_err(ApiError::from)
        })
    }

    /// Answers a retried send with the message the first send created, once that one has
    /// committed (an empty unit queued behind it is a barrier: units commit in order).
    fn answer_retry(
        &mut self,
        scope: &Scope,
        first: MessageSid,
    ) -> ResponseActFuture<Self, Reply<crate::store::records::MessageRecord>> {
        if let Err(e) = self.live(scope) {
            return Box::pin(fut::ready(Err(e)));
        }
        let barrier = self.deps.store.submit(Vec::new());
        let store = self.deps.store.clone();
        let sid = self.sid.clone();
        Box::pin(
            async move {
                barrier.await?;
                store.message(&sid, first.as_str()).await?.ok_or_else(|| {
                    ApiError::NotFound(format!("/Conversations/{sid}/Messages/{first}"))
                })
            }
            .into_actor(self),
        )
    }
}

/// Refuses to change a message the scope's identity did not write.
fn check_author(
    scope: &Scope,
    message: &crate::store::records::MessageRecord,
) -> Result<(), ApiError> {
    match &scope.identity {
        Some(identity) if *identity != message.author => Err(ApiError::Forbidden(
            "only the author may change a message".into(),
        )),
        _ => Ok(()),
    }
}

fn refuse<T: 'static>(err: ApiError) -> AtomicResponse<ConversationActor, Reply<T>> {
    AtomicResponse::new(Box::pin(fut::ready(Err(err))))
}

fn fail<T: 'static>(err: ApiError) -> ResponseActFuture<ConversationActor, Reply<T>> {
    Box::pin(fut::ready(Err(err)))
}

impl Actor for ConversationActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        metrics::gauge!(telemetry::ACTORS_LIVE).increment(1.0);
        if matches!(self.phase, Phase::Loading) {
            let store = self.deps.store.clone();
            let sid = self.sid.clone();
            let load = async move { store.load_conversation(&sid).await };
            ctx.wait(load.into_actor(self).map(|result, act, _ctx| {
                act.phase = match result {
                    Ok(Some(LoadedConversation { record, next_index, participants, recent_client_ids })) => {
                        for (id, sid) in recent_client_ids.into_iter().rev() {
                            act.client_ids.insert(id, sid);
                        }
                        Phase::Live(Box::new(Conversation { record, next_index, participants }))
                    }
                    Ok(None) => Phase::Missing,
                    Err(e) => {
                        tracing::error!(conversation_sid = %act.sid, error = %e, "loading conversation failed");
                        Phase::Missing
                    }
                };
                act.schedule_timers();
            }));
        }
        let idle = self.deps.settings.actor_idle_timeout;
        let tick = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        ctx.run_interval(tick, move |act, ctx| {
            let limit = if matches!(act.phase, Phase::Missing) {
                idle.min(Duration::from_secs(5))
            } else {
                idle
            };
            if act.inflight == 0 && act.last_activity.elapsed() >= limit {
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        metrics::gauge!(telemetry::ACTORS_LIVE).decrement(1.0);
        let me = ctx.address();
        self.registry.remove_if(&self.sid, |_, addr| *addr == me);
    }
}

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
    fn create(
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

    /// Refuses attachments a messaging participant's channel would not take (size, type), so
    /// a message is never stored that its SMS/WhatsApp recipients cannot receive.
    fn check_channel_media(
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

    /// The live conversation (scope already checked when the command arrived).
    fn current(&self) -> Result<&Conversation, ApiError> {
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

/// Applies a pre-event webhook's `body`, `author` and `attributes` to a new message.
fn apply_message_changes(
    changes: &serde_json::Map<String, serde_json::Value>,
    draft: &mut super::drafts::MessageDraft,
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

impl ConversationActor {
    /// Assigns the next index and submits the message; answers once it committed.
    fn post(
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
                    let mut draft = super::drafts::MessageDraft::default();
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
    fn read_message(
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
    fn found_message(
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
                let change = super::receipts::ReceiptChange {
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
                match planned {
                    Ok((Some(plan), _, _)) => {
                        futures_util::future::Either::Left(act.submit_plan(plan, &msg.scope))
                    }
                    // Already there: answer with the current state, change nothing.
                    Ok((None, message, Some(existing))) => {
                        futures_util::future::Either::Right(fut::ready(Ok((message, existing))))
                    }
                    Ok((None, _, None)) => {
                        futures_util::future::Either::Right(fut::ready(Err(ApiError::Internal)))
                    }
                    Err(e) => futures_util::future::Either::Right(fut::ready(Err(e))),
                }
            },
        )))
    }
}
