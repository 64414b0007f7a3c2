//! TaskRouter resources as Twilio's JSON (`twilio-api.md` §7): ISO dates, `attributes` and
//! `configuration` as JSON text, absolute `url`s and `links` on our own host.

use serde_json::{Value, json};

use crate::api::params::format_datetime;
use crate::ids::*;
use crate::routing::engine::{Engine, capacity_percentage};
use crate::routing::model::*;
use crate::store::records::RoutingEventRecord;

/// ISO date of a millisecond time.
pub fn iso(ms: Millis) -> String {
    format_datetime(ms.div_euclid(1000))
}

fn ws_url(base: &str, e: &Engine) -> String {
    format!("{base}/Workspaces/{}", e.workspace.sid)
}

/// A workspace.
pub fn workspace(base: &str, e: &Engine) -> Value {
    let w = &e.workspace;
    let url = ws_url(base, e);
    let name = |a: &ActivitySid| e.activities.get(a).map(|a| a.friendly_name.clone());
    json!({
        "account_sid": w.account_sid,
        "sid": w.sid,
        "friendly_name": w.friendly_name,
        "event_callback_url": w.event_callback_url,
        "events_filter": w.events_filter,
        "multi_task_enabled": w.multi_task_enabled,
        "default_activity_sid": w.default_activity_sid,
        "default_activity_name": name(&w.default_activity_sid),
        "timeout_activity_sid": w.timeout_activity_sid,
        "timeout_activity_name": name(&w.timeout_activity_sid),
        "prioritize_queue_order": w.prioritize_queue_order.as_str(),
        "date_created": iso(w.created),
        "date_updated": iso(w.updated),
        "url": url,
        "links": {
            "activities": format!("{url}/Activities"),
            "statistics": format!("{url}/Statistics"),
            "real_time_statistics": format!("{url}/RealTimeStatistics"),
            "cumulative_statistics": format!("{url}/CumulativeStatistics"),
            "task_queues": format!("{url}/TaskQueues"),
            "tasks": format!("{url}/Tasks"),
            "workers": format!("{url}/Workers"),
            "workflows": format!("{url}/Workflows"),
            "task_channels": format!("{url}/TaskChannels"),
            "events": format!("{url}/Events"),
        },
    })
}

/// An activity.
pub fn activity(base: &str, e: &Engine, a: &Activity) -> Value {
    let ws = ws_url(base, e);
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": a.sid,
        "friendly_name": a.friendly_name,
        "available": a.available,
        "date_created": iso(a.created),
        "date_updated": iso(a.updated),
        "url": format!("{ws}/Activities/{}", a.sid),
        "links": {"workspace": ws},
    })
}

/// A task channel.
pub fn task_channel(base: &str, e: &Engine, c: &TaskChannel) -> Value {
    let ws = ws_url(base, e);
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": c.sid,
        "friendly_name": c.friendly_name,
        "unique_name": c.unique_name,
        "channel_optimized_routing": c.channel_optimized_routing,
        "date_created": iso(c.created),
        "date_updated": iso(c.updated),
        "url": format!("{ws}/TaskChannels/{}", c.sid),
        "links": {"workspace": ws},
    })
}

/// A worker.
pub fn worker(base: &str, e: &Engine, w: &Worker) -> Value {
    let ws = ws_url(base, e);
    let url = format!("{ws}/Workers/{}", w.sid);
    let activity = e.activities.get(&w.activity_sid);
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": w.sid,
        "friendly_name": w.friendly_name,
        "activity_sid": w.activity_sid,
        "activity_name": activity.map(|a| a.friendly_name.as_str()),
        "available": activity.is_some_and(|a| a.available),
        "attributes": w.attributes,
        "date_created": iso(w.created),
        "date_updated": iso(w.updated),
        "date_status_changed": iso(w.status_changed),
        "url": url,
        "links": {
            "channels": format!("{url}/Channels"),
            "worker_channels": format!("{url}/Channels"),
            "reservations": format!("{url}/Reservations"),
            "statistics": format!("{url}/Statistics"),
            "activity": format!("{ws}/Activities/{}", w.activity_sid),
            "workspace": ws,
        },
    })
}

