//! One simulated agent: a worker's WebSocket session doing an agent's day. It goes Available,
//! answers each offer after its think time (accepting, or rejecting or letting it time out by
//! the scenario's ratios), greets the customer once joined, reads each customer message,
//! signals typing and replies after its reply delay, ends the chat (closing the interaction's
//! channel over REST with its own token, as the desktop does) after the customer's last
//! message, then wraps up and completes. A timed-out offer sends the worker offline; the agent
//! comes back Available a second later. In the `Closing` phase it ends every chat it still has.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use super::metrics::{Lat, bump};
use super::rest::Auth;
use super::setup::agent_identity;
use super::socket::Socket;
use super::stream::Stream;
use super::wire::{self, Data, Incoming, Reservation};
use super::{Phase, Received, Run};
use crate::gateway::token::{Grants, Role};

/// What a timer or a REST call tells the agent to do next.
#[derive(Debug)]
enum Action {
    /// Answer an offer.
    Answer { reservation: String, accept: bool },
    /// Type, then reply in `conversation` after the delay.
    Typing { conversation: String },
    /// Reply in `conversation`.
    Reply { conversation: String, last: bool },
    /// End the chat in `conversation`.
    End { conversation: String },
    /// Complete a reservation in wrap-up.
    Complete { reservation: String },
    /// Go Available again.
    Available,
}

/// A chat the agent holds.
struct Chat {
    reservation: String,
    interaction: Option<String>,
    channel: Option<String>,
    sms: bool,
    stream: Stream,
    /// The agent joined the conversation (its stream counts only from then).
    joined: bool,
    /// Replies sent (the next reply's number: greeting 0).
    replies: u64,
    ended: bool,
    /// Its socket delivered the conversation's `closed` state: every message accepted before
    /// the close came before it.
    closed: bool,
    /// The task completed while the close was still on its way; the chat is handed in when
    /// the close arrives.
    completed: bool,
}

/// An answer the agent waits for.
enum Pending {
    Accept {
        conversation: String,
    },
    /// `last`: the chat ends once this reply is answered (ending it earlier could overtake
    /// the reply still on its way in, and refuse it).
    Send {
        conversation: String,
        at: u64,
        last: bool,
    },
    Other,
}

struct Agent {
    run: Arc<Run>,
    identity: String,
    token: String,
    socket: Socket,
    tx: mpsc::UnboundedSender<Action>,
    /// conversation → chat.
    chats: HashMap<String, Chat>,
    /// reservation → conversation, for the routing events.
    by_reservation: HashMap<String, String>,
    /// conversation → µs the accept was sent (accept → joined).
    accepting: HashMap<String, u64>,
    pending: HashMap<u64, Pending>,
    done: Vec<Received>,
}

/// Mints an access token for a load party, as a customer's backend would.
pub fn token(
    run: &Run,
    identity: &str,
    role: Role,
    worker: Option<String>,
) -> Result<String, String> {
    let key = crate::store::records::KeyRecord {
        sid: run
            .plan
            .key_sid
            .parse()
            .map_err(|e| format!("key SID: {e}"))?,
        account_sid: run
            .rest
            .account
            .parse()
            .map_err(|e| format!("account SID: {e}"))?,
        friendly_name: String::new(),
        secret: run.plan.key_secret.clone(),
        date_created: 0,
        date_updated: 0,
    };
    let workspace = (role != Role::Guest).then(|| run.plan.workspace.clone());
    let grants = Grants::for_role(role, None, workspace, worker);
    let ttl = i64::try_from(run.scenario.duration.as_secs()).unwrap_or(0) + 4 * 3600;
    Ok(crate::gateway::token::mint(
        &key,
        identity,
        grants,
        crate::store::records::now(),
        ttl,
    ))
}

/// Signs in as a person would on `/login`; returns the access token the server minted.
async fn sign_in(run: &Run, username: &str, password: &str) -> Result<String, String> {
    let form = [
        ("Username", username.to_owned()),
        ("Password", password.to_owned()),
        ("AccountSid", run.rest.account.clone()),
    ];
    match run
        .rest
        .post("/switchboard/v1/SignIn", Auth::Anonymous, &form)
        .await
    {
        Ok(v) => Ok(super::rest::text(&v, "token")),
        Err(e) => {
            run.metrics.error(e.key.clone());
            Err(e.to_string())
        }
    }
}

