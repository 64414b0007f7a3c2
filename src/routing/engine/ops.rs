//! The operations the REST API and the WebSocket ask of a workspace: create, update and delete
//! of every resource, task status changes and reservation answers. Each validates first and
//! changes nothing when it refuses.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::assign::direct_worker;
use super::{DocKey, Engine, EventKind, RoutingError};
use crate::ids::*;
use crate::routing::model::*;
use crate::routing::workflow;

/// Longest TTL of a task, seconds (Twilio: two weeks).
pub const MAX_TASK_TIMEOUT: u64 = 1_209_600;
/// Default TTL of a task, seconds.
pub const DEFAULT_TASK_TIMEOUT: u64 = 86_400;

/// `POST /Tasks` parameters.
#[derive(Debug, Clone, Default)]
pub struct TaskCreate {
    /// JSON text (default `{}`).
    pub attributes: Option<String>,
    /// Requested priority.
    pub priority: Option<i64>,
    /// Channel unique name or SID (default `default`).
    pub task_channel: Option<String>,
    /// Workflow (optional with one workflow).
    pub workflow_sid: Option<WorkflowSid>,
    /// TTL seconds.
    pub timeout: Option<u64>,
    /// WK/WQ/WW SID.
    pub routing_target: Option<String>,
    /// With a worker routing target.
    pub ignore_capacity: bool,
    /// Straight to a queue.
    pub task_queue_sid: Option<TaskQueueSid>,
    /// Age sort key.
    pub virtual_start: Option<Millis>,
}

/// `POST /Tasks/{WT}` parameters.
#[derive(Debug, Clone, Default)]
pub struct TaskUpdate {
    /// New attributes (re-evaluates a waiting task).
    pub attributes: Option<String>,
    /// New status: canceled, wrapping or completed.
    pub status: Option<TaskStatus>,
    /// Why (canceled/completed).
    pub reason: Option<String>,
    /// New requested priority.
    pub priority: Option<i64>,
    /// New channel.
    pub task_channel: Option<String>,
    /// New age sort key.
    pub virtual_start: Option<Millis>,
}

/// `POST /Workers/{WK}` parameters.
#[derive(Debug, Clone, Default)]
pub struct WorkerUpdate {
    /// New activity.
    pub activity_sid: Option<ActivitySid>,
    /// New attributes.
    pub attributes: Option<String>,
    /// New name.
    pub friendly_name: Option<String>,
    /// Reject pending offers when moving to an unavailable activity.
    pub reject_pending_reservations: bool,
}

fn not_found(what: &str, sid: impl std::fmt::Display) -> RoutingError {
    RoutingError::NotFound(format!("/{what}/{sid}"))
}

fn check_expression(param: &str, text: &str) -> Result<(), RoutingError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    crate::routing::expr::parse(text)
        .map(|_| ())
        .map_err(|e| RoutingError::Invalid(format!("Invalid parameter {param}: `{text}`: {e}")))
}

fn check_attributes(param: &str, text: &str) -> Result<(), RoutingError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(RoutingError::Invalid(format!(
            "Invalid parameter {param}: must be a JSON object"
        ))),
    }
}

/// Queue settings for create and update.
#[derive(Debug, Clone, Default)]
pub struct QueueSpec {
    /// Name.
    pub friendly_name: Option<String>,
    /// Expression over worker attributes.
    pub target_workers: Option<String>,
    /// 1–50.
    pub max_reserved_workers: Option<u32>,
    /// FIFO/LIFO.
    pub task_order: Option<QueueOrder>,
    /// Activity on reserve.
    pub reservation_activity_sid: Option<ActivitySid>,
    /// Activity on assign.
    pub assignment_activity_sid: Option<ActivitySid>,
}

/// Workflow settings for create and update.
#[derive(Debug, Clone, Default)]
pub struct WorkflowSpec {
    /// Name.
    pub friendly_name: Option<String>,
    /// JSON text.
    pub configuration: Option<String>,
    /// Assignment callback.
    pub assignment_callback_url: Option<String>,
    /// Fallback.
    pub fallback_assignment_callback_url: Option<String>,
    /// Seconds, 1–86400.
    pub task_reservation_timeout: Option<u32>,
}

/// Workspace settings for update.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceSpec {
    /// Name.
    pub friendly_name: Option<String>,
    /// Event callback URL (empty clears).
    pub event_callback_url: Option<String>,
    /// Event types posted (empty clears).
    pub events_filter: Option<String>,
    /// Multitasking.
    pub multi_task_enabled: Option<bool>,
    /// New workers' activity.
    pub default_activity_sid: Option<ActivitySid>,
    /// Activity after a reservation timeout.
    pub timeout_activity_sid: Option<ActivitySid>,
    /// Cross-queue order.
    pub prioritize_queue_order: Option<QueueOrder>,
}

impl Engine {
    fn activity_exists(&self, sid: &ActivitySid, param: &str) -> Result<(), RoutingError> {
        if self.activities.contains_key(sid) {
            Ok(())
        } else {
            Err(RoutingError::Invalid(format!(
                "Invalid parameter {param}: activity {sid} is not in this workspace"
            )))
        }
    }

