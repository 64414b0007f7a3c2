//! What each client command does (docs/protocol.md §2). Changes go to the conversation's actor
//! through the same messages REST uses, with the session's identity in the scope, so the same
//! rules apply (an identity acts only where it is a participant, edits only its own messages).

use std::time::Instant;

use actix::prelude::*;
use serde_json::{Value, json};

use super::auth;
use super::close::Close;
use super::session::{Authed, Seat, SessionActor, catch_up, participations, summary};
use crate::api::media::attachments;
use crate::api::messages::MAX_BODY_CHARS;
use crate::conversations::commands::{
    AddParticipant, DeleteMessage, EditMessage, PostMessage, RecordReceipt, RemoveParticipant,
    Typing, UpdateParticipant,
};
use crate::conversations::drafts::{
    MessageChanges, MessageDraft, ParticipantChanges, ParticipantDraft, Scope,
};
use crate::error::ApiError;
use crate::gateway::token::Role;
use crate::ids::ConversationSid;
use crate::protocol::{self, Command, Frame};
use crate::store::delivery::ReceiptStatus;
use crate::store::records::now;
use crate::store::{MessageRange, PageRequest};

/// Longest accepted `client_message_id`.
const MAX_CLIENT_MESSAGE_ID: usize = 128;
/// Most attachments on one message.
const MAX_ATTACHMENTS: usize = 10;
/// Largest `history` page.
const MAX_HISTORY: u32 = 100;

/// What a client has seen of each conversation: the highest index, or `None` for nothing.
type Resume = std::collections::BTreeMap<ConversationSid, Option<u64>>;

/// A "highest index seen" field: an index, or -1 for "none yet".
fn last_seen(field: &str, seen: i64) -> Result<Option<u64>, ApiError> {
    match seen {
        -1 => Ok(None),
        i if i >= 0 => Ok(Some(i as u64)),
        _ => Err(ApiError::invalid(
            field,
            "must be a message index, or -1 for none",
        )),
    }
}

fn check_body(body: &Option<String>) -> Result<(), ApiError> {
    match body {
        Some(b) if b.chars().count() > MAX_BODY_CHARS => Err(ApiError::BodyTooLong),
        _ => Ok(()),
    }
}

fn check_attributes(attributes: &Option<String>) -> Result<(), ApiError> {
    match attributes {
        Some(a) if a.len() > 16 * 1024 => Err(ApiError::invalid("attributes", "too long")),
        Some(a) => serde_json::from_str::<Value>(a)
            .map(|_| ())
            .map_err(|e| ApiError::invalid("attributes", format!("is not valid JSON ({e})"))),
        None => Ok(()),
    }
}

