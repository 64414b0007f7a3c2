//! Fetching media a provider hosts (inbound MMS, WhatsApp and Messenger attachments) into the
//! content-addressed store: the response streams to disk through
//! [`MediaFiles::write`](super::MediaFiles::write), and the channel's limits apply before the
//! body is read (declared type and length) and while it streams (actual length).
//!
//! Redirects follow the client's policy (reqwest's default follows up to 10, as Twilio's media
//! URLs need to reach their storage); reqwest drops the `Authorization` header when a redirect
//! leaves the host, so the credentials never reach the storage service.
//!
//! Never: hold a whole file in memory, panic on what the remote server sends, or put the URL
//! (it may carry a signature) or the credentials into an error or a log line.

use futures_util::StreamExt;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap};

use super::MediaFiles;
use super::limits::{self, MediaChannel};
use crate::config::MediaSettings;
use crate::error::ApiError;

/// Media fetched and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMedia {
    /// SHA-256 of the bytes, the name of the stored file (see `MediaFiles::path`).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The response's `Content-Type` (`application/octet-stream` when it sent none).
    pub content_type: String,
    /// From `Content-Disposition`, else the last path segment of the URL the bytes came from
    /// (after redirects) when it looks like a file name (`name.ext`).
    pub filename: Option<String>,
}

/// Why media could not be fetched; the caller logs it and fails the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Connection, TLS, timeout or redirect failure, or the body broke off.
    #[error("media request failed: {0}")]
    Network(String),
    /// The server answered with a status other than 2xx.
    #[error("media server answered HTTP {0}")]
    Status(u16),
    /// The channel's limits refused the media (too large, type not accepted, empty), or it
    /// could not be stored.
    #[error("media refused: {0}")]
    Refused(ApiError),
}

/// A reqwest error with its causes, without the URL.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Downloads `url` (with HTTP Basic `credentials` if given, e.g. the provider's account SID and
/// auth token) as media for `channel` and stores it in `files`.
pub async fn fetch_remote(
    client: &reqwest::Client,
    files: &MediaFiles,
    url: &str,
    credentials: Option<(&str, &str)>,
    channel: MediaChannel,
    settings: &MediaSettings,
) -> Result<FetchedMedia, FetchError> {
    let mut request = client.get(url);
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    let response = request
        .send()
        .await
        .map_err(|e| FetchError::Network(describe(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    let headers = response.headers();
    let content_type = header(headers, CONTENT_TYPE)
        .unwrap_or("application/octet-stream")
        .trim()
        .to_owned();
    limits::check_type(settings, channel, &content_type).map_err(FetchError::Refused)?;
    if let Some(declared) = response.content_length() {
        // Refuse early what would be refused anyway, without reading it.
        limits::check(settings, channel, &content_type, declared).map_err(FetchError::Refused)?;
    }
    let filename = header(headers, CONTENT_DISPOSITION)
        .and_then(disposition_filename)
        .or_else(|| url_filename(response.url()));

    // The first body error, kept apart so that it is reported as a network failure rather
    // than as a refusal of the media.
    let broke = std::sync::OnceLock::new();
    let chunks = futures_util::stream::unfold(Some(response), |response| async move {
        let mut response = response?;
        match response.chunk().await {
            Ok(Some(bytes)) => Some((Ok(bytes), Some(response))),
            Ok(None) => None,
            Err(e) => Some((Err(describe(e)), None)),
        }
    })
    .map(|chunk| {
        chunk.inspect_err(|reason| {
            let _ = broke.set(reason.clone());
        })
    });
    let written = files
        .write(std::pin::pin!(chunks), limits::max_bytes(settings, channel))
        .await;
    match written {
        Ok((sha256, size)) => Ok(FetchedMedia {
            sha256,
            size,
            content_type,
            filename,
        }),
        Err(refused) => Err(match broke.into_inner() {
            Some(reason) => FetchError::Network(reason),
            None => FetchError::Refused(refused),
        }),
    }
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `filename*` (RFC 6266/8187, preferred) or `filename` parameter of a
/// `Content-Disposition` value.
fn disposition_filename(value: &str) -> Option<String> {
    let mut plain = None;
    for (name, raw) in parameters(value) {
        if name.eq_ignore_ascii_case("filename*") {
            // charset'language'percent-encoded; UTF-8 is the only charset worth decoding.
            let mut parts = raw.splitn(3, '\'');
            let charset = parts.next().unwrap_or_default();
            let encoded = parts.nth(1);
            if let Some(encoded) = encoded.filter(|_| charset.eq_ignore_ascii_case("utf-8")) {
                let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8();
                if let Some(name) = decoded.ok().and_then(|n| clean(&n)) {
                    return Some(name);
                }
            }
        } else if name.eq_ignore_ascii_case("filename") {
            plain = clean(&raw);
        }
    }
    plain
}

/// The `name=value` parameters after the first `;` of a header value, quoted strings
/// unescaped.
fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value.split_once(';').map(|(_, r)| r).unwrap_or_default();
    while let Some((name, after)) = rest.split_once('=') {
        let name = name.trim().to_owned();
        let after = after.trim_start();
        let mut parsed = String::new();
        if let Some(quoted) = after.strip_prefix('"') {
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => parsed.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => parsed.push(c),
                }
            }
            rest = quoted[end..]
                .split_once(';')
                .map(|(_, r)| r)
                .unwrap_or_default();
        } else {
            let (token, next) = after.split_once(';').unwrap_or((after, ""));
            parsed.push_str(token.trim());
            rest = next;
        }
        out.push((name, parsed));
    }
    out
}

/// The last path segment of `url`, decoded, if it looks like a file name (`name.ext`).
fn url_filename(url: &reqwest::Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    let decoded = percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()?;
    let (stem, extension) = decoded.rsplit_once('.')?;
    let looks_like_file = !stem.is_empty()
        && (1..=8).contains(&extension.len())
        && extension.chars().all(|c| c.is_ascii_alphanumeric());
    looks_like_file.then(|| clean(&decoded)).flatten()
}

/// A file name without directories or control characters, at most 256 characters.
fn clean(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let base: String = base.chars().filter(|c| !c.is_control()).take(256).collect();
    let base = base.trim();
    (!base.is_empty() && base != "." && base != "..").then(|| base.to_owned())
}

#[cfg(test)]
mod tests;
