//! Which media each channel accepts: the largest file and the allowed content types, as
//! configured in `[media.limits.*]`. Pure functions: the MCS upload checks chat media with them,
//! and the channel adapters check inbound media (before and while fetching it) and outbound
//! attachments.
//!
//! An allow-list entry is `type/subtype` or `type/*`, compared case-insensitively with the
//! `type/subtype` of a `Content-Type` (its parameters, like `; codecs=opus`, are ignored); an
//! empty list accepts any well-formed type.
//!
//! Never: measure content by buffering it. The type is checked up front and
//! [`MediaFiles::write`](super::MediaFiles::write) enforces `max_bytes` while the bytes stream.

use std::fmt;
use std::str::FromStr;

use crate::config::{ChannelMediaLimits, MediaLimit, MediaSettings};
use crate::error::ApiError;

/// A channel media travels on, each with its own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaChannel {
    /// Conversations chat (MCS uploads, webchat, the SDKs).
    Chat,
    /// SMS/MMS.
    Sms,
    /// WhatsApp.
    Whatsapp,
    /// Facebook Messenger.
    Messenger,
}

impl MediaChannel {
    /// Every channel, in the order of `config/default.toml`.
    pub const ALL: [MediaChannel; 4] = [
        MediaChannel::Chat,
        MediaChannel::Sms,
        MediaChannel::Whatsapp,
        MediaChannel::Messenger,
    ];

    /// The channel's name: `chat`, `sms`, `whatsapp` or `messenger`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaChannel::Chat => "chat",
            MediaChannel::Sms => "sms",
            MediaChannel::Whatsapp => "whatsapp",
            MediaChannel::Messenger => "messenger",
        }
    }
}

impl fmt::Display for MediaChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MediaChannel {
    type Err = ApiError;

    /// Parses `chat`, `sms`, `whatsapp` or `messenger`.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        MediaChannel::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| ApiError::invalid("channel", format!("{name} is not a media channel")))
    }
}

impl ChannelMediaLimits {
    /// The limits of `channel`.
    pub fn of(&self, channel: MediaChannel) -> &MediaLimit {
        match channel {
            MediaChannel::Chat => &self.chat,
            MediaChannel::Sms => &self.sms,
            MediaChannel::Whatsapp => &self.whatsapp,
            MediaChannel::Messenger => &self.messenger,
        }
    }
}

/// Characters of an RFC 9110 token (a media type's type and subtype).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The lower-cased `type/subtype` of a `Content-Type` value, without its parameters; `None`
/// when the value is not a media type.
pub fn essence(content_type: &str) -> Option<String> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let (kind, subtype) = essence.split_once('/')?;
    (essence.len() <= 127 && is_token(kind) && is_token(subtype))
        .then(|| essence.to_ascii_lowercase())
}

/// Whether `pattern` is a valid allow-list entry: `type/subtype` or `type/*`, no parameters.
pub fn is_pattern(pattern: &str) -> bool {
    !pattern.contains(';') && essence(pattern).is_some()
}

/// Whether `limit` accepts media of `content_type`.
pub fn allowed_type(limit: &MediaLimit, content_type: &str) -> bool {
    let Some(essence) = essence(content_type) else {
        return false;
    };
    if limit.content_types.is_empty() {
        return true;
    }
    let kind = essence.split('/').next().unwrap_or_default();
    limit.content_types.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_suffix("/*") {
            Some(any_of) => any_of == "*" || any_of == kind,
            None => pattern == essence,
        }
    })
}

/// Refuses a `content_type` that `channel` does not accept (415, code 12300); used before the
/// size is known, at the start of a stream.
pub fn check_type(
    settings: &MediaSettings,
    channel: MediaChannel,
    content_type: &str,
) -> Result<(), ApiError> {
    if allowed_type(settings.limits.of(channel), content_type) {
        Ok(())
    } else {
        Err(ApiError::MediaTypeNotAllowed {
            content_type: content_type.trim().to_owned(),
            channel: channel.as_str(),
        })
    }
}

/// The largest file `channel` accepts, in bytes.
pub fn max_bytes(settings: &MediaSettings, channel: MediaChannel) -> u64 {
    settings.limits.of(channel).max_bytes
}

