//! Web chat over REST: Flex's `POST /flex-api/v2/WebChats` (account Basic auth, what a site's
//! own backend calls), and the guest-token endpoints the embeddable widget calls with no
//! credentials (Switchboard's own, doing what Twilio's webchat reference backend does):
//! `POST /switchboard/v1/Webchat/Start` starts the chat and mints the customer a chat-only
//! token; `POST /switchboard/v1/Webchat/Refresh` trades a guest token for a fresh one while
//! the guest is still in its conversation, so a chat survives reloads and a closed tab.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::addresses::{self, AddressRecord};
use crate::api::AppState;
use crate::api::context::Caller;
use crate::api::params::{Params, format_datetime};
use crate::channels::webchat::{self, MAX_NAME_CHARS, NewWebChat, StartedChat};
use crate::error::ApiError;
use crate::gateway::token::{Grants, Role, mint};
use crate::ids::{AccountSid, AddressSid, ServiceSid};
use crate::store::records::now;
use crate::store::{PageRequest, ParticipantKey};

/// The API key guest tokens are signed with (one per account, created on first use).
pub const GUEST_KEY_NAME: &str = "switchboard-webchat";

/// Lifetime of a guest token; the widget refreshes it before it ends.
pub const GUEST_TTL_SECS: i64 = 3600;

/// How long after its expiry a guest token can still be refreshed (a day: a chat's own
/// timers end it sooner).
pub const REFRESH_GRACE_SECS: i64 = 24 * 3600;

/// The longest first message (a message body's limit).
const MAX_QUESTION_CHARS: usize = crate::api::messages::MAX_BODY_CHARS;

/// `PreEngagementData`: a JSON object (as text).
fn pre_engagement(p: &Params) -> Result<Map<String, Value>, ApiError> {
    match p.text("PreEngagementData", 16 * 1024)? {
        None => Ok(Map::new()),
        Some(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::invalid(
                "PreEngagementData",
                "must be a JSON object",
            )),
        },
    }
}

/// The `chat` address `raw` names (an `IG…` SID), with the account that owns it.
async fn chat_address(
    state: &AppState,
    raw: &str,
    account: Option<&AccountSid>,
) -> Result<AddressRecord, ApiError> {
    let unknown = || ApiError::invalid("AddressSid", format!("no chat address {raw}"));
    let sid: AddressSid = raw.parse().map_err(|_| unknown())?;
    let address = addresses::by_sid(state.store.as_ref(), &sid)
        .await?
        .filter(|a| account.is_none_or(|acc| *acc == a.account_sid))
        .ok_or_else(unknown)?;
    if address.kind != "chat" {
        return Err(unknown());
    }
    Ok(address)
}

/// `POST /flex-api/v2/WebChats` (`AddressSid`, `ChatFriendlyName`, `CustomerFriendlyName`,
/// `PreEngagementData`, `Identity`) → 201 `{conversation_sid, identity}`.
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let raw = p.required("AddressSid", 34)?;
    let address = chat_address(&state, &raw, Some(&caller.account)).await?;
    let chat = NewWebChat {
        chat_friendly_name: p.text("ChatFriendlyName", 256)?,
        customer_friendly_name: p.text("CustomerFriendlyName", 256)?,
        pre_engagement_data: pre_engagement(&p)?,
        identity: p.text("Identity", 256)?,
        first_message: None,
    };
    let started = webchat::start(&state, &caller.account, &address, chat).await?;
    Ok(HttpResponse::Created().json(json!({
        "conversation_sid": started.conversation,
        "identity": started.identity,
    })))
}

