//! The Flex Interactions layer: binds conversations to TaskRouter tasks (interactions,
//! interaction channels, channel participants, invites, transfers).
//!
//! Work in progress: only the hook the routing layer calls exists so far.

use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::{AccountSid, ReservationSid, WorkspaceSid};

/// Called after a reservation was accepted (REST or WebSocket), before the accept is
/// answered: when the task belongs to an interaction channel, adds the worker to the
/// conversation as a chat participant and an agent channel participant.
pub async fn reservation_accepted(
    _state: &AppState,
    _account: &AccountSid,
    _workspace: &WorkspaceSid,
    _reservation: &ReservationSid,
) -> Result<(), ApiError> {
    Ok(())
}
