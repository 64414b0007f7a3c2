//! The Twilio Messaging adapter's webhooks: `POST /channels/twilio/inbound` (Twilio's messaging
//! webhook form: `From`, `To`, `Body`, `MessageSid`, `NumMedia`, `MediaUrlN`,
//! `MediaContentTypeN`) and `POST /channels/twilio/status` (status callbacks: `MessageStatus`,
//! `ErrorCode`). Both are verified with `X-Twilio-Signature` against
//! `channels.twilio.auth_token`; without a token they are refused unless
//! `channels.twilio.validate_signatures = false`.

use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use super::inbound::{self, InboundMessage};
use super::status::{self, StatusTarget};
use crate::api::AppState;
use crate::api::context::origin;
use crate::error::ApiError;
use crate::media::limits::MediaChannel;
use crate::store::Mutation;
use crate::store::records::{MediaRecord, MediaRef, now};

type Form = Vec<(String, String)>;

fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

fn get<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The URL the provider signed: our public origin, the path and the query.
fn signed_url(req: &HttpRequest, state: &AppState) -> String {
    let base = format!("{}{}", origin(req, state), req.path());
    match req.query_string() {
        "" => base,
        q => format!("{base}?{q}"),
    }
}

/// The URL with its default port added or removed (validators accept either).
fn port_variant(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let default = if scheme == "https" { ":443" } else { ":80" };
    let host = match host.strip_suffix(default) {
        Some(bare) => bare.to_owned(),
        None if !host.contains(':') => format!("{host}{default}"),
        None => return None,
    };
    Some(format!("{scheme}://{host}/{path}"))
}

/// Refuses a request whose `X-Twilio-Signature` does not match.
fn verify(req: &HttpRequest, state: &AppState, form: &Form) -> Result<(), ApiError> {
    let t = &state.settings.channels.twilio;
    if !t.validate_signatures {
        return Ok(());
    }
    if t.auth_token.is_empty() {
        return Err(ApiError::Forbidden(
            "provider webhooks need channels.twilio.auth_token to verify X-Twilio-Signature \
             (or channels.twilio.validate_signatures = false)"
                .into(),
        ));
    }
    let given = req
        .headers()
        .get("X-Twilio-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let url = signed_url(req, state);
    let matches = |u: &str| {
        let expected = crate::webhooks::signature::sign(&t.auth_token, u, form);
        bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    };
    if !given.is_empty() && (matches(&url) || port_variant(&url).is_some_and(|u| matches(&u))) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "X-Twilio-Signature does not match this request".into(),
        ))
    }
}

/// An empty TwiML answer: nothing to reply right away.
fn twiml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml")
        .body("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>")
}

/// `POST /channels/twilio/inbound`
pub async fn inbound(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form = parse_form(&body);
    verify(&req, &state, &form)?;
    let from = get(&form, "From").ok_or_else(|| ApiError::missing("From"))?;
    let to = get(&form, "To").ok_or_else(|| ApiError::missing("To"))?;
    let (account, address) = inbound::address_for(&state, to)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no address configuration for {to}")))?;
    let channel = crate::api::participants::channel_of(from)?;
    let service = inbound::service_for(&state, &account, &address, from, to).await?;
    let (media, refused) = fetch_media(&state, &account, &service, channel, &form).await?;
    let msg = InboundMessage {
        attributes: (!refused.is_empty())
            .then(|| serde_json::json!({ "refused_media": refused }).to_string()),
        from: from.to_owned(),
        to: to.to_owned(),
        body: get(&form, "Body").map(str::to_owned),
        provider_sid: get(&form, "MessageSid")
            .or_else(|| get(&form, "SmsMessageSid"))
            .map(str::to_owned),
        media,
    };
    inbound::receive(&state, &account, &address, msg).await?;
    Ok(twiml())
}

/// Fetches and stores the message's media (`NumMedia`, `MediaUrlN`), checked against the
/// channel's limits; provider credentials go along (Twilio may require them). An attachment
/// the limits refuse does not stop the message: it is listed (URL, reason) so the agent sees
/// what was left out. A network failure is an error, so the provider retries the webhook.
async fn fetch_media(
    state: &AppState,
    account: &crate::ids::AccountSid,
    service: &crate::ids::ServiceSid,
    channel: &str,
    form: &Form,
) -> Result<(Vec<MediaRef>, Vec<serde_json::Value>), ApiError> {
    let count: usize = get(form, "NumMedia")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(10);
    let media_channel: MediaChannel = channel.parse()?;
    let t = &state.settings.channels.twilio;
    let credentials = (!t.account_sid.is_empty() && !t.auth_token.is_empty())
        .then_some((t.account_sid.as_str(), t.auth_token.as_str()));
    let mut out = Vec::with_capacity(count);
    let mut refused = Vec::new();
    for i in 0..count {
        let Some(url) = get(form, &format!("MediaUrl{i}")) else {
            continue;
        };
        let fetched = crate::media::remote::fetch_remote(
            state.hooks.client(),
            &state.media,
            url,
            credentials,
            media_channel,
            &state.settings.media,
        )
        .await;
        let fetched = match fetched {
            Ok(f) => f,
            Err(crate::media::remote::FetchError::Refused(err)) => {
                refused.push(serde_json::json!({"url": url, "reason": err.to_string()}));
                continue;
            }
            Err(other) => {
                tracing::warn!(error = ?other, "fetching inbound media failed");
                return Err(ApiError::Unavailable);
            }
        };
        let record = MediaRecord {
            sid: crate::ids::MediaSid::generate(),
            account_sid: account.clone(),
            service_sid: service.clone(),
            size: fetched.size,
            content_type: fetched.content_type,
            filename: fetched.filename,
            author: None,
            sha256: fetched.sha256,
            date_created: now(),
        };
        state
            .store
            .submit(vec![Mutation::PutMedia(record.clone())])
            .await?;
        out.push(record.as_ref());
    }
    Ok((out, refused))
}

/// `POST /channels/twilio/status?ServiceSid=…&ConversationSid=…&MessageSid=…&ParticipantSid=…`
pub async fn status(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let form = parse_form(&body);
    verify(&req, &state, &form)?;
    let query: Form = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let sid = |name: &str| {
        get(&query, name)
            .ok_or_else(|| ApiError::missing(name))
            .map(str::to_owned)
    };
    let bad = |name: &str| ApiError::invalid(name, "is not a valid SID");
    let target = StatusTarget {
        service: sid("ServiceSid")?.parse().map_err(|_| bad("ServiceSid"))?,
        conversation: sid("ConversationSid")?
            .parse()
            .map_err(|_| bad("ConversationSid"))?,
        message: sid("MessageSid")?.parse().map_err(|_| bad("MessageSid"))?,
        participant: sid("ParticipantSid")?
            .parse()
            .map_err(|_| bad("ParticipantSid"))?,
    };
    let message_status = get(&form, "MessageStatus")
        .or_else(|| get(&form, "SmsStatus"))
        .ok_or_else(|| ApiError::missing("MessageStatus"))?;
    let provider_sid = get(&form, "MessageSid")
        .or_else(|| get(&form, "SmsSid"))
        .map(str::to_owned);
    let error_code = get(&form, "ErrorCode").and_then(|c| c.parse().ok());
    status::apply(&state, &target, message_status, provider_sid, error_code).await?;
    Ok(HttpResponse::NoContent().finish())
}
