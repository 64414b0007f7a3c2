//! `/v1/Configuration/Addresses` (the address as alternate key): create, fetch, update,
//! delete, list by `Type`. Besides Twilio's parameters, `Routing.*` (Switchboard's "Send to
//! Flex"): `Routing.Enabled`, `Routing.WorkspaceSid`, `Routing.WorkflowSid`,
//! `Routing.TaskChannel`, `Routing.Attributes` (a JSON object added to each task).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::addresses::{self, AddressRecord, AddressRouting, AutoCreation, TYPES, WEBHOOK_FILTERS};
use crate::api::AppState;
use crate::api::context::{Caller, origin};
use crate::api::pagination;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{AddressSid, ServiceSid};
use crate::store::records::now;
use crate::store::{Mutation, Page};

fn render(v1: &str, a: &AddressRecord) -> Value {
    let auto = &a.auto_creation;
    json!({
        "account_sid": a.account_sid,
        "sid": a.sid,
        "address": a.address,
        "type": a.kind,
        "friendly_name": a.friendly_name,
        "address_country": a.address_country,
        "auto_creation": {
            "enabled": auto.enabled,
            "type": auto.kind,
            "conversation_service_sid": auto.conversation_service_sid,
            "webhook_url": auto.webhook_url,
            "webhook_method": auto.webhook_method,
            "webhook_filters": auto.webhook_filters,
            "studio_flow_sid": auto.studio_flow_sid,
            "studio_retry_count": auto.studio_retry_count,
        },
        "routing": a.routing.as_ref().map(|r| json!({
            "workspace_sid": r.workspace_sid,
            "workflow_sid": r.workflow_sid,
            "task_channel": r.task_channel,
            "attributes": r.attributes,
        })),
        "date_created": crate::api::params::format_datetime(a.date_created),
        "date_updated": crate::api::params::format_datetime(a.date_updated),
        "url": format!("{v1}/Configuration/Addresses/{}", a.sid),
    })
}

fn v1(req: &HttpRequest, state: &AppState) -> String {
    format!("{}/conversations/v1", origin(req, state))
}

/// Applies the `AutoCreation.*` parameters to `auto` (create and update).
async fn auto_creation(
    state: &AppState,
    caller: &Caller,
    p: &Params,
    auto: &mut AutoCreation,
) -> Result<(), ApiError> {
    if let Some(enabled) = p.boolean("AutoCreation.Enabled")? {
        auto.enabled = enabled;
    }
    if let Some(kind) = p.text("AutoCreation.Type", 16)? {
        if !["webhook", "studio", "default"].contains(&kind.as_str()) {
            return Err(ApiError::invalid(
                "AutoCreation.Type",
                "must be webhook, studio or default",
            ));
        }
        auto.kind = Some(kind);
    }
    if let Some(raw) = p.text("AutoCreation.ConversationServiceSid", 34)? {
        let sid: ServiceSid = raw.parse().map_err(|_| {
            ApiError::invalid(
                "AutoCreation.ConversationServiceSid",
                "is not a service SID",
            )
        })?;
        if !state.accounts.owns_service(&caller.account, &sid).await? {
            return Err(ApiError::invalid(
                "AutoCreation.ConversationServiceSid",
                "is not a service of this account",
            ));
        }
        auto.conversation_service_sid = Some(sid);
    }
    if let Some(url) = p.http_url("AutoCreation.WebhookUrl", 2048)? {
        auto.webhook_url = Some(url);
    }
    if let Some(method) = p.http_method("AutoCreation.WebhookMethod")? {
        auto.webhook_method = Some(method);
    }
    if p.has("AutoCreation.WebhookFilters") {
        let filters = p.all("AutoCreation.WebhookFilters");
        if let Some(bad) = filters
            .iter()
            .find(|f| !WEBHOOK_FILTERS.contains(&f.as_str()))
        {
            return Err(ApiError::invalid(
                "AutoCreation.WebhookFilters",
                format!("`{bad}` is not a webhook filter"),
            ));
        }
        auto.webhook_filters = Some(filters);
    }
    if let Some(flow) = p.text("AutoCreation.StudioFlowSid", 34)? {
        auto.studio_flow_sid = Some(flow);
    }
    if let Some(n) = p.unsigned("AutoCreation.StudioRetryCount")? {
        if n > 3 {
            return Err(ApiError::invalid(
                "AutoCreation.StudioRetryCount",
                "must be 0 to 3",
            ));
        }
        auto.studio_retry_count = Some(n as u32);
    }
    if auto.enabled && auto.kind.as_deref() == Some("webhook") && auto.webhook_url.is_none() {
        return Err(ApiError::missing("AutoCreation.WebhookUrl"));
    }
    Ok(())
}

/// Applies the `Routing.*` parameters: `Routing.Enabled=false` removes the routing; any other
/// `Routing.*` turns it on.
async fn routing(
    state: &AppState,
    caller: &Caller,
    p: &Params,
    current: &mut Option<AddressRouting>,
) -> Result<(), ApiError> {
    if let Some(enabled) = p.boolean("Routing.Enabled")? {
        if !enabled {
            *current = None;
            return Ok(());
        }
        current.get_or_insert_with(AddressRouting::default);
    }
    let names = [
        "Routing.WorkspaceSid",
        "Routing.WorkflowSid",
        "Routing.TaskChannel",
        "Routing.Attributes",
    ];
    if !names.iter().any(|n| p.has(n)) {
        return Ok(());
    }
    let r = current.get_or_insert_with(AddressRouting::default);
    if let Some(ws) = p.text("Routing.WorkspaceSid", 34)? {
        state.routers.get(&caller.account, &ws).map_err(|_| {
            ApiError::invalid("Routing.WorkspaceSid", "is not a workspace of this account")
        })?;
        r.workspace_sid = Some(ws);
    }
    if let Some(wf) = p.text("Routing.WorkflowSid", 34)? {
        r.workflow_sid = Some(
            wf.parse()
                .map_err(|_| ApiError::invalid("Routing.WorkflowSid", "is not a workflow SID"))?,
        );
    }
    if let Some(tc) = p.text("Routing.TaskChannel", 64)? {
        r.task_channel = Some(tc);
    }
    if let Some(text) = p.json_text("Routing.Attributes")? {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => r.attributes = map,
            _ => {
                return Err(ApiError::invalid(
                    "Routing.Attributes",
                    "must be a JSON object",
                ));
            }
        }
    }
    Ok(())
}

