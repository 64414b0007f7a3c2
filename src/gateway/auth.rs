//! Turns an access token into the session's principal and working scope: the signing key is
//! looked up (cache, then store), the token verified, the chat service resolved.

use crate::accounts::Accounts;
use crate::conversations::drafts::{Scope, Source};
use crate::error::ApiError;
use crate::gateway::token::{self, Principal, Role, TokenError};
use crate::ids::ServiceSid;
use crate::store::records::now;

/// Verifies `token` now.
pub async fn verify(accounts: &Accounts, token: &str) -> Result<Principal, TokenError> {
    let key = accounts.find_key(&token::issuer(token)?).await;
    token::verify(token, now(), |_| key.clone())
}

/// Verifies `token` now, also when it expired at most `grace_secs` ago (its signature and
/// everything else still checked): for trading an old token for a new one.
pub async fn verify_within(
    accounts: &Accounts,
    token: &str,
    grace_secs: i64,
) -> Result<Principal, TokenError> {
    let key = accounts.find_key(&token::issuer(token)?).await;
    token::verify_within(token, now(), grace_secs, |_| key.clone())
}

/// The scope a principal acts in: its account, the service of its chat grant (or the
/// account's default service), and its identity.
pub async fn scope(accounts: &Accounts, principal: &Principal) -> Result<Scope, ApiError> {
    let granted = principal
        .grants
        .chat
        .as_ref()
        .and_then(|c| c.service_sid.as_deref())
        .filter(|s| !s.is_empty());
    let service: ServiceSid = match granted {
        Some(text) => {
            let sid: ServiceSid = text
                .parse()
                .map_err(|_| ApiError::invalid("grants.chat.service_sid", "not a service SID"))?;
            if !accounts.owns_service(&principal.account, &sid).await? {
                return Err(ApiError::NotFound(format!("/Services/{sid}")));
            }
            sid
        }
        None => accounts
            .default_service(&principal.account)
            .await?
            .ok_or_else(|| ApiError::NotFound("default conversation service".into()))?,
    };
    Ok(Scope {
        account: principal.account.clone(),
        service,
        identity: Some(principal.identity.clone()),
        source: Source::Sdk,
    })
}

/// Wire name of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Guest => "guest",
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
    }
}
