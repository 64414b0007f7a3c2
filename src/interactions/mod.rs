//! The Flex Interactions layer: binds conversations ⇄ interaction channels ⇄ TaskRouter tasks ⇄
//! agent participants (twilio-api.md §6).
//!
//! * [`create`] — `POST /v1/Interactions`: bind or create the conversation, store the
//!   interaction, its channel and first invite, create the task.
//! * [`channels`] — channel close/inactive and invites; [`agents`] — the accept hook and
//!   channel participants; [`transfers`] — cold and warm transfers.
//! * [`watcher`] — a conversation that closes by any path settles its channel's tasks;
//!   [`rearm_watchers`] restarts the watchers at start-up.
//! * [`routing`] — the `Routing` object, Flex's task attributes, task echoes;
//!   [`conversation`] — the conversation actor messages this layer sends; [`records`] — the
//!   stored documents.
//!
//! Calls go down only: interactions → routing (`state.routers.exec`) and → conversations
//! (actor messages). Never write task state or conversation state directly.

pub mod agents;
pub mod channels;
pub mod conversation;
pub mod create;
pub mod records;
pub mod routing;
pub mod transfers;
pub mod watcher;

use actix_web::web;

use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::{AccountSid, ReservationSid, WorkspaceSid};

/// Called after a reservation was accepted (REST or WebSocket), before the accept is
/// answered: when the task belongs to an interaction channel, adds the worker to the
/// conversation as a chat participant and an agent channel participant.
pub async fn reservation_accepted(
    state: &AppState,
    account: &AccountSid,
    workspace: &WorkspaceSid,
    reservation: &ReservationSid,
) -> Result<(), ApiError> {
    agents::reservation_accepted(state, account, workspace, reservation).await
}

/// Answers a reservation for REST and the WebSocket alike, in one trip to the workspace's
/// router: `belongs` checks the reservation is the caller's (its task or worker), the router
/// applies the answer, `render` builds the reply from the resulting state; then, for an
/// accept, [`reservation_accepted`] adds the agent to the task's conversation.
#[allow(clippy::too_many_arguments)]
pub async fn answer_reservation<R, B, F>(
    state: &AppState,
    account: &AccountSid,
    workspace: &str,
    reservation: ReservationSid,
    status: crate::routing::model::ReservationStatus,
    activity: Option<crate::ids::ActivitySid>,
    belongs: B,
    render: F,
) -> Result<R, ApiError>
where
    R: Send + 'static,
    B: FnOnce(&crate::routing::model::Reservation) -> bool + Send + 'static,
    F: FnOnce(&crate::routing::engine::Engine, crate::routing::model::Millis) -> R + Send + 'static,
{
    use crate::routing::engine::RoutingError;
    let sid = reservation.clone();
    let (workspace_sid, answered) = state
        .routers
        .exec(account, workspace, move |e, now| {
            if !e.reservations.get(&sid).is_some_and(belongs) {
                return Err(RoutingError::NotFound(format!("/Reservations/{sid}")));
            }
            e.answer_reservation(&sid, status, activity, now)?;
            Ok((e.workspace.sid.clone(), render(e, now)))
        })
        .await?;
    if status == crate::routing::model::ReservationStatus::Accepted {
        reservation_accepted(state, account, &workspace_sid, &reservation).await?;
    }
    Ok(answered)
}

/// Start-up: re-arms the conversation watcher of every live interaction channel (and settles
/// channels whose conversation closed while the server was down). Call once after the
/// `AppState` is built.
pub async fn rearm_watchers(state: web::Data<AppState>) -> Result<(), ApiError> {
    watcher::rearm(state).await
}
