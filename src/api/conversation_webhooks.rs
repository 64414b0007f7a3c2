//! `/v1/Conversations/{CH}/Webhooks[/{WH}]` (also under `/v1/Services/{IS}/…`): the
//! conversation-scoped webhooks — create, fetch, update, delete, list.
//!
//! A `webhook` target posts the post-events named in `Configuration.Filters`; a `trigger`
//! target posts `onMessageAdded` when the body holds one of `Configuration.Triggers` as a word
//! (Twilio echoes those keywords in `configuration.filters`, so we store and show them there
//! too); a `studio` target only records `Configuration.FlowSid` (there is no Studio here, so it
//! never fires). At most [`MAX_PER_CONVERSATION`] per conversation.
//!
//! `Configuration.ReplayAfter` is validated (a non-negative message index) and otherwise
//! ignored: messages posted before the webhook existed are not replayed to it.
//!
//! The store is the source of truth for reads; each committed write is then applied to the
//! webhook [`Directory`](crate::webhooks::config::Directory) that the conversation actors read
//! when they decide deliveries. Writes of one conversation's webhooks are serialised so the
//! limit holds and the Directory ends up in commit order. Never fires anything itself.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::api::context::Ctx;
use crate::api::conversations::resolve;
use crate::api::pagination;
use crate::api::params::{Params, format_datetime};
use crate::error::ApiError;
use crate::ids::{WebhookSid, has_sid_shape};
use crate::store::records::{ConversationRecord, now};
use crate::store::{Mutation, Page};
use crate::webhooks::config::{SCOPED_KIND, ScopedWebhook};

/// How many webhooks one conversation may have.
pub const MAX_PER_CONVERSATION: usize = 5;

/// The events a `webhook` target may filter on (scoped webhooks get post-events only).
pub const POST_EVENTS: &[&str] = crate::webhooks::config::SCOPED_EVENTS;

/// Longest accepted URL.
const MAX_URL: usize = 2048;
/// Longest accepted trigger keyword.
const MAX_KEYWORD: usize = 256;

fn render(base: &str, h: &ScopedWebhook) -> Value {
    let configuration = match h.target.as_str() {
        "studio" => json!({ "flow_sid": h.flow_sid }),
        "trigger" => json!({
            "url": h.url,
            "method": h.method,
            "filters": h.filters,
            "triggers": h.triggers,
        }),
        _ => json!({
            "url": h.url,
            "method": h.method,
            "filters": h.filters,
        }),
    };
    json!({
        "sid": h.sid,
        "account_sid": h.account_sid,
        "chat_service_sid": h.service_sid,
        "conversation_sid": h.conversation_sid,
        "target": h.target,
        "url": format!("{base}/Conversations/{}/Webhooks/{}", h.conversation_sid, h.sid),
        "configuration": configuration,
        "date_created": format_datetime(h.date_created),
        "date_updated": format_datetime(h.date_updated),
    })
}

/// The conversation of the path, in the caller's account and service.
async fn conversation(ctx: &Ctx, req: &HttpRequest) -> Result<ConversationRecord, ApiError> {
    let key = req.match_info().get("conversation").unwrap_or_default();
    resolve(ctx, key).await
}

fn decode(data: &str) -> Result<ScopedWebhook, ApiError> {
    serde_json::from_str(data).map_err(|e| {
        tracing::error!(error = %e, "stored conversation webhook does not decode");
        ApiError::Internal
    })
}

/// The conversation's webhooks as stored, oldest first.
async fn stored(ctx: &Ctx, conv: &ConversationRecord) -> Result<Vec<ScopedWebhook>, ApiError> {
    ctx.state
        .store
        .docs_in(conv.sid.as_str())
        .await?
        .iter()
        .filter(|(kind, _)| kind == SCOPED_KIND)
        .map(|(_, data)| decode(data))
        .collect()
}

