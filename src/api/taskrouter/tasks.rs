//! `/Tasks` and the Reservations under tasks and workers. Accepting a reservation also runs
//! the Interactions hook (the agent joins the task's conversation) before answering.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

use super::{TrCtx, list_reply, path, render, sid, sid_param};
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::{ReservationSid, TaskSid, WorkerSid, WorkflowSid};
use crate::routing::engine::ops::{TaskCreate, TaskUpdate};
use crate::routing::engine::{Engine, RoutingError};
use crate::routing::expr::{self, Context};
use crate::routing::model::{Millis, Reservation, ReservationStatus, Task, TaskStatus};

fn find<'a>(e: &'a Engine, raw: &str) -> Result<&'a Task, RoutingError> {
    let sid: TaskSid = sid(raw, "Tasks")?;
    e.tasks
        .get(&sid)
        .ok_or_else(|| RoutingError::NotFound(format!("/Tasks/{raw}")))
}

fn priority(p: &Params) -> Result<Option<i64>, ApiError> {
    match p.unsigned("Priority")? {
        Some(n) if n > i32::MAX as u64 => Err(ApiError::invalid(
            "Priority",
            "must be between 0 and 2147483647",
        )),
        n => Ok(n.map(|n| n as i64)),
    }
}

fn virtual_start(p: &Params) -> Result<Option<Millis>, ApiError> {
    Ok(p.datetime("VirtualStartTime")?.map(|s| s * 1000))
}

/// `POST /Tasks`
pub async fn create(ctx: TrCtx, p: Params) -> Result<HttpResponse, ApiError> {
    let req = TaskCreate {
        attributes: p.json_text("Attributes")?,
        priority: priority(&p)?,
        task_channel: p.text("TaskChannel", 64)?,
        workflow_sid: sid_param(&p, "WorkflowSid")?,
        timeout: p.unsigned("Timeout")?,
        routing_target: p.text("RoutingTarget", 34)?.filter(|t| !t.is_empty()),
        ignore_capacity: p.boolean("IgnoreCapacity")?.unwrap_or(false),
        task_queue_sid: sid_param(&p, "TaskQueueSid")?,
        virtual_start: virtual_start(&p)?,
    };
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| {
            let sid = e.create_task(req, now)?;
            Ok(render::task(&base, e, &e.tasks[&sid], now))
        })
        .await?;
    Ok(HttpResponse::Created().json(body))
}