/// Serialises creates of one address so two cannot both pass the uniqueness check.
fn lock(state: &AppState, key: String) -> Arc<tokio::sync::Mutex<()>> {
    state.idempotency_locks.entry(key).or_default().clone()
}

/// `POST /v1/Configuration/Addresses`
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let kind = p.required("Type", 16)?;
    if !TYPES.contains(&kind.as_str()) {
        return Err(ApiError::invalid(
            "Type",
            format!("must be one of {}", TYPES.join(", ")),
        ));
    }
    let address = p.required("Address", 256)?;
    if address.trim().is_empty() {
        return Err(ApiError::invalid("Address", "must not be empty"));
    }
    // Messaging addresses must be what inbound messages carry in `To`.
    if matches!(kind.as_str(), "sms" | "whatsapp" | "messenger") {
        let channel = crate::api::participants::channel_of(&address).map_err(|_| {
            ApiError::invalid(
                "Address",
                format!("`{address}` is not a valid {kind} address (e.g. +15550001111, whatsapp:+15550001111)"),
            )
        })?;
        if channel != kind {
            return Err(ApiError::invalid(
                "Address",
                format!("`{address}` is a {channel} address, not {kind}"),
            ));
        }
    }
    let mut auto = AutoCreation::default();
    auto_creation(&state, &caller, &p, &mut auto).await?;
    let mut route = None;
    routing(&state, &caller, &p, &mut route).await?;
    let key = AddressRecord::alt_key(&caller.account, &address);
    let guard = lock(&state, key.clone());
    let _held = guard.lock().await;
    if addresses::find(state.store.as_ref(), &caller.account, &address)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!(
            "An address configuration for {address} already exists"
        )));
    }
    let at = now();
    let record = AddressRecord {
        sid: AddressSid::generate(),
        account_sid: caller.account.clone(),
        kind,
        address,
        friendly_name: p.text("FriendlyName", 256)?,
        auto_creation: auto,
        address_country: p.text("AddressCountry", 8)?,
        routing: route,
        date_created: at,
        date_updated: at,
    };
    state.store.submit(vec![record.put()?]).await?;
    drop(_held);
    state
        .idempotency_locks
        .remove_if(&key, |_, l| Arc::strong_count(l) <= 2);
    Ok(HttpResponse::Created().json(render(&v1(&req, &state), &record)))
}

async fn find(
    caller: &Caller,
    state: &AppState,
    req: &HttpRequest,
) -> Result<AddressRecord, ApiError> {
    let key = decode_segment(req.match_info().get("address").unwrap_or_default());
    addresses::find(state.store.as_ref(), &caller.account, &key)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Configuration/Addresses/{key}")))
}

/// Percent-decodes a path segment (`%2B15551230000` → `+15551230000`); a literal `+` stays.
fn decode_segment(raw: &str) -> String {
    let escaped = raw.replace('+', "%2B");
    form_urlencoded::parse(format!("k={escaped}").as_bytes())
        .next()
        .map_or_else(|| raw.to_owned(), |(_, v)| v.into_owned())
}

/// `GET /v1/Configuration/Addresses/{IG or address}`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let record = find(&caller, &state, &req).await?;
    Ok(HttpResponse::Ok().json(render(&v1(&req, &state), &record)))
}

/// `POST /v1/Configuration/Addresses/{IG or address}`
pub async fn update(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let mut record = find(&caller, &state, &req).await?;
    auto_creation(&state, &caller, &p, &mut record.auto_creation).await?;
    routing(&state, &caller, &p, &mut record.routing).await?;
    if let Some(name) = p.text("FriendlyName", 256)? {
        record.friendly_name = Some(name);
    }
    record.date_updated = now();
    state.store.submit(vec![record.put()?]).await?;
    Ok(HttpResponse::Ok().json(render(&v1(&req, &state), &record)))
}

/// `DELETE /v1/Configuration/Addresses/{IG or address}`
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let record = find(&caller, &state, &req).await?;
    state
        .store
        .submit(vec![Mutation::DeleteDoc(record.sid.to_string())])
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/Configuration/Addresses` (filter `Type`)
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let kind = q.get("Type").map(str::to_owned);
    let v1 = v1(&req, &state);
    let all: Vec<Value> = addresses::list(state.store.as_ref(), &caller.account)
        .await?
        .into_iter()
        .filter(|a| kind.as_deref().is_none_or(|k| a.kind == k))
        .map(|a| render(&v1, &a))
        .collect();
    let start = page.offset() as usize;
    let has_more = all.len() > start + page.size as usize;
    let items = all
        .into_iter()
        .skip(start)
        .take(page.size as usize)
        .collect();
    let url = format!("{v1}/Configuration/Addresses");
    let filters: Vec<(&str, String)> = kind.map(|k| ("Type", k)).into_iter().collect();
    Ok(HttpResponse::Ok().json(pagination::render(
        "address_configurations",
        Page { items, has_more },
        page,
        &url,
        &filters,
        |v| v,
    )))
}
