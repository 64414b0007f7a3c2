//! Matching tasks to workers: queue membership, the waiting index, workflow steps (filters,
//! targets, timeouts, `skip_if`), worker eligibility and choice (target expression, known
//! worker, capacity, `order_by`, then longest idle), and the reservation lifecycle driven by
//! deadlines.

use std::cmp::{Ordering, Reverse};

use serde_json::{Value, json};

use super::{Deadline, DocKey, Engine, EventKind, WaitKey};
use crate::ids::*;
use crate::routing::expr::Context;
use crate::routing::model::*;
use crate::routing::workflow::{Target, resolve};

/// Reason of a task canceled by its TTL (Twilio's wording).
pub const TTL_REASON: &str = "Task TTL Exceeded";
/// Reason of a task that passed its last workflow step.
pub const WORKFLOW_TIMEOUT_REASON: &str = "Workflow Timeout";
/// Reason of a task that matched no filter and had no default filter.
pub const NO_MATCH_REASON: &str = "Task did not match any workflow filter";

impl Engine {
    /// Recomputes which queues select `worker` (after it changed, or was created).
    pub(super) fn refresh_membership(&mut self, worker: &WorkerSid) {
        let Some(w) = self.workers.get(worker) else {
            return;
        };
        let props = self.worker_properties(w, false);
        let empty = Value::Object(Default::default());
        let attrs = self.worker_attrs.get(worker).unwrap_or(&empty);
        let ctx = Context::new(attrs).with_properties(&props);
        let mut mine = Vec::new();
        for (queue, expr) in &self.queue_exprs {
            let member = expr.as_ref().is_some_and(|e| e.matches(&ctx));
            let set = self.members.entry(queue.clone()).or_default();
            if member {
                set.insert(worker.clone());
                mine.push(queue.clone());
            } else {
                set.remove(worker);
            }
        }
        self.worker_queues.insert(worker.clone(), mine);
        self.refresh_free(worker);
    }

    /// Re-files a worker in the free-worker index: under each of its queues and each channel
    /// it could take a task on now (available activity, channel available with free capacity,
    /// not busy in a single-tasking workspace), keyed by its idle time.
    pub(super) fn refresh_free(&mut self, worker: &WorkerSid) {
        if let Some(old) = self.free_at.remove(worker) {
            for (queue, channel, idle) in old {
                if let Some(set) = self.free.get_mut(&(queue, channel)) {
                    set.remove(&(idle, worker.clone()));
                }
            }
        }
        let Some(w) = self.workers.get(worker) else {
            return;
        };
        let busy = !self.workspace.multi_task_enabled
            && self.holding.get(worker).is_some_and(|l| !l.is_empty());
        if !self.is_available(w) || busy {
            return;
        }
        let mut keys = Vec::new();
        for (channel, wc) in &w.channels {
            if wc.available && self.load_on(worker, channel) < wc.capacity {
                for queue in self.queues_of(worker) {
                    keys.push((queue.clone(), channel.clone(), w.idle_since));
                }
            }
        }
        for (queue, channel, idle) in &keys {
            self.free
                .entry((queue.clone(), channel.clone()))
                .or_default()
                .insert((*idle, worker.clone()));
        }
        self.free_at.insert(worker.clone(), keys);
    }

    /// Re-files every worker (after a change of channels, queues or workspace settings).
    pub(super) fn refresh_all_free(&mut self) {
        self.free.clear();
        self.free_at.clear();
        let workers: Vec<WorkerSid> = self.workers.keys().cloned().collect();
        for w in &workers {
            self.refresh_free(w);
        }
    }

    /// Recomputes a queue's members (after its `target_workers` changed, or it was created).
    pub(super) fn refresh_queue(&mut self, queue: &TaskQueueSid) {
        let workers: Vec<WorkerSid> = self.workers.keys().cloned().collect();
        for w in workers {
            self.refresh_membership(&w);
        }
        self.members.entry(queue.clone()).or_default();
    }

    /// The members of a queue.
    pub fn queue_members(&self, queue: &TaskQueueSid) -> impl Iterator<Item = &Worker> {
        self.members
            .get(queue)
            .into_iter()
            .flatten()
            .filter_map(|w| self.workers.get(w))
    }

