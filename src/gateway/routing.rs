//! The routing side of a session (docs/protocol.md, "Routing"): the worker of the token's
//! `task_router` grant receives its reservation offers and updates on every one of its
//! sessions (the first accept wins; the router refuses the others), changes its activity and
//! answers offers; a supervisor with a workspace receives the workspace's live statistics.
//!
//! Never: act on a reservation of another worker, or let a non-supervisor read statistics.

use actix::prelude::*;
use serde_json::{Value, json};

use super::close::Close;
use super::session::SessionActor;
use crate::api::AppState;
use crate::cluster::routing_topic;
use crate::error::ApiError;
use crate::gateway::token::{Principal, Role};
use crate::ids::{ActivitySid, ReservationSid, WorkerSid, WorkspaceSid};
use crate::protocol::Command;
use crate::routing::engine::RoutingError;
use crate::routing::model::ReservationStatus;
use crate::routing::wire;

/// Where a session stands in TaskRouter.
#[derive(Debug, Clone)]
pub struct Seat {
    /// The grant's workspace.
    pub workspace: WorkspaceSid,
    /// The grant's worker (agents).
    pub worker: Option<WorkerSid>,
}

/// Resolves the token's `task_router` grant: the workspace must be the account's, the worker
/// (if named) must exist in it. No grant, or one naming what does not exist here: no seat
/// (the session still chats; routing commands are refused with 20403).
pub async fn seat(app: &AppState, principal: &Principal) -> Result<Option<Seat>, ApiError> {
    let Some(grant) = &principal.grants.task_router else {
        return Ok(None);
    };
    let Some(workspace) = grant.workspace_sid.as_deref().filter(|w| !w.is_empty()) else {
        return Ok(None);
    };
    let worker = grant.worker_sid.clone().filter(|w| !w.is_empty());
    let checked = app
        .routers
        .exec(&principal.account, workspace, move |e, _| {
            let worker = match worker {
                None => None,
                Some(raw) => {
                    let sid: WorkerSid = raw
                        .parse()
                        .map_err(|_| RoutingError::NotFound(format!("/Workers/{raw}")))?;
                    if !e.workers.contains_key(&sid) {
                        return Err(RoutingError::NotFound(format!("/Workers/{raw}")));
                    }
                    Some(sid)
                }
            };
            Ok(Seat {
                workspace: e.workspace.sid.clone(),
                worker,
            })
        })
        .await;
    match checked {
        Ok(seat) => Ok(Some(seat)),
        Err(ApiError::NotFound(what)) => {
            tracing::info!(identity = %principal.identity, %what, "token names no routing seat here");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl SessionActor {
    /// Subscribes to the worker's frames (agents) or the workspace's statistics (supervisors).
    pub(super) fn watch_routing(&mut self, ctx: &mut Context<Self>, seat: &Seat, role: Role) {
        let mut topics = Vec::new();
        if let Some(worker) = &seat.worker {
            topics.push(routing_topic::worker(worker));
        }
        if role == Role::Supervisor {
            topics.push(routing_topic::workspace(&seat.workspace));
        }
        for topic in topics {
            let rx = self.app.bus.subscribe_frames(&topic);
            let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                use tokio::sync::broadcast::error::RecvError;
                match rx.recv().await {
                    Ok(frame) => Some((Ok(frame), rx)),
                    Err(RecvError::Lagged(n)) => Some((Err(n), rx)),
                    Err(RecvError::Closed) => None,
                }
            });
            ctx.spawn(
                actix::fut::wrap_stream(frames)
                    .map(|item, act: &mut Self, ctx| match item {
                        Ok(frame) => act.push(ctx, frame),
                        Err(_) => act.close(ctx, Close::Lagged, None),
                    })
                    .finish(),
            );
        }
    }

    fn routing_seat(&self) -> Option<(Seat, Role)> {
        let authed = self.auth.as_ref()?;
        Some((authed.routing.clone()?, authed.principal.role))
    }

    /// Runs a routing command.
    pub(super) fn routing_command(&mut self, ctx: &mut Context<Self>, id: Value, command: Command) {
        let Some((seat, role)) = self.routing_seat() else {
            let err = ApiError::Forbidden(
                "the token's task_router grant names no workspace (and worker) of this account"
                    .into(),
            );
            return self.answer(ctx, &id, Err(err));
        };
        let app = self.app.clone();
        let account = self.auth.as_ref().map(|a| a.scope.account.clone());
        let Some(account) = account else {
            return;
        };
        let workspace = seat.workspace.to_string();
        if let Command::Statistics = command {
            if role != Role::Supervisor {
                let err = ApiError::Forbidden("statistics are for supervisors".into());
                return self.answer(ctx, &id, Err(err));
            }
            let read = async move {
                app.routers
                    .exec(&account, &workspace, |e, now| Ok(wire::statistics(e, now)))
                    .await
            };
            return self.answer_routing(ctx, id, read);
        }
        let Some(worker) = seat.worker.clone() else {
            let err = ApiError::Forbidden("the token names no worker".into());
            return self.answer(ctx, &id, Err(err));
        };
        let work = async move {
            match command {
                Command::Worker => snapshot(&app, &account, &workspace, worker).await,
                Command::Activity {
                    activity_sid,
                    activity_name,
                } => {
                    let w = worker.clone();
                    app.routers
                        .exec(&account, &workspace, move |e, now| {
                            let activity = match (activity_sid, activity_name) {
                                (Some(raw), _) => raw.parse::<ActivitySid>().map_err(|_| {
                                    RoutingError::Invalid(
                                        "Invalid parameter activity_sid: not an activity SID"
                                            .into(),
                                    )
                                })?,
                                (None, Some(name)) => e.activity_named(&name).ok_or_else(|| {
                                    RoutingError::Invalid(format!(
                                        "Invalid parameter activity_name: no activity {name}"
                                    ))
                                })?,
                                (None, None) => {
                                    return Err(RoutingError::Invalid(
                                        "Missing required parameter activity_sid or activity_name"
                                            .into(),
                                    ));
                                }
                            };
                            e.update_worker(
                                &w,
                                crate::routing::engine::ops::WorkerUpdate {
                                    activity_sid: Some(activity),
                                    ..Default::default()
                                },
                                now,
                            )?;
                            Ok(())
                        })
                        .await?;
                    snapshot(&app, &account, &workspace, worker).await
                }
                Command::Accept { reservation_sid } => {
                    let answer = (reservation_sid, ReservationStatus::Accepted, None);
                    respond(&app, &account, &workspace, &worker, answer).await
                }
                Command::Reject {
                    reservation_sid,
                    activity_sid,
                } => {
                    let activity = match activity_sid {
                        Some(raw) => Some(raw.parse::<ActivitySid>().map_err(|_| {
                            ApiError::invalid("activity_sid", "not an activity SID")
                        })?),
                        None => None,
                    };
                    let answer = (reservation_sid, ReservationStatus::Rejected, activity);
                    respond(&app, &account, &workspace, &worker, answer).await
                }
                Command::Wrapup { reservation_sid } => {
                    let answer = (reservation_sid, ReservationStatus::Wrapping, None);
                    respond(&app, &account, &workspace, &worker, answer).await
                }
                Command::Complete { reservation_sid } => {
                    let answer = (reservation_sid, ReservationStatus::Completed, None);
                    respond(&app, &account, &workspace, &worker, answer).await
                }
                _ => Err(ApiError::Internal),
            }
        };
        self.answer_routing(ctx, id, work);
    }

    fn answer_routing(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        work: impl std::future::Future<Output = Result<Value, ApiError>> + 'static,
    ) {
        ctx.spawn(
            work.into_actor(self)
                .map(move |result, act, ctx| act.answer(ctx, &id, result)),
        );
    }
}

/// The worker with its live reservations.
async fn snapshot(
    app: &AppState,
    account: &crate::ids::AccountSid,
    workspace: &str,
    worker: WorkerSid,
) -> Result<Value, ApiError> {
    app.routers
        .exec(account, workspace, move |e, now| {
            Ok(json!({
                "worker": wire::worker(e, &worker),
                "reservations": wire::live_reservations(e, &worker, now),
            }))
        })
        .await
}

/// A worker's answer: which reservation, the new status, the activity to move to.
type Answer = (ReservationSid, ReservationStatus, Option<ActivitySid>);

/// Answers one of the worker's own reservations (another worker's is "not found").
async fn respond(
    app: &AppState,
    account: &crate::ids::AccountSid,
    workspace: &str,
    worker: &WorkerSid,
    (reservation, status, activity): Answer,
) -> Result<Value, ApiError> {
    let w = worker.clone();
    let r = reservation.clone();
    crate::interactions::answer_reservation(
        app,
        account,
        workspace,
        reservation,
        status,
        activity,
        move |found| found.worker_sid == w,
        move |e, now| json!({ "reservation": wire::reservation(e, &r, now) }),
    )
    .await
}
