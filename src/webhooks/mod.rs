//! Outgoing HTTP callbacks in Twilio's style: signed form requests ([`signature`]), where each
//! Conversations event goes ([`config`]), with which parameters ([`params`]), pre-event hooks
//! that may reject or modify an action ([`pre`]), and the post-event jobs an event writes to
//! the outbox (sent by `crate::outbox`).

pub mod config;
pub mod params;
pub mod pre;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use crate::accounts::Accounts;
use crate::config::WebhookSettings;
use crate::conversations::drafts::Scope;
use crate::conversations::events::ConversationEvent;
use crate::store::Mutation;
use crate::store::outbox::{OutboxJob, OutboxRecord, WebhookJob};

/// Everything that decides and sends webhooks.
pub struct Hooks {
    /// Live webhook configuration.
    pub directory: config::Directory,
    /// Signing keys (account auth tokens).
    pub accounts: Arc<Accounts>,
    /// Timeouts and retries.
    pub settings: WebhookSettings,
    client: reqwest::Client,
}

impl Hooks {
    /// Hooks over a loaded directory.
    pub fn new(
        directory: config::Directory,
        accounts: Arc<Accounts>,
        settings: WebhookSettings,
    ) -> Self {
        Hooks {
            directory,
            accounts,
            settings,
            client: client(),
        }
    }

    /// The HTTP client deliveries share.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The auth token that signs the account's webhooks.
    pub fn signing_key(&self, account: &crate::ids::AccountSid) -> Option<String> {
        self.accounts.get(account).map(|a| a.auth_token)
    }

    /// The outbox jobs of the post-events among `events`, caused by an action of `scope`
    /// (none when its source does not fire webhooks), to be written with the change itself.
    pub fn post_jobs(
        &self,
        scope: &Scope,
        events: &[ConversationEvent],
        now_ms: i64,
    ) -> Vec<Mutation> {
        if !scope.source.fires_webhooks() {
            return Vec::new();
        }
        let mut jobs = Vec::new();
        for event in events {
            let Some(name) = event.webhook_name() else {
                continue;
            };
            let targets = self.directory.post_targets(
                &scope.account,
                event.service_sid(),
                event.conversation_sid(),
                name,
                params::event_body(event),
            );
            if targets.is_empty() {
                continue;
            }
            let mut base = params::common(
                scope.account.as_str(),
                name,
                scope.source.as_str(),
                scope.identity.as_deref(),
            );
            params::post_event(&mut base, event, now_ms / 1000);
            for target in targets {
                let mut form = base.clone();
                if let Some((sid, kind)) = &target.scoped {
                    form.push(("WebhookSid".into(), sid.to_string()));
                    form.push(("WebhookType".into(), kind.clone()));
                }
                let job = OutboxJob::Webhook(WebhookJob {
                    url: target.url,
                    method: target.method,
                    params: form,
                    event: name.to_owned(),
                });
                jobs.push(Mutation::PutOutbox(OutboxRecord::new(
                    scope.account.clone(),
                    None,
                    job,
                    now_ms,
                )));
            }
        }
        jobs
    }
}

impl Hooks {
    /// The outbox jobs of a service-level post-event that is not about one conversation
    /// (`onUserAdded`, `onUserUpdated`); `build` adds the event's own parameters.
    pub fn service_jobs(
        &self,
        scope: &Scope,
        event: &str,
        build: impl FnOnce(&mut params::Params),
    ) -> Vec<Mutation> {
        if !scope.source.fires_webhooks() {
            return Vec::new();
        }
        let targets = self
            .directory
            .service_post_targets(&scope.account, &scope.service, event);
        if targets.is_empty() {
            return Vec::new();
        }
        let mut form = params::common(
            scope.account.as_str(),
            event,
            scope.source.as_str(),
            scope.identity.as_deref(),
        );
        build(&mut form);
        let now_ms = chrono::Utc::now().timestamp_millis();
        targets
            .into_iter()
            .map(|target| {
                let job = OutboxJob::Webhook(WebhookJob {
                    url: target.url,
                    method: target.method,
                    params: form.clone(),
                    event: event.to_owned(),
                });
                Mutation::PutOutbox(OutboxRecord::new(scope.account.clone(), None, job, now_ms))
            })
            .collect()
    }
}

