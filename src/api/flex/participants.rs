//! `…/Channels/{UO}/Participants[/{UT}]`: list, create (200; `Type`, `MediaProperties`,
//! `RoutingProperties`), update `Status` (closed|wrapup).

use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use super::channels::find as find_channel;
use super::context::{FlexCtx, page, seg};
use super::render;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::interactions::agents;
use crate::interactions::records::{self, ChannelParticipant};
use crate::interactions::routing::json_object;

/// `GET …/Participants`
pub async fn list(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let c = find_channel(&ctx, &req).await?;
    let all: Vec<ChannelParticipant> = records::load_in(
        ctx.state.store.as_ref(),
        records::PARTICIPANT,
        c.sid.as_str(),
    )
    .await?;
    let url = format!(
        "{}/Interactions/{}/Channels/{}/Participants",
        ctx.base, c.interaction_sid, c.sid
    );
    Ok(
        HttpResponse::Ok().json(page(&req, "participants", &url, all, |x| {
            render::participant(&ctx.base, &x)
        })?),
    )
}

/// `POST …/Participants`
pub async fn create(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let kind = p.required("Type", 32)?.to_ascii_lowercase();
    let media = json_object(
        "MediaProperties",
        &p.required("MediaProperties", 16 * 1024)?,
    )?;
    let routing = match p.text("RoutingProperties", 16 * 1024)? {
        Some(t) => Some(Value::Object(json_object("RoutingProperties", &t)?)),
        None => None,
    };
    let c = find_channel(&ctx, &req).await?;
    let x = agents::create(&ctx.state, &c, &kind, Value::Object(media), routing).await?;
    Ok(HttpResponse::Ok().json(render::participant(&ctx.base, &x)))
}

/// `GET …/Participants/{UT}`
pub async fn fetch(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let c = find_channel(&ctx, &req).await?;
    let x = agents::find(&ctx.state, &c, &seg(&req, "participant")).await?;
    Ok(HttpResponse::Ok().json(render::participant(&ctx.base, &x)))
}

/// `POST …/Participants/{UT}`: `Status` closed|wrapup.
pub async fn update(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let status = p.required("Status", 32)?.to_ascii_lowercase();
    if status != "closed" && status != "wrapup" {
        return Err(ApiError::invalid("Status", "must be closed or wrapup"));
    }
    let c = find_channel(&ctx, &req).await?;
    let x = agents::find(&ctx.state, &c, &seg(&req, "participant")).await?;
    let x = agents::set_status(&ctx.state, &c, x, &status).await?;
    Ok(HttpResponse::Ok().json(render::participant(&ctx.base, &x)))
}
