//! Typed settings. Layers, later wins: built-in defaults (documented key by key in
//! `config/default.toml`), an optional TOML file (`--config`), environment variables
//! `SWITCHBOARD__SECTION__KEY`, then CLI flags. Unknown keys and bad values fail at start-up
//! with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting of `switchboard serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener and public URL.
    pub server: ServerSettings,
    /// Embedded store.
    pub store: StoreSettings,
    /// Conversation actors, limits and timers.
    pub conversations: ConversationSettings,
    /// REST idempotency keys.
    pub idempotency: IdempotencySettings,
    /// WebSocket gateway.
    pub gateway: GatewaySettings,
    /// Uploaded media.
    pub media: MediaSettings,
    /// TaskRouter.
    pub routing: RoutingSettings,
    /// Outgoing webhooks (Conversations and TaskRouter callbacks).
    pub webhooks: WebhookSettings,
    /// Messaging channels (SMS, WhatsApp, Messenger) through a provider.
    pub channels: ChannelSettings,
    /// Logging.
    pub log: LogSettings,
}

/// HTTP listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory for the database and the generated credentials.
    pub data_dir: PathBuf,
    /// Base URL clients use to reach us (for `url`, `links`, `next_page_url`); empty means
    /// "derive from the request's Host header".
    pub public_url: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Seed demo agents, a supervisor and an SMS number at start (`serve --demo`).
    pub demo: bool,
}

/// Durability level of committed batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync the WAL at every commit: an acknowledged write survives power loss.
    Full,
    /// fsync only at checkpoints: survives a process crash, may lose the last commits on
    /// power loss.
    Normal,
}

/// Embedded SQLite store settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `full` or `normal` (see [`Synchronous`]).
    pub synchronous: Synchronous,
    /// Most write units committed in one transaction.
    pub max_batch: usize,
    /// How long the writer waits for more units after the first of a batch when fewer than
    /// [`StoreSettings::min_batch`] are queued and units arrive closer together than this; 0
    /// commits at once.
    #[serde(with = "humantime_serde")]
    pub commit_delay: Duration,
    /// Batches at least this big are committed without waiting.
    pub min_batch: usize,
    /// Page size of a new database, bytes (a power of two from 512 to 65536); an existing
    /// database keeps the size it was made with. Every commit writes each page it touched
    /// whole into the WAL.
    pub page_size: u32,
    /// Read connections in the pool.
    pub readers: u32,
}

/// Conversation behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationSettings {
    /// Write actions per second allowed on one conversation (Twilio: 30); 0 disables the limit.
    pub rate_limit_per_second: u32,
    /// An actor with no traffic for this long stops; it is reloaded on demand.
    #[serde(with = "humantime_serde")]
    pub actor_idle_timeout: Duration,
    /// Smallest accepted `Timers.Inactive` (Twilio: 1 minute).
    #[serde(with = "humantime_serde")]
    pub min_inactive_timer: Duration,
    /// Smallest accepted `Timers.Closed` (Twilio: 10 minutes).
    #[serde(with = "humantime_serde")]
    pub min_closed_timer: Duration,
}

/// Idempotency-key retention.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySettings {
    /// How long a key's first response is kept.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

/// WebSocket gateway settings (see docs/protocol.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// Time a new socket has to send `hello`.
    #[serde(with = "humantime_serde")]
    pub hello_timeout: Duration,
    /// Interval of server pings.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// Silence after which a socket is considered dead.
    #[serde(with = "humantime_serde")]
    pub client_timeout: Duration,
    /// Largest accepted frame.
    pub max_frame_bytes: usize,
    /// Frames queued for one socket before it is closed as too slow.
    pub outbound_queue: usize,
    /// Repeated typing signals within this interval are not fanned out again.
    #[serde(with = "humantime_serde")]
    pub typing_interval: Duration,
    /// How long a typing indicator lasts without a new signal.
    #[serde(with = "humantime_serde")]
    pub typing_timeout: Duration,
    /// How long before expiry a session is warned to renew its token.
    #[serde(with = "humantime_serde")]
    pub token_warning: Duration,
}