/// Checks media of `content_type` and `size` bytes against `channel`'s limits: too large is
/// `PayloadTooLarge` (413), a type the channel does not take is `MediaTypeNotAllowed` (415).
pub fn check(
    settings: &MediaSettings,
    channel: MediaChannel,
    content_type: &str,
    size: u64,
) -> Result<(), ApiError> {
    check_type(settings, channel, content_type)?;
    let max = max_bytes(settings, channel);
    if size > max {
        return Err(ApiError::PayloadTooLarge(
            usize::try_from(max).unwrap_or(usize::MAX),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn settings() -> MediaSettings {
        Settings::default().media
    }

    #[test]
    fn channel_names_round_trip() {
        for channel in MediaChannel::ALL {
            assert_eq!(channel.as_str().parse::<MediaChannel>(), Ok(channel));
        }
        assert!("fax".parse::<MediaChannel>().is_err());
        assert!("SMS".parse::<MediaChannel>().is_err());
    }

    #[test]
    fn essences_drop_parameters_and_refuse_malformed_types() {
        let table = [
            ("image/png", Some("image/png")),
            ("Image/PNG", Some("image/png")),
            (" audio/ogg; codecs=opus ", Some("audio/ogg")),
            ("application/vnd.ms-excel", Some("application/vnd.ms-excel")),
            ("", None),
            ("image", None),
            ("image/", None),
            ("/png", None),
            ("image/png/x", None),
            ("image /png", None),
            ("text/plain\u{e9}", None),
        ];
        for (input, want) in table {
            assert_eq!(essence(input).as_deref(), want, "{input:?}");
        }
        assert!(is_pattern("audio/*"));
        assert!(is_pattern("image/png"));
        assert!(!is_pattern("audio/ogg; codecs=opus"));
        assert!(!is_pattern("png"));
    }

    #[test]
    fn allow_lists_match_exact_types_and_wildcards() {
        let limit = MediaLimit {
            max_bytes: 10,
            content_types: vec!["image/png".into(), "Audio/*".into()],
        };
        let table = [
            ("image/png", true),
            ("IMAGE/PNG; x=y", true),
            ("audio/ogg; codecs=opus", true),
            ("audio/mpeg", true),
            ("image/gif", false),
            ("video/mp4", false),
            ("audiox/ogg", false),
            ("not a type", false),
        ];
        for (content_type, want) in table {
            assert_eq!(allowed_type(&limit, content_type), want, "{content_type}");
        }
        let any = MediaLimit {
            max_bytes: 10,
            content_types: Vec::new(),
        };
        assert!(allowed_type(&any, "application/x-anything"));
        assert!(!allowed_type(&any, "garbage"), "any type, but a type");
        let star = MediaLimit {
            max_bytes: 10,
            content_types: vec!["*/*".into()],
        };
        assert!(allowed_type(&star, "model/gltf+json"));
    }

    #[test]
    fn defaults_follow_what_twilio_documents_per_channel() {
        let s = settings();
        let mib = 1024 * 1024;
        assert_eq!(max_bytes(&s, MediaChannel::Chat), 150 * mib);
        assert_eq!(max_bytes(&s, MediaChannel::Sms), 5 * mib);
        assert_eq!(max_bytes(&s, MediaChannel::Whatsapp), 16 * mib);
        assert_eq!(max_bytes(&s, MediaChannel::Messenger), 25 * mib);
        let ok = |channel, content_type| check(&s, channel, content_type, 1).is_ok();
        assert!(ok(MediaChannel::Chat, "application/x-tar"));
        assert!(ok(MediaChannel::Sms, "image/jpeg"));
        assert!(ok(MediaChannel::Sms, "video/3gpp"));
        assert!(!ok(MediaChannel::Sms, "application/zip"));
        assert!(ok(MediaChannel::Whatsapp, "audio/ogg; codecs=opus"));
        assert!(ok(MediaChannel::Whatsapp, "application/pdf"));
        assert!(!ok(MediaChannel::Whatsapp, "image/gif"));
        assert!(ok(MediaChannel::Messenger, "application/zip"));
        for channel in MediaChannel::ALL {
            for pattern in &s.limits.of(channel).content_types {
                assert!(is_pattern(pattern), "{channel}: {pattern}");
            }
        }
    }

    #[test]
    fn refusals_name_the_limit_the_type_and_the_channel() {
        let s = settings();
        let sms_max = 5 * 1024 * 1024;
        assert_eq!(
            check(&s, MediaChannel::Sms, "image/png", sms_max as u64),
            Ok(())
        );
        let too_large = check(&s, MediaChannel::Sms, "image/png", sms_max as u64 + 1)
            .expect_err("one byte too many");
        assert_eq!(too_large, ApiError::PayloadTooLarge(sms_max));
        assert_eq!(too_large.status_and_code().0.as_u16(), 413);
        assert!(too_large.to_string().contains("5242880 bytes"));
        let wrong_type =
            check(&s, MediaChannel::Whatsapp, "image/gif", 1).expect_err("gif on WhatsApp");
        assert_eq!(wrong_type.status_and_code().0.as_u16(), 415);
        let message = wrong_type.to_string();
        assert!(
            message.contains("image/gif") && message.contains("whatsapp"),
            "{message}"
        );
        // The type is checked first: a wrong type is refused whatever its size.
        assert!(matches!(
            check(&s, MediaChannel::Sms, "application/zip", u64::MAX),
            Err(ApiError::MediaTypeNotAllowed { .. })
        ));
    }
}
