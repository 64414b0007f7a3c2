//! The routing objects as the WebSocket sends them (docs/protocol.md, "Routing"): a worker, a
//! reservation and its task, in a compact shape with ISO dates, built from the engine's state.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use bytestring::ByteString;

use super::engine::{Engine, RosterChanges, capacity_percentage};
use super::model::*;
use crate::api::params::format_datetime;
use crate::ids::{
    ReservationSid, TaskChannelSid, TaskQueueSid, TaskSid, WorkerSid, WorkflowSid, WorkspaceSid,
};
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

/// A task as a worker sees it. Fields are in the order `json!` objects have (sorted), so the
/// frames read the same whichever way they are built.
#[derive(Serialize)]
pub struct TaskView<'a> {
    age: i64,
    assignment_status: &'a str,
    attributes: Attributes<'a>,
    date_created: String,
    date_updated: String,
    priority: i64,
    reason: Option<&'a str>,
    sid: &'a TaskSid,
    task_channel_sid: &'a TaskChannelSid,
    task_channel_unique_name: Option<&'a str>,
    task_queue_friendly_name: Option<&'a str>,
    task_queue_sid: Option<&'a TaskQueueSid>,
    workflow_sid: Option<&'a WorkflowSid>,
}

/// Attribute text as it is stored, copied into the frame without being parsed into a tree
/// and written out again (offers are the router's hottest frames); anything but a JSON object
/// is written `{}`, as [`parse_attributes`] reads it.
struct Attributes<'a>(&'a str);

impl Serialize for Attributes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(self.0) {
            Ok(raw) if raw.get().starts_with('{') => raw.serialize(serializer),
            _ => serde_json::Map::new().serialize(serializer),
        }
    }
}

/// The view of `task` at `now`.
pub fn task<'a>(engine: &'a Engine, task: &'a Task, now: Millis) -> TaskView<'a> {
    let queue = task.queue_sid.as_ref().and_then(|q| engine.queues.get(q));
    let channel = engine.channels.get(&task.task_channel_sid);
    TaskView {
        age: (now - task.created).max(0) / 1000,
        assignment_status: task.status.as_str(),
        attributes: Attributes(&task.attributes),
        date_created: iso(task.created),
        date_updated: iso(task.updated),
        priority: task.priority,
        reason: task.reason.as_deref(),
        sid: &task.sid,
        task_channel_sid: &task.task_channel_sid,
        task_channel_unique_name: channel.map(|c| c.unique_name.as_str()),
        task_queue_friendly_name: queue.map(|q| q.friendly_name.as_str()),
        task_queue_sid: task.queue_sid.as_ref(),
        workflow_sid: task.workflow_sid.as_ref(),
    }
}

/// A reservation with its task (fields sorted, as [`TaskView`]'s).
#[derive(Serialize)]
pub struct ReservationView<'a> {
    date_created: String,
    date_updated: String,
    reservation_status: &'a str,
    sid: &'a ReservationSid,
    task: Option<TaskView<'a>>,
    task_sid: &'a TaskSid,
    timeout_at: Option<String>,
    timeout_ms: Option<i64>,
    worker_sid: &'a WorkerSid,
    workspace_sid: &'a WorkspaceSid,
}

/// The view of reservation `sid` at `now`, if it exists.
pub fn reservation<'a>(
    engine: &'a Engine,
    sid: &ReservationSid,
    now: Millis,
) -> Option<ReservationView<'a>> {
    let r = engine.reservations.get(sid)?;
    let pending = r.status == ReservationStatus::Pending;
    Some(ReservationView {
        date_created: iso(r.created),
        date_updated: iso(r.updated),
        reservation_status: r.status.as_str(),
        sid: &r.sid,
        task: engine.tasks.get(&r.task_sid).map(|t| task(engine, t, now)),
        task_sid: &r.task_sid,
        timeout_at: pending.then(|| iso(r.timeout_at)),
        timeout_ms: pending.then(|| (r.timeout_at - now).max(0)),
        worker_sid: &r.worker_sid,
        workspace_sid: &engine.workspace.sid,
    })
}

/// A worker's live reservations (pending, accepted, wrapping), oldest first.
pub fn live_reservations<'a>(
    engine: &'a Engine,
    worker: &WorkerSid,
    now: Millis,
) -> Vec<ReservationView<'a>> {
    engine
        .reservations_of_worker(worker)
        .into_iter()
        .filter(|r| r.status.holds_capacity())
        .filter_map(|r| reservation(engine, &r.sid, now))
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
    #[derive(Serialize)]
    struct Data<'a> {
        event_type: &'a str,
        reservation: Option<ReservationView<'a>>,
    }
    let data = Data {
        event_type,
        reservation: reservation(engine, sid, now),
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(text: &str) -> Value {
        serde_json::to_value(Attributes(text)).expect("serializes")
    }

    #[test]
    fn attributes_are_copied_as_stored_and_anything_but_an_object_is_empty() {
        assert_eq!(
            serde_json::to_string(&Attributes(r#" {"b": 1, "a": {"c": [2]}}"#)).expect("json"),
            r#"{"b": 1, "a": {"c": [2]}}"#
        );
        for text in [r#"{"type":"chat"}"#, " { } "] {
            assert_eq!(attributes(text), parse_attributes(text), "{text}");
        }
        for text in ["", "[1]", "3", "\"x\"", "{", "{\"a\":1} trailing", "null"] {
            assert_eq!(attributes(text), json!({}), "{text:?}");
            assert_eq!(parse_attributes(text), json!({}), "{text:?}");
        }
    }
}
