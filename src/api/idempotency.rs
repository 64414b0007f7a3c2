//! Idempotent creates: a request carrying `Idempotency-Key` (or Twilio's
//! `I-Twilio-Idempotency-Token` / `X-Twilio-Idempotency-Token`) is executed once; retries with
//! the same key get the first response back (marked `Idempotency-Replayed: true`), and the same
//! key with a different request is refused. Concurrent retries wait for the first to finish.
//!
//! The record is written right after the create commits; a crash in between could let one
//! retry create again (documented in the README as the remaining window).

use std::future::Future;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::AccountSid;
use crate::store::Mutation;
use crate::store::records::{IdempotencyRecord, now};

const HEADERS: &[&str] = &[
    "Idempotency-Key",
    "I-Twilio-Idempotency-Token",
    "X-Twilio-Idempotency-Token",
];

fn key_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    for name in HEADERS {
        if let Some(v) = req.headers().get(*name) {
            let v = v
                .to_str()
                .map_err(|_| ApiError::invalid(name, "must be visible ASCII"))?;
            if v.is_empty() || v.len() > 255 {
                return Err(ApiError::invalid(name, "must be 1 to 255 characters"));
            }
            return Ok(Some(v.to_owned()));
        }
    }
    Ok(None)
}

fn fingerprint(req: &HttpRequest, params: &Params) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b" ");
    h.update(req.path().as_bytes());
    h.update(b"\n");
    h.update(&params.raw);
    hex::encode(h.finalize())
}

/// Runs `create` at most once per idempotency key; without a key it just runs it.
pub async fn once<F, Fut>(
    state: &AppState,
    req: &HttpRequest,
    account: &AccountSid,
    params: &Params,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, serde_json::Value), ApiError>>,
{
    let Some(key) = key_of(req)? else {
        let (status, body) = create().await?;
        return Ok(HttpResponse::build(status).json(body));
    };
    let print = fingerprint(req, params);
    let lock_key = format!("{account}:{key}");
    let lock = state
        .idempotency_locks
        .entry(lock_key.clone())
        .or_default()
        .clone();
    let result = async {
        let _guard = lock.lock().await;
        if let Some(first) = state.store.idempotency(account, &key).await? {
            if first.fingerprint != print {
                return Err(ApiError::IdempotencyKeyReused(key));
            }
            let status = StatusCode::from_u16(first.status).map_err(|_| ApiError::Internal)?;
            return Ok(HttpResponse::build(status)
                .insert_header(("Idempotency-Replayed", "true"))
                .content_type("application/json")
                .body(first.body));
        }
        let (status, body) = create().await?;
        let text = body.to_string();
        let record = IdempotencyRecord {
            account_sid: account.clone(),
            key,
            fingerprint: print,
            status: status.as_u16(),
            body: text.clone(),
            date_created: now(),
        };
        state
            .store
            .submit(vec![Mutation::PutIdempotency(record)])
            .await?;
        Ok(HttpResponse::build(status)
            .content_type("application/json")
            .body(text))
    }
    .await;
    drop(lock);
    // Forget the lock once nobody else holds it (the map holds one reference).
    state
        .idempotency_locks
        .remove_if(&lock_key, |_, l| Arc::strong_count(l) == 1);
    result
}
