//! `/Events`: the workspace's TaskRouter events, newest first, with Twilio's filters
//! (`EventType`, `TaskSid`, `WorkerSid`, `ReservationSid`, `TaskQueueSid`, `WorkflowSid`,
//! `StartDate`, `EndDate`, `Minutes`).

use actix_web::{HttpRequest, HttpResponse};

use super::{TrCtx, path, render};
use crate::api::pagination;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::routing::model::now_ms;
use crate::store::RoutingEventFilter;

/// `GET /Events`
pub async fn list(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    ctx.state.routers.get(&ctx.account, &ctx.workspace)?;
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let text = |k: &str| q.get(k).filter(|v| !v.is_empty()).map(str::to_owned);
    let minutes = q.unsigned("Minutes")?;
    let start_ms = match (q.datetime("StartDate")?, minutes) {
        (Some(s), _) => Some(s * 1000),
        (None, Some(m)) => Some(now_ms() - (m.min(1_000_000) as i64) * 60_000),
        (None, None) => None,
    };
    let filter = RoutingEventFilter {
        event_type: text("EventType"),
        task_sid: text("TaskSid"),
        worker_sid: text("WorkerSid"),
        reservation_sid: text("ReservationSid"),
        queue_sid: text("TaskQueueSid"),
        workflow_sid: text("WorkflowSid"),
        start_ms,
        end_ms: q.datetime("EndDate")?.map(|s| s * 1000 + 999),
    };
    let rows = ctx
        .state
        .store
        .routing_events(&ctx.workspace, &filter, page)
        .await?;
    let names = [
        "EventType",
        "TaskSid",
        "WorkerSid",
        "ReservationSid",
        "TaskQueueSid",
        "WorkflowSid",
        "StartDate",
        "EndDate",
        "Minutes",
    ];
    let carried: Vec<(&str, String)> = names
        .iter()
        .filter_map(|k| q.get(k).map(|v| (*k, v.to_owned())))
        .collect();
    let url = format!("{}/Events", ctx.ws_url());
    let base = ctx.base.clone();
    Ok(HttpResponse::Ok().json(pagination::render(
        "events",
        rows,
        page,
        &url,
        &carried,
        |e| render::event(&base, &e),
    )))
}

/// `GET /Events/{EV}`
pub async fn fetch(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    ctx.state.routers.get(&ctx.account, &ctx.workspace)?;
    let sid = path(&req, "sid");
    let event = ctx
        .state
        .store
        .routing_event(&ctx.workspace, &sid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Events/{sid}")))?;
    Ok(HttpResponse::Ok().json(render::event(&ctx.base, &event)))
}
