//! One watcher per live interaction channel: a task subscribed to the bound conversation's bus
//! topic. When the conversation closes (by any path: REST, SDK, state timer) or is deleted,
//! the channel's live tasks move on (assigned → `wrapping`, pending/reserved → `canceled`)
//! and the channel becomes `closed`. [`rearm`] restarts the watchers at start-up and settles
//! channels whose conversation closed while the server was down.
//!
//! Never: hold anything across the await on the bus but the subscription.

use actix_web::web;
use tokio::sync::broadcast::error::RecvError;

use super::channels;
use super::records::{self, Channel};
use super::routing::{self, Settle};
use crate::api::AppState;
use crate::conversations::events::ConversationEvent;
use crate::error::ApiError;
use crate::store::records::ConversationState;

/// Whether a channel still needs a watcher.
fn live(channel: &Channel) -> bool {
    channel.status == "active" || channel.status == "inactive"
}

/// The conversation is closed (or gone) according to the store.
async fn conversation_over(state: &AppState, channel: &Channel) -> bool {
    match state
        .store
        .load_conversation(&channel.conversation_sid)
        .await
    {
        Ok(Some(c)) => c.record.state == ConversationState::Closed,
        Ok(None) => true,
        Err(_) => false,
    }
}

/// Settles a channel whose conversation closed (unless the channel was closed already).
pub async fn conversation_closed(state: &AppState, channel_sid: &str) -> Result<(), ApiError> {
    let Some(mut channel) =
        records::load::<Channel>(state.store.as_ref(), records::CHANNEL, channel_sid).await?
    else {
        return Ok(());
    };
    if !live(&channel) {
        return Ok(());
    }
    let tasks = channels::tasks_of(state, &channel).await?;
    let account = channel.account_sid.clone();
    routing::settle(state, &account, tasks, Settle::Wrap, "Conversation closed").await?;
    channels::set_status(state, &mut channel, "closed").await
}

/// Starts watching a channel's conversation.
pub fn watch(state: web::Data<AppState>, channel: Channel) {
    // Subscribe before the task starts so no event published after this call is missed.
    let mut events = state.bus.subscribe(&channel.conversation_sid);
    actix_web::rt::spawn(async move {
        let sid = channel.sid.to_string();
        loop {
            let over = match events.recv().await {
                Ok(event) => match &event.event {
                    ConversationEvent::StateUpdated { conversation, .. } => {
                        conversation.state == ConversationState::Closed
                    }
                    ConversationEvent::ConversationRemoved(_) => true,
                    _ => false,
                },
                Err(RecvError::Lagged(_)) => conversation_over(&state, &channel).await,
                Err(RecvError::Closed) => {
                    // The topic went away: subscribe again, then look at the store.
                    events = state.bus.subscribe(&channel.conversation_sid);
                    conversation_over(&state, &channel).await
                }
            };
            if over {
                if let Err(e) = conversation_closed(&state, &sid).await {
                    tracing::warn!(channel = %sid, error = %e, "settling a closed conversation's tasks");
                }
                return;
            }
        }
    });
}

/// Re-arms a watcher for every live interaction channel (call once at start-up, after the
/// routers are loaded). Channels whose conversation closed while the server was down are
/// settled now.
pub async fn rearm(state: web::Data<AppState>) -> Result<(), ApiError> {
    for channel in records::load_all::<Channel>(state.store.as_ref(), records::CHANNEL).await? {
        if !live(&channel) {
            continue;
        }
        watch(state.clone(), channel.clone());
        if conversation_over(&state, &channel).await {
            conversation_closed(&state, channel.sid.as_str()).await?;
        }
    }
    Ok(())
}
