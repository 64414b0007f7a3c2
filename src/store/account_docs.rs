//! JSON documents owned by an account and found by SID or by an alternate key (address
//! configurations by address, logins by username): the lookups they share.

use serde::de::DeserializeOwned;

use super::{DocStore, StoreError};
use crate::ids::AccountSid;

fn decode<T: DeserializeOwned>(kind: &str, data: &str) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Database(format!("decode {kind}: {e}")))
}

/// The account's document of `kind` whose SID is `key` (when `by_sid`), else whose alternate
/// key is `alt`.
pub async fn find<T: DeserializeOwned>(
    store: &dyn DocStore,
    account: &AccountSid,
    kind: &str,
    key: &str,
    by_sid: bool,
    alt: &str,
) -> Result<Option<T>, StoreError> {
    if by_sid {
        return match store.doc(key).await? {
            Some(doc) if doc.kind == kind && doc.scope == account.as_str() => {
                decode(kind, &doc.data).map(Some)
            }
            _ => Ok(None),
        };
    }
    store
        .docs_by_alt(alt)
        .await?
        .into_iter()
        .find(|d| d.kind == kind)
        .map(|d| decode(kind, &d.data))
        .transpose()
}

/// Every document of `kind` the account owns, oldest first.
pub async fn list<T: DeserializeOwned>(
    store: &dyn DocStore,
    account: &AccountSid,
    kind: &str,
) -> Result<Vec<T>, StoreError> {
    store
        .docs_in(account.as_str())
        .await?
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, data)| decode(kind, &data))
        .collect()
}
