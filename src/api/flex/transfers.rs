//! `…/Channels/{UO}/Transfers` (create 201) and `…/Transfers/{UX}` (fetch, update). The
//! request body is JSON (see [`crate::interactions::transfers`] for its fields); form bodies
//! with the same keys (or one `Body=<json>` field) are accepted too.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::channels::find as find_channel;
use super::context::{FlexCtx, seg};
use super::render;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::interactions::routing::json_object;
use crate::interactions::transfers;

/// The body as a JSON object: raw JSON, a `Body` form field, or plain form fields.
fn body(req: &HttpRequest, p: &Params) -> Result<Map<String, Value>, ApiError> {
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        let text =
            std::str::from_utf8(&p.raw).map_err(|_| ApiError::invalid("body", "is not UTF-8"))?;
        if text.trim().is_empty() {
            return Ok(Map::new());
        }
        return json_object("body", text);
    }
    if let Some(text) = p.text("Body", 16 * 1024)? {
        return json_object("Body", &text);
    }
    let mut m = Map::new();
    for key in [
        "type", "from", "to", "status", "Type", "From", "To", "Status",
    ] {
        if let Some(v) = p.get(key) {
            m.insert(key.to_ascii_lowercase(), Value::String(v.to_owned()));
        }
    }
    Ok(m)
}

/// `POST …/Transfers`
pub async fn create(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let request = transfers::parse(&body(&req, &p)?)?;
    let c = find_channel(&ctx, &req).await?;
    let t = transfers::create(&ctx.state, &c, request).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(render::transfer(&ctx.base, &t)))
}

/// `GET …/Transfers/{UX}`
pub async fn fetch(ctx: FlexCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let c = find_channel(&ctx, &req).await?;
    let t = transfers::find(&ctx.state, &c, &seg(&req, "transfer")).await?;
    Ok(HttpResponse::Ok().json(render::transfer(&ctx.base, &t)))
}

/// `POST …/Transfers/{UX}`: `{"status": "failed"}` withdraws it; an empty body just reads it.
pub async fn update(ctx: FlexCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let b = body(&req, &p)?;
    let c = find_channel(&ctx, &req).await?;
    let t = transfers::find(&ctx.state, &c, &seg(&req, "transfer")).await?;
    let t = match b.get("status").and_then(Value::as_str) {
        Some(status) => transfers::update(&ctx.state, t, &status.to_ascii_lowercase()).await?,
        None => t,
    };
    Ok(HttpResponse::Ok().json(render::transfer(&ctx.base, &t)))
}
