//! `/switchboard/v1/Deliveries[/{WD}[/Replay]]`: Switchboard's own view of the outbox (no Twilio
//! equivalent) — the webhook requests and channel sends still on their way (`Status=pending`)
//! and the ones that gave up (`Status=dead`, the default), one delivery by id, replaying a dead
//! letter, and dropping a delivery. Basic auth; each account sees only its own deliveries.
//!
//! Dropping a pending delivery that the dispatcher is attempting at that moment does not stop
//! that attempt. Never sends anything itself: a replay only puts the job back in line and wakes
//! the dispatcher (`crate::outbox`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::api::AppState;
use crate::api::context::{Caller, origin};
use crate::api::pagination;
use crate::api::params::{Params, format_datetime};
use crate::error::ApiError;
use crate::store::Mutation;
use crate::store::outbox::{OutboxJob, OutboxRecord};

/// The list's URL.
fn list_url(req: &HttpRequest, state: &AppState) -> String {
    format!("{}/switchboard/v1/Deliveries", origin(req, state))
}

/// Form parameters as an object of arrays (a name may repeat).
fn params_object(params: &[(String, String)]) -> Value {
    let mut out = Map::new();
    for (k, v) in params {
        if let Value::Array(values) = out
            .entry(k.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            values.push(Value::String(v.clone()));
        }
    }
    Value::Object(out)
}

fn render(list_url: &str, job: &OutboxRecord) -> Value {
    let mut v = json!({
        "id": job.id,
        "account_sid": job.account_sid,
        "status": if job.dead { "dead" } else { "pending" },
        "event": job.label(),
        "attempts": job.attempts,
        "last_error": job.last_error,
        "next_attempt": if job.dead {
            Value::Null
        } else {
            Value::String(format_datetime(job.next_attempt_ms.div_euclid(1000)))
        },
        "date_created": format_datetime(job.date_created),
        "date_updated": format_datetime(job.date_updated),
        "links": {
            "self": format!("{list_url}/{}", job.id),
            "replay": format!("{list_url}/{}/Replay", job.id),
        },
    });
    let extra = match &job.job {
        OutboxJob::Webhook(w) => json!({
            "type": "webhook",
            "url": w.url,
            "method": w.method,
            "params": params_object(&w.params),
        }),
        OutboxJob::ChannelSend(s) => json!({
            "type": "channel_send",
            "url": Value::Null,
            "method": Value::Null,
            "params": Value::Null,
            "chat_service_sid": s.service_sid,
            "conversation_sid": s.conversation_sid,
            "message_sid": s.message_sid,
            "participant_sid": s.participant_sid,
            "to": s.to,
            "from": s.from,
        }),
    };
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), extra) {
        map.extend(extra);
    }
    v
}

/// The caller's delivery of the path.
async fn find(
    caller: &Caller,
    state: &AppState,
    req: &HttpRequest,
) -> Result<OutboxRecord, ApiError> {
    let id = req.match_info().get("delivery").unwrap_or_default();
    state
        .store
        .outbox_job(&caller.account, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Deliveries/{id}")))
}

/// `GET /switchboard/v1/Deliveries?Status=pending|dead` (default `dead`)
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = Params::query(&req);
    let page = pagination::page_request(&q)?;
    let status = q.get("Status").unwrap_or("dead").to_ascii_lowercase();
    let rows = match status.as_str() {
        "dead" => state.store.outbox_jobs(&caller.account, true, page).await?,
        "pending" => {
            state
                .store
                .outbox_jobs(&caller.account, false, page)
                .await?
        }
        _ => return Err(ApiError::invalid("Status", "must be pending or dead")),
    };
    let url = list_url(&req, &state);
    Ok(HttpResponse::Ok().json(pagination::render(
        "deliveries",
        rows,
        page,
        &url,
        &[("Status", status)],
        |job| render(&url, &job),
    )))
}

/// `GET /switchboard/v1/Deliveries/{WD}`
pub async fn fetch(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let job = find(&caller, &state, &req).await?;
    Ok(HttpResponse::Ok().json(render(&list_url(&req, &state), &job)))
}

/// `POST /switchboard/v1/Deliveries/{WD}/Replay`: a dead letter goes back in line (attempts
/// start over, due now); a pending delivery is refused with 409.
pub async fn replay(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let job = find(&caller, &state, &req).await?;
    if !job.dead {
        return Err(ApiError::Conflict(format!(
            "Delivery {} is still pending; only a dead letter can be replayed",
            job.id
        )));
    }
    let revived = crate::outbox::revive(job);
    state
        .store
        .submit(vec![Mutation::PutOutbox(revived.clone())])
        .await?;
    state.outbox.wake();
    tracing::info!(job = %revived.id, event = revived.label(), "dead letter replayed");
    Ok(HttpResponse::Ok().json(render(&list_url(&req, &state), &revived)))
}

/// `DELETE /switchboard/v1/Deliveries/{WD}`: drops the delivery (pending or dead).
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let job = find(&caller, &state, &req).await?;
    state
        .store
        .submit(vec![Mutation::DeleteOutbox(job.id.clone())])
        .await?;
    tracing::info!(job = %job.id, event = job.label(), dead = job.dead, "delivery dropped");
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AccountSid;
    use crate::store::outbox::WebhookJob;

    #[test]
    fn a_webhook_delivery_renders_its_request() {
        let mut job = OutboxRecord::new(
            AccountSid::generate(),
            None,
            OutboxJob::Webhook(WebhookJob {
                url: "https://example.com/hook".into(),
                method: "POST".into(),
                params: vec![
                    ("EventType".into(), "onMessageAdded".into()),
                    ("Media".into(), "a".into()),
                    ("Media".into(), "b".into()),
                ],
                event: "onMessageAdded".into(),
            }),
            1_700_000_000_500,
        );
        let v = render("http://h/switchboard/v1/Deliveries", &job);
        assert_eq!(v["status"], "pending");
        assert_eq!(v["type"], "webhook");
        assert_eq!(v["event"], "onMessageAdded");
        assert_eq!(v["next_attempt"], "2023-11-14T22:13:20Z");
        assert_eq!(v["params"]["Media"], json!(["a", "b"]));
        job.dead = true;
        let v = render("http://h/switchboard/v1/Deliveries", &job);
        assert_eq!(v["status"], "dead");
        assert_eq!(v["next_attempt"], Value::Null);
    }
}
