//! Sign-in for the server's own pages (Switchboard's own resources, no Twilio equivalent):
//! `/switchboard/v1/Logins` manages who may sign in (account Basic auth; passwords are
//! argon2-hashed and never shown), and `POST /switchboard/v1/SignIn` trades a username and
//! password for an access token the WebSocket gateway accepts, as a user's own backend would
//! mint one.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::context::{Caller, origin};
use crate::api::params::{Params, format_datetime};
use crate::error::ApiError;
use crate::gateway::token::{Grants, Role, mint};
use crate::ids::{AccountSid, WorkerSid};
use crate::logins::{self, LoginRecord};
use crate::store::Mutation;
use crate::store::records::now;

/// The API key sign-in tokens are signed with (one per account, created on first use).
pub const SIGNIN_KEY_NAME: &str = "switchboard-signin";

/// Lifetime of a sign-in token; sessions renew in-band before it ends.
pub const TOKEN_TTL_SECS: i64 = 3600;

fn render(base: &str, l: &LoginRecord) -> Value {
    json!({
        "sid": l.sid,
        "account_sid": l.account_sid,
        "username": l.username,
        "role": l.role,
        "identity": l.identity,
        "friendly_name": l.friendly_name,
        "workspace_sid": l.workspace_sid,
        "worker_sid": l.worker_sid,
        "date_created": format_datetime(l.date_created),
        "date_updated": format_datetime(l.date_updated),
        "url": format!("{base}/Logins/{}", l.sid),
    })
}

fn base(req: &HttpRequest, state: &AppState) -> String {
    format!("{}/switchboard/v1", origin(req, state))
}

/// Hashes a password off the async workers (argon2 is slow on purpose).
async fn hash(password: String) -> Result<String, ApiError> {
    web::block(move || logins::hash_password(&password))
        .await
        .map_err(|_| ApiError::Internal)?
}

fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-+".contains(c))
        && !(name.starts_with("LG") && name.len() == 34)
}

fn role(p: &Params) -> Result<Option<String>, ApiError> {
    match p.text("Role", 16)? {
        None => Ok(None),
        Some(r) if r == "agent" || r == "supervisor" => Ok(Some(r)),
        Some(_) => Err(ApiError::invalid("Role", "must be agent or supervisor")),
    }
}

/// Applies `WorkspaceSid`/`WorkerSid`: the worker must exist in the workspace (default: the
/// account's Flex workspace).
async fn worker(
    state: &AppState,
    account: &AccountSid,
    p: &Params,
    login: &mut LoginRecord,
) -> Result<(), ApiError> {
    let workspace = p.text("WorkspaceSid", 34)?;
    let Some(raw) = p.text("WorkerSid", 34)? else {
        if workspace.is_some() {
            login.workspace_sid = workspace;
        }
        return Ok(());
    };
    if raw.is_empty() {
        login.worker_sid = None;
        return Ok(());
    }
    let sid: WorkerSid = raw
        .parse()
        .map_err(|_| ApiError::invalid("WorkerSid", "is not a worker SID"))?;
    let workspace = match workspace.or_else(|| login.workspace_sid.clone()) {
        Some(ws) => ws,
        None => crate::interactions::routing::default_workspace(state, account).await?,
    };
    let known = sid.clone();
    let exists = state
        .routers
        .exec(account, &workspace, move |engine, _| {
            Ok(engine.workers.contains_key(&known))
        })
        .await
        .map_err(|_| ApiError::invalid("WorkspaceSid", "is not a workspace of this account"))?;
    if !exists {
        return Err(ApiError::invalid(
            "WorkerSid",
            format!("{sid} is not a worker of workspace {workspace}"),
        ));
    }
    login.workspace_sid = Some(workspace);
    login.worker_sid = Some(sid.to_string());
    Ok(())
}

/// `POST /switchboard/v1/Logins`
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let username = p.required("Username", 64)?;
    if !valid_username(&username) {
        return Err(ApiError::invalid(
            "Username",
            "must be 1 to 64 letters, digits or ._@-+",
        ));
    }
    let password = p.required("Password", 1024)?;
    let at = now();
    let mut login = LoginRecord {
        sid: LoginRecord::new_sid(),
        account_sid: caller.account.clone(),
        identity: p.text("Identity", 256)?.unwrap_or_else(|| username.clone()),
        username,
        password_hash: hash(password).await?,
        role: role(&p)?.unwrap_or_else(|| "agent".into()),
        friendly_name: p.text("FriendlyName", 256)?,
        workspace_sid: None,
        worker_sid: None,
        date_created: at,
        date_updated: at,
    };
    worker(&state, &caller.account, &p, &mut login).await?;
    let key = format!(
        "login:{}",
        LoginRecord::alt_key(&caller.account, &login.username)
    );
    let guard = state
        .idempotency_locks
        .entry(key.clone())
        .or_default()
        .clone();
    let held = guard.lock().await;
    if logins::find(state.store.as_ref(), &caller.account, &login.username)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "A login named {} already exists",
            login.username
        )));
    }
    state.store.submit(vec![login.put()?]).await?;
    drop(held);
    state
        .idempotency_locks
        .remove_if(&key, |_, l| std::sync::Arc::strong_count(l) <= 2);
    Ok(HttpResponse::Created().json(render(&base(&req, &state), &login)))
}

