//! The REST API in Twilio's wire format: form-encoded in, JSON out, Twilio error bodies. Each
//! product lives under its own prefix (`/conversations`, `/flex-api`, `/taskrouter`, `/mcs` for
//! media) and `/api` holds the 2010-04-01 account resources; `/simulator` is the simulator
//! provider's customer page. This file is the only place that lists routes; one file per
//! resource holds its handlers.

pub mod accounts;
pub mod addresses;
pub mod client;
pub mod configuration;
pub mod context;
pub mod conversation_webhooks;
pub mod conversations;
pub mod deliveries;
pub mod desktop_access;
pub mod flex;
pub mod health;
pub mod idempotency;
pub mod keys;
pub mod logins;
pub mod media;
pub mod messages;
pub mod pages;
pub mod pagination;
pub mod params;
pub mod participant_conversations;
pub mod participants;
pub mod render;
pub mod roles;
pub mod services;
pub mod simulator;
pub mod taskrouter;
pub mod user_conversations;
pub mod users;
pub mod webchat;
pub mod webhook_config;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use dashmap::DashMap;

use crate::accounts::Accounts;
use crate::cluster::EventBus;
use crate::config::Settings;
use crate::conversations::registry::Registry;
use crate::error::ApiError;
use crate::store::Store;

/// Handles shared by every request.
pub struct AppState {
    /// Effective configuration.
    pub settings: Arc<Settings>,
    /// Persistence (reads go straight here; writes go through actors).
    pub store: Arc<dyn Store>,
    /// Conversation actors.
    pub registry: Arc<Registry>,
    /// Workspace routers.
    pub routers: Arc<crate::routing::registry::Routers>,
    /// Credentials.
    pub accounts: Arc<Accounts>,
    /// Committed conversation events.
    pub bus: Arc<dyn EventBus>,
    /// Renders Prometheus metrics.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Becomes true when the server starts shutting down (sessions close with 4000).
    pub draining: tokio::sync::watch::Receiver<bool>,
    /// Uploaded media bytes.
    pub media: Arc<crate::media::MediaFiles>,
    /// One lock per in-flight idempotency key.
    pub idempotency_locks: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Webhook configuration and delivery.
    pub hooks: Arc<crate::webhooks::Hooks>,
    /// Wakes the outbox dispatcher.
    pub outbox: Arc<crate::outbox::Outbox>,
    /// Messaging channels (pair locks, the simulator, our origin).
    pub channels: Arc<crate::channels::Channels>,
}

async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(req.path().to_owned()))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Routes shared by the unscoped (`/v1/…`, default service) and service-scoped
/// (`/v1/Services/{IS}/…`) Conversations paths.
fn conversation_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/Conversations")
            .route(web::get().to(conversations::list))
            .route(web::post().to(conversations::create)),
    )
    .service(
        resource("/Conversations/{conversation}")
            .route(web::get().to(conversations::fetch))
            .route(web::post().to(conversations::update))
            .route(web::delete().to(conversations::delete)),
    )
    .service(
        resource("/Conversations/{conversation}/Participants")
            .route(web::get().to(participants::list))
            .route(web::post().to(participants::create)),
    )
    .service(
        resource("/Conversations/{conversation}/Participants/{participant}")
            .route(web::get().to(participants::fetch))
            .route(web::post().to(participants::update))
            .route(web::delete().to(participants::delete)),
    )
    .service(
        resource("/Conversations/{conversation}/Webhooks")
            .route(web::get().to(conversation_webhooks::list))
            .route(web::post().to(conversation_webhooks::create)),
    )
    .service(
        resource("/Conversations/{conversation}/Webhooks/{webhook}")
            .route(web::get().to(conversation_webhooks::fetch))
            .route(web::post().to(conversation_webhooks::update))
            .route(web::delete().to(conversation_webhooks::delete)),
    )
    .service(
        resource("/Conversations/{conversation}/Messages")
            .route(web::get().to(messages::list))
            .route(web::post().to(messages::create)),
    )
    .service(
        resource("/Conversations/{conversation}/Messages/{message}")
            .route(web::get().to(messages::fetch))
            .route(web::post().to(messages::update))
            .route(web::delete().to(messages::delete)),
    )
    .service(
        resource("/Conversations/{conversation}/Messages/{message}/Receipts")
            .route(web::get().to(messages::receipts)),
    )
    .service(
        resource("/Conversations/{conversation}/Messages/{message}/Receipts/{receipt}")
            .route(web::get().to(messages::receipt)),
    )
    .service(
        resource("/ConversationWithParticipants")
            .route(web::post().to(conversations::create_with_participants)),
    )
    .service(
        resource("/ParticipantConversations").route(web::get().to(participant_conversations::list)),
    )
    .service(
        resource("/Users")
            .route(web::get().to(users::list))
            .route(web::post().to(users::create)),
    )
    .service(
        resource("/Users/{user}")
            .route(web::get().to(users::fetch))
            .route(web::post().to(users::update))
            .route(web::delete().to(users::delete)),
    )
    .service(resource("/Users/{user}/Conversations").route(web::get().to(user_conversations::list)))
    .service(
        resource("/Users/{user}/Conversations/{conversation}")
            .route(web::get().to(user_conversations::fetch))
            .route(web::post().to(user_conversations::update))
            .route(web::delete().to(user_conversations::delete)),
    )
    .service(
        resource("/Roles")
            .route(web::get().to(roles::list))
            .route(web::post().to(roles::create)),
    )
    .service(
        resource("/Roles/{role}")
            .route(web::get().to(roles::fetch))
            .route(web::post().to(roles::update))
            .route(web::delete().to(roles::delete)),
    );
}

