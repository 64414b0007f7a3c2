//! Media upload and download, Twilio's Media Content Service (mcs.twilio.com) under the `/mcs`
//! prefix: `POST /mcs/v1/Services/{IS}/Media` with the raw bytes and their `Content-Type`
//! (optional `?Filename=`), `GET …/Media/{ME}` for the record, `GET …/Media/{ME}/Content` for
//! the bytes, streamed from disk. The same handlers also answer on `/v1/Services/{IS}/Media…`,
//! the paths used before the prefix existed; rendered URLs use the `/mcs` form.
//!
//! Callers authenticate with HTTP Basic (account or API key) or, from a browser, with their
//! access token in `X-Twilio-Token`; downloads also accept the signed, expiring link from
//! `links.content_direct_temporary`. An upload is chat media: `[media.limits.chat]` bounds its
//! size (checked while it streams) and its type.

use actix_web::body::SizedStream;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::AppState;
use super::context::{Caller, origin};
use super::params::format_datetime;
use crate::error::ApiError;
use crate::gateway::auth;
use crate::ids::{AccountSid, MediaSid, ServiceSid};
use crate::media::limits::{self, MediaChannel};
use crate::media::{check_link, sign_link};
use crate::store::Mutation;
use crate::store::records::{MediaRecord, now};

/// Who is calling and as whom.
struct MediaCaller {
    account: AccountSid,
    service: ServiceSid,
    identity: Option<String>,
}

fn path_sid<T: std::str::FromStr>(req: &HttpRequest, name: &str) -> Result<T, ApiError> {
    let raw = req.match_info().get(name).unwrap_or_default();
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("/{name}/{raw}")))
}

async fn caller(req: &HttpRequest, app: &AppState) -> Result<MediaCaller, ApiError> {
    let service: ServiceSid = path_sid(req, "service")?;
    let token = req
        .headers()
        .get("X-Twilio-Token")
        .and_then(|v| v.to_str().ok());
    let (account, identity) = match token {
        Some(token) => {
            let principal = auth::verify(&app.accounts, token)
                .await
                .map_err(|_| ApiError::Unauthenticated)?;
            (principal.account, Some(principal.identity))
        }
        None => (Caller::authenticate(req).await?.account, None),
    };
    if !app.accounts.owns_service(&account, &service).await? {
        return Err(ApiError::NotFound(format!("/Services/{service}")));
    }
    Ok(MediaCaller {
        account,
        service,
        identity,
    })
}

/// The secret download links of an account are signed with (its auth token).
fn link_secret(app: &AppState, account: &AccountSid) -> Result<String, ApiError> {
    app.accounts
        .get(account)
        .map(|a| a.auth_token)
        .ok_or(ApiError::Internal)
}

fn render(req: &HttpRequest, app: &AppState, m: &MediaRecord) -> Result<Value, ApiError> {
    let path = format!("/mcs/v1/Services/{}/Media/{}", m.service_sid, m.sid);
    let url = format!("{}{path}", origin(req, app));
    let expires = now() + app.settings.media.link_ttl.as_secs() as i64;
    let link = sign_link(&link_secret(app, &m.account_sid)?, &m.sid, expires);
    Ok(json!({
        "sid": m.sid,
        "account_sid": m.account_sid,
        "service_sid": m.service_sid,
        "date_created": format_datetime(m.date_created),
        "date_upload_updated": format_datetime(m.date_created),
        "date_updated": format_datetime(m.date_created),
        "channel_sid": null,
        "message_sid": null,
        "size": m.size,
        "content_type": m.content_type,
        "filename": m.filename,
        "author": m.author,
        "category": "media",
        "url": url,
        "links": {
            "content": format!("{path}/Content"),
            "content_direct_temporary": format!("{url}/Content?Token={link}"),
        },
    }))
}

fn content_type(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim();
    // A form body means a client that did not send the file's own type.
    let valid = limits::essence(value)
        .is_some_and(|essence| essence != "application/x-www-form-urlencoded");
    if valid {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid(
            "Content-Type",
            "must be the uploaded file's media type, e.g. image/png",
        ))
    }
}

/// `POST /mcs/v1/Services/{IS}/Media`
pub async fn upload(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let who = caller(&req, &app).await?;
    let content_type = content_type(&req)?;
    let filename = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "Filename")
        .map(|(_, v)| v.into_owned())
        .filter(|f| !f.is_empty());
    if filename.as_ref().is_some_and(|f| f.chars().count() > 256) {
        return Err(ApiError::invalid(
            "Filename",
            "must be at most 256 characters",
        ));
    }
    let media = &app.settings.media;
    limits::check_type(media, MediaChannel::Chat, &content_type)?;
    let max = limits::max_bytes(media, MediaChannel::Chat);
    let (sha256, size) = app.media.write(body, max).await?;
    let record = MediaRecord {
        sid: MediaSid::generate(),
        account_sid: who.account,
        service_sid: who.service,
        size,
        content_type,
        filename,
        author: who.identity,
        sha256,
        date_created: now(),
    };
    app.store
        .submit(vec![Mutation::PutMedia(record.clone())])
        .await?;
    Ok(HttpResponse::Created().json(render(&req, &app, &record)?))
}

async fn find(
    app: &AppState,
    service: &ServiceSid,
    sid: &MediaSid,
) -> Result<MediaRecord, ApiError> {
    app.store
        .media(service, sid)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("/Services/{service}/Media/{sid}")))
}

/// `GET /mcs/v1/Services/{IS}/Media/{ME}`
pub async fn fetch(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let who = caller(&req, &app).await?;
    let record = find(&app, &who.service, &path_sid(&req, "media")?).await?;
    Ok(HttpResponse::Ok().json(render(&req, &app, &record)?))
}

/// `GET /mcs/v1/Services/{IS}/Media/{ME}/Content`, streamed from disk with its length.
pub async fn content(req: HttpRequest, app: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let sid: MediaSid = path_sid(&req, "media")?;
    let link = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "Token")
        .map(|(_, v)| v.into_owned());
    let record = match link {
        Some(link) => {
            let service: ServiceSid = path_sid(&req, "service")?;
            let record = find(&app, &service, &sid).await?;
            if !check_link(&link_secret(&app, &record.account_sid)?, &sid, &link) {
                return Err(ApiError::Unauthenticated);
            }
            record
        }
        None => {
            let who = caller(&req, &app).await?;
            find(&app, &who.service, &sid).await?
        }
    };
    let unreadable = |e: std::io::Error| {
        tracing::error!(media_sid = %sid, error = %e, "media file unreadable");
        ApiError::Internal
    };
    let file = tokio::fs::File::open(app.media.path(&record.sha256))
        .await
        .map_err(unreadable)?;
    let size = file.metadata().await.map_err(unreadable)?.len();
    let disposition = match &record.filename {
        Some(name) => format!(
            "attachment; filename*=UTF-8''{}",
            form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        ),
        None => "attachment".into(),
    };
    Ok(HttpResponse::Ok()
        .content_type(record.content_type.as_str())
        .insert_header(("Content-Disposition", disposition))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(SizedStream::new(
            size,
            tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024),
        )))
}

/// The attachments named by `sids`, checked to exist in `service`.
pub async fn attachments(
    app: &AppState,
    service: &ServiceSid,
    sids: &[MediaSid],
) -> Result<Option<Vec<crate::store::records::MediaRef>>, ApiError> {
    if sids.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(sids.len());
    for sid in sids {
        out.push(find(app, service, sid).await?.as_ref());
    }
    Ok(Some(out))
}
