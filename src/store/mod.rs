//! Persistence. Writes are data ([`Mutation`]s grouped into atomic units) submitted in order
//! to one writer that commits many units per transaction (group commit); reads are queries per
//! aggregate that never wait for the writer. The embedded SQLite store lives in [`sqlite`];
//! the Redis store for cluster mode will implement the same traits.
//!
//! Never: hold business rules here (the conversation actor owns those), or acknowledge a write
//! before its transaction committed.

pub mod account_docs;
pub mod delivery;
pub mod outbox;
pub mod records;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::ids::{
    AccountSid, ConversationSid, MessageSid, ParticipantSid, RoleSid, ServiceSid, UserSid,
};
use records::*;

/// A store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the unit was not applied.
    #[error("conflict: {0:?}")]
    Conflict(ConflictKind),
    /// A conditional write found the data changed underneath it (e.g. a message index that is
    /// no longer the next one); the unit was not applied.
    #[error("stale write")]
    Stale,
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// The writer has stopped.
    #[error("store closed")]
    Closed,
}

/// Which uniqueness rule a write violated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictKind {
    /// Conversation `unique_name` within a service.
    UniqueName,
    /// Participant identity within a conversation.
    ParticipantIdentity,
    /// Address/proxy pair already bound to the given open conversation.
    AddressPair(String),
    /// User identity within a service.
    UserIdentity,

    /// Anything else, described.
    Other(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Database(err.to_string())
    }
}

/// One change to persist. A unit (`Vec<Mutation>`) is applied atomically.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Insert or replace an account.
    PutAccount(AccountRecord),
    /// Insert or replace an account's configuration.
    PutAccountConfig(AccountConfigRecord),
    /// Insert or replace a service.
    PutService(ServiceRecord),
    /// Delete a service and everything in it.
    DeleteService(ServiceSid),
    /// Insert or replace a service's configuration.
    PutServiceConfig(ServiceConfigRecord),
    /// Insert or replace a role.
    PutRole(RoleRecord),
    /// Delete a role.
    DeleteRole(RoleSid),
    /// Insert or replace a user (identity unique per service).
    PutUser(UserRecord),
    /// Delete a user.
    DeleteUser(UserSid),
    /// Insert a new conversation (unique name checked).
    InsertConversation(ConversationRecord),
    /// Replace a conversation's fields (not its next message index).
    UpdateConversation(ConversationRecord),
    /// Delete a conversation with its participants, messages and bindings.
    DeleteConversation(ConversationSid),
    /// Release every address binding of a conversation (it closed).
    ReleaseBindings(ConversationSid),
    /// Insert a participant (identity and address pair checked).
    InsertParticipant(ParticipantRecord),
    /// Replace a participant.
    UpdateParticipant(ParticipantRecord),
    /// Delete a participant.
    DeleteParticipant(ParticipantSid),
    /// Append a message; fails with [`StoreError::Stale`] unless its index is the
    /// conversation's next index, so an index can never be skipped or reused.
    AppendMessage(MessageRecord),
    /// Replace a message's fields.
    UpdateMessage(MessageRecord),
    /// Delete a message (its index is not reused).
    DeleteMessage(MessageSid),
    /// Remember the first response to an idempotent request.
    PutIdempotency(IdempotencyRecord),
    /// Forget idempotency records created before the given time.
    PurgeIdempotency(Timestamp),
    /// Insert or replace an API key.
    PutKey(KeyRecord),
    /// Delete an API key.
    DeleteKey(crate::ids::KeySid),
    /// Inserts or replaces the receipt of (message, participant).
    PutReceipt(delivery::ReceiptRecord),
    /// Records an uploaded media file (its bytes are already on disk).
    PutMedia(MediaRecord),
    /// Inserts or replaces a JSON document (routing and interaction resources).
    PutDoc(DocRecord),
    /// Deletes a document.
    DeleteDoc(String),
    /// Deletes every document of a scope (e.g. a workspace's), and its routing events.
    DeleteScope(String),
    /// Appends a TaskRouter event.
    AppendRoutingEvent(RoutingEventRecord),
    /// Inserts or replaces an outbox job (a new delivery, a retry's schedule, a dead letter).
    PutOutbox(outbox::OutboxRecord),
    /// Reschedules or parks an existing outbox job; a job deleted meanwhile stays deleted.
    UpdateOutbox(outbox::OutboxRecord),
    /// Deletes an outbox job (delivered, or a dead letter dropped).
    DeleteOutbox(String),
}

/// Resolves when the unit it belongs to has committed (or failed).
pub struct Commit(oneshot::Receiver<Result<(), StoreError>>);

impl Commit {
    /// Wraps the receiving end of a writer's reply.
    pub fn new(rx: oneshot::Receiver<Result<(), StoreError>>) -> Self {
        Commit(rx)
    }
}

impl Future for Commit {
    type Output = Result<(), StoreError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::Closed)))
    }
}

