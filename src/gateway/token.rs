//! Access tokens in Twilio's format, so a backend that already mints them with a Twilio helper
//! library (`AccessToken` + `ChatGrant` / `TaskRouterGrant`) works unchanged: an HS256 JWT with
//! header `cty: twilio-fpa;v=1`, signed with an API key's secret; `iss` = the key (SK…),
//! `sub` = the account (AC…), `grants.identity`, `grants.chat.service_sid`,
//! `grants.task_router.{workspace_sid, worker_sid, role}`, `exp`, optional `nbf`.
//!
//! [`verify`] turns a token into a [`Principal`] or a [`TokenError`] that says why not; it never
//! logs the token.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::ids::{AccountSid, KeySid};
use crate::store::records::{KeyRecord, Timestamp};

/// Twilio's content type for access tokens.
pub const CONTENT_TYPE: &str = "twilio-fpa;v=1";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 5;

/// `grants.chat`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatGrant {
    /// The conversation service the identity uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_sid: Option<String>,
}

/// `grants.task_router`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRouterGrant {
    /// Workspace (WS…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_sid: Option<String>,
    /// Worker (WK…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_sid: Option<String>,
    /// `agent`, `supervisor`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The `grants` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// Who the token speaks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Conversations access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatGrant>,
    /// Routing access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_router: Option<TaskRouterGrant>,
}

/// The JWT claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `<SK…>-<iat>`
    pub jti: String,
    /// The signing API key.
    pub iss: String,
    /// The account.
    pub sub: String,
    /// Expiry (Unix seconds).
    pub exp: Timestamp,
    /// Not valid before (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<Timestamp>,
    /// What the token grants.
    pub grants: Grants,
}

/// What a principal may act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A webchat customer: only a chat grant.
    Guest,
    /// An agent (task_router role `agent` or any other non-supervisor role).
    Agent,
    /// A supervisor (task_router role `supervisor`).
    Supervisor,
}

/// A verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account.
    pub account: AccountSid,
    /// The key that signed it.
    pub key: KeySid,
    /// `grants.identity`
    pub identity: String,
    /// All grants as sent.
    pub grants: Grants,
    /// Derived from the grants.
    pub role: Role,
    /// `exp`
    pub expires_at: Timestamp,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, wrong algorithm or content type, or missing claims.
    #[error("malformed access token: {0}")]
    Malformed(String),
    /// `iss` names no key we know.
    #[error("unknown API key")]
    UnknownKey,
    /// The signature does not match the key's secret.
    #[error("invalid signature")]
    BadSignature,
    /// `exp` has passed.
    #[error("access token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("access token not yet valid")]
    NotYetValid,
    /// `sub` is not the key's account.
    #[error("access token account does not match its key")]
    WrongAccount,
    /// No `grants.identity`.
    #[error("access token has no identity")]
    MissingIdentity,
}

impl Grants {
    /// The grants of a `role` in the account's chat `service`; agents and supervisors also get
    /// a `task_router` grant naming their workspace and worker, if any.
    pub fn for_role(
        role: Role,
        service: Option<String>,
        workspace: Option<String>,
        worker: Option<String>,
    ) -> Grants {
        let task_router = |role: &str| {
            Some(TaskRouterGrant {
                role: Some(role.into()),
                workspace_sid: workspace.clone(),
                worker_sid: worker.clone(),
            })
        };
        Grants {
            identity: None,
            chat: Some(ChatGrant {
                service_sid: service,
            }),
            task_router: match role {
                Role::Guest => None,
                Role::Agent => task_router("agent"),
                Role::Supervisor => task_router("supervisor"),
            },
        }
    }
}

/// Mints a token for `identity` valid from `now` for `ttl_secs`.
pub fn mint(
    key: &KeyRecord,
    identity: &str,
    mut grants: Grants,
    now: Timestamp,
    ttl_secs: i64,
) -> String {
    grants.identity = Some(identity.to_owned());
    let claims = Claims {
        jti: format!("{}-{now}", key.sid),
        iss: key.sid.to_string(),
        sub: key.account_sid.to_string(),
        exp: now + ttl_secs,
        nbf: Some(now),
        grants,
    };
    let mut header = Header::new(Algorithm::HS256);
    header.cty = Some(CONTENT_TYPE.into());
    // Encoding plain serialisable claims with an HMAC key cannot fail.
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(key.secret.as_bytes()),
    )
    .unwrap_or_default()
}

