//! `switchboard token`: mints a development access token for an identity, signed with the
//! account's `switchboard-cli` API key (created on first use). Works while the server runs:
//! SQLite serialises the two processes' writes.

use anyhow::bail;

use crate::gateway::token::{Grants, Role, mint};
use crate::ids::AccountSid;
use crate::store::records::now;

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
    let (_store, accounts, account) = super::open_account(settings, req.account).await?;
    let key = accounts.named_key(&account.sid, CLI_KEY_NAME).await?;
    let service = accounts
        .default_service(&account.sid)
        .await?
        .map(|s| s.to_string());
    let grants = Grants::for_role(req.role, service, req.workspace, req.worker);
    Ok(mint(&key, &req.identity, grants, now(), req.ttl_secs))
}
