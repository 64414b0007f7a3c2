//! TaskRouter events (`twilio-api.md` §10.1): what the engine records for each change, with
//! the resource's fields captured at that moment as Twilio's `event_data` (snake_case keys,
//! string values). The REST `/Events` resource and the `event_callback_url` posts (CamelCase
//! keys) are both rendered from these.

use std::collections::BTreeMap;

use super::Engine;
use crate::ids::*;
use crate::routing::model::*;

/// The resource an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A task.
    Task,
    /// A reservation.
    Reservation,
    /// A worker.
    Worker,
    /// A queue.
    TaskQueue,
    /// A workflow.
    Workflow,
    /// An activity.
    Activity,
    /// A task channel.
    TaskChannel,
    /// The workspace.
    Workspace,
}

impl EventKind {
    /// Wire name (`resource_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Task => "task",
            EventKind::Reservation => "reservation",
            EventKind::Worker => "worker",
            EventKind::TaskQueue => "taskqueue",
            EventKind::Workflow => "workflow",
            EventKind::Activity => "activity",
            EventKind::TaskChannel => "taskchannel",
            EventKind::Workspace => "workspace",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `EV…`
    pub sid: EventSid,
    /// e.g. `reservation.accepted`.
    pub event_type: &'static str,
    /// What it is about.
    pub kind: EventKind,
    /// The resource's SID.
    pub resource_sid: String,
    /// Human-readable description.
    pub description: String,
    /// When.
    pub at: Millis,
    /// The resource fields, snake_case keys.
    pub data: BTreeMap<String, String>,
}

impl Event {
    /// A field of the data.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }
}

impl Engine {
    fn emit(
        &mut self,
        event_type: &'static str,
        kind: EventKind,
        resource_sid: String,
        description: String,
        now: Millis,
        mut data: BTreeMap<String, String>,
    ) {
        data.insert("workspace_sid".into(), self.workspace.sid.to_string());
        data.insert(
            "workspace_name".into(),
            self.workspace.friendly_name.clone(),
        );
        self.events.push(Event {
            sid: EventSid::generate_ordered(),
            event_type,
            kind,
            resource_sid,
            description,
            at: now,
            data,
        });
    }

    fn task_data(&self, task: &TaskSid, now: Millis) -> BTreeMap<String, String> {
        let mut d = BTreeMap::new();
        let Some(t) = self.tasks.get(task) else {
            return d;
        };
        d.insert("task_sid".into(), t.sid.to_string());
        d.insert("task_attributes".into(), t.attributes.clone());
        d.insert(
            "task_age".into(),
            ((now - t.created).max(0) / 1000).to_string(),
        );
        d.insert("task_priority".into(), t.priority.to_string());
        d.insert("task_assignment_status".into(), t.status.as_str().into());
        d.insert("task_channel_sid".into(), t.task_channel_sid.to_string());
        if let Some(c) = self.channels.get(&t.task_channel_sid) {
            d.insert("task_channel_unique_name".into(), c.unique_name.clone());
        }
        d.insert("task_date_created".into(), (t.created / 1000).to_string());
        d.insert("task_version".into(), t.version.to_string());
        if let Some(reason) = &t.reason {
            d.insert("reason".into(), reason.clone());
            match t.status {
                TaskStatus::Canceled => d.insert("task_canceled_reason".into(), reason.clone()),
                TaskStatus::Completed => d.insert("task_completed_reason".into(), reason.clone()),
                _ => None,
            };
        }
        if let Some(q) = t.queue_sid.as_ref().and_then(|q| self.queues.get(q)) {
            d.insert("task_queue_sid".into(), q.sid.to_string());
            d.insert("task_queue_name".into(), q.friendly_name.clone());
            d.insert(
                "task_queue_target_expression".into(),
                q.target_workers.clone(),
            );
        }
        if let Some(entered) = t.queue_entered {
            d.insert(
                "task_queue_entered_date".into(),
                (entered / 1000).to_string(),
            );
        }
        if let Some(w) = t.workflow_sid.as_ref().and_then(|w| self.workflows.get(w)) {
            d.insert("workflow_sid".into(), w.sid.to_string());
            d.insert("workflow_name".into(), w.friendly_name.clone());
        }
        if let (Some(step), Some(wf)) = (&t.step, &t.workflow_sid)
            && let Some(i) = step.filter
            && let Some(f) = self.programs.get(wf).and_then(|p| p.filters.get(i))
        {
            d.insert("workflow_filter_name".into(), f.name.clone());
        }
        d
    }