/// The `iss` of a token, read before its signature is checked (to find the key).
pub(crate) fn issuer(token: &str) -> Result<KeySid, TokenError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| TokenError::Malformed("not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| TokenError::Malformed("payload is not base64url".into()))?;
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let iss: Iss =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed("no iss claim".into()))?;
    iss.iss.parse().map_err(|_| TokenError::UnknownKey)
}

/// [`verify`], except that a token that expired at most `grace_secs` before `now` passes too
/// (everything else is checked as usual): for trading an old token for a new one.
pub fn verify_within(
    token: &str,
    now: Timestamp,
    grace_secs: i64,
    key_of: impl Fn(&KeySid) -> Option<KeyRecord>,
) -> Result<Principal, TokenError> {
    match verify(token, now, &key_of) {
        Err(TokenError::Expired) => match expiry(token) {
            Some(exp) if now - exp <= grace_secs => verify(token, exp - 1, key_of),
            _ => Err(TokenError::Expired),
        },
        other => other,
    }
}

/// The `exp` of a token, read without checking it (to judge how long ago it expired).
fn expiry(token: &str) -> Option<Timestamp> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    #[derive(Deserialize)]
    struct Exp {
        exp: Timestamp,
    }
    serde_json::from_slice::<Exp>(&bytes).ok().map(|e| e.exp)
}

