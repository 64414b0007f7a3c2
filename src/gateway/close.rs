//! WebSocket close codes (docs/protocol.md §4), kept apart from reply errors: a close code
//! tells the client whether to reconnect. 4000–4499: reconnect with backoff and resume;
//! 4500–4999: do not.

use actix_ws::{CloseCode, CloseReason};

/// Why the server closes a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The server is going away.
    Draining,
    /// The client let its outbound queue fill.
    SlowConsumer,
    /// The session fell behind a conversation's event stream.
    Lagged,
    /// Nothing heard from the client for too long.
    HeartbeatTimeout,
    /// The session's token expired.
    TokenExpired,
    /// Binary frame, unreadable or missing `hello`, or other misuse.
    ProtocolViolation,
    /// The token was refused.
    TokenInvalid,
    /// A frame above the size limit.
    FrameTooLarge,
    /// No `hello` in time.
    HelloTimeout,
}

impl Close {
    /// The numeric close code.
    pub fn code(self) -> u16 {
        match self {
            Close::Draining => 4000,
            Close::SlowConsumer => 4001,
            Close::Lagged => 4002,
            Close::HeartbeatTimeout => 4003,
            Close::TokenExpired => 4004,
            Close::ProtocolViolation => 4500,
            Close::TokenInvalid => 4501,
            Close::FrameTooLarge => 4503,
            Close::HelloTimeout => 4504,
        }
    }

    /// Whether a client should reconnect after this close.
    pub fn reconnect(self) -> bool {
        self.code() < 4500
    }

    /// Default description.
    pub fn describe(self) -> &'static str {
        match self {
            Close::Draining => "server going away",
            Close::SlowConsumer => "outbound queue full: client too slow",
            Close::Lagged => "fell behind the event stream; resume",
            Close::HeartbeatTimeout => "no heartbeat",
            Close::TokenExpired => "access token expired",
            Close::ProtocolViolation => "protocol violation",
            Close::TokenInvalid => "access token refused",
            Close::FrameTooLarge => "frame too large",
            Close::HelloTimeout => "no hello in time",
        }
    }

    /// The close frame's reason, with `detail` (truncated by the writer to fit a frame).
    pub fn reason(self, detail: Option<&str>) -> CloseReason {
        CloseReason {
            code: CloseCode::Other(self.code()),
            description: Some(match detail {
                Some(d) => format!("{}: {d}", self.describe()),
                None => self.describe().to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_codes_are_below_4500() {
        for close in [
            Close::Draining,
            Close::SlowConsumer,
            Close::Lagged,
            Close::HeartbeatTimeout,
            Close::TokenExpired,
        ] {
            assert!(close.reconnect() && (4000..4500).contains(&close.code()));
        }
        for close in [
            Close::ProtocolViolation,
            Close::TokenInvalid,
            Close::FrameTooLarge,
            Close::HelloTimeout,
        ] {
            assert!(!close.reconnect() && (4500..5000).contains(&close.code()));
        }
    }
}
