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
        source: crate::conversations::drafts::Source,
    ) -> Result<(ConversationRecord, Vec<ParticipantRecord>), ApiError> {
        let sid = record.sid.clone();
        let addr = ConversationActor::creating(sid.clone(), self.deps.clone(), self.actors.clone())
            .start();
        self.actors.insert(sid, addr.clone());
        addr.send(Create {
            record,
            participants,
            source,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cluster::{EventBus, LocalBus};
    use crate::config::Settings;
    use crate::conversations::commands::PostMessage;
    use crate::conversations::drafts::{ConversationDraft, MessageDraft, Scope};
    use crate::conversations::events::ConversationEvent;
    use crate::conversations::state::new_conversation;
    use crate::conversations::timers;
    use crate::ids::{AccountSid, ServiceSid};
    use crate::store::records::now;
    use crate::store::sqlite::SqliteStore;

    async fn registry(dir: &std::path::Path, idle: Duration) -> (Arc<Registry>, Arc<dyn EventBus>) {
        let (registry, bus, _store) = registry_and_store(dir, idle).await;
        (registry, bus)
    }

    async fn registry_and_store(
        dir: &std::path::Path,
        idle: Duration,
    ) -> (Arc<Registry>, Arc<dyn EventBus>, Arc<SqliteStore>) {
        let settings = Settings::default();
        let store = Arc::new(SqliteStore::open(dir, &settings.store).expect("store"));
        let bus: Arc<dyn EventBus> = Arc::new(LocalBus::default());
        let (timers, _queue) = timers::channel();
        let mut conversations = settings.conversations.clone();
        conversations.actor_idle_timeout = idle;
        conversations.rate_limit_per_second = 0;
        let accounts = crate::accounts::Accounts::load(store.clone())
            .await
            .expect("accounts");
        let hooks = crate::webhooks::Hooks::new(
            crate::webhooks::config::Directory::default(),
            Arc::new(accounts),
            settings.webhooks.clone(),
        );
        let registry = Registry::new(ActorDeps {
            store: store.clone(),
            bus: bus.clone(),
            timers,
            settings: conversations,
            hooks: Arc::new(hooks),
            outbox: Arc::default(),
            media: settings.media.clone(),
        });
        (Arc::new(registry), bus, store)
    }

    fn scope() -> Scope {
        Scope {
            account: AccountSid::generate(),
            service: ServiceSid::generate(),
            identity: None,
            source: crate::conversations::drafts::Source::Sdk,
        }
    }

    /// A new conversation, its actor started.
    async fn created(registry: &Registry, scope: &Scope) -> ConversationSid {
        let record = new_conversation(scope, ConversationDraft::default(), now());
        let sid = record.sid.clone();
        registry
            .create(record, Vec::new(), scope.source)
            .await
            .expect("created");
        sid
    }

    async fn post(
        registry: &Registry,
        sid: &ConversationSid,
        scope: &Scope,
        body: impl Into<String>,
    ) -> u64 {
        let draft = MessageDraft {
            body: Some(body.into()),
            ..Default::default()
        };
        registry
            .call(
                sid,
                PostMessage {
                    scope: scope.clone(),
                    draft,
                },
            )
            .await
            .expect("posted")
            .index
    }

    #[actix_rt::test]
    async fn subscribers_see_every_message_once_in_index_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let (registry, bus) = registry(dir.path(), Duration::from_secs(60)).await;
        let scope = scope();
        let sid = created(&registry, &scope).await;
        let mut events = bus.subscribe(&sid);
        // A live subscriber reads while the writes go on. The bus buffers 128 events per
        // conversation; a subscriber further behind is told it lagged (and resumes from the
        // store), so the burst here stays below that.
        let reader = actix_rt::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 100 {
                match &events.recv().await.expect("event").event {
                    ConversationEvent::MessageAdded(m) => seen.push(m.index),
                    other => panic!("unexpected event {other:?}"),
                }
            }
            seen
        });
        let sends: Vec<_> = (0..100)
            .map(|i| post(&registry, &sid, &scope, format!("m{i}")))
            .collect();
        let mut acked = futures_util::future::join_all(sends).await;
        acked.sort_unstable();
        assert_eq!(acked, (0..100).collect::<Vec<u64>>());
        let seen = reader.await.expect("reader");
        assert_eq!(seen, (0..100).collect::<Vec<u64>>());
    }

    #[actix_rt::test]
    async fn idle_actors_stop_and_reload_their_state() {
        let dir = tempfile::tempdir().expect("tmp");
        let (registry, _bus) = registry(dir.path(), Duration::from_millis(200)).await;
        let scope = scope();
        let sid = created(&registry, &scope).await;
        assert_eq!(post(&registry, &sid, &scope, "a").await, 0);
        assert_eq!(post(&registry, &sid, &scope, "b").await, 1);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while registry.live_actors() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "idle actor never stopped"
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        // A fresh actor loads the next index from the store.
        assert_eq!(post(&registry, &sid, &scope, "c").await, 2);
        assert_eq!(registry.live_actors(), 1);
        // Another account cannot reach it.
        let draft = MessageDraft {
            body: Some("x".into()),
            ..Default::default()
        };
        let err = registry
            .call(
                &sid,
                PostMessage {
                    scope: self::scope(),
                    draft,
                },
            )
            .await
            .expect_err("scoped");
        assert!(matches!(err, ApiError::NotFound(_)));
    }

    #[actix_rt::test]
    async fn a_receipt_commits_what_it_settles_and_a_refused_one_leaves_it() {
        use crate::conversations::commands::{AddParticipant, RecordReceipt};
        use crate::conversations::drafts::ParticipantDraft;
        use crate::store::delivery::ReceiptStatus;
        use crate::store::outbox::{OutboxJob, OutboxRecord, WebhookJob};
        use crate::store::{Mutation, OutboxStore, WriteLog};

        let dir = tempfile::tempdir().expect("tmp");
        let (registry, _bus, store) = registry_and_store(dir.path(), Duration::from_secs(60)).await;
        let scope = scope();
        let sid = created(&registry, &scope).await;
        let draft = ParticipantDraft {
            identity: Some("guest".into()),
            ..Default::default()
        };
        let add = AddParticipant {
            scope: scope.clone(),
            draft,
        };
        registry.call(&sid, add).await.expect("participant added");
        let index = post(&registry, &sid, &scope, "hello").await;

        let job = || {
            let hook = WebhookJob {
                url: "http://127.0.0.1:9/hook".into(),
                method: "POST".into(),
                params: vec![],
                event: "onMessageAdded".into(),
            };
            OutboxRecord::new(scope.account.clone(), None, OutboxJob::Webhook(hook), 0)
        };
        let (first, again, refused) = (job(), job(), job());
        let unit = [&first, &again, &refused].map(|j| Mutation::PutOutbox(j.clone()));
        store.submit(unit.to_vec()).await.expect("jobs stored");
        let receipt = |message: String, settles: &OutboxRecord| RecordReceipt {
            scope: scope.clone(),
            message,
            participant: "guest".into(),
            status: ReceiptStatus::Delivered,
            channel_message_sid: None,
            error_code: None,
            with: vec![Mutation::DeleteOutbox(settles.id.clone())],
        };
        let pending = |job: &OutboxRecord| {
            let (store, account, id) = (store.clone(), job.account_sid.clone(), job.id.clone());
            async move {
                store
                    .outbox_job(&account, &id)
                    .await
                    .expect("read")
                    .is_some()
            }
        };

        // A new receipt: committed with the job it settles.
        let (_, got) = registry
            .call(&sid, receipt(index.to_string(), &first))
            .await
            .expect("recorded");
        assert_eq!(got.status, ReceiptStatus::Delivered);
        assert!(!pending(&first).await, "settled with the receipt");
        // The same receipt again changes nothing of it, and still settles its job.
        registry
            .call(&sid, receipt(index.to_string(), &again))
            .await
            .expect("already there");
        assert!(
            !pending(&again).await,
            "settled though the receipt was there"
        );
        // A receipt that is refused (no such message) settles nothing.
        registry
            .call(&sid, receipt("99".into(), &refused))
            .await
            .expect_err("no message 99");
        assert!(pending(&refused).await, "left for the caller");
    }
}