    fn worker_data(&self, worker: &WorkerSid) -> BTreeMap<String, String> {
        let mut d = BTreeMap::new();
        let Some(w) = self.workers.get(worker) else {
            return d;
        };
        d.insert("worker_sid".into(), w.sid.to_string());
        d.insert("worker_name".into(), w.friendly_name.clone());
        d.insert("worker_attributes".into(), w.attributes.clone());
        d.insert("worker_activity_sid".into(), w.activity_sid.to_string());
        if let Some(a) = self.activities.get(&w.activity_sid) {
            d.insert("worker_activity_name".into(), a.friendly_name.clone());
        }
        d
    }

    /// A task event.
    pub(super) fn task_event(&mut self, event_type: &'static str, task: &TaskSid, now: Millis) {
        let data = self.task_data(task, now);
        let description = format!("Task {task}: {event_type}");
        self.emit(
            event_type,
            EventKind::Task,
            task.to_string(),
            description,
            now,
            data,
        );
    }

    /// A queue/workflow event about a task (`task-queue.entered`, `workflow.target-matched`…).
    pub(super) fn routing_event(
        &mut self,
        event_type: &'static str,
        kind: EventKind,
        task: &TaskSid,
        now: Millis,
    ) {
        let data = self.task_data(task, now);
        let resource = match kind {
            EventKind::TaskQueue => data.get("task_queue_sid").cloned(),
            EventKind::Workflow => data.get("workflow_sid").cloned(),
            _ => None,
        }
        .unwrap_or_else(|| task.to_string());
        let description = format!("Task {task}: {event_type}");
        self.emit(event_type, kind, resource, description, now, data);
    }

    /// A reservation event (task and worker fields included).
    pub(super) fn reservation_event(
        &mut self,
        event_type: &'static str,
        reservation: &ReservationSid,
        now: Millis,
    ) {
        let Some(r) = self.reservations.get(reservation) else {
            return;
        };
        let (task, worker) = (r.task_sid.clone(), r.worker_sid.clone());
        let mut data = self.task_data(&task, now);
        data.extend(self.worker_data(&worker));
        data.insert("reservation_sid".into(), reservation.to_string());
        let description = format!("Reservation {reservation} for worker {worker}: {event_type}");
        self.emit(
            event_type,
            EventKind::Reservation,
            reservation.to_string(),
            description,
            now,
            data,
        );
    }

    /// A worker event; `previous`: the activity it left and when.
    pub(super) fn worker_event(
        &mut self,
        event_type: &'static str,
        worker: &WorkerSid,
        previous: Option<(ActivitySid, Millis)>,
        now: Millis,
    ) {
        let mut data = self.worker_data(worker);
        if let Some((activity, since)) = previous {
            let ms = (now - since).max(0);
            data.insert("worker_previous_activity_sid".into(), activity.to_string());
            if let Some(a) = self.activities.get(&activity) {
                data.insert(
                    "worker_previous_activity_name".into(),
                    a.friendly_name.clone(),
                );
            }
            data.insert(
                "worker_time_in_previous_activity".into(),
                (ms / 1000).to_string(),
            );
            data.insert("worker_time_in_previous_activity_ms".into(), ms.to_string());
        }
        let description = format!("Worker {worker}: {event_type}");
        self.emit(
            event_type,
            EventKind::Worker,
            worker.to_string(),
            description,
            now,
            data,
        );
    }

    /// An event about a configuration resource (queue, workflow, activity, channel, workspace).
    pub(super) fn resource_event(
        &mut self,
        event_type: &'static str,
        kind: EventKind,
        sid: String,
        name: String,
        now: Millis,
    ) {
        let mut data = BTreeMap::new();
        let (sid_key, name_key) = match kind {
            EventKind::TaskQueue => ("task_queue_sid", "task_queue_name"),
            EventKind::Workflow => ("workflow_sid", "workflow_name"),
            EventKind::Activity => ("activity_sid", "activity_name"),
            EventKind::TaskChannel => ("task_channel_sid", "task_channel_unique_name"),
            _ => ("resource_sid", "resource_name"),
        };
        data.insert(sid_key.into(), sid.clone());
        data.insert(name_key.into(), name);
        let description = format!("{} {sid}: {event_type}", kind.as_str());
        self.emit(event_type, kind, sid, description, now, data);
    }
}
