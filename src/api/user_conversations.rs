//! `/v1/Users/{US}/Conversations`: a user's view of the conversations its identity takes part
//! in, with unread counts and notification level. Changes go through the conversation actor
//! as participant updates; DELETE makes the user leave the conversation.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use crate::api::context::Ctx;
use crate::api::conversations::resolve;
use crate::api::pagination;
use crate::api::params::{Params, format_datetime as date};
use crate::api::render;
use crate::api::users::find as user;
use crate::conversations::commands::{RemoveParticipant, UpdateParticipant};
use crate::conversations::drafts::ParticipantChanges;
use crate::error::ApiError;
use crate::store::ParticipantKey;
use crate::store::records::{ConversationRecord, ParticipantRecord, UserRecord};

/// The conversation and the user's participant in it.
async fn membership(
    ctx: &Ctx,
    req: &HttpRequest,
) -> Result<(UserRecord, ConversationRecord, ParticipantRecord), ApiError> {
    let user = user(ctx, req).await?;
    let key = req.match_info().get("conversation").unwrap_or_default();
    let conversation = resolve(ctx, key).await?;
    let participant = ctx
        .state
        .store
        .participant(&conversation.sid, &user.identity)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Users/{}/Conversations/{key}", user.sid)))?;
    Ok((user, conversation, participant))
}

async fn render(
    ctx: &Ctx,
    user: &UserRecord,
    c: &ConversationRecord,
    p: &ParticipantRecord,
) -> Result<Value, ApiError> {
    let unread = match p.last_read_message_index {
        Some(index) => Value::from(ctx.state.store.count_messages_after(&c.sid, index).await?),
        None => Value::Null,
    };
    let conv = render::conversation(&ctx.base, c);
    Ok(json!({
        "account_sid": c.account_sid,
        "chat_service_sid": c.service_sid,
        "conversation_sid": c.sid,
        "unread_messages_count": unread,
        "last_read_message_index": p.last_read_message_index,
        "participant_sid": p.sid,
        "user_sid": user.sid,
        "friendly_name": c.friendly_name,
        "conversation_state": c.state.as_str(),
        "timers": conv["timers"].clone(),
        "attributes": c.attributes,
        "date_created": date(c.date_created),
        "date_updated": date(c.date_updated),
        "created_by": Value::Null,
        "notification_level": p.notification_level.as_deref().unwrap_or("default"),
        "unique_name": c.unique_name,
        "url": format!("{}/Users/{}/Conversations/{}", ctx.base, user.sid, c.sid),
        "links": {
            "participant": format!("{}/Conversations/{}/Participants/{}", ctx.base, c.sid, p.sid),
            "conversation": format!("{}/Conversations/{}", ctx.base, c.sid),
        },
    }))
}

/// `GET /Users/{US}/Conversations`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let user = user(&ctx, &req).await?;
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let rows = ctx
        .state
        .store
        .participant_conversations(
            &ctx.scope.service,
            &ParticipantKey::Identity(user.identity.clone()),
            page,
        )
        .await?;
    let mut items = Vec::with_capacity(rows.items.len());
    for (p, c) in &rows.items {
        items.push(render(&ctx, &user, c, p).await?);
    }
    let url = format!("{}/Users/{}/Conversations", ctx.base, user.sid);
    let rendered = crate::store::Page {
        items,
        has_more: rows.has_more,
    };
    Ok(HttpResponse::Ok().json(pagination::render(
        "conversations",
        rendered,
        page,
        &url,
        &[],
        |v| v,
    )))
}

/// `GET /Users/{US}/Conversations/{CH}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (user, c, p) = membership(&ctx, &req).await?;
    Ok(HttpResponse::Ok().json(render(&ctx, &user, &c, &p).await?))
}

/// `POST /Users/{US}/Conversations/{CH}`: `NotificationLevel`, `LastReadMessageIndex`,
/// `LastReadTimestamp`.
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let (user, c, participant) = membership(&ctx, &req).await?;
    let level = match p.get("NotificationLevel") {
        None => None,
        Some(v @ ("default" | "muted")) => Some(v.to_owned()),
        Some(_) => {
            return Err(ApiError::invalid(
                "NotificationLevel",
                "must be default or muted",
            ));
        }
    };
    let timestamp = p.datetime_text("LastReadTimestamp")?.map(Some);
    let changes = ParticipantChanges {
        last_read_message_index: p.unsigned("LastReadMessageIndex")?.map(Some),
        last_read_timestamp: timestamp,
        notification_level: level,
        ..Default::default()
    };
    let updated = ctx
        .state
        .registry
        .call(
            &c.sid,
            UpdateParticipant {
                scope: ctx.scope.clone(),
                key: participant.sid.to_string(),
                changes,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(render(&ctx, &user, &c, &updated).await?))
}

/// `DELETE /Users/{US}/Conversations/{CH}`: the user leaves the conversation.
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (_, c, participant) = membership(&ctx, &req).await?;
    ctx.state
        .registry
        .call(
            &c.sid,
            RemoveParticipant {
                scope: ctx.scope.clone(),
                key: participant.sid.to_string(),
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