/// The shared HTTP client: rustls with the *ring* provider and the system's certificates;
/// per-request time limits.
pub fn client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent("TwilioProxy/1.1 (Switchboard)")
        .build()
        .unwrap_or_default()
}

/// Twilio's connection overrides, given in a webhook URL's fragment
/// (`https://host/path#rc=2&tt=5000`): `rc` retries (0–5), `ct`/`rt`/`tt` time limits in
/// milliseconds (100–15000; the shortest applies to the whole attempt). Out-of-range or
/// unknown keys are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Retries after the first attempt.
    pub retries: Option<u32>,
    /// Time limit of one attempt.
    pub timeout: Option<Duration>,
}

impl Overrides {
    /// The overrides in `url`'s fragment.
    pub fn of(url: &str) -> Overrides {
        let mut out = Overrides::default();
        let Some((_, fragment)) = url.split_once('#') else {
            return out;
        };
        for (key, value) in form_urlencoded::parse(fragment.as_bytes()) {
            let Ok(n) = value.parse::<u64>() else {
                continue;
            };
            match key.as_ref() {
                "rc" if n <= 5 => out.retries = Some(n as u32),
                "ct" | "rt" | "tt" if (100..=15_000).contains(&n) => {
                    let limit = Duration::from_millis(n);
                    out.timeout = Some(out.timeout.map_or(limit, |t| t.min(limit)));
                }
                _ => {}
            }
        }
        out
    }
}

/// What a webhook endpoint answered.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body (pre-events read it; post-events ignore it).
    pub body: bytes::Bytes,
}

/// Sends one signed webhook request: `POST` with a form body, or `GET` with the parameters in
/// the query (then only the URL is signed). A URL fragment (Twilio's connection overrides) is
/// not sent. `idempotency` goes in `I-Twilio-Idempotency-Token`.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    params: &[(String, String)],
    auth_token: &str,
    idempotency: Option<&str>,
    timeout: Duration,
) -> Result<Answer, String> {
    let timeout = Overrides::of(url)
        .timeout
        .map_or(timeout, |t| t.min(timeout));
    let url = url.split('#').next().unwrap_or(url);
    let request = if method.eq_ignore_ascii_case("GET") {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let full = if query.is_empty() {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&{query}")
        } else {
            format!("{url}?{query}")
        };
        let sig = signature::sign(auth_token, &full, &[]);
        client.get(&full).header("X-Twilio-Signature", sig)
    } else {
        let sig = signature::sign(auth_token, url, params);
        client
            .post(url)
            .header("X-Twilio-Signature", sig)
            .form(params)
    };
    let request = match idempotency {
        Some(token) => request.header("I-Twilio-Idempotency-Token", token),
        None => request,
    };
    let response = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| chain(&e))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    Ok(Answer { status, body })
}

/// An error with its causes (`reqwest` hides the TLS or connection reason in them).
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Installs the process-wide TLS provider (*ring*) that every `reqwest` client of this build
/// needs before it is created (tests and benches call it too). Idempotent.
pub fn install_tls_provider() {
    // Fails only when a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_overrides_come_from_the_fragment_within_twilio_ranges() {
        let o = Overrides::of("https://h/p?x=1#rc=2&ct=500&tt=3000&e=ashburn");
        assert_eq!(o.retries, Some(2));
        assert_eq!(o.timeout, Some(Duration::from_millis(500)));
        assert_eq!(Overrides::of("https://h/p"), Overrides::default());
        let out_of_range = Overrides::of("https://h/p#rc=9&tt=20000&rt=50");
        assert_eq!(out_of_range, Overrides::default());
    }
}
