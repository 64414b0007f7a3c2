//! Set-up and clean-up over REST: the run's API key (its tokens are minted here, as a
//! customer's own backend would), a queue and a workflow in the scenario's workspace, the
//! workers `load-agent-N` with their chat and SMS capacity, a `chat` address and an SMS
//! number routed to that workflow, and no leftover tasks from an earlier run in the queue.
//! Everything but the key is reused when it exists, so runs can follow each other; `cleanup`
//! removes what `prepare` made or reused.

use std::collections::HashMap;

use anyhow::{Context as _, anyhow};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::{Value, json};

use super::rest::{Auth, Rest, RestError, text};
use super::scenario::Scenario;

/// What the traffic needs to know about the server's objects.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `SK…` the tokens are signed with.
    pub key_sid: String,
    /// Its secret.
    pub key_secret: String,
    /// `WS…`
    pub workspace: String,
    /// `WQ…`
    pub queue: String,
    /// `WW…`
    pub workflow: String,
    /// `IG…` of the chat address (the webchat deployment key).
    pub chat_address: String,
    /// `IG…` of the SMS number.
    pub sms_address: String,
    /// The SMS number customers text.
    pub sms_number: String,
    /// `WK…` of agent i.
    pub workers: Vec<String>,
    /// The agents' password, when they sign in (`agents.sign_in`).
    pub password: Option<String>,
}

/// The identity (and worker friendly name) of agent `i`.
pub fn agent_identity(i: usize) -> String {
    format!("load-agent-{i}")
}

fn ws_path(plan_ws: &str, rest: &str) -> String {
    format!("/taskrouter/v1/Workspaces/{plan_ws}{rest}")
}

/// Creates or reuses everything the scenario needs.
pub async fn prepare(rest: &Rest, s: &Scenario) -> anyhow::Result<Plan> {
    let key = rest
        .post(
            &format!("/api/2010-04-01/Accounts/{}/Keys.json", rest.account),
            Auth::Account,
            &[("FriendlyName", "switchboard-load".into())],
        )
        .await
        .context("creating the run's API key (are the account SID and auth token right?)")?;
    let workspace = find_by_name(
        rest,
        "/taskrouter/v1/Workspaces",
        "workspaces",
        &s.routing.workspace,
    )
    .await?
    .ok_or_else(|| anyhow!("no TaskRouter workspace named {:?}", s.routing.workspace))?;
    let ws = text(&workspace, "sid");

    let target = r#"load == "switchboard""#;
    let queue = match find_by_name(
        rest,
        &ws_path(&ws, "/TaskQueues"),
        "task_queues",
        &s.routing.queue,
    )
    .await?
    {
        Some(q) => q,
        None => {
            rest.post(
                &ws_path(&ws, "/TaskQueues"),
                Auth::Account,
                &[
                    ("FriendlyName", s.routing.queue.clone()),
                    ("TargetWorkers", target.into()),
                ],
            )
            .await?
        }
    };
    let queue = text(&queue, "sid");
    let config = json!({"task_routing": {
        "filters": [{"filter_friendly_name": "load", "expression": "1==1", "targets": [{"queue": queue}]}],
        "default_filter": {"queue": queue},
    }});
    let timeout = s.routing.reservation_timeout.as_secs().max(1).to_string();
    let form = [
        ("FriendlyName", s.routing.queue.clone()),
        ("Configuration", config.to_string()),
        ("TaskReservationTimeout", timeout),
    ];
    let workflow = match find_by_name(
        rest,
        &ws_path(&ws, "/Workflows"),
        "workflows",
        &s.routing.queue,
    )
    .await?
    {
        Some(w) => {
            let sid = text(&w, "sid");
            rest.post(
                &ws_path(&ws, &format!("/Workflows/{sid}")),
                Auth::Account,
                &form,
            )
            .await?
        }
        None => {
            rest.post(&ws_path(&ws, "/Workflows"), Auth::Account, &form)
                .await?
        }
    };
    let workflow = text(&workflow, "sid");
    cancel_leftovers(rest, &ws, &queue).await?;
    let workers = workers(rest, s, &ws).await?;
    let password = match s.agents.sign_in {
        true => Some(logins(rest, s, &ws, &workers).await?),
        false => None,
    };
    let chat_address = address(rest, s, &ws, &workflow, "chat", &s.routing.chat_address).await?;
    let sms_address = address(rest, s, &ws, &workflow, "sms", &s.routing.sms_number).await?;
    Ok(Plan {
        key_sid: text(&key, "sid"),
        key_secret: text(&key, "secret"),
        workspace: ws,
        queue,
        workflow,
        chat_address,
        sms_address,
        sms_number: s.routing.sms_number.clone(),
        workers,
        password,
    })
}