/// `POST /switchboard/v1/Webchat/Start` (no credentials): `AddressSid`, `FriendlyName`,
/// optional `Email`, `Question` (the first message) and `PreEngagementData` → 201 with a guest
/// token for the new conversation.
pub async fn start(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, ApiError> {
    let raw = p.required("AddressSid", 34)?;
    let name = p.required("FriendlyName", MAX_NAME_CHARS)?;
    if name.trim().is_empty() {
        return Err(ApiError::invalid("FriendlyName", "must not be blank"));
    }
    let email = p.text("Email", 254)?;
    if email.as_deref().is_some_and(|e| !plausible_email(e)) {
        return Err(ApiError::invalid("Email", "is not an email address"));
    }
    let question = p.text("Question", MAX_QUESTION_CHARS)?;
    let mut data = pre_engagement(&p)?;
    data.insert("friendlyName".into(), Value::String(name.trim().to_owned()));
    if let Some(email) = &email {
        data.insert("email".into(), Value::String(email.clone()));
    }
    if let Some(q) = &question {
        data.insert("question".into(), Value::String(q.clone()));
    }
    let address = chat_address(&state, &raw, None).await?;
    let account = address.account_sid.clone();
    let chat = NewWebChat {
        chat_friendly_name: Some(format!("Web chat with {}", name.trim())),
        customer_friendly_name: Some(name.trim().to_owned()),
        pre_engagement_data: data,
        identity: None,
        first_message: question,
    };
    let started = webchat::start(&state, &account, &address, chat).await?;
    let body = guest_session(&state, &account, &started, name.trim(), "active").await?;
    Ok(HttpResponse::Created().json(body))
}

/// `POST /switchboard/v1/Webchat/Refresh` with `Authorization: Bearer <guest token>` (expired
/// up to [`REFRESH_GRACE_SECS`] ago is fine) → a fresh guest token, while the guest is still a
/// participant of its chat, closed or not (401 otherwise).
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // A tab closed for a while comes back with an expired token: still its chat.
    let principal =
        crate::api::context::renewable_token(&req, &state, GUEST_KEY_NAME, REFRESH_GRACE_SECS)
            .await?;
    let service: ServiceSid = principal
        .grants
        .chat
        .as_ref()
        .and_then(|c| c.service_sid.as_deref())
        .and_then(|s| s.parse().ok())
        .ok_or(ApiError::SessionEnded)?;
    let page = state
        .store
        .participant_conversations(
            &service,
            &ParticipantKey::Identity(principal.identity.clone()),
            PageRequest { page: 0, size: 50 },
        )
        .await?;
    let (participant, conversation) = page
        .items
        .into_iter()
        .max_by_key(|(_, c)| c.date_created)
        .ok_or(ApiError::SessionEnded)?;
    let name = serde_json::from_str::<Value>(&participant.attributes)
        .ok()
        .and_then(|a| a.get("friendlyName")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "Customer".into());
    let started = StartedChat {
        conversation: conversation.sid.clone(),
        service,
        identity: principal.identity,
    };
    let body = guest_session(
        &state,
        &principal.account,
        &started,
        &name,
        conversation.state.as_str(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A guest token for `chat` and what the widget keeps with it.
async fn guest_session(
    state: &AppState,
    account: &AccountSid,
    chat: &StartedChat,
    name: &str,
    conversation_state: &str,
) -> Result<Value, ApiError> {
    let key = state.accounts.named_key(account, GUEST_KEY_NAME).await?;
    let grants = Grants::for_role(Role::Guest, Some(chat.service.to_string()), None, None);
    let issued = now();
    let token = mint(&key, &chat.identity, grants, issued, GUEST_TTL_SECS);
    Ok(json!({
        "token": token,
        "identity": chat.identity,
        "friendly_name": name,
        "conversation_sid": chat.conversation,
        "conversation_state": conversation_state,
        "chat_service_sid": chat.service,
        "account_sid": account,
        "expires_at": format_datetime(issued + GUEST_TTL_SECS),
    }))
}

/// Something with one `@` between a non-empty local part and a dotted domain: the form's
/// check, not RFC 5322.
fn plausible_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::plausible_email;

    #[test]
    fn emails_are_checked_loosely() {
        assert!(plausible_email("ana@example.com"));
        assert!(plausible_email("a.b+c@mail.example.co.uk"));
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@example",
            "a b@x.io",
            "a@b@c.io",
        ] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
