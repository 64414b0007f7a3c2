//! The one error table: every error a client can see, with its HTTP status and Twilio numeric
//! code. REST renders it as Twilio's `{code, message, more_info, status}` body; the WebSocket
//! gateway will send the same code in its error replies.
//!
//! Internal failures are logged in full and shown to the client only as "internal error".

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error that reaches an API client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A request parameter is missing or has a bad value.
    #[error("{0}")]
    InvalidParameter(String),
    /// Credentials missing or wrong.
    #[error("Authentication Error - invalid username")]
    Unauthenticated,
    /// No such resource (also for another account's resources: existence is never revealed).
    #[error("The requested resource {0} was not found")]
    NotFound(String),
    /// The route exists but not with this method.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// The request body is larger than the configured limit.
    #[error("Request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// A channel does not accept media of this content type (see `[media.limits]`).
    #[error("Content type {content_type} is not accepted for {channel} media")]
    MediaTypeNotAllowed {
        /// The refused `Content-Type`.
        content_type: String,
        /// The channel whose limits refused it (`chat`, `sms`, `whatsapp`, `messenger`).
        channel: &'static str,
    },
    /// Per-conversation action rate exceeded.
    #[error("Too many requests: the conversation's action rate limit was exceeded")]
    RateLimited,
    /// A conversation with this unique name already exists in the service.
    #[error("Conversation with provided unique name already exists")]
    UniqueNameTaken,
    /// A unique name may not look like a conversation SID.
    #[error("Unique name should not match conversation sid pattern")]
    UniqueNameLooksLikeSid,
    /// A chat participant with this identity is already in the conversation.
    #[error("Participant already exists")]
    ParticipantIdentityTaken,
    /// The address/proxy pair is already bound to an open conversation.
    #[error("A binding for this participant and proxy address already exists in Conversation {0}")]
    AddressPairTaken(String),
    /// A messaging binding address is malformed.
    #[error("Invalid messaging binding address: {0}")]
    InvalidBindingAddress(String),
    /// The message body is longer than Twilio's 1600 characters.
    #[error("The message body exceeds the 1600 character limit")]
    BodyTooLong,
    /// The conversation is closed; it cannot change or receive messages.
    #[error("Can't update conversation {0} as it's in final closed state")]
    ConversationClosed(String),
    /// A conversation cannot be created in the closed state.
    #[error("Initial state can't be 'closed'")]
    InitialStateClosed,
    /// A user with this identity already exists in the service.
    #[error("User with provided identity already exists")]
    UserIdentityTaken,
    /// A create was retried with the same idempotency key but a different request.
    #[error("Idempotency key {0} was already used with a different request")]
    IdempotencyKeyReused(String),
    /// A sign-in with a wrong username or password (no `WWW-Authenticate`: the page shows
    /// its own message instead of the browser's credentials prompt).
    #[error("Wrong username or password")]
    SignInFailed,
    /// A sign-in session that can no longer be renewed (expired, not from sign-in, or its
    /// login was removed); also without `WWW-Authenticate`.
    #[error("The session has ended: sign in again")]
    SessionEnded,
    /// The caller is known but may not do this.
    #[error("Forbidden: {0}")]
    Forbidden(String),
    /// The resource is not in a state that allows the change (e.g. accepting a reservation
    /// that was rescinded, deleting an activity in use).
    #[error("{0}")]
    Conflict(String),
    /// An actor was stopping or overloaded; the client may retry.
    #[error("Service temporarily unavailable, retry the request")]
    Unavailable,
    /// Something failed inside the server; details are in the log.
    #[error("Internal error")]
    Internal,
}

impl ApiError {
    /// HTTP status and Twilio numeric code of this error.
    pub fn status_and_code(&self) -> (StatusCode, u32) {
        use ApiError::*;
        match self {
            InvalidParameter(_) => (StatusCode::BAD_REQUEST, 20001),
            Unauthenticated => (StatusCode::UNAUTHORIZED, 20003),
            SignInFailed => (StatusCode::UNAUTHORIZED, 20003),
            SessionEnded => (StatusCode::UNAUTHORIZED, 20003),
            NotFound(_) => (StatusCode::NOT_FOUND, 20404),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 20004),
            PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, 20001),
            // Twilio's "Invalid Content-Type" for media it will not take.
            MediaTypeNotAllowed { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, 12300),
            RateLimited => (StatusCode::TOO_MANY_REQUESTS, 20429),
            UniqueNameTaken => (StatusCode::CONFLICT, 50353),
            UniqueNameLooksLikeSid => (StatusCode::BAD_REQUEST, 50390),
            ParticipantIdentityTaken => (StatusCode::CONFLICT, 50433),
            AddressPairTaken(_) => (StatusCode::CONFLICT, 50416),
            InvalidBindingAddress(_) => (StatusCode::BAD_REQUEST, 50407),
            BodyTooLong => (StatusCode::BAD_REQUEST, 21617),
            ConversationClosed(_) => (StatusCode::BAD_REQUEST, 50377),
            InitialStateClosed => (StatusCode::BAD_REQUEST, 50384),
            UserIdentityTaken => (StatusCode::CONFLICT, 50201),
            IdempotencyKeyReused(_) => (StatusCode::UNPROCESSABLE_ENTITY, 20001),
            Forbidden(_) => (StatusCode::FORBIDDEN, 20403),
            Conflict(_) => (StatusCode::CONFLICT, 20409),
            Unavailable => (StatusCode::SERVICE_UNAVAILABLE, 20503),
            Internal => (StatusCode::INTERNAL_SERVER_ERROR, 20500),
        }
    }

    /// Shorthand for a bad value of a named parameter.
    pub fn invalid(param: &str, why: impl std::fmt::Display) -> Self {
        ApiError::InvalidParameter(format!("Invalid parameter {param}: {why}"))
    }

    /// Shorthand for a missing required parameter.
    pub fn missing(param: &str) -> Self {
        ApiError::InvalidParameter(format!(
            "Missing required parameter {param} in the post body"
        ))
    }

    /// The Twilio-shaped JSON body.
    pub fn body(&self) -> ErrorBody {
        let (status, code) = self.status_and_code();
        ErrorBody {
            code,
            message: self.to_string(),
            more_info: format!("https://www.twilio.com/docs/errors/{code}"),
            status: status.as_u16(),
        }
    }
}

