//! `/v1/Conversations/{CH}/Participants`: chat participants (identity) and messaging
//! participants (address + proxy address), with read horizons.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::api::context::Ctx;
use crate::api::conversations::{resolve, resolve_sid};
use crate::api::idempotency;
use crate::api::pagination;
use crate::api::params::Params;
use crate::api::render;
use crate::conversations::commands::{AddParticipant, RemoveParticipant, UpdateParticipant};
use crate::conversations::drafts::{ParticipantChanges, ParticipantDraft};
use crate::error::ApiError;
use crate::ids::RoleSid;
use crate::store::records::MessagingBinding;

/// Checks an address and names its channel from its prefix.
pub fn channel_of(address: &str) -> Result<&'static str, ApiError> {
    let bad = || ApiError::InvalidBindingAddress(address.chars().take(64).collect());
    if address.is_empty() || address.len() > 256 {
        return Err(bad());
    }
    let e164 = |s: &str| {
        s.strip_prefix('+')
            .is_some_and(|d| (4..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(rest) = address.strip_prefix("whatsapp:") {
        return if e164(rest) {
            Ok("whatsapp")
        } else {
            Err(bad())
        };
    }
    if let Some(rest) = address.strip_prefix("messenger:") {
        return if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok("messenger")
        } else {
            Err(bad())
        };
    }
    if e164(address) { Ok("sms") } else { Err(bad()) }
}

fn binding(
    address: Option<String>,
    proxy: Option<String>,
    projected: Option<String>,
) -> Result<Option<MessagingBinding>, ApiError> {
    match (address, proxy, projected) {
        (None, None, None) => Ok(None),
        (None, Some(_), None) => Err(ApiError::missing("MessagingBinding.Address")),
        (Some(_), None, None) => Err(ApiError::missing("MessagingBinding.ProxyAddress")),
        (address, proxy, projected) => {
            let kind = match (&address, &projected) {
                (Some(a), _) => channel_of(a)?,
                (None, Some(p)) => channel_of(p)?,
                (None, None) => "sms",
            };
            if let Some(p) = &proxy
                && channel_of(p)? != kind
            {
                return Err(ApiError::InvalidBindingAddress(p.clone()));
            }
            Ok(Some(MessagingBinding {
                kind: kind.into(),
                address,
                proxy_address: proxy,
                projected_address: projected,
            }))
        }
    }
}

fn validate_draft(d: ParticipantDraft) -> Result<ParticipantDraft, ApiError> {
    let address = d.binding.as_ref().and_then(|b| b.address.as_ref());
    match (&d.identity, address) {
        (None, None) if d.binding.is_none() => Err(ApiError::InvalidParameter(
            "Either Identity or MessagingBinding.Address must be specified".into(),
        )),
        (Some(_), Some(_)) => Err(ApiError::InvalidParameter(
            "A participant has either an Identity or a MessagingBinding.Address, not both".into(),
        )),
        _ => Ok(d),
    }
}

fn draft(p: &Params) -> Result<ParticipantDraft, ApiError> {
    validate_draft(ParticipantDraft {
        identity: p.text("Identity", 256)?.filter(|v| !v.is_empty()),
        binding: binding(
            p.text("MessagingBinding.Address", 256)?,
            p.text("MessagingBinding.ProxyAddress", 256)?,
            p.text("MessagingBinding.ProjectedAddress", 256)?,
        )?,
        attributes: p.json_text("Attributes")?,
        role_sid: p.sid("RoleSid")?,
        date_created: p.datetime("DateCreated")?,
        date_updated: p.datetime("DateUpdated")?,
    })
}

/// Parses one `Participant=<JSON>` of ConversationWithParticipants.
pub fn participant_draft_from_json(text: &str) -> Result<ParticipantDraft, ApiError> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::invalid("Participant", format!("is not valid JSON ({e})")))?;
    let s =
        |obj: &serde_json::Value, k: &str| obj.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let mb = v
        .get("messaging_binding")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let attributes = match v.get("attributes") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(t)) => {
            serde_json::from_str::<serde_json::Value>(t)
                .map_err(|_| ApiError::invalid("Participant.attributes", "is not valid JSON"))?;
            Some(t.clone())
        }
        Some(other) => Some(other.to_string()),
    };
    let role_sid = match s(&v, "role_sid") {
        None => None,
        Some(r) => Some(
            r.parse()
                .map_err(|_| ApiError::invalid("Participant.role_sid", "is not a valid SID"))?,
        ),
    };
    validate_draft(ParticipantDraft {
        identity: s(&v, "identity"),
        binding: binding(
            s(&mb, "address"),
            s(&mb, "proxy_address"),
            s(&mb, "projected_address"),
        )?,
        attributes,
        role_sid,
        date_created: None,
        date_updated: None,
    })
}