/// Runs agent `i` until the run is done; returns what it saw of each conversation.
pub async fn run(run: Arc<Run>, i: usize) -> Vec<Received> {
    bump(&run.metrics.counts.agents);
    let identity = agent_identity(i);
    let worker = run.plan.workers.get(i).cloned();
    let token = match &run.plan.password {
        Some(password) => sign_in(&run, &identity, password).await,
        None => token(&run, &identity, Role::Agent, worker),
    };
    let opened = match token {
        Ok(token) => {
            let _permit = run.connecting.acquire().await;
            Socket::open(&run, &token)
                .await
                .map(|(socket, _)| (socket, token))
        }
        Err(e) => Err(e),
    };
    let (socket, token) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            run.metrics.error("agent connect");
            tracing::warn!(agent = %identity, error = %e, "agent could not connect");
            return Vec::new();
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let mut agent = Agent {
        run: run.clone(),
        identity,
        token,
        socket,
        tx,
        chats: HashMap::new(),
        by_reservation: HashMap::new(),
        accepting: HashMap::new(),
        pending: HashMap::new(),
        done: Vec::new(),
    };
    if agent
        .command(|id| wire::activity(id, "Available"), Pending::Other)
        .await
        .is_err()
    {
        run.metrics.error("agent connect");
        return Vec::new();
    }
    bump(&run.metrics.counts.agents_connected);
    agent.serve(rx).await;
    agent.linger().await;
    agent.finish().await
}

impl Agent {
    /// Writes the command `frame` builds for a fresh id and remembers what its answer is for.
    async fn command(
        &mut self,
        frame: impl FnOnce(u64) -> String,
        pending: Pending,
    ) -> Result<u64, String> {
        let id = self.socket.id();
        self.pending.insert(id, pending);
        self.socket.write(frame(id)).await?;
        Ok(id)
    }

