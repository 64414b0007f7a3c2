//! `/v1/Configuration` (account defaults: default service, timers) and
//! `/v1/Services/{IS}/Configuration` (default roles, reachability).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::api::AppState;
use crate::api::context::{Caller, Ctx, origin};
use crate::api::params::Params;
use crate::conversations::timers::iso_duration_secs;
use crate::error::ApiError;
use crate::ids::{RoleSid, ServiceSid};
use crate::store::Mutation;
use crate::store::records::{AccountConfigRecord, ServiceConfigRecord};

fn render(v1: &str, c: &AccountConfigRecord) -> serde_json::Value {
    json!({
        "account_sid": c.account_sid,
        "default_chat_service_sid": c.default_chat_service_sid,
        "default_messaging_service_sid": c.default_messaging_service_sid,
        "default_inactive_timer": c.default_inactive_timer,
        "default_closed_timer": c.default_closed_timer,
        "url": format!("{v1}/Configuration"),
        "links": {
            "service": format!("{v1}/Services/{}", c.default_chat_service_sid),
            "webhooks": format!("{v1}/Configuration/Webhooks"),
        },
    })
}

async fn current(state: &AppState, caller: &Caller) -> Result<AccountConfigRecord, ApiError> {
    state
        .store
        .account_config(&caller.account)
        .await?
        .ok_or(ApiError::Internal)
}

/// `GET /v1/Configuration`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let config = current(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(render(
        &format!("{}/conversations/v1", origin(&req, &state)),
        &config,
    )))
}

fn default_timer(p: &Params, name: &str) -> Result<Option<Option<String>>, ApiError> {
    match p.get(name) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => {
            iso_duration_secs(v).ok_or_else(|| {
                ApiError::invalid(name, "must be an ISO-8601 duration such as PT10M")
            })?;
            Ok(Some(Some(v.to_owned())))
        }
    }
}

/// `POST /v1/Configuration`
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let mut config = current(&state, &caller).await?;
    if let Some(sid) = p.sid::<ServiceSid>("DefaultChatServiceSid")? {
        state
            .store
            .service(&caller.account, &sid)
            .await?
            .ok_or_else(|| ApiError::invalid("DefaultChatServiceSid", "no such service"))?;
        config.default_chat_service_sid = sid;
    }
    if let Some(sid) = p.sid("DefaultMessagingServiceSid")? {
        config.default_messaging_service_sid = Some(sid);
    }
    if let Some(v) = default_timer(&p, "DefaultInactiveTimer")? {
        config.default_inactive_timer = v;
    }
    if let Some(v) = default_timer(&p, "DefaultClosedTimer")? {
        config.default_closed_timer = v;
    }
    state
        .store
        .submit(vec![Mutation::PutAccountConfig(config.clone())])
        .await?;
    state
        .accounts
        .set_default_service(&caller.account, &config.default_chat_service_sid);
    Ok(HttpResponse::Ok().json(render(
        &format!("{}/conversations/v1", origin(&req, &state)),
        &config,
    )))
}

fn render_service(base: &str, c: &ServiceConfigRecord) -> serde_json::Value {
    json!({
        "chat_service_sid": c.service_sid,
        "default_conversation_creator_role_sid": c.default_conversation_creator_role_sid,
        "default_conversation_role_sid": c.default_conversation_role_sid,
        "default_chat_service_role_sid": c.default_chat_service_role_sid,
        "reachability_enabled": c.reachability_enabled,
        "url": format!("{base}/Configuration"),
        "links": {
            "notifications": format!("{base}/Configuration/Notifications"),
            "webhooks": format!("{base}/Configuration/Webhooks"),
        },
    })
}

async fn current_service(ctx: &Ctx) -> Result<ServiceConfigRecord, ApiError> {
    ctx.state
        .store
        .service_config(&ctx.scope.service)
        .await?
        .ok_or(ApiError::Internal)
}

/// `GET /v1/Services/{IS}/Configuration`
pub async fn fetch_service(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(render_service(&ctx.base, &current_service(&ctx).await?)))
}

/// `POST /v1/Services/{IS}/Configuration`
pub async fn update_service(ctx: Ctx, p: Params) -> Result<HttpResponse, ApiError> {
    let mut config = current_service(&ctx).await?;
    for (name, slot) in [
        (
            "DefaultConversationCreatorRoleSid",
            &mut config.default_conversation_creator_role_sid,
        ),
        (
            "DefaultConversationRoleSid",
            &mut config.default_conversation_role_sid,
        ),
        (
            "DefaultChatServiceRoleSid",
            &mut config.default_chat_service_role_sid,
        ),
    ] {
        if let Some(sid) = p.sid::<RoleSid>(name)? {
            ctx.state
                .store
                .role(&ctx.scope.service, &sid)
                .await?
                .ok_or_else(|| ApiError::invalid(name, "no such role in this service"))?;
            *slot = sid;
        }
    }
    if let Some(v) = p.boolean("ReachabilityEnabled")? {
        config.reachability_enabled = v;
    }
    ctx.state
        .store
        .submit(vec![Mutation::PutServiceConfig(config.clone())])
        .await?;
    Ok(HttpResponse::Ok().json(render_service(&ctx.base, &config)))
}
