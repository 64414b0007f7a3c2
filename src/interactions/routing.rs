//! How interactions reach TaskRouter: the `Routing` object (twilio-api.md §6.1) parsed into a
//! [`RoutingSpec`], the task attributes Flex adds, task creation in a workspace router, the
//! task echo with epoch-second dates, and moving a channel's tasks on (wrap up, complete).
//!
//! Never: touch the engine except through `state.routers.exec`.

use serde_json::{Map, Value, json};

use super::records::Channel;
use crate::api::AppState;
use crate::error::ApiError;
use crate::ids::*;
use crate::routing::engine::{Engine, TaskCreate, TaskUpdate};
use crate::routing::model::{Millis, ReservationStatus, Task, TaskStatus};

/// The `Routing` JSON of an interaction, invite or transfer.
#[derive(Debug, Clone, Default)]
pub struct RoutingSpec {
    /// `properties.workspace_sid` (default: the account's default workspace).
    pub workspace_sid: Option<String>,
    /// `properties.workflow_sid`.
    pub workflow_sid: Option<WorkflowSid>,
    /// `properties.task_channel_unique_name` (default from the channel type).
    pub task_channel: Option<String>,
    /// `properties.queue_sid`: straight to a queue.
    pub queue_sid: Option<TaskQueueSid>,
    /// `properties.worker_sid`: straight to an agent (routing target).
    pub worker_sid: Option<WorkerSid>,
    /// `properties.priority`.
    pub priority: Option<i64>,
    /// `properties.timeout` (task TTL, seconds).
    pub timeout: Option<u64>,
    /// `properties.attributes`, added to the task as they are.
    pub attributes: Map<String, Value>,
    /// Top-level `status` (channel updates: `closed`).
    pub status: Option<String>,
}

fn sid_field<T: std::str::FromStr>(
    props: &Value,
    param: &str,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(param, format!("properties.{key} is not a valid SID"))),
        Some(_) => Err(ApiError::invalid(
            param,
            format!("properties.{key} must be a string"),
        )),
    }
}

fn int_field(props: &Value, param: &str, key: &str) -> Result<Option<i64>, ApiError> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            ApiError::invalid(param, format!("properties.{key} must be an integer"))
        }),
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| {
                ApiError::invalid(param, format!("properties.{key} must be an integer"))
            })
        }
        Some(_) => Err(ApiError::invalid(
            param,
            format!("properties.{key} must be an integer"),
        )),
    }
}

/// Parses JSON text into an object, naming `param` when it is not one.
pub fn json_object(param: &str, text: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::invalid(param, "must be a JSON object")),
        Err(e) => Err(ApiError::invalid(param, format!("is not valid JSON ({e})"))),
    }
}

