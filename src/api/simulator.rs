//! `/simulator`: the simulator provider's customer page. A person plays a customer: picks one
//! of the account's SMS/WhatsApp/Messenger numbers, texts it from a made-up address, and sees
//! the agents' replies arrive live.
//!
//! - `GET /simulator` — the page (web-client/simulator, compiled in), `/simulator/assets/…`
//!   its script and style.
//! - `GET /simulator/v1/Numbers` — the account's address configurations one can text.
//! - `POST /simulator/v1/Messages` (`From`, `To`, `Body`) — an inbound message, taken exactly
//!   as a provider's inbound webhook is (`crate::channels::inbound::receive`).
//! - `GET /simulator/v1/Messages?Phone=…` — the phone's messages.
//! - `GET /simulator/v1/Stream?Phone=…` — Server-Sent Events: each new message of the phone
//!   as `data: <json>`, a comment every [`KEEP_ALIVE`] so proxies keep the stream open and a
//!   vanished client is noticed.
//!
//! Everything but the static assets needs the account's credentials (HTTP Basic), and sees
//! only that account's numbers and phones. A 401 names the realm "Switchboard simulator" so a
//! browser asks for them. This file never renders user text into HTML: the page puts it in
//! with `textContent`.

use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::addresses::{self, AddressRecord};
use crate::api::AppState;
use crate::api::context::Caller;
use crate::api::params::Params;
use crate::channels::inbound::{self, InboundMessage};
use crate::channels::simulator::{PhoneFeed, SimMessage, Simulator};
use crate::error::ApiError;

/// Address types a simulated phone can text.
const CHANNELS: &[&str] = &["sms", "whatsapp", "messenger"];

/// How often an idle event stream sends a comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The realm a browser shows when it asks for the account's credentials.
const REALM: &str = "Basic realm=\"Switchboard simulator\"";

/// The policy of the page: nothing but this server, no inline script or style.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

const PAGE: &str = include_str!("../../web-client/simulator/index.html");
const SCRIPT: &str = include_str!("../../web-client/simulator/simulator.js");
const MODEL: &str = include_str!("../../web-client/simulator/model.js");
const STYLE: &str = include_str!("../../web-client/simulator/simulator.css");

/// Middleware for the `/simulator` scope: every 401 asks for credentials in the simulator's
/// realm, so a browser prompts once and reuses them for the page's requests.
pub fn realm<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(actix_web::http::StatusCode::UNAUTHORIZED, with_realm)
}

fn with_realm<B>(mut res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    res.response_mut()
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
    Ok(ErrorHandlerResponse::Response(res.map_into_left_body()))
}

/// `GET /simulator`: the page.
pub async fn page(_caller: Caller) -> HttpResponse {
    super::pages::html(PAGE, CSP)
}

/// `GET /simulator/assets/{file}`: the page's script and style (public: they hold no data).
pub async fn asset(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let file = req.match_info().get("file").unwrap_or_default();
    let (kind, text) = match file {
        "simulator.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "model.js" => ("text/javascript; charset=utf-8", MODEL),
        "simulator.css" => ("text/css; charset=utf-8", STYLE),
        _ => return Err(ApiError::NotFound(req.path().to_owned())),
    };
    Ok(super::pages::asset(kind, text))
}

/// Whether a phone can text the address.
fn textable(address: &AddressRecord) -> bool {
    CHANNELS.contains(&address.kind.as_str())
}

