//! Real-time statistics, computed from the live state on demand (workspace, queues, workers)
//! in the shape of TaskRouter's `RealTimeStatistics` resources, plus the cumulative counters
//! kept since the router started.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::Engine;
use super::ops::tally;
use crate::ids::*;
use crate::routing::model::*;

/// Workspace real-time statistics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkspaceStats {
    /// Workers per activity.
    pub activity_statistics: Vec<Value>,
    /// Age in seconds of the oldest waiting task.
    pub longest_task_waiting_age: i64,
    /// Its SID.
    pub longest_task_waiting_sid: Option<TaskSid>,
    /// Live tasks by priority.
    pub tasks_by_priority: BTreeMap<String, u64>,
    /// Tasks by status.
    pub tasks_by_status: BTreeMap<&'static str, u64>,
    /// Live tasks.
    pub total_tasks: u64,
    /// Workers.
    pub total_workers: u64,
}

/// Queue real-time statistics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueStats {
    /// `WQ…`
    pub task_queue_sid: TaskQueueSid,
    /// Name.
    pub friendly_name: String,
    /// Members per activity.
    pub activity_statistics: Vec<Value>,
    /// Age in seconds of the oldest waiting task.
    pub longest_task_waiting_age: i64,
    /// Its SID.
    pub longest_task_waiting_sid: Option<TaskSid>,
    /// Waiting tasks by priority.
    pub tasks_by_priority: BTreeMap<String, u64>,
    /// Live tasks of the queue by status.
    pub tasks_by_status: BTreeMap<&'static str, u64>,
    /// Members in an available activity.
    pub total_available_workers: u64,
    /// Members.
    pub total_eligible_workers: u64,
    /// Live tasks of the queue.
    pub total_tasks: u64,
}

impl Engine {
    fn activity_statistics<'a>(&self, workers: impl Iterator<Item = &'a Worker>) -> Vec<Value> {
        let counts = tally(workers.map(|w| w.activity_sid.clone()));
        let mut activities: Vec<&Activity> = self.activities.values().collect();
        activities.sort_by(|a, b| a.friendly_name.cmp(&b.friendly_name));
        activities
            .into_iter()
            .map(|a| {
                json!({
                    "sid": a.sid,
                    "friendly_name": a.friendly_name,
                    "workers": counts.get(&a.sid).copied().unwrap_or(0),
                })
            })
            .collect()
    }

    fn by_status<'a>(tasks: impl Iterator<Item = &'a Task>) -> BTreeMap<&'static str, u64> {
        let counts = tally(tasks.map(|t| t.status.as_str()));
        TaskStatus::ALL
            .iter()
            .map(|s| (s.as_str(), counts.get(s.as_str()).copied().unwrap_or(0)))
            .collect()
    }

    fn oldest_waiting<'a>(
        tasks: impl Iterator<Item = &'a Task>,
        now: Millis,
    ) -> (i64, Option<TaskSid>) {
        tasks
            .filter(|t| t.status.is_waiting())
            .min_by_key(|t| (t.created, t.sid.clone()))
            .map_or((0, None), |t| {
                ((now - t.created).max(0) / 1000, Some(t.sid.clone()))
            })
    }

    /// The workspace's real-time statistics (`task_channel`: only tasks of that channel).
    pub fn workspace_stats(
        &self,
        now: Millis,
        task_channel: Option<&TaskChannelSid>,
    ) -> WorkspaceStats {
        let tasks = || {
            self.tasks
                .values()
                .filter(move |t| task_channel.is_none_or(|c| &t.task_channel_sid == c))
        };
        let live = || tasks().filter(|t| !t.status.is_final());
        let (age, sid) = Self::oldest_waiting(tasks(), now);
        WorkspaceStats {
            activity_statistics: self.activity_statistics(self.workers.values()),
            longest_task_waiting_age: age,
            longest_task_waiting_sid: sid,
            tasks_by_priority: tally(live().map(|t| t.priority.to_string())),
            tasks_by_status: Self::by_status(tasks()),
            total_tasks: live().count() as u64,
            total_workers: self.workers.len() as u64,
        }
    }

    /// A queue's real-time statistics.
    pub fn queue_stats(&self, queue: &TaskQueueSid, now: Millis) -> Option<QueueStats> {
        let tasks: Vec<&Task> = self
            .tasks
            .values()
            .filter(|t| t.queue_sid.as_ref() == Some(queue) && !t.status.is_final())
            .collect();
        self.stats_of(queue, &tasks, now)
    }

    fn stats_of(&self, queue: &TaskQueueSid, tasks: &[&Task], now: Millis) -> Option<QueueStats> {
        let q = self.queues.get(queue)?;
        let tasks = || tasks.iter().copied();
        let (age, sid) = Self::oldest_waiting(tasks(), now);
        Some(QueueStats {
            task_queue_sid: queue.clone(),
            friendly_name: q.friendly_name.clone(),
            activity_statistics: self.activity_statistics(self.queue_members(queue)),
            longest_task_waiting_age: age,
            longest_task_waiting_sid: sid,
            tasks_by_priority: tally(
                tasks()
                    .filter(|t| t.status.is_waiting())
                    .map(|t| t.priority.to_string()),
            ),
            tasks_by_status: Self::by_status(tasks()),
            total_available_workers: self
                .queue_members(queue)
                .filter(|w| self.is_available(w))
                .count() as u64,
            total_eligible_workers: self.queue_members(queue).count() as u64,
            total_tasks: tasks().count() as u64,
        })
    }

    /// Every queue's statistics, by name (one pass over the tasks).
    pub fn all_queue_stats(&self, now: Millis) -> Vec<QueueStats> {
        let mut by_queue: std::collections::HashMap<&TaskQueueSid, Vec<&Task>> =
            std::collections::HashMap::new();
        for t in self.tasks.values().filter(|t| !t.status.is_final()) {
            if let Some(q) = &t.queue_sid {
                by_queue.entry(q).or_default().push(t);
            }
        }
        let mut out: Vec<QueueStats> = self
            .queues
            .keys()
            .filter_map(|q| {
                let tasks = by_queue.get(q).map_or(&[][..], Vec::as_slice);
                self.stats_of(q, tasks, now)
            })
            .collect();
        out.sort_by(|a, b| a.friendly_name.cmp(&b.friendly_name));
        out
    }

    /// `Workers/RealTimeStatistics`: workers per activity.
    pub fn workers_stats(&self) -> Value {
        json!({
            "activity_statistics": self.activity_statistics(self.workers.values()),
            "total_workers": self.workers.len(),
        })
    }

    /// Cumulative counters since the router started.
    pub fn cumulative(&self) -> Value {
        let get = |k: &str| self.counters.get(k).copied().unwrap_or(0);
        json!({
            "tasks_created": get("tasks_created"),
            "tasks_canceled": get("tasks_canceled"),
            "tasks_completed": get("tasks_completed"),
            "tasks_assigned": get("tasks_assigned"),
            "reservations_created": get("reservations_created"),
            "reservations_accepted": get("reservation.accepted"),
            "reservations_rejected": get("reservation.rejected"),
            "reservations_timed_out": get("reservation.timeout"),
            "reservations_canceled": get("reservation.canceled"),
            "reservations_rescinded": get("reservation.rescinded"),
        })
    }
}
