//! `/v1/Services`: conversation services. Creating one also creates its default roles and
//! configuration, as Twilio does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::accounts::provision::{new_service, new_service_unit};
use crate::api::AppState;
use crate::api::context::{Caller, Ctx, origin};
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::render;
use crate::error::ApiError;
use crate::store::Mutation;
use crate::store::records::now;

fn v1(req: &HttpRequest, state: &AppState) -> String {
    format!("{}/conversations/v1", origin(req, state))
}

/// `POST /v1/Services`
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    idempotency::once(&state, &req, &caller.account, &p, || async {
        let name = p.required("FriendlyName", 256)?;
        let service = new_service(&caller.account, name, now());
        state.store.submit(new_service_unit(&service)).await?;
        Ok((
            StatusCode::CREATED,
            render::service(&v1(&req, &state), &service),
        ))
    })
    .await
}

/// `GET /v1/Services`
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let rows = state.store.services(&caller.account, page).await?;
    let base = v1(&req, &state);
    let url = format!("{base}/Services");
    Ok(
        HttpResponse::Ok().json(pagination::render("services", rows, page, &url, &[], |s| {
            render::service(&base, &s)
        })),
    )
}

/// `GET /v1/Services/{IS}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let service = ctx
        .state
        .store
        .service(&ctx.scope.account, &ctx.scope.service)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Services/{}", ctx.scope.service)))?;
    Ok(HttpResponse::Ok().json(render::service(&v1(&req, &ctx.state), &service)))
}

/// `DELETE /v1/Services/{IS}`: refused for the account's default service.
pub async fn delete(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let config = ctx.state.store.account_config(&ctx.scope.account).await?;
    if config.is_some_and(|c| c.default_chat_service_sid == ctx.scope.service) {
        return Err(ApiError::InvalidParameter(
            "The default conversation service cannot be deleted; set another DefaultChatServiceSid first".into(),
        ));
    }
    ctx.state
        .store
        .submit(vec![Mutation::DeleteService(ctx.scope.service.clone())])
        .await?;
    ctx.state.accounts.forget_service(&ctx.scope.service);
    ctx.state
        .hooks
        .directory
        .remove_config(ctx.scope.service.as_str());
    ctx.state.hooks.directory.forget_service(&ctx.scope.service);
    Ok(HttpResponse::NoContent().finish())
}