/// A worker's channel.
pub fn worker_channel(base: &str, e: &Engine, w: &Worker, wc: &WorkerChannel) -> Value {
    let ws = ws_url(base, e);
    let assigned = e.load_on(&w.sid, &wc.task_channel_sid);
    let unique = e
        .channels
        .get(&wc.task_channel_sid)
        .map(|c| c.unique_name.as_str());
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "worker_sid": w.sid,
        "sid": wc.sid,
        "task_channel_sid": wc.task_channel_sid,
        "task_channel_unique_name": unique,
        "configured_capacity": wc.capacity,
        "assigned_tasks": assigned,
        "available": wc.available,
        "available_capacity_percentage": capacity_percentage(wc, assigned),
        "date_created": iso(wc.created),
        "date_updated": iso(wc.updated),
        "url": format!("{ws}/Workers/{}/Channels/{}", w.sid, unique.unwrap_or_default()),
    })
}

/// A task queue.
pub fn queue(base: &str, e: &Engine, q: &TaskQueue) -> Value {
    let ws = ws_url(base, e);
    let url = format!("{ws}/TaskQueues/{}", q.sid);
    let name = |a: &Option<ActivitySid>| {
        a.as_ref()
            .and_then(|a| e.activities.get(a))
            .map(|a| a.friendly_name.clone())
    };
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": q.sid,
        "friendly_name": q.friendly_name,
        "target_workers": q.target_workers,
        "max_reserved_workers": q.max_reserved_workers,
        "task_order": q.task_order.as_str(),
        "reservation_activity_sid": q.reservation_activity_sid,
        "reservation_activity_name": name(&q.reservation_activity_sid),
        "assignment_activity_sid": q.assignment_activity_sid,
        "assignment_activity_name": name(&q.assignment_activity_sid),
        "event_callback_url": e.workspace.event_callback_url,
        "date_created": iso(q.created),
        "date_updated": iso(q.updated),
        "url": url,
        "links": {
            "statistics": format!("{url}/Statistics"),
            "real_time_statistics": format!("{url}/RealTimeStatistics"),
            "cumulative_statistics": format!("{url}/CumulativeStatistics"),
            "list_statistics": format!("{ws}/TaskQueues/Statistics"),
            "workspace": ws,
        },
    })
}

/// A workflow.
pub fn workflow(base: &str, e: &Engine, w: &Workflow) -> Value {
    let ws = ws_url(base, e);
    let url = format!("{ws}/Workflows/{}", w.sid);
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": w.sid,
        "friendly_name": w.friendly_name,
        "configuration": w.configuration,
        "assignment_callback_url": w.assignment_callback_url,
        "fallback_assignment_callback_url": w.fallback_assignment_callback_url,
        "task_reservation_timeout": w.task_reservation_timeout,
        "document_content_type": "application/json",
        "date_created": iso(w.created),
        "date_updated": iso(w.updated),
        "url": url,
        "links": {
            "statistics": format!("{url}/Statistics"),
            "real_time_statistics": format!("{url}/RealTimeStatistics"),
            "cumulative_statistics": format!("{url}/CumulativeStatistics"),
            "workspace": ws,
        },
    })
}

