//! `ConversationActor`: the only writer of one conversation. A thin shell over
//! [`Conversation`]: it plans each command, submits the plan to the store, answers only after
//! the commit, then publishes the events in commit order.
//!
//! Messages are pipelined: the actor assigns the index, submits, and moves on to the next
//! command while the batch commits, so one hot conversation still fills group commits. Every
//! other command waits for its commit before the next command runs (it may be refused by a
//! uniqueness rule that only the store can check).
//!
//! Every change writes, in its own unit, the outbox jobs it causes (post-event webhooks,
//! messages for SMS/WhatsApp participants); pre-event webhooks are asked before the change
//! (`hooks.rs`). Handlers live in `lifecycle.rs` (conversation, participants) and `messages.rs`.

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

mod hooks;
mod lifecycle;
mod messages;

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
        // What customers send through a provider, and the provider's receipts, are never
        // turned away: the provider would not retry them.
        if !matches!(scope.source, Source::Channel(_) | Source::System) {
            self.rate.take()?;
        }
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
