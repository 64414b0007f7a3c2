//! Flex API under `/flex-api`: Interactions, Interaction Channels, Channel Participants,
//! Invites and Transfers (twilio-api.md §6). Work in progress.

use actix_web::web;

/// Mounts the Flex routes (inside the `/flex-api` scope).
pub fn configure(_cfg: &mut web::ServiceConfig) {}
