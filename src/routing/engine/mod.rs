//! `Engine`: the routing logic of one workspace, with no I/O and no clock of its own (every
//! operation takes `now`). The [`super::actor::RouterActor`] owns one, persists what it
//! marks dirty, publishes its events and arms a timer for [`Engine::next_deadline`].
//!
//! Indexes kept beside the resources:
//! * queue membership (which workers a queue's `target_workers` selects), per queue and per
//!   worker;
//! * waiting tasks per queue (and per directly targeted worker), ordered by priority, then age
//!   (FIFO or LIFO);
//! * each worker's capacity-holding reservations (pending, accepted, wrapping) and its load
//!   per channel;
//! * per queue and channel, the workers that could take a task now (available, free
//!   capacity), longest idle first — routing takes the first eligible instead of scanning the
//!   queue's members;
//! * deadlines (reservation timeouts, step timeouts, TTLs), checked lazily when they fire.
//!
//! Invariants: a worker never holds more capacity-holding reservations on a channel than the
//! channel's capacity (unless a task was created with `IgnoreCapacity`); a task has at most one
//! accepted reservation; a reservation is accepted at most once.

mod assign;
mod events;
pub mod ops;
mod roster;
mod stats;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

pub use events::{Event, EventKind};
pub use ops::{TaskCreate, TaskUpdate, WorkerUpdate};
pub use roster::RosterChanges;
pub use stats::{QueueStats, WorkspaceStats};

use super::expr::Expr;
use super::model::*;
use super::workflow::Program;
use crate::ids::*;

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// No such resource in this workspace.
    #[error("The requested resource {0} was not found")]
    NotFound(String),
    /// A parameter is missing or bad.
    #[error("{0}")]
    Invalid(String),
    /// The resource is not in a state that allows this (e.g. accepting a rescinded reservation).
    #[error("{0}")]
    Conflict(String),
}

/// A stored document the actor must write (or delete).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocKey {
    /// The workspace itself.
    Workspace,
    /// An activity.
    Activity(ActivitySid),
    /// A task channel.
    TaskChannel(TaskChannelSid),
    /// A worker (with its channels).
    Worker(WorkerSid),
    /// A queue.
    Queue(TaskQueueSid),
    /// A workflow.
    Workflow(WorkflowSid),
    /// A task.
    Task(TaskSid),
    /// A reservation.
    Reservation(ReservationSid),
}

/// Something that happens at a time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Deadline {
    Reservation(ReservationSid),
    Step(TaskSid),
    Ttl(TaskSid),
    Purge(TaskSid),
}

/// Default retention of finished tasks.
pub const DEFAULT_RETENTION_MS: Millis = 3_600_000;

/// Order of a waiting task in its queue: priority (higher first), then age.
type WaitKey = (Reverse<i64>, i64, TaskSid);

/// The routing state of one workspace.
pub struct Engine {
    /// The workspace.
    pub workspace: Workspace,
    /// Activities.
    pub activities: BTreeMap<ActivitySid, Activity>,
    /// Task channels.
    pub channels: BTreeMap<TaskChannelSid, TaskChannel>,
    /// Workers (hashed: routing looks them up for every candidate).
    pub workers: HashMap<WorkerSid, Worker>,
    /// Queues.
    pub queues: BTreeMap<TaskQueueSid, TaskQueue>,
    /// Workflows.
    pub workflows: BTreeMap<WorkflowSid, Workflow>,
    /// Tasks (final ones too).
    pub tasks: HashMap<TaskSid, Task>,
    /// Reservations.
    pub reservations: HashMap<ReservationSid, Reservation>,

    programs: HashMap<WorkflowSid, Program>,
    queue_exprs: HashMap<TaskQueueSid, Option<Expr>>,
    worker_attrs: HashMap<WorkerSid, Value>,
    task_attrs: HashMap<TaskSid, Value>,
    members: HashMap<TaskQueueSid, HashSet<WorkerSid>>,
    worker_queues: HashMap<WorkerSid, Vec<TaskQueueSid>>,
    waiting: HashMap<TaskQueueSid, BTreeSet<WaitKey>>,
    waiting_direct: HashMap<WorkerSid, BTreeSet<WaitKey>>,
    task_reservations: HashMap<TaskSid, Vec<ReservationSid>>,
    holding: HashMap<WorkerSid, Vec<ReservationSid>>,
    loads: HashMap<WorkerSid, HashMap<TaskChannelSid, u32>>,
    free: HashMap<(TaskQueueSid, TaskChannelSid), BTreeSet<(Millis, WorkerSid)>>,
    free_at: HashMap<WorkerSid, Vec<(TaskQueueSid, TaskChannelSid, Millis)>>,
    by_task: HashMap<TaskSid, Vec<ReservationSid>>,
    by_worker: HashMap<WorkerSid, Vec<ReservationSid>>,
    deadlines: BTreeSet<(Millis, Deadline)>,

