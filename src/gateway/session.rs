//! `SessionActor`: one per WebSocket. It holds the verified principal, a subscription per
//! conversation it may see, and the outbound queue. Frames in arrive as a stream
//! (`ctx.add_stream`), conversation events through the session's [`feed`](super::feed) (one
//! stream for all its subscriptions); frames out go through [`Outbound`].
//!
//! Exactly-once delivery: a subscription is opened on the bus *before* the store is read for
//! the conversation's last index (or the catch-up), and while that read runs the actor
//! processes nothing else (`ctx.wait`). Each subscription remembers the highest message index
//! it delivered and drops `message_added` events at or below it, so every message reaches the
//! client once, in index order, whether it came from the store or live.
//!
//! Never: block on the socket (only `try_push`), or deliver a conversation's events to a
//! session that is neither a participant nor a monitoring supervisor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web;
use actix_ws::{AggregatedMessage, ProtocolError};
use bytestring::ByteString;
use serde_json::Value;

use super::close::Close;
use super::feed::{Delivery, Feed, Forwarder};
use super::outbound::{Outbound, QueueFull};
use crate::api::AppState;
use crate::cluster::BusEvent;
use crate::conversations::drafts::Scope;
use crate::conversations::events::ConversationEvent;
use crate::error::ApiError;
use crate::gateway::token::{Principal, TokenError};
use crate::ids::ConversationSid;
use crate::protocol::{self, Frame, FrameId};
use crate::store::records::{ConversationRecord, MessageRecord, ParticipantRecord, now};
use crate::store::{MessageRange, ParticipantKey};
use crate::telemetry::metrics as telemetry;

/// Messages read per store round trip while catching up.
const CATCH_UP_PAGE: u32 = 500;

/// How a session sees a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seat {
    /// Its identity is a participant.
    Participant,
    /// A supervisor watching anonymously.
    Monitor,
}

/// One conversation the session receives events of.
pub(super) struct Sub {
    /// Forwards the conversation's bus events into the feed while the subscription lives.
    forwarder: Forwarder,
    pub(super) seat: Seat,
    /// Highest message index delivered (or known to the client).
    last_index: Option<u64>,
}

/// A verified session.
pub(super) struct Authed {
    pub(super) principal: Principal,
    pub(super) scope: Scope,
    /// The TaskRouter workspace (and worker) of the token's `task_router` grant, when they
    /// exist in the account.
    pub(super) routing: Option<super::routing::Seat>,
}

/// The actor behind one WebSocket.
pub struct SessionActor {
    pub(super) id: String,
    pub(super) app: web::Data<AppState>,
    pub(super) out: Outbound,
    /// Verified from the URL, waiting for `hello`.
    pub(super) url_principal: Option<Principal>,
    pub(super) auth: Option<Authed>,
    pub(super) subs: HashMap<ConversationSid, Sub>,
    pub(super) typing_sent: HashMap<ConversationSid, Instant>,
    last_heard: Instant,
    token_timers: Vec<SpawnHandle>,
    feed: Feed,
    /// The feed's receiving side, until `started` takes it.
    feed_rx: Option<tokio::sync::mpsc::Receiver<Delivery>>,
}

impl SessionActor {
    /// A session for a freshly upgraded socket.
    pub fn new(app: web::Data<AppState>, out: Outbound, url_principal: Option<Principal>) -> Self {
        let (feed, feed_rx) = Feed::new();
        SessionActor {
            id: format!("WS{}", crate::ids::random_hex32()),
            app,
            out,
            url_principal,
            auth: None,
            subs: HashMap::new(),
            typing_sent: HashMap::new(),
            last_heard: Instant::now(),
            token_timers: Vec::new(),
            feed,
            feed_rx: Some(feed_rx),
        }
    }

    /// Queues a frame; a full queue closes the socket as too slow.
    pub(super) fn push(&mut self, ctx: &mut Context<Self>, frame: ByteString) {
        if self.out.is_closing() {
            return;
        }
        if let Err(QueueFull) = self.out.try_push(frame) {
            metrics::counter!(telemetry::GATEWAY_SLOW_CONSUMERS).increment(1);
            self.close(ctx, Close::SlowConsumer, None);
        }
    }

