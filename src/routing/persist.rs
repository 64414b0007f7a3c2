//! How a workspace's state is stored: each resource as one JSON document (`docs` table,
//! scoped to its workspace; the workspace itself scoped to its account) and each event as a
//! row of `routing_events`. [`unit`] turns an engine's changes into one atomic store unit;
//! [`load`] rebuilds an engine from the documents.

use super::engine::{DocKey, Engine, Event};
use super::model::*;
use crate::store::records::{DocRecord, RoutingEventRecord};
use crate::store::{DocStore, Mutation, StoreError};

/// Document kind of a workspace.
pub const WORKSPACE: &str = "workspace";

fn encode<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// The stored document of a resource (None if it no longer exists).
fn doc(engine: &Engine, key: &DocKey) -> Option<DocRecord> {
    let e = engine;
    let ws = e.workspace.sid.to_string();
    let (sid, kind, scope, data) = match key {
        DocKey::Workspace => (
            ws,
            WORKSPACE,
            e.workspace.account_sid.to_string(),
            encode(&e.workspace)?,
        ),
        DocKey::Activity(s) => (s.to_string(), "activity", ws, encode(e.activities.get(s)?)?),
        DocKey::TaskChannel(s) => (
            s.to_string(),
            "task_channel",
            ws,
            encode(e.channels.get(s)?)?,
        ),
        DocKey::Worker(s) => (s.to_string(), "worker", ws, encode(e.workers.get(s)?)?),
        DocKey::Queue(s) => (s.to_string(), "task_queue", ws, encode(e.queues.get(s)?)?),
        DocKey::Workflow(s) => (s.to_string(), "workflow", ws, encode(e.workflows.get(s)?)?),
        DocKey::Task(s) => (s.to_string(), "task", ws, encode(e.tasks.get(s)?)?),
        DocKey::Reservation(s) => (
            s.to_string(),
            "reservation",
            ws,
            encode(e.reservations.get(s)?)?,
        ),
    };
    Some(DocRecord {
        sid,
        kind: kind.into(),
        scope,
        alt: None,
        data,
    })
}

fn doc_sid(engine: &Engine, key: &DocKey) -> String {
    match key {
        DocKey::Workspace => engine.workspace.sid.to_string(),
        DocKey::Activity(s) => s.to_string(),
        DocKey::TaskChannel(s) => s.to_string(),
        DocKey::Worker(s) => s.to_string(),
        DocKey::Queue(s) => s.to_string(),
        DocKey::Workflow(s) => s.to_string(),
        DocKey::Task(s) => s.to_string(),
        DocKey::Reservation(s) => s.to_string(),
    }
}

/// The stored form of an event.
pub fn event_record(engine: &Engine, event: &Event) -> RoutingEventRecord {
    RoutingEventRecord {
        sid: event.sid.to_string(),
        account_sid: engine.workspace.account_sid.to_string(),
        workspace_sid: engine.workspace.sid.to_string(),
        event_type: event.event_type.into(),
        resource_type: event.kind.as_str().into(),
        resource_sid: event.resource_sid.clone(),
        description: event.description.clone(),
        date_ms: event.at,
        data: event.data.clone(),
    }
}

/// One atomic unit writing `dirty`, deleting `removed` and appending `events`.
pub fn unit(
    engine: &Engine,
    dirty: &[DocKey],
    removed: &[DocKey],
    events: &[Event],
) -> Vec<Mutation> {
    let mut unit = Vec::with_capacity(dirty.len() + removed.len() + events.len());
    unit.extend(
        dirty
            .iter()
            .filter_map(|k| doc(engine, k))
            .map(Mutation::PutDoc),
    );
    unit.extend(
        removed
            .iter()
            .map(|k| Mutation::DeleteDoc(doc_sid(engine, k))),
    );
    unit.extend(
        events
            .iter()
            .map(|e| Mutation::AppendRoutingEvent(event_record(engine, e))),
    );
    unit
}

fn decode<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Database(format!("decode routing doc: {e}")))
}

/// Rebuilds a workspace's engine from its stored documents.
pub async fn load(store: &dyn DocStore, workspace: Workspace) -> Result<Engine, StoreError> {
    let mut activities = Vec::new();
    let mut channels = Vec::new();
    let mut workers = Vec::new();
    let mut queues = Vec::new();
    let mut workflows = Vec::new();
    let mut tasks = Vec::new();
    let mut reservations = Vec::new();
    for (kind, data) in store.docs_in(workspace.sid.as_str()).await? {
        match kind.as_str() {
            "activity" => activities.push(decode(&data)?),
            "task_channel" => channels.push(decode(&data)?),
            "worker" => workers.push(decode(&data)?),
            "task_queue" => queues.push(decode(&data)?),
            "workflow" => workflows.push(decode(&data)?),
            "task" => tasks.push(decode(&data)?),
            "reservation" => reservations.push(decode(&data)?),
            _ => {}
        }
    }
    Ok(Engine::load(
        workspace,
        activities,
        channels,
        workers,
        queues,
        workflows,
        tasks,
        reservations,
    ))
}

/// Every stored workspace with its account.
pub async fn workspaces(store: &dyn DocStore) -> Result<Vec<Workspace>, StoreError> {
    store
        .docs_of_kind(WORKSPACE)
        .await?
        .into_iter()
        .map(|(_, data)| decode(&data))
        .collect()
}