/// Media upload settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSettings {
    /// Lifetime of a signed download link.
    #[serde(with = "humantime_serde")]
    pub link_ttl: Duration,
    /// Size and type limits of each channel (see `media::limits`).
    pub limits: ChannelMediaLimits,
}

/// The media limits of every channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMediaLimits {
    /// Chat (MCS uploads, webchat): Twilio Conversations accepts up to 150 MB of any type.
    pub chat: MediaLimit,
    /// SMS/MMS: 5 MB, the types Twilio accepts for MMS.
    pub sms: MediaLimit,
    /// WhatsApp: 16 MB, the types WhatsApp supports.
    pub whatsapp: MediaLimit,
    /// Facebook Messenger: 25 MB of any type.
    pub messenger: MediaLimit,
}

/// The media one channel accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaLimit {
    /// Largest accepted file in bytes.
    pub max_bytes: u64,
    /// Accepted media types, each `type/subtype` or `type/*`; empty accepts any type.
    pub content_types: Vec<String>,
}

/// TaskRouter settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// How long completed and canceled tasks (with their reservations) stay readable before
    /// they are deleted, as Twilio deletes finished tasks. Their events stay in the event log.
    #[serde(with = "humantime_serde")]
    pub task_retention: Duration,
}

/// Outgoing webhook settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// How long a pre-event webhook may take before the action goes ahead unmodified.
    #[serde(with = "humantime_serde")]
    pub pre_timeout: Duration,
    /// Time limit of one post-event delivery attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled after each failure.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Requests to webhook receivers and channel providers in flight at once (recording how
    /// each went holds none).
    pub concurrency: usize,
}

/// Which messaging provider carries SMS/WhatsApp/Messenger traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// The built-in simulator (`/simulator`): play the customer in a browser, no phone needed.
    Simulator,
    /// Twilio's Messaging API (or anything speaking its format), see `[channels.twilio]`.
    Twilio,
}

/// Messaging channel settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// Where outbound messages go.
    pub provider: Provider,
    /// Attempts to hand a message to the provider before its receipt ends `failed`.
    pub max_attempts: u32,
    /// The Twilio Messaging adapter.
    pub twilio: TwilioChannelSettings,
}

/// The Twilio Messaging adapter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioChannelSettings {
    /// Base of the Messages API (`https://api.twilio.com`; tests point it at a local fake).
    pub api_base_url: String,
    /// The provider account (`AC…`) that sends.
    pub account_sid: String,
    /// Its auth token: signs our API calls and verifies the provider's webhooks.
    pub auth_token: String,
    /// Verify `X-Twilio-Signature` on inbound and status webhooks. Without an auth token they
    /// are refused unless this is set to false.
    pub validate_signatures: bool,
}