impl SessionActor {
    /// Runs one command.
    pub(super) fn dispatch(&mut self, ctx: &mut Context<Self>, frame: Frame) {
        let Frame { id, command } = frame;
        let Some(authed) = &self.auth else {
            return match command {
                Command::Hello {
                    protocol,
                    token,
                    resume,
                } => {
                    let resume: Result<Resume, ApiError> = resume
                        .into_iter()
                        .map(|(sid, seen)| Ok((sid, last_seen("resume", seen)?)))
                        .collect();
                    match resume {
                        Ok(resume) => self.hello(ctx, id, protocol, token, resume),
                        Err(e) => {
                            self.answer(ctx, &id, Err(e));
                            self.close(ctx, Close::ProtocolViolation, Some("bad hello"))
                        }
                    }
                }
                _ => {
                    self.answer(
                        ctx,
                        &id,
                        Err(ApiError::invalid("type", "the first frame must be hello")),
                    );
                    self.close(ctx, Close::ProtocolViolation, Some("expected hello"))
                }
            };
        };
        let scope = authed.scope.clone();
        let role = authed.principal.role;
        match command {
            Command::Hello { .. } => self.answer(
                ctx,
                &id,
                Err(ApiError::invalid("type", "hello was already sent")),
            ),
            Command::Ping => self.answer(ctx, &id, Ok(json!({}))),
            Command::Conversations => self.list(ctx, id, scope),
            Command::Send {
                conversation_sid,
                body,
                attributes,
                media_sids,
                client_message_id,
            } => {
                let draft = (|| {
                    check_body(&body)?;
                    check_attributes(&attributes)?;
                    if body.as_deref().is_none_or(str::is_empty)
                        && media_sids.as_ref().is_none_or(Vec::is_empty)
                    {
                        return Err(ApiError::missing("body"));
                    }
                    if media_sids
                        .as_ref()
                        .is_some_and(|m| m.len() > MAX_ATTACHMENTS)
                    {
                        return Err(ApiError::invalid("media_sids", "at most 10 attachments"));
                    }
                    let client_message_id = match client_message_id {
                        Some(cid) if cid.is_empty() || cid.len() > MAX_CLIENT_MESSAGE_ID => {
                            return Err(ApiError::invalid(
                                "client_message_id",
                                "must be 1 to 128 characters",
                            ));
                        }
                        // Namespaced by identity: one sender cannot collide with another.
                        Some(cid) => scope.identity.as_ref().map(|who| format!("{who}:{cid}")),
                        None => None,
                    };
                    Ok(MessageDraft {
                        author: scope.identity.clone(),
                        body,
                        attributes,
                        client_message_id,
                        ..Default::default()
                    })
                })();
                let render = |m: crate::store::records::MessageRecord| json!({ "message": protocol::Message::from(&m) });
                match (draft, media_sids.filter(|m| !m.is_empty())) {
                    (Ok(draft), None) => self.call(
                        ctx,
                        id,
                        conversation_sid,
                        PostMessage { scope, draft },
                        render,
                    ),
                    (Ok(mut draft), Some(media)) => {
                        let app = self.app.clone();
                        let send = async move {
                            draft.media = attachments(&app, &scope.service, &media).await?;
                            let msg = PostMessage { scope, draft };
                            app.registry.call(&conversation_sid, msg).await.map(render)
                        };
                        self.answer_later(ctx, id, send);
                    }
                    (Err(e), _) => self.answer(ctx, &id, Err(e)),
                }
            }
            Command::Edit {
                conversation_sid,
                index,
                body,
                attributes,
            } => {
                if let Err(e) = check_body(&body).and_then(|()| check_attributes(&attributes)) {
                    return self.answer(ctx, &id, Err(e));
                }
                let changes = MessageChanges {
                    body,
                    attributes,
                    ..Default::default()
                };
                let msg = EditMessage {
                    scope,
                    key: index.to_string(),
                    changes,
                };
                self.call(
                    ctx,
                    id,
                    conversation_sid,
                    msg,
                    |m| json!({ "message": protocol::Message::from(&m) }),
                )
            }
            Command::Delete {
                conversation_sid,
                index,
            } => {
                let msg = DeleteMessage {
                    scope,
                    key: index.to_string(),
                };
                self.call(ctx, id, conversation_sid, msg, |()| json!({}))
            }
            Command::Typing { conversation_sid } => self.typing(ctx, id, scope, conversation_sid),
            Command::Delivered {
                conversation_sid,
                index,
            } => {
                let participant = scope.identity.clone().unwrap_or_default();
                let msg = RecordReceipt {
                    scope,
                    message: index.to_string(),
                    participant,
                    status: ReceiptStatus::Delivered,
                    channel_message_sid: None,
                    error_code: None,
                    with: Vec::new(),
                };
                self.call(ctx, id, conversation_sid, msg, |(m, r)| {
                    json!({ "message": protocol::Message::from(&m), "receipt": protocol::Receipt::from(&r) })
                })
            }
            Command::Read {
                conversation_sid,
                index,
            } => {
                let key = scope.identity.clone().unwrap_or_default();
                let changes = ParticipantChanges {
                    last_read_message_index: Some(Some(index)),
                    last_read_timestamp: Some(Some(crate::api::params::format_datetime(now()))),
                    ..Default::default()
                };
                let msg = UpdateParticipant {
                    scope,
                    key,
                    changes,
                };
                self.call(
                    ctx,
                    id,
                    conversation_sid,
                    msg,
                    |p| json!({ "participant": protocol::Participant::from(&p) }),
                )
            }
            Command::History {
                conversation_sid,
                before,
                limit,
            } => self.history(ctx, id, conversation_sid, before, limit),
            Command::Participants { conversation_sid } => {
                self.participants(ctx, id, conversation_sid)
            }
            Command::Monitor {
                conversation_sid,
                after_index,
            } => match after_index
                .map(|seen| last_seen("after_index", seen))
                .transpose()
            {
                Ok(after) => self.monitor(ctx, id, scope, role, conversation_sid, after),
                Err(e) => self.answer(ctx, &id, Err(e)),
            },
            Command::Unmonitor { conversation_sid } => {
                if self
                    .subs
                    .get(&conversation_sid)
                    .is_some_and(|s| s.seat == Seat::Monitor)
                {
                    self.unsubscribe(&conversation_sid);
                }
                self.answer(ctx, &id, Ok(json!({})))
            }
            Command::Join { conversation_sid } => {
                if role != Role::Supervisor {
                    let err =
                        ApiError::Forbidden("only supervisors may join a conversation".into());
                    return self.answer(ctx, &id, Err(err));
                }
                let draft = ParticipantDraft {
                    identity: scope.identity.clone(),
                    ..Default::default()
                };
                // Joining is authorised here (supervisor of the account), not as a participant.
                let scope = Scope {
                    identity: None,
                    ..scope
                };
                self.call(
                    ctx,
                    id,
                    conversation_sid,
                    AddParticipant { scope, draft },
                    |p| json!({ "participant": protocol::Participant::from(&p) }),
                )
            }
            Command::Leave { conversation_sid } => {
                let key = scope.identity.clone().unwrap_or_default();
                self.call(
                    ctx,
                    id,
                    conversation_sid,
                    RemoveParticipant { scope, key },
                    |_| json!({}),
                )
            }
            Command::Renew { token } => self.renew(ctx, id, token),
            Command::Worker
            | Command::Activity { .. }
            | Command::Accept { .. }
            | Command::Reject { .. }
            | Command::Wrapup { .. }
            | Command::Complete { .. }
            | Command::Statistics => self.routing_command(ctx, id, command),
        }
    }