/// One webhook of the conversation (404 for a malformed SID or another conversation's).
async fn find(
    ctx: &Ctx,
    req: &HttpRequest,
    conv: &ConversationRecord,
) -> Result<ScopedWebhook, ApiError> {
    let key = req.match_info().get("webhook").unwrap_or_default();
    let not_found = || ApiError::NotFound(format!("/Conversations/{}/Webhooks/{key}", conv.sid));
    if !has_sid_shape(WebhookSid::PREFIX, key) {
        return Err(not_found());
    }
    let Some(doc) = ctx.state.store.doc(key).await? else {
        return Err(not_found());
    };
    if doc.kind != SCOPED_KIND || doc.scope != conv.sid.as_str() {
        return Err(not_found());
    }
    let hook = decode(&doc.data)?;
    if hook.account_sid != conv.account_sid {
        return Err(not_found());
    }
    Ok(hook)
}

/// Serialises writes to one conversation's webhooks.
fn lock(ctx: &Ctx, conv: &ConversationRecord) -> (String, Arc<tokio::sync::Mutex<()>>) {
    let key = format!("conversation-webhooks:{}", conv.sid);
    let lock = ctx
        .state
        .idempotency_locks
        .entry(key.clone())
        .or_default()
        .clone();
    (key, lock)
}

/// Drops the lock entry once nobody else holds or waits for it.
fn unlock(ctx: &Ctx, key: &str) {
    ctx.state
        .idempotency_locks
        .remove_if(key, |_, l| Arc::strong_count(l) <= 1);
}

/// Values of a repeated parameter; each value may also hold a comma-separated list.
fn list_param(p: &Params, name: &str) -> Vec<String> {
    p.all(name)
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Applies the `Configuration.*` parameters of a create or update, then checks that the
/// result is complete for its target.
fn apply(p: &Params, hook: &mut ScopedWebhook) -> Result<(), ApiError> {
    if let Some(url) = p.http_url("Configuration.Url", MAX_URL)? {
        hook.url = Some(url);
    }
    if let Some(method) = p.http_method("Configuration.Method")? {
        hook.method = method;
    }
    if let Some(flow) = p.text("Configuration.FlowSid", 34)? {
        if !has_sid_shape("FW", &flow) {
            return Err(ApiError::invalid(
                "Configuration.FlowSid",
                "is not a Studio Flow SID (FW…)",
            ));
        }
        hook.flow_sid = Some(flow);
    }
    let filters = p
        .has("Configuration.Filters")
        .then(|| list_param(p, "Configuration.Filters"));
    let triggers = p
        .has("Configuration.Triggers")
        .then(|| list_param(p, "Configuration.Triggers"));
    match hook.target.as_str() {
        "webhook" => {
            if let Some(filters) = filters {
                if let Some(bad) = filters.iter().find(|f| !POST_EVENTS.contains(&f.as_str())) {
                    return Err(ApiError::invalid(
                        "Configuration.Filters",
                        format!(
                            "`{bad}` is not a post-event; one of {}",
                            POST_EVENTS.join(", ")
                        ),
                    ));
                }
                hook.filters = filters;
            }
            if hook.url.is_none() {
                return Err(ApiError::missing("Configuration.Url"));
            }
        }
        "trigger" => {
            // Twilio shows the keywords as `filters`; a client that sends them back that way
            // means the same keywords.
            if let Some(keywords) = triggers.or(filters) {
                if keywords.iter().any(|k| k.chars().count() > MAX_KEYWORD) {
                    return Err(ApiError::invalid(
                        "Configuration.Triggers",
                        format!("keywords must be at most {MAX_KEYWORD} characters"),
                    ));
                }
                hook.triggers = keywords.clone();
                hook.filters = keywords;
            }
            if hook.url.is_none() {
                return Err(ApiError::missing("Configuration.Url"));
            }
            if hook.triggers.is_empty() {
                return Err(ApiError::missing("Configuration.Triggers"));
            }
        }
        _ => {
            if hook.flow_sid.is_none() {
                return Err(ApiError::missing("Configuration.FlowSid"));
            }
        }
    }
    Ok(())
}

/// Stores `hook`, then makes it live.
async fn save(ctx: &Ctx, hook: &ScopedWebhook) -> Result<(), ApiError> {
    ctx.state.store.submit(vec![hook.put()]).await?;
    ctx.state.hooks.directory.put_scoped(hook.clone());
    Ok(())
}

/// `POST /Conversations/{CH}/Webhooks`
pub async fn create(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let conv = conversation(&ctx, &req).await?;
    let target = p.required("Target", 16)?;
    if !["webhook", "trigger", "studio"].contains(&target.as_str()) {
        return Err(ApiError::invalid(
            "Target",
            "must be webhook, trigger or studio",
        ));
    }
    // Accepted for compatibility; nothing is replayed (see the module doc).
    p.unsigned("Configuration.ReplayAfter")?;
    let at = now();
    let mut hook = ScopedWebhook {
        sid: WebhookSid::generate(),
        account_sid: conv.account_sid.clone(),
        service_sid: conv.service_sid.clone(),
        conversation_sid: conv.sid.clone(),
        target,
        url: None,
        method: "POST".into(),
        filters: Vec::new(),
        triggers: Vec::new(),
        flow_sid: None,
        date_created: at,
        date_updated: at,
    };
    apply(&p, &mut hook)?;
    if hook.target == "studio" {
        hook.url = None;
    }
    let (key, guard) = lock(&ctx, &conv);
    let held = guard.lock().await;
    let result = async {
        if stored(&ctx, &conv).await?.len() >= MAX_PER_CONVERSATION {
            return Err(ApiError::Conflict(format!(
                "Conversation {} already has the maximum of {MAX_PER_CONVERSATION} webhooks",
                conv.sid
            )));
        }
        save(&ctx, &hook).await
    }
    .await;
    drop(held);
    drop(guard);
    unlock(&ctx, &key);
    result?;
    Ok(HttpResponse::Created().json(render(&ctx.base, &hook)))
}

/// `GET /Conversations/{CH}/Webhooks/{WH}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let conv = conversation(&ctx, &req).await?;
    let hook = find(&ctx, &req, &conv).await?;
    Ok(HttpResponse::Ok().json(render(&ctx.base, &hook)))
}

