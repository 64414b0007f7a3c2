//! Transfers of an interaction channel (twilio-api.md §6.5). Twilio documents no request
//! fields, so ours are:
//!
//! `POST …/Channels/{UO}/Transfers` with a JSON body (`Content-Type: application/json`; a form
//! field `Body=<json>` or the same keys as form fields also work):
//! ```json
//! {"type": "cold" | "warm", "from": "UT…", "to": "WK…" | "WQ…",
//!  "priority": 0, "timeout": 86400, "attributes": {…}}
//! ```
//! `from` is the transferring agent's channel participant. A task is created in the agent's
//! workspace, on the agent task's channel, with the agent task's attributes (plus `attributes`,
//! `flexTransferSid` and `transferType`), routed straight to the worker (`routing_target`) or
//! the queue. When a worker accepts it: `cold` — the `from` agent leaves the conversation and
//! its task completes; `warm` — both stay. The transfer is then `completed`. If the new task
//! is canceled (TTL, API, channel closed) before that, the transfer is `failed` (checked when
//! the transfer is read).
//!
//! `POST …/Transfers/{UX}` with `{"status": "failed"}` (or `canceled`) withdraws an active
//! transfer: its task is canceled.

use serde_json::{Map, Value};

use super::agents;
use super::records::{self, Channel, Transfer};
use super::routing::{self, Settle};
use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::*;
use crate::routing::engine::TaskCreate;
use crate::routing::model::TaskStatus;
use crate::store::records::now;

/// A parsed transfer request.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    /// `cold` or `warm`.
    pub kind: String,
    /// The transferring agent.
    pub from: ChannelParticipantSid,
    /// `WK…` or `WQ…`.
    pub to: String,
    /// Task priority.
    pub priority: Option<i64>,
    /// Task TTL.
    pub timeout: Option<u64>,
    /// Extra task attributes.
    pub attributes: Map<String, Value>,
}

/// Parses the request body (a JSON object).
pub fn parse(body: &Map<String, Value>) -> Result<TransferRequest, ApiError> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = s("type")
        .unwrap_or_else(|| "cold".into())
        .to_ascii_lowercase();
    if kind != "cold" && kind != "warm" {
        return Err(ApiError::invalid("type", "must be cold or warm"));
    }
    let from = s("from")
        .ok_or_else(|| ApiError::missing("from"))?
        .parse()
        .map_err(|_| ApiError::invalid("from", "must be a channel participant SID (UT…)"))?;
    let to = s("to").ok_or_else(|| ApiError::missing("to"))?;
    let to = if let Ok(w) = to.parse::<WorkerSid>() {
        w.to_string()
    } else if let Ok(q) = to.parse::<TaskQueueSid>() {
        q.to_string()
    } else {
        return Err(ApiError::invalid(
            "to",
            "must be a worker (WK…) or queue (WQ…) SID",
        ));
    };
    let int = |k: &str| body.get(k).and_then(Value::as_i64);
    let attributes = match body.get("attributes") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(t)) => routing::json_object("attributes", t)?,
        _ => Map::new(),
    };
    Ok(TransferRequest {
        kind,
        from,
        to,
        priority: int("priority"),
        timeout: int("timeout").filter(|t| *t > 0).map(|t| t as u64),
        attributes,
    })
}