    fn later(&self, after: Duration, action: Action) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(action);
        });
    }

    async fn serve(&mut self, mut rx: mpsc::UnboundedReceiver<Action>) {
        let mut phase = self.run.phase.clone();
        let mut closing = false;
        loop {
            tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(frame)) => self.on_frame(frame).await,
                    Some(Err(_)) | None => return,
                },
                Some(action) = rx.recv() => {
                    if let Err(e) = self.act(action).await {
                        tracing::debug!(agent = %self.identity, error = %e, "agent action failed");
                        return;
                    }
                }
                changed = phase.changed() => {
                    if changed.is_err() { return; }
                    let now = *phase.borrow();
                    if now >= Phase::Closing && !closing {
                        closing = true;
                        // Chats still being accepted are ended once the accept is answered.
                        let open: Vec<String> = self.chats.iter().filter(|(_, c)| c.joined && !c.ended).map(|(k, _)| k.clone()).collect();
                        for conversation in open {
                            let _ = self.tx.send(Action::End { conversation });
                        }
                    }
                    if now == Phase::Done { return; }
                }
            }
        }
    }

    async fn act(&mut self, action: Action) -> Result<(), String> {
        let run = self.run.clone();
        let s = &run.scenario;
        match action {
            Action::Answer {
                reservation,
                accept,
            } => {
                if accept {
                    let conversation = self
                        .by_reservation
                        .get(&reservation)
                        .cloned()
                        .unwrap_or_default();
                    let at = self.run.metrics.now_us();
                    self.accepting.insert(conversation.clone(), at);
                    self.command(
                        |id| wire::reservation("accept", id, &reservation),
                        Pending::Accept { conversation },
                    )
                    .await?;
                } else {
                    bump(&self.run.metrics.counts.rejected);
                    self.command(
                        |id| wire::reservation("reject", id, &reservation),
                        Pending::Other,
                    )
                    .await?;
                }
            }
            Action::Typing { conversation } => {
                if self
                    .chats
                    .get(&conversation)
                    .is_some_and(|c| !c.ended && !c.sms)
                {
                    self.typing(&conversation).await?;
                }
                self.later(
                    s.agents.reply_delay,
                    Action::Reply {
                        conversation,
                        last: false,
                    },
                );
            }
            Action::Reply { conversation, last } => self.reply(&conversation, last).await?,
            Action::End { conversation } => self.end(&conversation),
            Action::Complete { reservation } => {
                self.command(
                    |id| wire::reservation("complete", id, &reservation),
                    Pending::Other,
                )
                .await?;
            }
            Action::Available => {
                if self.run.phase() < Phase::Closing {
                    self.command(|id| wire::activity(id, "Available"), Pending::Other)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn typing(&mut self, conversation: &str) -> Result<(), String> {
        self.run.typing_sent(conversation, &self.identity);
        self.command(
            |id| wire::on_conversation("typing", id, conversation),
            Pending::Other,
        )
        .await?;
        Ok(())
    }

    /// Sends the next reply (the greeting first) into `conversation`.
    async fn reply(&mut self, conversation: &str, last: bool) -> Result<(), String> {
        let Some(chat) = self.chats.get_mut(conversation) else {
            return Ok(());
        };
        if chat.ended {
            return Ok(());
        }
        let seq = chat.replies;
        chat.replies += 1;
        let at = self.run.metrics.now_us();
        let body = wire::body(at, seq, self.run.scenario.customers.body_bytes, false);
        let client_id = format!("{}-{conversation}-{seq}", self.identity);
        self.run.metrics.sent();
        self.command(
            |id| wire::send(id, conversation, &body, &[], &client_id),
            Pending::Send {
                conversation: conversation.to_owned(),
                at,
                last,
            },
        )
        .await?;
        Ok(())
    }

    /// Ends `conversation` shortly: its last reply has been answered (or refused).
    fn end_soon(&self, conversation: String) {
        self.later(Duration::from_millis(100), Action::End { conversation });
    }

    /// Closes the interaction's channel (the conversation closes, the task goes to wrap-up).
    fn end(&mut self, conversation: &str) {
        let Some(chat) = self.chats.get_mut(conversation) else {
            return;
        };
        if chat.ended {
            return;
        }
        chat.ended = true;
        let (Some(interaction), Some(channel)) = (chat.interaction.clone(), chat.channel.clone())
        else {
            // Not a Flex interaction: wrap the task up directly.
            let reservation = chat.reservation.clone();
            let _ = self.tx.send(Action::Complete { reservation });
            return;
        };
        let run = self.run.clone();
        let token = self.token.clone();
        tokio::spawn(async move {
            let path = format!("/flex-api/v1/Interactions/{interaction}/Channels/{channel}");
            match run
                .rest
                .post(&path, Auth::Token(&token), &[("Status", "closed".into())])
                .await
            {
                Ok(_) => bump(&run.metrics.counts.customers_finished),
                Err(e) => {
                    run.metrics.error(e.key.clone());
                    tracing::debug!(error = %e, "ending a chat failed");
                }
            }
        });
    }

    async fn on_frame(&mut self, frame: Incoming) {
        match frame.kind.as_str() {
            "reply" => {
                self.on_reply(frame.id, frame.result.unwrap_or_default())
                    .await
            }
            "error" => {
                let code = frame.error.map(|e| e.code).unwrap_or_default();
                self.run.metrics.error(code.to_string());
                match frame.id.and_then(|id| self.pending.remove(&id)) {
                    Some(Pending::Send {
                        conversation, last, ..
                    }) => {
                        bump(&self.run.metrics.counts.send_errors);
                        if last {
                            self.end_soon(conversation);
                        }
                    }
                    // Taken by another session, or gone: not this agent's chat.
                    Some(Pending::Accept { conversation, .. })
                        if self.chats.remove(&conversation).is_some() =>
                    {
                        self.run.open_chats.fetch_sub(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            "event" => {
                let event = frame.event.unwrap_or_default();
                let conversation = frame.conversation_sid.unwrap_or_default();
                self.on_event(&event, conversation, frame.data.unwrap_or_default())
                    .await;
            }
            _ => self.run.metrics.error("unexpected frame"),
        }
    }

    async fn on_reply(&mut self, id: Option<u64>, result: Data) {
        let Some(pending) = id.and_then(|id| self.pending.remove(&id)) else {
            return;
        };
        match pending {
            Pending::Accept { conversation, .. } => {
                bump(&self.run.metrics.counts.accepted);
                // Joined before the answer (the interaction adds the agent first): greet, or,
                // when the run is closing, end the chat at once.
                if self.chats.contains_key(&conversation) {
                    let action = if self.run.phase() >= Phase::Closing {
                        Action::End { conversation }
                    } else {
                        Action::Reply {
                            conversation,
                            last: false,
                        }
                    };
                    let _ = self.tx.send(action);
                }
            }
            Pending::Send {
                conversation,
                at,
                last,
            } => {
                self.run.metrics.record(Lat::Ack, at);
                self.run.metrics.acked();
                if last {
                    self.end_soon(conversation.clone());
                }
                if let Some(index) = result.message.and_then(|m| m.index) {
                    self.run.saw(&conversation, index);
                    if let Some(chat) = self.chats.get_mut(&conversation) {
                        chat.stream.own(index);
                        if chat.sms {
                            *self
                                .run
                                .sms_replies
                                .entry(conversation.clone())
                                .or_insert(0) += 1;
                        }
                    }
                }
            }
            Pending::Other => {}
        }
    }

    async fn on_event(&mut self, event: &str, conversation: String, data: Data) {
        match event {
            "reservation_created" => self.on_offer(data.reservation.unwrap_or_default()),
            "reservation_updated" => self.on_reservation(
                data.event_type.as_deref(),
                data.reservation.unwrap_or_default(),
            ),
            "worker_updated"
                if data.worker.as_ref().is_some_and(|w| !w.available)
                    && self.run.phase() < Phase::Closing =>
            {
                self.later(Duration::from_secs(1), Action::Available);
            }
            "conversation_joined" => {
                let last = data.last_message_index.and_then(|i| u64::try_from(i).ok());
                if let Some(at) = self.accepting.remove(&conversation) {
                    self.run.metrics.record(Lat::AcceptToJoined, at);
                }
                if let Some(chat) = self.chats.get_mut(&conversation) {
                    chat.stream = Stream::after(last);
                    chat.joined = true;
                }
            }
            "message_added" => self.on_message(conversation, data).await,
            "participant_updated" => {
                if let Some(reader) = data.identity.filter(|r| *r != self.identity) {
                    self.run
                        .horizon_seen(&conversation, reader, data.last_read_message_index);
                }
            }
            "typing" => {
                if let Some(typer) = data.identity.filter(|t| *t != self.identity) {
                    self.run.typing_seen(&conversation, typer);
                }
            }
            "conversation_state_updated"
                if data.conversation.is_some_and(|c| c.state == "closed") =>
            {
                self.run.closed.insert(conversation.clone(), ());
                if let Some(chat) = self.chats.get_mut(&conversation) {
                    chat.closed = true;
                    if chat.completed {
                        self.drop_chat(&conversation);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_offer(&mut self, reservation: Reservation) {
        let run = &self.run;
        bump(&run.metrics.counts.offers);
        let task = reservation.task.unwrap_or_default();
        let a = task.attributes;
        let customer = a
            .customer_name
            .clone()
            .or(a.customer_address.clone())
            .unwrap_or_default();
        if let Some((_, at)) = run.contacts.remove(&customer) {
            run.metrics.record(Lat::ContactToOffer, at);
        }
        let Some(conversation) = a.conversation_sid.clone() else {
            return;
        };
        self.by_reservation
            .insert(reservation.sid.clone(), conversation.clone());
        let s = &run.scenario.agents;
        let roll: f64 = rand::random_range(0.0..1.0);
        if run.phase() >= Phase::Closing {
            // End of the run: nobody takes new work; the offer is rejected.
            let _ = self.tx.send(Action::Answer {
                reservation: reservation.sid,
                accept: false,
            });
            return;
        }
        if roll < s.timeout_ratio {
            bump(&run.metrics.counts.offer_timeouts);
            return; // left to time out
        }
        let accept = roll >= s.timeout_ratio + s.reject_ratio;
        if accept {
            self.chats.insert(
                conversation.clone(),
                Chat {
                    reservation: reservation.sid.clone(),
                    interaction: a.flex_interaction_sid,
                    channel: a.flex_interaction_channel_sid,
                    sms: a.channel_type.as_deref() == Some("sms"),
                    stream: Stream::default(),
                    joined: false,
                    replies: 0,
                    ended: false,
                    closed: false,
                    completed: false,
                },
            );
            self.run.open_chats.fetch_add(1, Ordering::Relaxed);
        }
        self.later(
            s.think_time,
            Action::Answer {
                reservation: reservation.sid,
                accept,
            },
        );
    }

    fn on_reservation(&mut self, event_type: Option<&str>, reservation: Reservation) {
        let Some(conversation) = self.by_reservation.get(&reservation.sid).cloned() else {
            return;
        };
        match event_type {
            Some("reservation.wrapup") => {
                let wrapup = self.run.scenario.agents.wrapup_time;
                self.later(
                    wrapup,
                    Action::Complete {
                        reservation: reservation.sid,
                    },
                );
            }
            Some("reservation.completed") => {
                bump(&self.run.metrics.counts.completed);
                self.by_reservation.remove(&reservation.sid);
                // Reservation events travel apart from the conversation's: the completion can
                // overtake messages still on their way, so a Flex chat is handed in only once
                // its close (which follows them) has arrived.
                match self.chats.get_mut(&conversation) {
                    Some(chat) if chat.interaction.is_some() && chat.joined && !chat.closed => {
                        chat.completed = true;
                    }
                    _ => self.drop_chat(&conversation),
                }
            }
            Some(
                "reservation.canceled"
                | "reservation.rescinded"
                | "reservation.timeout"
                | "reservation.rejected",
            ) => {
                self.by_reservation.remove(&reservation.sid);
                if self
                    .chats
                    .get(&conversation)
                    .is_some_and(|c| c.reservation == reservation.sid)
                {
                    self.drop_chat(&conversation);
                }
            }
            _ => {}
        }
    }

    fn drop_chat(&mut self, conversation: &str) {
        if let Some(chat) = self.chats.remove(conversation) {
            self.run.open_chats.fetch_sub(1, Ordering::Relaxed);
            // A chat it never joined (the task went before the accept) promises nothing.
            self.done.push(Received {
                conversation: conversation.to_owned(),
                stream: chat.stream,
                stayed: chat.joined,
                sms: false,
                who: "agent",
            });
        }
    }

    async fn on_message(&mut self, conversation: String, data: Data) {
        let m = &self.run.metrics;
        let Some(index) = data.index else { return };
        self.run.saw(&conversation, index);
        let Some(chat) = self.chats.get_mut(&conversation) else {
            // A conversation it left (its chat completed): nothing more is owed.
            return;
        };
        m.arrival(chat.stream.deliver(index, true));
        m.delivered();
        if data.author.as_deref() == Some(self.identity.as_str()) {
            return; // its own message, echoed
        }
        if data.media.is_some_and(|v| !v.is_empty()) {
            bump(&m.counts.media_received);
        }
        let stamp = data.body.as_deref().and_then(wire::stamp);
        let sms = chat.sms;
        let ended = chat.ended;
        if let Some((at, _, _)) = stamp {
            m.record(
                if sms {
                    Lat::SmsToAgent
                } else {
                    Lat::CustomerToAgent
                },
                at,
            );
        }
        // Read it.
        self.run.read_sent(&conversation, &self.identity, index);
        if self
            .command(|id| wire::read(id, &conversation, index), Pending::Other)
            .await
            .is_err()
        {
            return;
        }
        if ended {
            return;
        }
        let last = stamp.is_some_and(|(_, _, last)| last);
        let s = &self.run.scenario.agents;
        if last {
            // The customer is done: a last reply, then end the chat.
            self.later(
                s.reply_delay,
                Action::Reply {
                    conversation,
                    last: true,
                },
            );
        } else if rand::random_bool(s.reply_ratio) {
            let _ = self.tx.send(Action::Typing { conversation });
        }
    }

    /// Reads on until the socket is quiet a moment (at most 3 s): deliveries in flight when
    /// the run ended are not lost.
    async fn linger(&mut self) {
        let until = tokio::time::Instant::now() + Duration::from_secs(3);
        while tokio::time::Instant::now() < until {
            match tokio::time::timeout(Duration::from_millis(300), self.socket.next()).await {
                Ok(Some(Ok(frame))) => self.on_frame(frame).await,
                _ => return,
            }
        }
    }

    /// Goes offline and hands in its streams.
    async fn finish(mut self) -> Vec<Received> {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.socket.write(wire::activity(99, "Offline")),
        )
        .await;
        let conversations: Vec<String> = self.chats.keys().cloned().collect();
        for c in conversations {
            self.drop_chat(&c);
        }
        self.socket.close().await;
        self.done
    }
}
