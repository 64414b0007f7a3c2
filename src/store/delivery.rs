//! Delivery receipts (`DY…`): one per (message, recipient participant), moving forward through
//! `sent → delivered → read` or ending `failed`/`undelivered`; and the per-message counts behind
//! Twilio's `delivery` summary (`all`/`some`/`none` per status).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::records::Timestamp;
use crate::ids::{AccountSid, ConversationSid, MessageSid, ParticipantSid, ReceiptSid, ServiceSid};

/// Where a message is on its way to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    /// Handed to the channel.
    Sent,
    /// Reached the recipient's device.
    Delivered,
    /// Seen.
    Read,
    /// Could not be delivered (channel error).
    Undelivered,
    /// Sending failed.
    Failed,
}

impl ReceiptStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Sent => "sent",
            ReceiptStatus::Delivered => "delivered",
            ReceiptStatus::Read => "read",
            ReceiptStatus::Undelivered => "undelivered",
            ReceiptStatus::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            ReceiptStatus::Sent,
            ReceiptStatus::Delivered,
            ReceiptStatus::Read,
            ReceiptStatus::Undelivered,
            ReceiptStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// Whether a receipt at `self` may move to `next`: forward only, failures are final.
    pub fn may_become(self, next: ReceiptStatus) -> bool {
        use ReceiptStatus::*;
        match (self, next) {
            (Undelivered | Failed, _) => false,
            (_, Undelivered | Failed) => true,
            (current, next) => next > current,
        }
    }
}

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    /// `DY…`
    pub sid: ReceiptSid,
    /// Owner.
    pub account_sid: AccountSid,
    /// The conversation's service.
    pub service_sid: ServiceSid,
    /// The conversation.
    pub conversation_sid: ConversationSid,
    /// The message.
    pub message_sid: MessageSid,
    /// The recipient.
    pub participant_sid: ParticipantSid,
    /// The channel's id for the sent message (e.g. `SM…`), when a channel sent it.
    pub channel_message_sid: Option<String>,
    /// Where it is.
    pub status: ReceiptStatus,
    /// The channel's error code for failures.
    pub error_code: Option<u32>,
    /// Creation time.
    pub date_created: Timestamp,
    /// Last change.
    pub date_updated: Timestamp,
}

/// How many recipients of a message reached each status (cumulative: a read message was also
/// delivered and sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Recipients with a receipt.
    pub total: u32,
    /// Sent, delivered or read.
    pub sent: u32,
    /// Delivered or read.
    pub delivered: u32,
    /// Read.
    pub read: u32,
    /// Failed.
    pub failed: u32,
    /// Undelivered.
    pub undelivered: u32,
}

impl DeliveryCounts {
    fn count(&mut self, status: ReceiptStatus, delta: i64) {
        let bump = |n: &mut u32| *n = (i64::from(*n) + delta).max(0) as u32;
        match status {
            ReceiptStatus::Sent => bump(&mut self.sent),
            ReceiptStatus::Delivered => {
                bump(&mut self.sent);
                bump(&mut self.delivered);
            }
            ReceiptStatus::Read => {
                bump(&mut self.sent);
                bump(&mut self.delivered);
                bump(&mut self.read);
            }
            ReceiptStatus::Failed => bump(&mut self.failed),
            ReceiptStatus::Undelivered => bump(&mut self.undelivered),
        }
    }

    /// Accounts for a receipt that moved from `from` (`None`: new) to `to`.
    pub fn apply(&mut self, from: Option<ReceiptStatus>, to: ReceiptStatus) {
        match from {
            Some(old) => self.count(old, -1),
            None => self.total += 1,
        }
        self.count(to, 1);
    }

    /// Twilio's `delivery` object.
    pub fn summary(&self) -> Value {
        let level = |n: u32| match n {
            0 => "none",
            n if n >= self.total => "all",
            _ => "some",
        };
        json!({
            "total": self.total,
            "sent": level(self.sent),
            "delivered": level(self.delivered),
            "read": level(self.read),
            "failed": level(self.failed),
            "undelivered": level(self.undelivered),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ReceiptStatus::*;
    use super::*;

    #[test]
    fn receipts_only_move_forward() {
        assert!(Sent.may_become(Delivered) && Delivered.may_become(Read) && Sent.may_become(Read));
        assert!(!Read.may_become(Delivered) && !Delivered.may_become(Delivered));
        assert!(Delivered.may_become(Failed) && !Failed.may_become(Read));
        assert!(!Undelivered.may_become(Failed));
    }

    #[test]
    fn the_summary_counts_each_recipient_once() {
        let mut c = DeliveryCounts::default();
        c.apply(None, Sent);
        c.apply(None, Delivered);
        assert_eq!(c.summary()["sent"], "all");
        assert_eq!(c.summary()["delivered"], "some");
        assert_eq!(c.summary()["read"], "none");
        c.apply(Some(Sent), Read);
        c.apply(Some(Delivered), Read);
        assert_eq!(c.total, 2);
        assert_eq!(c.summary()["read"], "all");
        assert_eq!(c.summary()["delivered"], "all");
        c.apply(None, Failed);
        assert_eq!(c.summary()["failed"], "some");
        assert_eq!(c.summary()["read"], "some");
    }
}
