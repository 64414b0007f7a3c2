//! One simulated supervisor: a supervisor's WebSocket session that monitors conversations
//! anonymously as the pool hands them out (up to `per_supervisor` at once), from their first
//! message, and stops monitoring each when it closes. It only listens: every message of every
//! conversation it monitors must reach it once, in order. When the run ends it keeps reading
//! until the socket has been quiet a moment, so deliveries in flight are not taken for lost;
//! a monitor the server never answered promises nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::agent::token;
use super::metrics::{Lat, bump};
use super::socket::Socket;
use super::stream::Stream;
use super::wire::{self, Incoming};
use super::{Phase, Received, Run};
use crate::gateway::token::Role;

/// How long the socket must be quiet at the end before the supervisor hands in.
const QUIET: Duration = Duration::from_millis(300);
/// The longest it keeps reading after the run ended.
const LINGER: Duration = Duration::from_secs(3);

struct Supervisor {
    run: Arc<Run>,
    socket: Socket,
    slot: usize,
    streams: HashMap<String, Stream>,
    /// `monitor` id → conversation, until answered.
    pending: HashMap<u64, String>,
    /// Conversations whose `monitor` the server answered.
    answered: HashSet<String>,
    done: Vec<Received>,
}

/// Runs supervisor `i` until the run is done; returns what it saw of each conversation.
pub async fn run(run: Arc<Run>, i: usize) -> Vec<Received> {
    let m = &run.metrics;
    let identity = format!("load-supervisor-{i}");
    let opened = match token(&run, &identity, Role::Supervisor, None) {
        Ok(token) => {
            let _permit = run.connecting.acquire().await;
            Socket::open(&run, &token).await
        }
        Err(e) => Err(e),
    };
    let socket = match opened {
        Ok((socket, _)) => socket,
        Err(e) => {
            m.error("supervisor connect");
            tracing::warn!(supervisor = %identity, error = %e, "supervisor could not connect");
            // Counted, so the run does not wait for it.
            bump(&m.counts.supervisors);
            return Vec::new();
        }
    };
    bump(&m.counts.supervisors);
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let slot = run
        .supervisors
        .register(tx, run.scenario.supervisors.per_supervisor);
    let mut supervisor = Supervisor {
        run: run.clone(),
        socket,
        slot,
        streams: HashMap::new(),
        pending: HashMap::new(),
        answered: HashSet::new(),
        done: Vec::new(),
    };
    supervisor.serve(rx).await;
    supervisor.linger().await;
    supervisor.finish().await
}

impl Supervisor {
    async fn serve(&mut self, mut rx: mpsc::UnboundedReceiver<String>) {
        let mut phase = self.run.phase.clone();
        loop {
            tokio::select! {
                conversation = rx.recv() => {
                    let Some(conversation) = conversation else { return };
                    let id = self.socket.id();
                    if self.socket.write(wire::monitor(id, &conversation)).await.is_err() {
                        return;
                    }
                    bump(&self.run.metrics.counts.monitored);
                    self.pending.insert(id, conversation.clone());
                    self.streams.insert(conversation, Stream::default());
                }
                frame = self.socket.next() => {
                    let Some(Ok(frame)) = frame else { return };
                    self.on_frame(frame).await;
                }
                changed = phase.changed() => {
                    if changed.is_err() || *phase.borrow() == Phase::Done {
                        return;
                    }
                }
            }
        }
    }

    /// Reads on until the socket is quiet (or the linger ends): deliveries in flight count.
    async fn linger(&mut self) {
        let until = Instant::now() + LINGER;
        while Instant::now() < until {
            match tokio::time::timeout(QUIET, self.socket.next()).await {
                Ok(Some(Ok(frame))) => self.on_frame(frame).await,
                _ => return,
            }
        }
    }

    async fn on_frame(&mut self, frame: Incoming) {
        let m = &self.run.metrics;
        match (frame.kind.as_str(), frame.event.as_deref()) {
            ("reply", _) => {
                if let Some(conversation) = frame.id.and_then(|id| self.pending.remove(&id)) {
                    self.answered.insert(conversation);
                }
            }
            ("error", _) => {
                m.error(frame.error.map(|e| e.code).unwrap_or_default().to_string());
                if let Some(conversation) = frame.id.and_then(|id| self.pending.remove(&id)) {
                    // Not monitored: nothing is owed.
                    self.streams.remove(&conversation);
                    self.run.supervisors.release(self.slot);
                }
            }
            ("event", Some("message_added")) => {
                let conversation = frame.conversation_sid.unwrap_or_default();
                let data = frame.data.unwrap_or_default();
                let (Some(stream), Some(index)) = (self.streams.get_mut(&conversation), data.index)
                else {
                    return;
                };
                self.run.saw(&conversation, index);
                m.arrival(stream.deliver(index, true));
                m.delivered();
                if let Some((at, _, _)) = data.body.as_deref().and_then(wire::stamp) {
                    m.record(Lat::ToSupervisor, at);
                }
            }
            ("event", Some("conversation_state_updated")) => {
                let conversation = frame.conversation_sid.unwrap_or_default();
                let closed = frame
                    .data
                    .and_then(|d| d.conversation)
                    .is_some_and(|c| c.state == "closed");
                if let (true, Some(stream)) = (closed, self.streams.remove(&conversation)) {
                    self.run.closed.insert(conversation.clone(), ());
                    let id = self.socket.id();
                    let _ = self
                        .socket
                        .write(wire::on_conversation("unmonitor", id, &conversation))
                        .await;
                    self.run.supervisors.release(self.slot);
                    self.hand_in(conversation, stream);
                }
            }
            _ => {}
        }
    }

    /// Keeps what it saw of `conversation`; only an answered monitor promised anything.
    fn hand_in(&mut self, conversation: String, stream: Stream) {
        let stayed = self.answered.contains(&conversation);
        self.done.push(Received {
            conversation,
            stream,
            stayed,
            sms: false,
            who: "supervisor",
        });
    }

    async fn finish(mut self) -> Vec<Received> {
        for (conversation, stream) in std::mem::take(&mut self.streams) {
            self.hand_in(conversation, stream);
        }
        self.socket.close().await;
        self.done
    }
}
