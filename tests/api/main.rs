//! Integration tests: each boots the real server (see `harness`) and speaks HTTP to it.

mod harness;

mod concurrency;
mod conversations;
mod durability;
mod errors;
mod idempotency;
mod keys;
mod messages;
mod participants;
mod resources;
mod startup;
mod timers;
