//! Builds the application from settings: opens the store, provisions the first account,
//! starts the timer task and the conversation registry, binds the listener (port 0 works) and
//! mounts the routes. `main` and the tests both go through [`Application::build`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use dashmap::DashMap;

use crate::accounts::Accounts;
use crate::api::{self, AppState};
use crate::cluster::{EventBus, LocalBus};
use crate::config::Settings;
use crate::conversations::registry::Registry;
use crate::conversations::{ActorDeps, timers};
use crate::ids::{AccountSid, random_hex32};
use crate::routing::actor::RouterDeps;
use crate::routing::engine::ops::WorkspaceSpec;
use crate::routing::registry::{Routers, Template};
use crate::store::records::{AccountRecord, now};
use crate::store::sqlite::SqliteStore;
use crate::store::{Mutation, Store};

/// Environment variable fixing the first account's SID.
pub const ACCOUNT_SID_ENV: &str = "SWITCHBOARD_ACCOUNT_SID";
/// Environment variable fixing the first account's auth token.
pub const AUTH_TOKEN_ENV: &str = "SWITCHBOARD_AUTH_TOKEN";
/// Where generated credentials are saved, inside the data directory.
pub const CREDENTIALS_FILE: &str = "account.json";

/// Credentials generated on first start, to be shown once.
#[derive(Debug, Clone)]
pub struct NewCredentials {
    /// The account SID.
    pub account_sid: AccountSid,
    /// Its auth token.
    pub auth_token: String,
    /// Where they were saved.
    pub saved_to: std::path::PathBuf,
}

/// A built, bound, not yet running server.
pub struct Application {
    server: actix_web::dev::Server,
    addr: SocketAddr,
    draining: tokio::sync::watch::Sender<bool>,
    /// Set when this start created the account with generated credentials.
    pub new_credentials: Option<NewCredentials>,
}

impl Application {
    /// Opens everything and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let settings = Arc::new(settings);
        let data_dir = settings.server.data_dir.clone();
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&data_dir, &settings.store)
                .with_context(|| format!("opening the store in {}", data_dir.display()))?,
        );
        let accounts = Arc::new(Accounts::load(store.clone()).await?);
        let (new_credentials, created) = first_start(&accounts, &data_dir).await?;

        let local_bus = Arc::new(LocalBus::default());
        let sweep = local_bus.clone();
        actix_web::rt::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
            loop {
                every.tick().await;
                sweep.sweep();
            }
        });
        let bus: Arc<dyn EventBus> = local_bus;
        let (timer_handle, timer_queue) = timers::channel();
        for (sid, due) in store.pending_timers().await? {
            timer_handle.schedule(sid, due);
        }
        let hooks = Arc::new(crate::webhooks::Hooks::new(
            crate::webhooks::config::Directory::load(store.as_ref()).await?,
            accounts.clone(),
            settings.webhooks.clone(),
        ));
        let outbox = Arc::new(crate::outbox::Outbox::default());
        let registry = Arc::new(Registry::new(ActorDeps {
            store: store.clone(),
            bus: bus.clone(),
            timers: timer_handle,
            settings: settings.conversations.clone(),
            hooks: hooks.clone(),
            outbox: outbox.clone(),
            media: settings.media.clone(),
        }));
        let fire = registry.clone();
        actix_web::rt::spawn(timers::run(timer_queue, move |sid| fire.fire_timers(sid)));
        actix_web::rt::spawn(purge_idempotency(
            store.clone(),
            settings.idempotency.retention,
        ));

        let routers = Arc::new(
            Routers::load(
                RouterDeps {
                    store: store.clone(),
                    bus: bus.clone(),
                    accounts: accounts.clone(),
                    outbox: outbox.clone(),
                },
                &settings.routing,
            )
            .await?,
        );
        if let Some(account) = created {
            routers
                .create_workspace(
                    &account,
                    DEFAULT_WORKSPACE.into(),
                    WorkspaceSpec::default(),
                    Template::Flex,
                )
                .await
                .map_err(|e| anyhow::anyhow!("creating the default workspace: {e}"))?;
            let service = accounts.default_service(&account).await?;
            let chat = webchat_address(account, service);
            let unit = vec![
                chat.put()
                    .map_err(|e| anyhow::anyhow!("webchat address: {e}"))?,
            ];
            store.submit(unit).await?;
        }

        let (draining, drain_signal) = tokio::sync::watch::channel(false);
        let state = web::Data::new(AppState {
            draining: drain_signal,
            settings: settings.clone(),
            store,
            registry,
            routers,
            accounts,
            bus,
            metrics: crate::telemetry::metrics::install(),
            media: Arc::new(
                crate::media::MediaFiles::open(&data_dir)
                    .with_context(|| format!("creating {}/media", data_dir.display()))?,
            ),
            idempotency_locks: DashMap::new(),
            hooks,
            outbox,
            channels: Arc::new(crate::channels::Channels::default()),
        });
        actix_web::rt::spawn(crate::outbox::run(state.clone()));
        if settings.server.demo {
            crate::demo::seed(&state, None).await?;
        }
        let channels = state.channels.clone();
        // Interaction channels follow their conversations again (and settle the ones whose
        // conversation closed while the server was down).
        crate::interactions::rearm_watchers(state.clone())
            .await
            .map_err(|e| anyhow::anyhow!("re-arming interaction watchers: {e}"))?;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(api::configure)
                .default_service(web::to(api::fallback))
        })
        // Small frames go out at once: with Nagle's algorithm a frame written right after
        // another waits for the peer's (delayed, ~40 ms) ACK.
        .on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        // Signals are handled in `run_until_stopped`, so sockets are told to reconnect first.
        .disable_signals()
        .shutdown_timeout(10);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server
            .bind(settings.server.listen)
            .with_context(|| format!("binding {}", settings.server.listen))?;
        let addr = *server.addrs().first().context("listener has no address")?;
        let own_origin = if settings.server.public_url.is_empty() {
            format!("http://{addr}")
        } else {
            settings.server.public_url.trim_end_matches('/').to_owned()
        };
        let _ = channels.origin.set(own_origin);
        Ok(Application {
            server: server.run(),
            addr,
            draining,
            new_credentials,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGINT/SIGTERM; then closes every WebSocket with "going away, reconnect"
    /// (4000), drains in-flight requests and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let draining = self.draining;
        actix_web::rt::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: closing sessions, draining requests");
            let _ = draining.send(true);
            handle.stop(true).await;
        });
        self.server.await
    }
}

