//! `/v1/Configuration/Webhooks` (account-wide) and `/v1/Services/{IS}/Configuration/Webhooks`
//! (per service): where pre- and post-event webhooks go, for which events, with which method.
//! Stored as one JSON document each (`docs`, kind `webhook_config`) and held live in the
//! webhook [`Directory`](crate::webhooks::config::Directory).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::context::{Caller, Ctx, origin};
use crate::api::params::Params;
use crate::error::ApiError;

pub use crate::webhooks::config::{EVENTS, KIND, WebhookConfig};

fn load(state: &AppState, owner: &str) -> WebhookConfig {
    state.hooks.directory.config(owner)
}

/// Stores the configuration, then makes it live.
async fn save(state: &AppState, account: &str, config: WebhookConfig) -> Result<(), ApiError> {
    state.store.submit(vec![config.put(account)]).await?;
    state.hooks.directory.set_config(config);
    Ok(())
}

fn url_param(p: &Params, name: &str) -> Result<Option<Option<String>>, ApiError> {
    // An empty value clears the URL.
    if p.get(name) == Some("") {
        return Ok(Some(None));
    }
    Ok(p.http_url(name, 2048)?.map(Some))
}

/// Applies `Method`, `Filters`, `PreWebhookUrl`, `PostWebhookUrl` (and `Target` when allowed).
fn apply(p: &Params, config: &mut WebhookConfig, with_target: bool) -> Result<(), ApiError> {
    if let Some(method) = p.http_method("Method")? {
        config.method = method;
    }
    if p.has("Filters") {
        let filters: Vec<String> = p
            .all("Filters")
            .into_iter()
            .flat_map(|f| {
                f.split(',')
                    .map(|x| x.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|f| !f.is_empty())
            .collect();
        if let Some(bad) = filters.iter().find(|f| !EVENTS.contains(&f.as_str())) {
            return Err(ApiError::invalid(
                "Filters",
                format!("`{bad}` is not a webhook event"),
            ));
        }
        config.filters = filters;
    }
    if let Some(url) = url_param(p, "PreWebhookUrl")? {
        config.pre_webhook_url = url;
    }
    if let Some(url) = url_param(p, "PostWebhookUrl")? {
        config.post_webhook_url = url;
    }
    if with_target && let Some(target) = p.text("Target", 16)? {
        if target != "webhook" && target != "flex" {
            return Err(ApiError::invalid("Target", "must be webhook or flex"));
        }
        config.target = target;
    }
    Ok(())
}

fn render(config: &WebhookConfig, fields: Value) -> Value {
    let mut v = json!({
        "method": config.method,
        "filters": config.filters,
        "pre_webhook_url": config.pre_webhook_url,
        "post_webhook_url": config.post_webhook_url,
    });
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), fields) {
        map.extend(extra);
    }
    v
}

fn account_view(v1: &str, account: &str, config: &WebhookConfig) -> Value {
    render(
        config,
        json!({
            "account_sid": account,
            "target": config.target,
            "url": format!("{v1}/Configuration/Webhooks"),
        }),
    )
}

/// `GET /v1/Configuration/Webhooks`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let account = caller.account.to_string();
    let config = load(&state, &account);
    let v1 = format!("{}/conversations/v1", origin(&req, &state));
    Ok(HttpResponse::Ok().json(account_view(&v1, &account, &config)))
}

/// `POST /v1/Configuration/Webhooks`
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let account = caller.account.to_string();
    let mut config = load(&state, &account);
    apply(&p, &mut config, true)?;
    save(&state, &account, config.clone()).await?;
    let v1 = format!("{}/conversations/v1", origin(&req, &state));
    Ok(HttpResponse::Ok().json(account_view(&v1, &account, &config)))
}

fn service_view(ctx: &Ctx, config: &WebhookConfig) -> Value {
    render(
        config,
        json!({
            "account_sid": ctx.scope.account,
            "chat_service_sid": ctx.scope.service,
            "url": format!("{}/Configuration/Webhooks", ctx.base),
        }),
    )
}

/// `GET /v1/Services/{IS}/Configuration/Webhooks`
pub async fn fetch_service(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let config = load(&ctx.state, ctx.scope.service.as_str());
    Ok(HttpResponse::Ok().json(service_view(&ctx, &config)))
}

/// `POST /v1/Services/{IS}/Configuration/Webhooks`
pub async fn update_service(ctx: Ctx, p: Params) -> Result<HttpResponse, ApiError> {
    let service = ctx.scope.service.to_string();
    let mut config = load(&ctx.state, &service);
    apply(&p, &mut config, false)?;
    save(&ctx.state, ctx.scope.account.as_str(), config.clone()).await?;
    Ok(HttpResponse::Ok().json(service_view(&ctx, &config)))
}