/// `GET /Tasks/{WT}`
pub async fn fetch(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| Ok(render::task(&base, e, find(e, &raw)?, now)))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /Tasks/{WT}` (`Attributes`, `AssignmentStatus`, `Reason`, `Priority`,
/// `TaskChannel`, `VirtualStartTime`)
pub async fn update(ctx: TrCtx, req: HttpRequest, p: Params) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    let status = match p.get("AssignmentStatus") {
        None => None,
        Some(v) => Some(TaskStatus::parse(v).ok_or_else(|| {
            ApiError::invalid(
                "AssignmentStatus",
                "must be canceled, wrapping or completed",
            )
        })?),
    };
    let update = TaskUpdate {
        attributes: p.json_text("Attributes")?,
        status,
        reason: p.text("Reason", 1024)?,
        priority: priority(&p)?,
        task_channel: p.text("TaskChannel", 64)?,
        virtual_start: virtual_start(&p)?,
    };
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, now| {
            let sid = find(e, &raw)?.sid.clone();
            e.update_task(&sid, update, now)?;
            Ok(render::task(&base, e, &e.tasks[&sid], now))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `DELETE /Tasks/{WT}`
pub async fn delete(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let raw = path(&req, "sid");
    ctx.exec(move |e, now| {
        let sid = find(e, &raw)?.sid.clone();
        e.delete_task(&sid, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /Tasks` (filters `Priority`, `AssignmentStatus` (repeatable), `WorkflowSid`,
/// `WorkflowName`, `TaskQueueSid`, `TaskQueueName`, `EvaluateTaskAttributes`,
/// `RoutingTarget`, `Ordering`)
pub async fn list(ctx: TrCtx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let want_priority = priority(&q)?;
    let statuses: Vec<TaskStatus> = q
        .all("AssignmentStatus")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| {
            TaskStatus::parse(s.trim())
                .ok_or_else(|| ApiError::invalid("AssignmentStatus", "is not a task status"))
        })
        .collect::<Result<_, _>>()?;
    let workflow_sid: Option<WorkflowSid> = sid_param(&q, "WorkflowSid")?;
    let workflow_name = q.get("WorkflowName").map(str::to_owned);
    let queue_sid = q.get("TaskQueueSid").map(str::to_owned);
    let queue_name = q.get("TaskQueueName").map(str::to_owned);
    let routing_target = q.get("RoutingTarget").map(str::to_owned);
    let evaluate =
        match q.get("EvaluateTaskAttributes") {
            Some(src) => Some(expr::parse(src).map_err(|e| {
                ApiError::invalid("EvaluateTaskAttributes", format!("`{src}`: {e}"))
            })?),
            None => None,
        };
    let ordering = q.get("Ordering").map(str::to_owned);
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, now| {
            let mut list: Vec<(&Task, Value)> = e
                .tasks
                .values()
                .filter(|t| want_priority.is_none_or(|p| t.priority == p))
                .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
                .filter(|t| {
                    workflow_sid
                        .as_ref()
                        .is_none_or(|w| t.workflow_sid.as_ref() == Some(w))
                })
                .filter(|t| {
                    workflow_name.as_deref().is_none_or(|n| {
                        t.workflow_sid
                            .as_ref()
                            .and_then(|w| e.workflows.get(w))
                            .is_some_and(|w| w.friendly_name == n)
                    })
                })
                .filter(|t| {
                    queue_sid
                        .as_deref()
                        .is_none_or(|s| t.queue_sid.as_ref().is_some_and(|q| q.as_str() == s))
                })
                .filter(|t| {
                    queue_name.as_deref().is_none_or(|n| {
                        t.queue_sid
                            .as_ref()
                            .and_then(|q| e.queues.get(q))
                            .is_some_and(|q| q.friendly_name == n)
                    })
                })
                .filter(|t| {
                    routing_target
                        .as_deref()
                        .is_none_or(|r| t.routing_target.as_deref() == Some(r))
                })
                .map(|t| (t, t.attributes_value()))
                .filter(|(_, attrs)| {
                    evaluate
                        .as_ref()
                        .is_none_or(|x| x.matches(&Context::new(attrs)))
                })
                .collect();
            sort_tasks(&mut list, ordering.as_deref());
            Ok(list
                .into_iter()
                .map(|(t, _)| render::task(&base, e, t, now))
                .collect())
        })
        .await?;
    let url = format!("{}/Tasks", ctx.ws_url());
    list_reply(
        "tasks",
        items,
        &q,
        &url,
        &[
            "Priority",
            "AssignmentStatus",
            "WorkflowSid",
            "WorkflowName",
            "TaskQueueSid",
            "TaskQueueName",
            "EvaluateTaskAttributes",
            "RoutingTarget",
            "Ordering",
        ],
    )
}

/// `Ordering=DateCreated:desc,Priority:asc` (default: oldest first).
fn sort_tasks(list: &mut [(&Task, Value)], ordering: Option<&str>) {
    let keys: Vec<(String, bool)> = ordering
        .unwrap_or("DateCreated:asc")
        .split(',')
        .map(|pair| {
            let (field, dir) = pair.split_once(':').unwrap_or((pair, "asc"));
            (
                field.trim().to_owned(),
                dir.trim().eq_ignore_ascii_case("desc"),
            )
        })
        .collect();
    list.sort_by(|(a, _), (b, _)| {
        for (field, desc) in &keys {
            let ord = match field.as_str() {
                "Priority" => a.priority.cmp(&b.priority),
                "VirtualStartTime" => a.virtual_start.cmp(&b.virtual_start),
                _ => a.created.cmp(&b.created),
            };
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        a.sid.cmp(&b.sid)
    });
}

// ---- Reservations --------------------------------------------------------------------

fn reservation_filter(q: &Params) -> Result<Option<ReservationStatus>, ApiError> {
    match q.get("ReservationStatus") {
        None => Ok(None),
        Some(v) => ReservationStatus::parse(v)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("ReservationStatus", "is not a reservation status")),
    }
}

/// `GET /Tasks/{WT}/Reservations` (filters `ReservationStatus`, `WorkerSid`)
pub async fn list_task_reservations(
    ctx: TrCtx,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let raw = path(&req, "sid");
    let status = reservation_filter(&q)?;
    let worker = q.get("WorkerSid").map(str::to_owned);
    let url = format!("{}/Tasks/{raw}/Reservations", ctx.ws_url());
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let task = find(e, &raw)?;
            Ok(e.reservations_of_task(&task.sid)
                .into_iter()
                .filter(|r| status.is_none_or(|s| r.status == s))
                .filter(|r| worker.as_deref().is_none_or(|w| r.worker_sid.as_str() == w))
                .map(|r| render::reservation(&base, e, r, false))
                .collect())
        })
        .await?;
    list_reply(
        "reservations",
        items,
        &q,
        &url,
        &["ReservationStatus", "WorkerSid"],
    )
}

