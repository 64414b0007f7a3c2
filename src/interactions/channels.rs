//! Interaction channel life cycle (twilio-api.md §6.2) and invites (§6.4):
//!
//! | request                                   | tasks                     | agents | conversation |
//! |-------------------------------------------|---------------------------|--------|--------------|
//! | `Status=closed`, `Routing={"status":"closed"}` | completed (waiting: canceled) | stay   | closed |
//! | `Status=closed`                           | wrapping (waiting: canceled) | stay | closed      |
//! | `Status=inactive` (routing closed required) | completed (waiting: canceled) | leave | stays active |
//!
//! A channel's tasks are the tasks of its invites and transfers.

use serde_json::json;

use super::conversation;
use super::records::{self, Channel, ChannelParticipant, Invite, Transfer};
use super::routing::{self, RoutingSpec, Settle};
use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::*;
use crate::store::records::now;

/// Every task created for the channel, with its workspace.
pub async fn tasks_of(
    state: &AppState,
    channel: &Channel,
) -> Result<Vec<(String, TaskSid)>, ApiError> {
    let store = state.store.as_ref();
    let scope = channel.sid.as_str();
    let mut tasks: Vec<(String, TaskSid)> =
        records::load_in::<Invite>(store, records::INVITE, scope)
            .await?
            .into_iter()
            .filter_map(|i| Some((i.workspace_sid.to_string(), i.task_sid?)))
            .collect();
    tasks.extend(
        records::load_in::<Transfer>(store, records::TRANSFER, scope)
            .await?
            .into_iter()
            .map(|t| (t.workspace_sid.to_string(), t.task_sid)),
    );
    Ok(tasks)
}

/// Loads a channel of an interaction of the account.
pub async fn find(
    state: &AppState,
    account: &AccountSid,
    interaction: &str,
    channel: &str,
) -> Result<Channel, ApiError> {
    let not_found =
        || ApiError::NotFound(format!("/Interactions/{interaction}/Channels/{channel}"));
    records::load::<Channel>(state.store.as_ref(), records::CHANNEL, channel)
        .await?
        .filter(|c| &c.account_sid == account && c.interaction_sid.as_str() == interaction)
        .ok_or_else(not_found)
}

/// Saves a channel's new status.
pub async fn set_status(
    state: &AppState,
    channel: &mut Channel,
    status: &str,
) -> Result<(), ApiError> {
    channel.status = status.to_owned();
    channel.updated = now();
    state.store.submit(vec![channel.put()?]).await?;
    Ok(())
}

/// Removes every agent of the channel from the conversation (participants become `closed`).
async fn agents_leave(state: &AppState, channel: &Channel) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    for mut p in
        records::load_in::<ChannelParticipant>(store, records::PARTICIPANT, channel.sid.as_str())
            .await?
    {
        if p.kind != "agent" || p.status == "closed" {
            continue;
        }
        if let Some(key) = &p.conversation_participant {
            conversation::remove(
                state,
                &channel.account_sid,
                &channel.service_sid,
                &channel.conversation_sid,
                key,
            )
            .await?;
        }
        p.status = "closed".into();
        p.updated = now();
        state.store.submit(vec![p.put()?]).await?;
    }
    Ok(())
}

/// `POST …/Channels/{UO}` with `Status` and optional `Routing`.
pub async fn update(
    state: &AppState,
    mut channel: Channel,
    status: &str,
    routing_closed: bool,
) -> Result<Channel, ApiError> {
    let account = channel.account_sid.clone();
    let tasks = tasks_of(state, &channel).await?;
    match status {
        "closed" => {
            let how = if routing_closed {
                Settle::Complete
            } else {
                Settle::Wrap
            };
            routing::settle(state, &account, tasks, how, "Channel closed").await?;
            set_status(state, &mut channel, "closed").await?;
            conversation::close(
                state,
                &account,
                &channel.service_sid,
                &channel.conversation_sid,
            )
            .await?;
        }
        "inactive" => {
            if !routing_closed {
                return Err(ApiError::invalid(
                    "Routing",
                    "status closed is required when the channel becomes inactive",
                ));
            }
            routing::settle(state, &account, tasks, Settle::Complete, "Channel inactive").await?;
            agents_leave(state, &channel).await?;
            set_status(state, &mut channel, "inactive").await?;
        }
        _ => return Err(ApiError::invalid("Status", "must be closed or inactive")),
    }
    Ok(channel)
}

/// `POST …/Channels/{UO}/Invites`: routes the channel again with a new task.
pub async fn invite(
    state: &AppState,
    channel: &mut Channel,
    spec: &RoutingSpec,
) -> Result<Invite, ApiError> {
    if channel.status == "closed" || channel.status == "failed" {
        return Err(ApiError::Conflict(format!(
            "Interaction channel {} is {} and cannot be invited to",
            channel.sid, channel.status
        )));
    }
    let account = channel.account_sid.clone();
    let workspace = spec
        .workspace_sid
        .clone()
        .unwrap_or_else(|| channel.workspace_sid.to_string());
    let workspace_sid: WorkspaceSid = workspace
        .parse()
        .map_err(|_| ApiError::invalid("Routing", "properties.workspace_sid is not valid"))?;
    let sid = InviteSid::generate();
    let flex = routing::flex_attributes(channel, &sid);
    let default_channel = routing::task_channel_for(&channel.channel_type);
    let (task, echo) =
        routing::create_task(state, &account, &workspace, spec, flex, default_channel).await?;
    let invite = Invite {
        sid,
        interaction_sid: channel.interaction_sid.clone(),
        channel_sid: channel.sid.clone(),
        workspace_sid,
        task_sid: Some(task),
        routing: json!({"properties": echo}),
        created: now(),
    };
    state.store.submit(vec![invite.put()?]).await?;
    // An unparked (inactive) channel is live again.
    if channel.status != "active" {
        set_status(state, channel, "active").await?;
    }
    Ok(invite)
}