/// `POST /Conversations/{CH}/Webhooks/{WH}`
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let conv = conversation(&ctx, &req).await?;
    let (key, guard) = lock(&ctx, &conv);
    let held = guard.lock().await;
    let result = async {
        let mut hook = find(&ctx, &req, &conv).await?;
        apply(&p, &mut hook)?;
        if hook.target == "studio" {
            hook.url = None;
        }
        hook.date_updated = now();
        save(&ctx, &hook).await?;
        Ok::<_, ApiError>(hook)
    }
    .await;
    drop(held);
    drop(guard);
    unlock(&ctx, &key);
    Ok(HttpResponse::Ok().json(render(&ctx.base, &result?)))
}

/// `DELETE /Conversations/{CH}/Webhooks/{WH}`
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let conv = conversation(&ctx, &req).await?;
    let (key, guard) = lock(&ctx, &conv);
    let held = guard.lock().await;
    let result = async {
        let hook = find(&ctx, &req, &conv).await?;
        ctx.state
            .store
            .submit(vec![Mutation::DeleteDoc(hook.sid.to_string())])
            .await?;
        ctx.state
            .hooks
            .directory
            .remove_scoped(&hook.conversation_sid, &hook.sid);
        Ok::<_, ApiError>(())
    }
    .await;
    drop(held);
    drop(guard);
    unlock(&ctx, &key);
    result?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Conversations/{CH}/Webhooks`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let conv = conversation(&ctx, &req).await?;
    let all = stored(&ctx, &conv).await?;
    let start = page.offset() as usize;
    let has_more = all.len() > start + page.size as usize;
    let items = all
        .into_iter()
        .skip(start)
        .take(page.size as usize)
        .collect();
    let url = format!("{}/Conversations/{}/Webhooks", ctx.base, conv.sid);
    Ok(HttpResponse::Ok().json(pagination::render(
        "webhooks",
        Page { items, has_more },
        page,
        &url,
        &[],
        |h| render(&ctx.base, &h),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountSid, ConversationSid, ServiceSid};

    fn hook(target: &str) -> ScopedWebhook {
        ScopedWebhook {
            sid: WebhookSid::generate(),
            account_sid: AccountSid::generate(),
            service_sid: ServiceSid::generate(),
            conversation_sid: ConversationSid::generate(),
            target: target.into(),
            url: None,
            method: "POST".into(),
            filters: Vec::new(),
            triggers: Vec::new(),
            flow_sid: None,
            date_created: 0,
            date_updated: 0,
        }
    }

    fn params(raw: &'static str) -> Params {
        Params::parse(bytes::Bytes::from_static(raw.as_bytes()))
    }

    #[test]
    fn webhook_needs_a_url_and_post_event_filters() {
        let mut h = hook("webhook");
        let err = apply(&params("Configuration.Filters=onMessageAdded"), &mut h)
            .expect_err("url missing");
        assert!(err.to_string().contains("Configuration.Url"), "{err}");
        let mut h = hook("webhook");
        let err = apply(
            &params("Configuration.Url=https://x.test/&Configuration.Filters=onMessageAdd"),
            &mut h,
        )
        .expect_err("pre-event refused");
        assert!(err.to_string().contains("Configuration.Filters"), "{err}");
        let mut h = hook("webhook");
        apply(
            &params(
                "Configuration.Url=https://x.test/&Configuration.Method=get\
                 &Configuration.Filters=onMessageAdded&Configuration.Filters=onParticipantAdded",
            ),
            &mut h,
        )
        .expect("valid");
        assert_eq!(h.method, "GET");
        assert_eq!(h.filters, vec!["onMessageAdded", "onParticipantAdded"]);
        let mut h = hook("webhook");
        assert!(apply(&params("Configuration.Url=ftp://x.test/"), &mut h).is_err());
        let mut h = hook("webhook");
        assert!(
            apply(
                &params("Configuration.Url=https://x.test/&Configuration.Method=PUT"),
                &mut h
            )
            .is_err()
        );
    }

    #[test]
    fn trigger_keywords_are_echoed_as_filters_and_studio_needs_a_flow() {
        let mut h = hook("trigger");
        apply(
            &params(
                "Configuration.Url=https://x.test/&Configuration.Triggers=help&Configuration.Triggers=agent",
            ),
            &mut h,
        )
        .expect("valid");
        assert_eq!(h.triggers, vec!["help", "agent"]);
        assert_eq!(h.filters, h.triggers);
        let mut h = hook("trigger");
        let err = apply(&params("Configuration.Url=https://x.test/"), &mut h)
            .expect_err("keywords missing");
        assert!(err.to_string().contains("Configuration.Triggers"), "{err}");
        let mut h = hook("studio");
        let err = apply(&params(""), &mut h).expect_err("flow missing");
        assert!(err.to_string().contains("Configuration.FlowSid"), "{err}");
        let mut h = hook("studio");
        assert!(apply(&params("Configuration.FlowSid=XX1"), &mut h).is_err());
        let mut h = hook("studio");
        apply(
            &params("Configuration.FlowSid=FW0123456789abcdef0123456789abcdef"),
            &mut h,
        )
        .expect("valid");
        let shown = render("http://h/conversations/v1", &h);
        assert_eq!(
            shown["configuration"],
            json!({"flow_sid": "FW0123456789abcdef0123456789abcdef"})
        );
    }
}
