//! `/api/2010-04-01/Accounts/{AC}/Keys`: API keys. The secret is returned once, by the create
//! call (`client.api.v2010.account.new_keys.create()`); a key authenticates REST calls as
//! `SK…:secret` and signs access tokens for the WebSocket gateway.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::accounts::{rfc2822, visible};
use crate::api::context::Caller;
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{KeySid, random_hex32};
use crate::store::records::{AccountRecord, KeyRecord, now};

fn render(k: &KeyRecord, with_secret: bool) -> Value {
    let mut v = json!({
        "sid": k.sid,
        "friendly_name": k.friendly_name,
        "date_created": rfc2822(k.date_created),
        "date_updated": rfc2822(k.date_updated),
    });
    if with_secret {
        v["secret"] = Value::String(k.secret.clone());
    }
    v
}

async fn find(
    state: &AppState,
    account: &AccountRecord,
    req: &HttpRequest,
) -> Result<KeyRecord, ApiError> {
    let raw = req.match_info().get("key").unwrap_or_default();
    let not_found = || {
        ApiError::NotFound(format!(
            "/2010-04-01/Accounts/{}/Keys/{raw}.json",
            account.sid
        ))
    };
    let sid: KeySid = raw.parse().map_err(|_| not_found())?;
    state
        .accounts
        .find_key(&sid)
        .await
        .filter(|k| k.account_sid == account.sid)
        .ok_or_else(not_found)
}

/// `POST /Accounts/{AC}/Keys.json`
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let account = visible(&state, &caller, &req)?;
    idempotency::once(&state, &req, &caller.account, &p, || async {
        let at = now();
        let key = KeyRecord {
            sid: KeySid::generate(),
            account_sid: account.sid.clone(),
            friendly_name: p.text("FriendlyName", 64)?.unwrap_or_default(),
            secret: random_hex32(),
            date_created: at,
            date_updated: at,
        };
        let key = state.accounts.put_key(key).await?;
        Ok((StatusCode::CREATED, render(&key, true)))
    })
    .await
}

/// `GET /Accounts/{AC}/Keys/{SK}.json`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let account = visible(&state, &caller, &req)?;
    Ok(HttpResponse::Ok().json(render(&find(&state, &account, &req).await?, false)))
}

/// `POST /Accounts/{AC}/Keys/{SK}.json`: `FriendlyName`.
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let account = visible(&state, &caller, &req)?;
    let mut key = find(&state, &account, &req).await?;
    if let Some(name) = p.text("FriendlyName", 64)? {
        key.friendly_name = name;
    }
    key.date_updated = now();
    let key = state.accounts.put_key(key).await?;
    Ok(HttpResponse::Ok().json(render(&key, false)))
}

/// `DELETE /Accounts/{AC}/Keys/{SK}.json`
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let account = visible(&state, &caller, &req)?;
    let key = find(&state, &account, &req).await?;
    state.accounts.delete_key(&key.sid).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Accounts/{AC}/Keys.json`
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let account = visible(&state, &caller, &req)?;
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let all: Vec<Value> = state
        .accounts
        .keys_of(&account.sid)
        .iter()
        .map(|k| render(k, false))
        .collect();
    let path = format!("/2010-04-01/Accounts/{}/Keys.json", account.sid);
    Ok(HttpResponse::Ok().json(pagination::render_v2010("keys", &all, page, &path, &[])))
}