async fn find(
    caller: &Caller,
    state: &AppState,
    req: &HttpRequest,
) -> Result<LoginRecord, ApiError> {
    let key = req.match_info().get("login").unwrap_or_default();
    logins::find(state.store.as_ref(), &caller.account, key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Logins/{key}")))
}

/// `GET /switchboard/v1/Logins/{LG or username}`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let login = find(&caller, &state, &req).await?;
    Ok(HttpResponse::Ok().json(render(&base(&req, &state), &login)))
}

/// `POST /switchboard/v1/Logins/{LG or username}`: `Password`, `Role`, `Identity`,
/// `FriendlyName`, `WorkspaceSid`, `WorkerSid` (empty: none).
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let mut login = find(&caller, &state, &req).await?;
    if let Some(password) = p.text("Password", 1024)? {
        login.password_hash = hash(password).await?;
    }
    if let Some(r) = role(&p)? {
        login.role = r;
    }
    if let Some(identity) = p.text("Identity", 256)?.filter(|i| !i.is_empty()) {
        login.identity = identity;
    }
    if let Some(name) = p.text("FriendlyName", 256)? {
        login.friendly_name = Some(name);
    }
    worker(&state, &caller.account, &p, &mut login).await?;
    login.date_updated = now();
    state.store.submit(vec![login.put()?]).await?;
    Ok(HttpResponse::Ok().json(render(&base(&req, &state), &login)))
}

/// `DELETE /switchboard/v1/Logins/{LG or username}`
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let login = find(&caller, &state, &req).await?;
    state
        .store
        .submit(vec![Mutation::DeleteDoc(login.sid)])
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /switchboard/v1/Logins`
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let base = base(&req, &state);
    let all: Vec<Value> = logins::list(state.store.as_ref(), &caller.account)
        .await?
        .iter()
        .map(|l| render(&base, l))
        .collect();
    let q = Params::query(&req);
    let page = crate::api::pagination::page_request(&q)?;
    let start = page.offset() as usize;
    let has_more = all.len() > start + page.size as usize;
    let items = all
        .into_iter()
        .skip(start)
        .take(page.size as usize)
        .collect();
    Ok(HttpResponse::Ok().json(crate::api::pagination::render(
        "logins",
        crate::store::Page { items, has_more },
        page,
        &format!("{base}/Logins"),
        &[],
        |v| v,
    )))
}

/// `POST /switchboard/v1/SignIn` (`Username`, `Password`, optional `AccountSid` when the
/// username exists in several accounts) → `{token, identity, role, …}`. No credentials needed:
/// the password is the credential. A wrong username or password answer the same 401.
pub async fn sign_in(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, ApiError> {
    let username = p.required("Username", 64)?;
    let password = p.required("Password", 1024)?;
    let wanted: Option<AccountSid> = match p.text("AccountSid", 34)? {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| ApiError::invalid("AccountSid", "is not an account SID"))?,
        ),
        None => None,
    };
    let mut found = Vec::new();
    for account in state.accounts.sids() {
        if wanted.as_ref().is_some_and(|w| *w != account) {
            continue;
        }
        if let Some(login) = logins::find(state.store.as_ref(), &account, &username).await? {
            found.push(login);
        }
    }
    if found.len() > 1 {
        return Err(ApiError::invalid(
            "AccountSid",
            "this username exists in several accounts: say which",
        ));
    }
    let login = found.pop();
    let hash = login.as_ref().map_or_else(
        || logins::decoy_hash().to_owned(),
        |l| l.password_hash.clone(),
    );
    // Hashing is slow on purpose: off the async workers.
    let matches = tokio::task::spawn_blocking(move || logins::verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let (Some(login), true) = (login, matches) else {
        return Err(ApiError::SignInFailed);
    };
    session(&state, &login).await
}

/// A fresh sign-in token for `login`, with its current role and worker.
async fn session(state: &AppState, login: &LoginRecord) -> Result<HttpResponse, ApiError> {
    let key = state
        .accounts
        .named_key(&login.account_sid, SIGNIN_KEY_NAME)
        .await?;
    let service = state
        .accounts
        .default_service(&login.account_sid)
        .await?
        .map(|s| s.to_string());
    let role = if login.role == "supervisor" {
        Role::Supervisor
    } else {
        Role::Agent
    };
    let grants = Grants::for_role(
        role,
        service,
        login.workspace_sid.clone(),
        login.worker_sid.clone(),
    );
    let issued = now();
    let token = mint(&key, &login.identity, grants, issued, TOKEN_TTL_SECS);
    Ok(HttpResponse::Ok().json(json!({
        "token": token,
        "identity": login.identity,
        "role": login.role,
        "friendly_name": login.friendly_name,
        "account_sid": login.account_sid,
        "workspace_sid": login.workspace_sid,
        "worker_sid": login.worker_sid,
        "expires_at": format_datetime(issued + TOKEN_TTL_SECS),
    })))
}

/// `POST /switchboard/v1/SignIn/Refresh` with `Authorization: Bearer <token>`: a sign-in token
/// that is still valid is traded for a fresh one (the login's current role and worker), so a
/// page stays signed in past the hour. A token not minted by sign-in, an expired one, or one
/// whose login was removed answers 401 "sign in again".
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = crate::api::context::renewable_token(&req, &state, SIGNIN_KEY_NAME, 0).await?;
    let login = logins::list(state.store.as_ref(), &principal.account)
        .await?
        .into_iter()
        .find(|l| l.identity == principal.identity)
        .ok_or(ApiError::SessionEnded)?;
    session(&state, &login).await
}