/// A task.
pub fn task(base: &str, e: &Engine, t: &Task, now: Millis) -> Value {
    let ws = ws_url(base, e);
    let url = format!("{ws}/Tasks/{}", t.sid);
    let queue = t.queue_sid.as_ref().and_then(|q| e.queues.get(q));
    let workflow = t.workflow_sid.as_ref().and_then(|w| e.workflows.get(w));
    let channel = e.channels.get(&t.task_channel_sid);
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": t.sid,
        "age": (now - t.created).max(0) / 1000,
        "assignment_status": t.status.as_str(),
        "attributes": t.attributes,
        "addons": "{}",
        "priority": t.priority,
        "reason": t.reason,
        "timeout": t.timeout,
        "task_queue_sid": t.queue_sid,
        "task_queue_friendly_name": queue.map(|q| q.friendly_name.as_str()),
        "task_channel_sid": t.task_channel_sid,
        "task_channel_unique_name": channel.map(|c| c.unique_name.as_str()),
        "workflow_sid": t.workflow_sid,
        "workflow_friendly_name": workflow.map(|w| w.friendly_name.as_str()),
        "routing_target": t.routing_target,
        "ignore_capacity": t.ignore_capacity,
        "task_queue_entered_date": t.queue_entered.map(iso),
        "virtual_start_time": iso(t.virtual_start),
        "date_created": iso(t.created),
        "date_updated": iso(t.updated),
        "url": url,
        "links": {
            "reservations": format!("{url}/Reservations"),
            "task_queue": t.queue_sid.as_ref().map(|q| format!("{ws}/TaskQueues/{q}")),
            "workflow": t.workflow_sid.as_ref().map(|w| format!("{ws}/Workflows/{w}")),
            "workspace": ws,
        },
    })
}

/// A reservation; `worker_view`: under `/Workers/{WK}/Reservations`.
pub fn reservation(base: &str, e: &Engine, r: &Reservation, worker_view: bool) -> Value {
    let ws = ws_url(base, e);
    let url = if worker_view {
        format!("{ws}/Workers/{}/Reservations/{}", r.worker_sid, r.sid)
    } else {
        format!("{ws}/Tasks/{}/Reservations/{}", r.task_sid, r.sid)
    };
    json!({
        "account_sid": e.workspace.account_sid,
        "workspace_sid": e.workspace.sid,
        "sid": r.sid,
        "reservation_status": r.status.as_str(),
        "task_sid": r.task_sid,
        "worker_sid": r.worker_sid,
        "worker_name": e.workers.get(&r.worker_sid).map(|w| w.friendly_name.as_str()),
        "date_created": iso(r.created),
        "date_updated": iso(r.updated),
        "url": url,
        "links": {
            "task": format!("{ws}/Tasks/{}", r.task_sid),
            "worker": format!("{ws}/Workers/{}", r.worker_sid),
            "workspace": ws,
        },
    })
}

/// A stored event.
pub fn event(base: &str, e: &RoutingEventRecord) -> Value {
    let ws = format!("{base}/Workspaces/{}", e.workspace_sid);
    let resource_url = match e.resource_type.as_str() {
        "task" => format!("{ws}/Tasks/{}", e.resource_sid),
        "worker" => format!("{ws}/Workers/{}", e.resource_sid),
        "taskqueue" => format!("{ws}/TaskQueues/{}", e.resource_sid),
        "workflow" => format!("{ws}/Workflows/{}", e.resource_sid),
        "activity" => format!("{ws}/Activities/{}", e.resource_sid),
        "taskchannel" => format!("{ws}/TaskChannels/{}", e.resource_sid),
        "reservation" => e.data.get("task_sid").map_or(ws.clone(), |t| {
            format!("{ws}/Tasks/{t}/Reservations/{}", e.resource_sid)
        }),
        _ => ws.clone(),
    };
    json!({
        "account_sid": e.account_sid,
        "workspace_sid": e.workspace_sid,
        "sid": e.sid,
        "actor_sid": e.account_sid,
        "actor_type": "account",
        "actor_url": Value::Null,
        "description": e.description,
        "event_data": e.data,
        "event_date": iso(e.date_ms),
        "event_date_ms": e.date_ms,
        "event_type": e.event_type,
        "resource_sid": e.resource_sid,
        "resource_type": e.resource_type,
        "resource_url": resource_url,
        "source": "twilio",
        "source_ip_address": Value::Null,
        "url": format!("{ws}/Events/{}", e.sid),
    })
}
