//! `/v1/Interactions/{KD}/Channels[/{UO}]` (list, fetch, update `Status`/`Routing`) and
//! `…/Channels/{UO}/Invites` (list, create 200).

use actix_web::{HttpRequest, HttpResponse};

use super::context::{FlexCtx, page, seg};
use super::interactions;
use super::render;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::interactions::channels;
use crate::interactions::records::{self, Channel, Invite};
use crate::interactions::routing::parse_routing;

/// Loads the channel of the path.
pub async fn find(ctx: &FlexCtx, req: &HttpRequest) -> Result<Channel, ApiError> {
    channels::find(
        &ctx.state,
        &ctx.account,
        &seg(req, "interaction"),
        &seg(req, "channel"),
    )
    .await
}

/// `GET …/Channels`
pub async fn list(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let i = interactions::find(&ctx, &seg(&req, "interaction")).await?;
    let all: Vec<Channel> =
        records::load_in(ctx.state.store.as_ref(), records::CHANNEL, i.sid.as_str()).await?;
    let url = format!("{}/Interactions/{}/Channels", ctx.base, i.sid);
    Ok(
        HttpResponse::Ok().json(page(&req, "channels", &url, all, |c| {
            render::channel(&ctx.base, &c)
        })?),
    )
}

/// `GET …/Channels/{UO}`
pub async fn fetch(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let c = find(&ctx, &req).await?;
    Ok(HttpResponse::Ok().json(render::channel(&ctx.base, &c)))
}

/// `POST …/Channels/{UO}`: `Status` (closed|inactive), `Routing` (`{"status":"closed"}`).
pub async fn update(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let status = p.required("Status", 32)?.to_ascii_lowercase();
    let routing_closed = match p.text("Routing", 16 * 1024)? {
        None => false,
        Some(text) => match parse_routing("Routing", &text)?.status.as_deref() {
            None => false,
            Some(s) if s.eq_ignore_ascii_case("closed") => true,
            Some(_) => return Err(ApiError::invalid("Routing", "status must be closed")),
        },
    };
    let c = find(&ctx, &req).await?;
    let c = channels::update(&ctx.state, c, &status, routing_closed).await?;
    Ok(HttpResponse::Ok().json(render::channel(&ctx.base, &c)))
}

/// `GET …/Channels/{UO}/Invites`
pub async fn invites(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let c = find(&ctx, &req).await?;
    let all: Vec<Invite> =
        records::load_in(ctx.state.store.as_ref(), records::INVITE, c.sid.as_str()).await?;
    let url = format!(
        "{}/Interactions/{}/Channels/{}/Invites",
        ctx.base, c.interaction_sid, c.sid
    );
    Ok(
        HttpResponse::Ok().json(page(&req, "invites", &url, all, |i| {
            render::invite(&ctx.base, &i)
        })?),
    )
}

/// `POST …/Channels/{UO}/Invites` (`Routing` required).
pub async fn invite(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let spec = parse_routing("Routing", &p.required("Routing", 16 * 1024)?)?;
    let mut c = find(&ctx, &req).await?;
    let invite = channels::invite(&ctx.state, &mut c, &spec).await?;
    Ok(HttpResponse::Ok().json(render::invite(&ctx.base, &invite)))
}
