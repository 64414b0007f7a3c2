//! `POST /v1/Interactions` (200), `GET|POST /v1/Interactions/{KD}` (update: `WebhookTtid`).

use actix_web::{HttpRequest, HttpResponse};

use super::context::{FlexCtx, seg};
use super::render;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::interactions::create::{NewInteraction, parse_channel};
use crate::interactions::records::{self, Interaction};
use crate::interactions::routing::{RoutingSpec, parse_routing, task_echo};
use crate::store::records::now;

/// Loads an interaction of the caller's account.
pub async fn find(ctx: &FlexCtx, sid: &str) -> Result<Interaction, ApiError> {
    records::load::<Interaction>(ctx.state.store.as_ref(), records::INTERACTION, sid)
        .await?
        .filter(|i| i.account_sid == ctx.account)
        .ok_or_else(|| ApiError::NotFound(format!("/Interactions/{sid}")))
}

async fn respond(ctx: &FlexCtx, i: &Interaction) -> Result<HttpResponse, ApiError> {
    let echo = match task_echo(
        &ctx.state,
        &ctx.account,
        i.workspace_sid.as_str(),
        &i.task_sid,
    )
    .await
    {
        Ok(v) => v,
        Err(ApiError::NotFound(_)) => serde_json::Value::Null,
        Err(e) => return Err(e),
    };
    Ok(HttpResponse::Ok().json(render::interaction(&ctx.base, i, echo)))
}

/// `POST /v1/Interactions`
pub async fn create(ctx: FlexCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let channel = parse_channel(&p.required("Channel", 16 * 1024)?)?;
    let routing = match p.text("Routing", 16 * 1024)? {
        Some(text) => parse_routing("Routing", &text)?,
        None => RoutingSpec::default(),
    };
    let req = NewInteraction {
        channel,
        routing,
        interaction_context_sid: p.text("InteractionContextSid", 64)?,
        webhook_ttid: p.text("WebhookTtid", 256)?,
    };
    let (interaction, _, echo) =
        crate::interactions::create::create(&ctx.state, &ctx.account, req).await?;
    Ok(HttpResponse::Ok().json(render::interaction(&ctx.base, &interaction, echo)))
}

/// `GET /v1/Interactions/{KD}`
pub async fn fetch(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let i = find(&ctx, &seg(&req, "interaction")).await?;
    respond(&ctx, &i).await
}

/// `POST /v1/Interactions/{KD}`: `WebhookTtid`.
pub async fn update(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let mut i = find(&ctx, &seg(&req, "interaction")).await?;
    if let Some(ttid) = p.text("WebhookTtid", 256)? {
        i.webhook_ttid = Some(ttid);
        i.updated = now();
        ctx.state.store.submit(vec![i.put()?]).await?;
    }
    respond(&ctx, &i).await
}
