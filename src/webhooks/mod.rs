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
    /// A poster with a 15 s timeout (TaskRouter's limit).
    pub fn new() -> Self {
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
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }
}