    /// Answers command `id` with the outcome of `work` once it is done (other commands and
    /// events go on meanwhile).
    fn answer_later(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        work: impl std::future::Future<Output = Result<Value, ApiError>> + 'static,
    ) {
        ctx.spawn(
            work.into_actor(self)
                .map(move |result, act, ctx| act.answer(ctx, &id, result)),
        );
    }

    /// Sends `msg` to the conversation's actor and answers with `render(result)`.
    fn call<M, T>(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        conversation: ConversationSid,
        msg: M,
        render: impl FnOnce(T) -> Value + 'static,
    ) where
        M: Message<Result = Result<T, ApiError>> + Clone + Send + 'static,
        T: Send + 'static,
        crate::conversations::actor::ConversationActor: Handler<M>,
    {
        let registry = self.app.registry.clone();
        let call = async move { registry.call(&conversation, msg).await.map(render) };
        self.answer_later(ctx, id, call);
    }

    fn hello(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        version: Option<u32>,
        token: Option<String>,
        resume: Resume,
    ) {
        if version.is_some_and(|v| v != protocol::VERSION) {
            self.answer(
                ctx,
                &id,
                Err(ApiError::invalid(
                    "protocol",
                    format!("this server speaks version {}", protocol::VERSION),
                )),
            );
            return self.close(
                ctx,
                Close::ProtocolViolation,
                Some("unsupported protocol version"),
            );
        }
        let app = self.app.clone();
        let url_principal = self.url_principal.take();
        let verify = async move {
            let principal = match (token, url_principal) {
                (Some(token), _) => auth::verify(&app.accounts, &token).await.map_err(Err)?,
                (None, Some(principal)) => principal,
                (None, None) => {
                    let why = "no access token in the URL or the hello frame".into();
                    return Err(Err(crate::gateway::token::TokenError::Malformed(why)));
                }
            };
            let scope = auth::scope(&app.accounts, &principal).await.map_err(Ok)?;
            let joined = participations(&app, &scope).await.map_err(Ok)?;
            let seat = super::routing::seat(&app, &principal).await.map_err(Ok)?;
            Ok((principal, scope, joined, seat))
        };
        ctx.wait(verify.into_actor(self).map(move |result, act, ctx| {
            let (principal, scope, joined, routing) = match result {
                Ok(found) => found,
                Err(Err(token_error)) => return act.refuse_token(ctx, &id, &token_error),
                Err(Ok(api_error)) => {
                    act.answer(ctx, &id, Err(api_error));
                    return act.close(ctx, Close::TokenInvalid, Some("no usable service"));
                }
            };
            act.arm_token_timers(ctx, principal.expires_at);
            // Subscribe first, read indexes after: nothing falls between the two.
            act.watch_participations(ctx, &scope);
            for (_, conversation) in &joined {
                let resumed = resume.get(&conversation.sid).copied().flatten();
                act.subscribe(&conversation.sid, Seat::Participant, resumed);
            }
            if let Some(seat) = &routing {
                act.watch_routing(ctx, seat, principal.role);
            }
            act.auth = Some(Authed {
                principal,
                scope,
                routing,
            });
            act.start_session(ctx, id, joined, resume);
        }));
    }

