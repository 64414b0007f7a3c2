//! Sign-in accounts of people who use the server's own pages (agents and supervisors): a
//! username, an argon2 password hash, the role and chat identity their access token carries,
//! and optionally the TaskRouter worker they are. Stored as JSON documents scoped to the
//! account (`docs`, kind `login`, alternate key `{account}:login:{username}`).
//!
//! Never: store or log a password, or tell apart "no such user" from "wrong password".

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::ids::{AccountSid, random_hex32};
use crate::store::records::{DocRecord, Timestamp};
use crate::store::{DocStore, Mutation, StoreError};

/// Document kind.
pub const KIND: &str = "login";

/// Shortest accepted password.
pub const MIN_PASSWORD: usize = 8;

/// A person who signs in on the server's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRecord {
    /// `LG` + 32 hex.
    pub sid: String,
    /// Owner.
    pub account_sid: AccountSid,
    /// What they type to sign in (unique in the account).
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// `agent` or `supervisor`.
    pub role: String,
    /// Chat identity their tokens carry.
    pub identity: String,
    /// Display name.
    pub friendly_name: Option<String>,
    /// Workspace of their worker (`WS…`).
    pub workspace_sid: Option<String>,
    /// Their TaskRouter worker (`WK…`).
    pub worker_sid: Option<String>,
    /// Created.
    pub date_created: Timestamp,
    /// Updated.
    pub date_updated: Timestamp,
}

impl LoginRecord {
    /// A fresh SID.
    pub fn new_sid() -> String {
        format!("LG{}", random_hex32())
    }

    /// The alternate key that makes a username unique within its account.
    pub fn alt_key(account: &AccountSid, username: &str) -> String {
        format!("{account}:login:{username}")
    }

    /// The mutation storing it.
    pub fn put(&self) -> Result<Mutation, ApiError> {
        Ok(Mutation::PutDoc(DocRecord {
            sid: self.sid.clone(),
            kind: KIND.into(),
            scope: self.account_sid.to_string(),
            alt: Some(Self::alt_key(&self.account_sid, &self.username)),
            data: serde_json::to_string(self).map_err(|_| ApiError::Internal)?,
        }))
    }
}

/// The argon2id hash of `password` (PHC string with its own random salt).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    if password.chars().count() < MIN_PASSWORD || password.len() > 1024 {
        return Err(ApiError::invalid(
            "Password",
            format!("must be {MIN_PASSWORD} to 1024 characters"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "hashing a password failed");
            ApiError::Internal
        })
}

/// Whether `password` matches `hash`. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash that matches no password: verified against when the username is unknown, so both
/// failures take the same time.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_hex32()).unwrap_or_default())
}

/// An account's login by SID or username.
pub async fn find(
    store: &dyn DocStore,
    account: &AccountSid,
    key: &str,
) -> Result<Option<LoginRecord>, StoreError> {
    let by_sid = key.starts_with("LG") && key.len() == 34;
    let alt = LoginRecord::alt_key(account, key);
    crate::store::account_docs::find(store, account, KIND, key, by_sid, &alt).await
}

/// Every login of the account, oldest first.
pub async fn list(
    store: &dyn DocStore,
    account: &AccountSid,
) -> Result<Vec<LoginRecord>, StoreError> {
    crate::store::account_docs::list(store, account, KIND).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_their_own_salt_and_verify() {
        let a = hash_password("correct horse").expect("hash");
        let b = hash_password("correct horse").expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password(&a, "correct horse"));
        assert!(!verify_password(&a, "correct horse!"));
        assert!(!verify_password("not a hash", "correct horse"));
        assert!(!verify_password(decoy_hash(), ""));
        assert!(hash_password("short").is_err());
    }
}
