//! The routing objects as the WebSocket sends them (docs/protocol.md, "Routing"): a worker, a
//! reservation and its task, in a compact shape with ISO dates, built from the engine's state.

use serde_json::{Value, json};

use bytestring::ByteString;

use super::engine::{Engine, RosterChanges, capacity_percentage};
use super::model::*;
use crate::api::params::format_datetime;
use crate::ids::{ReservationSid, WorkerSid};
use crate::protocol::session_event;

fn iso(ms: Millis) -> String {
    format_datetime(ms.div_euclid(1000))
}

/// A worker with its activity and channels.
pub fn worker(engine: &Engine, sid: &WorkerSid) -> Value {
    let Some(w) = engine.workers.get(sid) else {
        return Value::Null;
    };
    let activity = engine.activities.get(&w.activity_sid);
    let mut named: Vec<(&str, &crate::ids::TaskChannelSid, &WorkerChannel)> = w
        .channels
        .iter()
        .filter_map(|(tc, wc)| Some((engine.channels.get(tc)?.unique_name.as_str(), tc, wc)))
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    let channels: Vec<Value> = named
        .into_iter()
        .map(|(unique_name, tc, wc)| {
            let assigned = engine.load_on(sid, tc);
            json!({
                "task_channel_sid": tc,
                "task_channel_unique_name": unique_name,
                "configured_capacity": wc.capacity,
                "assigned_tasks": assigned,
                "available": wc.available,
                "available_capacity_percentage": capacity_percentage(wc, assigned),
            })
        })
        .collect();
    json!({
        "sid": w.sid,
        "workspace_sid": engine.workspace.sid,
        "friendly_name": w.friendly_name,
        "activity_sid": w.activity_sid,
        "activity_name": activity.map(|a| a.friendly_name.as_str()),
        "available": activity.is_some_and(|a| a.available),
        "attributes": engine.worker_attributes(sid).cloned().unwrap_or(json!({})),
        "channels": channels,
        "date_status_changed": iso(w.status_changed),
    })
}

/// A task as a worker sees it.
pub fn task(engine: &Engine, task: &Task, now: Millis) -> Value {
    let queue = task.queue_sid.as_ref().and_then(|q| engine.queues.get(q));
    let channel = engine.channels.get(&task.task_channel_sid);
    json!({
        "sid": task.sid,
        "assignment_status": task.status.as_str(),
        "attributes": task.attributes_value(),
        "priority": task.priority,
        "age": (now - task.created).max(0) / 1000,
        "task_queue_sid": task.queue_sid,
        "task_queue_friendly_name": queue.map(|q| q.friendly_name.as_str()),
        "task_channel_sid": task.task_channel_sid,
        "task_channel_unique_name": channel.map(|c| c.unique_name.as_str()),
        "workflow_sid": task.workflow_sid,
        "reason": task.reason,
        "date_created": iso(task.created),
        "date_updated": iso(task.updated),
    })
}

/// A reservation with its task.
pub fn reservation(engine: &Engine, sid: &ReservationSid, now: Millis) -> Value {
    let Some(r) = engine.reservations.get(sid) else {
        return Value::Null;
    };
    let task = engine
        .tasks
        .get(&r.task_sid)
        .map_or(Value::Null, |t| self::task(engine, t, now));
    json!({
        "sid": r.sid,
        "reservation_status": r.status.as_str(),
        "task_sid": r.task_sid,
        "worker_sid": r.worker_sid,
        "workspace_sid": engine.workspace.sid,
        "timeout_at": (r.status == ReservationStatus::Pending).then(|| iso(r.timeout_at)),
        "timeout_ms": (r.status == ReservationStatus::Pending).then(|| (r.timeout_at - now).max(0)),
        "date_created": iso(r.created),
        "date_updated": iso(r.updated),
        "task": task,
    })
}

/// A worker's live reservations (pending, accepted, wrapping), oldest first.
pub fn live_reservations(engine: &Engine, worker: &WorkerSid, now: Millis) -> Vec<Value> {
    engine
        .reservations_of_worker(worker)
        .into_iter()
        .filter(|r| r.status.holds_capacity())
        .map(|r| reservation(engine, &r.sid, now))
        .collect()
}

/// The statistics a supervisor asks for (`statistics` command): the whole roster, and `seq`,
/// the number of the last `statistics` frame it includes.
pub fn statistics(engine: &Engine, now: Millis) -> Value {
    let mut stats = queue_statistics(engine, now, engine.roster_seq());
    stats["workers"] = Value::Array(workers_by_name(engine));
    stats
}

/// The workspace's and queues' statistics, numbered `seq`.
fn queue_statistics(engine: &Engine, now: Millis, seq: u64) -> Value {
    json!({
        "workspace_sid": engine.workspace.sid,
        "workspace": engine.workspace_stats(now, None),
        "queues": engine.all_queue_stats(now),
        "seq": seq,
    })
}

/// The `statistics` frame pushed to supervisors: workspace and queue statistics, and the
/// workers that changed since the previous frame (`workers_changed`, `workers_removed`), or
/// the whole roster (`workers`) when every worker changed. `None` when neither the statistics
/// (`stats_changed`) nor any worker did.
pub fn statistics_update(engine: &mut Engine, stats_changed: bool, now: Millis) -> Option<Value> {
    let (seq, roster) = engine.take_roster_changes();
    if !stats_changed && roster == RosterChanges::None {
        return None;
    }
    let mut frame = queue_statistics(engine, now, seq);
    match roster {
        RosterChanges::All => frame["workers"] = Value::Array(workers_by_name(engine)),
        RosterChanges::Some(sids) => {
            let (present, removed): (Vec<WorkerSid>, Vec<WorkerSid>) = sids
                .into_iter()
                .partition(|s| engine.workers.contains_key(s));
            frame["workers_changed"] = present.iter().map(|s| worker(engine, s)).collect();
            frame["workers_removed"] = json!(removed);
        }
        RosterChanges::None => {
            frame["workers_changed"] = json!([]);
            frame["workers_removed"] = json!([]);
        }
    }
    Some(frame)
}

fn workers_by_name(engine: &Engine) -> Vec<Value> {
    let mut workers: Vec<&Worker> = engine.workers.values().collect();
    workers.sort_by(|a, b| a.friendly_name.cmp(&b.friendly_name));
    workers
        .into_iter()
        .map(|w| worker(engine, &w.sid))
        .collect()
}

/// The `reservation_created` (an offer) or `reservation_updated` frame of a reservation event.
pub fn reservation_frame(
    engine: &Engine,
    event_type: &str,
    sid: &ReservationSid,
    now: Millis,
) -> ByteString {
    let name = if event_type == "reservation.created" {
        "reservation_created"
    } else {
        "reservation_updated"
    };
    let data = json!({ "event_type": event_type, "reservation": reservation(engine, sid, now) });
    session_event(name, data)
}

/// The `worker_updated` frame of a worker event.
pub fn worker_frame(engine: &Engine, event_type: &str, sid: &WorkerSid) -> ByteString {
    session_event(
        "worker_updated",
        json!({ "event_type": event_type, "worker": worker(engine, sid) }),
    )
}

/// The supervisors' `statistics` frame, when something changed (see [`statistics_update`]).
pub fn statistics_frame(
    engine: &mut Engine,
    stats_changed: bool,
    now: Millis,
) -> Option<ByteString> {
    statistics_update(engine, stats_changed, now).map(|data| session_event("statistics", data))
}

#[cfg(test)]
mod golden;
