//! One simulated webchat customer: starts a chat as the widget does (`Webchat/Start` with a
//! name and a first question, no credentials), connects with the guest token, waits for the
//! agent's greeting, then writes its messages one interval apart (typing first, some with an
//! attachment uploaded to the Media Content Service), reads every agent message, and after
//! its last message waits for the agent to end the conversation. It gives up after its
//! patience without an agent; when the run is ending, its next message (at its usual time) is
//! its last.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::metrics::{Lat, bump};
use super::rest::{Auth, text};
use super::socket::Socket;
use super::stream::Stream;
use super::wire::{self, Data, Incoming};
use super::{Phase, Received, Run};

/// Where the customer is in its chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// No agent yet.
    Waiting,
    /// Served; writing message `next` at the due time (typing first).
    Writing { next: u32, typed: bool },
    /// Wrote its last message; waits for the agent to end the chat.
    Done,
}

struct Customer {
    run: Arc<Run>,
    identity: String,
    token: String,
    conversation: String,
    service: String,
    socket: Socket,
    stream: Stream,
    /// send id → µs written.
    pending: std::collections::HashMap<u64, u64>,
    step: Step,
    due: Instant,
    closed: bool,
}

/// A unique name per run and customer (the task's `customerName`).
pub fn name(run: &Run, n: usize) -> String {
    let tag = run
        .plan
        .key_sid
        .get(run.plan.key_sid.len().saturating_sub(6)..)
        .unwrap_or("");
    format!("load-customer-{tag}-{n}")
}

/// Runs webchat customer `n`; returns what it saw of its conversation.
pub async fn run(run: Arc<Run>, n: usize) -> Vec<Received> {
    let result = chat(run.clone(), n).await;
    run.metrics.gauge(true, -1);
    result
}

async fn chat(run: Arc<Run>, n: usize) -> Vec<Received> {
    let m = &run.metrics;
    bump(&m.counts.customers_started);
    bump(&m.counts.customers_webchat);
    let name = name(&run, n);
    let at = m.now_us();
    run.contacts.insert(name.clone(), at);
    let question = wire::body(at, 0, run.scenario.customers.body_bytes, false);
    m.sent();
    let started = run
        .rest
        .post(
            "/switchboard/v1/Webchat/Start",
            Auth::Anonymous,
            &[
                ("AddressSid", run.plan.chat_address.clone()),
                ("FriendlyName", name.clone()),
                ("Question", question),
            ],
        )
        .await;
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            m.error(e.key);
            bump(&m.counts.send_errors);
            run.contacts.remove(&name);
            return Vec::new();
        }
    };
    m.acked();
    let conversation = text(&started, "conversation_sid");
    let token = text(&started, "token");
    run.supervisors.assign(&conversation);
    let opened = {
        let _permit = run.connecting.acquire().await;
        Socket::open(&run, &token).await
    };
    let (socket, session) = match opened {
        Ok(o) => o,
        Err(e) => {
            m.error("customer connect");
            tracing::debug!(error = %e, "customer could not connect");
            return Vec::new();
        }
    };
    let last = session
        .conversations
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.conversation.sid == conversation))
        .and_then(|c| c.last_message_index)
        .and_then(|i| u64::try_from(i).ok());
    if let Some(last) = last {
        run.saw(&conversation, last);
    }
    let mut customer = Customer {
        identity: text(&started, "identity"),
        service: session.chat_service_sid.clone().unwrap_or_default(),
        run: run.clone(),
        token,
        conversation,
        socket,
        stream: Stream::after(last),
        pending: Default::default(),
        step: Step::Waiting,
        due: Instant::now() + run.scenario.customers.patience,
        closed: false,
    };
    customer.serve().await;
    let received = Received {
        conversation: customer.conversation.clone(),
        stream: std::mem::take(&mut customer.stream),
        stayed: customer.closed,
        sms: false,
        who: "customer",
    };
    customer.socket.close().await;
    vec![received]
}

