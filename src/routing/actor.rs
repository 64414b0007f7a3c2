//! `RouterActor`: one per workspace, the only writer of its routing state.
//!
//! Every request is an [`Exec`]: a closure run against the [`Engine`] with the current time.
//! What it changed is submitted to the store as one unit right away (so the next request sees
//! it and the store commits in request order), and the answer and the WebSocket pushes wait
//! in one ordered queue until that unit has committed: nothing is acknowledged or offered
//! before it is durable. Event callbacks are outbox jobs written in the same unit; the outbox
//! dispatcher sends them (retried, dead-lettered) once it committed.
//!
//! One timer is armed for the engine's earliest deadline (reservation timeouts, step
//! timeouts, TTLs); deadlines that passed while the server was down fire on start.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::{mpsc, oneshot};

use super::engine::{Changes, Engine, Event, EventKind, RoutingError};
use super::model::{Millis, now_ms};
use super::{persist, wire};
use crate::accounts::Accounts;
use crate::cluster::{EventBus, routing_topic};
use crate::error::ApiError;
use crate::ids::{AccountSid, ReservationSid, TaskSid, WorkerSid};
use crate::store::outbox::{OutboxJob, OutboxRecord, WebhookJob};
use crate::store::{Commit, Store, StoreError};
use crate::telemetry::metrics as telemetry;

/// How often supervisors' statistics are refreshed when something changed.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// What a router needs from the rest of the server.
#[derive(Clone)]
pub struct RouterDeps {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Where worker and workspace frames go.
    pub bus: Arc<dyn EventBus>,
    /// Auth tokens that sign event callbacks.
    pub accounts: Arc<Accounts>,
    /// Woken when event callbacks were written to the outbox.
    pub outbox: Arc<crate::outbox::Outbox>,
}

/// A closure run inside the router.
pub type EngineFn<R> = Box<dyn FnOnce(&mut Engine, Millis) -> Result<R, RoutingError> + Send>;

/// Runs a closure against the engine.
pub struct Exec<R>(pub EngineFn<R>);

impl<R: 'static> Message for Exec<R> {
    type Result = Result<R, ApiError>;
}

impl From<RoutingError> for ApiError {
    fn from(e: RoutingError) -> Self {
        match e {
            RoutingError::NotFound(what) => ApiError::NotFound(what),
            RoutingError::Invalid(message) => ApiError::InvalidParameter(message),
            RoutingError::Conflict(message) => ApiError::Conflict(message),
        }
    }
}

/// A unit on its way to the store, with what to do once it committed.
struct Flush {
    commit: Option<Commit>,
    frames: Vec<(String, ByteString)>,
    /// When each task first offered in this flush was created (the offer-latency histogram).
    offered_tasks_created: Vec<Millis>,
    callbacks: bool,
    done: Option<oneshot::Sender<Result<(), StoreError>>>,
}

/// The actor.
pub struct RouterActor {
    engine: Engine,
    deps: RouterDeps,
    flushes: mpsc::UnboundedSender<Flush>,
    timer: Option<(Millis, SpawnHandle)>,
    stats_dirty: bool,
}

impl RouterActor {
    /// Starts a router over a loaded engine.
    pub fn start_with(engine: Engine, deps: RouterDeps) -> Addr<RouterActor> {
        let (tx, rx) = mpsc::unbounded_channel();
        actix_rt::spawn(publish_in_order(rx, deps.clone()));
        RouterActor {
            engine,
            deps,
            flushes: tx,
            timer: None,
            stats_dirty: true,
        }
        .start()
    }

    fn account(&self) -> &AccountSid {
        &self.engine.workspace.account_sid
    }