    /// Answers command `id`.
    pub(super) fn answer(
        &mut self,
        ctx: &mut Context<Self>,
        id: &Value,
        result: Result<Value, ApiError>,
    ) {
        let frame = match &result {
            Ok(value) => protocol::reply(id, value.clone()),
            Err(err) => protocol::error(id, err),
        };
        self.push(ctx, frame);
    }

    /// Closes the socket and stops.
    pub(super) fn close(&mut self, ctx: &mut Context<Self>, close: Close, detail: Option<&str>) {
        if !self.out.is_closing() {
            tracing::debug!(session_id = %self.id, code = close.code(), "closing session");
            self.out.close(close.reason(detail));
        }
        ctx.stop();
    }

    /// Refuses a token: an error answer to `hello` (when there was one), then close 4501.
    pub(super) fn refuse_token(&mut self, ctx: &mut Context<Self>, id: &Value, err: &TokenError) {
        self.answer(ctx, id, Err(ApiError::Unauthenticated));
        self.close(ctx, Close::TokenInvalid, Some(&err.to_string()));
    }

    fn typing_timeout_ms(&self) -> u64 {
        self.app.settings.gateway.typing_timeout.as_millis() as u64
    }

    /// Starts receiving `conversation`'s events: the bus receiver opens now, and what arrives
    /// waits in the feed (and on the bus behind it) until the caller's `ctx.wait` finishes.
    /// `last_index`: what the client already has.
    pub(super) fn subscribe(
        &mut self,
        conversation: &ConversationSid,
        seat: Seat,
        last_index: Option<u64>,
    ) {
        if let Some(sub) = self.subs.get_mut(conversation) {
            if seat == Seat::Participant {
                sub.seat = seat;
            }
            return;
        }
        let forwarder = self
            .feed
            .forward(conversation.clone(), self.app.bus.subscribe(conversation));
        self.subs.insert(
            conversation.clone(),
            Sub {
                forwarder,
                seat,
                last_index,
            },
        );
    }

    /// Stops receiving `conversation`'s events.
    pub(super) fn unsubscribe(&mut self, conversation: &ConversationSid) {
        // Dropping the subscription stops its forwarder.
        self.subs.remove(conversation);
        self.typing_sent.remove(conversation);
    }

    /// Marks what the client already has for a subscription (after the store read).
    pub(super) fn set_last_index(&mut self, conversation: &ConversationSid, index: Option<u64>) {
        if let Some(sub) = self.subs.get_mut(conversation)
            && index > sub.last_index
        {
            sub.last_index = index;
        }
    }

    /// Sends caught-up messages (already read from the store, ascending) as `message_added`.
    pub(super) fn deliver_history(&mut self, ctx: &mut Context<Self>, messages: &[MessageRecord]) {
        for m in messages {
            let Some(sub) = self.subs.get_mut(&m.conversation_sid) else {
                continue;
            };
            if sub.last_index.is_some_and(|last| m.index <= last) {
                continue;
            }
            sub.last_index = Some(m.index);
            let frame = protocol::event_frame(
                &ConversationEvent::MessageAdded(m.clone()),
                self.typing_timeout_ms(),
            );
            self.push(ctx, frame);
        }
    }

    /// Arms the token's `token_expiring` warning and its expiry close.
    pub(super) fn arm_token_timers(&mut self, ctx: &mut Context<Self>, expires_at: i64) {
        for handle in self.token_timers.drain(..) {
            ctx.cancel_future(handle);
        }
        let left = Duration::from_secs((expires_at - now()).max(0) as u64);
        let warning = self.app.settings.gateway.token_warning;
        self.token_timers
            .push(ctx.run_later(left.saturating_sub(warning), move |act, ctx| {
                let frame = protocol::session_event(
                    "token_expiring",
                    serde_json::json!({ "expires_at": crate::api::params::format_datetime(expires_at) }),
                );
                act.push(ctx, frame);
            }));
        self.token_timers.push(ctx.run_later(left, |act, ctx| {
            act.close(ctx, Close::TokenExpired, None);
        }));
    }