/// Twilio's error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Twilio numeric error code.
    pub code: u32,
    /// Human-readable explanation.
    pub message: String,
    /// Link to Twilio's description of the code.
    pub more_info: String,
    /// HTTP status, repeated in the body as Twilio does.
    pub status: u16,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthenticated) {
            resp.insert_header(("WWW-Authenticate", "Basic realm=\"Switchboard\""));
        }
        resp.json(self.body())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match err {
            StoreError::Conflict(kind) => kind.into(),
            StoreError::Stale => ApiError::Unavailable,
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::Internal
            }
        }
    }
}

impl From<crate::store::ConflictKind> for ApiError {
    fn from(kind: crate::store::ConflictKind) -> Self {
        use crate::store::ConflictKind::*;
        match kind {
            UniqueName => ApiError::UniqueNameTaken,
            ParticipantIdentity => ApiError::ParticipantIdentityTaken,
            AddressPair(conversation) => ApiError::AddressPairTaken(conversation),
            UserIdentity => ApiError::UserIdentityTaken,

            Other(what) => ApiError::InvalidParameter(format!("Conflict: {what}")),
        }
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(err: actix::MailboxError) -> Self {
        tracing::warn!(error = %err, "actor mailbox unavailable");
        ApiError::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One example of every variant, so the golden file shows the whole table.
    fn every_error() -> Vec<ApiError> {
        use ApiError::*;
        vec![
            InvalidParameter(
                "Invalid parameter FriendlyName: must be at most 256 characters".into(),
            ),
            Unauthenticated,
            NotFound("/Conversations/CHx".into()),
            MethodNotAllowed,
            SignInFailed,
            SessionEnded,
            PayloadTooLarge(1024),
            MediaTypeNotAllowed {
                content_type: "image/gif".into(),
                channel: "whatsapp",
            },
            RateLimited,
            UniqueNameTaken,
            UniqueNameLooksLikeSid,
            ParticipantIdentityTaken,
            AddressPairTaken("CHx".into()),
            InvalidBindingAddress("12".into()),
            BodyTooLong,
            ConversationClosed("CHx".into()),
            InitialStateClosed,
            UserIdentityTaken,
            IdempotencyKeyReused("k".into()),
            Forbidden("only the author may edit a message".into()),
            Conflict("Reservation WRx is rescinded and cannot be accepted".into()),
            Unavailable,
            Internal,
        ]
    }

    /// Snapshot of every error body: a wire change shows up in review. Regenerate with
    /// `UPDATE_GOLDEN=1 cargo test --lib error`.
    #[test]
    fn error_bodies_match_the_golden_file() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/errors.json");
        let bodies: Vec<_> = every_error()
            .iter()
            .map(|e| serde_json::to_value(e.body()).expect("json"))
            .collect();
        let rendered = serde_json::to_string_pretty(&bodies).expect("json") + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &rendered).expect("write golden");
        }
        let golden = std::fs::read_to_string(&path).expect("golden file exists");
        assert_eq!(
            rendered, golden,
            "error bodies changed; review and regenerate the golden file"
        );
    }

    #[test]
    fn error_bodies_have_twilio_shape() {
        let body = serde_json::to_value(ApiError::NotFound("/v1/Conversations/CHx".into()).body())
            .expect("serialisable");
        assert_eq!(
            body,
            serde_json::json!({
                "code": 20404,
                "message": "The requested resource /v1/Conversations/CHx was not found",
                "more_info": "https://www.twilio.com/docs/errors/20404",
                "status": 404
            })
        );
        let body = serde_json::to_value(ApiError::RateLimited.body()).expect("serialisable");
        assert_eq!(body["code"], 20429);
        assert_eq!(body["status"], 429);
    }
}
