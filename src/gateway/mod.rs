//! The WebSocket edge (agents, webchat guests, supervisors). So far: [`token`], the
//! Twilio-format access tokens sessions will authenticate with. The session actor, outbound
//! queue, heartbeats and close codes arrive with the gateway issue.

pub mod token;
