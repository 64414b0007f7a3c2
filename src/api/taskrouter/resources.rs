//! The configuration resources of a workspace: Activities, TaskChannels, TaskQueues and
//! Workflows (create, fetch, update, list with filters, delete).

use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use super::{TrCtx, list_reply, parse_with, path, render, sid, sid_param};
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{ActivitySid, TaskQueueSid, WorkerSid, WorkflowSid};
use crate::routing::engine::RoutingError;
use crate::routing::engine::ops::{QueueSpec, WorkflowSpec};
use crate::routing::expr::{self, Context};
use crate::routing::model::{QueueOrder, parse_attributes};

fn ok(v: Value) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(v))
}

fn created(v: Value) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(v))
}

// ---- Activities ----------------------------------------------------------------------

/// `POST /Activities`
pub async fn create_activity(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let name = p.required("FriendlyName", 64)?;
    let available = p.boolean("Available")?.unwrap_or(false);
    let base = ctx.base.clone();
    created(
        ctx.exec(move |e, now| {
            let sid = e.create_activity(name, available, now)?;
            Ok(render::activity(&base, e, &e.activities[&sid]))
        })
        .await?,
    )
}

/// `GET /Activities/{WA}`
pub async fn fetch_activity(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, _| {
            let sid: ActivitySid = sid(&raw, "Activities")?;
            let a = e
                .activities
                .get(&sid)
                .ok_or_else(|| RoutingError::NotFound(format!("/Activities/{raw}")))?;
            Ok(render::activity(&base, e, a))
        })
        .await?)
}

/// `POST /Activities/{WA}` (only `FriendlyName`; `Available` is immutable)
pub async fn update_activity(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    if p.has("Available") {
        return Err(ApiError::invalid(
            "Available",
            "cannot be changed after creation",
        ));
    }
    let raw = path(&req, "sid");
    let name = p.text("FriendlyName", 64)?;
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, now| {
            let sid: ActivitySid = sid(&raw, "Activities")?;
            e.update_activity(&sid, name, now)?;
            Ok(render::activity(&base, e, &e.activities[&sid]))
        })
        .await?)
}