/// The chat address a new account starts with, for the webchat widget (`/v2/WebChats`),
/// routed to the account's Flex workspace.
fn webchat_address(
    account: AccountSid,
    service: Option<crate::ids::ServiceSid>,
) -> crate::addresses::AddressRecord {
    let at = now();
    crate::addresses::AddressRecord {
        sid: crate::ids::AddressSid::generate(),
        account_sid: account,
        kind: "chat".into(),
        address: "webchat".into(),
        friendly_name: Some("Web chat".into()),
        auto_creation: crate::addresses::AutoCreation {
            enabled: true,
            kind: Some("default".into()),
            conversation_service_sid: service,
            ..Default::default()
        },
        address_country: None,
        // Like Flex's "Flex Web Channel": new chats go to the agents.
        routing: Some(crate::addresses::AddressRouting::default()),
        date_created: at,
        date_updated: at,
    }
}

/// Name of the workspace a new account starts with, as in Flex.
pub const DEFAULT_WORKSPACE: &str = "Flex Task Assignment";

/// Creates the first account (or applies credentials fixed by the environment). Returns the
/// credentials to show (when generated) and the account when it was created now.
async fn first_start(
    accounts: &Accounts,
    data_dir: &Path,
) -> anyhow::Result<(Option<NewCredentials>, Option<AccountSid>)> {
    let fixed_sid = std::env::var(ACCOUNT_SID_ENV)
        .ok()
        .filter(|v| !v.is_empty());
    let fixed_token = std::env::var(AUTH_TOKEN_ENV).ok().filter(|v| !v.is_empty());
    if let Some(token) = &fixed_token
        && (token.len() < 16 || token.len() > 128)
    {
        anyhow::bail!("{AUTH_TOKEN_ENV} must be 16 to 128 characters");
    }
    let sid = match &fixed_sid {
        Some(raw) => Some(
            raw.parse::<AccountSid>()
                .map_err(|e| anyhow::anyhow!("{ACCOUNT_SID_ENV}: {e}"))?,
        ),
        None => None,
    };
    if let Some(sid) = &sid
        && let Some(mut existing) = accounts.get(sid)
    {
        if let Some(token) = fixed_token
            && token != existing.auth_token
        {
            existing.auth_token = token;
            existing.date_updated = now();
            accounts.update(existing).await?;
        }
        return Ok((None, None));
    }
    if sid.is_none() && !accounts.is_empty() {
        return Ok((None, None));
    }
    let generated = sid.is_none() && fixed_token.is_none();
    let at = now();
    let sid = sid.unwrap_or_else(AccountSid::generate);
    let account = AccountRecord {
        owner_account_sid: sid.clone(),
        sid,
        friendly_name: "Switchboard".into(),
        auth_token: fixed_token.unwrap_or_else(random_hex32),
        status: "active".into(),
        date_created: at,
        date_updated: at,
    };
    let account = accounts.create(account).await?;
    tracing::info!(account_sid = %account.sid, "created the first account");
    if !generated {
        return Ok((None, Some(account.sid)));
    }
    let path = data_dir.join(CREDENTIALS_FILE);
    save_credentials(&path, &account)?;
    Ok((
        Some(NewCredentials {
            account_sid: account.sid.clone(),
            auth_token: account.auth_token,
            saved_to: path,
        }),
        Some(account.sid),
    ))
}

fn save_credentials(path: &Path, account: &AccountRecord) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let body = serde_json::json!({"account_sid": account.sid, "auth_token": account.auth_token});
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{body:#}")?;
    Ok(())
}

/// Forgets idempotency records past their retention, hourly.
async fn purge_idempotency(store: Arc<dyn Store>, retention: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = now() - retention.as_secs() as i64;
        if let Err(e) = store.submit(vec![Mutation::PurgeIdempotency(before)]).await {
            tracing::warn!(error = %e, "purging idempotency records failed");
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
