//! The outbox dispatcher: sends the deliveries that committed changes wrote to the outbox
//! (`store::outbox`) — webhook requests and messages for channel providers. A job that fails
//! is retried with exponential backoff; one that keeps failing becomes a dead letter (a channel
//! send also ends with a `failed` receipt, so nothing is dropped silently). Jobs of one lane
//! (a conversation's channel sends) go one at a time, in order; the rest run concurrently,
//! with up to `webhooks.concurrency` requests to receivers and providers at once. Recording
//! how an attempt went holds no request slot, so a busy store does not slow the sends; a
//! channel send's `sent` receipt and the job's removal are one unit. Jobs survive a crash:
//! they are rows, deleted only once sent.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::api::AppState;
use crate::routing::model::now_ms;
use crate::store::Mutation;
use crate::store::outbox::{OutboxJob, OutboxRecord};

/// Wakes the dispatcher when new jobs committed.
#[derive(Default)]
pub struct Outbox {
    wake: Notify,
}

impl Outbox {
    /// Tells the dispatcher new jobs are waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// How one attempt went.
#[derive(Debug)]
pub enum Attempt {
    /// Delivered: the job is done.
    Delivered,
    /// Failed; worth retrying.
    Retry(String),
    /// Failed for good (the provider refused the message); `code` is its error code.
    Permanent {
        /// Why.
        error: String,
        /// The provider's error code, if it gave one.
        code: Option<u32>,
    },
}

/// Due jobs read from the store at once beyond those in flight (which the store still lists
/// until their removal commits); they are started as capacity frees up, and the store is read
/// again only when they are all started.
const FETCH: usize = 256;

/// Attempts in flight (sending, or recording how it went) per request slot: the bound on
/// attempts waiting for their commit while others send. When the store is slow, an attempt
/// spends most of its time on that commit (a channel send's `sent` receipt with the job's
/// removal), so this is what keeps the sends of many conversations (one lane each) going.
const IN_FLIGHT_PER_SLOT: usize = 32;

/// Runs the dispatcher until the process ends.
pub async fn run(state: web::Data<AppState>) {
    let concurrency = state.settings.webhooks.concurrency;
    let slots = Arc::new(Semaphore::new(concurrency));
    let max_in_flight = concurrency * IN_FLIGHT_PER_SLOT;
    let mut inflight: HashMap<tokio::task::Id, String> = HashMap::new();
    // Shared with each read of due jobs, which skips them; changed only between reads.
    let mut inflight_ids: Arc<HashSet<String>> = Arc::default();
    let mut ready: VecDeque<OutboxRecord> = VecDeque::new();
    let mut tasks: JoinSet<()> = JoinSet::new();
    loop {
        let room =
            |tasks: &JoinSet<()>| tasks.len() < max_in_flight && slots.available_permits() > 0;
        if ready.is_empty() && room(&tasks) {
            let limit = u32::try_from(inflight.len() + FETCH).unwrap_or(u32::MAX);
            match state
                .store
                .due_jobs(now_ms(), limit, inflight_ids.clone())
                .await
            {
                Ok(jobs) => ready.extend(jobs),
                Err(e) => tracing::error!(error = %e, "reading the outbox failed"),
            }
        }
        let mut started = 0;
        while tasks.len() < max_in_flight
            && let Ok(slot) = slots.clone().try_acquire_owned()
        {
            let Some(job) = ready.pop_front() else { break };
            started += 1;
            let id = job.id.clone();
            let state = state.clone();
            // On this thread's local set: an attempt may start actors.
            let handle = tasks.spawn_local(async move { attempt(&state, job, slot).await });
            Arc::make_mut(&mut inflight_ids).insert(id.clone());
            inflight.insert(handle.id(), id);
        }
        if started > 0 && room(&tasks) {
            // All started and room left: more may be due.
            continue;
        }
        let wait = if !ready.is_empty() || !inflight.is_empty() {
            // A finished attempt or a freed slot wakes the loop sooner.
            Duration::from_secs(1)
        } else {
            match state.store.next_due().await {
                Ok(Some(due)) => Duration::from_millis((due - now_ms()).clamp(1, 1000) as u64),
                _ => Duration::from_secs(1),
            }
        };
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                settle(&mut inflight, &mut inflight_ids, done);
                while let Some(done) = tasks.try_join_next_with_id() {
                    settle(&mut inflight, &mut inflight_ids, done);
                }
            }
            () = state.outbox.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Forgets a finished attempt; one that panicked is logged (its job stays pending and is
/// tried again when due).
fn settle(
    inflight: &mut HashMap<tokio::task::Id, String>,
    inflight_ids: &mut Arc<HashSet<String>>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match done {
        Ok((id, ())) => id,
        Err(e) => {
            tracing::error!(error = %e, "a delivery attempt failed unexpectedly");
            e.id()
        }
    };
    if let Some(job) = inflight.remove(&id) {
        Arc::make_mut(inflight_ids).remove(&job);
    }
}

/// Makes one attempt at `job` and records what became of it. `slot` is held while the
/// receiver or provider is asked, and let go before the records are written.
async fn attempt(state: &web::Data<AppState>, mut job: OutboxRecord, slot: OwnedSemaphorePermit) {
    let (outcome, handed_over) = match &job.job {
        OutboxJob::Webhook(w) => (deliver_webhook(state, &job, w).await, None),
        OutboxJob::ChannelSend(send) => {
            match crate::channels::outbound::send(state, &job, send).await {
                Ok(provider_sid) => (Attempt::Delivered, Some((send, provider_sid))),
                Err(attempt) => (attempt, None),
            }
        }
    };
    drop(slot);
    state.outbox.wake();
    if let Some((send, provider_sid)) = handed_over {
        // The receipt and the job's removal in one unit; if the receipt cannot be recorded
        // (the conversation is gone), the job is removed on its own below.
        let settled = vec![Mutation::DeleteOutbox(job.id.clone())];
        if crate::channels::outbound::sent(state, &job.account_sid, send, provider_sid, settled)
            .await
        {
            return;
        }
    }
    job.attempts += 1;
    job.date_updated = now_ms() / 1000;
    let max = match &job.job {
        OutboxJob::Webhook(w) => crate::webhooks::Overrides::of(&w.url)
            .retries
            .map_or(state.settings.webhooks.max_attempts, |r| r + 1),
        OutboxJob::ChannelSend(_) => state.settings.channels.max_attempts,
    };
    let unit = match outcome {
        Attempt::Delivered => vec![Mutation::DeleteOutbox(job.id.clone())],
        Attempt::Retry(error) if job.attempts < max => {
            let backoff = backoff(&state.settings.webhooks, job.attempts);
            tracing::info!(job = %job.id, event = job.label(), attempt = job.attempts, error = %error, retry_in = ?backoff, "delivery failed; will retry");
            job.last_error = Some(error);
            job.next_attempt_ms = now_ms() + backoff.as_millis() as i64;
            vec![Mutation::UpdateOutbox(job)]
        }
        Attempt::Retry(error) => give_up(state, job, error, None).await,
        Attempt::Permanent { error, code } => give_up(state, job, error, code).await,
    };
    if let Err(e) = state.store.submit(unit).await {
        tracing::error!(error = %e, "recording a delivery attempt failed");
    }
}

/// Parks the job as a dead letter; a channel send also records its `failed` receipt.
async fn give_up(
    state: &web::Data<AppState>,
    mut job: OutboxRecord,
    error: String,
    code: Option<u32>,
) -> Vec<Mutation> {
    tracing::warn!(job = %job.id, event = job.label(), attempts = job.attempts, error = %error, "delivery gave up; kept as a dead letter");
    if let OutboxJob::ChannelSend(send) = &job.job {
        crate::channels::outbound::failed(state, &job.account_sid, send, code).await;
    }
    job.dead = true;
    job.last_error = Some(error);
    vec![Mutation::UpdateOutbox(job)]
}

/// The wait after `attempts` failures: `initial_backoff × 2^(attempts-1)`, capped.
pub fn backoff(settings: &crate::config::WebhookSettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    settings
        .initial_backoff
        .saturating_mul(factor)
        .min(settings.max_backoff)
}

async fn deliver_webhook(
    state: &AppState,
    job: &OutboxRecord,
    w: &crate::store::outbox::WebhookJob,
) -> Attempt {
    let Some(token) = state.hooks.signing_key(&job.account_sid) else {
        return Attempt::Permanent {
            error: "the account no longer exists".into(),
            code: None,
        };
    };
    let mut params = w.params.clone();
    if params.iter().any(|(k, _)| k == "WebhookSid") {
        params.push(("RetryCount".into(), job.attempts.to_string()));
    }
    let sent = crate::webhooks::send(
        state.hooks.client(),
        &w.url,
        &w.method,
        &params,
        &token,
        Some(&job.id),
        state.settings.webhooks.timeout,
    )
    .await;
    match sent {
        Ok(answer) if (200..300).contains(&answer.status) => Attempt::Delivered,
        Ok(answer) => Attempt::Retry(format!("HTTP {}", answer.status)),
        Err(e) => Attempt::Retry(e),
    }
}

/// Puts a dead letter back in line (attempts start over).
pub fn revive(mut job: OutboxRecord) -> OutboxRecord {
    job.dead = false;
    job.attempts = 0;
    job.last_error = None;
    job.next_attempt_ms = now_ms();
    job.date_updated = now_ms() / 1000;
    job
}