/// Offset pagination as Twilio's `Page`/`PageSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Zero-based page number.
    pub page: u32,
    /// Rows per page.
    pub size: u32,
}

impl PageRequest {
    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page) * u64::from(self.size)
    }
}

/// One page of rows plus whether another page follows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// True when more rows follow.
    pub has_more: bool,
}

/// Filters of `GET /v1/Conversations`.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Only this state.
    pub state: Option<ConversationState>,
    /// Created at or after.
    pub start: Option<Timestamp>,
    /// Created at or before.
    pub end: Option<Timestamp>,
}

/// Which messages [`MessageStore::message_range`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRange {
    /// Indexes above this one (catch-up after a reconnect); `None`: from the first.
    After(Option<u64>),
    /// Indexes below this one (scroll-back); `None`: up to the newest.
    Before(Option<u64>),
}

/// Who to look up in `ParticipantConversations`.
#[derive(Debug, Clone)]
pub enum ParticipantKey {
    /// A chat identity.
    Identity(String),
    /// A messaging address.
    Address(String),
}

/// Ordered, group-committed writes.
pub trait WriteLog: Send + Sync {
    /// Queues `unit` behind every unit submitted before it; the returned [`Commit`] resolves
    /// once it is durable. Submission order is commit order.
    fn submit(&self, unit: Vec<Mutation>) -> Commit;
}

/// Accounts, services, roles and users.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Every API key (for the credential cache).
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// One API key (keys created by another process, e.g. `switchboard token`).
    async fn key(&self, sid: &crate::ids::KeySid) -> Result<Option<KeyRecord>, StoreError>;
    /// Every account (for the credential cache).
    async fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError>;
    /// An account's Conversations configuration.
    async fn account_config(
        &self,
        account: &AccountSid,
    ) -> Result<Option<AccountConfigRecord>, StoreError>;
    /// A service of the account.
    async fn service(
        &self,
        account: &AccountSid,
        sid: &ServiceSid,
    ) -> Result<Option<ServiceRecord>, StoreError>;
    /// The account's services, oldest first.
    async fn services(
        &self,
        account: &AccountSid,
        page: PageRequest,
    ) -> Result<Page<ServiceRecord>, StoreError>;
    /// A service's configuration.
    async fn service_config(
        &self,
        service: &ServiceSid,
    ) -> Result<Option<ServiceConfigRecord>, StoreError>;
    /// A role of the service.
    async fn role(
        &self,
        service: &ServiceSid,
        sid: &RoleSid,
    ) -> Result<Option<RoleRecord>, StoreError>;
    /// The service's roles, oldest first.
    async fn roles(
        &self,
        service: &ServiceSid,
        page: PageRequest,
    ) -> Result<Page<RoleRecord>, StoreError>;
    /// A user by SID or identity.
    async fn user(&self, service: &ServiceSid, key: &str)
    -> Result<Option<UserRecord>, StoreError>;
    /// The service's users, oldest first.
    async fn users(
        &self,
        service: &ServiceSid,
        page: PageRequest,
    ) -> Result<Page<UserRecord>, StoreError>;
}

/// Conversations and their participants.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// A conversation of the service by SID or unique name.
    async fn conversation(
        &self,
        service: &ServiceSid,
        key: &str,
    ) -> Result<Option<ConversationRecord>, StoreError>;
    /// The service's conversations: oldest first, or newest first when a date filter is set.
    async fn conversations(
        &self,
        service: &ServiceSid,
        filter: &ConversationFilter,
        page: PageRequest,
    ) -> Result<Page<ConversationRecord>, StoreError>;
    /// Everything a conversation actor needs to take over a conversation.
    async fn load_conversation(
        &self,
        sid: &ConversationSid,
    ) -> Result<Option<LoadedConversation>, StoreError>;
    /// Conversations with a pending state timer, with their next deadline.
    async fn pending_timers(&self) -> Result<Vec<(ConversationSid, Timestamp)>, StoreError>;
    /// A participant by SID or identity.
    async fn participant(
        &self,
        conversation: &ConversationSid,
        key: &str,
    ) -> Result<Option<ParticipantRecord>, StoreError>;
    /// The open conversation holding the account's (address, proxy address) pair, if any.
    async fn binding_conversation(
        &self,
        account: &AccountSid,
        address: &str,
        proxy_address: &str,
    ) -> Result<Option<ConversationSid>, StoreError>;
    /// A conversation's participants, oldest first.
    async fn participants(
        &self,
        conversation: &ConversationSid,
        page: PageRequest,
    ) -> Result<Page<ParticipantRecord>, StoreError>;
    /// The participations of an identity or address in the service, with their conversations.
    async fn participant_conversations(
        &self,
        service: &ServiceSid,
        key: &ParticipantKey,
        page: PageRequest,
    ) -> Result<Page<(ParticipantRecord, ConversationRecord)>, StoreError>;
}

