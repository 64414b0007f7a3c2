//! Messages leaving for messaging participants. Every message added to a conversation writes,
//! in the same unit, one outbox job per messaging participant other than its author
//! ([`jobs`]); the dispatcher hands each to the configured provider ([`send`]): Twilio's
//! Messages API (`From` = proxy, `To` = address, `Body`, `MediaUrl`, `StatusCallback`) or the
//! built-in simulator. A handed-over message gets a `sent` receipt ([`sent`]); one the
//! provider refuses, or that keeps failing, ends with a `failed` receipt ([`failed`]).

use serde::Deserialize;

use crate::api::AppState;
use crate::config::Provider;
use crate::conversations::commands::RecordReceipt;
use crate::conversations::drafts::{Scope, Source};
use crate::outbox::Attempt;
use crate::routing::model::now_ms;
use crate::store::Mutation;
use crate::store::delivery::ReceiptStatus;
use crate::store::outbox::{ChannelSendJob, OutboxJob, OutboxRecord};
use crate::store::records::{MessageRecord, ParticipantRecord};

/// The outbox jobs sending `message` to the conversation's messaging participants.
pub fn jobs(message: &MessageRecord, participants: &[ParticipantRecord]) -> Vec<Mutation> {
    participants
        .iter()
        .filter(|p| Some(&p.sid) != message.participant_sid.as_ref())
        .filter_map(|p| {
            let binding = p.messaging_binding.as_ref()?;
            let to = binding.address.clone()?;
            let from = binding
                .proxy_address
                .clone()
                .or_else(|| binding.projected_address.clone())?;
            let job = ChannelSendJob {
                service_sid: message.service_sid.clone(),
                conversation_sid: message.conversation_sid.clone(),
                message_sid: message.sid.clone(),
                participant_sid: p.sid.clone(),
                from,
                to,
                body: message.body.clone(),
                media: message
                    .media
                    .iter()
                    .flatten()
                    .map(|m| m.sid.to_string())
                    .collect(),
            };
            Some(Mutation::PutOutbox(OutboxRecord::new(
                message.account_sid.clone(),
                Some(format!("send:{}", message.conversation_sid)),
                OutboxJob::ChannelSend(job),
                now_ms(),
            )))
        })
        .collect()
}

/// The receipt-changing scope of a channel event on `job`'s conversation.
fn scope(account: &crate::ids::AccountSid, job: &ChannelSendJob) -> Scope {
    Scope {
        account: account.clone(),
        service: job.service_sid.clone(),
        identity: None,
        source: Source::Channel(super::source_name(
            crate::api::participants::channel_of(&job.to).unwrap_or("sms"),
        )),
    }
}

/// Records a receipt of `job`'s message for its recipient.
pub async fn record(
    state: &AppState,
    account: &crate::ids::AccountSid,
    job: &ChannelSendJob,
    status: ReceiptStatus,
    channel_message_sid: Option<String>,
    error_code: Option<u32>,
) {
    record_with(
        state,
        account,
        job,
        status,
        channel_message_sid,
        error_code,
        Vec::new(),
    )
    .await;
}

/// Records the `sent` receipt of a message the provider took (its id `provider_sid`), with
/// `settled` (the outbox job's removal) in the same unit. False if the receipt could not be
/// recorded: `settled` is then not committed either.
pub async fn sent(
    state: &AppState,
    account: &crate::ids::AccountSid,
    job: &ChannelSendJob,
    provider_sid: String,
    settled: Vec<Mutation>,
) -> bool {
    let status = ReceiptStatus::Sent;
    record_with(
        state,
        account,
        job,
        status,
        Some(provider_sid),
        None,
        settled,
    )
    .await
}

async fn record_with(
    state: &AppState,
    account: &crate::ids::AccountSid,
    job: &ChannelSendJob,
    status: ReceiptStatus,
    channel_message_sid: Option<String>,
    error_code: Option<u32>,
    with: Vec<Mutation>,
) -> bool {
    let update = RecordReceipt {
        scope: scope(account, job),
        message: job.message_sid.to_string(),
        participant: job.participant_sid.to_string(),
        status,
        channel_message_sid,
        error_code,
        with,
    };
    match state.registry.call(&job.conversation_sid, update).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(message_sid = %job.message_sid, error = %e, "recording a delivery receipt failed");
            false
        }
    }
}

