//! Twilio-style resource identifiers: two uppercase letters naming the resource type followed
//! by 32 lowercase hex digits (`CH0123…`). Each resource type gets its own newtype so a
//! participant SID can never be passed where a conversation SID is expected.
//!
//! Parsing happens at the edge (`FromStr`); inner code only handles validated SIDs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A SID string did not have the expected prefix or shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {prefix} SID")]
pub struct InvalidSid {
    /// The prefix that was expected (e.g. `CH`).
    pub prefix: &'static str,
    /// The rejected input, truncated for error messages.
    pub value: String,
}

/// Generates 32 random lowercase hex digits (128 bits of entropy).
pub fn random_hex32() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// True when `s` looks like any SID with the given prefix (used to tell SIDs from alternate keys
/// such as `unique_name` or `identity`).
pub fn has_sid_shape(prefix: &str, s: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

macro_rules! sid_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        /// Deserialising checks the shape, so a SID read from a client frame is valid.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// The two-letter prefix of this SID type.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random SID.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, random_hex32()))
            }

            /// The SID as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidSid;
            fn from_str(s: &str) -> Result<Self, InvalidSid> {
                if has_sid_shape($prefix, s) {
                    // Twilio emits lowercase hex; accept either case but store one form.
                    Ok(Self(format!("{}{}", $prefix, s[2..].to_ascii_lowercase())))
                } else {
                    Err(InvalidSid { prefix: $prefix, value: s.chars().take(64).collect() })
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

sid_type!(/// An account (`AC…`).
    AccountSid, "AC");
sid_type!(/// A conversation service (`IS…`).
    ServiceSid, "IS");
sid_type!(/// A conversation (`CH…`).
    ConversationSid, "CH");
sid_type!(/// A conversation participant (`MB…`).
    ParticipantSid, "MB");
sid_type!(/// A conversation message (`IM…`).
    MessageSid, "IM");
sid_type!(/// A message delivery receipt (`DY…`).
    ReceiptSid, "DY");
sid_type!(/// A conversations role (`RL…`).
    RoleSid, "RL");
sid_type!(/// A conversations user (`US…`).
    UserSid, "US");
sid_type!(/// A messaging service (`MG…`), stored as given; we do not host messaging services yet.
    MessagingServiceSid, "MG");
sid_type!(/// An uploaded media item (`ME…`).
    MediaSid, "ME");
sid_type!(/// An API key (`SK…`): signs access tokens and authenticates REST calls.
    KeySid, "SK");
sid_type!(/// A Conversations address configuration (`IG…`).
    AddressSid, "IG");
sid_type!(/// A TaskRouter workspace (`WS…`).
    WorkspaceSid, "WS");
sid_type!(/// A TaskRouter activity (`WA…`).
    ActivitySid, "WA");
sid_type!(/// A TaskRouter worker (`WK…`).
    WorkerSid, "WK");
sid_type!(/// A worker's channel (`WC…`).
    WorkerChannelSid, "WC");
sid_type!(/// A TaskRouter task channel (`TC…`).
    TaskChannelSid, "TC");
sid_type!(/// A TaskRouter task queue (`WQ…`).
    TaskQueueSid, "WQ");
sid_type!(/// A TaskRouter workflow (`WW…`).
    WorkflowSid, "WW");
sid_type!(/// A TaskRouter task (`WT…`).
    TaskSid, "WT");
sid_type!(/// A TaskRouter reservation (`WR…`).
    ReservationSid, "WR");
sid_type!(/// A TaskRouter event (`EV…`).
    EventSid, "EV");
sid_type!(/// A Flex interaction (`KD…`).
    InteractionSid, "KD");
sid_type!(/// A Flex interaction channel (`UO…`).
    InteractionChannelSid, "UO");
sid_type!(/// A Flex interaction channel participant (`UT…`).
    ChannelParticipantSid, "UT");
sid_type!(/// A Flex interaction channel invite (`KG…`).
    InviteSid, "KG");
sid_type!(/// A Flex interaction transfer (`UX…`).
    TransferSid, "UX");
sid_type!(/// A conversation-scoped webhook (`WH…`).
    WebhookSid, "WH");

/// 32 hex digits: the time in microseconds (12), then 80 random bits, so SIDs made with it
/// sort (and are indexed) in creation order: a new one lands at the index's right edge
/// instead of on a random page.
fn ordered_hex32() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
        & 0xffff_ffff_ffff;
    let random = random_hex32();
    format!("{micros:012x}{}", &random[..20])
}

impl MessageSid {
    /// A fresh SID in creation order ([`ordered_hex32`]).
    pub fn generate_ordered() -> Self {
        MessageSid(format!("IM{}", ordered_hex32()))
    }
}

impl EventSid {
    /// A fresh SID in creation order ([`ordered_hex32`]): events are appended as they happen.
    pub fn generate_ordered() -> Self {
        EventSid(format!("EV{}", ordered_hex32()))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn ordered_message_sids_are_valid_and_sort_by_creation() {
        let first = MessageSid::generate_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = MessageSid::generate_ordered();
        assert!(first.as_str() < second.as_str());
        assert_eq!(
            second.as_str().parse::<MessageSid>().expect("valid"),
            second
        );
    }

    #[test]
    fn ordered_event_sids_are_valid_and_sort_by_creation() {
        let first = EventSid::generate_ordered();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = EventSid::generate_ordered();
        assert!(first.as_str() < second.as_str());
        assert_eq!(second.as_str().parse::<EventSid>().expect("valid"), second);
    }

    use super::*;

    #[test]
    fn generated_sids_round_trip() {
        let sid = ConversationSid::generate();
        assert_eq!(sid.as_str().len(), 34);
        assert!(sid.as_str().starts_with("CH"));
        let parsed: ConversationSid = sid.as_str().parse().expect("valid");
        assert_eq!(parsed, sid);
    }

    #[test]
    fn wrong_prefix_or_shape_is_refused() {
        assert!(
            "MB0123456789abcdef0123456789abcdef"
                .parse::<ConversationSid>()
                .is_err()
        );
        assert!("CH0123".parse::<ConversationSid>().is_err());
        assert!(
            "CHzz23456789abcdef0123456789abcdef"
                .parse::<ConversationSid>()
                .is_err()
        );
        let upper: ConversationSid = "CH0123456789ABCDEF0123456789ABCDEF".parse().expect("ok");
        assert_eq!(upper.as_str(), "CH0123456789abcdef0123456789abcdef");
    }
}
