//! One simulated supervisor: a supervisor's WebSocket session that monitors conversations
//! anonymously as the pool hands them out (up to `per_supervisor` at once), from their first
//! message, and stops monitoring each when it closes. It only listens: every message of every
//! conversation it monitors must reach it once, in order.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::agent::token;
use super::metrics::{Lat, bump};
use super::socket::Socket;
use super::stream::Stream;
use super::wire;
use super::{Phase, Received, Run};
use crate::gateway::token::Role;

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
    let mut socket = match opened {
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
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let slot = run
        .supervisors
        .register(tx, run.scenario.supervisors.per_supervisor);
    let mut streams: HashMap<String, Stream> = HashMap::new();
    let mut done = Vec::new();
    let mut phase = run.phase.clone();
    loop {
        tokio::select! {
            conversation = rx.recv() => {
                let Some(conversation) = conversation else { break };
                let id = socket.id();
                if socket.write(wire::monitor(id, &conversation)).await.is_err() {
                    break;
                }
                bump(&m.counts.monitored);
                streams.insert(conversation, Stream::default());
            }
            frame = socket.next() => {
                let Some(Ok(frame)) = frame else { break };
                match (frame.kind.as_str(), frame.event.as_deref()) {
                    ("error", _) => m.error(frame.error.map(|e| e.code).unwrap_or_default().to_string()),
                    ("event", Some("message_added")) => {
                        let conversation = frame.conversation_sid.unwrap_or_default();
                        let data = frame.data.unwrap_or_default();
                        let (Some(stream), Some(index)) = (streams.get_mut(&conversation), data.index) else { continue };
                        run.saw(&conversation, index);
                        m.arrival(stream.deliver(index, true));
                        m.delivered();
                        if let Some((at, _, _)) = data.body.as_deref().and_then(wire::stamp) {
                            m.record(Lat::ToSupervisor, at);
                        }
                    }
                    ("event", Some("conversation_state_updated")) => {
                        let conversation = frame.conversation_sid.unwrap_or_default();
                        let closed = frame.data.and_then(|d| d.conversation).is_some_and(|c| c.state == "closed");
                        if let (true, Some(stream)) = (closed, streams.remove(&conversation)) {
                            run.closed.insert(conversation.clone(), ());
                            let id = socket.id();
                            let _ = socket.write(wire::on_conversation("unmonitor", id, &conversation)).await;
                            run.supervisors.release(slot);
                            done.push(Received { conversation, stream, stayed: true, sms: false });
                        }
                    }
                    _ => {}
                }
            }
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Done { break; }
            }
        }
    }
    for (conversation, stream) in streams {
        done.push(Received {
            conversation,
            stream,
            stayed: true,
            sms: false,
        });
    }
    socket.close().await;
    done
}
