//! The load tester's REST client: form posts and JSON answers in Twilio's wire format, with the
//! account's Basic auth, a user's access token (`X-Twilio-Token`, as the desktop sends it) or
//! no credentials (the webchat guest endpoints). A failure keeps the Twilio error code, so the
//! report can count errors by code.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

/// Longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what}: {message}")]
pub struct RestError {
    /// Method and path.
    pub what: String,
    /// The key the report counts it under: the Twilio code, else `http <status>`, else
    /// `transport`.
    pub key: String,
    /// What went wrong.
    pub message: String,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// The account's SID and auth token.
    Account,
    /// A user's access token (`X-Twilio-Token`).
    Token(&'a str),
    /// None (the guest endpoints).
    Anonymous,
}

/// A client for one server and account.
#[derive(Debug, Clone)]
pub struct Rest {
    http: reqwest::Client,
    /// `http://host:port`, no trailing slash.
    pub base: String,
    /// `AC…`
    pub account: String,
    token: String,
}

impl Rest {
    /// A client for `base` with the account's credentials.
    pub fn new(base: &str, account: &str, auth_token: &str) -> anyhow::Result<Rest> {
        crate::webhooks::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Rest {
            http,
            base: base.trim_end_matches('/').to_owned(),
            account: account.to_owned(),
            token: auth_token.to_owned(),
        })
    }

    /// The account's auth token.
    pub fn auth_token(&self) -> &str {
        &self.token
    }

    /// The HTTP client (for streams the caller reads itself).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
    ) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let req = self.http.request(method, url);
        match auth {
            Auth::Account => req.basic_auth(&self.account, Some(&self.token)),
            Auth::Token(token) => req.header("X-Twilio-Token", token),
            Auth::Anonymous => req,
        }
    }

    /// `GET path` → JSON.
    pub async fn get(&self, path: &str) -> Result<Value, RestError> {
        let req = self.request(reqwest::Method::GET, path, Auth::Account);
        send(format!("GET {path}"), req).await
    }

    /// `POST path` with a form body → JSON.
    pub async fn post(
        &self,
        path: &str,
        auth: Auth<'_>,
        form: &[(&str, String)],
    ) -> Result<Value, RestError> {
        let req = self.request(reqwest::Method::POST, path, auth).form(form);
        send(format!("POST {path}"), req).await
    }

    /// `POST path` with raw bytes (media uploads) → JSON.
    pub async fn upload(
        &self,
        path: &str,
        auth: Auth<'_>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Value, RestError> {
        let req = self
            .request(reqwest::Method::POST, path, auth)
            .header(CONTENT_TYPE, content_type)
            .body(bytes);
        send(format!("POST {path}"), req).await
    }

    /// `DELETE path`; a 404 counts as done.
    pub async fn delete(&self, path: &str) -> Result<(), RestError> {
        let req = self.request(reqwest::Method::DELETE, path, Auth::Account);
        match send(format!("DELETE {path}"), req).await {
            Ok(_) => Ok(()),
            Err(e) if e.key == "20404" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paged list (`key` is the list's field), following `next_page_url`.
    pub async fn list_all(&self, path: &str, key: &str) -> Result<Vec<Value>, RestError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{sep}PageSize=1000"));
        let mut items = Vec::new();
        while let Some(page) = next.take() {
            let body = self.get(&page).await?;
            if let Some(list) = body[key].as_array() {
                items.extend(list.iter().cloned());
            }
            next = body["meta"]["next_page_url"]
                .as_str()
                .filter(|u| !u.is_empty())
                .map(str::to_owned);
        }
        Ok(items)
    }
}

async fn send(what: String, req: reqwest::RequestBuilder) -> Result<Value, RestError> {
    let fail = |key: String, message: String| {
        if key == "transport" {
            tracing::warn!(request = %what, error = %message, "request failed before an answer");
        }
        RestError {
            what: what.clone(),
            key,
            message,
        }
    };
    let res = req
        .send()
        .await
        .map_err(|e| fail("transport".into(), e.to_string()))?;
    let status = res.status();
    let text = res
        .text()
        .await
        .map_err(|e| fail("transport".into(), e.to_string()))?;
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status.is_success() {
        return Ok(body);
    }
    let key = body["code"]
        .as_i64()
        .map(|c| c.to_string())
        .unwrap_or_else(|| format!("http {}", status.as_u16()));
    let message = body["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("status {status}"));
    Err(fail(key, message))
}

/// A field of a JSON answer as text ("" when absent).
pub fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}
