//! The WebSocket edge (agents, webchat guests, supervisors): `GET /v1/ws`. Each socket gets a
//! [`session::SessionActor`] fed by `actix-ws`; it authenticates with a Twilio-format access
//! [`token`], receives the events of the conversations it may see, and sends commands that
//! go to the same conversation actors REST uses. The wire format is in [`crate::protocol`]
//! and docs/protocol.md; close codes in [`close`].

pub mod auth;
pub mod close;
mod commands;
mod feed;
pub mod outbound;
mod routing;
pub mod session;
pub mod token;

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::AppState;
use close::Close;
use outbound::Outbound;
use session::SessionActor;

/// `GET /v1/ws`: upgrades and starts a session. A `token` query parameter is verified before
/// the session starts; a bad one gets the socket closed at once with 4501.
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    app: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let token = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    let (response, socket, frames) = actix_ws::handle(&req, body)?;
    let settings = &app.settings.gateway;
    let frames = frames
        .max_frame_size(settings.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(settings.max_frame_bytes);
    let mut out = Outbound::spawn(socket, settings.outbound_queue);
    let principal = match token {
        Some(token) => match auth::verify(&app.accounts, &token).await {
            Ok(principal) => Some(principal),
            Err(e) => {
                tracing::info!(error = %e, "websocket token refused");
                out.close(Close::TokenInvalid.reason(Some(&e.to_string())));
                return Ok(response);
            }
        },
        None => None,
    };
    SessionActor::create(|ctx| {
        ctx.add_stream(frames);
        SessionActor::new(app.clone(), out, principal)
    });
    Ok(response)
}