/// Messages.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// A message by SID or index.
    async fn message(
        &self,
        conversation: &ConversationSid,
        key: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;
    /// How many messages of the conversation have an index above `index`.
    async fn count_messages_after(
        &self,
        conversation: &ConversationSid,
        index: u64,
    ) -> Result<u64, StoreError>;
    /// A conversation's messages by index, ascending or descending.
    async fn messages(
        &self,
        conversation: &ConversationSid,
        descending: bool,
        page: PageRequest,
    ) -> Result<Page<MessageRecord>, StoreError>;
    /// Up to `limit` messages by index, ascending: the first ones above `after`, or the last
    /// ones below `before` (scroll-back). `has_more` says whether more lie in that direction.
    async fn message_range(
        &self,
        conversation: &ConversationSid,
        range: MessageRange,
        limit: u32,
    ) -> Result<Page<MessageRecord>, StoreError>;
    /// A message's delivery receipts, oldest first.
    async fn receipts(
        &self,
        message: &MessageSid,
        page: PageRequest,
    ) -> Result<Page<delivery::ReceiptRecord>, StoreError>;
    /// One receipt of a message, by its SID or its participant's SID.
    async fn receipt(
        &self,
        message: &MessageSid,
        key: &str,
    ) -> Result<Option<delivery::ReceiptRecord>, StoreError>;
    /// The highest message index of the conversation, if it has messages.
    async fn last_message_index(
        &self,
        conversation: &ConversationSid,
    ) -> Result<Option<u64>, StoreError>;
}

/// Uploaded media.
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// A media record of the service.
    async fn media(
        &self,
        service: &ServiceSid,
        sid: &crate::ids::MediaSid,
    ) -> Result<Option<MediaRecord>, StoreError>;
}

/// Idempotency records.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The first response stored under `key`.
    async fn idempotency(
        &self,
        account: &AccountSid,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// Filters of the TaskRouter `/Events` list.
#[derive(Debug, Clone, Default)]
pub struct RoutingEventFilter {
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only events of this task.
    pub task_sid: Option<String>,
    /// … of this worker.
    pub worker_sid: Option<String>,
    /// … of this reservation.
    pub reservation_sid: Option<String>,
    /// … of this queue.
    pub queue_sid: Option<String>,
    /// … of this workflow.
    pub workflow_sid: Option<String>,
    /// At or after (ms).
    pub start_ms: Option<i64>,
    /// At or before (ms).
    pub end_ms: Option<i64>,
}

/// JSON documents (routing and interactions) and TaskRouter events.
#[async_trait]
pub trait DocStore: Send + Sync {
    /// Every document of a scope, oldest first: `(kind, data)`.
    async fn docs_in(&self, scope: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Every document of a kind, oldest first: `(scope, data)`.
    async fn docs_of_kind(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// One document by SID.
    async fn doc(&self, sid: &str) -> Result<Option<DocRecord>, StoreError>;
    /// Documents whose alternate key is `alt`, oldest first.
    async fn docs_by_alt(&self, alt: &str) -> Result<Vec<DocRecord>, StoreError>;
    /// A workspace's events, newest first.
    async fn routing_events(
        &self,
        workspace: &str,
        filter: &RoutingEventFilter,
        page: PageRequest,
    ) -> Result<Page<RoutingEventRecord>, StoreError>;
    /// One event.
    async fn routing_event(
        &self,
        workspace: &str,
        sid: &str,
    ) -> Result<Option<RoutingEventRecord>, StoreError>;
}

/// Outbox jobs: deliveries waiting to be sent, and dead letters.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Pending jobs due at `now_ms`, earliest first, skipping any job that waits behind an
    /// older pending job of its lane. Of the first `limit` such jobs, those named in `skip`
    /// (already being attempted) are left out without being read whole.
    async fn due_jobs(
        &self,
        now_ms: outbox::Millis,
        limit: u32,
        skip: std::sync::Arc<std::collections::HashSet<String>>,
    ) -> Result<Vec<outbox::OutboxRecord>, StoreError>;
    /// When the earliest pending job that is not waiting behind its lane is due.
    async fn next_due(&self) -> Result<Option<outbox::Millis>, StoreError>;
    /// The account's pending jobs (still on their way) or dead letters, oldest first.
    async fn outbox_jobs(
        &self,
        account: &AccountSid,
        dead: bool,
        page: PageRequest,
    ) -> Result<Page<outbox::OutboxRecord>, StoreError>;
    /// One job of the account.
    async fn outbox_job(
        &self,
        account: &AccountSid,
        id: &str,
    ) -> Result<Option<outbox::OutboxRecord>, StoreError>;
}

/// Everything the server persists.
pub trait Store:
    WriteLog
    + AccountStore
    + ConversationStore
    + MessageStore
    + MediaStore
    + IdempotencyStore
    + DocStore
    + OutboxStore
{
}

impl<T> Store for T where
    T: WriteLog
        + AccountStore
        + ConversationStore
        + MessageStore
        + MediaStore
        + IdempotencyStore
        + DocStore
        + OutboxStore
{
}
