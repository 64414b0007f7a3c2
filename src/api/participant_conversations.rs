//! `GET /v1/ParticipantConversations?Identity=…|Address=…`: every conversation an identity or
//! address participates in.

use actix_web::{HttpRequest, HttpResponse};

use crate::api::context::Ctx;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::render;
use crate::error::ApiError;
use crate::store::ParticipantKey;

/// `GET /ParticipantConversations`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let (key, filter) = match (q.get("Identity"), q.get("Address")) {
        (Some(i), None) => (
            ParticipantKey::Identity(i.to_owned()),
            ("Identity", i.to_owned()),
        ),
        (None, Some(a)) => (
            ParticipantKey::Address(a.to_owned()),
            ("Address", a.to_owned()),
        ),
        _ => {
            return Err(ApiError::InvalidParameter(
                "Exactly one of Identity or Address is required".into(),
            ));
        }
    };
    let rows = ctx
        .state
        .store
        .participant_conversations(&ctx.scope.service, &key, page)
        .await?;
    let url = format!("{}/ParticipantConversations", ctx.base);
    Ok(HttpResponse::Ok().json(pagination::render(
        "conversations",
        rows,
        page,
        &url,
        &[filter],
        |(p, c)| render::participant_conversation(&ctx.base, &p, &c),
    )))
}