    fn on_text(&mut self, ctx: &mut Context<Self>, text: &str) {
        let frame: Frame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                let id = serde_json::from_str::<FrameId>(text)
                    .map(|f| f.id)
                    .unwrap_or(Value::Null);
                if self.auth.is_none() {
                    self.answer(ctx, &id, Err(ApiError::invalid("frame", &e)));
                    return self.close(ctx, Close::ProtocolViolation, Some("expected hello"));
                }
                return self.answer(ctx, &id, Err(ApiError::invalid("frame", e)));
            }
        };
        self.dispatch(ctx, frame);
    }

    /// An item of the feed, if its subscription is still the current one.
    fn on_feed(&mut self, ctx: &mut Context<Self>, delivery: Delivery) {
        let current = self
            .subs
            .get(&delivery.conversation)
            .is_some_and(|s| s.forwarder.generation == delivery.generation);
        if current {
            self.on_delivery(ctx, &delivery.conversation, delivery.item);
        }
    }

    fn on_delivery(
        &mut self,
        ctx: &mut Context<Self>,
        conversation: &ConversationSid,
        item: Result<Arc<BusEvent>, u64>,
    ) {
        let event = match item {
            Ok(event) => event,
            Err(skipped) => {
                tracing::info!(session_id = %self.id, conversation_sid = %conversation, skipped, "session lagged");
                return self.close(ctx, Close::Lagged, None);
            }
        };
        let Some(sub) = self.subs.get_mut(conversation) else {
            return;
        };
        match &event.event {
            ConversationEvent::MessageAdded(m) => {
                if sub.last_index.is_some_and(|last| m.index <= last) {
                    return;
                }
                sub.last_index = Some(m.index);
            }
            // Nobody sees their own typing.
            ConversationEvent::Typing(p) if p.identity.as_deref() == self.identity() => return,
            _ => {}
        }
        let typing_timeout = self.typing_timeout_ms();
        let frame = event.frame(|e| protocol::event_frame(e, typing_timeout));
        self.push(ctx, frame);
        match &event.event {
            ConversationEvent::ConversationRemoved(_) => self.unsubscribe(conversation),
            ConversationEvent::ParticipantRemoved(p) if self.is_own_seat(conversation, p) => {
                let frame = protocol::conversation_event(
                    "conversation_left",
                    conversation,
                    serde_json::json!({ "participant": protocol::Participant::from(p) }),
                );
                self.push(ctx, frame);
                self.unsubscribe(conversation);
            }
            _ => {}
        }
    }

    /// Whether `participant` is this session's own participation in `conversation`.
    fn is_own_seat(&self, conversation: &ConversationSid, participant: &ParticipantRecord) -> bool {
        participant.identity.is_some()
            && participant.identity.as_deref() == self.identity()
            && self
                .subs
                .get(conversation)
                .is_some_and(|s| s.seat == Seat::Participant)
    }

    pub(super) fn identity(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.principal.identity.as_str())
    }

    /// Subscribes to the identity topic: conversations it joins or leaves from now on.
    pub(super) fn watch_participations(&mut self, ctx: &mut Context<Self>, scope: &Scope) {
        let Some(identity) = scope.identity.as_deref() else {
            return;
        };
        let rx = self.app.bus.subscribe_identity(&scope.service, identity);
        let events = actix::fut::wrap_stream(super::feed::bus_stream(rx));
        ctx.spawn(
            events
                .map(|item, act: &mut Self, ctx| match item {
                    Ok(event) => act.on_participation(ctx, &event),
                    Err(_) => act.close(ctx, Close::Lagged, None),
                })
                .finish(),
        );
    }

    fn on_participation(&mut self, ctx: &mut Context<Self>, event: &BusEvent) {
        match &event.event {
            ConversationEvent::ParticipantAdded(p) => {
                let conversation = p.conversation_sid.clone();
                if self
                    .subs
                    .get(&conversation)
                    .is_some_and(|s| s.seat == Seat::Participant)
                {
                    return;
                }
                self.subscribe(&conversation, Seat::Participant, None);
                let store = self.app.store.clone();
                let service = p.service_sid.clone();
                let participant = p.clone();
                let read = async move {
                    let record = store.conversation(&service, conversation.as_str()).await?;
                    let last = store.last_message_index(&conversation).await?;
                    Ok::<_, ApiError>((record, last))
                };
                ctx.wait(read.into_actor(self).map(move |result, act, ctx| match result {
                    Ok((Some(record), last)) => {
                        act.set_last_index(&record.sid, last);
                        let frame = protocol::conversation_event(
                            "conversation_joined",
                            &record.sid,
                            summary(&record, Some(&participant), last),
                        );
                        act.push(ctx, frame);
                    }
                    Ok((None, _)) => act.unsubscribe(&participant.conversation_sid),
                    Err(e) => {
                        tracing::warn!(session_id = %act.id, error = %e, "joining a conversation failed");
                        act.close(ctx, Close::Lagged, None);
                    }
                }));
            }
            // Leaving is handled where the conversation's own feed delivers the removal, after
            // every event the conversation published before it: acting on this copy could
            // drop messages still queued in the feed.
            ConversationEvent::ParticipantRemoved(_) => {}
            _ => {}
        }
    }
}