impl Customer {
    async fn serve(&mut self) {
        let mut phase = self.run.phase.clone();
        loop {
            let due = self.due;
            tokio::select! {
                frame = self.socket.next() => match frame {
                    Some(Ok(frame)) => {
                        if self.on_frame(frame).await.is_err() || self.closed {
                            return;
                        }
                    }
                    Some(Err(_)) | None => return,
                },
                () = tokio::time::sleep_until(due) => {
                    if self.on_due().await.is_err() {
                        return;
                    }
                }
                changed = phase.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = *phase.borrow();
                    match (now, self.step) {
                        (Phase::Done, _) => return,
                        // A writing customer's next message, at its usual time, is its last:
                        // departures spread over one interval as arrivals did.
                        (Phase::Ending | Phase::Closing, Step::Waiting) => return,
                        _ => {}
                    }
                }
            }
        }
    }

    /// The timer: patience ran out, or the next message (or its typing) is due.
    async fn on_due(&mut self) -> Result<(), String> {
        let run = self.run.clone();
        let s = &run.scenario.customers;
        match self.step {
            Step::Waiting => {
                bump(&self.run.metrics.counts.customers_abandoned);
                Err("no agent came".into())
            }
            Step::Writing { next, typed } => {
                let ending = self.run.phase() >= Phase::Ending;
                if s.typing && !typed && !ending {
                    self.typing().await?;
                    let lead = (s.message_interval / 2).min(Duration::from_secs(1));
                    self.step = Step::Writing { next, typed: true };
                    self.due = Instant::now() + lead;
                    return Ok(());
                }
                let last = next >= s.messages || ending;
                self.message(u64::from(next), last).await?;
                if last {
                    self.step = Step::Done;
                    self.due = Instant::now() + s.patience;
                } else {
                    self.step = Step::Writing {
                        next: next + 1,
                        typed: false,
                    };
                    let lead = if s.typing {
                        (s.message_interval / 2).min(Duration::from_secs(1))
                    } else {
                        Duration::ZERO
                    };
                    self.due = Instant::now() + s.message_interval.saturating_sub(lead);
                }
                Ok(())
            }
            Step::Done => Err("the agent never ended the chat".into()),
        }
    }

    async fn typing(&mut self) -> Result<(), String> {
        let id = self.socket.id();
        self.run.typing_sent(&self.conversation, &self.identity);
        self.socket
            .write(wire::on_conversation("typing", id, &self.conversation))
            .await
    }

    async fn message(&mut self, seq: u64, last: bool) -> Result<(), String> {
        let s = &self.run.scenario.customers;
        let mut media = Vec::new();
        if rand::random_bool(s.attachment_ratio) && !self.service.is_empty() {
            match self.upload().await {
                Ok(sid) => {
                    bump(&self.run.metrics.counts.media_sent);
                    media.push(sid);
                }
                Err(key) => self.run.metrics.error(key),
            }
        }
        let id = self.socket.id();
        let at = self.run.metrics.now_us();
        let body = wire::body(at, seq, s.body_bytes, last);
        let client_id = format!("{}-{seq}", self.identity);
        self.pending.insert(id, at);
        self.run.metrics.sent();
        self.socket
            .write(wire::send(
                id,
                &self.conversation,
                &body,
                &media,
                &client_id,
            ))
            .await
    }

    /// Uploads an attachment with the guest's token; returns its `ME…` SID or the error key.
    async fn upload(&self) -> Result<String, String> {
        let size = self.run.scenario.customers.attachment_bytes;
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.resize(size.max(8), 0);
        let path = format!("/mcs/v1/Services/{}/Media?Filename=load.png", self.service);
        let media = self
            .run
            .rest
            .upload(&path, Auth::Token(&self.token), "image/png", bytes)
            .await
            .map_err(|e| e.key)?;
        Ok(text(&media, "sid"))
    }

    async fn on_frame(&mut self, frame: Incoming) -> Result<(), String> {
        let m = &self.run.metrics;
        match frame.kind.as_str() {
            "reply" => {
                if let Some(at) = frame.id.and_then(|id| self.pending.remove(&id)) {
                    m.record(Lat::Ack, at);
                    m.acked();
                    if let Some(index) = frame.result.and_then(|r| r.message).and_then(|m| m.index)
                    {
                        self.run.saw(&self.conversation, index);
                        self.stream.own(index);
                    }
                }
            }
            "error" => {
                m.error(frame.error.map(|e| e.code).unwrap_or_default().to_string());
                if frame.id.and_then(|id| self.pending.remove(&id)).is_some() {
                    bump(&m.counts.send_errors);
                }
            }
            "event" => {
                let event = frame.event.unwrap_or_default();
                if frame.conversation_sid.as_deref() == Some(self.conversation.as_str()) {
                    self.on_event(&event, frame.data.unwrap_or_default())
                        .await?;
                }
            }
            _ => m.error("unexpected frame"),
        }
        Ok(())
    }

    async fn on_event(&mut self, event: &str, data: Data) -> Result<(), String> {
        let m = &self.run.metrics;
        match event {
            "message_added" => {
                let Some(index) = data.index else {
                    return Ok(());
                };
                self.run.saw(&self.conversation, index);
                m.arrival(self.stream.deliver(index, true));
                m.delivered();
                if data.author.as_deref() == Some(self.identity.as_str()) {
                    return Ok(());
                }
                if let Some((at, _, _)) = data.body.as_deref().and_then(wire::stamp) {
                    m.record(Lat::AgentToCustomer, at);
                }
                if self.step == Step::Waiting {
                    // The agent's greeting: served. The first message comes a random part of
                    // an interval later, so customers' phases spread out.
                    bump(&m.counts.customers_served);
                    let interval = self.run.scenario.customers.message_interval;
                    let offset = interval.mul_f64(rand::random_range(0.0..1.0));
                    self.step = Step::Writing {
                        next: 1,
                        typed: false,
                    };
                    self.due = Instant::now() + offset;
                }
                let id = self.socket.id();
                self.run
                    .read_sent(&self.conversation, &self.identity, index);
                self.socket
                    .write(wire::read(id, &self.conversation, index))
                    .await?;
            }
            "participant_updated" => {
                if let Some(reader) = data.identity.filter(|r| *r != self.identity) {
                    self.run
                        .horizon_seen(&self.conversation, reader, data.last_read_message_index);
                }
            }
            "typing" => {
                if let Some(typer) = data.identity.filter(|t| *t != self.identity) {
                    self.run.typing_seen(&self.conversation, typer);
                }
            }
            "conversation_state_updated"
                if data.conversation.is_some_and(|c| c.state == "closed") =>
            {
                self.run.closed.insert(self.conversation.clone(), ());
                self.closed = true;
            }
            _ => {}
        }
        Ok(())
    }
}
