//! Outgoing HTTP callbacks: Twilio's request signature ([`signature`]) and form posts.
//!
//! So far this carries TaskRouter's `event_callback_url` posts (best effort, a few retries);
//! the durable Conversations webhook dispatcher arrives with the channels issue.

pub mod signature;

use std::time::Duration;

/// Posts Twilio-style signed form callbacks.
#[derive(Clone)]
pub struct Poster {
    client: reqwest::Client,
}

impl Default for Poster {
    fn default() -> Self {
        Self::new()
    }
}

impl Poster {
    /// A poster with a 15 s timeout (TaskRouter's limit). HTTPS uses rustls with the *ring*
    /// provider and the system's certificate store.
    pub fn new() -> Self {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Poster { client }
    }

    /// Posts `params` to `url`, signed with `auth_token`; retries up to `attempts` times with
    /// exponential backoff on network errors and 5xx answers. Returns the final status.
    pub async fn post(
        &self,
        url: &str,
        params: &[(String, String)],
        auth_token: &str,
        attempts: u32,
    ) -> Result<u16, String> {
        let sig = signature::sign(auth_token, url, params);
        let mut delay = Duration::from_millis(250);
        let mut last = String::new();
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            let sent = self
                .client
                .post(url)
                .header("X-Twilio-Signature", &sig)
                .form(params)
                .send()
                .await;
            match sent {
                Ok(resp) if !resp.status().is_server_error() => return Ok(resp.status().as_u16()),
                Ok(resp) => last = format!("status {}", resp.status()),
                Err(e) => last = chain(&e),
            }
        }
        Err(last)
    }
}

/// An error with its causes (`reqwest` hides the TLS or connection reason in them).
fn chain(err: &dyn std::error::Error) -> String {
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