/// Creates a transfer and its task.
pub async fn create(
    state: &AppState,
    channel: &Channel,
    req: TransferRequest,
) -> Result<Transfer, ApiError> {
    let account = channel.account_sid.clone();
    let from = agents::find(state, channel, req.from.as_str()).await?;
    let Some((workspace, from_task)) = from.task() else {
        return Err(ApiError::invalid("from", "is not an agent with a task"));
    };
    if from.status == "closed" {
        return Err(ApiError::invalid("from", "has left the channel"));
    }
    let (_, attributes, task_channel) =
        routing::task_state(state, &account, &workspace, &from_task)
            .await?
            .ok_or_else(|| ApiError::invalid("from", "its task no longer exists"))?;
    let sid = TransferSid::generate();
    let mut attrs = match serde_json::from_str::<Value>(&attributes) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    attrs.extend(req.attributes);
    attrs.insert("flexTransferSid".into(), Value::String(sid.to_string()));
    attrs.insert("transferType".into(), Value::String(req.kind.clone()));
    let to_queue = req.to.parse::<TaskQueueSid>().ok();
    let task_req = TaskCreate {
        attributes: Some(Value::Object(attrs).to_string()),
        priority: req.priority,
        task_channel: Some(task_channel.to_string()),
        timeout: req.timeout,
        routing_target: to_queue.is_none().then(|| req.to.clone()),
        task_queue_sid: to_queue,
        ..Default::default()
    };
    let task_sid = state
        .routers
        .exec(&account, &workspace, move |engine, now| {
            engine.create_task(task_req, now)
        })
        .await?;
    let at = now();
    let transfer = Transfer {
        sid,
        account_sid: account,
        interaction_sid: channel.interaction_sid.clone(),
        channel_sid: channel.sid.clone(),
        kind: req.kind,
        status: "active".into(),
        from: req.from,
        to: req.to,
        workspace_sid: workspace.parse().map_err(|_| ApiError::Internal)?,
        task_sid,
        created: at,
        updated: at,
    };
    state.store.submit(vec![transfer.put()?]).await?;
    Ok(transfer)
}

async fn save_status(
    state: &AppState,
    transfer: &mut Transfer,
    status: &str,
) -> Result<(), ApiError> {
    transfer.status = status.to_owned();
    transfer.updated = now();
    state.store.submit(vec![transfer.put()?]).await?;
    Ok(())
}

/// Completes the active transfers `task` was created for (a worker accepted it).
pub async fn task_accepted(state: &AppState, task: &TaskSid) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    for mut t in records::load_by_alt::<Transfer>(store, records::TRANSFER, task.as_str()).await? {
        if t.status != "active" {
            continue;
        }
        if t.kind == "cold"
            && let Some(channel) =
                records::load::<Channel>(store, records::CHANNEL, t.channel_sid.as_str()).await?
            && let Ok(from) = agents::find(state, &channel, t.from.as_str()).await
            && from.status != "closed"
        {
            agents::set_status(state, &channel, from, "closed").await?;
        }
        save_status(state, &mut t, "completed").await?;
    }
    Ok(())
}

/// Loads a transfer of a channel, marking it `failed` when its task was canceled.
pub async fn find(state: &AppState, channel: &Channel, sid: &str) -> Result<Transfer, ApiError> {
    let mut t = records::load::<Transfer>(state.store.as_ref(), records::TRANSFER, sid)
        .await?
        .filter(|t| t.channel_sid == channel.sid)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "/Interactions/{}/Channels/{}/Transfers/{sid}",
                channel.interaction_sid, channel.sid
            ))
        })?;
    if t.status == "active" {
        let task =
            routing::task_state(state, &t.account_sid, t.workspace_sid.as_str(), &t.task_sid)
                .await?;
        if matches!(task, None | Some((TaskStatus::Canceled, _, _))) {
            save_status(state, &mut t, "failed").await?;
        }
    }
    Ok(t)
}

/// `POST …/Transfers/{UX}`: `{"status": "failed"}` withdraws an active transfer.
pub async fn update(
    state: &AppState,
    mut transfer: Transfer,
    status: &str,
) -> Result<Transfer, ApiError> {
    match status {
        "failed" | "canceled" if transfer.status == "active" => {
            let tasks = vec![(
                transfer.workspace_sid.to_string(),
                transfer.task_sid.clone(),
            )];
            routing::settle(
                state,
                &transfer.account_sid,
                tasks,
                Settle::Wrap,
                "Transfer withdrawn",
            )
            .await?;
            save_status(state, &mut transfer, "failed").await?;
            Ok(transfer)
        }
        "failed" | "canceled" => Err(ApiError::Conflict(format!(
            "Transfer {} is {} and cannot be withdrawn",
            transfer.sid, transfer.status
        ))),
        _ => Err(ApiError::invalid("status", "must be failed")),
    }
}