/// `DELETE /Activities/{WA}`
pub async fn delete_activity(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    ctx.exec(move |e, now| e.delete_activity(&sid(&raw, "Activities")?, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Activities` (filters `FriendlyName`, `Available`)
pub async fn list_activities(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let name = q.get("FriendlyName").map(str::to_owned);
    let available = q.boolean("Available")?;
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let mut list: Vec<_> = e
                .activities
                .values()
                .filter(|a| name.as_deref().is_none_or(|n| a.friendly_name == n))
                .filter(|a| available.is_none_or(|v| a.available == v))
                .collect();
            list.sort_by_key(|a| (a.created, a.sid.clone()));
            Ok(list
                .into_iter()
                .map(|a| render::activity(&base, e, a))
                .collect())
        })
        .await?;
    let url = format!("{}/Activities", ctx.ws_url());
    list_reply(
        "activities",
        items,
        &q,
        &url,
        &["FriendlyName", "Available"],
    )
}

// ---- TaskChannels --------------------------------------------------------------------

/// `POST /TaskChannels`
pub async fn create_channel(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let name = p.required("FriendlyName", 64)?;
    let unique = p.required("UniqueName", 64)?;
    let optimized = p.boolean("ChannelOptimizedRouting")?;
    let base = ctx.base.clone();
    created(
        ctx.exec(move |e, now| {
            let sid = e.create_task_channel(name, unique, optimized, now)?;
            Ok(render::task_channel(&base, e, &e.channels[&sid]))
        })
        .await?,
    )
}

fn channel_sid(
    e: &crate::routing::engine::Engine,
    raw: &str,
) -> Result<crate::ids::TaskChannelSid, RoutingError> {
    e.channel_by_key(raw)
        .map(|c| c.sid.clone())
        .ok_or_else(|| RoutingError::NotFound(format!("/TaskChannels/{raw}")))
}

/// `GET /TaskChannels/{TC or unique name}`
pub async fn fetch_channel(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, _| {
            let sid = channel_sid(e, &raw)?;
            Ok(render::task_channel(&base, e, &e.channels[&sid]))
        })
        .await?)
}

/// `POST /TaskChannels/{TC}`
pub async fn update_channel(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let name = p.text("FriendlyName", 64)?;
    let optimized = p.boolean("ChannelOptimizedRouting")?;
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, now| {
            let sid = channel_sid(e, &raw)?;
            e.update_task_channel(&sid, name, optimized, now)?;
            Ok(render::task_channel(&base, e, &e.channels[&sid]))
        })
        .await?)
}

/// `DELETE /TaskChannels/{TC}`
pub async fn delete_channel(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    ctx.exec(move |e, now| {
        let sid = channel_sid(e, &raw)?;
        e.delete_task_channel(&sid, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /TaskChannels`
pub async fn list_channels(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let mut list: Vec<_> = e.channels.values().collect();
            list.sort_by_key(|c| (c.created, c.sid.clone()));
            Ok(list
                .into_iter()
                .map(|c| render::task_channel(&base, e, c))
                .collect())
        })
        .await?;
    let url = format!("{}/TaskChannels", ctx.ws_url());
    list_reply("channels", items, &q, &url, &[])
}

// ---- TaskQueues ----------------------------------------------------------------------

fn queue_spec(p: &Params) -> Result<QueueSpec, ApiError> {
    let max = match p.unsigned("MaxReservedWorkers")? {
        Some(n) if !(1..=50).contains(&n) => {
            return Err(ApiError::invalid(
                "MaxReservedWorkers",
                "must be between 1 and 50",
            ));
        }
        n => n.map(|n| n as u32),
    };
    Ok(QueueSpec {
        friendly_name: p.text("FriendlyName", 64)?,
        target_workers: p.text("TargetWorkers", 4096)?,
        max_reserved_workers: max,
        task_order: parse_with(p, "TaskOrder", QueueOrder::parse, "FIFO or LIFO")?,
        reservation_activity_sid: sid_param(p, "ReservationActivitySid")?,
        assignment_activity_sid: sid_param(p, "AssignmentActivitySid")?,
    })
}

/// `POST /TaskQueues`
pub async fn create_queue(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    p.required("FriendlyName", 64)?;
    let spec = queue_spec(&p)?;
    let base = ctx.base.clone();
    created(
        ctx.exec(move |e, now| {
            let sid = e.create_queue(spec, now)?;
            Ok(render::queue(&base, e, &e.queues[&sid]))
        })
        .await?,
    )
}

/// `GET /TaskQueues/{WQ}`
pub async fn fetch_queue(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, _| {
            let sid: TaskQueueSid = sid(&raw, "TaskQueues")?;
            let q = e
                .queues
                .get(&sid)
                .ok_or_else(|| RoutingError::NotFound(format!("/TaskQueues/{raw}")))?;
            Ok(render::queue(&base, e, q))
        })
        .await?)
}

/// `POST /TaskQueues/{WQ}`
pub async fn update_queue(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let spec = queue_spec(&p)?;
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, now| {
            let sid: TaskQueueSid = sid(&raw, "TaskQueues")?;
            e.update_queue(&sid, spec, now)?;
            Ok(render::queue(&base, e, &e.queues[&sid]))
        })
        .await?)
}