    /// Reads last indexes and catch-ups, then answers `hello` and sends what was missed.
    fn start_session(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        joined: Vec<(
            crate::store::records::ParticipantRecord,
            crate::store::records::ConversationRecord,
        )>,
        resume: Resume,
    ) {
        let app = self.app.clone();
        let read = async move {
            let mut out = Vec::with_capacity(joined.len());
            for (participant, conversation) in joined {
                let last = app.store.last_message_index(&conversation.sid).await?;
                let missed = match resume.get(&conversation.sid) {
                    Some(&after) => catch_up(&app, &conversation.sid, after).await?,
                    None => Vec::new(),
                };
                out.push((participant, conversation, last, missed));
            }
            Ok::<_, ApiError>(out)
        };
        ctx.wait(read.into_actor(self).map(move |result, act, ctx| {
            let found = match result {
                Ok(found) => found,
                Err(e) => {
                    act.answer(ctx, &id, Err(e));
                    return act.close(ctx, Close::Lagged, Some("could not load conversations"));
                }
            };
            let Some(authed) = &act.auth else { return };
            let session = protocol::json(protocol::Session {
                session_id: &act.id,
                protocol: protocol::VERSION,
                identity: &authed.principal.identity,
                role: auth::role_name(authed.principal.role),
                account_sid: &authed.scope.account,
                chat_service_sid: &authed.scope.service,
                max_frame_bytes: act.app.settings.gateway.max_frame_bytes,
                expires_at: crate::api::params::format_datetime(authed.principal.expires_at),
                conversations: found
                    .iter()
                    .map(|(p, c, last, _)| protocol::Summary {
                        conversation: c.into(),
                        participant: Some(p.into()),
                        last_message_index: *last,
                    })
                    .collect(),
            });
            tracing::info!(session_id = %act.id, identity = %authed.principal.identity, "session started");
            act.answer(ctx, &id, Ok(session));
            for (_, conversation, last, missed) in found {
                act.deliver_history(ctx, &missed);
                // Live events up to here are already known (caught up, or before the boundary).
                act.set_last_index(&conversation.sid, last);
            }
        }));
    }

    fn list(&mut self, ctx: &mut Context<Self>, id: Value, scope: Scope) {
        let app = self.app.clone();
        let read = async move {
            let mut out = Vec::new();
            for (p, c) in participations(&app, &scope).await? {
                let last = app.store.last_message_index(&c.sid).await?;
                out.push(summary(&c, Some(&p), last));
            }
            Ok(json!({ "conversations": out }))
        };
        self.answer_later(ctx, id, read);
    }

    fn typing(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        scope: Scope,
        conversation: ConversationSid,
    ) {
        let interval = self.app.settings.gateway.typing_interval;
        if self
            .typing_sent
            .get(&conversation)
            .is_some_and(|at| at.elapsed() < interval)
        {
            // Already announced; the indicator is still showing on the other side.
            return self.answer(ctx, &id, Ok(json!({})));
        }
        let registry = self.app.registry.clone();
        let sid = conversation.clone();
        let call = async move { registry.call(&sid, Typing { scope }).await };
        ctx.spawn(call.into_actor(self).map(move |result, act, ctx| {
            if result.is_ok() {
                act.typing_sent.insert(conversation, Instant::now());
            }
            act.answer(ctx, &id, result.map(|()| json!({})));
        }));
    }