/// Parses a `Routing` parameter.
pub fn parse_routing(param: &str, text: &str) -> Result<RoutingSpec, ApiError> {
    let root = Value::Object(json_object(param, text)?);
    let props = root.get("properties").cloned().unwrap_or(Value::Null);
    if !(props.is_object() || props.is_null()) {
        return Err(ApiError::invalid(param, "properties must be an object"));
    }
    let attributes = match props.get("attributes") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => json_object(&format!("{param}.properties.attributes"), s)?,
        Some(_) => {
            return Err(ApiError::invalid(
                param,
                "properties.attributes must be an object",
            ));
        }
    };
    let timeout = match int_field(&props, param, "timeout")? {
        None => None,
        Some(t) if t > 0 => Some(t as u64),
        Some(_) => {
            return Err(ApiError::invalid(
                param,
                "properties.timeout must be positive",
            ));
        }
    };
    let text_field = |key: &str| props.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(RoutingSpec {
        workspace_sid: sid_field::<WorkspaceSid>(&props, param, "workspace_sid")?
            .map(|s| s.to_string()),
        workflow_sid: sid_field(&props, param, "workflow_sid")?,
        task_channel: text_field("task_channel_unique_name").filter(|s| !s.is_empty()),
        queue_sid: sid_field(&props, param, "queue_sid")?,
        worker_sid: sid_field(&props, param, "worker_sid")?,
        priority: int_field(&props, param, "priority")?,
        timeout,
        attributes,
        status: root
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The task channel Flex uses for a channel type.
pub fn task_channel_for(channel_type: &str) -> &'static str {
    match channel_type {
        "sms" => "sms",
        "whatsapp" => "whatsapp",
        "messenger" => "messenger",
        "web" | "chat" => "chat",
        _ => "default",
    }
}

/// The account's default workspace ("Flex Task Assignment", else its oldest).
pub async fn default_workspace(state: &AppState, account: &AccountSid) -> Result<String, ApiError> {
    let mut best: Option<(bool, Millis, String)> = None;
    for ws in state.routers.workspaces(account) {
        let (name, created) = state
            .routers
            .exec(account, ws.as_str(), |e, _| {
                Ok((e.workspace.friendly_name.clone(), e.workspace.created))
            })
            .await?;
        let key = (
            name != crate::startup::DEFAULT_WORKSPACE,
            created,
            ws.to_string(),
        );
        if best.as_ref().is_none_or(|b| key < *b) {
            best = Some(key);
        }
    }
    best.map(|b| b.2)
        .ok_or_else(|| ApiError::invalid("Routing", "the account has no TaskRouter workspace"))
}

/// The task attributes Flex adds for a task of `channel` created for `invite`.
pub fn flex_attributes(channel: &Channel, invite: &InviteSid) -> Map<String, Value> {
    let v = json!({
        "conversationSid": channel.conversation_sid,
        "channelType": channel.channel_type,
        "customerAddress": channel.customer_address,
        "customerName": channel.customer_name,
        "customers": {"phone": channel.customer_address, "name": channel.customer_name},
        "conversations": {
            "initiated_by": channel.initiated_by,
            "conversation_id": channel.interaction_sid,
            "media": [{"type": "ChatTranscript", "sid": channel.conversation_sid}],
        },
        "flexInteractionSid": channel.interaction_sid,
        "flexInteractionChannelSid": channel.sid,
        "flexChannelInviteSid": invite,
        "initiatedBy": channel.initiated_by,
        "direction": channel.direction,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A task as the Flex API echoes it in `routing.properties`: epoch-second dates.
pub fn task_properties(engine: &Engine, task: &Task, now: Millis) -> Value {
    let queue = task.queue_sid.as_ref().and_then(|q| engine.queues.get(q));
    let workflow = task
        .workflow_sid
        .as_ref()
        .and_then(|w| engine.workflows.get(w));
    let channel = engine.channels.get(&task.task_channel_sid);
    let accepted = engine
        .reservations_of_task(&task.sid)
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                ReservationStatus::Accepted
                    | ReservationStatus::Wrapping
                    | ReservationStatus::Completed
            )
        })
        .count();
    let secs = |ms: Millis| ms.div_euclid(1000);
    json!({
        "date_updated": secs(task.updated),
        "task_queue_entered_date": task.queue_entered.map(secs),
        "workflow_name": workflow.map(|w| w.friendly_name.as_str()),
        "age_in_queue": task.queue_entered.map_or(0, |q| (now - q).max(0) / 1000),
        "task_channel_unique_name": channel.map(|c| c.unique_name.as_str()),
        "assignment_status": task.status.as_str(),
        "queue_name": queue.map(|q| q.friendly_name.as_str()),
        "assignmentCounter": accepted,
        "priority": task.priority,
        "sid": task.sid,
        "workflow_sid": task.workflow_sid,
        "routing_target": task.routing_target,
        "reason": task.reason.clone().unwrap_or_default(),
        "attributes": task.attributes,
        "task_channel_sid": task.task_channel_sid,
        "age": (now - task.created).max(0) / 1000,
        "workspace_sid": engine.workspace.sid,
        "account_sid": engine.workspace.account_sid,
        "timeout": task.timeout,
        "date_created": secs(task.created),
        "addons": "{}",
        "queue_sid": task.queue_sid,
    })
}

/// Creates a task in `workspace` with the caller's attributes and Flex's merged over them;
/// returns it and its echo.
pub async fn create_task(
    state: &AppState,
    account: &AccountSid,
    workspace: &str,
    spec: &RoutingSpec,
    flex: Map<String, Value>,
    default_channel: &str,
) -> Result<(TaskSid, Value), ApiError> {
    let mut attributes = spec.attributes.clone();
    attributes.extend(flex);
    let req = TaskCreate {
        attributes: Some(Value::Object(attributes).to_string()),
        priority: spec.priority,
        task_channel: Some(
            spec.task_channel
                .clone()
                .unwrap_or_else(|| default_channel.to_owned()),
        ),
        workflow_sid: spec.workflow_sid.clone(),
        timeout: spec.timeout,
        routing_target: spec.worker_sid.as_ref().map(|w| w.to_string()),
        task_queue_sid: spec.queue_sid.clone(),
        ..Default::default()
    };
    state
        .routers
        .exec(account, workspace, move |engine, now| {
            let sid = engine.create_task(req, now)?;
            let echo = engine
                .tasks
                .get(&sid)
                .map_or(Value::Null, |t| task_properties(engine, t, now));
            Ok((sid, echo))
        })
        .await
}

/// The echo of an existing task (Null when it is gone).
pub async fn task_echo(
    state: &AppState,
    account: &AccountSid,
    workspace: &str,
    task: &TaskSid,
) -> Result<Value, ApiError> {
    let task = task.clone();
    state
        .routers
        .exec(account, workspace, move |engine, now| {
            Ok(engine
                .tasks
                .get(&task)
                .map_or(Value::Null, |t| task_properties(engine, t, now)))
        })
        .await
}

/// What to do with a channel's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Assigned tasks go to `wrapping`; waiting ones are canceled.
    Wrap,
    /// Assigned and wrapping tasks are `completed`; waiting ones are canceled.
    Complete,
}

