//! `/api/2010-04-01/Accounts`: the account itself and its subaccounts (create, fetch, update,
//! list), in the 2010 API's format (RFC 2822 dates, `*_uri` pagination). An account sees only
//! itself and the subaccounts it owns.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::context::Caller;
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{AccountSid, random_hex32};
use crate::store::records::{AccountRecord, now};

/// The 2010 API's date format.
pub fn rfc2822(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

fn render(a: &AccountRecord) -> Value {
    let uri = format!("/2010-04-01/Accounts/{}.json", a.sid);
    json!({
        "auth_token": a.auth_token,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "friendly_name": a.friendly_name,
        "owner_account_sid": a.owner_account_sid,
        "sid": a.sid,
        "status": a.status,
        "type": "Full",
        "subresource_uris": {
            "keys": format!("/2010-04-01/Accounts/{}/Keys.json", a.sid),
        },
        "uri": uri,
    })
}

/// The account of the path's `{account}`, if the caller may see it (itself or a subaccount).
pub fn visible(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
) -> Result<AccountRecord, ApiError> {
    let raw = req.match_info().get("account").unwrap_or_default();
    let not_found = || ApiError::NotFound(format!("/2010-04-01/Accounts/{raw}.json"));
    let sid: AccountSid = raw.parse().map_err(|_| not_found())?;
    let account = state.accounts.get(&sid).ok_or_else(not_found)?;
    if account.sid == caller.account || account.owner_account_sid == caller.account {
        Ok(account)
    } else {
        Err(not_found())
    }
}

/// `POST /Accounts.json`: creates a subaccount with its own default service.
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    idempotency::once(&state, &req, &caller.account, &p, || async {
        let at = now();
        let account = AccountRecord {
            sid: AccountSid::generate(),
            friendly_name: p
                .text("FriendlyName", 64)?
                .unwrap_or_else(|| format!("SubAccount Created at {}", rfc2822(at))),
            auth_token: random_hex32(),
            owner_account_sid: caller.account.clone(),
            status: "active".into(),
            date_created: at,
            date_updated: at,
        };
        let account = state.accounts.create(account).await?;
        Ok((StatusCode::CREATED, render(&account)))
    })
    .await
}

/// `GET /Accounts/{AC}.json`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(render(&visible(&state, &caller, &req)?)))
}

/// `POST /Accounts/{AC}.json`: `FriendlyName`, `Status` (active, suspended, closed).
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let mut account = visible(&state, &caller, &req)?;
    if let Some(name) = p.text("FriendlyName", 64)? {
        account.friendly_name = name;
    }
    if let Some(status) = p.get("Status") {
        if !["active", "suspended", "closed"].contains(&status) {
            return Err(ApiError::invalid(
                "Status",
                "must be active, suspended or closed",
            ));
        }
        if account.sid == caller.account && status != "active" {
            return Err(ApiError::invalid(
                "Status",
                "an account cannot suspend or close itself",
            ));
        }
        account.status = status.to_owned();
    }
    account.date_updated = now();
    let account = state.accounts.update(account).await?;
    Ok(HttpResponse::Ok().json(render(&account)))
}

/// `GET /Accounts.json`
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let name = q.get("FriendlyName");
    let status = q.get("Status");
    let all: Vec<AccountRecord> = state
        .accounts
        .owned_by(&caller.account)
        .into_iter()
        .filter(|a| {
            name.is_none_or(|n| a.friendly_name == n) && status.is_none_or(|s| a.status == s)
        })
        .collect();
    let all: Vec<Value> = all.iter().map(render).collect();
    let filters: Vec<(&str, &str)> = [("FriendlyName", name), ("Status", status)]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    Ok(HttpResponse::Ok().json(pagination::render_v2010(
        "accounts",
        &all,
        page,
        "/2010-04-01/Accounts.json",
        &filters,
    )))
}
