//! Twilio-style request parameters: form-encoded bodies (repeated keys allowed, e.g.
//! `Configuration.Filters`) and query strings, read into an ordered list with typed,
//! validating accessors. Unknown parameters are ignored, as Twilio does; known ones with bad
//! values are refused with a 400 naming the parameter.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;

use crate::api::AppState;
use crate::error::ApiError;
use crate::store::records::Timestamp;

/// Parsed parameters, in the order they were sent.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// The raw body, kept for idempotency fingerprints.
    pub raw: bytes::Bytes,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(raw: bytes::Bytes) -> Params {
        let pairs = form_urlencoded::parse(&raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Params { pairs, raw }
    }

    /// Parameters of the request's query string.
    pub fn query(req: &HttpRequest) -> Params {
        Params::parse(bytes::Bytes::copy_from_slice(req.query_string().as_bytes()))
    }

    /// The last value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated parameter.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// True when `name` was sent at all.
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// A string of at most `max` characters.
    pub fn text(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.chars().count() > max => Err(ApiError::invalid(
                name,
                format!("must be at most {max} characters"),
            )),
            Some(v) => Ok(Some(v.to_owned())),
        }
    }

    /// An `http://` or `https://` URL of at most `max` characters.
    pub fn http_url(&self, name: &str, max: usize) -> Result<Option<String>, ApiError> {
        match self.text(name, max)? {
            Some(u) if !u.starts_with("http://") && !u.starts_with("https://") => {
                Err(ApiError::invalid(name, "must be an http(s) URL"))
            }
            other => Ok(other),
        }
    }

    /// A webhook method, `GET` or `POST` in any case, returned upper-case.
    pub fn http_method(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.text(name, 8)?.map(|m| m.to_ascii_uppercase()) {
            Some(m) if m != "GET" && m != "POST" => {
                Err(ApiError::invalid(name, "must be GET or POST"))
            }
            other => Ok(other),
        }
    }

    /// A required string of at most `max` characters.
    pub fn required(&self, name: &str, max: usize) -> Result<String, ApiError> {
        self.text(name, max)?.ok_or_else(|| ApiError::missing(name))
    }

    /// A JSON document passed as text (`Attributes`); returned as sent once validated.
    pub fn json_text(&self, name: &str) -> Result<Option<String>, ApiError> {
        let Some(v) = self.text(name, 16 * 1024)? else {
            return Ok(None);
        };
        serde_json::from_str::<serde_json::Value>(&v)
            .map_err(|e| ApiError::invalid(name, format!("is not valid JSON ({e})")))?;
        Ok(Some(v))
    }

    /// A boolean (`true`/`false`).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(name, "must be true or false")),
        }
    }

    /// A non-negative integer.
    pub fn unsigned(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(name, "must be a non-negative integer")),
        }
    }

    /// An ISO-8601 date-time (`2015-12-16T22:18:37Z`) or date (`2015-12-16`).
    pub fn datetime(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_datetime(v).map(Some).ok_or_else(|| {
                ApiError::invalid(
                    name,
                    "must be an ISO-8601 date-time like 2015-12-16T22:18:37Z",
                )
            }),
        }
    }

    /// An ISO-8601 date-time kept as the client wrote it (`LastReadTimestamp`), once checked.
    pub fn datetime_text(&self, name: &str) -> Result<Option<String>, ApiError> {
        self.datetime(name)?;
        Ok(self.get(name).map(str::to_owned))
    }

    /// A SID of the given type.
    pub fn sid<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid(name, "is not a valid SID")),
        }
    }
}

/// Parses Twilio's accepted date forms into Unix seconds.
pub fn parse_datetime(v: &str) -> Option<Timestamp> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
        return Some(t.and_utc().timestamp());
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
}

/// Renders Unix seconds as Twilio does: `2015-12-16T22:18:37Z`.
pub fn format_datetime(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Extracts the form body, refusing bodies larger than `server.max_body_bytes`.
impl FromRequest for Params {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Params, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.server.max_body_bytes)
            .unwrap_or(1024 * 1024);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            let mut body = bytes::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| ApiError::invalid("body", "could not be read"))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Params::parse(body.freeze()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_last_value_wins() {
        let p = Params::parse(bytes::Bytes::from_static(
            b"A=1&Filters=x&Filters=y&A=2&Body=caf%C3%A9+ok",
        ));
        assert_eq!(p.get("A"), Some("2"));
        assert_eq!(p.all("Filters"), vec!["x", "y"]);
        assert_eq!(p.get("Body"), Some("café ok"));
    }

    #[test]
    fn dates_round_trip_in_twilio_format() {
        let t = parse_datetime("2015-12-16T22:18:37Z").expect("valid");
        assert_eq!(format_datetime(t), "2015-12-16T22:18:37Z");
        assert_eq!(
            parse_datetime("2015-12-16"),
            parse_datetime("2015-12-16T00:00:00Z")
        );
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn bad_values_are_refused_with_the_parameter_name() {
        let p = Params::parse(bytes::Bytes::from_static(
            b"Attributes=%7Bnope&X=maybe&N=-1",
        ));
        let err = p.json_text("Attributes").expect_err("invalid json");
        assert!(err.to_string().contains("Attributes"));
        assert!(p.boolean("X").is_err());
        assert!(p.unsigned("N").is_err());
    }
}