/// Moves tasks on as `how` says; final tasks (and tasks already gone) are left alone.
pub async fn settle(
    state: &AppState,
    account: &AccountSid,
    tasks: Vec<(String, TaskSid)>,
    how: Settle,
    reason: &str,
) -> Result<(), ApiError> {
    let mut by_workspace: std::collections::BTreeMap<String, Vec<TaskSid>> = Default::default();
    for (ws, task) in tasks {
        by_workspace.entry(ws).or_default().push(task);
    }
    for (ws, tasks) in by_workspace {
        let reason = reason.to_owned();
        let result = state
            .routers
            .exec(account, &ws, move |engine, now| {
                for sid in tasks {
                    let Some(status) = engine.tasks.get(&sid).map(|t| t.status) else {
                        continue;
                    };
                    let next = match (status, how) {
                        (s, _) if s.is_waiting() => TaskStatus::Canceled,
                        (TaskStatus::Assigned, Settle::Wrap) => TaskStatus::Wrapping,
                        (TaskStatus::Assigned | TaskStatus::Wrapping, Settle::Complete) => {
                            TaskStatus::Completed
                        }
                        _ => continue,
                    };
                    let update = TaskUpdate {
                        status: Some(next),
                        reason: (next != TaskStatus::Wrapping).then(|| reason.clone()),
                        ..Default::default()
                    };
                    engine.update_task(&sid, update, now)?;
                }
                Ok(())
            })
            .await;
        match result {
            // A deleted workspace took its tasks with it.
            Err(ApiError::NotFound(_)) => {}
            other => other?,
        }
    }
    Ok(())
}

/// What the accept hook needs to know about a reservation.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The task.
    pub task_sid: TaskSid,
    /// The worker.
    pub worker_sid: WorkerSid,
    /// The task's attributes.
    pub attributes: Value,
    /// The worker's chat identity: `contact_uri` without `client:`, else its name.
    pub identity: String,
    /// The name customers see: the worker's `full_name` attribute, else its friendly name.
    pub name: String,
}

/// Looks up an accepted reservation's task and worker.
pub async fn accepted(
    state: &AppState,
    account: &AccountSid,
    workspace: &WorkspaceSid,
    reservation: &ReservationSid,
) -> Result<Option<Accepted>, ApiError> {
    let reservation = reservation.clone();
    state
        .routers
        .exec(account, workspace.as_str(), move |engine, _| {
            let Some(r) = engine.reservations.get(&reservation) else {
                return Ok(None);
            };
            let Some(task) = engine.tasks.get(&r.task_sid) else {
                return Ok(None);
            };
            let Some(worker) = engine.workers.get(&r.worker_sid) else {
                return Ok(None);
            };
            let worker_attrs = crate::routing::model::parse_attributes(&worker.attributes);
            let identity = worker_attrs
                .get("contact_uri")
                .and_then(Value::as_str)
                .map(|u| u.strip_prefix("client:").unwrap_or(u).to_owned())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| worker.friendly_name.clone());
            let name = worker_attrs
                .get("full_name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(&worker.friendly_name)
                .to_owned();
            Ok(Some(Accepted {
                task_sid: task.sid.clone(),
                worker_sid: worker.sid.clone(),
                attributes: task.attributes_value(),
                identity,
                name,
            }))
        })
        .await
}

/// A task's status and attributes (None when it is gone).
pub async fn task_state(
    state: &AppState,
    account: &AccountSid,
    workspace: &str,
    task: &TaskSid,
) -> Result<Option<(TaskStatus, String, TaskChannelSid)>, ApiError> {
    let task = task.clone();
    let result = state
        .routers
        .exec(account, workspace, move |engine, _| {
            Ok(engine
                .tasks
                .get(&task)
                .map(|t| (t.status, t.attributes.clone(), t.task_channel_sid.clone())))
        })
        .await;
    match result {
        Err(ApiError::NotFound(_)) => Ok(None),
        other => other,
    }
}