    /// Submits what the engine changed; `done` hears when it is durable.
    fn flush(&mut self, done: Option<oneshot::Sender<Result<(), StoreError>>>) {
        let Changes {
            dirty,
            removed,
            events,
        } = self.engine.take_changes();
        let mut unit = persist::unit(&self.engine, &dirty, &removed, &events);
        let now = now_ms();
        let mut frames = Vec::new();
        let mut callbacks = false;
        let mut offered_tasks_created = Vec::new();
        for event in &events {
            self.frames_for(event, now, &mut frames);
            if event.event_type == "reservation.created"
                && let Some(created) = self.first_offer(event)
            {
                offered_tasks_created.push(created);
            }
            if let Some((url, params)) = self.callback_params(event) {
                let job = OutboxJob::Webhook(WebhookJob {
                    url,
                    method: "POST".into(),
                    params,
                    event: event.event_type.to_owned(),
                });
                let record = OutboxRecord::new(self.account().clone(), None, job, now);
                unit.push(crate::store::Mutation::PutOutbox(record));
                callbacks = true;
            }
        }
        if !unit.is_empty() {
            self.stats_dirty = true;
        }
        let commit = (!unit.is_empty()).then(|| self.deps.store.submit(unit));
        let _ = self.flushes.send(Flush {
            commit,
            frames,
            offered_tasks_created,
            callbacks,
            done,
        });
    }

    /// When the task of `event` (a `reservation.created`) was created, if this is its first
    /// offer: no reservation of the task is older than this one (a multi-reserve offers several
    /// at once; only the first of them counts). Re-offers after a reject or a time-out would
    /// measure the agents' answers, not routing.
    fn first_offer(&self, event: &Event) -> Option<Millis> {
        let task: TaskSid = event.get("task_sid")?.parse().ok()?;
        let reservation: ReservationSid = event.resource_sid.parse().ok()?;
        let created = self.engine.tasks.get(&task)?.created;
        let offers = self.engine.reservations_of_task(&task);
        let this = offers.iter().find(|r| r.sid == reservation)?;
        let first = offers
            .iter()
            .all(|r| (r.created, &r.sid) >= (this.created, &this.sid));
        first.then_some(created)
    }

    /// The WebSocket frames an event causes: offers and reservation changes to the worker,
    /// worker changes to the worker.
    fn frames_for(&self, event: &Event, now: Millis, out: &mut Vec<(String, ByteString)>) {
        let engine = &self.engine;
        match event.kind {
            EventKind::Reservation => {
                let (Some(worker), Ok(sid)) = (
                    event
                        .get("worker_sid")
                        .and_then(|w| w.parse::<WorkerSid>().ok()),
                    event.resource_sid.parse::<ReservationSid>(),
                ) else {
                    return;
                };
                let topic = routing_topic::worker(&worker);
                // Nobody listening (no socket of that worker): no frame to build.
                if self.deps.bus.has_frame_subscribers(&topic) {
                    let frame = wire::reservation_frame(engine, event.event_type, &sid, now);
                    out.push((topic, frame));
                }
            }
            EventKind::Worker if event.event_type != "worker.deleted" => {
                let Ok(worker) = event.resource_sid.parse::<WorkerSid>() else {
                    return;
                };
                let topic = routing_topic::worker(&worker);
                if self.deps.bus.has_frame_subscribers(&topic) {
                    let frame = wire::worker_frame(engine, event.event_type, &worker);
                    out.push((topic, frame));
                }
            }
            _ => {}
        }
    }

    /// Form parameters of the event callback, when the workspace has one and its filter
    /// lets this event type through.
    fn callback_params(&self, event: &Event) -> Option<(String, Vec<(String, String)>)> {
        let ws = &self.engine.workspace;
        let url = ws.event_callback_url.clone()?;
        if let Some(filter) = ws.events_filter.as_deref()
            && !filter.split(',').any(|t| t.trim() == event.event_type)
        {
            return None;
        }
        let mut params = vec![
            ("EventType".to_owned(), event.event_type.to_owned()),
            ("AccountSid".to_owned(), self.account().to_string()),
            ("WorkspaceSid".to_owned(), ws.sid.to_string()),
            ("WorkspaceName".to_owned(), ws.friendly_name.clone()),
            ("EventDescription".to_owned(), event.description.clone()),
            ("ResourceType".to_owned(), event.kind.as_str().to_owned()),
            ("ResourceSid".to_owned(), event.resource_sid.clone()),
            ("Timestamp".to_owned(), (event.at / 1000).to_string()),
            ("TimestampMs".to_owned(), event.at.to_string()),
            ("Sid".to_owned(), event.sid.to_string()),
        ];
        for (k, v) in &event.data {
            if k == "workspace_sid" || k == "workspace_name" {
                continue;
            }
            params.push((camel(k), v.clone()));
        }
        Some((url, params))
    }

