//! `/v1/Conversations` and `/v1/ConversationWithParticipants` (also under
//! `/v1/Services/{IS}/…`): create, fetch (by SID or unique name), update, delete, list with
//! `State`/`StartDate`/`EndDate` filters.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::api::context::Ctx;
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::participants::{conversation_role, participant_draft_from_json};
use crate::api::render;
use crate::conversations::commands::{DeleteConversation, UpdateConversation};
use crate::conversations::drafts::{ConversationChanges, ConversationDraft, TimerSpec};
use crate::conversations::state::{new_conversation, new_participant};
use crate::conversations::timers::iso_duration_secs;
use crate::error::ApiError;
use crate::ids::{ConversationSid, has_sid_shape};
use crate::store::ConversationFilter;
use crate::store::records::{ConversationRecord, ConversationState, now};

/// Resolves a path key (SID or unique name) to the conversation's SID within the caller's
/// scope. A well-formed SID is trusted here: its actor checks existence and scope.
pub async fn resolve_sid(ctx: &Ctx, key: &str) -> Result<ConversationSid, ApiError> {
    if has_sid_shape("CH", key) {
        return key
            .parse()
            .map_err(|_| ApiError::NotFound(format!("/Conversations/{key}")));
    }
    Ok(resolve(ctx, key).await?.sid)
}

/// Loads a conversation by SID or unique name within the caller's scope.
pub async fn resolve(ctx: &Ctx, key: &str) -> Result<ConversationRecord, ApiError> {
    ctx.state
        .store
        .conversation(&ctx.scope.service, key)
        .await?
        .filter(|c| c.account_sid == ctx.scope.account)
        .ok_or_else(|| ApiError::NotFound(format!("/Conversations/{key}")))
}

fn timer(p: &Params, name: &str, min: Duration) -> Result<Option<TimerSpec>, ApiError> {
    let Some(text) = p.text(name, 64)? else {
        return Ok(None);
    };
    let secs = iso_duration_secs(&text)
        .ok_or_else(|| ApiError::invalid(name, "must be an ISO-8601 duration such as PT10M"))?;
    if secs < min.as_secs() as i64 {
        return Err(ApiError::invalid(
            name,
            format!("must be at least {} seconds", min.as_secs()),
        ));
    }
    Ok(Some(TimerSpec { text, secs }))
}

fn state_param(p: &Params) -> Result<Option<ConversationState>, ApiError> {
    match p.get("State") {
        None => Ok(None),
        Some(s) => ConversationState::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("State", "must be one of active, inactive, closed")),
    }
}

fn unique_name(p: &Params) -> Result<Option<String>, ApiError> {
    let name = p.text("UniqueName", 256)?;
    if name.as_deref().is_some_and(|n| has_sid_shape("CH", n)) {
        return Err(ApiError::UniqueNameLooksLikeSid);
    }
    Ok(name)
}

fn email_bindings(p: &Params) -> Result<Option<serde_json::Value>, ApiError> {
    let address = p.text("Bindings.Email.Address", 256)?;
    let name = p.text("Bindings.Email.Name", 256)?;
    if address.is_none() && name.is_none() {
        return Ok(None);
    }
    Ok(Some(json!({"email": {"address": address, "name": name}})))
}

async fn draft(ctx: &Ctx, p: &Params) -> Result<ConversationDraft, ApiError> {
    let settings = &ctx.state.settings.conversations;
    let state = state_param(p)?;
    if state == Some(ConversationState::Closed) {
        return Err(ApiError::InitialStateClosed);
    }
    let mut d = ConversationDraft {
        friendly_name: p.text("FriendlyName", 256)?,
        unique_name: unique_name(p)?,
        attributes: p.json_text("Attributes")?,
        state,
        timers_inactive: timer(p, "Timers.Inactive", settings.min_inactive_timer)?,
        timers_closed: timer(p, "Timers.Closed", settings.min_closed_timer)?,
        messaging_service_sid: p.sid("MessagingServiceSid")?,
        date_created: p.datetime("DateCreated")?,
        date_updated: p.datetime("DateUpdated")?,
        bindings: email_bindings(p)?,
    };
    // Account defaults apply when the request sets no timer of its own.
    if d.timers_inactive.is_none() || d.timers_closed.is_none() {
        let config = ctx.state.store.account_config(&ctx.scope.account).await?;
        let default_timer = |text: Option<String>| {
            text.and_then(|t| iso_duration_secs(&t).map(|secs| TimerSpec { text: t, secs }))
        };
        if let Some(config) = config {
            if d.timers_inactive.is_none() {
                d.timers_inactive = default_timer(config.default_inactive_timer);
            }
            if d.timers_closed.is_none() {
                d.timers_closed = default_timer(config.default_closed_timer);
            }
        }
    }
    Ok(d)
}

