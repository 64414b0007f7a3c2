//! `/v1/Workspaces`: create (with `Template`), fetch, update, list, delete.

use actix_web::{HttpRequest, HttpResponse};
use futures_util::future::join_all;

use super::{TrCtx, list_reply, parse_with, render, sid_param};
use crate::api::params::Params;
use crate::error::ApiError;
use crate::routing::engine::ops::WorkspaceSpec;
use crate::routing::model::QueueOrder;
use crate::routing::registry::Template;

fn spec(p: &Params) -> Result<WorkspaceSpec, ApiError> {
    Ok(WorkspaceSpec {
        friendly_name: p.text("FriendlyName", 64)?,
        event_callback_url: p.text("EventCallbackUrl", 2048)?,
        events_filter: p.text("EventsFilter", 4096)?,
        multi_task_enabled: p.boolean("MultiTaskEnabled")?,
        default_activity_sid: sid_param(p, "DefaultActivitySid")?,
        timeout_activity_sid: sid_param(p, "TimeoutActivitySid")?,
        prioritize_queue_order: parse_with(
            p,
            "PrioritizeQueueOrder",
            QueueOrder::parse,
            "FIFO or LIFO",
        )?,
    })
}

fn check_url(url: &Option<String>) -> Result<(), ApiError> {
    match url.as_deref() {
        Some(u) if !(u.is_empty() || u.starts_with("http://") || u.starts_with("https://")) => Err(
            ApiError::invalid("EventCallbackUrl", "must be an http(s) URL"),
        ),
        _ => Ok(()),
    }
}

/// `POST /v1/Workspaces`
pub async fn create(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let name = p.required("FriendlyName", 64)?;
    let spec = spec(&p)?;
    check_url(&spec.event_callback_url)?;
    let template = match p.get("Template").map(str::to_ascii_uppercase).as_deref() {
        None | Some("NONE") => Template::None,
        Some("FIFO") => Template::Fifo,
        Some(_) => return Err(ApiError::invalid("Template", "must be NONE or FIFO")),
    };
    let sid = ctx
        .state
        .routers
        .create_workspace(&ctx.account, name, spec, template)
        .await?;
    let base = ctx.base.clone();
    let body = ctx
        .state
        .routers
        .exec(&ctx.account, sid.as_str(), move |e, _| {
            Ok(render::workspace(&base, e))
        })
        .await?;
    Ok(HttpResponse::Created().json(body))
}

/// `GET /v1/Workspaces/{WS}`
pub async fn fetch(ctx: TrCtx) -> Result<HttpResponse, ApiError> {
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, _| Ok(render::workspace(&base, e)))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /v1/Workspaces/{WS}`
pub async fn update(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let spec = spec(&p)?;
    check_url(&spec.event_callback_url)?;
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| {
            e.update_workspace(spec, now)?;
            Ok(render::workspace(&base, e))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `DELETE /v1/Workspaces/{WS}`
pub async fn delete(ctx: TrCtx) -> Result<HttpResponse, ApiError> {
    ctx.state
        .routers
        .delete_workspace(&ctx.account, &ctx.workspace)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/Workspaces` (filter `FriendlyName`)
pub async fn list(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let name = q.get("FriendlyName").map(str::to_owned);
    let reads = ctx
        .state
        .routers
        .workspaces(&ctx.account)
        .into_iter()
        .map(|ws| {
            let base = ctx.base.clone();
            let routers = ctx.state.routers.clone();
            let account = ctx.account.clone();
            async move {
                routers
                    .exec(&account, ws.as_str(), move |e, _| {
                        Ok((e.workspace.created, render::workspace(&base, e)))
                    })
                    .await
            }
        });
    let mut rows: Vec<(i64, serde_json::Value)> = join_all(reads)
        .await
        .into_iter()
        .filter_map(Result::ok)
        .filter(|(_, w)| name.as_deref().is_none_or(|n| w["friendly_name"] == n))
        .collect();
    rows.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1["sid"].to_string().cmp(&b.1["sid"].to_string()))
    });
    let url = format!("{}/Workspaces", ctx.base);
    list_reply(
        "workspaces",
        rows.into_iter().map(|(_, w)| w).collect(),
        &q,
        &url,
        &["FriendlyName"],
    )
}
