//! Accounts and their credentials: an in-memory directory (for HTTP Basic auth on every
//! request) backed by the store, and provisioning of what a new account starts with.
//!
//! Never: log or return an auth token except in the one place that creates it.

pub mod provision;

use std::sync::Arc;

use dashmap::DashMap;
use subtle::ConstantTimeEq;

use crate::ids::{AccountSid, ServiceSid};
use crate::store::records::AccountRecord;
use crate::store::{Store, StoreError};

/// Known accounts by SID, with caches of what every request asks: the account's default
/// service and which account owns a service.
pub struct Accounts {
    by_sid: DashMap<AccountSid, AccountRecord>,
    default_service: DashMap<AccountSid, ServiceSid>,
    service_owner: DashMap<ServiceSid, AccountSid>,
    store: Arc<dyn Store>,
}

impl Accounts {
    /// Loads every account from the store.
    pub async fn load(store: Arc<dyn Store>) -> Result<Accounts, StoreError> {
        let by_sid = DashMap::new();
        for account in store.accounts().await? {
            by_sid.insert(account.sid.clone(), account);
        }
        Ok(Accounts {
            by_sid,
            default_service: DashMap::new(),
            service_owner: DashMap::new(),
            store,
        })
    }

    /// The account whose SID and auth token these are, if any.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<AccountSid> {
        let sid: AccountSid = username.parse().ok()?;
        let account = self.by_sid.get(&sid)?;
        let ok: bool = account
            .auth_token
            .as_bytes()
            .ct_eq(password.as_bytes())
            .into();
        (ok && account.status == "active").then_some(sid)
    }

    /// An account by SID.
    pub fn get(&self, sid: &AccountSid) -> Option<AccountRecord> {
        self.by_sid.get(sid).map(|a| a.clone())
    }

    /// True when no account exists yet (first start).
    pub fn is_empty(&self) -> bool {
        self.by_sid.is_empty()
    }

    /// Accounts owned by `owner` (itself and its subaccounts).
    pub fn owned_by(&self, owner: &AccountSid) -> Vec<AccountRecord> {
        let mut out: Vec<_> = self
            .by_sid
            .iter()
            .filter(|a| &a.owner_account_sid == owner || &a.sid == owner)
            .map(|a| a.clone())
            .collect();
        out.sort_by(|a, b| (a.date_created, a.sid.as_str()).cmp(&(b.date_created, b.sid.as_str())));
        out
    }

    /// The account's default conversation service.
    pub async fn default_service(
        &self,
        account: &AccountSid,
    ) -> Result<Option<ServiceSid>, StoreError> {
        if let Some(sid) = self.default_service.get(account) {
            return Ok(Some(sid.clone()));
        }
        let Some(config) = self.store.account_config(account).await? else {
            return Ok(None);
        };
        self.default_service
            .insert(account.clone(), config.default_chat_service_sid.clone());
        Ok(Some(config.default_chat_service_sid))
    }

    /// Records a changed default service (after it committed).
    pub fn set_default_service(&self, account: &AccountSid, service: &ServiceSid) {
        self.default_service
            .insert(account.clone(), service.clone());
    }

    /// True when `service` exists and belongs to `account`.
    pub async fn owns_service(
        &self,
        account: &AccountSid,
        service: &ServiceSid,
    ) -> Result<bool, StoreError> {
        if let Some(owner) = self.service_owner.get(service) {
            return Ok(&*owner == account);
        }
        match self.store.service(account, service).await? {
            Some(_) => {
                self.service_owner.insert(service.clone(), account.clone());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Forgets a deleted service (after the deletion committed).
    pub fn forget_service(&self, service: &ServiceSid) {
        self.service_owner.remove(service);
    }

    /// Persists an account with its default service and configuration, then makes it usable.
    pub async fn create(&self, account: AccountRecord) -> Result<AccountRecord, StoreError> {
        let unit = provision::new_account_unit(&account);
        self.store.submit(unit).await?;
        self.by_sid.insert(account.sid.clone(), account.clone());
        Ok(account)
    }

    /// Persists changed account fields (name, status, token).
    pub async fn update(&self, account: AccountRecord) -> Result<AccountRecord, StoreError> {
        self.store
            .submit(vec![crate::store::Mutation::PutAccount(account.clone())])
            .await?;
        self.by_sid.insert(account.sid.clone(), account.clone());
        Ok(account)
    }
}
