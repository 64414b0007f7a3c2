//! The TaskRouter resources as the router holds and stores them: workspaces, activities, task
//! channels, workers with their per-channel capacity, queues, workflows, tasks and
//! reservations. Plain data with serde (each is stored as one JSON document); the rules live in
//! [`super::engine`].
//!
//! Times are Unix milliseconds ([`Millis`]); the REST layer renders them as Twilio's ISO dates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{
    AccountSid, ActivitySid, ReservationSid, TaskChannelSid, TaskQueueSid, TaskSid,
    WorkerChannelSid, WorkerSid, WorkflowSid, WorkspaceSid,
};

/// Unix time in milliseconds.
pub type Millis = i64;

/// Now, in Unix milliseconds.
pub fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Which end of a queue is served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum QueueOrder {
    /// Oldest first.
    #[default]
    Fifo,
    /// Newest first.
    Lifo,
}

impl QueueOrder {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueOrder::Fifo => "FIFO",
            QueueOrder::Lifo => "LIFO",
        }
    }

    /// Parses `FIFO`/`LIFO` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "FIFO" => Some(QueueOrder::Fifo),
            "LIFO" => Some(QueueOrder::Lifo),
            _ => None,
        }
    }
}

/// A workspace: the container of everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    /// `WS…`
    pub sid: WorkspaceSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// Name.
    pub friendly_name: String,
    /// Where events are posted.
    pub event_callback_url: Option<String>,
    /// Comma-separated event types posted (all when empty).
    pub events_filter: Option<String>,
    /// Workers may hold several tasks at once (per-channel capacity).
    pub multi_task_enabled: bool,
    /// Activity of new workers.
    pub default_activity_sid: ActivitySid,
    /// Activity a worker is moved to when a reservation times out.
    pub timeout_activity_sid: ActivitySid,
    /// Which tasks are served first across queues of equal priority.
    pub prioritize_queue_order: QueueOrder,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// A worker state (Available, Offline, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// `WA…`
    pub sid: ActivitySid,
    /// Name.
    pub friendly_name: String,
    /// Whether workers in this activity receive reservations (immutable).
    pub available: bool,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// A kind of work (chat, sms, voice, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskChannel {
    /// `TC…`
    pub sid: TaskChannelSid,
    /// Name.
    pub friendly_name: String,
    /// Alternate key (`chat`).
    pub unique_name: String,
    /// Prefer longest-idle workers (our default anyway).
    pub channel_optimized_routing: Option<bool>,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// A worker's capacity on one task channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerChannel {
    /// `WC…`
    pub sid: WorkerChannelSid,
    /// The task channel.
    pub task_channel_sid: TaskChannelSid,
    /// How many tasks of this channel the worker may hold at once.
    pub capacity: u32,
    /// Whether the worker takes tasks of this channel at all.
    pub available: bool,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// An agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// `WK…`
    pub sid: WorkerSid,
    /// Name.
    pub friendly_name: String,
    /// Current activity.
    pub activity_sid: ActivitySid,
    /// JSON text as sent.
    pub attributes: String,
    /// One per task channel of the workspace.
    pub channels: BTreeMap<TaskChannelSid, WorkerChannel>,
    /// When the activity last changed.
    pub status_changed: Millis,
    /// Since when the worker has been idle (longest-idle routing): the later of becoming
    /// available and finishing its last task.
    pub idle_since: Millis,
    /// Bumped on every change (`If-Match`).
    pub version: u64,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// A queue of tasks waiting for workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskQueue {
    /// `WQ…`
    pub sid: TaskQueueSid,
    /// Name.
    pub friendly_name: String,
    /// Expression over worker attributes choosing the queue's workers.
    pub target_workers: String,
    /// Workers reserved at once for one task (1–50).
    pub max_reserved_workers: u32,
    /// FIFO or LIFO among equal priority.
    pub task_order: QueueOrder,
    /// Activity a worker moves to when reserved (single-tasking workspaces).
    pub reservation_activity_sid: Option<ActivitySid>,
    /// Activity a worker moves to when assigned (single-tasking workspaces).
    pub assignment_activity_sid: Option<ActivitySid>,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// A routing program: filters and their targets (`configuration`, JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// `WW…`
    pub sid: WorkflowSid,
    /// Name.
    pub friendly_name: String,
    /// JSON text as sent (validated).
    pub configuration: String,
    /// Assignment callback (stored and rendered; chat agents accept over the WebSocket).
    pub assignment_callback_url: Option<String>,
    /// Fallback assignment callback.
    pub fallback_assignment_callback_url: Option<String>,
    /// Seconds a reservation waits for an answer.
    pub task_reservation_timeout: u32,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

/// Where a task is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// Offered to one or more workers.
    Reserved,
    /// Accepted by a worker.
    Assigned,
    /// The worker is wrapping up.
    Wrapping,
    /// Done.
    Completed,
    /// Withdrawn (TTL, workflow timeout, API).
    Canceled,
}

