//! `Routers`: workspace SID → its [`RouterActor`]. Every stored workspace gets its router at
//! start-up (its timers must run), new workspaces as they are created. Callers only reach
//! workspaces of their own account; another account's workspace is "not found".

use std::sync::Arc;

use actix::Addr;
use dashmap::DashMap;

use super::actor::{Exec, RouterActor, RouterDeps, Stop};
use super::engine::ops::{QueueSpec, WorkflowSpec, WorkspaceSpec};
use super::engine::{Engine, RoutingError};
use super::model::{Millis, now_ms};
use super::persist;
use crate::error::ApiError;
use crate::ids::{AccountSid, WorkspaceSid};

/// What a new workspace starts with besides activities and task channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Nothing more (Twilio's `NONE`).
    None,
    /// A "Sample Queue" and a "Default Fifo Workflow" (Twilio's `FIFO`).
    Fifo,
    /// What a new Flex account has: an "Everyone" queue and an "Assign to Anyone" workflow.
    Flex,
}

struct Entry {
    account: AccountSid,
    addr: Addr<RouterActor>,
}

/// The routers of every workspace.
pub struct Routers {
    deps: RouterDeps,
    map: DashMap<WorkspaceSid, Entry>,
    retention: Millis,
}

impl Routers {
    /// Starts a router for every stored workspace.
    pub async fn load(
        deps: RouterDeps,
        settings: &crate::config::RoutingSettings,
    ) -> Result<Routers, crate::store::StoreError> {
        let routers = Routers {
            deps,
            map: DashMap::new(),
            retention: settings.task_retention.as_millis().min(i64::MAX as u128) as Millis,
        };
        for workspace in persist::workspaces(routers.deps.store.as_ref()).await? {
            let engine = persist::load(routers.deps.store.as_ref(), workspace).await?;
            routers.start(engine);
        }
        Ok(routers)
    }

    fn start(&self, mut engine: Engine) {
        engine.set_retention(self.retention);
        let sid = engine.workspace.sid.clone();
        let account = engine.workspace.account_sid.clone();
        let addr = RouterActor::start_with(engine, self.deps.clone());
        self.map.insert(sid, Entry { account, addr });
    }

    /// Creates a workspace (stored before its router starts).
    pub async fn create_workspace(
        &self,
        account: &AccountSid,
        friendly_name: String,
        spec: WorkspaceSpec,
        template: Template,
    ) -> Result<WorkspaceSid, ApiError> {
        let now = now_ms();
        let mut engine = Engine::new_workspace(account.clone(), friendly_name, spec, now);
        apply_template(&mut engine, template, now)?;
        let changes = engine.take_changes();
        let unit = persist::unit(&engine, &changes.dirty, &changes.removed, &changes.events);
        self.deps.store.submit(unit).await?;
        let sid = engine.workspace.sid.clone();
        self.start(engine);
        Ok(sid)
    }

    /// The account's workspaces, oldest first.
    pub fn workspaces(&self, account: &AccountSid) -> Vec<WorkspaceSid> {
        self.map
            .iter()
            .filter(|e| &e.value().account == account)
            .map(|e| e.key().clone())
            .collect()
    }

    /// The router of an account's workspace.
    pub fn get(
        &self,
        account: &AccountSid,
        workspace: &str,
    ) -> Result<Addr<RouterActor>, ApiError> {
        let not_found = || ApiError::NotFound(format!("/Workspaces/{workspace}"));
        let sid: WorkspaceSid = workspace.parse().map_err(|_| not_found())?;
        self.map
            .get(&sid)
            .filter(|e| &e.account == account)
            .map(|e| e.addr.clone())
            .ok_or_else(not_found)
    }

    /// Runs `f` in an account's workspace router.
    pub async fn exec<R, F>(
        &self,
        account: &AccountSid,
        workspace: &str,
        f: F,
    ) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Engine, Millis) -> Result<R, RoutingError> + Send + 'static,
    {
        let addr = self.get(account, workspace)?;
        addr.send(Exec(Box::new(f)))
            .await
            .map_err(|_| ApiError::Unavailable)?
    }

    /// Deletes a workspace with everything in it.
    pub async fn delete_workspace(
        &self,
        account: &AccountSid,
        workspace: &str,
    ) -> Result<(), ApiError> {
        let addr = self.get(account, workspace)?;
        self.deps
            .store
            .submit(vec![crate::store::Mutation::DeleteScope(
                workspace.to_owned(),
            )])
            .await?;
        if let Ok(sid) = workspace.parse::<WorkspaceSid>() {
            self.map.remove(&sid);
        }
        addr.do_send(Stop);
        Ok(())
    }
}

/// Adds the template's queue and workflow.
pub fn apply_template(
    engine: &mut Engine,
    template: Template,
    now: Millis,
) -> Result<(), RoutingError> {
    let (queue, workflow) = match template {
        Template::None => return Ok(()),
        Template::Fifo => ("Sample Queue", "Default Fifo Workflow"),
        Template::Flex => ("Everyone", "Assign to Anyone"),
    };
    let queue = engine.create_queue(
        QueueSpec {
            friendly_name: Some(queue.into()),
            target_workers: Some("1==1".into()),
            ..Default::default()
        },
        now,
    )?;
    let configuration = serde_json::json!({
        "task_routing": {"filters": [], "default_filter": {"queue": queue}}
    });
    engine.create_workflow(
        WorkflowSpec {
            friendly_name: Some(workflow.into()),
            configuration: Some(configuration.to_string()),
            ..Default::default()
        },
        now,
    )?;
    Ok(())
}

/// Shared handle type.
pub type SharedRouters = Arc<Routers>;