    fn history(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        conversation: ConversationSid,
        before: Option<u64>,
        limit: Option<u32>,
    ) {
        if !self.subs.contains_key(&conversation) {
            let err = ApiError::NotFound(format!("/Conversations/{conversation}"));
            return self.answer(ctx, &id, Err(err));
        }
        let limit = match limit {
            None => 30,
            Some(n @ 1..=MAX_HISTORY) => n,
            Some(_) => {
                return self.answer(
                    ctx,
                    &id,
                    Err(ApiError::invalid("limit", "must be 1 to 100")),
                );
            }
        };
        let store = self.app.store.clone();
        let read = async move {
            let page = store
                .message_range(&conversation, MessageRange::Before(before), limit)
                .await?;
            let messages: Vec<Value> = page
                .items
                .iter()
                .map(|m| protocol::json(protocol::Message::from(m)))
                .collect();
            Ok(json!({ "messages": messages, "has_more": page.has_more }))
        };
        self.answer_later(ctx, id, read);
    }

    /// The participants of a conversation the session sees, oldest first (at most 1,000:
    /// group chats are small; the REST API pages the rest).
    fn participants(&mut self, ctx: &mut Context<Self>, id: Value, conversation: ConversationSid) {
        if !self.subs.contains_key(&conversation) {
            let err = ApiError::NotFound(format!("/Conversations/{conversation}"));
            return self.answer(ctx, &id, Err(err));
        }
        let store = self.app.store.clone();
        let read = async move {
            let page = store
                .participants(
                    &conversation,
                    PageRequest {
                        page: 0,
                        size: 1000,
                    },
                )
                .await?;
            let participants: Vec<Value> = page
                .items
                .iter()
                .map(|p| protocol::json(protocol::Participant::from(p)))
                .collect();
            Ok(json!({ "participants": participants }))
        };
        self.answer_later(ctx, id, read);
    }

    fn monitor(
        &mut self,
        ctx: &mut Context<Self>,
        id: Value,
        scope: Scope,
        role: Role,
        conversation: ConversationSid,
        after: Option<Option<u64>>,
    ) {
        if role != Role::Supervisor {
            let err = ApiError::Forbidden("only supervisors may monitor conversations".into());
            return self.answer(ctx, &id, Err(err));
        }
        let fresh = !self.subs.contains_key(&conversation);
        // Subscribe before reading: nothing falls between the store read and live events.
        self.subscribe(&conversation, Seat::Monitor, after.flatten());
        let app = self.app.clone();
        let sid = conversation.clone();
        let read = async move {
            let record = app
                .store
                .conversation(&scope.service, sid.as_str())
                .await?
                .filter(|c| c.account_sid == scope.account)
                .ok_or_else(|| ApiError::NotFound(format!("/Conversations/{sid}")))?;
            let last = app.store.last_message_index(&sid).await?;
            let missed = match after {
                Some(after) if fresh => catch_up(&app, &sid, after).await?,
                _ => Vec::new(),
            };
            Ok::<_, ApiError>((record, last, missed))
        };
        ctx.wait(
            read.into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok((record, last, missed)) => {
                        act.answer(ctx, &id, Ok(summary(&record, None, last)));
                        if fresh {
                            act.deliver_history(ctx, &missed);
                            act.set_last_index(&conversation, last);
                        }
                    }
                    Err(e) => {
                        if fresh {
                            act.unsubscribe(&conversation);
                        }
                        act.answer(ctx, &id, Err(e));
                    }
                }),
        );
    }

    fn renew(&mut self, ctx: &mut Context<Self>, id: Value, token: String) {
        let app = self.app.clone();
        let verify = async move { auth::verify(&app.accounts, &token).await };
        ctx.spawn(verify.into_actor(self).map(move |result, act, ctx| {
            let Some(authed) = &mut act.auth else { return };
            let outcome = match result {
                Err(e) => Err(ApiError::invalid("token", e)),
                Ok(p)
                    if p.account != authed.principal.account
                        || p.identity != authed.principal.identity =>
                {
                    Err(ApiError::Forbidden(
                        "a renewed token must be for the same account and identity".into(),
                    ))
                }
                Ok(p) => {
                    let expires_at = p.expires_at;
                    authed.principal.expires_at = expires_at;
                    act.arm_token_timers(ctx, expires_at);
                    Ok(json!({ "expires_at": crate::api::params::format_datetime(expires_at) }))
                }
            };
            act.answer(ctx, &id, outcome);
        }));
    }
}
