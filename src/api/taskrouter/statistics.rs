//! Statistics resources: real-time (computed from the router's live state), cumulative
//! (counters since the router started) and the combined `/Statistics` views, for the
//! workspace, its queues and its workers.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use super::{TrCtx, list_reply, path, sid};
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{TaskQueueSid, WorkerSid};
use crate::routing::engine::RoutingError;

fn ok(v: Value) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(v))
}

/// `GET /RealTimeStatistics` (filter `TaskChannel`)
pub async fn workspace_real_time(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let channel = q.get("TaskChannel").map(str::to_owned);
    let url = format!("{}/RealTimeStatistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, now| {
            let channel = match channel {
                Some(key) => Some(
                    e.channel_by_key(&key)
                        .map(|c| c.sid.clone())
                        .ok_or_else(|| RoutingError::NotFound(format!("/TaskChannels/{key}")))?,
                ),
                None => None,
            };
            let mut v =
                serde_json::to_value(e.workspace_stats(now, channel.as_ref())).unwrap_or_default();
            v["account_sid"] = json!(e.workspace.account_sid);
            v["workspace_sid"] = json!(e.workspace.sid);
            v["url"] = json!(url);
            Ok(v)
        })
        .await?)
}

/// `GET /CumulativeStatistics` (also `/Workers/CumulativeStatistics`)
pub async fn workspace_cumulative(ctx: TrCtx) -> Result<HttpResponse, ApiError> {
    let url = format!("{}/CumulativeStatistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, _| {
            let mut v = e.cumulative();
            v["account_sid"] = json!(e.workspace.account_sid);
            v["workspace_sid"] = json!(e.workspace.sid);
            v["url"] = json!(url);
            Ok(v)
        })
        .await?)
}

/// `GET /Statistics`: real-time and cumulative together.
pub async fn workspace_statistics(ctx: TrCtx) -> Result<HttpResponse, ApiError> {
    let url = format!("{}/Statistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, now| {
            Ok(json!({
                "account_sid": e.workspace.account_sid,
                "workspace_sid": e.workspace.sid,
                "realtime": e.workspace_stats(now, None),
                "cumulative": e.cumulative(),
                "url": url,
            }))
        })
        .await?)
}

fn queue_sid(raw: &str) -> Result<TaskQueueSid, RoutingError> {
    sid(raw, "TaskQueues")
}

/// `GET /TaskQueues/{WQ}/RealTimeStatistics`
pub async fn queue_real_time(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let url = format!("{}/TaskQueues/{raw}/RealTimeStatistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, now| {
            let stats = e
                .queue_stats(&queue_sid(&raw)?, now)
                .ok_or_else(|| RoutingError::NotFound(format!("/TaskQueues/{raw}")))?;
            let mut v = serde_json::to_value(stats).unwrap_or_default();
            v["account_sid"] = json!(e.workspace.account_sid);
            v["workspace_sid"] = json!(e.workspace.sid);
            v["url"] = json!(url);
            Ok(v)
        })
        .await?)
}

/// `GET /TaskQueues/{WQ}/CumulativeStatistics`: tasks of the queue by outcome.
pub async fn queue_cumulative(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let url = format!("{}/TaskQueues/{raw}/CumulativeStatistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, _| {
            let sid = queue_sid(&raw)?;
            if !e.queues.contains_key(&sid) {
                return Err(RoutingError::NotFound(format!("/TaskQueues/{raw}")));
            }
            let tasks: Vec<_> = e
                .tasks
                .values()
                .filter(|t| t.queue_sid.as_ref() == Some(&sid))
                .collect();
            let count = |s: crate::routing::model::TaskStatus| {
                tasks.iter().filter(|t| t.status == s).count()
            };
            use crate::routing::model::TaskStatus::*;
            Ok(json!({
                "account_sid": e.workspace.account_sid,
                "workspace_sid": e.workspace.sid,
                "task_queue_sid": sid,
                "tasks_entered": tasks.len(),
                "tasks_canceled": count(Canceled),
                "tasks_completed": count(Completed),
                "tasks_assigned": count(Assigned) + count(Wrapping) + count(Completed),
                "url": url,
            }))
        })
        .await?)
}

/// `GET /TaskQueues/{WQ}/Statistics`
pub async fn queue_statistics(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let url = format!("{}/TaskQueues/{raw}/Statistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, now| {
            let stats = e
                .queue_stats(&queue_sid(&raw)?, now)
                .ok_or_else(|| RoutingError::NotFound(format!("/TaskQueues/{raw}")))?;
            Ok(json!({
                "account_sid": e.workspace.account_sid,
                "workspace_sid": e.workspace.sid,
                "task_queue_sid": stats.task_queue_sid,
                "realtime": stats,
                "url": url,
            }))
        })
        .await?)
}

/// `GET /TaskQueues/Statistics` (and `/TaskQueues/RealTimeStatistics`): every queue.
pub async fn queues_list(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let url = format!("{}/TaskQueues/Statistics", ctx.ws_url());
    let items = ctx
        .exec(move |e, now| {
            Ok(e.all_queue_stats(now)
                .into_iter()
                .map(|s| {
                    json!({
                        "account_sid": e.workspace.account_sid,
                        "workspace_sid": e.workspace.sid,
                        "task_queue_sid": s.task_queue_sid,
                        "realtime": s,
                    })
                })
                .collect())
        })
        .await?;
    list_reply("task_queues_statistics", items, &q, &url, &[])
}

/// `GET /Workers/RealTimeStatistics`
pub async fn workers_real_time(ctx: TrCtx) -> Result<HttpResponse, ApiError> {
    let url = format!("{}/Workers/RealTimeStatistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, _| {
            let mut v = e.workers_stats();
            v["account_sid"] = json!(e.workspace.account_sid);
            v["workspace_sid"] = json!(e.workspace.sid);
            v["url"] = json!(url);
            Ok(v)
        })
        .await?)
}

/// `GET /Workers/Statistics`
pub async fn workers_statistics(ctx: TrCtx) -> Result<HttpResponse, ApiError> {
    let url = format!("{}/Workers/Statistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, _| {
            Ok(json!({
                "account_sid": e.workspace.account_sid,
                "workspace_sid": e.workspace.sid,
                "realtime": e.workers_stats(),
                "cumulative": e.cumulative(),
                "url": url,
            }))
        })
        .await?)
}

/// `GET /Workers/{WK}/Statistics`: the worker's reservations by outcome and its load.
pub async fn worker_statistics(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let url = format!("{}/Workers/{raw}/Statistics", ctx.ws_url());
    ok(ctx
        .exec(move |e, _| {
            let worker: WorkerSid = sid(&raw, "Workers")?;
            if !e.workers.contains_key(&worker) {
                return Err(RoutingError::NotFound(format!("/Workers/{raw}")));
            }
            let reservations = e.reservations_of_worker(&worker);
            let count = |s: crate::routing::model::ReservationStatus| {
                reservations.iter().filter(|r| r.status == s).count()
            };
            use crate::routing::model::ReservationStatus::*;
            Ok(json!({
                "account_sid": e.workspace.account_sid,
                "workspace_sid": e.workspace.sid,
                "worker_sid": worker,
                "cumulative": {
                    "reservations_created": reservations.len(),
                    "reservations_accepted": count(Accepted) + count(Wrapping) + count(Completed),
                    "reservations_rejected": count(Rejected),
                    "reservations_timed_out": count(Timeout),
                    "reservations_canceled": count(Canceled),
                    "reservations_rescinded": count(Rescinded),
                },
                "url": url,
            }))
        })
        .await?)
}
