//! The registry of live conversation actors (dashmap: SID → address). It spawns an actor on
//! first use, and retries a call once the actor it reached was stopping (idle stop), so callers
//! never see an actor's life cycle.

use std::sync::Arc;

use actix::prelude::*;
use dashmap::DashMap;

use super::ActorDeps;
use super::actor::ConversationActor;
use super::commands::{ApplyTimers, Create};
use crate::error::ApiError;
use crate::ids::ConversationSid;
use crate::store::records::{ConversationRecord, ParticipantRecord};

/// How often a call is retried on a freshly spawned actor.
const ATTEMPTS: usize = 3;

/// Live conversation actors.
pub struct Registry {
    actors: Arc<DashMap<ConversationSid, Addr<ConversationActor>>>,
    deps: Arc<ActorDeps>,
}

impl Registry {
    /// An empty registry whose actors use `deps`.
    pub fn new(deps: ActorDeps) -> Self {
        Registry {
            actors: Arc::new(DashMap::new()),
            deps: Arc::new(deps),
        }
    }

    /// Number of live actors.
    pub fn live_actors(&self) -> usize {
        self.actors.len()
    }

    fn addr(&self, sid: &ConversationSid) -> Addr<ConversationActor> {
        let mut entry = self.actors.entry(sid.clone()).or_insert_with(|| {
            ConversationActor::loading(sid.clone(), self.deps.clone(), self.actors.clone()).start()
        });
        if !entry.connected() {
            *entry =
                ConversationActor::loading(sid.clone(), self.deps.clone(), self.actors.clone())
                    .start();
        }
        entry.clone()
    }

    /// Sends `msg` to the conversation's actor (spawning it if needed) and returns its answer.
    pub async fn call<M, T>(&self, sid: &ConversationSid, msg: M) -> Result<T, ApiError>
    where
        M: Message<Result = Result<T, ApiError>> + Clone + Send + 'static,
        T: Send + 'static,
        ConversationActor: Handler<M>,
    {
        for _ in 0..ATTEMPTS {
            let addr = self.addr(sid);
            match addr.send(msg.clone()).await {
                Ok(answer) => return answer,
                Err(MailboxError::Closed) => {
                    self.actors.remove_if(sid, |_, a| *a == addr);
                }
                Err(MailboxError::Timeout) => return Err(ApiError::Unavailable),
            }
        }
        Err(ApiError::Unavailable)
    }

    /// Creates a conversation (with its first participants) through a new actor.
    pub async fn create(
        &self,
        record: ConversationRecord,
        participants: Vec<ParticipantRecord>,
    ) -> Result<(ConversationRecord, Vec<ParticipantRecord>), ApiError> {
        let sid = record.sid.clone();
        let addr = ConversationActor::creating(sid.clone(), self.deps.clone(), self.actors.clone())
            .start();
        self.actors.insert(sid, addr.clone());
        addr.send(Create {
            record,
            participants,
        })
        .await?
    }

    /// Asks the conversation's actor to apply due timers (called by the timer task).
    pub fn fire_timers(self: &Arc<Self>, sid: ConversationSid) {
        let registry = self.clone();
        actix::spawn(async move {
            // "No timer due" is the normal answer to a stale wake-up.
            let _ = registry.call(&sid, ApplyTimers).await;
        });
    }
}
