//! `/v1/Users` (and service-scoped): conversation users keyed by identity.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::api::context::Ctx;
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::render;
use crate::error::ApiError;
use crate::ids::{RoleSid, UserSid};
use crate::store::Mutation;
use crate::store::records::{UserRecord, now};
use crate::webhooks::params;
use crate::webhooks::pre::PreOutcome;

async fn role_in_service(ctx: &Ctx, role: Option<RoleSid>) -> Result<Option<RoleSid>, ApiError> {
    let Some(role) = role else { return Ok(None) };
    ctx.state
        .store
        .role(&ctx.scope.service, &role)
        .await?
        .map(|r| Some(r.sid))
        .ok_or_else(|| ApiError::invalid("RoleSid", "no such role in this service"))
}

/// The user named by the path's `{user}` (SID or identity).
pub async fn find(ctx: &Ctx, req: &HttpRequest) -> Result<UserRecord, ApiError> {
    let key = req.match_info().get("user").unwrap_or_default();
    ctx.state
        .store
        .user(&ctx.scope.service, key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Users/{key}")))
}

/// `POST /Users`
pub async fn create(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    idempotency::once(&ctx.state, &req, &ctx.scope.account, &p, || async {
        let identity = p.required("Identity", 256)?;
        if identity.is_empty() {
            return Err(ApiError::missing("Identity"));
        }
        let role = match role_in_service(&ctx, p.sid("RoleSid")?).await? {
            Some(r) => r,
            None => ctx
                .state
                .store
                .service_config(&ctx.scope.service)
                .await?
                .map(|c| c.default_chat_service_role_sid)
                .ok_or(ApiError::Internal)?,
        };
        let at = now();
        let user = UserRecord {
            sid: UserSid::generate(),
            account_sid: ctx.scope.account.clone(),
            service_sid: ctx.scope.service.clone(),
            role_sid: role,
            identity,
            friendly_name: p.text("FriendlyName", 256)?,
            attributes: p.json_text("Attributes")?.unwrap_or_else(|| "{}".into()),
            date_created: at,
            date_updated: at,
        };
        let mut unit = vec![Mutation::PutUser(user.clone())];
        unit.extend(
            ctx.state
                .hooks
                .service_jobs(&ctx.scope, "onUserAdded", |f| params::user(f, &user, false)),
        );
        let wake = unit.len() > 1;
        ctx.state.store.submit(unit).await?;
        if wake {
            ctx.state.outbox.wake();
        }
        Ok((StatusCode::CREATED, render::user(&ctx.base, &user)))
    })
    .await
}

/// `GET /Users/{US or identity}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(render::user(&ctx.base, &find(&ctx, &req).await?)))
}

/// `POST /Users/{US or identity}`
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let mut user = find(&ctx, &req).await?;
    if let Some(v) = p.text("FriendlyName", 256)? {
        user.friendly_name = Some(v);
    }
    if let Some(v) = p.json_text("Attributes")? {
        user.attributes = v;
    }
    if let Some(r) = role_in_service(&ctx, p.sid("RoleSid")?).await? {
        user.role_sid = r;
    }
    user.date_updated = now();
    if let Some(hook) = ctx
        .state
        .hooks
        .pre(&ctx.scope, "onUserUpdate", |f| params::user(f, &user, true))
        && let PreOutcome::Reject(why) = hook.await
    {
        return Err(ApiError::Forbidden(why));
    }
    let mut unit = vec![Mutation::PutUser(user.clone())];
    unit.extend(
        ctx.state
            .hooks
            .service_jobs(&ctx.scope, "onUserUpdated", |f| {
                params::user(f, &user, true);
                f.push(("isOnline".into(), "false".into()));
                f.push(("isNotifiable".into(), "false".into()));
            }),
    );
    let wake = unit.len() > 1;
    ctx.state.store.submit(unit).await?;
    if wake {
        ctx.state.outbox.wake();
    }
    Ok(HttpResponse::Ok().json(render::user(&ctx.base, &user)))
}

/// `DELETE /Users/{US or identity}`
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = find(&ctx, &req).await?;
    ctx.state
        .store
        .submit(vec![Mutation::DeleteUser(user.sid)])
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Users`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let rows = ctx.state.store.users(&ctx.scope.service, page).await?;
    let url = format!("{}/Users", ctx.base);
    Ok(
        HttpResponse::Ok().json(pagination::render("users", rows, page, &url, &[], |u| {
            render::user(&ctx.base, &u)
        })),
    )
}
