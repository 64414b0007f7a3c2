//! `switchboard token`: mints a development access token for an identity, signed with the
//! account's `switchboard-cli` API key (created on first use). Works while the server runs:
//! SQLite serialises the two processes' writes.

use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::accounts::Accounts;
use crate::gateway::token::{Grants, Role, mint};
use crate::ids::AccountSid;
use crate::startup::ACCOUNT_SID_ENV;
use crate::store::Store;
use crate::store::records::now;
use crate::store::sqlite::SqliteStore;

/// Name of the API key the CLI signs with.
pub const CLI_KEY_NAME: &str = "switchboard-cli";

/// What to mint.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `grants.identity`
    pub identity: String,
    /// Guest, agent or supervisor.
    pub role: Role,
    /// Lifetime in seconds.
    pub ttl_secs: i64,
    /// Account; default: `SWITCHBOARD_ACCOUNT_SID`, else the only top-level account.
    pub account: Option<AccountSid>,
    /// `task_router.workspace_sid`
    pub workspace: Option<String>,
    /// `task_router.worker_sid`
    pub worker: Option<String>,
}

/// Mints a token from the data directory's store.
pub async fn run(settings: &crate::config::Settings, req: TokenRequest) -> anyhow::Result<String> {
    if req.identity.is_empty() || req.identity.len() > 256 {
        bail!("--identity must be 1 to 256 characters");
    }
    if req.ttl_secs <= 0 || req.ttl_secs > 24 * 3600 {
        bail!("--ttl must be between 1s and 24h");
    }
    let dir = &settings.server.data_dir;
    if !dir.join(crate::store::sqlite::DB_FILE).exists() {
        bail!(
            "no database in {}: start `switchboard serve` with this data directory first",
            dir.display()
        );
    }
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir, &settings.store).context("opening the store")?);
    let accounts = Accounts::load(store.clone()).await?;
    let account = match req.account.or_else(|| {
        std::env::var(ACCOUNT_SID_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
    }) {
        Some(sid) => accounts
            .get(&sid)
            .with_context(|| format!("no account {sid} in {}", dir.display()))?,
        None => {
            let roots: Vec<_> = store
                .accounts()
                .await?
                .into_iter()
                .filter(|a| a.owner_account_sid == a.sid)
                .collect();
            match roots.as_slice() {
                [only] => only.clone(),
                _ => bail!("several accounts: choose one with --account"),
            }
        }
    };
    let key = accounts.named_key(&account.sid, CLI_KEY_NAME).await?;
    let service = accounts
        .default_service(&account.sid)
        .await?
        .map(|s| s.to_string());
    let grants = Grants::for_role(req.role, service, req.workspace, req.worker);
    Ok(mint(&key, &req.identity, grants, now(), req.ttl_secs))
}