/// Checks that `role` is a conversation-type role of the caller's service.
pub async fn conversation_role(
    ctx: &Ctx,
    role: Option<RoleSid>,
) -> Result<Option<RoleSid>, ApiError> {
    let Some(role) = role else { return Ok(None) };
    match ctx.state.store.role(&ctx.scope.service, &role).await? {
        Some(r) if r.role_type == "conversation" => Ok(Some(r.sid)),
        Some(_) => Err(ApiError::invalid(
            "RoleSid",
            "must be a role of type conversation",
        )),
        None => Err(ApiError::invalid("RoleSid", "no such role in this service")),
    }
}

fn key(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

/// `POST /Conversations/{CH}/Participants`
pub async fn create(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let sid = resolve_sid(&ctx, &key(&req, "conversation")).await?;
    idempotency::once(&ctx.state, &req, &ctx.scope.account, &p, || async {
        let mut d = draft(&p)?;
        d.role_sid = conversation_role(&ctx, d.role_sid.take()).await?;
        if d.role_sid.is_none() {
            d.role_sid = ctx
                .state
                .store
                .service_config(&ctx.scope.service)
                .await?
                .map(|c| c.default_conversation_role_sid);
        }
        let record = ctx
            .state
            .registry
            .call(
                &sid,
                AddParticipant {
                    scope: ctx.scope.clone(),
                    draft: d,
                },
            )
            .await?;
        Ok((StatusCode::CREATED, render::participant(&ctx.base, &record)))
    })
    .await
}

/// `GET /Conversations/{CH}/Participants/{MB or identity}`
pub async fn fetch(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let conversation = resolve(&ctx, &key(&req, "conversation")).await?;
    let pkey = key(&req, "participant");
    let record = ctx
        .state
        .store
        .participant(&conversation.sid, &pkey)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "/Conversations/{}/Participants/{pkey}",
                conversation.sid
            ))
        })?;
    Ok(HttpResponse::Ok().json(render::participant(&ctx.base, &record)))
}

/// `POST /Conversations/{CH}/Participants/{MB or identity}`
pub async fn update(ctx: Ctx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let sid = resolve_sid(&ctx, &key(&req, "conversation")).await?;
    let changes = ParticipantChanges {
        identity: p.text("Identity", 256)?.filter(|v| !v.is_empty()),
        attributes: p.json_text("Attributes")?,
        role_sid: conversation_role(&ctx, p.sid("RoleSid")?).await?,
        proxy_address: p.text("MessagingBinding.ProxyAddress", 256)?,
        projected_address: p.text("MessagingBinding.ProjectedAddress", 256)?,
        last_read_message_index: p.unsigned("LastReadMessageIndex")?.map(Some),
        last_read_timestamp: p.datetime_text("LastReadTimestamp")?.map(Some),
        date_created: p.datetime("DateCreated")?,
        date_updated: p.datetime("DateUpdated")?,
        notification_level: None,
    };
    let record = ctx
        .state
        .registry
        .call(
            &sid,
            UpdateParticipant {
                scope: ctx.scope.clone(),
                key: key(&req, "participant"),
                changes,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(render::participant(&ctx.base, &record)))
}

/// `DELETE /Conversations/{CH}/Participants/{MB or identity}`
pub async fn delete(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let sid = resolve_sid(&ctx, &key(&req, "conversation")).await?;
    ctx.state
        .registry
        .call(
            &sid,
            RemoveParticipant {
                scope: ctx.scope.clone(),
                key: key(&req, "participant"),
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Conversations/{CH}/Participants`
pub async fn list(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let conversation = resolve(&ctx, &key(&req, "conversation")).await?;
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let rows = ctx
        .state
        .store
        .participants(&conversation.sid, page)
        .await?;
    let url = format!(
        "{}/Conversations/{}/Participants",
        ctx.base, conversation.sid
    );
    Ok(HttpResponse::Ok().json(pagination::render(
        "participants",
        rows,
        page,
        &url,
        &[],
        |x| render::participant(&ctx.base, &x),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_follow_address_prefixes() {
        assert_eq!(channel_of("+15551230001").ok(), Some("sms"));
        assert_eq!(channel_of("whatsapp:+15551230001").ok(), Some("whatsapp"));
        assert_eq!(channel_of("messenger:1234567").ok(), Some("messenger"));
        assert!(channel_of("5551230001").is_err());
        assert!(channel_of("whatsapp:555").is_err());
    }
}
