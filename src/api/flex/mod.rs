//! Flex API under `/flex-api` (twilio-api.md §6): Interactions, Interaction Channels, Channel
//! Participants, Invites and Transfers, and v2 WebChats. Handlers parse and render; the rules live in
//! [`crate::interactions`]. This file only lists the routes.

pub mod channels;
pub mod context;
pub mod interactions;
pub mod participants;
pub mod render;
pub mod transfers;

use actix_web::web;

use crate::api::resource;

/// Mounts the Flex routes (inside the `/flex-api` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    const CHANNEL: &str = "/v1/Interactions/{interaction}/Channels/{channel}";
    cfg.service(resource("/v2/WebChats").route(web::post().to(crate::api::webchat::create)))
        .service(resource("/v1/Interactions").route(web::post().to(interactions::create)))
        .service(
            resource("/v1/Interactions/{interaction}")
                .route(web::get().to(interactions::fetch))
                .route(web::post().to(interactions::update)),
        )
        .service(
            resource("/v1/Interactions/{interaction}/Channels")
                .route(web::get().to(channels::list)),
        )
        .service(
            resource(CHANNEL)
                .route(web::get().to(channels::fetch))
                .route(web::post().to(channels::update)),
        )
        .service(
            resource(&format!("{CHANNEL}/Participants"))
                .route(web::get().to(participants::list))
                .route(web::post().to(participants::create)),
        )
        .service(
            resource(&format!("{CHANNEL}/Participants/{{participant}}"))
                .route(web::get().to(participants::fetch))
                .route(web::post().to(participants::update)),
        )
        .service(
            resource(&format!("{CHANNEL}/Invites"))
                .route(web::get().to(channels::invites))
                .route(web::post().to(channels::invite)),
        )
        .service(resource(&format!("{CHANNEL}/Transfers")).route(web::post().to(transfers::create)))
        .service(
            resource(&format!("{CHANNEL}/Transfers/{{transfer}}"))
                .route(web::get().to(transfers::fetch))
                .route(web::post().to(transfers::update)),
        );
}