/// `GET /simulator/v1/Numbers`: the account's numbers, oldest first.
pub async fn numbers(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let numbers: Vec<_> = addresses::list(state.store.as_ref(), &caller.account)
        .await?
        .into_iter()
        .filter(textable)
        .map(|a| {
            json!({
                "sid": a.sid,
                "address": a.address,
                "type": a.kind,
                "friendly_name": a.friendly_name,
                "auto_creation": a.auto_creation.enabled,
                "routing": a.routing.is_some(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "numbers": numbers })))
}

/// The customer address of `Phone` (query) or `From` (form), checked like a messaging binding.
fn customer(p: &Params, name: &str) -> Result<(String, &'static str), ApiError> {
    let address = p.required(name, 256)?;
    let channel = crate::api::participants::channel_of(&address)?;
    Ok((address, channel))
}

/// `POST /simulator/v1/Messages`: the customer texts one of the account's numbers.
pub async fn send(
    caller: Caller,
    state: web::Data<AppState>,
    p: Params,
) -> Result<HttpResponse, ApiError> {
    let (from, channel) = customer(&p, "From")?;
    let to = p.required("To", 256)?;
    let body = match p.get("Body") {
        Some(b) if b.chars().count() > crate::api::messages::MAX_BODY_CHARS => {
            return Err(ApiError::BodyTooLong);
        }
        Some(b) if !b.trim().is_empty() => b.to_owned(),
        _ => return Err(ApiError::missing("Body")),
    };
    let address = addresses::find(state.store.as_ref(), &caller.account, &to)
        .await?
        .filter(textable)
        .ok_or_else(|| ApiError::NotFound(format!("/simulator/v1/Numbers/{to}")))?;
    if address.kind != channel {
        return Err(ApiError::invalid(
            "From",
            format!(
                "is a {channel} address; {} takes {} messages",
                address.address, address.kind
            ),
        ));
    }
    let sid = Simulator::message_sid();
    let received = inbound::receive(
        &state,
        &caller.account,
        &address,
        InboundMessage {
            from: from.clone(),
            to: address.address.clone(),
            body: Some(body.clone()),
            provider_sid: Some(sid.clone()),
            media: Vec::new(),
            attributes: None,
        },
    )
    .await?;
    // Kept on the phone only once the conversation has it: a refused message never shows.
    state.channels.simulator.record(
        &caller.account,
        &from,
        SimMessage {
            sid: sid.clone(),
            direction: "inbound",
            from: from.clone(),
            to: address.address.clone(),
            body: Some(body),
            media_urls: Vec::new(),
            date_ms: crate::routing::model::now_ms(),
        },
    );
    Ok(HttpResponse::Created().json(json!({
        "sid": sid,
        "conversation_sid": received.conversation,
        "message_sid": received.message.sid,
        "message_index": received.message.index,
        "created": received.created,
    })))
}

/// `GET /simulator/v1/Messages?Phone=…`: the phone's messages, oldest first.
pub async fn history(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (phone, _) = customer(&Params::query(&req), "Phone")?;
    let messages = state.channels.simulator.history(&caller.account, &phone);
    Ok(HttpResponse::Ok().json(json!({ "phone": phone, "messages": messages })))
}

/// `GET /simulator/v1/Stream?Phone=…`: the phone's new messages as Server-Sent Events.
pub async fn stream(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (phone, _) = customer(&Params::query(&req), "Phone")?;
    // Subscribed before the answer: whatever is recorded once the client has the headers
    // reaches it.
    let feed = state.channels.simulator.subscribe(&caller.account, &phone);
    let watch = Watch {
        feed,
        draining: state.draining.clone(),
        keep_alive: tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE),
        opened: false,
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(events(watch)))
}

/// One client watching one phone.
struct Watch {
    feed: PhoneFeed,
    draining: tokio::sync::watch::Receiver<bool>,
    keep_alive: tokio::time::Interval,
    opened: bool,
}

/// The event stream of a watch. It ends when the server drains or the feed closes; actix
/// drops it (and with it the subscription) when the client goes away, which a keep-alive
/// write reveals at the latest.
fn events(
    watch: Watch,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> + 'static {
    futures_util::stream::unfold(watch, |mut w| async move {
        if !w.opened {
            w.opened = true;
            if *w.draining.borrow() {
                return None;
            }
            // Sent at once so the client sees the stream open; `retry` paces its reconnects.
            return Some((Ok(Bytes::from_static(b"retry: 2000\n: open\n\n")), w));
        }
        let frame = loop {
            tokio::select! {
                got = w.feed.recv() => match got {
                    Ok(message) => break frame(&message),
                    // Too slow to keep up: say so, the page reloads the history.
                    Err(RecvError::Lagged(missed)) => {
                        break Bytes::from(format!("event: lagged\ndata: {missed}\n\n"));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = w.keep_alive.tick() => break Bytes::from_static(b": keep-alive\n\n"),
                changed = w.draining.changed() => {
                    if changed.is_err() || *w.draining.borrow() {
                        return None;
                    }
                }
            }
        };
        Some((Ok(frame), w))
    })
}

/// `data: <json>` and the blank line that ends an event. JSON text holds no raw newline.
fn frame(message: &SimMessage) -> Bytes {
    let json = serde_json::to_string(message).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("data: {json}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_one_data_line() {
        let f = frame(&SimMessage {
            sid: "SM1".into(),
            direction: "outbound",
            from: "+15550001111".into(),
            to: "+15557654321".into(),
            body: Some("two\nlines".into()),
            media_urls: Vec::new(),
            date_ms: 1,
        });
        let text = std::str::from_utf8(&f).expect("utf-8");
        assert!(text.starts_with("data: {"));
        assert!(text.ends_with("}\n\n"));
        assert_eq!(
            text.matches('\n').count(),
            2,
            "the body's newline is escaped"
        );
    }

    #[test]
    fn the_page_loads_only_its_own_assets() {
        for asset in ["simulator.css", "simulator.js"] {
            assert!(PAGE.contains(&format!("/simulator/assets/{asset}")));
        }
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"));
        assert!(!SCRIPT.contains("innerHTML") && !MODEL.contains("innerHTML"));
    }
}