/// `POST /Conversations`
pub async fn create(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    idempotency::once(&ctx.state, &req, &ctx.scope.account, &p, || async {
        let record = new_conversation(&ctx.scope, draft(&ctx, &p).await?, now());
        let (record, _) = ctx
            .state
            .registry
            .create(record, Vec::new(), ctx.scope.source)
            .await?;
        Ok((
            StatusCode::CREATED,
            render::conversation(&ctx.base, &record),
        ))
    })
    .await
}

/// `POST /ConversationWithParticipants`
pub async fn create_with_participants(
    ctx: Ctx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    idempotency::once(&ctx.state, &req, &ctx.scope.account, &p, || async {
        let raw = p.all("Participant");
        if raw.len() > 10 {
            return Err(ApiError::invalid("Participant", "at most 10 participants"));
        }
        let at = now();
        let record = new_conversation(&ctx.scope, draft(&ctx, &p).await?, at);
        let config = ctx.state.store.service_config(&ctx.scope.service).await?;
        let mut participants = Vec::with_capacity(raw.len());
        for text in &raw {
            let mut d = participant_draft_from_json(text)?;
            d.role_sid = conversation_role(&ctx, d.role_sid.take()).await?;
            if d.role_sid.is_none() {
                d.role_sid = config
                    .as_ref()
                    .map(|c| c.default_conversation_role_sid.clone());
            }
            let dup_identity = d.identity.is_some()
                && participants
                    .iter()
                    .any(|x: &crate::store::records::ParticipantRecord| x.identity == d.identity);
            if dup_identity {
                return Err(ApiError::ParticipantIdentityTaken);
            }
            participants.push(new_participant(&record, d, at));
        }
        let (record, participants) = ctx
            .state
            .registry
            .create(record, participants, ctx.scope.source)
            .await?;
        let mut body = render::conversation(&ctx.base, &record);
        body["participants"] = participants
            .iter()
            .map(|x| render::participant(&ctx.base, x))
            .collect();
        Ok((StatusCode::CREATED, body))
    })
    .await
}

/// `GET /Conversations/{sid or unique name}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let key = req.match_info().get("conversation").unwrap_or_default();
    let record = resolve(&ctx, key).await?;
    Ok(HttpResponse::Ok().json(render::conversation(&ctx.base, &record)))
}

/// `POST /Conversations/{sid or unique name}`
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let key = req.match_info().get("conversation").unwrap_or_default();
    let sid = resolve_sid(&ctx, key).await?;
    let settings = &ctx.state.settings.conversations;
    let optional = |name: &str| -> Result<Option<Option<String>>, ApiError> {
        Ok(if p.has(name) {
            Some(p.text(name, 256)?.filter(|v| !v.is_empty()))
        } else {
            None
        })
    };
    let changes = ConversationChanges {
        friendly_name: optional("FriendlyName")?,
        unique_name: if p.has("UniqueName") {
            Some(unique_name(&p)?.filter(|v| !v.is_empty()))
        } else {
            None
        },
        attributes: p.json_text("Attributes")?,
        state: state_param(&p)?,
        timers_inactive: timer(&p, "Timers.Inactive", settings.min_inactive_timer)?,
        timers_closed: timer(&p, "Timers.Closed", settings.min_closed_timer)?,
        messaging_service_sid: p.sid("MessagingServiceSid")?,
        date_created: p.datetime("DateCreated")?,
        date_updated: p.datetime("DateUpdated")?,
        bindings: email_bindings(&p)?,
    };
    let record = ctx
        .state
        .registry
        .call(
            &sid,
            UpdateConversation {
                scope: ctx.scope.clone(),
                changes,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(render::conversation(&ctx.base, &record)))
}

/// `DELETE /Conversations/{sid or unique name}`
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let key = req.match_info().get("conversation").unwrap_or_default();
    let sid = resolve_sid(&ctx, key).await?;
    ctx.state
        .registry
        .call(
            &sid,
            DeleteConversation {
                scope: ctx.scope.clone(),
            },
        )
        .await?;
    // The store dropped its scoped webhooks with it.
    ctx.state.hooks.directory.forget_conversation(&sid);
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Conversations?State=&StartDate=&EndDate=`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let filter = ConversationFilter {
        state: state_param(&q)?,
        start: q.datetime("StartDate")?,
        end: q.datetime("EndDate")?.map(|t| {
            // A bare date means the whole day.
            if q.get("EndDate").is_some_and(|v| v.len() == 10) {
                t + 86_399
            } else {
                t
            }
        }),
    };
    let mut filters = Vec::new();
    for name in ["State", "StartDate", "EndDate"] {
        if let Some(v) = q.get(name) {
            filters.push((name, v.to_owned()));
        }
    }
    let rows = ctx
        .state
        .store
        .conversations(&ctx.scope.service, &filter, page)
        .await?;
    let url = format!("{}/Conversations", ctx.base);
    Ok(HttpResponse::Ok().json(pagination::render(
        "conversations",
        rows,
        page,
        &url,
        &filters,
        |c| render::conversation(&ctx.base, &c),
    )))
}