    /// Arms the timer for the earliest deadline, if it is earlier than the armed one.
    fn arm(&mut self, ctx: &mut Context<Self>) {
        let Some(at) = self.engine.next_deadline() else {
            return;
        };
        if let Some((armed, handle)) = self.timer {
            if armed <= at {
                return;
            }
            ctx.cancel_future(handle);
        }
        let wait = Duration::from_millis((at - now_ms()).max(0) as u64);
        let handle = ctx.run_later(wait, |act, ctx| {
            act.timer = None;
            act.engine.tick(now_ms());
            act.flush(None);
            act.arm(ctx);
        });
        self.timer = Some((at, handle));
    }
}

/// `task_queue_sid` → `TaskQueueSid`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Awaits each unit's commit in submission order, then publishes its frames, posts its
/// wakes the outbox for its callbacks and answers its request.
async fn publish_in_order(mut rx: mpsc::UnboundedReceiver<Flush>, deps: RouterDeps) {
    while let Some(flush) = rx.recv().await {
        let committed = match flush.commit {
            Some(commit) => commit.await,
            None => Ok(()),
        };
        match &committed {
            Ok(()) => {
                for (topic, frame) in flush.frames {
                    deps.bus.publish_frame(&topic, frame);
                }
                let now = now_ms();
                for created in flush.offered_tasks_created {
                    let seconds = (now - created).max(0) as f64 / 1000.0;
                    metrics::histogram!(telemetry::ROUTING_OFFER_SECONDS).record(seconds);
                }
                if flush.callbacks {
                    deps.outbox.wake();
                }
            }
            Err(e) => tracing::error!(error = %e, "routing state failed to commit"),
        }
        if let Some(done) = flush.done {
            let _ = done.send(committed);
        }
    }
}

impl Actor for RouterActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Deadlines that passed while the server was down fire now; then route what waits.
        let now = now_ms();
        self.engine.tick(now);
        self.engine.route_everything(now);
        self.flush(None);
        self.arm(ctx);
        let topic = routing_topic::workspace(&self.engine.workspace.sid);
        ctx.run_interval(STATS_INTERVAL, move |act, _| {
            // Statistics are computed only when something changed and a supervisor listens;
            // with nobody listening the roster's changes are dropped (a supervisor that
            // subscribes later starts from a snapshot).
            let changed = std::mem::take(&mut act.stats_dirty);
            if !act.deps.bus.has_frame_subscribers(&topic) {
                act.engine.take_roster_changes();
            } else if let Some(frame) = wire::statistics_frame(&mut act.engine, changed, now_ms()) {
                act.deps.bus.publish_frame(&topic, frame);
            }
        });
    }
}

impl<R: Send + 'static> Handler<Exec<R>> for RouterActor {
    type Result = ResponseFuture<Result<R, ApiError>>;

    fn handle(&mut self, msg: Exec<R>, ctx: &mut Self::Context) -> Self::Result {
        let result = (msg.0)(&mut self.engine, now_ms());
        let (tx, rx) = oneshot::channel();
        self.flush(Some(tx));
        self.arm(ctx);
        Box::pin(async move {
            rx.await.unwrap_or(Err(StoreError::Closed))?;
            result.map_err(ApiError::from)
        })
    }
}

/// Stops the actor (workspace deleted).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for RouterActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