    /// The queues a worker belongs to.
    pub fn queues_of(&self, worker: &WorkerSid) -> &[TaskQueueSid] {
        self.worker_queues.get(worker).map_or(&[], Vec::as_slice)
    }

    fn wait_key(&self, task: &Task) -> WaitKey {
        let order = match task.queue_sid.as_ref().and_then(|q| self.queues.get(q)) {
            Some(q) if q.task_order == QueueOrder::Lifo => -task.virtual_start,
            _ => task.virtual_start,
        };
        (Reverse(task.priority), order, task.sid.clone())
    }

    /// Files a waiting task under its queue (or its target worker).
    pub(super) fn index_waiting(&mut self, sid: &TaskSid) {
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        if !task.status.is_waiting() {
            return;
        }
        let key = self.wait_key(task);
        if let Some(worker) = direct_worker(task) {
            self.waiting_direct.entry(worker).or_default().insert(key);
        } else if let Some(queue) = task.queue_sid.clone() {
            self.waiting.entry(queue).or_default().insert(key);
        }
    }

    /// Removes a task from the waiting index (before it changes queue, priority or status).
    pub(super) fn unindex_waiting(&mut self, sid: &TaskSid) {
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        let key = self.wait_key(task);
        if let Some(worker) = direct_worker(task) {
            if let Some(set) = self.waiting_direct.get_mut(&worker) {
                set.remove(&key);
            }
        } else if let Some(queue) = &task.queue_sid
            && let Some(set) = self.waiting.get_mut(queue)
        {
            set.remove(&key);
        }
    }

    /// Arms a task's TTL and step deadlines.
    pub(super) fn schedule_task(&mut self, sid: &TaskSid) {
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        if task.status.is_waiting() {
            self.deadlines
                .insert((task.expires_at(), Deadline::Ttl(sid.clone())));
            if let Some(deadline) = task.step.as_ref().and_then(|s| s.deadline) {
                self.deadlines
                    .insert((deadline, Deadline::Step(sid.clone())));
            }
        }
    }

    /// The workflow target a task waits in, if it waits in a filter's target.
    fn current_target(&self, task: &Task) -> Option<&Target> {
        let step = task.step.as_ref()?;
        let filter = step.filter?;
        self.programs
            .get(task.workflow_sid.as_ref()?)?
            .filters
            .get(filter)?
            .targets
            .get(step.target)
    }

    fn max_reserved(&self, task: &Task) -> usize {
        if direct_worker(task).is_some() {
            return 1;
        }
        task.queue_sid
            .as_ref()
            .and_then(|q| self.queues.get(q))
            .map_or(1, |q| q.max_reserved_workers.max(1) as usize)
    }

    fn pending_reservations(&self, task: &TaskSid) -> usize {
        self.task_reservations.get(task).map_or(0, |list| {
            list.iter()
                .filter(|r| {
                    self.reservations
                        .get(*r)
                        .is_some_and(|r| r.status == ReservationStatus::Pending)
                })
                .count()
        })
    }

    /// Whether `worker` may be offered `task` now.
    fn eligible(&self, task: &Task, worker: &Worker) -> bool {
        if !self.is_available(worker) || task.declined.contains(&worker.sid) {
            return false;
        }
        let already = self.task_reservations.get(&task.sid).is_some_and(|list| {
            list.iter().any(|r| {
                self.reservations
                    .get(r)
                    .is_some_and(|r| r.worker_sid == worker.sid)
            })
        });
        if already {
            return false;
        }
        let Some(channel) = worker.channels.get(&task.task_channel_sid) else {
            return false;
        };
        let ignore_capacity = task.ignore_capacity && direct_worker(task).is_some();
        if !ignore_capacity {
            if !channel.available
                || self.load_on(&worker.sid, &task.task_channel_sid) >= channel.capacity
            {
                return false;
            }
            if !self.workspace.multi_task_enabled
                && self.holding.get(&worker.sid).is_some_and(|l| !l.is_empty())
            {
                return false;
            }
        }
        let Some(target) = self.current_target(task) else {
            return true;
        };
        let empty = Value::Object(Default::default());
        let task_attrs = self.task_attrs.get(&task.sid).unwrap_or(&empty);
        if let Some(expr) = &target.expression {
            let worker_attrs = self.worker_attrs.get(&worker.sid).unwrap_or(&empty);
            let props = self.worker_properties(worker, true);
            let ctx = Context::target(task_attrs, worker_attrs).with_worker_properties(&props);
            if !expr.matches(&ctx) {
                return false;
            }
        }
        if let Some(known) = &target.known_worker_sid
            && known.value(task_attrs).as_deref() != Some(worker.sid.as_str())
        {
            return false;
        }
        if let Some(known) = &target.known_worker_friendly_name
            && known.value(task_attrs).as_deref() != Some(worker.friendly_name.as_str())
        {
            return false;
        }
        true
    }

