//! Switchboard: a contact-center conversations engine with a Twilio-compatible REST API.
//!
//! # Architecture map
//! ```text
//! REST client ─► api (actix-web, Twilio wire format)
//!                  │ reads ──────────────────────────────► store (reader pool, never waits)
//!                  │ writes: commands (conversations::commands)
//!                  ▼
//!             conversations::Registry ─► ConversationActor (one per live conversation)
//!                                          │ plan (state::Conversation, pure)
//!                                          │ submit ─► store (one writer thread, group commit)
//!                                          │ answer after commit
//!                                          │   (+ outbox jobs: post-event webhooks, channel sends)
//!                                          └► events ─► cluster::EventBus (gateway, watchers)
//!             conversations::timers ─► ApplyTimers ─► ConversationActor
//!             outbox (dispatcher) ─► webhooks, channels::outbound ─► provider
//! provider ─► channels::{twilio, inbound} ─► ConversationActor (auto-creation, interactions)
//! ```
//! Calls go down (api → conversations → store); events flow up, fire-and-forget.
//! Every acknowledged write has committed; each conversation's message indexes are assigned
//! only by its actor and checked again by the store, so they are gap-free and unique.

pub mod accounts;
pub mod addresses;
pub mod api;
pub mod channels;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod conversations;
pub mod demo;
pub mod error;
pub mod gateway;
pub mod ids;
pub mod interactions;
pub mod load;
pub mod logins;
pub mod media;
pub mod outbox;
pub mod protocol;
pub mod routing;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod webhooks;