/// A conversation summary as JSON.
pub(super) fn summary(
    conversation: &ConversationRecord,
    participant: Option<&ParticipantRecord>,
    last_message_index: Option<u64>,
) -> Value {
    protocol::json(protocol::Summary {
        conversation: conversation.into(),
        participant: participant.map(Into::into),
        last_message_index,
    })
}

/// Every participation of `scope`'s identity, with its conversations.
pub(super) async fn participations(
    app: &AppState,
    scope: &Scope,
) -> Result<Vec<(ParticipantRecord, ConversationRecord)>, ApiError> {
    let Some(identity) = scope.identity.clone() else {
        return Ok(Vec::new());
    };
    let key = ParticipantKey::Identity(identity);
    let mut all = Vec::new();
    for page in 0.. {
        let found = app
            .store
            .participant_conversations(
                &scope.service,
                &key,
                crate::store::PageRequest { page, size: 100 },
            )
            .await?;
        all.extend(found.items);
        if !found.has_more {
            break;
        }
    }
    Ok(all)
}

/// Reads every message after `after` (ascending), page by page.
pub(super) async fn catch_up(
    app: &AppState,
    conversation: &ConversationSid,
    after: Option<u64>,
) -> Result<Vec<MessageRecord>, ApiError> {
    let mut out = Vec::new();
    let mut from = after;
    loop {
        let page = app
            .store
            .message_range(conversation, MessageRange::After(from), CATCH_UP_PAGE)
            .await?;
        from = page.items.last().map(|m| m.index).or(from);
        out.extend(page.items);
        if !page.has_more {
            return Ok(out);
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        metrics::gauge!(telemetry::GATEWAY_SESSIONS).increment(1.0);
        if let Some(rx) = self.feed_rx.take() {
            ctx.spawn(
                actix::fut::wrap_stream(super::feed::stream(rx))
                    .map(|delivery, act: &mut Self, ctx| act.on_feed(ctx, delivery))
                    .finish(),
            );
        }
        let mut draining = self.app.draining.clone();
        let drained = async move { draining.wait_for(|d| *d).await.is_ok() };
        ctx.spawn(drained.into_actor(self).map(|_, act, ctx| {
            act.close(ctx, Close::Draining, None);
        }));
        let settings = &self.app.settings.gateway;
        ctx.run_later(settings.hello_timeout, |act, ctx| {
            if act.auth.is_none() {
                act.close(ctx, Close::HelloTimeout, None);
            }
        });
        let timeout = settings.client_timeout;
        ctx.run_interval(settings.heartbeat_interval, move |act, ctx| {
            if act.last_heard.elapsed() > timeout {
                act.close(ctx, Close::HeartbeatTimeout, None);
            } else if act.out.ping().is_err() {
                act.close(ctx, Close::SlowConsumer, None);
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        metrics::gauge!(telemetry::GATEWAY_SESSIONS).decrement(1.0);
        // Dropping `out` ends the writer, which closes the socket if no close was sent.
    }
}

impl StreamHandler<Result<AggregatedMessage, ProtocolError>> for SessionActor {
    fn handle(&mut self, item: Result<AggregatedMessage, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match item {
            Ok(AggregatedMessage::Text(text)) => self.on_text(ctx, &text),
            Ok(AggregatedMessage::Binary(_)) => self.close(
                ctx,
                Close::ProtocolViolation,
                Some("binary frames are not used"),
            ),
            Ok(AggregatedMessage::Ping(payload)) => {
                if self.out.pong(payload).is_err() {
                    self.close(ctx, Close::SlowConsumer, None);
                }
            }
            Ok(AggregatedMessage::Pong(_)) => {}
            Ok(AggregatedMessage::Close(_)) => ctx.stop(),
            Err(ProtocolError::Overflow) => self.close(ctx, Close::FrameTooLarge, None),
            Err(e) => self.close(ctx, Close::ProtocolViolation, Some(&e.to_string())),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