    /// Puts the best `room` candidates first: the target's `order_by`, then longest idle.
    fn rank(&self, task: &Task, candidates: &mut [&Worker], room: usize) {
        let order_by = self
            .current_target(task)
            .map(|t| t.order_by.clone())
            .unwrap_or_default();
        if order_by.is_empty() {
            // The common case: only the longest idle matter; no full sort.
            let idle =
                |a: &&Worker, b: &&Worker| (a.idle_since, &a.sid).cmp(&(b.idle_since, &b.sid));
            if room > 0 && room < candidates.len() {
                candidates.select_nth_unstable_by(room - 1, idle);
                candidates[..room].sort_by(idle);
            } else {
                candidates.sort_by(idle);
            }
            return;
        }
        let empty = Value::Object(Default::default());
        candidates.sort_by(|a, b| {
            for (key, desc) in &order_by {
                let rest = key.segments.get(1..).unwrap_or_default();
                let value = |w: &Worker| {
                    resolve(self.worker_attrs.get(&w.sid).unwrap_or(&empty), rest).cloned()
                };
                let ord = compare_values(value(a).as_ref(), value(b).as_ref());
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (a.idle_since, &a.sid).cmp(&(b.idle_since, &b.sid))
        });
    }

    /// Offers `task` to as many eligible workers as its queue allows. True when at least one
    /// reservation was created.
    pub(super) fn try_route_task(&mut self, sid: &TaskSid, now: Millis) -> bool {
        let Some(task) = self.tasks.get(sid) else {
            return false;
        };
        if !task.status.is_waiting() {
            return false;
        }
        let room = self
            .max_reserved(task)
            .saturating_sub(self.pending_reservations(sid));
        if room == 0 {
            return false;
        }
        let chosen: Vec<WorkerSid> = if let Some(direct) = direct_worker(task) {
            self.workers
                .get(&direct)
                .filter(|w| self.eligible(task, w))
                .map(|w| vec![w.sid.clone()])
                .unwrap_or_default()
        } else {
            let Some(queue) = &task.queue_sid else {
                return false;
            };
            let ordered = self
                .current_target(task)
                .is_some_and(|t| !t.order_by.is_empty());
            if ordered {
                let mut candidates: Vec<&Worker> = self
                    .queue_members(queue)
                    .filter(|w| self.eligible(task, w))
                    .collect();
                self.rank(task, &mut candidates, room);
                candidates
                    .into_iter()
                    .take(room)
                    .map(|w| w.sid.clone())
                    .collect()
            } else {
                // Longest idle first: the free index is already in that order.
                self.free
                    .get(&(queue.clone(), task.task_channel_sid.clone()))
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, w)| self.workers.get(w))
                    .filter(|w| self.eligible(task, w))
                    .take(room)
                    .map(|w| w.sid.clone())
                    .collect()
            }
        };
        let created = !chosen.is_empty();
        for worker in chosen {
            self.reserve(sid, &worker, now);
        }
        created
    }

    /// Offers `worker` the best waiting tasks it is eligible for until its capacity is used.
    pub(super) fn try_route_worker(&mut self, worker: &WorkerSid, now: Millis) {
        // Each round reserves one task; capacity bounds the rounds.
        for _ in 0..1000 {
            let Some(w) = self.workers.get(worker) else {
                return;
            };
            if !self.is_available(w) {
                return;
            }
            let mut best: Option<(i64, i64, TaskSid)> = None;
            let mut consider =
                |engine: &Engine, set: Option<&std::collections::BTreeSet<WaitKey>>| {
                    for (Reverse(priority), _, sid) in set.into_iter().flatten() {
                        let Some(task) = engine.tasks.get(sid) else {
                            continue;
                        };
                        if engine.pending_reservations(sid) >= engine.max_reserved(task)
                            || !engine.eligible(task, w)
                        {
                            continue;
                        }
                        let age = match engine.workspace.prioritize_queue_order {
                            QueueOrder::Fifo => task.virtual_start,
                            QueueOrder::Lifo => -task.virtual_start,
                        };
                        let better = best.as_ref().is_none_or(|(p, a, s)| {
                            (Reverse(*priority), age, sid) < (Reverse(*p), *a, s)
                        });
                        if better {
                            best = Some((*priority, age, sid.clone()));
                        }
                        // The queue is ordered: the first eligible task is its best.
                        break;
                    }
                };
            consider(self, self.waiting_direct.get(worker));
            for queue in self.queues_of(worker) {
                consider(self, self.waiting.get(queue));
            }
            let Some((_, _, task)) = best else {
                return;
            };
            self.reserve(&task, worker, now);
        }
    }

    fn reserve(&mut self, task_sid: &TaskSid, worker: &WorkerSid, now: Millis) {
        let Some(task) = self.tasks.get(task_sid) else {
            return;
        };
        let timeout_secs = task
            .workflow_sid
            .as_ref()
            .and_then(|w| self.workflows.get(w))
            .map_or(120, |w| w.task_reservation_timeout);
        let reservation = Reservation {
            sid: ReservationSid::generate(),
            task_sid: task_sid.clone(),
            worker_sid: worker.clone(),
            task_channel_sid: task.task_channel_sid.clone(),
            status: ReservationStatus::Pending,
            timeout_at: now + i64::from(timeout_secs) * 1000,
            ignore_capacity: task.ignore_capacity,
            version: 0,
            created: now,
            updated: now,
        };
        let sid = reservation.sid.clone();
        let reservation_channel = reservation.task_channel_sid.clone();
        self.deadlines
            .insert((reservation.timeout_at, Deadline::Reservation(sid.clone())));
        self.reservations.insert(sid.clone(), reservation);
        self.task_reservations
            .entry(task_sid.clone())
            .or_default()
            .push(sid.clone());
        self.holding
            .entry(worker.clone())
            .or_default()
            .push(sid.clone());
        *self
            .loads
            .entry(worker.clone())
            .or_default()
            .entry(reservation_channel)
            .or_default() += 1;
        self.roster.note(worker);
        self.by_task
            .entry(task_sid.clone())
            .or_default()
            .push(sid.clone());
        self.by_worker
            .entry(worker.clone())
            .or_default()
            .push(sid.clone());
        self.refresh_free(worker);
        self.touch(DocKey::Reservation(sid.clone()));
        self.count("reservations_created");
        if let Some(t) = self.tasks.get_mut(task_sid)
            && t.status == TaskStatus::Pending
        {
            t.status = TaskStatus::Reserved;
            t.updated = now;
            t.version += 1;
            self.touch(DocKey::Task(task_sid.clone()));
        }
        // Single-tasking workspaces move the worker to the queue's reservation activity.
        let activity = self
            .tasks
            .get(task_sid)
            .and_then(|t| t.queue_sid.as_ref())
            .and_then(|q| self.queues.get(q))
            .and_then(|q| q.reservation_activity_sid.clone());
        if !self.workspace.multi_task_enabled
            && let Some(activity) = activity
        {
            self.set_activity(worker, &activity, now);
        }
        self.reservation_event("reservation.created", &sid, now);
    }

    /// Takes a reservation out of the capacity-holding indexes.
    pub(super) fn release(&mut self, reservation: &ReservationSid) {
        let Some(r) = self.reservations.get(reservation) else {
            return;
        };
        if let Some(list) = self.holding.get_mut(&r.worker_sid) {
            let before = list.len();
            list.retain(|x| x != reservation);
            if list.len() < before
                && let Some(load) = self
                    .loads
                    .get_mut(&r.worker_sid)
                    .and_then(|m| m.get_mut(&r.task_channel_sid))
            {
                *load = load.saturating_sub(1);
                self.roster.note(&r.worker_sid);
            }
        }
        if let Some(list) = self.task_reservations.get_mut(&r.task_sid) {
            list.retain(|x| x != reservation);
        }
    }

    /// Sets a reservation's status (and its event); frees capacity when it stops holding any.
    pub(super) fn set_reservation_status(
        &mut self,
        sid: &ReservationSid,
        status: ReservationStatus,
        now: Millis,
    ) {
        let Some(r) = self.reservations.get_mut(sid) else {
            return;
        };
        let was_working = matches!(
            r.status,
            ReservationStatus::Accepted | ReservationStatus::Wrapping
        );
        r.status = status;
        r.updated = now;
        r.version += 1;
        let worker = r.worker_sid.clone();
        if !status.holds_capacity() {
            self.release(sid);
            // Idle time restarts when work ends, not when an offer goes away.
            if was_working && let Some(w) = self.workers.get_mut(&worker) {
                w.idle_since = w.idle_since.max(now);
            }
            self.refresh_free(&worker);
        }
        self.touch(DocKey::Reservation(sid.clone()));
        let event = match status {
            ReservationStatus::Pending => "reservation.created",
            ReservationStatus::Accepted => "reservation.accepted",
            ReservationStatus::Rejected => "reservation.rejected",
            ReservationStatus::Timeout => "reservation.timeout",
            ReservationStatus::Canceled => "reservation.canceled",
            ReservationStatus::Rescinded => "reservation.rescinded",
            ReservationStatus::Wrapping => "reservation.wrapup",
            ReservationStatus::Completed => "reservation.completed",
        };
        self.count(event);
        self.reservation_event(event, sid, now);
    }

    /// Ends every pending reservation of a task with `status`.
    pub(super) fn end_pending(&mut self, task: &TaskSid, status: ReservationStatus, now: Millis) {
        let pending: Vec<ReservationSid> = self
            .task_reservations
            .get(task)
            .into_iter()
            .flatten()
            .filter(|r| {
                self.reservations
                    .get(*r)
                    .is_some_and(|r| r.status == ReservationStatus::Pending)
            })
            .cloned()
            .collect();
        for r in pending {
            self.set_reservation_status(&r, status, now);
        }
    }

    /// After a worker declined: back to pending if no offer is left, then route again.
    pub(super) fn after_decline(&mut self, task: &TaskSid, worker: &WorkerSid, now: Millis) {
        let left = self.pending_reservations(task);
        if let Some(t) = self.tasks.get_mut(task) {
            if !t.declined.contains(worker) {
                t.declined.push(worker.clone());
            }
            if t.status == TaskStatus::Reserved && left == 0 {
                t.status = TaskStatus::Pending;
                t.updated = now;
                t.version += 1;
            }
            self.touch(DocKey::Task(task.clone()));
        }
        self.try_route_task(task, now);
    }

    /// Starts (or restarts) routing a task from its workflow's first filter, or straight to
    /// its queue or worker.
    pub(super) fn start_routing(&mut self, sid: &TaskSid, now: Millis) {
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        if direct_worker(task).is_some() || task.workflow_sid.is_none() {
            // Straight to a worker or a queue: no steps, waits until its TTL.
            self.enter(sid, None, 0, now);
            return;
        }
        let attrs = self.task_attrs.get(sid).cloned().unwrap_or(json!({}));
        self.task_event_once("workflow.entered", sid, EventKind::Workflow, now);
        self.match_from(sid, &attrs, 0, now);
    }

    fn task_event_once(
        &mut self,
        event_type: &'static str,
        sid: &TaskSid,
        kind: EventKind,
        now: Millis,
    ) {
        self.routing_event(event_type, kind, sid, now);
    }

    /// Evaluates filters from `start`; enters the first match's first target, else the
    /// default filter, else cancels the task.
    fn match_from(&mut self, sid: &TaskSid, attrs: &Value, start: usize, now: Millis) {
        let Some(wf) = self.tasks.get(sid).and_then(|t| t.workflow_sid.clone()) else {
            return;
        };
        let Some(program) = self.programs.get(&wf) else {
            return self.cancel(sid, NO_MATCH_REASON, now);
        };
        if let Some(filter) = program.first_match(attrs, start) {
            return self.enter(sid, Some(filter), 0, now);
        }
        match program.default_queue.clone() {
            Some(queue) => {
                if let Some(t) = self.tasks.get_mut(sid) {
                    t.queue_sid = Some(queue);
                }
                self.enter(sid, None, 0, now);
            }
            None => self.cancel(sid, NO_MATCH_REASON, now),
        }
    }

    /// Puts a task into a step: its queue, priority and deadline; then tries to reserve, and
    /// applies `skip_if` when nothing could be reserved.
    fn enter(&mut self, sid: &TaskSid, filter: Option<usize>, target: usize, now: Millis) {
        self.unindex_waiting(sid);
        let wf_target: Option<Target> = self
            .tasks
            .get(sid)
            .and_then(|t| t.workflow_sid.as_ref())
            .and_then(|w| self.programs.get(w))
            .and_then(|p| filter.and_then(|f| p.filters.get(f)))
            .and_then(|f| f.targets.get(target))
            .cloned();
        let Some(task) = self.tasks.get_mut(sid) else {
            return;
        };
        let queue_before = task.queue_sid.clone();
        if let Some(t) = &wf_target {
            task.queue_sid = Some(t.queue.clone());
        }
        task.priority = wf_target
            .as_ref()
            .and_then(|t| t.priority)
            .or(task.requested_priority)
            .unwrap_or(0);
        task.step = Some(Step {
            filter,
            target,
            deadline: wf_target
                .as_ref()
                .and_then(|t| t.timeout)
                .map(|s| now + (s as i64) * 1000),
        });
        task.declined.clear();
        let moved = queue_before.is_some() && queue_before != task.queue_sid;
        if task.queue_sid != queue_before || task.queue_entered.is_none() {
            task.queue_entered = Some(now);
        }
        task.updated = now;
        task.version += 1;
        let has_queue = task.queue_sid.is_some();
        self.touch(DocKey::Task(sid.clone()));
        self.index_waiting(sid);
        self.schedule_task(sid);
        if filter.is_some() {
            self.routing_event("workflow.target-matched", EventKind::Workflow, sid, now);
        }
        if has_queue {
            let event = if moved {
                "task-queue.moved"
            } else {
                "task-queue.entered"
            };
            self.routing_event(event, EventKind::TaskQueue, sid, now);
        }
        if self.try_route_task(sid, now) {
            return;
        }
        let Some(Target {
            skip_if: Some(skip_if),
            queue,
            ..
        }) = wf_target
        else {
            return;
        };
        if skip_if.matches(&Context::new(&self.presence(&queue))) {
            self.routing_event("workflow.skipped", EventKind::Workflow, sid, now);
            self.advance(sid, true, now);
        }
    }

    /// `{"workers": {"available": n, "unavailable": m, "WA…": k}}` over a queue's members.
    fn presence(&self, queue: &TaskQueueSid) -> Value {
        let mut available = 0u64;
        let mut unavailable = 0u64;
        let mut by_activity = serde_json::Map::new();
        for w in self.queue_members(queue) {
            if self.is_available(w) {
                available += 1;
            } else {
                unavailable += 1;
            }
            let entry = by_activity
                .entry(w.activity_sid.to_string())
                .or_insert(json!(0));
            *entry = json!(entry.as_u64().unwrap_or(0) + 1);
        }
        by_activity.insert("available".into(), json!(available));
        by_activity.insert("unavailable".into(), json!(unavailable));
        json!({ "workers": by_activity })
    }

    /// Moves a task past its current step: the next target of its filter, else (when the
    /// step was skipped) the later filters and the default filter, else (a timeout) the
    /// workflow timed out and the task is canceled.
    fn advance(&mut self, sid: &TaskSid, skipped: bool, now: Millis) {
        self.end_pending(sid, ReservationStatus::Canceled, now);
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        let (Some(step), Some(wf)) = (task.step.clone(), task.workflow_sid.clone()) else {
            return;
        };
        let Some(filter) = step.filter else {
            return;
        };
        let targets = self
            .programs
            .get(&wf)
            .and_then(|p| p.filters.get(filter))
            .map_or(0, |f| f.targets.len());
        if step.target + 1 < targets {
            return self.enter(sid, Some(filter), step.target + 1, now);
        }
        if skipped {
            let attrs = self.task_attrs.get(sid).cloned().unwrap_or(json!({}));
            return self.match_from(sid, &attrs, filter + 1, now);
        }
        self.routing_event("workflow.timeout", EventKind::Workflow, sid, now);
        self.cancel(sid, WORKFLOW_TIMEOUT_REASON, now);
    }

    /// Cancels a waiting task.
    pub(super) fn cancel(&mut self, sid: &TaskSid, reason: &str, now: Millis) {
        self.end_pending(sid, ReservationStatus::Canceled, now);
        self.unindex_waiting(sid);
        if let Some(t) = self.tasks.get_mut(sid) {
            t.status = TaskStatus::Canceled;
            t.reason = Some(reason.to_owned());
            t.updated = now;
            t.version += 1;
        }
        self.task_attrs.remove(sid);
        self.touch(DocKey::Task(sid.clone()));
        self.count("tasks_canceled");
        self.task_event("task.canceled", sid, now);
        self.schedule_purge(sid, now);
    }

    pub(super) fn on_reservation_deadline(
        &mut self,
        sid: &ReservationSid,
        at: Millis,
        now: Millis,
    ) {
        let Some(r) = self.reservations.get(sid) else {
            return;
        };
        if r.status != ReservationStatus::Pending || r.timeout_at != at {
            return;
        }
        let (task, worker) = (r.task_sid.clone(), r.worker_sid.clone());
        self.set_reservation_status(sid, ReservationStatus::Timeout, now);
        // Twilio moves a worker that let an offer time out to the timeout activity.
        let timeout_activity = self.workspace.timeout_activity_sid.clone();
        self.set_activity(&worker, &timeout_activity, now);
        self.after_decline(&task, &worker, now);
    }

    pub(super) fn on_step_deadline(&mut self, sid: &TaskSid, at: Millis, now: Millis) {
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        let due = task.step.as_ref().and_then(|s| s.deadline) == Some(at);
        if !due || !task.status.is_waiting() {
            return;
        }
        self.routing_event("task-queue.timeout", EventKind::TaskQueue, sid, now);
        self.advance(sid, false, now);
    }

    pub(super) fn on_ttl(&mut self, sid: &TaskSid, at: Millis, now: Millis) {
        let Some(task) = self.tasks.get(sid) else {
            return;
        };
        if !task.status.is_waiting() || task.expires_at() != at {
            return;
        }
        self.cancel(sid, TTL_REASON, now);
    }

    /// Changes a worker's activity (events, idle clock, pending-offer handling by the caller).
    pub(super) fn set_activity(&mut self, worker: &WorkerSid, activity: &ActivitySid, now: Millis) {
        let Some(w) = self.workers.get_mut(worker) else {
            return;
        };
        if &w.activity_sid == activity {
            return;
        }
        let previous = (w.activity_sid.clone(), w.status_changed);
        w.activity_sid = activity.clone();
        w.status_changed = now;
        w.updated = now;
        w.version += 1;
        let available = self.activities.get(activity).is_some_and(|a| a.available);
        if available && let Some(w) = self.workers.get_mut(worker) {
            w.idle_since = now;
        }
        self.touch(DocKey::Worker(worker.clone()));
        self.refresh_membership(worker);
        self.worker_event("worker.activity.update", worker, Some(previous), now);
    }
}

/// The worker a task is routed to directly (`RoutingTarget` WK…).
pub(super) fn direct_worker(task: &Task) -> Option<WorkerSid> {
    task.routing_target.as_deref()?.parse().ok()
}

/// Orders JSON values for `order_by`: numbers, then strings; NULL last.
fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}
