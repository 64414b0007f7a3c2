//! Integration tests: each boots the real server (see `harness`) and speaks HTTP to it.

mod harness;
mod receiver;
mod ws;

mod addresses;
mod channels;
mod concurrency;
mod conversation_webhooks;
mod conversations;
mod deliveries;
mod durability;
mod errors;
mod flex;
mod gateway;
mod idempotency;
mod keys;
mod load;
mod logins;
mod media;
mod messages;
mod participants;
mod resources;
mod simulator;
mod startup;
mod taskrouter;
mod taskrouter_ws;
mod timers;
mod webchat;
mod webhook_config;
mod webhooks;
