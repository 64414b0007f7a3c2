//! Agents in interaction channels (twilio-api.md §6.3): the accept hook that puts an agent in
//! the conversation and creates its channel participant (UT, `routing_properties` naming its
//! workspace, task, worker and reservation), participants added over REST, and an agent
//! leaving (`closed`: leaves the conversation, task completed, conversation stays active) or
//! wrapping up (`wrapup`: task to `wrapping`).

use serde_json::{Value, json};

use super::conversation;
use super::records::{self, Channel, ChannelParticipant};
use super::routing::{self, Settle};
use super::transfers;
use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::*;
use crate::store::records::now;

/// After a reservation was accepted: when its task belongs to an interaction channel, adds
/// the worker to the conversation and as an agent participant, and completes the transfer the
/// task was created for.
pub async fn reservation_accepted(
    state: &AppState,
    account: &AccountSid,
    workspace: &WorkspaceSid,
    reservation: &ReservationSid,
) -> Result<(), ApiError> {
    let Some(accepted) = routing::accepted(state, account, workspace, reservation).await? else {
        return Ok(());
    };
    let Some(channel_sid) = accepted
        .attributes
        .get("flexInteractionChannelSid")
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    let Some(channel) =
        records::load::<Channel>(state.store.as_ref(), records::CHANNEL, channel_sid)
            .await?
            .filter(|c| &c.account_sid == account)
    else {
        tracing::warn!(%channel_sid, task = %accepted.task_sid, "accepted task names an unknown interaction channel");
        return Ok(());
    };
    let member = conversation::add_agent(
        state,
        account,
        &channel.service_sid,
        &channel.conversation_sid,
        &accepted.identity,
        Some(&accepted.name),
    )
    .await;
    let member = match member {
        Ok(sid) => Some(sid),
        Err(ApiError::ConversationClosed(_)) => {
            tracing::warn!(conversation = %channel.conversation_sid, "task accepted for a closed conversation");
            None
        }
        Err(e) => return Err(e),
    };
    let at = now();
    let participant = ChannelParticipant {
        sid: ChannelParticipantSid::generate(),
        interaction_sid: channel.interaction_sid.clone(),
        channel_sid: channel.sid.clone(),
        kind: "agent".into(),
        status: "joined".into(),
        media_properties: json!({
            "conversation_sid": channel.conversation_sid,
            "identity": accepted.identity,
        }),
        routing_properties: Some(json!({
            "workspace_sid": workspace,
            "task_sid": accepted.task_sid,
            "worker_sid": accepted.worker_sid,
            "reservation_sid": reservation,
        })),
        conversation_participant: member,
        created: at,
        updated: at,
    };
    state.store.submit(vec![participant.put()?]).await?;
    transfers::task_accepted(state, &accepted.task_sid).await
}

/// Loads a participant of a channel.
pub async fn find(
    state: &AppState,
    channel: &Channel,
    sid: &str,
) -> Result<ChannelParticipant, ApiError> {
    records::load::<ChannelParticipant>(state.store.as_ref(), records::PARTICIPANT, sid)
        .await?
        .filter(|p| p.channel_sid == channel.sid)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "/Interactions/{}/Channels/{}/Participants/{sid}",
                channel.interaction_sid, channel.sid
            ))
        })
}

/// `POST …/Participants/{UT}` with `Status` `closed` or `wrapup`.
pub async fn set_status(
    state: &AppState,
    channel: &Channel,
    mut participant: ChannelParticipant,
    status: &str,
) -> Result<ChannelParticipant, ApiError> {
    let account = &channel.account_sid;
    let tasks: Vec<(String, TaskSid)> = participant.task().into_iter().collect();
    match status {
        "closed" => {
            if let Some(key) = &participant.conversation_participant {
                conversation::remove(
                    state,
                    account,
                    &channel.service_sid,
                    &channel.conversation_sid,
                    key,
                )
                .await?;
            }
            routing::settle(state, account, tasks, Settle::Complete, "Participant left").await?;
        }
        "wrapup" => {
            routing::settle(
                state,
                account,
                tasks,
                Settle::Wrap,
                "Participant wrapping up",
            )
            .await?;
        }
        _ => return Err(ApiError::invalid("Status", "must be closed or wrapup")),
    }
    participant.status = status.to_owned();
    participant.updated = now();
    state.store.submit(vec![participant.put()?]).await?;
    Ok(participant)
}

/// Participant types of `POST …/Participants`.
pub const TYPES: [&str; 5] = ["supervisor", "customer", "external", "agent", "unknown"];

/// `POST …/Participants`: records a participant; with an `identity` (or an `address` and
/// `proxy_address`) in `MediaProperties` it is also added to the conversation.
pub async fn create(
    state: &AppState,
    channel: &Channel,
    kind: &str,
    media: Value,
    routing_properties: Option<Value>,
) -> Result<ChannelParticipant, ApiError> {
    if !TYPES.contains(&kind) {
        return Err(ApiError::invalid(
            "Type",
            format!("must be one of {}", TYPES.join(", ")),
        ));
    }
    let account = &channel.account_sid;
    let s = |k: &str| media.get(k).and_then(Value::as_str).map(str::to_owned);
    let member = match (s("identity"), s("address"), s("proxy_address")) {
        (Some(identity), _, _) => Some(
            conversation::add_agent(
                state,
                account,
                &channel.service_sid,
                &channel.conversation_sid,
                &identity,
                s("friendly_name").as_deref(),
            )
            .await?,
        ),
        (None, Some(address), Some(proxy)) => Some(
            conversation::add_customer(
                state,
                account,
                &channel.service_sid,
                &channel.conversation_sid,
                address,
                proxy,
            )
            .await?,
        ),
        _ => None,
    };
    let at = now();
    let participant = ChannelParticipant {
        sid: ChannelParticipantSid::generate(),
        interaction_sid: channel.interaction_sid.clone(),
        channel_sid: channel.sid.clone(),
        kind: kind.to_owned(),
        status: "joined".into(),
        media_properties: media,
        routing_properties,
        conversation_participant: member,
        created: at,
        updated: at,
    };
    state.store.submit(vec![participant.put()?]).await?;
    Ok(participant)
}