/// Logging settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `tracing` filter directive, e.g. `info` or `switchboard=debug`.
    pub level: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server: ServerSettings {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
                data_dir: PathBuf::from("./data"),
                public_url: String::new(),
                max_body_bytes: 1024 * 1024,
                workers: 0,
                demo: false,
            },
            store: StoreSettings {
                synchronous: Synchronous::Full,
                max_batch: 1024,
                commit_delay: Duration::from_millis(1),
                min_batch: 16,
                page_size: 2048,
                readers: 4,
            },
            conversations: ConversationSettings {
                rate_limit_per_second: 30,
                actor_idle_timeout: Duration::from_secs(300),
                min_inactive_timer: Duration::from_secs(60),
                min_closed_timer: Duration::from_secs(600),
            },
            idempotency: IdempotencySettings {
                retention: Duration::from_secs(48 * 3600),
            },
            gateway: GatewaySettings {
                hello_timeout: Duration::from_secs(10),
                heartbeat_interval: Duration::from_secs(15),
                client_timeout: Duration::from_secs(45),
                max_frame_bytes: 64 * 1024,
                outbound_queue: 1024,
                typing_interval: Duration::from_secs(1),
                typing_timeout: Duration::from_secs(5),
                token_warning: Duration::from_secs(60),
            },
            media: MediaSettings {
                link_ttl: Duration::from_secs(300),
                limits: ChannelMediaLimits::default(),
            },
            routing: RoutingSettings {
                task_retention: Duration::from_secs(3600),
            },
            webhooks: WebhookSettings {
                pre_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(15),
                max_attempts: 8,
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(600),
                concurrency: 32,
            },
            channels: ChannelSettings {
                provider: Provider::Simulator,
                max_attempts: 5,
                twilio: TwilioChannelSettings {
                    api_base_url: "https://api.twilio.com".into(),
                    account_sid: String::new(),
                    auth_token: String::new(),
                    validate_signatures: true,
                },
            },
            log: LogSettings {
                level: "info".into(),
                format: LogFormat::Text,
            },
        }
    }
}

/// A limit of `max_mib` MiB on the listed types.
fn media_limit(max_mib: u64, content_types: &[&str]) -> MediaLimit {
    MediaLimit {
        max_bytes: max_mib * 1024 * 1024,
        content_types: content_types.iter().map(|t| (*t).to_owned()).collect(),
    }
}

impl Default for ChannelMediaLimits {
    /// What Twilio documents for each channel; config/default.toml lists the same values.
    fn default() -> Self {
        ChannelMediaLimits {
            chat: media_limit(150, &[]),
            sms: media_limit(
                5,
                &[
                    "image/jpeg",
                    "image/jpg",
                    "image/gif",
                    "image/png",
                    "image/bmp",
                    "image/tiff",
                    "audio/*",
                    "video/*",
                    "text/vcard",
                    "text/x-vcard",
                    "text/csv",
                    "text/rtf",
                    "text/richtext",
                    "text/calendar",
                    "text/directory",
                    "application/pdf",
                    "application/vcard",
                ],
            ),
            whatsapp: media_limit(
                16,
                &[
                    "image/jpeg",
                    "image/jpg",
                    "image/png",
                    "image/webp",
                    "audio/ogg",
                    "audio/opus",
                    "audio/amr",
                    "audio/3gpp",
                    "audio/aac",
                    "audio/mp4",
                    "audio/mpeg",
                    "video/mp4",
                    "video/3gpp",
                    "application/pdf",
                    "application/msword",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "text/vcard",
                    "text/x-vcard",
                ],
            ),
            messenger: media_limit(25, &[]),
        }
    }
}