impl TaskStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Pending,
        TaskStatus::Reserved,
        TaskStatus::Assigned,
        TaskStatus::Wrapping,
        TaskStatus::Completed,
        TaskStatus::Canceled,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Reserved => "reserved",
            TaskStatus::Assigned => "assigned",
            TaskStatus::Wrapping => "wrapping",
            TaskStatus::Completed => "completed",
            TaskStatus::Canceled => "canceled",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Still waiting for a worker (routable).
    pub fn is_waiting(self) -> bool {
        matches!(self, TaskStatus::Pending | TaskStatus::Reserved)
    }

    /// Completed or canceled.
    pub fn is_final(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Canceled)
    }
}

/// Where a task stands in its workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Index of the matched filter; `None`: the default filter (or a direct queue target).
    pub filter: Option<usize>,
    /// Index of the target within the filter.
    pub target: usize,
    /// When the step's `timeout` moves the task on (`None`: waits until its TTL).
    pub deadline: Option<Millis>,
}

/// A unit of work to route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `WT…`
    pub sid: TaskSid,
    /// JSON text as sent.
    pub attributes: String,
    /// Lifecycle status.
    pub status: TaskStatus,
    /// Effective priority (the target's, else the requested one).
    pub priority: i64,
    /// Priority requested on create/update.
    pub requested_priority: Option<i64>,
    /// Task channel.
    pub task_channel_sid: TaskChannelSid,
    /// Workflow routing the task (none when routed straight to a queue or worker).
    pub workflow_sid: Option<WorkflowSid>,
    /// Current (or last) queue.
    pub queue_sid: Option<TaskQueueSid>,
    /// `RoutingTarget` (WK/WQ/WW sid) as sent.
    pub routing_target: Option<String>,
    /// With a worker routing target: assign even beyond the worker's capacity.
    pub ignore_capacity: bool,
    /// TTL, seconds.
    pub timeout: u64,
    /// Reason given when canceled or completed.
    pub reason: Option<String>,
    /// The workflow step it waits in.
    pub step: Option<Step>,
    /// Workers that declined (rejected or let time out) in the current step: not offered again
    /// until the task moves on.
    pub declined: Vec<WorkerSid>,
    /// When it entered its current queue.
    pub queue_entered: Option<Millis>,
    /// Sort key for age (defaults to creation).
    pub virtual_start: Millis,
    /// Bumped on every change (`If-Match`).
    pub version: u64,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}

impl Task {
    /// The attributes as JSON (an object; `{}` when the text is not one).
    pub fn attributes_value(&self) -> Value {
        parse_attributes(&self.attributes)
    }

    /// When the TTL cancels a waiting task.
    pub fn expires_at(&self) -> Millis {
        self.created
            .saturating_add((self.timeout as i64).saturating_mul(1000))
    }
}

/// Parses attribute JSON text; anything but an object becomes `{}`.
pub fn parse_attributes(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Default::default()),
    }
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationStatus {
    /// Offered, waiting for the worker.
    Pending,
    /// The worker took the task.
    Accepted,
    /// The worker declined.
    Rejected,
    /// Nobody answered in time.
    Timeout,
    /// The task went away (canceled, moved on).
    Canceled,
    /// Another worker accepted first.
    Rescinded,
    /// The worker is wrapping up.
    Wrapping,
    /// Done.
    Completed,
}

impl ReservationStatus {
    /// Every status.
    pub const ALL: [ReservationStatus; 8] = [
        ReservationStatus::Pending,
        ReservationStatus::Accepted,
        ReservationStatus::Rejected,
        ReservationStatus::Timeout,
        ReservationStatus::Canceled,
        ReservationStatus::Rescinded,
        ReservationStatus::Wrapping,
        ReservationStatus::Completed,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Pending => "pending",
            ReservationStatus::Accepted => "accepted",
            ReservationStatus::Rejected => "rejected",
            ReservationStatus::Timeout => "timeout",
            ReservationStatus::Canceled => "canceled",
            ReservationStatus::Rescinded => "rescinded",
            ReservationStatus::Wrapping => "wrapping",
            ReservationStatus::Completed => "completed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Holds a unit of the worker's capacity (offered, working or wrapping).
    pub fn holds_capacity(self) -> bool {
        matches!(
            self,
            ReservationStatus::Pending | ReservationStatus::Accepted | ReservationStatus::Wrapping
        )
    }
}

/// An offer of a task to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// `WR…`
    pub sid: ReservationSid,
    /// The task.
    pub task_sid: TaskSid,
    /// The worker.
    pub worker_sid: WorkerSid,
    /// The task's channel when offered (whose capacity it holds).
    pub task_channel_sid: TaskChannelSid,
    /// Where it stands.
    pub status: ReservationStatus,
    /// When a pending reservation times out.
    pub timeout_at: Millis,
    /// Capacity was ignored (routing target with `IgnoreCapacity`).
    pub ignore_capacity: bool,
    /// Bumped on every change.
    pub version: u64,
    /// Created.
    pub created: Millis,
    /// Updated.
    pub updated: Millis,
}