/// Ends the message's way to its recipient with a `failed` receipt (Twilio error `code`,
/// 30008 "unknown error" when the provider gave none).
pub async fn failed(
    state: &AppState,
    account: &crate::ids::AccountSid,
    job: &ChannelSendJob,
    code: Option<u32>,
) {
    record(
        state,
        account,
        job,
        ReceiptStatus::Failed,
        None,
        Some(code.unwrap_or(30008)),
    )
    .await;
}

/// Hands one message to the provider; returns the provider's message id. The caller records
/// the `sent` receipt ([`sent`]) once it has let go of its provider slot.
pub async fn send(
    state: &actix_web::web::Data<AppState>,
    outbox: &OutboxRecord,
    job: &ChannelSendJob,
) -> Result<String, Attempt> {
    let media_urls = media_urls(state, outbox, job).await;
    match state.settings.channels.provider {
        Provider::Simulator => {
            Ok(state
                .channels
                .simulator
                .deliver(state, &outbox.account_sid, job, media_urls))
        }
        Provider::Twilio => to_twilio(state, job, &media_urls).await,
    }
}

/// Signed, expiring links to the message's attachments, for the provider to fetch.
async fn media_urls(state: &AppState, outbox: &OutboxRecord, job: &ChannelSendJob) -> Vec<String> {
    let Some(origin) = state.channels.origin.get() else {
        return Vec::new();
    };
    let Some(secret) = state.hooks.signing_key(&outbox.account_sid) else {
        return Vec::new();
    };
    // Providers may fetch late (retries, queues): links live an hour.
    let expires = crate::store::records::now() + 3600;
    job.media
        .iter()
        .filter_map(|sid| sid.parse::<crate::ids::MediaSid>().ok())
        .map(|sid| {
            let token = crate::media::sign_link(&secret, &sid, expires);
            format!(
                "{origin}/mcs/v1/Services/{}/Media/{sid}/Content?Token={token}",
                job.service_sid
            )
        })
        .collect()
}

/// The Messages API's answer (only what we use).
#[derive(Deserialize)]
struct ApiMessage {
    sid: Option<String>,
    code: Option<u32>,
    message: Option<String>,
}

/// `POST {api_base_url}/2010-04-01/Accounts/{AC}/Messages.json`.
async fn to_twilio(
    state: &AppState,
    job: &ChannelSendJob,
    media_urls: &[String],
) -> Result<String, Attempt> {
    let t = &state.settings.channels.twilio;
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        t.api_base_url.trim_end_matches('/'),
        t.account_sid
    );
    let mut form: Vec<(String, String)> = vec![
        ("From".into(), job.from.clone()),
        ("To".into(), job.to.clone()),
    ];
    if let Some(body) = &job.body {
        form.push(("Body".into(), body.clone()));
    }
    for m in media_urls {
        form.push(("MediaUrl".into(), m.clone()));
    }
    if let Some(origin) = state.channels.origin.get() {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("ServiceSid", job.service_sid.as_str())
            .append_pair("ConversationSid", job.conversation_sid.as_str())
            .append_pair("MessageSid", job.message_sid.as_str())
            .append_pair("ParticipantSid", job.participant_sid.as_str())
            .finish();
        form.push((
            "StatusCallback".into(),
            format!("{origin}/channels/twilio/status?{query}"),
        ));
    }
    let response = state
        .hooks
        .client()
        .post(&url)
        .basic_auth(&t.account_sid, Some(&t.auth_token))
        .timeout(state.settings.webhooks.timeout)
        .form(&form)
        .send()
        .await
        .map_err(|e| Attempt::Retry(crate::webhooks::chain(&e)))?;
    let status = response.status();
    let answer: Option<ApiMessage> = response.json().await.ok();
    match (status.as_u16(), answer) {
        (200..=299, Some(ApiMessage { sid: Some(sid), .. })) => Ok(sid),
        (200..=299, _) => Err(Attempt::Retry(
            "the provider's answer had no message sid".into(),
        )),
        (429 | 500..=599, a) => Err(Attempt::Retry(format!(
            "HTTP {status}: {}",
            a.and_then(|a| a.message).unwrap_or_default()
        ))),
        (_, a) => Err(Attempt::Permanent {
            error: format!(
                "HTTP {status}: {}",
                a.as_ref()
                    .and_then(|a| a.message.clone())
                    .unwrap_or_default()
            ),
            code: a.and_then(|a| a.code),
        }),
    }
}
