//! `/v1/Conversations/{CH}/Messages` and their delivery `Receipts`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::api::context::Ctx;
use crate::api::conversations::{resolve, resolve_sid};
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::render;
use crate::conversations::commands::{DeleteMessage, EditMessage, PostMessage};
use crate::conversations::drafts::{MessageChanges, MessageDraft};
use crate::error::ApiError;
use crate::ids::MediaSid;
use crate::store::records::MessageRecord;

/// Twilio's body limit.
pub const MAX_BODY_CHARS: usize = 1600;

fn body(p: &Params) -> Result<Option<String>, ApiError> {
    match p.get("Body") {
        Some(b) if b.chars().count() > MAX_BODY_CHARS => Err(ApiError::BodyTooLong),
        other => Ok(other.map(str::to_owned)),
    }
}

fn key(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

/// `POST /Conversations/{CH}/Messages`
pub async fn create(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let sid = resolve_sid(&ctx, &key(&req, "conversation")).await?;
    let mut draft = MessageDraft {
        author: p.text("Author", 256)?.filter(|v| !v.is_empty()),
        body: body(&p)?,
        subject: p.text("Subject", 256)?,
        attributes: p.json_text("Attributes")?,
        content_sid: p.text("ContentSid", 34)?.filter(|v| !v.is_empty()),
        client_message_id: None,
        media: None,
        date_created: p.datetime("DateCreated")?,
        date_updated: p.datetime("DateUpdated")?,
    };
    p.json_text("ContentVariables")?;
    if let Some(media) = p.sid::<MediaSid>("MediaSid")? {
        draft.media = super::media::attachments(&ctx.state, &ctx.scope.service, &[media]).await?;
    }
    if draft.body.as_deref().is_none_or(str::is_empty)
        && draft.content_sid.is_none()
        && draft.media.is_none()
    {
        return Err(ApiError::InvalidParameter(
            "Missing required parameter Body, MediaSid or ContentSid".into(),
        ));
    }
    idempotency::once(&ctx.state, &req, &ctx.scope.account, &p, || async {
        let record = ctx
            .state
            .registry
            .call(
                &sid,
                PostMessage {
                    scope: ctx.scope.clone(),
                    draft,
                },
            )
            .await?;
        Ok((StatusCode::CREATED, render::message(&ctx.base, &record)))
    })
    .await
}

async fn find(ctx: &Ctx, req: &HttpRequest) -> Result<MessageRecord, ApiError> {
    let conversation = resolve(ctx, &key(req, "conversation")).await?;
    let mkey = key(req, "message");
    ctx.state
        .store
        .message(&conversation.sid, &mkey)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "/Conversations/{}/Messages/{mkey}",
                conversation.sid
            ))
        })
}

/// `GET /Conversations/{CH}/Messages/{IM or index}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let record = find(&ctx, &req).await?;
    Ok(HttpResponse::Ok().json(render::message(&ctx.base, &record)))
}

/// `POST /Conversations/{CH}/Messages/{IM or index}`
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let sid = resolve_sid(&ctx, &key(&req, "conversation")).await?;
    let changes = MessageChanges {
        author: p.text("Author", 256)?,
        body: body(&p)?,
        subject: p.text("Subject", 256)?,
        attributes: p.json_text("Attributes")?,
        date_created: p.datetime("DateCreated")?,
        date_updated: p.datetime("DateUpdated")?,
    };
    let record = ctx
        .state
        .registry
        .call(
            &sid,
            EditMessage {
                scope: ctx.scope.clone(),
                key: key(&req, "message"),
                changes,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(render::message(&ctx.base, &record)))
}

/// `DELETE /Conversations/{CH}/Messages/{IM or index}`
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let sid = resolve_sid(&ctx, &key(&req, "conversation")).await?;
    ctx.state
        .registry
        .call(
            &sid,
            DeleteMessage {
                scope: ctx.scope.clone(),
                key: key(&req, "message"),
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Conversations/{CH}/Messages?Order=asc|desc`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let conversation = resolve(&ctx, &key(&req, "conversation")).await?;
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let descending = match q.get("Order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::invalid("Order", "must be asc or desc")),
    };
    let filters: Vec<(&str, String)> = q
        .get("Order")
        .map(|o| vec![("Order", o.to_owned())])
        .unwrap_or_default();
    let rows = ctx
        .state
        .store
        .messages(&conversation.sid, descending, page)
        .await?;
    let url = format!("{}/Conversations/{}/Messages", ctx.base, conversation.sid);
    Ok(HttpResponse::Ok().json(pagination::render(
        "messages",
        rows,
        page,
        &url,
        &filters,
        |m| render::message(&ctx.base, &m),
    )))
}

/// `GET …/Messages/{IM}/Receipts`: the delivery receipts of a message, one per recipient.
pub async fn receipts(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let message = find(&ctx, &req).await?;
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let url = format!(
        "{}/Conversations/{}/Messages/{}/Receipts",
        ctx.base, message.conversation_sid, message.sid
    );
    let rows = ctx.state.store.receipts(&message.sid, page).await?;
    Ok(HttpResponse::Ok().json(pagination::render(
        "delivery_receipts",
        rows,
        page,
        &url,
        &[],
        |r| render::receipt(&ctx.base, &r),
    )))
}

/// `GET …/Messages/{IM}/Receipts/{DY}`
pub async fn receipt(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let message = find(&ctx, &req).await?;
    let sid = key(&req, "receipt");
    let not_found = || ApiError::NotFound(format!("/Messages/{}/Receipts/{sid}", message.sid));
    if !crate::ids::has_sid_shape("DY", &sid) {
        return Err(not_found());
    }
    match ctx.state.store.receipt(&message.sid, &sid).await? {
        Some(r) => Ok(HttpResponse::Ok().json(render::receipt(&ctx.base, &r))),
        None => Err(not_found()),
    }
}
