//! CLI subcommands other than `serve` (which is `startup`): small tools that work on the data
//! directory of a server (while it runs, too: SQLite serialises the two processes' writes).

pub mod token;
pub mod user;

use std::sync::Arc;

use anyhow::{Context as _, bail};

use crate::accounts::Accounts;
use crate::ids::AccountSid;
use crate::startup::ACCOUNT_SID_ENV;
use crate::store::Store;
use crate::store::records::AccountRecord;
use crate::store::sqlite::SqliteStore;

/// Opens the data directory's store and finds the account to act in: `account`, else
/// `SWITCHBOARD_ACCOUNT_SID`, else the only top-level account.
pub async fn open_account(
    settings: &crate::config::Settings,
    account: Option<AccountSid>,
) -> anyhow::Result<(Arc<dyn Store>, Accounts, AccountRecord)> {
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
    let chosen = account.or_else(|| {
        std::env::var(ACCOUNT_SID_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
    });
    let record = match chosen {
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
    Ok((store, accounts, record))
}
