//! Conversations: the pure [`state::Conversation`] rules, the [`actor::ConversationActor`] that
//! is the only writer of each conversation, the [`registry::Registry`] that finds or spawns
//! actors, state [`timers`], and the [`events`] they emit after each commit.
//!
//! Never: write a conversation's rows from anywhere but its actor, or publish an event before
//! its change committed.

pub mod actor;
pub mod commands;
pub mod drafts;
pub mod events;
pub mod receipts;
pub mod registry;
pub mod state;
pub mod timers;

use std::sync::Arc;

use crate::cluster::EventBus;
use crate::config::ConversationSettings;
use crate::store::Store;

/// What every conversation actor needs.
pub struct ActorDeps {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Where committed events go.
    pub bus: Arc<dyn EventBus>,
    /// Deadline scheduling.
    pub timers: timers::TimerHandle,
    /// Limits and timeouts.
    pub settings: ConversationSettings,
    /// Which webhooks an event fires (pre-events are asked, post-events written to the outbox).
    pub hooks: Arc<crate::webhooks::Hooks>,
    /// Woken when a unit with outbox jobs committed.
    pub outbox: Arc<crate::outbox::Outbox>,
    /// Attachment limits of the channels messages leave through.
    pub media: crate::config::MediaSettings,
}