    dirty: BTreeSet<DocKey>,
    removed: Vec<DocKey>,
    events: Vec<Event>,
    roster: roster::Roster,
    /// Counters since start (cumulative statistics).
    pub counters: BTreeMap<&'static str, u64>,
    /// How long finished tasks stay before they are deleted.
    retention: Millis,
}

/// What one operation changed: documents to store or delete, and events to publish.
#[derive(Debug, Default)]
pub struct Changes {
    /// Documents written.
    pub dirty: Vec<DocKey>,
    /// Documents deleted.
    pub removed: Vec<DocKey>,
    /// Events, in order.
    pub events: Vec<Event>,
}

impl Engine {
    /// An engine over stored state (or a new workspace's defaults). Rebuilds every index and
    /// schedules every deadline; nothing is routed until [`Engine::route_everything`].
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        workspace: Workspace,
        activities: Vec<Activity>,
        channels: Vec<TaskChannel>,
        workers: Vec<Worker>,
        queues: Vec<TaskQueue>,
        workflows: Vec<Workflow>,
        tasks: Vec<Task>,
        reservations: Vec<Reservation>,
    ) -> Engine {
        let mut engine = Engine {
            workspace,
            activities: activities.into_iter().map(|a| (a.sid.clone(), a)).collect(),
            channels: channels.into_iter().map(|c| (c.sid.clone(), c)).collect(),
            workers: workers.into_iter().map(|w| (w.sid.clone(), w)).collect(),
            queues: queues.into_iter().map(|q| (q.sid.clone(), q)).collect(),
            workflows: workflows.into_iter().map(|w| (w.sid.clone(), w)).collect(),
            tasks: tasks.into_iter().map(|t| (t.sid.clone(), t)).collect(),
            reservations: reservations
                .into_iter()
                .map(|r| (r.sid.clone(), r))
                .collect(),
            programs: HashMap::new(),
            queue_exprs: HashMap::new(),
            worker_attrs: HashMap::new(),
            task_attrs: HashMap::new(),
            members: HashMap::new(),
            worker_queues: HashMap::new(),
            waiting: HashMap::new(),
            waiting_direct: HashMap::new(),
            task_reservations: HashMap::new(),
            holding: HashMap::new(),
            loads: HashMap::new(),
            free: HashMap::new(),
            free_at: HashMap::new(),
            by_task: HashMap::new(),
            by_worker: HashMap::new(),
            deadlines: BTreeSet::new(),
            dirty: BTreeSet::new(),
            removed: Vec::new(),
            events: Vec::new(),
            roster: roster::Roster::default(),
            counters: BTreeMap::new(),
            retention: DEFAULT_RETENTION_MS,
        };
        engine.rebuild();
        engine
    }

    fn rebuild(&mut self) {
        let queue_sids: HashSet<TaskQueueSid> = self.queues.keys().cloned().collect();
        for (sid, wf) in &self.workflows {
            match super::workflow::compile(&wf.configuration, &queue_sids) {
                Ok(p) => {
                    self.programs.insert(sid.clone(), p);
                }
                Err(e) => {
                    tracing::warn!(workflow_sid = %sid, error = %e, "stored workflow no longer compiles")
                }
            }
        }
        for (sid, q) in &self.queues {
            self.queue_exprs
                .insert(sid.clone(), compile_target_workers(&q.target_workers));
        }
        for (sid, w) in &self.workers {
            self.worker_attrs
                .insert(sid.clone(), parse_attributes(&w.attributes));
        }
        let worker_sids: Vec<WorkerSid> = self.workers.keys().cloned().collect();
        for w in &worker_sids {
            self.refresh_membership(w);
        }
        for (sid, t) in &self.tasks {
            if !t.status.is_final() {
                self.task_attrs.insert(sid.clone(), t.attributes_value());
            }
        }
        let task_sids: Vec<TaskSid> = self
            .tasks
            .values()
            .filter(|t| !t.status.is_final())
            .map(|t| t.sid.clone())
            .collect();
        for sid in &task_sids {
            self.index_waiting(sid);
            self.schedule_task(sid);
        }
        let mut all: Vec<&Reservation> = self.reservations.values().collect();
        all.sort_by_key(|r| (r.created, r.sid.clone()));
        for r in all {
            self.by_task
                .entry(r.task_sid.clone())
                .or_default()
                .push(r.sid.clone());
            self.by_worker
                .entry(r.worker_sid.clone())
                .or_default()
                .push(r.sid.clone());
        }
        let live: Vec<Reservation> = self
            .reservations
            .values()
            .filter(|r| r.status.holds_capacity())
            .cloned()
            .collect();
        for r in live {
            self.task_reservations
                .entry(r.task_sid.clone())
                .or_default()
                .push(r.sid.clone());
            self.holding
                .entry(r.worker_sid.clone())
                .or_default()
                .push(r.sid.clone());
            *self
                .loads
                .entry(r.worker_sid.clone())
                .or_default()
                .entry(r.task_channel_sid.clone())
                .or_default() += 1;
            if r.status == ReservationStatus::Pending {
                self.deadlines
                    .insert((r.timeout_at, Deadline::Reservation(r.sid.clone())));
            }
        }
        self.refresh_all_free();
    }

    /// Takes what changed since the last call.
    pub fn take_changes(&mut self) -> Changes {
        Changes {
            dirty: std::mem::take(&mut self.dirty).into_iter().collect(),
            removed: std::mem::take(&mut self.removed),
            events: std::mem::take(&mut self.events),
        }
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Applies every deadline due at `now`: reservation timeouts, step timeouts, TTLs.
    pub fn tick(&mut self, now: Millis) {
        while let Some((at, _)) = self.deadlines.first() {
            if *at > now {
                break;
            }
            let Some((at, deadline)) = self.deadlines.pop_first() else {
                break;
            };
            match deadline {
                Deadline::Reservation(sid) => self.on_reservation_deadline(&sid, at, now),
                Deadline::Step(sid) => self.on_step_deadline(&sid, at, now),
                Deadline::Ttl(sid) => self.on_ttl(&sid, at, now),
                Deadline::Purge(sid) => self.purge(&sid, now),
            }
        }
    }

    /// Tries to route every waiting task (after a load, or when a workflow is re-evaluated).
    pub fn route_everything(&mut self, now: Millis) {
        let mut waiting: Vec<&Task> = self
            .tasks
            .values()
            .filter(|t| t.status.is_waiting())
            .collect();
        // Highest priority, then oldest, first.
        waiting.sort_by(|a, b| {
            (std::cmp::Reverse(a.priority), a.virtual_start, &a.sid).cmp(&(
                std::cmp::Reverse(b.priority),
                b.virtual_start,
                &b.sid,
            ))
        });
        let waiting: Vec<TaskSid> = waiting.into_iter().map(|t| t.sid.clone()).collect();
        for sid in waiting {
            self.try_route_task(&sid, now);
        }
    }

    /// Sets how long finished tasks stay (and re-schedules the ones already finished).
    pub fn set_retention(&mut self, retention: Millis) {
        self.retention = retention.max(0);
        let finished: Vec<(TaskSid, Millis)> = self
            .tasks
            .values()
            .filter(|t| t.status.is_final())
            .map(|t| (t.sid.clone(), t.updated))
            .collect();
        for (sid, at) in finished {
            self.deadlines
                .insert((at + self.retention, Deadline::Purge(sid)));
        }
    }

    /// Schedules the deletion of a task that just finished.
    pub(super) fn schedule_purge(&mut self, sid: &TaskSid, now: Millis) {
        self.deadlines
            .insert((now + self.retention, Deadline::Purge(sid.clone())));
    }

    /// Deletes a finished task whose retention passed, with its reservations (no event: the
    /// event log keeps its history).
    fn purge(&mut self, sid: &TaskSid, now: Millis) {
        let due = self
            .tasks
            .get(sid)
            .is_some_and(|t| t.status.is_final() && t.updated + self.retention <= now);
        if !due {
            return;
        }
        self.tasks.remove(sid);
        self.task_attrs.remove(sid);
        self.task_reservations.remove(sid);
        for r in self.by_task.remove(sid).unwrap_or_default() {
            if let Some(gone) = self.reservations.remove(&r)
                && let Some(list) = self.by_worker.get_mut(&gone.worker_sid)
            {
                list.retain(|x| x != &r);
            }
            self.dirty.remove(&DocKey::Reservation(r.clone()));
            self.removed.push(DocKey::Reservation(r));
        }
        self.dirty.remove(&DocKey::Task(sid.clone()));
        self.removed.push(DocKey::Task(sid.clone()));
    }

    fn touch(&mut self, key: DocKey) {
        match &key {
            DocKey::Worker(w) => self.roster.note(w),
            // Every worker shows its activity's name and its channels' names.
            DocKey::Activity(_) | DocKey::TaskChannel(_) => self.roster.note_all(),
            _ => {}
        }
        self.dirty.insert(key);
    }

    /// The workers whose wire shape changed since the last call (for the supervisors'
    /// `statistics` frame), and that frame's number.
    pub fn take_roster_changes(&mut self) -> (u64, RosterChanges) {
        self.roster.take()
    }

    /// The number of the last `statistics` frame taken: a snapshot includes it.
    pub fn roster_seq(&self) -> u64 {
        self.roster.seq()
    }

    fn count(&mut self, name: &'static str) {
        *self.counters.entry(name).or_default() += 1;
    }

    /// A worker's parsed attributes.
    pub fn worker_attributes(&self, sid: &WorkerSid) -> Option<&Value> {
        self.worker_attrs.get(sid)
    }

    /// The reservations of a task, oldest first.
    pub fn reservations_of_task(&self, task: &TaskSid) -> Vec<&Reservation> {
        self.by_task
            .get(task)
            .into_iter()
            .flatten()
            .filter_map(|r| self.reservations.get(r))
            .collect()
    }

    /// The reservations of a worker, oldest first.
    pub fn reservations_of_worker(&self, worker: &WorkerSid) -> Vec<&Reservation> {
        self.by_worker
            .get(worker)
            .into_iter()
            .flatten()
            .filter_map(|r| self.reservations.get(r))
            .collect()
    }

    /// Tasks a worker holds on a channel (pending offers, assigned and wrapping).
    pub fn load_on(&self, worker: &WorkerSid, channel: &TaskChannelSid) -> u32 {
        self.loads
            .get(worker)
            .and_then(|by_channel| by_channel.get(channel))
            .copied()
            .unwrap_or(0)
    }

    /// The channel a unique name or SID names.
    pub fn channel_by_key(&self, key: &str) -> Option<&TaskChannel> {
        self.channels
            .values()
            .find(|c| c.sid.as_str() == key || c.unique_name == key)
    }

    /// Whether a worker's activity is available.
    pub fn is_available(&self, worker: &Worker) -> bool {
        self.activities
            .get(&worker.activity_sid)
            .is_some_and(|a| a.available)
    }

    /// Built-in properties of a worker usable in expressions (`sid`, `friendly_name`,
    /// `activity_sid`, `activity_name`, `available`, and `channel.<name>.*`).
    pub fn worker_properties(&self, worker: &Worker, with_channels: bool) -> Value {
        let activity = self.activities.get(&worker.activity_sid);
        let mut props = serde_json::json!({
            "sid": worker.sid,
            "friendly_name": worker.friendly_name,
            "activity_sid": worker.activity_sid,
            "activity_name": activity.map(|a| a.friendly_name.as_str()),
            "available": activity.is_some_and(|a| a.available),
        });
        if with_channels {
            let mut channels = serde_json::Map::new();
            for (sid, wc) in &worker.channels {
                let Some(tc) = self.channels.get(sid) else {
                    continue;
                };
                let assigned = self.load_on(&worker.sid, sid);
                channels.insert(
                    tc.unique_name.clone(),
                    serde_json::json!({
                        "configured_capacity": wc.capacity,
                        "assigned_tasks": assigned,
                        "available_capacity_percentage": capacity_percentage(wc, assigned),
                        "available": wc.available,
                    }),
                );
            }
            props["channel"] = Value::Object(channels);
        }
        props
    }
}

/// Free capacity as a percentage (0 when unavailable or without capacity).
pub fn capacity_percentage(wc: &WorkerChannel, assigned: u32) -> u32 {
    if !wc.available || wc.capacity == 0 {
        return 0;
    }
    (wc.capacity.saturating_sub(assigned) * 100) / wc.capacity
}

/// Compiles a queue's `target_workers`; an empty text selects nobody.
pub fn compile_target_workers(text: &str) -> Option<Expr> {
    if text.trim().is_empty() {
        return None;
    }
    super::expr::parse(text).ok()
}