/// Start-up configuration error, naming the offending key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Loads defaults, then `file` (if any), then `SWITCHBOARD__…` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("SWITCHBOARD__").split("__"));
        let settings: Settings = figment.extract().map_err(|e| ConfigError(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let g = &self.gateway;
        if g.outbound_queue == 0 || g.max_frame_bytes < 1024 {
            return Err(ConfigError(
                "gateway.outbound_queue must be at least 1 and gateway.max_frame_bytes at least 1024"
                    .into(),
            ));
        }
        if g.heartbeat_interval.is_zero() || g.client_timeout <= g.heartbeat_interval {
            return Err(ConfigError(
                "gateway.client_timeout must be longer than gateway.heartbeat_interval (> 0)"
                    .into(),
            ));
        }
        if self.store.commit_delay > Duration::from_millis(100) {
            return Err(ConfigError(
                "store.commit_delay must be at most 100ms: every small commit waits for it".into(),
            ));
        }
        if self.store.max_batch == 0 {
            return Err(ConfigError("store.max_batch must be at least 1".into()));
        }
        let page = self.store.page_size;
        if !(512..=65536).contains(&page) || !page.is_power_of_two() {
            return Err(ConfigError(
                "store.page_size must be a power of two from 512 to 65536".into(),
            ));
        }
        if self.store.readers == 0 {
            return Err(ConfigError("store.readers must be at least 1".into()));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError(
                "server.max_body_bytes must be at least 1024".into(),
            ));
        }
        let w = &self.webhooks;
        if w.max_attempts == 0 || w.concurrency == 0 || self.channels.max_attempts == 0 {
            return Err(ConfigError(
                "webhooks.max_attempts, webhooks.concurrency and channels.max_attempts must be at least 1"
                    .into(),
            ));
        }
        if w.pre_timeout.is_zero() || w.timeout.is_zero() {
            return Err(ConfigError(
                "webhooks.pre_timeout and webhooks.timeout must be longer than 0".into(),
            ));
        }
        let t = &self.channels.twilio;
        if !t.api_base_url.starts_with("http://") && !t.api_base_url.starts_with("https://") {
            return Err(ConfigError(
                "channels.twilio.api_base_url must start with http:// or https://".into(),
            ));
        }
        if self.channels.provider == Provider::Twilio
            && (t.account_sid.is_empty() || t.auth_token.is_empty())
        {
            return Err(ConfigError(
                "channels.provider = \"twilio\" needs channels.twilio.account_sid and channels.twilio.auth_token"
                    .into(),
            ));
        }
        for channel in crate::media::limits::MediaChannel::ALL {
            let limit = self.media.limits.of(channel);
            if limit.max_bytes == 0 {
                return Err(ConfigError(format!(
                    "media.limits.{channel}.max_bytes must be at least 1"
                )));
            }
            if let Some(bad) = limit
                .content_types
                .iter()
                .find(|t| !crate::media::limits::is_pattern(t))
            {
                return Err(ConfigError(format!(
                    "media.limits.{channel}.content_types: `{bad}` is not `type/subtype` or `type/*`"
                )));
            }
        }
        let url = &self.server.public_url;
        if !url.is_empty() && !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(ConfigError(
                "server.public_url must start with http:// or https://".into(),
            ));
        }
        Ok(())
    }
}

/// Renders every figment error with the dotted key it concerns.
fn describe(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("key `{key}`: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_default_toml_matches_built_in_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let from_file: Settings = Figment::new()
            .merge(Toml::file(&path))
            .extract()
            .expect("config/default.toml documents every key");
        assert_eq!(
            serde_json::to_value(&from_file).expect("json"),
            serde_json::to_value(Settings::default()).expect("json")
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string("[store]\nsynchronous = \"sometimes\""))
            .extract::<Settings>()
            .map_err(describe)
            .expect_err("must fail");
        assert!(err.contains("store.synchronous"), "{err}");

        let err = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string("[store]\nbogus = 1"))
            .extract::<Settings>()
            .map_err(describe)
            .expect_err("must fail");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn a_page_size_sqlite_cannot_use_is_refused() {
        for bad in [0, 1000, 256, 131072] {
            let mut settings = Settings::default();
            settings.store.page_size = bad;
            let err = settings.validate().expect_err("bad page size").to_string();
            assert!(err.contains("store.page_size"), "{bad}: {err}");
        }
        let mut settings = Settings::default();
        settings.store.page_size = 4096;
        settings.validate().expect("4096 is fine");
    }

    #[test]
    fn media_limits_are_validated_per_channel() {
        let mut settings = Settings::default();
        settings.media.limits.whatsapp.content_types = vec!["image/png".into(), "png".into()];
        let err = settings.validate().expect_err("bad pattern").to_string();
        assert!(
            err.contains("media.limits.whatsapp.content_types") && err.contains("`png`"),
            "{err}"
        );
        let mut settings = Settings::default();
        settings.media.limits.sms.max_bytes = 0;
        let err = settings.validate().expect_err("zero limit").to_string();
        assert!(err.contains("media.limits.sms.max_bytes"), "{err}");
    }
}
