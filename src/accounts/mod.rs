//! Accounts and their credentials: an in-memory directory (for HTTP Basic auth on every
//! request) backed by the store, and provisioning of what a new account starts with.
//!
//! Never: log or return an auth token except in the one place that creates it.

pub mod provision;

use std::sync::Arc;

use dashmap::DashMap;
use subtle::ConstantTimeEq;

use crate::ids::{AccountSid, KeySid, ServiceSid};
use crate::store::records::{AccountRecord, KeyRecord};
use crate::store::{Store, StoreError};

/// Known accounts by SID, with caches of what every request asks: the account's default
/// service and which account owns a service.
pub struct Accounts {
    by_sid: DashMap<AccountSid, AccountRecord>,
    keys: DashMap<KeySid, KeyRecord>,
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
        let keys = DashMap::new();
        for key in store.keys().await? {
            keys.insert(key.sid.clone(), key);
        }
        Ok(Accounts {
            by_sid,
            keys,
            default_service: DashMap::new(),
            service_owner: DashMap::new(),
            store,
        })
    }

    /// The account these Basic-auth credentials belong to: account SID + auth token, or
    /// API key SID + secret.
    pub async fn authenticate(&self, username: &str, password: &str) -> Option<AccountSid> {
        let (sid, secret) = if let Ok(key) = username.parse::<KeySid>() {
            let key = self.find_key(&key).await?;
            (key.account_sid, key.secret)
        } else {
            let sid: AccountSid = username.parse().ok()?;
            let token = self.by_sid.get(&sid)?.auth_token.clone();
            (sid, token)
        };
        let ok: bool = secret.as_bytes().ct_eq(password.as_bytes()).into();
        let active = self.by_sid.get(&sid).is_some_and(|a| a.status == "active");
        (ok && active).then_some(sid)
    }

    /// An API key by SID, from the cache or else the store (another process, such as
    /// `switchboard token`, may have created it).
    pub async fn find_key(&self, sid: &KeySid) -> Option<KeyRecord> {
        if let Some(key) = self.keys.get(sid) {
            return Some(key.clone());
        }
        let key = self.store.key(sid).await.ok().flatten()?;
        self.keys.insert(sid.clone(), key.clone());
        Some(key)
    }

    /// The account's API keys, oldest first.
    pub fn keys_of(&self, account: &AccountSid) -> Vec<KeyRecord> {
        let mut out: Vec<_> = self
            .keys
            .iter()
            .filter(|k| &k.account_sid == account)
            .map(|k| k.clone())
            .collect();
        out.sort_by(|a, b| (a.date_created, a.sid.as_str()).cmp(&(b.date_created, b.sid.as_str())));
        out
    }

    /// Persists a new or changed API key, then makes it usable.
    pub async fn put_key(&self, key: KeyRecord) -> Result<KeyRecord, StoreError> {
        self.store
            .submit(vec![crate::store::Mutation::PutKey(key.clone())])
            .await?;
        self.keys.insert(key.sid.clone(), key.clone());
        Ok(key)
    }

    /// The account's API key named `name`, created on first use (the key the server or the
    /// CLI signs access tokens with).
    pub async fn named_key(
        &self,
        account: &AccountSid,
        name: &str,
    ) -> Result<KeyRecord, StoreError> {
        if let Some(key) = self
            .keys_of(account)
            .into_iter()
            .find(|k| k.friendly_name == name)
        {
            return Ok(key);
        }
        let at = crate::store::records::now();
        self.put_key(KeyRecord {
            sid: KeySid::generate(),
            account_sid: account.clone(),
            friendly_name: name.into(),
            secret: crate::ids::random_hex32(),
            date_created: at,
            date_updated: at,
        })
        .await
    }

    /// Deletes an API key; tokens it signed stop verifying at once.
    pub async fn delete_key(&self, sid: &KeySid) -> Result<(), StoreError> {
        self.store
            .submit(vec![crate::store::Mutation::DeleteKey(sid.clone())])
            .await?;
        self.keys.remove(sid);
        Ok(())
    }

    /// An account by SID.
    pub fn get(&self, sid: &AccountSid) -> Option<AccountRecord> {
        self.by_sid.get(sid).map(|a| a.clone())
    }

    /// Every account SID, oldest first.
    pub fn sids(&self) -> Vec<AccountSid> {
        let mut out: Vec<_> = self
            .by_sid
            .iter()
            .map(|a| (a.date_created, a.sid.clone()))
            .collect();
        out.sort();
        out.into_iter().map(|(_, sid)| sid).collect()
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
