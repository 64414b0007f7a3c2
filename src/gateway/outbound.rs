//! A session's outbound queue: one bounded channel drained by a task that owns the
//! `actix_ws::Session`. The session actor only ever `try_push`es, so a slow client can never
//! block it or grow memory: when the queue is full the actor closes the socket instead.
//!
//! A close is signalled apart from the queue, so it overtakes queued frames.

use std::time::Duration;

use actix_ws::CloseReason;
use bytes::Bytes;
use bytestring::ByteString;
use tokio::sync::{mpsc, oneshot};

/// How long a close frame may wait for a stuck socket before the connection is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the writer task sends.
#[derive(Debug)]
enum Out {
    Text(ByteString),
    Ping,
    Pong(Bytes),
    Close(CloseReason),
}

/// The queue is full (the client is too slow) or the socket is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// The actor's end of the queue.
pub struct Outbound {
    tx: mpsc::Sender<Out>,
    close: Option<oneshot::Sender<CloseReason>>,
}

impl Outbound {
    /// Starts the writer task for `session` with room for `capacity` frames.
    pub fn spawn(session: actix_ws::Session, capacity: usize) -> Outbound {
        let (tx, rx) = mpsc::channel(capacity);
        let (close, close_rx) = oneshot::channel();
        actix_web::rt::spawn(write(session, rx, close_rx));
        Outbound {
            tx,
            close: Some(close),
        }
    }

    /// Queues a text frame without waiting.
    pub fn try_push(&self, frame: ByteString) -> Result<(), QueueFull> {
        self.tx.try_send(Out::Text(frame)).map_err(|_| QueueFull)
    }

    /// A sender that may wait for room (catch-up, which must not overflow the queue).
    pub fn waiting_sender(&self) -> WaitingSender {
        WaitingSender(self.tx.clone())
    }

    /// Queues a ping.
    pub fn ping(&self) -> Result<(), QueueFull> {
        self.tx.try_send(Out::Ping).map_err(|_| QueueFull)
    }

    /// Queues a pong answering `payload`.
    pub fn pong(&self, payload: Bytes) -> Result<(), QueueFull> {
        self.tx.try_send(Out::Pong(payload)).map_err(|_| QueueFull)
    }

    /// Closes the socket with `reason` after the frames already queued (an error reply
    /// before its close, say); when the queue is full, at once, ahead of them. Idempotent.
    pub fn close(&mut self, reason: CloseReason) {
        if let Some(close) = self.close.take()
            && let Err(mpsc::error::TrySendError::Full(Out::Close(reason))) =
                self.tx.try_send(Out::Close(reason))
        {
            let _ = close.send(reason);
        }
        // Otherwise the close is queued (or the writer is gone) and `close` drops unsent.
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closing(&self) -> bool {
        self.close.is_none()
    }
}

/// Queues frames, waiting for room.
#[derive(Clone)]
pub struct WaitingSender(mpsc::Sender<Out>);

impl WaitingSender {
    /// Queues a text frame once there is room; fails when the socket is gone.
    pub async fn push(&self, frame: ByteString) -> Result<(), QueueFull> {
        self.0.send(Out::Text(frame)).await.map_err(|_| QueueFull)
    }
}

/// What ended one step of the writer.
enum Step {
    Sent,
    Gone,
    Close(Option<CloseReason>),
}

async fn write(
    mut session: actix_ws::Session,
    mut rx: mpsc::Receiver<Out>,
    close_rx: oneshot::Receiver<CloseReason>,
) {
    let mut close_rx = Some(close_rx);
    loop {
        let step = tokio::select! {
            biased;
            reason = priority(&mut close_rx) => Step::Close(Some(reason)),
            item = rx.recv() => match item {
                None => Step::Close(None),
                Some(Out::Close(reason)) => Step::Close(Some(reason)),
                Some(out) => tokio::select! {
                    biased;
                    reason = priority(&mut close_rx) => Step::Close(Some(reason)),
                    sent = send(&mut session, out) => if sent { Step::Sent } else { Step::Gone },
                },
            },
        };
        match step {
            Step::Sent => {}
            Step::Gone => return,
            Step::Close(reason) => {
                let _ = tokio::time::timeout(CLOSE_GRACE, session.close(reason)).await;
                return;
            }
        }
    }
}

/// A priority close, if one is signalled; pending forever once the signal is gone unsent
/// (the close then comes through the queue, or when the queue ends).
async fn priority(signal: &mut Option<oneshot::Receiver<CloseReason>>) -> CloseReason {
    if let Some(rx) = signal {
        match rx.await {
            Ok(reason) => return reason,
            Err(_) => *signal = None,
        }
    }
    std::future::pending().await
}

async fn send(session: &mut actix_ws::Session, out: Out) -> bool {
    match out {
        Out::Text(text) => session.text(text).await.is_ok(),
        Out::Ping => session.ping(b"").await.is_ok(),
        Out::Pong(payload) => session.pong(&payload).await.is_ok(),
        Out::Close(_) => false,
    }
}