/// Verifies `token` at time `now`, finding the signing key with `key_of`.
pub fn verify(
    token: &str,
    now: Timestamp,
    key_of: impl Fn(&KeySid) -> Option<KeyRecord>,
) -> Result<Principal, TokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::Malformed("algorithm must be HS256".into()));
    }
    if header.cty.as_deref() != Some(CONTENT_TYPE) {
        return Err(TokenError::Malformed(format!(
            "content type must be {CONTENT_TYPE}"
        )));
    }
    let key = key_of(&issuer(token)?).ok_or(TokenError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::HS256);
    // Time checks are done below against `now`, so tests and callers share one clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims = ["exp".to_owned(), "sub".to_owned(), "iss".to_owned()]
        .into_iter()
        .collect();
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(key.secret.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        other => TokenError::Malformed(format!("{other:?}")),
    })?;
    let claims = data.claims;
    let leeway = LEEWAY_SECS as i64;
    if claims.exp.saturating_add(leeway) <= now {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf.saturating_sub(leeway) > now)
    {
        return Err(TokenError::NotYetValid);
    }
    if claims.sub != key.account_sid.as_str() {
        return Err(TokenError::WrongAccount);
    }
    let identity = claims
        .grants
        .identity
        .clone()
        .filter(|i| !i.is_empty())
        .ok_or(TokenError::MissingIdentity)?;
    let role = match claims
        .grants
        .task_router
        .as_ref()
        .and_then(|t| t.role.as_deref())
    {
        Some("supervisor") => Role::Supervisor,
        Some(_) => Role::Agent,
        None if claims.grants.task_router.is_some() => Role::Agent,
        None => Role::Guest,
    };
    Ok(Principal {
        account: key.account_sid,
        key: key.sid,
        identity,
        grants: claims.grants,
        role,
        expires_at: claims.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> KeyRecord {
        KeyRecord {
            sid: "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".parse().expect("sid"),
            account_sid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("sid"),
            friendly_name: String::new(),
            secret: secret.into(),
            date_created: 0,
            date_updated: 0,
        }
    }

    /// Minted by twilio-python 9.13.0: `AccessToken(AC…a, SK…b, "fixture-secret-0123456789abcdef",
    /// identity="alice", valid_until=4102444800)` with `ChatGrant(service_sid=IS…c)` and
    /// `TaskRouterGrant(workspace_sid=WS…d, worker_sid=WK…e, role="supervisor")`.
    const TWILIO_MINTED: &str = "eyJhbGciOiJIUzI1NiIsImN0eSI6InR3aWxpby1mcGE7dj0xIiwidHlwIjoiSldUIn0.eyJqdGkiOiJTS2JiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiLTE3OTU1NTEzODciLCJncmFudHMiOnsiY2hhdCI6eyJzZXJ2aWNlX3NpZCI6IklTY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2MifSwidGFza19yb3V0ZXIiOnsid29ya3NwYWNlX3NpZCI6IldTZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQiLCJ3b3JrZXJfc2lkIjoiV0tlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZWVlZSIsInJvbGUiOiJzdXBlcnZpc29yIn0sImlkZW50aXR5IjoiYWxpY2UifSwiaXNzIjoiU0tiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYiIsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzk1NTUxMzg3LCJzdWIiOiJBQ2FhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhIn0.bWjR7RMDUi_03ompObyKPgq6NoxaMM1iE4cKHo7c0YU";
    const MINTED_AT: Timestamp = 1_795_551_387;

    #[test]
    fn tokens_minted_by_the_twilio_library_verify() {
        let k = key("fixture-secret-0123456789abcdef");
        let p = verify(TWILIO_MINTED, MINTED_AT + 10, |_| Some(k.clone())).expect("valid");
        assert_eq!(p.identity, "alice");
        assert_eq!(p.role, Role::Supervisor);
        assert_eq!(p.account.as_str(), "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(
            p.grants.chat.and_then(|c| c.service_sid).as_deref(),
            Some("IScccccccccccccccccccccccccccccccc")
        );
        assert_eq!(
            verify(TWILIO_MINTED, MINTED_AT, |_| Some(key(
                "another-secret-abcdefabcdef0123"
            ))),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(TWILIO_MINTED, MINTED_AT, |_| None),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(
            verify(TWILIO_MINTED, MINTED_AT - 3600, |_| Some(k.clone())),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn an_expired_token_passes_only_within_the_grace_and_with_its_signature() {
        let k = key("our-secret-0123456789abcdef01234");
        let token = mint(&k, "guest-1", Grants::default(), 1_000, 60);
        let with = |now, grace| verify_within(&token, now, grace, |_| Some(k.clone()));
        assert_eq!(with(1_030, 0).map(|p| p.identity).as_deref(), Ok("guest-1"));
        let late = 1_060 + LEEWAY_SECS as i64 + 100;
        assert_eq!(with(late, 50), Err(TokenError::Expired));
        assert_eq!(
            with(late, 200).map(|p| p.identity).as_deref(),
            Ok("guest-1")
        );
        let forged = key("not-the-secret-0123456789abcdef0");
        assert_eq!(
            verify_within(&token, late, 200, |_| Some(forged.clone())),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn minted_tokens_round_trip_and_expire() {
        let k = key("our-secret-0123456789abcdef01234");
        let grants = Grants {
            chat: Some(ChatGrant { service_sid: None }),
            ..Default::default()
        };
        let token = mint(&k, "guest-1", grants, 1000, 60);
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.cty.as_deref(), Some(CONTENT_TYPE));
        let p = verify(&token, 1030, |_| Some(k.clone())).expect("valid");
        assert_eq!(
            (p.identity.as_str(), p.role, p.expires_at),
            ("guest-1", Role::Guest, 1060)
        );
        assert_eq!(
            verify(&token, 1070, |_| Some(k.clone())),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(&token, 900, |_| Some(k.clone())),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn wrong_account_missing_identity_and_garbage_are_refused() {
        let k = key("our-secret-0123456789abcdef01234");
        let mut other = k.clone();
        other.account_sid = "ACffffffffffffffffffffffffffffffff".parse().expect("sid");
        let token = mint(&other, "x", Grants::default(), 1000, 60);
        assert_eq!(
            verify(&token, 1000, |_| Some(k.clone())),
            Err(TokenError::WrongAccount)
        );

        let claims = Claims {
            jti: "j".into(),
            iss: k.sid.to_string(),
            sub: k.account_sid.to_string(),
            exp: 2000,
            nbf: None,
            grants: Grants::default(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.cty = Some(CONTENT_TYPE.into());
        let no_identity = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(k.secret.as_bytes()),
        )
        .expect("jwt");
        assert_eq!(
            verify(&no_identity, 1000, |_| Some(k.clone())),
            Err(TokenError::MissingIdentity)
        );

        let plain = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s"),
        )
        .expect("jwt");
        assert!(matches!(
            verify(&plain, 1000, |_| Some(k.clone())),
            Err(TokenError::Malformed(_))
        ));
        for garbage in ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
            assert!(
                matches!(
                    verify(garbage, 1000, |_| Some(k.clone())),
                    Err(TokenError::Malformed(_))
                ),
                "{garbage}"
            );
        }
    }
}