/// The first item of a list whose `friendly_name` is `name`.
async fn find_by_name(
    rest: &Rest,
    path: &str,
    key: &str,
    name: &str,
) -> Result<Option<Value>, RestError> {
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let items = rest
        .list_all(&format!("{path}?FriendlyName={encoded}"), key)
        .await?;
    Ok(items.into_iter().find(|i| i["friendly_name"] == name))
}

/// Tasks an earlier, interrupted run left in the queue would hold the agents' capacity.
async fn cancel_leftovers(rest: &Rest, ws: &str, queue: &str) -> anyhow::Result<()> {
    let tasks = rest
        .list_all(
            &ws_path(ws, &format!("/Tasks?TaskQueueSid={queue}")),
            "tasks",
        )
        .await?;
    for task in tasks {
        let status = match task["assignment_status"].as_str() {
            Some("pending" | "reserved") => "canceled",
            Some("assigned" | "wrapping") => "completed",
            _ => continue,
        };
        let sid = text(&task, "sid");
        let path = ws_path(ws, &format!("/Tasks/{sid}"));
        let moved = rest
            .post(&path, Auth::Account, &[("AssignmentStatus", status.into())])
            .await;
        if let Err(e) = moved {
            // Closing its conversation may have ended it meanwhile: that is what we wanted.
            let now = rest.get(&path).await;
            let ended = match &now {
                Ok(t) => matches!(
                    t["assignment_status"].as_str(),
                    Some("canceled" | "completed")
                ),
                Err(gone) => gone.key == "20404",
            };
            if !ended {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Workers `load-agent-0..count`, created when missing, each with the scenario's capacity on
/// the chat and SMS channels.
async fn workers(rest: &Rest, s: &Scenario, ws: &str) -> anyhow::Result<Vec<String>> {
    let existing: HashMap<String, String> = rest
        .list_all(&ws_path(ws, "/Workers"), "workers")
        .await?
        .into_iter()
        .map(|w| (text(&w, "friendly_name"), text(&w, "sid")))
        .collect();
    let capacity = s.agents.capacity.to_string();
    let existing = &existing;
    let capacity = &capacity;
    stream::iter(0..s.agents.count)
        .map(|i| async move {
            let name = agent_identity(i);
            let sid = match existing.get(&name) {
                Some(sid) => sid.clone(),
                None => {
                    let attributes = json!({
                        "load": "switchboard",
                        "contact_uri": format!("client:{name}"),
                        "full_name": format!("Load agent {i}"),
                    });
                    let w = rest
                        .post(
                            &ws_path(ws, "/Workers"),
                            Auth::Account,
                            &[
                                ("FriendlyName", name.clone()),
                                ("Attributes", attributes.to_string()),
                            ],
                        )
                        .await?;
                    text(&w, "sid")
                }
            };
            for channel in ["chat", "sms"] {
                rest.post(
                    &ws_path(ws, &format!("/Workers/{sid}/Channels/{channel}")),
                    Auth::Account,
                    &[("Capacity", capacity.clone()), ("Available", "true".into())],
                )
                .await?;
            }
            Ok::<_, RestError>(sid)
        })
        .buffered(s.setup_concurrency)
        .try_collect()
        .await
        .context("creating the agents' workers")
}

/// A login per agent (`load-agent-N`, its worker) with a password new for this run; returns
/// the password.
async fn logins(rest: &Rest, s: &Scenario, ws: &str, workers: &[String]) -> anyhow::Result<String> {
    let password = crate::ids::random_hex32();
    let password = &password;
    stream::iter(workers.iter().enumerate())
        .map(|(i, worker)| async move {
            let name = agent_identity(i);
            let mut form = vec![
                ("Password", password.clone()),
                ("Role", "agent".to_owned()),
                ("WorkspaceSid", ws.to_owned()),
                ("WorkerSid", worker.clone()),
            ];
            match rest.get(&format!("/switchboard/v1/Logins/{name}")).await {
                Ok(_) => rest
                    .post(
                        &format!("/switchboard/v1/Logins/{name}"),
                        Auth::Account,
                        &form,
                    )
                    .await
                    .map(|_| ()),
                Err(e) if e.key == "20404" => {
                    form.push(("Username", name.clone()));
                    form.push(("Identity", name.clone()));
                    form.push(("FriendlyName", format!("Load agent {i}")));
                    rest.post("/switchboard/v1/Logins", Auth::Account, &form)
                        .await
                        .map(|_| ())
                }
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(s.setup_concurrency)
        .try_collect::<Vec<()>>()
        .await
        .context("creating the agents' logins")?;
    Ok(password.clone())
}

/// The address `address` of `kind`, routed to the workflow (created, or updated to be).
async fn address(
    rest: &Rest,
    s: &Scenario,
    ws: &str,
    workflow: &str,
    kind: &str,
    address: &str,
) -> anyhow::Result<String> {
    let _ = s;
    let path = "/conversations/v1/Configuration/Addresses";
    let existing = rest
        .list_all(&format!("{path}?Type={kind}"), "address_configurations")
        .await?
        .into_iter()
        .find(|a| a["address"] == address);
    let mut form = vec![
        ("AutoCreation.Enabled", "true".to_owned()),
        ("Routing.Enabled", "true".to_owned()),
        ("Routing.WorkspaceSid", ws.to_owned()),
        ("Routing.WorkflowSid", workflow.to_owned()),
        ("Routing.TaskChannel", kind.to_owned()),
    ];
    let body = match existing {
        Some(a) => {
            let sid = text(&a, "sid");
            rest.post(&format!("{path}/{sid}"), Auth::Account, &form)
                .await?
        }
        None => {
            form.push(("Type", kind.to_owned()));
            form.push(("Address", address.to_owned()));
            form.push(("FriendlyName", format!("Switchboard load ({kind})")));
            rest.post(path, Auth::Account, &form).await?
        }
    };
    Ok(text(&body, "sid"))
}

/// After the traffic: the run's customers are gone, so what they left behind is ended as an
/// agent would end it: their open conversations are closed and their tasks in the queue
/// canceled (or completed), so the next run starts from a clean floor.
pub async fn settle(
    rest: &Rest,
    s: &Scenario,
    plan: &Plan,
    open: Vec<String>,
) -> anyhow::Result<()> {
    stream::iter(open)
        .map(|sid| async move {
            rest.post(
                &format!("/conversations/v1/Conversations/{sid}"),
                Auth::Account,
                &[("State", "closed".into())],
            )
            .await
            .map(|_| ())
        })
        .buffer_unordered(s.setup_concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    cancel_leftovers(rest, &plan.workspace, &plan.queue).await
}

/// Deletes the run's API key (its tokens die with it).
pub async fn drop_key(rest: &Rest, plan: &Plan) -> Result<(), RestError> {
    rest.delete(&format!(
        "/api/2010-04-01/Accounts/{}/Keys/{}.json",
        rest.account, plan.key_sid
    ))
    .await
}

/// Removes the addresses, workflow, queue and workers the run used.
pub async fn cleanup(rest: &Rest, s: &Scenario, plan: &Plan) -> Result<(), RestError> {
    let ws = &plan.workspace;
    for sid in [&plan.chat_address, &plan.sms_address] {
        rest.delete(&format!("/conversations/v1/Configuration/Addresses/{sid}"))
            .await?;
    }
    cancel_leftovers(rest, ws, &plan.queue)
        .await
        .map_err(|e| RestError {
            what: "cancelling tasks".into(),
            key: "cleanup".into(),
            message: e.to_string(),
        })?;
    rest.delete(&ws_path(ws, &format!("/Workflows/{}", plan.workflow)))
        .await?;
    rest.delete(&ws_path(ws, &format!("/TaskQueues/{}", plan.queue)))
        .await?;
    if plan.password.is_some() {
        stream::iter(0..plan.workers.len())
            .map(|i| async move {
                rest.delete(&format!("/switchboard/v1/Logins/{}", agent_identity(i)))
                    .await
            })
            .buffer_unordered(s.setup_concurrency)
            .try_collect::<Vec<()>>()
            .await?;
    }
    stream::iter(plan.workers.iter())
        .map(|sid| async move { rest.delete(&ws_path(ws, &format!("/Workers/{sid}"))).await })
        .buffer_unordered(s.setup_concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
