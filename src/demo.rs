//! `switchboard serve --demo`: seeds what a newcomer needs to try the server at once, and
//! creates only what is missing, so every start with `--demo` ends in the same state:
//!
//! - two agents, `alice` and `bob`, who are workers of the Flex workspace (starting Offline),
//!   and a supervisor, `sam`, all signing in at `/login` with the password [`PASSWORD`];
//! - the SMS number [`SMS_NUMBER`], whose new contacts are routed to the agents, for the
//!   simulator page (`/simulator`);
//! - the webchat address every account starts with, routed to the agents (the widget's demo
//!   page is `/webchat/demo`).
//!
//! Never: seed anything without `--demo` (a demo password is public).

use actix_web::web;
use anyhow::Context as _;

use crate::addresses::{AddressRecord, AddressRouting, AutoCreation};
use crate::api::AppState;
use crate::ids::{AccountSid, AddressSid};
use crate::logins::{self, LoginRecord};
use crate::store::records::now;

/// The demo logins' password.
pub const PASSWORD: &str = "switchboard-demo";

/// The demo SMS number.
pub const SMS_NUMBER: &str = "+15550001111";

/// The demo people: username, display name, role.
const PEOPLE: [(&str, &str, &str); 3] = [
    ("alice", "Alice Agent", "agent"),
    ("bob", "Bob Agent", "agent"),
    ("sam", "Sam Supervisor", "supervisor"),
];

/// Seeds the demo into the account (the server's first account when `None`).
pub async fn seed(state: &web::Data<AppState>, account: Option<AccountSid>) -> anyhow::Result<()> {
    let account = match account {
        Some(a) => a,
        None => state
            .accounts
            .sids()
            .into_iter()
            .next()
            .context("no account to seed the demo into")?,
    };
    let workspace = crate::interactions::routing::default_workspace(state, &account)
        .await
        .map_err(|e| anyhow::anyhow!("the demo needs the Flex workspace: {e}"))?;
    for (username, name, role) in PEOPLE {
        if logins::find(state.store.as_ref(), &account, username)
            .await?
            .is_some()
        {
            continue;
        }
        let worker = match role {
            "agent" => Some(demo_worker(state, &account, &workspace, username, name).await?),
            _ => None,
        };
        let at = now();
        let login = LoginRecord {
            sid: LoginRecord::new_sid(),
            account_sid: account.clone(),
            username: username.into(),
            password_hash: logins::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?,
            role: role.into(),
            identity: username.into(),
            friendly_name: Some(name.into()),
            workspace_sid: Some(workspace.clone()),
            worker_sid: worker,
            date_created: at,
            date_updated: at,
        };
        let unit = vec![login.put().map_err(|e| anyhow::anyhow!("{e}"))?];
        state.store.submit(unit).await?;
    }
    if crate::addresses::find(state.store.as_ref(), &account, SMS_NUMBER)
        .await?
        .is_none()
    {
        let at = now();
        let address = AddressRecord {
            sid: AddressSid::generate(),
            account_sid: account.clone(),
            kind: "sms".into(),
            address: SMS_NUMBER.into(),
            friendly_name: Some("Demo support line".into()),
            auto_creation: AutoCreation {
                enabled: true,
                kind: Some("default".into()),
                ..Default::default()
            },
            address_country: Some("US".into()),
            routing: Some(AddressRouting::default()),
            date_created: at,
            date_updated: at,
        };
        let unit = vec![address.put().map_err(|e| anyhow::anyhow!("{e}"))?];
        state.store.submit(unit).await?;
    }
    // The widget's chats go to the agents too (an older data dir's webchat address may not).
    if let Some(mut chat) = crate::addresses::find(state.store.as_ref(), &account, "webchat")
        .await?
        .filter(|a| a.routing.is_none())
    {
        chat.routing = Some(AddressRouting::default());
        chat.date_updated = now();
        let unit = vec![chat.put().map_err(|e| anyhow::anyhow!("{e}"))?];
        state.store.submit(unit).await?;
    }
    Ok(())
}

/// The demo agent's worker (created if missing), answering chat, SMS and WhatsApp.
async fn demo_worker(
    state: &AppState,
    account: &AccountSid,
    workspace: &str,
    username: &str,
    name: &str,
) -> anyhow::Result<String> {
    let name = name.to_owned();
    let attributes = serde_json::json!({
        "contact_uri": format!("client:{username}"),
        "full_name": name,
        "routing": {"skills": ["support"]},
    })
    .to_string();
    let sid = state
        .routers
        .exec(account, workspace, move |e, now| {
            if let Some(w) = e.workers.values().find(|w| w.friendly_name == name) {
                return Ok(w.sid.clone());
            }
            e.create_worker(name, None, Some(attributes), now)
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating a demo worker: {e}"))?;
    Ok(sid.to_string())
}
