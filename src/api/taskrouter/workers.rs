//! `/Workers` and `/Workers/{WK}/Channels`: agents, their activity and attributes, and their
//! per-channel capacity.

use actix_web::{HttpRequest, HttpResponse};

use super::{TrCtx, list_reply, path, render, sid, sid_param};
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{ActivitySid, TaskQueueSid, WorkerSid};
use crate::routing::engine::ops::WorkerUpdate;
use crate::routing::engine::{Engine, RoutingError};
use crate::routing::expr::{self, Context};
use crate::routing::model::Worker;

fn find<'a>(e: &'a Engine, raw: &str) -> Result<&'a Worker, RoutingError> {
    let sid: WorkerSid = sid(raw, "Workers")?;
    e.workers
        .get(&sid)
        .ok_or_else(|| RoutingError::NotFound(format!("/Workers/{raw}")))
}

/// `POST /Workers`
pub async fn create(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let name = p.required("FriendlyName", 64)?;
    let activity: Option<ActivitySid> = sid_param(&p, "ActivitySid")?;
    let attributes = p.json_text("Attributes")?;
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| {
            let sid = e.create_worker(name, activity, attributes, now)?;
            Ok(render::worker(&base, e, &e.workers[&sid]))
        })
        .await?;
    Ok(HttpResponse::Created().json(body))
}

/// `GET /Workers/{WK}`
pub async fn fetch(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, _| Ok(render::worker(&base, e, find(e, &raw)?)))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /Workers/{WK}`
pub async fn update(ctx: TrCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let update = WorkerUpdate {
        activity_sid: sid_param(&p, "ActivitySid")?,
        attributes: p.json_text("Attributes")?,
        friendly_name: p.text("FriendlyName", 64)?,
        reject_pending_reservations: p.boolean("RejectPendingReservations")?.unwrap_or(false),
    };
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| {
            let sid = find(e, &raw)?.sid.clone();
            e.update_worker(&sid, update, now)?;
            Ok(render::worker(&base, e, &e.workers[&sid]))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `DELETE /Workers/{WK}`
pub async fn delete(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    ctx.exec(move |e, now| {
        let sid = find(e, &raw)?.sid.clone();
        e.delete_worker(&sid, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Workers` (filters `ActivityName`, `ActivitySid`, `Available`, `FriendlyName`,
/// `TargetWorkersExpression`, `TaskQueueName`, `TaskQueueSid`, `Ordering`)
pub async fn list(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let activity_name = q.get("ActivityName").map(str::to_owned);
    let activity_sid = q.get("ActivitySid").map(str::to_owned);
    let available = q.boolean("Available")?;
    let name = q.get("FriendlyName").map(str::to_owned);
    let target =
        match q.get("TargetWorkersExpression") {
            Some(src) => Some(expr::parse(src).map_err(|e| {
                ApiError::invalid("TargetWorkersExpression", format!("`{src}`: {e}"))
            })?),
            None => None,
        };
    let queue_name = q.get("TaskQueueName").map(str::to_owned);
    let queue_sid: Option<TaskQueueSid> = sid_param(&q, "TaskQueueSid")?;
    let descending = q
        .get("Ordering")
        .is_some_and(|o| o.to_ascii_lowercase().ends_with(":desc"));
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let queue = match (&queue_sid, &queue_name) {
                (Some(sid), _) => Some(sid.clone()),
                (None, Some(name)) => Some(
                    e.queues
                        .values()
                        .find(|q| &q.friendly_name == name)
                        .map(|q| q.sid.clone())
                        .ok_or_else(|| RoutingError::NotFound(format!("/TaskQueues/{name}")))?,
                ),
                _ => None,
            };
            let empty = serde_json::json!({});
            let mut list: Vec<&Worker> = e
                .workers
                .values()
                .filter(|w| {
                    let activity = e.activities.get(&w.activity_sid);
                    activity_name
                        .as_deref()
                        .is_none_or(|n| activity.is_some_and(|a| a.friendly_name == n))
                        && activity_sid
                            .as_deref()
                            .is_none_or(|s| w.activity_sid.as_str() == s)
                        && available.is_none_or(|v| e.is_available(w) == v)
                        && name.as_deref().is_none_or(|n| w.friendly_name == n)
                        && queue
                            .as_ref()
                            .is_none_or(|q| e.queues_of(&w.sid).contains(q))
                        && target.as_ref().is_none_or(|x| {
                            let props = e.worker_properties(w, true);
                            let attrs = e.worker_attributes(&w.sid).unwrap_or(&empty);
                            x.matches(&Context::new(attrs).with_properties(&props))
                        })
                })
                .collect();
            list.sort_by_key(|w| (w.created, w.sid.clone()));
            if descending {
                list.reverse();
            }
            Ok(list
                .into_iter()
                .map(|w| render::worker(&base, e, w))
                .collect())
        })
        .await?;
    let url = format!("{}/Workers", ctx.ws_url());
    list_reply(
        "workers",
        items,
        &q,
        &url,
        &[
            "ActivityName",
            "ActivitySid",
            "Available",
            "FriendlyName",
            "TargetWorkersExpression",
            "TaskQueueName",
            "TaskQueueSid",
            "Ordering",
        ],
    )
}

/// `GET /Workers/{WK}/Channels`
pub async fn list_channels(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let raw = path(&req, "sid");
    let url = format!("{}/Workers/{raw}/Channels", ctx.ws_url());
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let w = find(e, &raw)?;
            let mut list: Vec<_> = w.channels.values().collect();
            list.sort_by_key(|c| (c.created, c.sid.clone()));
            Ok(list
                .into_iter()
                .map(|c| render::worker_channel(&base, e, w, c))
                .collect())
        })
        .await?;
    list_reply("channels", items, &q, &url, &[])
}

fn find_channel(
    e: &Engine,
    worker: &Worker,
    key: &str,
) -> Result<crate::ids::TaskChannelSid, RoutingError> {
    worker
        .channels
        .values()
        .find(|c| {
            c.sid.as_str() == key
                || c.task_channel_sid.as_str() == key
                || e.channels
                    .get(&c.task_channel_sid)
                    .is_some_and(|tc| tc.unique_name == key)
        })
        .map(|c| c.task_channel_sid.clone())
        .ok_or_else(|| RoutingError::NotFound(format!("/Channels/{key}")))
}

/// `GET /Workers/{WK}/Channels/{WC or unique name}`
pub async fn fetch_channel(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let key = path(&req, "channel");
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, _| {
            let w = find(e, &raw)?;
            let tc = find_channel(e, w, &key)?;
            Ok(render::worker_channel(&base, e, w, &w.channels[&tc]))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /Workers/{WK}/Channels/{WC or unique name}` (`Capacity`, `Available`)
pub async fn update_channel(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let key = path(&req, "channel");
    let capacity = match p.unsigned("Capacity")? {
        Some(n) if n > 1000 => return Err(ApiError::invalid("Capacity", "must be at most 1000")),
        n => n.map(|n| n as u32),
    };
    let available = p.boolean("Available")?;
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| {
            let w = find(e, &raw)?;
            let sid = w.sid.clone();
            let tc = find_channel(e, w, &key)?;
            e.update_worker_channel(&sid, tc.as_str(), capacity, available, now)?;
            let w = &e.workers[&sid];
            Ok(render::worker_channel(&base, e, w, &w.channels[&tc]))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