/// `GET /Workers/{WK}/Reservations` (filter `ReservationStatus`)
pub async fn list_worker_reservations(
    ctx: TrCtx,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let raw = path(&req, "sid");
    let status = reservation_filter(&q)?;
    let url = format!("{}/Workers/{raw}/Reservations", ctx.ws_url());
    let base = ctx.base.clone();
    let items = ctx
        .exec(move |e, _| {
            let worker: WorkerSid = sid(&raw, "Workers")?;
            if !e.workers.contains_key(&worker) {
                return Err(RoutingError::NotFound(format!("/Workers/{raw}")));
            }
            Ok(e.reservations_of_worker(&worker)
                .into_iter()
                .filter(|r| status.is_none_or(|s| r.status == s))
                .map(|r| render::reservation(&base, e, r, true))
                .collect())
        })
        .await?;
    list_reply("reservations", items, &q, &url, &["ReservationStatus"])
}

/// Which parent a reservation path names.
#[derive(Clone, Copy)]
enum View {
    Task,
    Worker,
}

fn find_reservation(
    e: &Engine,
    view: View,
    parent: &str,
    raw: &str,
) -> Result<ReservationSid, RoutingError> {
    let not_found = || RoutingError::NotFound(format!("/Reservations/{raw}"));
    let sid: ReservationSid = raw.parse().map_err(|_| not_found())?;
    let r = e.reservations.get(&sid).ok_or_else(not_found)?;
    if view.owns(r, parent) {
        Ok(sid)
    } else {
        Err(not_found())
    }
}

impl View {
    /// Whether `r` is under `parent` (its task or its worker) in this view.
    fn owns(self, r: &Reservation, parent: &str) -> bool {
        match self {
            View::Task => r.task_sid.as_str() == parent,
            View::Worker => r.worker_sid.as_str() == parent,
        }
    }
}

async fn fetch_reservation(
    ctx: TrCtx,
    req: HttpRequest,
    view: View,
) -> Result<HttpResponse, ApiError> {
    let parent = path(&req, "sid");
    let raw = path(&req, "reservation");
    let base = ctx.base.clone();
    let body = ctx
        .exec(move |e, _| {
            let sid = find_reservation(e, view, &parent, &raw)?;
            Ok(render::reservation(
                &base,
                e,
                &e.reservations[&sid],
                matches!(view, View::Worker),
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

async fn update_reservation(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
    view: View,
) -> Result<HttpResponse, ApiError> {
    let parent = path(&req, "sid");
    let raw = path(&req, "reservation");
    let status = match p.get("ReservationStatus") {
        None => None,
        Some(v) => Some(ReservationStatus::parse(v).ok_or_else(|| {
            ApiError::invalid(
                "ReservationStatus",
                "must be accepted, rejected, wrapping or completed",
            )
        })?),
    };
    let activity = sid_param(&p, "WorkerActivitySid")?;
    let base = ctx.base.clone();
    let worker_view = matches!(view, View::Worker);
    let render = move |e: &Engine, sid: &ReservationSid| {
        render::reservation(&base, e, &e.reservations[sid], worker_view)
    };
    let body = match status {
        Some(status) => {
            let sid: ReservationSid = raw
                .parse()
                .map_err(|_| ApiError::NotFound(format!("/Reservations/{raw}")))?;
            let answered = sid.clone();
            crate::interactions::answer_reservation(
                &ctx.state,
                &ctx.account,
                &ctx.workspace,
                sid,
                status,
                activity,
                move |r| view.owns(r, &parent),
                move |e, _| render(e, &answered),
            )
            .await?
        }
        None => {
            ctx.exec(move |e, _| {
                let sid = find_reservation(e, view, &parent, &raw)?;
                Ok(render(e, &sid))
            })
            .await?
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /Tasks/{WT}/Reservations/{WR}`
pub async fn fetch_task_reservation(
    ctx: TrCtx,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    fetch_reservation(ctx, req, View::Task).await
}

/// `GET /Workers/{WK}/Reservations/{WR}`
pub async fn fetch_worker_reservation(
    ctx: TrCtx,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    fetch_reservation(ctx, req, View::Worker).await
}

/// `POST /Tasks/{WT}/Reservations/{WR}`
pub async fn update_task_reservation(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    update_reservation(ctx, req, p, View::Task).await
}

/// `POST /Workers/{WK}/Reservations/{WR}`
pub async fn update_worker_reservation(
    ctx: TrCtx,
    req: HttpRequest,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    update_reservation(ctx, req, p, View::Worker).await
}
