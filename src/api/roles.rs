//! `/v1/Roles` (and service-scoped): named permission sets.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::api::context::Ctx;
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::render;
use crate::error::ApiError;
use crate::ids::RoleSid;
use crate::store::Mutation;
use crate::store::records::{RoleRecord, now};

fn permissions(p: &Params) -> Result<Vec<String>, ApiError> {
    let perms = p.all("Permission");
    if perms.is_empty() {
        return Err(ApiError::missing("Permission"));
    }
    if perms.iter().any(|x| x.is_empty() || x.len() > 64) {
        return Err(ApiError::invalid(
            "Permission",
            "each must be 1 to 64 characters",
        ));
    }
    Ok(perms)
}

async fn find(ctx: &Ctx, req: &HttpRequest) -> Result<RoleRecord, ApiError> {
    let key = req.match_info().get("role").unwrap_or_default();
    let not_found = || ApiError::NotFound(format!("/Roles/{key}"));
    let sid: RoleSid = key.parse().map_err(|_| not_found())?;
    ctx.state
        .store
        .role(&ctx.scope.service, &sid)
        .await?
        .ok_or_else(not_found)
}

/// `POST /Roles`
pub async fn create(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    idempotency::once(&ctx.state, &req, &ctx.scope.account, &p, || async {
        let name = p.required("FriendlyName", 256)?;
        let kind = p.required("Type", 32)?;
        if kind != "conversation" && kind != "service" {
            return Err(ApiError::invalid("Type", "must be conversation or service"));
        }
        let at = now();
        let role = RoleRecord {
            sid: RoleSid::generate(),
            account_sid: ctx.scope.account.clone(),
            service_sid: ctx.scope.service.clone(),
            friendly_name: name,
            role_type: kind,
            permissions: permissions(&p)?,
            date_created: at,
            date_updated: at,
        };
        ctx.state
            .store
            .submit(vec![Mutation::PutRole(role.clone())])
            .await?;
        Ok((StatusCode::CREATED, render::role(&ctx.base, &role)))
    })
    .await
}

/// `GET /Roles/{RL}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(render::role(&ctx.base, &find(&ctx, &req).await?)))
}

/// `POST /Roles/{RL}`: replaces the permissions.
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let mut role = find(&ctx, &req).await?;
    role.permissions = permissions(&p)?;
    role.date_updated = now();
    ctx.state
        .store
        .submit(vec![Mutation::PutRole(role.clone())])
        .await?;
    Ok(HttpResponse::Ok().json(render::role(&ctx.base, &role)))
}

/// `DELETE /Roles/{RL}`
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let role = find(&ctx, &req).await?;
    ctx.state
        .store
        .submit(vec![Mutation::DeleteRole(role.sid)])
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Roles`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let rows = ctx.state.store.roles(&ctx.scope.service, page).await?;
    let url = format!("{}/Roles", ctx.base);
    Ok(
        HttpResponse::Ok().json(pagination::render("roles", rows, page, &url, &[], |r| {
            render::role(&ctx.base, &r)
        })),
    )
}