/// `DELETE /TaskQueues/{WQ}`
pub async fn delete_queue(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    ctx.exec(move |e, now| e.delete_queue(&sid(&raw, "TaskQueues")?, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /TaskQueues` (filters `FriendlyName`, `EvaluateWorkerAttributes`, `WorkerSid`,
/// `Ordering` by `DateCreated`)
pub async fn list_queues(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let name = q.get("FriendlyName").map(str::to_owned);
    let evaluate = q.json_text("EvaluateWorkerAttributes")?;
    let worker: Option<WorkerSid> = sid_param(&q, "WorkerSid")?;
    let descending = q
        .get("Ordering")
        .is_some_and(|o| o.to_ascii_lowercase().ends_with(":desc"));
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let attrs = evaluate.as_deref().map(parse_attributes);
            let mut list: Vec<_> = e
                .queues
                .values()
                .filter(|q| name.as_deref().is_none_or(|n| q.friendly_name == n))
                .filter(|q| {
                    attrs.as_ref().is_none_or(|a| {
                        expr::parse(&q.target_workers).is_ok_and(|x| x.matches(&Context::new(a)))
                    })
                })
                .filter(|q| {
                    worker
                        .as_ref()
                        .is_none_or(|w| e.queues_of(w).contains(&q.sid))
                })
                .collect();
            list.sort_by_key(|q| (q.created, q.sid.clone()));
            if descending {
                list.reverse();
            }
            Ok(list
                .into_iter()
                .map(|q| render::queue(&base, e, q))
                .collect())
        })
        .await?;
    let url = format!("{}/TaskQueues", ctx.ws_url());
    list_reply(
        "task_queues",
        items,
        &q,
        &url,
        &[
            "FriendlyName",
            "EvaluateWorkerAttributes",
            "WorkerSid",
            "Ordering",
        ],
    )
}

// ---- Workflows -----------------------------------------------------------------------

fn workflow_spec(p: &Params) -> Result<WorkflowSpec, ApiError> {
    let timeout = match p.unsigned("TaskReservationTimeout")? {
        Some(n) if !(1..=86_400).contains(&n) => {
            return Err(ApiError::invalid(
                "TaskReservationTimeout",
                "must be between 1 and 86400",
            ));
        }
        n => n.map(|n| n as u32),
    };
    Ok(WorkflowSpec {
        friendly_name: p.text("FriendlyName", 64)?,
        configuration: p.text("Configuration", 65_536)?,
        assignment_callback_url: p.text("AssignmentCallbackUrl", 2048)?,
        fallback_assignment_callback_url: p.text("FallbackAssignmentCallbackUrl", 2048)?,
        task_reservation_timeout: timeout,
    })
}

/// `POST /Workflows`
pub async fn create_workflow(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    p.required("FriendlyName", 64)?;
    p.required("Configuration", 65_536)?;
    let spec = workflow_spec(&p)?;
    let base = ctx.base.clone();
    created(
        ctx.exec(move |e, now| {
            let sid = e.create_workflow(spec, now)?;
            Ok(render::workflow(&base, e, &e.workflows[&sid]))
        })
        .await?,
    )
}

/// `GET /Workflows/{WW}`
pub async fn fetch_workflow(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, _| {
            let sid: WorkflowSid = sid(&raw, "Workflows")?;
            let w = e
                .workflows
                .get(&sid)
                .ok_or_else(|| RoutingError::NotFound(format!("/Workflows/{raw}")))?;
            Ok(render::workflow(&base, e, w))
        })
        .await?)
}

/// `POST /Workflows/{WW}` (`ReEvaluateTasks=true` re-routes its waiting tasks)
pub async fn update_workflow(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let spec = workflow_spec(&p)?;
    let re_evaluate = p.boolean("ReEvaluateTasks")?.unwrap_or(false);
    let base = ctx.base.clone();
    ok(ctx
        .exec(move |e, now| {
            let sid: WorkflowSid = sid(&raw, "Workflows")?;
            e.update_workflow(&sid, spec, re_evaluate, now)?;
            Ok(render::workflow(&base, e, &e.workflows[&sid]))
        })
        .await?)
}

/// `DELETE /Workflows/{WW}`
pub async fn delete_workflow(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    ctx.exec(move |e, now| e.delete_workflow(&sid(&raw, "Workflows")?, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Workflows` (filter `FriendlyName`)
pub async fn list_workflows(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let name = q.get("FriendlyName").map(str::to_owned);
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let mut list: Vec<_> = e
                .workflows
                .values()
                .filter(|w| name.as_deref().is_none_or(|n| w.friendly_name == n))
                .collect();
            list.sort_by_key(|w| (w.created, w.sid.clone()));
            Ok(list
                .into_iter()
                .map(|w| render::workflow(&base, e, w))
                .collect())
        })
        .await?;
    let url = format!("{}/Workflows", ctx.ws_url());
    list_reply("workflows", items, &q, &url, &["FriendlyName"])
}