/// Media (Twilio's MCS) under `prefix`: `/mcs/v1`, and `/v1` where uploads lived before the
/// MCS prefix.
fn media_routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.service(
        resource(&format!("{prefix}/Services/{{service}}/Media"))
            .route(web::post().to(media::upload)),
    )
    .service(
        resource(&format!("{prefix}/Services/{{service}}/Media/{{media}}"))
            .route(web::get().to(media::fetch)),
    )
    .service(
        resource(&format!(
            "{prefix}/Services/{{service}}/Media/{{media}}/Content"
        ))
        .route(web::get().to(media::content)),
    );
}

/// CORS for what a webchat widget on another site calls: any origin, no cookies (the
/// credentials are the guest token in a header).
fn public_cors() -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "POST"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderName::from_static("x-twilio-token"),
        ])
        .max_age(3600)
}

/// Mounts every route on an actix-web app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/ws", web::get().to(crate::gateway::connect));
    cfg.service(
        web::scope("/mcs/v1")
            .wrap(public_cors())
            .configure(|cfg| media_routes(cfg, ""))
            .default_service(web::to(not_found)),
    );
    media_routes(cfg, "/v1");
    cfg.service(
        resource("/channels/twilio/inbound")
            .route(web::post().to(crate::channels::twilio::inbound)),
    );
    cfg.service(
        resource("/channels/twilio/status").route(web::post().to(crate::channels::twilio::status)),
    );
    cfg.service(
        web::scope("/simulator")
            .wrap(simulator::realm())
            .service(resource("").route(web::get().to(simulator::page)))
            .service(resource("/").route(web::get().to(simulator::page)))
            .service(resource("/assets/{file}").route(web::get().to(simulator::asset)))
            .service(resource("/v1/Numbers").route(web::get().to(simulator::numbers)))
            .service(
                resource("/v1/Messages")
                    .route(web::get().to(simulator::history))
                    .route(web::post().to(simulator::send)),
            )
            .service(resource("/v1/Stream").route(web::get().to(simulator::stream)))
            .default_service(web::to(not_found)),
    );
    cfg.service(resource("/desktop").route(web::get().to(client::desktop)));
    // Browsers ask for it on every page; there is none.
    cfg.service(
        resource("/favicon.ico")
            .route(web::get().to(|| async { HttpResponse::NoContent().finish() })),
    );
    cfg.service(resource("/webchat/demo").route(web::get().to(client::webchat_demo)));
    for dir in client::DIRS {
        cfg.service(resource(&format!("/{dir}/{{file:.*}}")).route(web::get().to(client::file)));
    }
    cfg.service(resource("/login").route(web::get().to(pages::login)));
    cfg.service(resource("/login/assets/{file}").route(web::get().to(pages::login_asset)));
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .service(
            web::scope("/conversations/v1/Services/{service}")
                .service(
                    resource("")
                        .route(web::get().to(services::fetch))
                        .route(web::delete().to(services::delete)),
                )
                .service(
                    resource("/Configuration")
                        .route(web::get().to(configuration::fetch_service))
                        .route(web::post().to(configuration::update_service)),
                )
                .service(
                    resource("/Configuration/Webhooks")
                        .route(web::get().to(webhook_config::fetch_service))
                        .route(web::post().to(webhook_config::update_service)),
                )
                .configure(conversation_routes)
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/conversations/v1")
                .service(
                    resource("/Services")
                        .route(web::get().to(services::list))
                        .route(web::post().to(services::create)),
                )
                .service(
                    resource("/Configuration")
                        .route(web::get().to(configuration::fetch))
                        .route(web::post().to(configuration::update)),
                )
                .service(
                    resource("/Configuration/Webhooks")
                        .route(web::get().to(webhook_config::fetch))
                        .route(web::post().to(webhook_config::update)),
                )
                .service(
                    resource("/Configuration/Addresses")
                        .route(web::get().to(addresses::list))
                        .route(web::post().to(addresses::create)),
                )
                .service(
                    resource("/Configuration/Addresses/{address}")
                        .route(web::get().to(addresses::fetch))
                        .route(web::post().to(addresses::update))
                        .route(web::delete().to(addresses::delete)),
                )
                .configure(conversation_routes)
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/taskrouter")
                .configure(taskrouter::configure)
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/flex-api")
                .configure(flex::configure)
                .default_service(web::to(not_found)),
        )
        .service(
            // Called by the widget from any site: open to cross-origin callers (no cookies).
            web::scope("/switchboard/v1/Webchat")
                .wrap(public_cors())
                .service(resource("/Start").route(web::post().to(webchat::start)))
                .service(resource("/Refresh").route(web::post().to(webchat::refresh)))
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/switchboard/v1")
                .service(resource("/Deliveries").route(web::get().to(deliveries::list)))
                .service(
                    resource("/Deliveries/{delivery}")
                        .route(web::get().to(deliveries::fetch))
                        .route(web::delete().to(deliveries::delete)),
                )
                .service(
                    resource("/Deliveries/{delivery}/Replay")
                        .route(web::post().to(deliveries::replay)),
                )
                .service(
                    resource("/Logins")
                        .route(web::get().to(logins::list))
                        .route(web::post().to(logins::create)),
                )
                .service(
                    resource("/Logins/{login}")
                        .route(web::get().to(logins::fetch))
                        .route(web::post().to(logins::update))
                        .route(web::delete().to(logins::delete)),
                )
                .service(resource("/SignIn").route(web::post().to(logins::sign_in)))
                .service(resource("/SignIn/Refresh").route(web::post().to(logins::refresh)))
                .default_service(web::to(not_found)),
        )
        .service(
            web::scope("/api/2010-04-01")
                .service(
                    resource("/Accounts.json")
                        .route(web::get().to(accounts::list))
                        .route(web::post().to(accounts::create)),
                )
                .service(
                    resource("/Accounts/{account}/Keys.json")
                        .route(web::get().to(keys::list))
                        .route(web::post().to(keys::create)),
                )
                .service(
                    resource("/Accounts/{account}/Keys/{key}.json")
                        .route(web::get().to(keys::fetch))
                        .route(web::post().to(keys::update))
                        .route(web::delete().to(keys::delete)),
                )
                .service(
                    resource("/Accounts/{account}.json")
                        .route(web::get().to(accounts::fetch))
                        .route(web::post().to(accounts::update)),
                )
                .default_service(web::to(not_found)),
        );
}

/// The 404 answer for unknown paths outside every product prefix.
pub async fn fallback(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    not_found(req).await
}
