//! Request context extractors: [`Caller`] (HTTP Basic auth → account) and [`Ctx`] (caller +
//! the conversation service of the path or the account default + the base URL for `url`,
//! `links` and page URLs).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;

use crate::api::AppState;
use crate::conversations::drafts::{Scope, Source};
use crate::error::ApiError;
use crate::ids::{AccountSid, ServiceSid};

/// The authenticated account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Account the credentials belong to.
    pub account: AccountSid,
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

impl Caller {
    /// Authenticates the request (account SID + auth token, or API key SID + secret).
    pub async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or(ApiError::Internal)?
            .clone();
        let Some((user, pass)) = basic_credentials(req) else {
            return Caller::from_token(req, &state).await;
        };
        let account = state
            .accounts
            .authenticate(&user, &pass)
            .await
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Caller { account })
    }
}

impl Caller {
    /// A desktop user's access token, for the routes it opens (`desktop_access`).
    async fn from_token(req: &HttpRequest, state: &AppState) -> Result<Caller, ApiError> {
        let token = super::desktop_access::bearer_token(req).ok_or(ApiError::Unauthenticated)?;
        // No `WWW-Authenticate` here: a browser would stop to ask for a password.
        let who = crate::gateway::auth::verify(&state.accounts, token)
            .await
            .map_err(|_| ApiError::SessionEnded)?;
        if !super::desktop_access::allowed(&who, req.method(), req.path()) {
            return Err(ApiError::Forbidden(
                "an access token does not open this resource: use the account's credentials".into(),
            ));
        }
        Ok(Caller {
            account: who.account,
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Caller::authenticate(&req).await })
    }
}

/// The principal of a `Authorization: Bearer` token that the account's API key named
/// `key_name` signed, expired at most `grace_secs` ago: what a refresh endpoint renews. Any
/// other token is 401 "sign in again" (without `WWW-Authenticate`: no browser prompt).
pub async fn renewable_token(
    req: &HttpRequest,
    state: &AppState,
    key_name: &str,
    grace_secs: i64,
) -> Result<crate::gateway::token::Principal, ApiError> {
    let token = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::SessionEnded)?;
    let principal = crate::gateway::auth::verify_within(&state.accounts, token.trim(), grace_secs)
        .await
        .map_err(|_| ApiError::SessionEnded)?;
    let key = state
        .accounts
        .named_key(&principal.account, key_name)
        .await?;
    if principal.key != key.sid {
        return Err(ApiError::SessionEnded);
    }
    Ok(principal)
}

/// Scheme and host clients used to reach us (or the configured public URL).
pub fn origin(req: &HttpRequest, state: &AppState) -> String {
    if !state.settings.server.public_url.is_empty() {
        return state
            .settings
            .server
            .public_url
            .trim_end_matches('/')
            .to_owned();
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Everything a Conversations handler needs to know about its caller.
pub struct Ctx {
    /// Account and service acted in.
    pub scope: Scope,
    /// `http://host/conversations/v1` or `…/v1/Services/{IS}`: the base of resource URLs.
    pub base: String,
    /// Shared state.
    pub state: web::Data<AppState>,
}

impl FromRequest for Ctx {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Ctx, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = req.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let service_in_path = req.match_info().get("service").map(str::to_owned);
        let origin = state.as_ref().map(|s| origin(req, s)).unwrap_or_default();
        Box::pin(async move {
            let caller = Caller::authenticate(&request).await?;
            let state = state.ok_or(ApiError::Internal)?;
            let v1 = format!("{origin}/conversations/v1");
            let (service, base) = match service_in_path {
                Some(raw) => {
                    let not_found = || ApiError::NotFound(format!("/Services/{raw}"));
                    let sid: ServiceSid = raw.parse().map_err(|_| not_found())?;
                    if !state.accounts.owns_service(&caller.account, &sid).await? {
                        return Err(not_found());
                    }
                    let base = format!("{v1}/Services/{sid}");
                    (sid, base)
                }
                None => {
                    let sid = state
                        .accounts
                        .default_service(&caller.account)
                        .await?
                        .ok_or(ApiError::Internal)?;
                    (sid, v1)
                }
            };
            Ok(Ctx {
                scope: Scope {
                    account: caller.account,
                    service,
                    identity: None,
                    source: Source::Api {
                        webhooks: webhooks_enabled(&request),
                    },
                },
                base,
                state,
            })
        })
    }
}

/// The common part of a product's request context (`/taskrouter`, `/flex-api`): the
/// authenticated account, `{origin}{prefix}` as the base of resource URLs, and the state.
pub async fn product(
    req: &HttpRequest,
    prefix: &str,
) -> Result<(AccountSid, String, web::Data<AppState>), ApiError> {
    let caller = Caller::authenticate(req).await?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or(ApiError::Internal)?;
    let base = format!("{}{prefix}", origin(req, &state));
    Ok((caller.account, base, state))
}

/// Whether a REST request opted into webhooks (`X-Twilio-Webhook-Enabled: true`).
pub fn webhooks_enabled(req: &HttpRequest) -> bool {
    req.headers()
        .get("X-Twilio-Webhook-Enabled")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}