    /// Updates the workspace's settings.
    pub fn update_workspace(
        &mut self,
        spec: WorkspaceSpec,
        now: Millis,
    ) -> Result<(), RoutingError> {
        if let Some(a) = &spec.default_activity_sid {
            self.activity_exists(a, "DefaultActivitySid")?;
        }
        if let Some(a) = &spec.timeout_activity_sid {
            self.activity_exists(a, "TimeoutActivitySid")?;
        }
        let ws = &mut self.workspace;
        if let Some(v) = spec.friendly_name {
            ws.friendly_name = v;
        }
        if let Some(v) = spec.event_callback_url {
            ws.event_callback_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = spec.events_filter {
            ws.events_filter = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = spec.multi_task_enabled {
            ws.multi_task_enabled = v;
        }
        if let Some(v) = spec.default_activity_sid {
            ws.default_activity_sid = v;
        }
        if let Some(v) = spec.timeout_activity_sid {
            ws.timeout_activity_sid = v;
        }
        if let Some(v) = spec.prioritize_queue_order {
            ws.prioritize_queue_order = v;
        }
        ws.updated = now;
        let (sid, name) = (ws.sid.to_string(), ws.friendly_name.clone());
        self.touch(DocKey::Workspace);
        self.refresh_all_free();
        self.resource_event("workspace.updated", EventKind::Workspace, sid, name, now);
        Ok(())
    }

    /// Creates an activity.
    pub fn create_activity(
        &mut self,
        friendly_name: String,
        available: bool,
        now: Millis,
    ) -> Result<ActivitySid, RoutingError> {
        if self
            .activities
            .values()
            .any(|a| a.friendly_name == friendly_name)
        {
            return Err(RoutingError::Conflict(format!(
                "Activity with friendly name {friendly_name} already exists"
            )));
        }
        let sid = ActivitySid::generate();
        self.activities.insert(
            sid.clone(),
            Activity {
                sid: sid.clone(),
                friendly_name: friendly_name.clone(),
                available,
                created: now,
                updated: now,
            },
        );
        self.touch(DocKey::Activity(sid.clone()));
        self.resource_event(
            "activity.created",
            EventKind::Activity,
            sid.to_string(),
            friendly_name,
            now,
        );
        Ok(sid)
    }

    /// Renames an activity.
    pub fn update_activity(
        &mut self,
        sid: &ActivitySid,
        friendly_name: Option<String>,
        now: Millis,
    ) -> Result<(), RoutingError> {
        let a = self
            .activities
            .get_mut(sid)
            .ok_or_else(|| not_found("Activities", sid))?;
        if let Some(name) = friendly_name {
            a.friendly_name = name;
        }
        a.updated = now;
        let name = a.friendly_name.clone();
        self.touch(DocKey::Activity(sid.clone()));
        self.resource_event(
            "activity.updated",
            EventKind::Activity,
            sid.to_string(),
            name,
            now,
        );
        Ok(())
    }

    /// Deletes an activity no worker uses and the workspace does not name.
    pub fn delete_activity(&mut self, sid: &ActivitySid, now: Millis) -> Result<(), RoutingError> {
        if !self.activities.contains_key(sid) {
            return Err(not_found("Activities", sid));
        }
        if &self.workspace.default_activity_sid == sid
            || &self.workspace.timeout_activity_sid == sid
        {
            return Err(RoutingError::Conflict(
                "The workspace's default or timeout activity cannot be deleted".into(),
            ));
        }
        if self.workers.values().any(|w| &w.activity_sid == sid) {
            return Err(RoutingError::Conflict(
                "Activity is in use by one or more workers".into(),
            ));
        }
        let a = self.activities.remove(sid);
        self.removed.push(DocKey::Activity(sid.clone()));
        self.resource_event(
            "activity.deleted",
            EventKind::Activity,
            sid.to_string(),
            a.map(|a| a.friendly_name).unwrap_or_default(),
            now,
        );
        Ok(())
    }

    /// Creates a task channel (and a worker channel for every worker).
    pub fn create_task_channel(
        &mut self,
        friendly_name: String,
        unique_name: String,
        channel_optimized_routing: Option<bool>,
        now: Millis,
    ) -> Result<TaskChannelSid, RoutingError> {
        if unique_name.is_empty()
            || !unique_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(RoutingError::Invalid(
                "Invalid parameter UniqueName: letters, digits and underscores only".into(),
            ));
        }
        if self.channels.values().any(|c| c.unique_name == unique_name) {
            return Err(RoutingError::Conflict(format!(
                "TaskChannel with unique name {unique_name} already exists"
            )));
        }
        let sid = TaskChannelSid::generate();
        self.channels.insert(
            sid.clone(),
            TaskChannel {
                sid: sid.clone(),
                friendly_name,
                unique_name: unique_name.clone(),
                channel_optimized_routing,
                created: now,
                updated: now,
            },
        );
        let workers: Vec<WorkerSid> = self.workers.keys().cloned().collect();
        for w in workers {
            if let Some(worker) = self.workers.get_mut(&w) {
                worker
                    .channels
                    .insert(sid.clone(), new_worker_channel(&sid, now));
                self.touch(DocKey::Worker(w));
            }
        }
        self.touch(DocKey::TaskChannel(sid.clone()));
        self.refresh_all_free();
        self.resource_event(
            "task-channel.created",
            EventKind::TaskChannel,
            sid.to_string(),
            unique_name,
            now,
        );
        Ok(sid)
    }

    /// Updates a task channel.
    pub fn update_task_channel(
        &mut self,
        sid: &TaskChannelSid,
        friendly_name: Option<String>,
        channel_optimized_routing: Option<bool>,
        now: Millis,
    ) -> Result<(), RoutingError> {
        let c = self
            .channels
            .get_mut(sid)
            .ok_or_else(|| not_found("TaskChannels", sid))?;
        if let Some(v) = friendly_name {
            c.friendly_name = v;
        }
        if channel_optimized_routing.is_some() {
            c.channel_optimized_routing = channel_optimized_routing;
        }
        c.updated = now;
        self.touch(DocKey::TaskChannel(sid.clone()));
        Ok(())
    }

    /// Deletes a task channel no live task uses.
    pub fn delete_task_channel(
        &mut self,
        sid: &TaskChannelSid,
        now: Millis,
    ) -> Result<(), RoutingError> {
        let Some(channel) = self.channels.get(sid) else {
            return Err(not_found("TaskChannels", sid));
        };
        let name = channel.unique_name.clone();
        if self
            .tasks
            .values()
            .any(|t| &t.task_channel_sid == sid && !t.status.is_final())
        {
            return Err(RoutingError::Conflict(
                "TaskChannel has active tasks".into(),
            ));
        }
        self.channels.remove(sid);
        let workers: Vec<WorkerSid> = self.workers.keys().cloned().collect();
        for w in workers {
            if let Some(worker) = self.workers.get_mut(&w)
                && worker.channels.remove(sid).is_some()
            {
                self.touch(DocKey::Worker(w));
            }
        }
        self.removed.push(DocKey::TaskChannel(sid.clone()));
        self.refresh_all_free();
        self.resource_event(
            "task-channel.deleted",
            EventKind::TaskChannel,
            sid.to_string(),
            name,
            now,
        );
        Ok(())
    }

    /// Creates a worker (in the default activity unless given one).
    pub fn create_worker(
        &mut self,
        friendly_name: String,
        activity_sid: Option<ActivitySid>,
        attributes: Option<String>,
        now: Millis,
    ) -> Result<WorkerSid, RoutingError> {
        if self
            .workers
            .values()
            .any(|w| w.friendly_name == friendly_name)
        {
            return Err(RoutingError::Conflict(format!(
                "Worker with friendly name {friendly_name} already exists"
            )));
        }
        let attributes = attributes.unwrap_or_else(|| "{}".into());
        check_attributes("Attributes", &attributes)?;
        let activity = activity_sid.unwrap_or_else(|| self.workspace.default_activity_sid.clone());
        self.activity_exists(&activity, "ActivitySid")?;
        let sid = WorkerSid::generate();
        let channels = self
            .channels
            .keys()
            .map(|c| (c.clone(), new_worker_channel(c, now)))
            .collect();
        self.workers.insert(
            sid.clone(),
            Worker {
                sid: sid.clone(),
                friendly_name,
                activity_sid: activity,
                attributes: attributes.clone(),
                channels,
                status_changed: now,
                idle_since: now,
                version: 0,
                created: now,
                updated: now,
            },
        );
        self.worker_attrs
            .insert(sid.clone(), parse_attributes(&attributes));
        self.refresh_membership(&sid);
        self.touch(DocKey::Worker(sid.clone()));
        self.worker_event("worker.created", &sid, None, now);
        self.try_route_worker(&sid, now);
        Ok(sid)
    }

    /// Updates a worker: activity (with the pending-offer rule), attributes, name.
    pub fn update_worker(
        &mut self,
        sid: &WorkerSid,
        update: WorkerUpdate,
        now: Millis,
    ) -> Result<(), RoutingError> {
        if !self.workers.contains_key(sid) {
            return Err(not_found("Workers", sid));
        }
        if let Some(a) = &update.activity_sid {
            self.activity_exists(a, "ActivitySid")?;
        }
        if let Some(attrs) = &update.attributes {
            check_attributes("Attributes", attrs)?;
        }
        if let Some(name) = &update.friendly_name
            && self
                .workers
                .values()
                .any(|w| &w.friendly_name == name && &w.sid != sid)
        {
            return Err(RoutingError::Conflict(format!(
                "Worker with friendly name {name} already exists"
            )));
        }
        if let Some(w) = self.workers.get_mut(sid) {
            if let Some(name) = update.friendly_name {
                w.friendly_name = name;
            }
            w.updated = now;
            w.version += 1;
        }
        self.touch(DocKey::Worker(sid.clone()));
        if let Some(attrs) = update.attributes {
            if let Some(w) = self.workers.get_mut(sid) {
                w.attributes = attrs.clone();
            }
            self.worker_attrs
                .insert(sid.clone(), parse_attributes(&attrs));
            self.refresh_membership(sid);
            self.worker_event("worker.attributes.update", sid, None, now);
        }
        if let Some(activity) = update.activity_sid {
            self.set_activity(sid, &activity, now);
            let available = self.activities.get(&activity).is_some_and(|a| a.available);
            if !available && update.reject_pending_reservations {
                let pending: Vec<ReservationSid> = self
                    .reservations_of_worker(sid)
                    .into_iter()
                    .filter(|r| r.status == ReservationStatus::Pending)
                    .map(|r| r.sid.clone())
                    .collect();
                for r in pending {
                    self.answer_reservation(&r, ReservationStatus::Rejected, None, now)?;
                }
            }
        }
        self.try_route_worker(sid, now);
        Ok(())
    }

    /// Deletes a worker that holds no tasks.
    pub fn delete_worker(&mut self, sid: &WorkerSid, now: Millis) -> Result<(), RoutingError> {
        if !self.workers.contains_key(sid) {
            return Err(not_found("Workers", sid));
        }
        if self.holding.get(sid).is_some_and(|l| !l.is_empty()) {
            return Err(RoutingError::Conflict(
                "Worker has pending or assigned reservations".into(),
            ));
        }
        self.worker_event("worker.deleted", sid, None, now);
        self.workers.remove(sid);
        self.worker_attrs.remove(sid);
        for set in self.members.values_mut() {
            set.remove(sid);
        }
        self.worker_queues.remove(sid);
        self.refresh_free(sid);
        self.roster.note(sid);
        self.removed.push(DocKey::Worker(sid.clone()));
        Ok(())
    }

    /// Sets a worker's capacity or availability on one channel (SID or unique name).
    pub fn update_worker_channel(
        &mut self,
        worker: &WorkerSid,
        channel_key: &str,
        capacity: Option<u32>,
        available: Option<bool>,
        now: Millis,
    ) -> Result<TaskChannelSid, RoutingError> {
        let channel = self
            .channels
            .values()
            .find(|c| c.unique_name == channel_key || c.sid.as_str() == channel_key)
            .map(|c| c.sid.clone());
        let w = self
            .workers
            .get_mut(worker)
            .ok_or_else(|| not_found("Workers", worker))?;
        let wc = channel
            .as_ref()
            .and_then(|c| w.channels.get_mut(c))
            .ok_or_else(|| not_found("Channels", channel_key))?;
        let before = (wc.capacity, wc.available);
        if let Some(c) = capacity {
            wc.capacity = c;
        }
        if let Some(a) = available {
            wc.available = a;
        }
        wc.updated = now;
        let changed = before != (wc.capacity, wc.available);
        let grew = wc.capacity > before.0 || (wc.available && !before.1);
        let channel_sid = wc.task_channel_sid.clone();
        w.updated = now;
        w.version += 1;
        self.touch(DocKey::Worker(worker.clone()));
        self.refresh_free(worker);
        if changed {
            self.worker_event("worker.capacity.update", worker, None, now);
        }
        if grew {
            self.try_route_worker(worker, now);
        }
        Ok(channel_sid)
    }

    fn validate_queue(&self, spec: &QueueSpec) -> Result<(), RoutingError> {
        if let Some(t) = &spec.target_workers {
            check_expression("TargetWorkers", t)?;
        }
        if let Some(n) = spec.max_reserved_workers
            && !(1..=50).contains(&n)
        {
            return Err(RoutingError::Invalid(
                "Invalid parameter MaxReservedWorkers: must be between 1 and 50".into(),
            ));
        }
        if let Some(a) = &spec.reservation_activity_sid {
            self.activity_exists(a, "ReservationActivitySid")?;
        }
        if let Some(a) = &spec.assignment_activity_sid {
            self.activity_exists(a, "AssignmentActivitySid")?;
        }
        Ok(())
    }

    /// Creates a queue.
    pub fn create_queue(
        &mut self,
        spec: QueueSpec,
        now: Millis,
    ) -> Result<TaskQueueSid, RoutingError> {
        self.validate_queue(&spec)?;
        let name = spec.friendly_name.ok_or_else(|| {
            RoutingError::Invalid("Missing required parameter FriendlyName".into())
        })?;
        if self.queues.values().any(|q| q.friendly_name == name) {
            return Err(RoutingError::Conflict(format!(
                "TaskQueue with friendly name {name} already exists"
            )));
        }
        let sid = TaskQueueSid::generate();
        let queue = TaskQueue {
            sid: sid.clone(),
            friendly_name: name.clone(),
            target_workers: spec.target_workers.unwrap_or_else(|| "1==1".into()),
            max_reserved_workers: spec.max_reserved_workers.unwrap_or(1),
            task_order: spec.task_order.unwrap_or_default(),
            reservation_activity_sid: spec.reservation_activity_sid,
            assignment_activity_sid: spec.assignment_activity_sid,
            created: now,
            updated: now,
        };
        self.queue_exprs.insert(
            sid.clone(),
            super::compile_target_workers(&queue.target_workers),
        );
        self.queues.insert(sid.clone(), queue);
        self.refresh_queue(&sid);
        self.touch(DocKey::Queue(sid.clone()));
        self.resource_event(
            "task-queue.created",
            EventKind::TaskQueue,
            sid.to_string(),
            name,
            now,
        );
        Ok(sid)
    }

    /// Updates a queue; a new `target_workers` re-routes its waiting tasks.
    pub fn update_queue(
        &mut self,
        sid: &TaskQueueSid,
        spec: QueueSpec,
        now: Millis,
    ) -> Result<(), RoutingError> {
        if !self.queues.contains_key(sid) {
            return Err(not_found("TaskQueues", sid));
        }
        self.validate_queue(&spec)?;
        let waiting: Vec<TaskSid> = self
            .tasks
            .values()
            .filter(|t| t.status.is_waiting() && t.queue_sid.as_ref() == Some(sid))
            .map(|t| t.sid.clone())
            .collect();
        for t in &waiting {
            self.unindex_waiting(t);
        }
        let q = self
            .queues
            .get_mut(sid)
            .ok_or_else(|| not_found("TaskQueues", sid))?;
        let mut retarget = false;
        if let Some(v) = spec.friendly_name {
            q.friendly_name = v;
        }
        if let Some(v) = spec.target_workers {
            retarget = v != q.target_workers;
            q.target_workers = v;
        }
        if let Some(v) = spec.max_reserved_workers {
            q.max_reserved_workers = v;
        }
        if let Some(v) = spec.task_order {
            q.task_order = v;
        }
        if spec.reservation_activity_sid.is_some() {
            q.reservation_activity_sid = spec.reservation_activity_sid;
        }
        if spec.assignment_activity_sid.is_some() {
            q.assignment_activity_sid = spec.assignment_activity_sid;
        }
        q.updated = now;
        let (name, target) = (q.friendly_name.clone(), q.target_workers.clone());
        if retarget {
            self.queue_exprs
                .insert(sid.clone(), super::compile_target_workers(&target));
            self.refresh_queue(sid);
            self.resource_event(
                "task-queue.expression.updated",
                EventKind::TaskQueue,
                sid.to_string(),
                name,
                now,
            );
        }
        for t in &waiting {
            self.index_waiting(t);
        }
        self.touch(DocKey::Queue(sid.clone()));
        for t in &waiting {
            self.try_route_task(t, now);
        }
        Ok(())
    }

    /// Deletes a queue no workflow routes to and no live task waits in.
    pub fn delete_queue(&mut self, sid: &TaskQueueSid, now: Millis) -> Result<(), RoutingError> {
        if !self.queues.contains_key(sid) {
            return Err(not_found("TaskQueues", sid));
        }
        if self.programs.values().any(|p| p.queues().any(|q| q == sid)) {
            return Err(RoutingError::Conflict(
                "TaskQueue is used by a workflow".into(),
            ));
        }
        if self
            .tasks
            .values()
            .any(|t| !t.status.is_final() && t.queue_sid.as_ref() == Some(sid))
        {
            return Err(RoutingError::Conflict("TaskQueue has active tasks".into()));
        }
        let q = self.queues.remove(sid);
        self.queue_exprs.remove(sid);
        self.members.remove(sid);
        self.waiting.remove(sid);
        for list in self.worker_queues.values_mut() {
            list.retain(|q| q != sid);
        }
        self.refresh_all_free();
        self.removed.push(DocKey::Queue(sid.clone()));
        self.resource_event(
            "task-queue.deleted",
            EventKind::TaskQueue,
            sid.to_string(),
            q.map(|q| q.friendly_name).unwrap_or_default(),
            now,
        );
        Ok(())
    }

    fn compile_workflow(&self, text: &str) -> Result<workflow::Program, RoutingError> {
        let queues: HashSet<TaskQueueSid> = self.queues.keys().cloned().collect();
        workflow::compile(text, &queues)
            .map_err(|e| RoutingError::Invalid(format!("Invalid parameter Configuration: {e}")))
    }

    fn check_reservation_timeout(t: Option<u32>) -> Result<(), RoutingError> {
        match t {
            Some(t) if !(1..=86_400).contains(&t) => Err(RoutingError::Invalid(
                "Invalid parameter TaskReservationTimeout: must be between 1 and 86400".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Creates a workflow.
    pub fn create_workflow(
        &mut self,
        spec: WorkflowSpec,
        now: Millis,
    ) -> Result<WorkflowSid, RoutingError> {
        let name = spec.friendly_name.ok_or_else(|| {
            RoutingError::Invalid("Missing required parameter FriendlyName".into())
        })?;
        let configuration = spec.configuration.ok_or_else(|| {
            RoutingError::Invalid("Missing required parameter Configuration".into())
        })?;
        let program = self.compile_workflow(&configuration)?;
        Self::check_reservation_timeout(spec.task_reservation_timeout)?;
        let sid = WorkflowSid::generate();
        self.workflows.insert(
            sid.clone(),
            Workflow {
                sid: sid.clone(),
                friendly_name: name.clone(),
                configuration,
                assignment_callback_url: spec.assignment_callback_url,
                fallback_assignment_callback_url: spec.fallback_assignment_callback_url,
                task_reservation_timeout: spec.task_reservation_timeout.unwrap_or(120),
                created: now,
                updated: now,
            },
        );
        self.programs.insert(sid.clone(), program);
        self.touch(DocKey::Workflow(sid.clone()));
        self.resource_event(
            "workflow.created",
            EventKind::Workflow,
            sid.to_string(),
            name,
            now,
        );
        Ok(sid)
    }

    /// Updates a workflow; with `re_evaluate` its waiting tasks start routing again under the
    /// new configuration.
    pub fn update_workflow(
        &mut self,
        sid: &WorkflowSid,
        spec: WorkflowSpec,
        re_evaluate: bool,
        now: Millis,
    ) -> Result<(), RoutingError> {
        if !self.workflows.contains_key(sid) {
            return Err(not_found("Workflows", sid));
        }
        let program = spec
            .configuration
            .as_deref()
            .map(|c| self.compile_workflow(c))
            .transpose()?;
        Self::check_reservation_timeout(spec.task_reservation_timeout)?;
        let wf = self
            .workflows
            .get_mut(sid)
            .ok_or_else(|| not_found("Workflows", sid))?;
        if let Some(v) = spec.friendly_name {
            wf.friendly_name = v;
        }
        if let Some(v) = spec.configuration {
            wf.configuration = v;
        }
        if spec.assignment_callback_url.is_some() {
            wf.assignment_callback_url = spec.assignment_callback_url.filter(|u| !u.is_empty());
        }
        if spec.fallback_assignment_callback_url.is_some() {
            wf.fallback_assignment_callback_url = spec
                .fallback_assignment_callback_url
                .filter(|u| !u.is_empty());
        }
        if let Some(v) = spec.task_reservation_timeout {
            wf.task_reservation_timeout = v;
        }
        wf.updated = now;
        let name = wf.friendly_name.clone();
        if let Some(p) = program {
            self.programs.insert(sid.clone(), p);
        }
        self.touch(DocKey::Workflow(sid.clone()));
        self.resource_event(
            "workflow.updated",
            EventKind::Workflow,
            sid.to_string(),
            name,
            now,
        );
        if re_evaluate {
            let waiting: Vec<TaskSid> = self
                .tasks
                .values()
                .filter(|t| t.status.is_waiting() && t.workflow_sid.as_ref() == Some(sid))
                .map(|t| t.sid.clone())
                .collect();
            for t in waiting {
                self.end_pending(&t, ReservationStatus::Canceled, now);
                self.revert_to_pending(&t, now);
                self.start_routing(&t, now);
            }
        }
        Ok(())
    }

    /// Deletes a workflow no live task uses.
    pub fn delete_workflow(&mut self, sid: &WorkflowSid, now: Millis) -> Result<(), RoutingError> {
        if !self.workflows.contains_key(sid) {
            return Err(not_found("Workflows", sid));
        }
        if self
            .tasks
            .values()
            .any(|t| !t.status.is_final() && t.workflow_sid.as_ref() == Some(sid))
        {
            return Err(RoutingError::Conflict("Workflow has active tasks".into()));
        }
        let wf = self.workflows.remove(sid);
        self.programs.remove(sid);
        self.removed.push(DocKey::Workflow(sid.clone()));
        self.resource_event(
            "workflow.deleted",
            EventKind::Workflow,
            sid.to_string(),
            wf.map(|w| w.friendly_name).unwrap_or_default(),
            now,
        );
        Ok(())
    }

    fn revert_to_pending(&mut self, sid: &TaskSid, now: Millis) {
        self.unindex_waiting(sid);
        if let Some(t) = self.tasks.get_mut(sid) {
            t.status = TaskStatus::Pending;
            t.step = None;
            t.declined.clear();
            t.updated = now;
            t.version += 1;
        }
        self.touch(DocKey::Task(sid.clone()));
    }

    /// Creates a task and routes it.
    pub fn create_task(&mut self, req: TaskCreate, now: Millis) -> Result<TaskSid, RoutingError> {
        let attributes = req.attributes.unwrap_or_else(|| "{}".into());
        check_attributes("Attributes", &attributes)?;
        let timeout = req.timeout.unwrap_or(DEFAULT_TASK_TIMEOUT);
        if !(1..=MAX_TASK_TIMEOUT).contains(&timeout) {
            return Err(RoutingError::Invalid(format!(
                "Invalid parameter Timeout: must be between 1 and {MAX_TASK_TIMEOUT}"
            )));
        }
        let channel_key = req.task_channel.as_deref().unwrap_or("default");
        let channel = self
            .channel_by_key(channel_key)
            .map(|c| c.sid.clone())
            .ok_or_else(|| {
                RoutingError::Invalid(format!(
                    "Invalid parameter TaskChannel: {channel_key} is not a task channel of this workspace"
                ))
            })?;
        let mut workflow_sid = req.workflow_sid.clone();
        let mut queue_sid = req.task_queue_sid.clone();
        let mut routing_target = None;
        if let Some(target) = req.routing_target.as_deref() {
            if let Ok(worker) = target.parse::<WorkerSid>() {
                if !self.workers.contains_key(&worker) {
                    return Err(RoutingError::Invalid(format!(
                        "Invalid parameter RoutingTarget: worker {worker} is not in this workspace"
                    )));
                }
                routing_target = Some(target.to_owned());
            } else if let Ok(queue) = target.parse::<TaskQueueSid>() {
                queue_sid = Some(queue);
            } else if let Ok(wf) = target.parse::<WorkflowSid>() {
                workflow_sid = Some(wf);
            } else {
                return Err(RoutingError::Invalid(
                    "Invalid parameter RoutingTarget: must be a worker, queue or workflow SID"
                        .into(),
                ));
            }
        }
        if req.ignore_capacity && routing_target.is_none() {
            return Err(RoutingError::Invalid(
                "Invalid parameter IgnoreCapacity: only allowed with a worker RoutingTarget".into(),
            ));
        }
        if let Some(q) = &queue_sid
            && !self.queues.contains_key(q)
        {
            return Err(RoutingError::Invalid(format!(
                "Invalid parameter TaskQueueSid: {q} is not a queue of this workspace"
            )));
        }
        if let Some(wf) = &workflow_sid
            && !self.workflows.contains_key(wf)
        {
            return Err(RoutingError::Invalid(format!(
                "Invalid parameter WorkflowSid: {wf} is not a workflow of this workspace"
            )));
        }
        if workflow_sid.is_none() && queue_sid.is_none() && routing_target.is_none() {
            if self.workflows.len() == 1 {
                workflow_sid = self.workflows.keys().next().cloned();
            } else {
                return Err(RoutingError::Invalid(
                    "Missing required parameter WorkflowSid: the workspace has more than one workflow"
                        .into(),
                ));
            }
        }
        let sid = TaskSid::generate();
        let task = Task {
            sid: sid.clone(),
            attributes: attributes.clone(),
            status: TaskStatus::Pending,
            priority: req.priority.unwrap_or(0),
            requested_priority: req.priority,
            task_channel_sid: channel,
            workflow_sid: if routing_target.is_some() || queue_sid.is_some() {
                None
            } else {
                workflow_sid
            },
            queue_sid,
            routing_target,
            ignore_capacity: req.ignore_capacity,
            timeout,
            reason: None,
            step: None,
            declined: Vec::new(),
            queue_entered: None,
            virtual_start: req.virtual_start.unwrap_or(now),
            version: 0,
            created: now,
            updated: now,
        };
        self.tasks.insert(sid.clone(), task);
        self.task_attrs
            .insert(sid.clone(), parse_attributes(&attributes));
        self.touch(DocKey::Task(sid.clone()));
        self.count("tasks_created");
        self.task_event("task.created", &sid, now);
        self.start_routing(&sid, now);
        Ok(sid)
    }

    /// Updates a task: attributes (re-routes a waiting task), priority, status, reason.
    pub fn update_task(
        &mut self,
        sid: &TaskSid,
        update: TaskUpdate,
        now: Millis,
    ) -> Result<(), RoutingError> {
        let task = self.tasks.get(sid).ok_or_else(|| not_found("Tasks", sid))?;
        let status = task.status;
        if let Some(a) = &update.attributes {
            check_attributes("Attributes", a)?;
        }
        let channel = match &update.task_channel {
            Some(key) => Some(self.channel_by_key(key).map(|c| c.sid.clone()).ok_or_else(
                || {
                    RoutingError::Invalid(format!(
                        "Invalid parameter TaskChannel: {key} is not a task channel"
                    ))
                },
            )?),
            None => None,
        };
        if let Some(new) = update.status {
            let allowed = match new {
                TaskStatus::Canceled => status.is_waiting(),
                TaskStatus::Wrapping => status == TaskStatus::Assigned,
                TaskStatus::Completed => {
                    matches!(status, TaskStatus::Assigned | TaskStatus::Wrapping)
                }
                _ => false,
            };
            if !allowed {
                return Err(RoutingError::Conflict(format!(
                    "Task {sid} cannot move from {} to {}",
                    status.as_str(),
                    new.as_str()
                )));
            }
        }
        if status.is_final() && (update.attributes.is_some() || update.priority.is_some()) {
            return Err(RoutingError::Conflict(format!(
                "Task {sid} is {} and cannot be changed",
                status.as_str()
            )));
        }
        let waiting = status.is_waiting();
        if waiting {
            self.unindex_waiting(sid);
        }
        let reroute = waiting && (update.attributes.is_some() || channel.is_some());
        if let Some(t) = self.tasks.get_mut(sid) {
            if let Some(a) = &update.attributes {
                t.attributes = a.clone();
            }
            if let Some(p) = update.priority {
                t.requested_priority = Some(p);
                t.priority = p;
            }
            if let Some(c) = channel {
                t.task_channel_sid = c;
            }
            if let Some(v) = update.virtual_start {
                t.virtual_start = v;
            }
            if update.reason.is_some() {
                t.reason = update.reason.clone();
            }
            t.updated = now;
            t.version += 1;
        }
        if let Some(a) = &update.attributes
            && !status.is_final()
        {
            self.task_attrs.insert(sid.clone(), parse_attributes(a));
        }
        if waiting {
            self.index_waiting(sid);
        }
        self.touch(DocKey::Task(sid.clone()));
        self.task_event("task.updated", sid, now);
        match update.status {
            Some(TaskStatus::Canceled) => {
                let reason = update.reason.unwrap_or_else(|| "Canceled via API".into());
                self.cancel(sid, &reason, now);
            }
            Some(TaskStatus::Wrapping) => self.wrap_up(sid, now),
            Some(TaskStatus::Completed) => {
                let reason = update.reason.unwrap_or_else(|| "Completed via API".into());
                self.complete(sid, &reason, now);
            }
            _ if reroute => {
                self.end_pending(sid, ReservationStatus::Canceled, now);
                self.revert_to_pending(sid, now);
                self.start_routing(sid, now);
            }
            _ if waiting && update.priority.is_some() => {
                self.try_route_task(sid, now);
            }
            _ => {}
        }
        Ok(())
    }

    /// Deletes a task (canceling its offers, freeing its worker).
    pub fn delete_task(&mut self, sid: &TaskSid, now: Millis) -> Result<(), RoutingError> {
        if !self.tasks.contains_key(sid) {
            return Err(not_found("Tasks", sid));
        }
        self.end_pending(sid, ReservationStatus::Canceled, now);
        let holders: Vec<ReservationSid> =
            self.task_reservations.get(sid).cloned().unwrap_or_default();
        let workers: Vec<WorkerSid> = holders
            .iter()
            .filter_map(|r| self.reservations.get(r).map(|r| r.worker_sid.clone()))
            .collect();
        for r in &holders {
            self.set_reservation_status(r, ReservationStatus::Canceled, now);
        }
        self.unindex_waiting(sid);
        self.task_event("task.deleted", sid, now);
        self.tasks.remove(sid);
        self.task_attrs.remove(sid);
        self.task_reservations.remove(sid);
        let reservations = self.by_task.remove(sid).unwrap_or_default();
        for r in reservations {
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
        for w in workers {
            self.try_route_worker(&w, now);
        }
        Ok(())
    }

    fn accepted_reservation(&self, task: &TaskSid) -> Option<ReservationSid> {
        self.reservations_of_task(task)
            .into_iter()
            .find(|r| {
                matches!(
                    r.status,
                    ReservationStatus::Accepted | ReservationStatus::Wrapping
                )
            })
            .map(|r| r.sid.clone())
    }

    fn wrap_up(&mut self, sid: &TaskSid, now: Millis) {
        if let Some(t) = self.tasks.get_mut(sid) {
            t.status = TaskStatus::Wrapping;
            t.updated = now;
        }
        self.touch(DocKey::Task(sid.clone()));
        if let Some(r) = self.accepted_reservation(sid)
            && self.reservations.get(&r).map(|r| r.status) == Some(ReservationStatus::Accepted)
        {
            self.set_reservation_status(&r, ReservationStatus::Wrapping, now);
        }
        self.task_event("task.wrapup", sid, now);
    }

    fn complete(&mut self, sid: &TaskSid, reason: &str, now: Millis) {
        if let Some(t) = self.tasks.get_mut(sid) {
            t.status = TaskStatus::Completed;
            t.reason = Some(reason.to_owned());
            t.updated = now;
        }
        self.task_attrs.remove(sid);
        self.touch(DocKey::Task(sid.clone()));
        self.count("tasks_completed");
        self.task_event("task.completed", sid, now);
        self.schedule_purge(sid, now);
        if let Some(r) = self.accepted_reservation(sid) {
            let worker = self.reservations.get(&r).map(|r| r.worker_sid.clone());
            self.set_reservation_status(&r, ReservationStatus::Completed, now);
            if let Some(w) = worker {
                self.try_route_worker(&w, now);
            }
        }
    }

    /// A worker's (or API's) answer to a reservation: accepted, rejected (optionally moving
    /// the worker to `activity`), wrapping or completed.
    pub fn answer_reservation(
        &mut self,
        sid: &ReservationSid,
        status: ReservationStatus,
        activity: Option<ActivitySid>,
        now: Millis,
    ) -> Result<(), RoutingError> {
        let r = self
            .reservations
            .get(sid)
            .ok_or_else(|| not_found("Reservations", sid))?;
        let (task, worker, current) = (r.task_sid.clone(), r.worker_sid.clone(), r.status);
        if let Some(a) = &activity {
            self.activity_exists(a, "WorkerActivitySid")?;
        }
        let conflict = || {
            RoutingError::Conflict(format!(
                "Reservation {sid} is {} and cannot be {}",
                current.as_str(),
                status.as_str()
            ))
        };
        match status {
            ReservationStatus::Accepted => {
                if current != ReservationStatus::Pending {
                    return Err(conflict());
                }
                self.set_reservation_status(sid, ReservationStatus::Accepted, now);
                self.end_pending(&task, ReservationStatus::Rescinded, now);
                self.unindex_waiting(&task);
                if let Some(t) = self.tasks.get_mut(&task) {
                    t.status = TaskStatus::Assigned;
                    t.updated = now;
                    t.version += 1;
                }
                self.task_attrs.entry(task.clone()).or_default();
                self.touch(DocKey::Task(task.clone()));
                self.count("tasks_assigned");
                self.task_event("task.updated", &task, now);
                let assignment = self
                    .tasks
                    .get(&task)
                    .and_then(|t| t.queue_sid.as_ref())
                    .and_then(|q| self.queues.get(q))
                    .and_then(|q| q.assignment_activity_sid.clone());
                if let Some(a) =
                    activity.or(assignment.filter(|_| !self.workspace.multi_task_enabled))
                {
                    self.set_activity(&worker, &a, now);
                }
            }
            ReservationStatus::Rejected => {
                if current != ReservationStatus::Pending {
                    return Err(conflict());
                }
                self.set_reservation_status(sid, ReservationStatus::Rejected, now);
                if let Some(a) = activity {
                    self.set_activity(&worker, &a, now);
                }
                self.after_decline(&task, &worker, now);
                self.try_route_worker(&worker, now);
            }
            ReservationStatus::Wrapping => {
                if current != ReservationStatus::Accepted {
                    return Err(conflict());
                }
                self.wrap_up(&task, now);
            }
            ReservationStatus::Completed => {
                if !matches!(
                    current,
                    ReservationStatus::Accepted | ReservationStatus::Wrapping
                ) {
                    return Err(conflict());
                }
                self.complete(&task, "Completed by worker", now);
            }
            _ => {
                return Err(RoutingError::Invalid(format!(
                    "Invalid parameter ReservationStatus: {} cannot be set by a client",
                    status.as_str()
                )));
            }
        }
        Ok(())
    }

    /// The task a reservation belongs to, and whether it is routed directly.
    pub fn is_direct(&self, task: &TaskSid) -> bool {
        self.tasks
            .get(task)
            .is_some_and(|t| direct_worker(t).is_some())
    }

    /// Creates a new workspace's defaults: the four Flex activities (Offline is the default
    /// and timeout activity) and the task channels.
    pub fn new_workspace(
        account: AccountSid,
        friendly_name: String,
        spec: WorkspaceSpec,
        now: Millis,
    ) -> Engine {
        let activity = |name: &str, available: bool| Activity {
            sid: ActivitySid::generate(),
            friendly_name: name.into(),
            available,
            created: now,
            updated: now,
        };
        let activities = vec![
            activity("Offline", false),
            activity("Available", true),
            activity("Unavailable", false),
            activity("Break", false),
        ];
        let offline = activities[0].sid.clone();
        let channel = |unique: &str, name: &str| TaskChannel {
            sid: TaskChannelSid::generate(),
            friendly_name: name.into(),
            unique_name: unique.into(),
            channel_optimized_routing: None,
            created: now,
            updated: now,
        };
        let channels = vec![
            channel("default", "Default"),
            channel("voice", "Voice"),
            channel("chat", "Programmable Chat"),
            channel("sms", "SMS"),
            channel("whatsapp", "WhatsApp"),
            channel("messenger", "Messenger"),
            channel("video", "Video"),
            channel("email", "Email"),
        ];
        let workspace = Workspace {
            sid: WorkspaceSid::generate(),
            account_sid: account,
            friendly_name,
            event_callback_url: spec.event_callback_url.filter(|u| !u.is_empty()),
            events_filter: spec.events_filter.filter(|u| !u.is_empty()),
            multi_task_enabled: spec.multi_task_enabled.unwrap_or(true),
            default_activity_sid: offline.clone(),
            timeout_activity_sid: offline,
            prioritize_queue_order: spec.prioritize_queue_order.unwrap_or_default(),
            created: now,
            updated: now,
        };
        let mut engine = Engine::load(
            workspace,
            activities.clone(),
            channels.clone(),
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        );
        engine.touch(DocKey::Workspace);
        for a in activities {
            engine.touch(DocKey::Activity(a.sid));
        }
        for c in channels {
            engine.touch(DocKey::TaskChannel(c.sid));
        }
        let (sid, name) = (
            engine.workspace.sid.to_string(),
            engine.workspace.friendly_name.clone(),
        );
        engine.resource_event("workspace.created", EventKind::Workspace, sid, name, now);
        engine
    }

    /// Activity SID by friendly name.
    pub fn activity_named(&self, name: &str) -> Option<ActivitySid> {
        self.activities
            .values()
            .find(|a| a.friendly_name.eq_ignore_ascii_case(name))
            .map(|a| a.sid.clone())
    }
}

fn new_worker_channel(channel: &TaskChannelSid, now: Millis) -> WorkerChannel {
    WorkerChannel {
        sid: WorkerChannelSid::generate(),
        task_channel_sid: channel.clone(),
        capacity: 1,
        available: true,
        created: now,
        updated: now,
    }
}

/// Counts by key, for statistics.
pub fn tally<K: Ord>(items: impl Iterator<Item = K>) -> BTreeMap<K, u64> {
    let mut out = BTreeMap::new();
    for k in items {
        *out.entry(k).or_default() += 1;
    }
    out
}
