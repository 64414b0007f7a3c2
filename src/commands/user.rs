//! `switchboard user add`: creates a sign-in login (agent or supervisor) in the data
//! directory's store, as `POST /switchboard/v1/Logins` does. The password is read from stdin
//! or `SWITCHBOARD_PASSWORD`, never from the command line (where `ps` would show it).

use anyhow::bail;

use crate::ids::{AccountSid, WorkerSid};
use crate::logins::{self, LoginRecord};
use crate::store::records::now;

/// Environment variable holding the new login's password.
pub const PASSWORD_ENV: &str = "SWITCHBOARD_PASSWORD";

/// What to create.
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// What they type to sign in.
    pub username: String,
    /// The password.
    pub password: String,
    /// `agent` or `supervisor`.
    pub role: String,
    /// Chat identity (default: the username).
    pub identity: Option<String>,
    /// Display name.
    pub friendly_name: Option<String>,
    /// Account (default as for `switchboard token`).
    pub account: Option<AccountSid>,
    /// Workspace of the worker.
    pub workspace: Option<String>,
    /// The TaskRouter worker they are.
    pub worker: Option<String>,
}

/// Creates the login; answers its SID.
pub async fn add(settings: &crate::config::Settings, new: NewLogin) -> anyhow::Result<String> {
    if new.role != "agent" && new.role != "supervisor" {
        bail!("--role must be agent or supervisor");
    }
    if let Some(worker) = &new.worker {
        worker
            .parse::<WorkerSid>()
            .map_err(|_| anyhow::anyhow!("--worker must be a worker SID (WK…)"))?;
        if new.workspace.is_none() {
            bail!("--worker needs --workspace");
        }
    }
    let (store, _accounts, account) = super::open_account(settings, new.account).await?;
    if logins::find(store.as_ref(), &account.sid, &new.username)
        .await?
        .is_some()
    {
        bail!("a login named {} already exists", new.username);
    }
    let hash = logins::hash_password(&new.password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let at = now();
    let login = LoginRecord {
        sid: LoginRecord::new_sid(),
        account_sid: account.sid.clone(),
        identity: new.identity.unwrap_or_else(|| new.username.clone()),
        username: new.username,
        password_hash: hash,
        role: new.role,
        friendly_name: new.friendly_name,
        workspace_sid: new.workspace,
        worker_sid: new.worker,
        date_created: at,
        date_updated: at,
    };
    let unit = vec![login.put().map_err(|e| anyhow::anyhow!("{e}"))?];
    store.submit(unit).await?;
    Ok(login.sid)
}
