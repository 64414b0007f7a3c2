//! The single SQLite writer: one OS thread that owns the write connection, drains every queued
//! unit (up to `max_batch`), applies each inside its own savepoint, commits the batch once and
//! only then answers each unit. Many units share one fsync ("group commit"); one bad unit is
//! rolled back alone without failing its neighbours. While units arrive closer together than
//! `commit_delay`, a small batch waits up to that long for company (like PostgreSQL's
//! `commit_delay`): every commit rewrites each page it touched into the WAL, so fewer, bigger
//! commits write less. A unit arriving at an idle writer commits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::apply::apply_unit;
use crate::store::{Commit, Mutation, StoreError};
use crate::telemetry::metrics as telemetry;

/// A commit or WAL rewind longer than this is logged: every acknowledgement waited for it.
const SLOW: Duration = Duration::from_millis(50);

/// How the writer forms batches.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Most units per commit.
    pub max_batch: usize,
    /// Batches at least this big commit without waiting.
    pub min_batch: usize,
    /// Longest wait for a small batch to grow, from its first unit.
    pub commit_delay: Duration,
}

impl Batching {
    /// The batching for a batch whose first unit came `gap` after the writer went idle: units
    /// arriving further apart than the delay would not join a waiting batch, so it commits at
    /// once (an idle server answers without the delay).
    fn for_gap(self, gap: Duration) -> Batching {
        if gap < self.commit_delay {
            self
        } else {
            Batching {
                commit_delay: Duration::ZERO,
                ..self
            }
        }
    }
}

impl From<&crate::config::StoreSettings> for Batching {
    fn from(s: &crate::config::StoreSettings) -> Self {
        Batching {
            max_batch: s.max_batch.max(1),
            min_batch: s.min_batch,
            commit_delay: s.commit_delay,
        }
    }
}

/// A unit waiting for the writer.
struct Pending {
    unit: Vec<Mutation>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Handle used to queue units; cheap to clone.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Pending>,
}

impl WriterHandle {
    /// Starts the writer thread on `conn`. When `rewind` is set (by the checkpointer) the
    /// writer rewinds the WAL between two batches.
    pub fn spawn(
        conn: Connection,
        batching: Batching,
        rewind: Arc<AtomicBool>,
    ) -> std::io::Result<WriterHandle> {
        let (tx, rx) = mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, batching, rewind))?;
        Ok(WriterHandle { tx })
    }

    /// Queues a unit; see [`crate::store::WriteLog::submit`].
    pub fn submit(&self, unit: Vec<Mutation>) -> Commit {
        let (reply, rx) = oneshot::channel();
        // If the writer is gone the reply sender is dropped and the Commit reports Closed.
        let _ = self.tx.send(Pending { unit, reply });
        Commit::new(rx)
    }
}

/// Fills `batch` after its first unit: whatever is queued, then (while it is smaller than
/// `min_batch`) whatever arrives until `commit_delay` after `first_at`.
fn fill(batch: &mut Vec<Pending>, rx: &mpsc::Receiver<Pending>, b: Batching, first_at: Instant) {
    let deadline = first_at + b.commit_delay;
    while batch.len() < b.max_batch {
        match rx.try_recv() {
            Ok(next) => batch.push(next),
            Err(mpsc::TryRecvError::Disconnected) => return,
            Err(mpsc::TryRecvError::Empty) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if batch.len() >= b.min_batch || left.is_zero() {
                    return;
                }
                match rx.recv_timeout(left) {
                    Ok(next) => batch.push(next),
                    Err(_) => return,
                }
            }
        }
    }
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Pending>, b: Batching, rewind: Arc<AtomicBool>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(b.max_batch);
    let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(b.max_batch);
    let mut idle_since = Instant::now();
    // Blocks until the first unit arrives; ends when every handle is dropped.
    while let Ok(first) = rx.recv() {
        let arrived = Instant::now();
        batch.push(first);
        fill(&mut batch, &rx, b.for_gap(arrived - idle_since), arrived);
        outcomes.clear();
        let started = Instant::now();
        let committed = commit_batch(&mut conn, &batch, &mut outcomes);
        let took = started.elapsed();
        metrics::histogram!(telemetry::BATCH_UNITS).record(batch.len() as f64);
        metrics::histogram!(telemetry::COMMIT_SECONDS).record(took.as_secs_f64());
        if took > SLOW {
            tracing::warn!(?took, units = batch.len(), "slow commit");
        }
        if committed.is_err() {
            metrics::counter!(telemetry::COMMIT_FAILURES).increment(1);
        }
        for (pending, outcome) in batch.drain(..).zip(outcomes.drain(..)) {
            let result = match &committed {
                Ok(()) => outcome,
                Err(e) => Err(e.clone()),
            };
            let _ = pending.reply.send(result);
        }
        idle_since = Instant::now();
        // Between batches, after the answers went out: the writer holds no transaction, so
        // the RESTART cannot be starved by it. The passive checkpoints already copied nearly
        // every frame, so this is short.
        if rewind.swap(false, Ordering::Relaxed) {
            let started = Instant::now();
            match conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
                Ok(()) if started.elapsed() > SLOW => {
                    tracing::warn!(took = ?started.elapsed(), "slow WAL rewind");
                }
                Ok(()) => tracing::debug!(took = ?started.elapsed(), "WAL rewound"),
                Err(e) => tracing::warn!(error = %e, "WAL rewind failed"),
            }
        }
    }
    tracing::info!("sqlite writer stopped");
}

fn commit_batch(
    conn: &mut Connection,
    batch: &[Pending],
    outcomes: &mut Vec<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock up front (waiting out a RESTART checkpoint through the
    // busy handler) instead of upgrading a read snapshot the checkpoint may have invalidated.
    let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for pending in batch {
        let sp = tx.savepoint()?;
        let outcome = apply_unit(&sp, &pending.unit);
        if outcome.is_ok() {
            sp.commit()?;
        }
        // Otherwise dropping the savepoint rolls back this unit alone.
        outcomes.push(outcome);
    }
    tx.commit().map_err(|e| {
        tracing::error!(error = %e, units = batch.len(), "batch commit failed");
        StoreError::from(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit() -> Pending {
        let (reply, _) = oneshot::channel();
        Pending {
            unit: Vec::new(),
            reply,
        }
    }

    fn batching(min_batch: usize, commit_delay: Duration) -> Batching {
        Batching {
            max_batch: 8,
            min_batch,
            commit_delay,
        }
    }

    /// The size of a batch started now with one unit and filled from `rx`.
    fn filled(rx: &mpsc::Receiver<Pending>, min_batch: usize, commit_delay: Duration) -> usize {
        let mut batch = vec![unit()];
        fill(
            &mut batch,
            rx,
            batching(min_batch, commit_delay),
            Instant::now(),
        );
        batch.len()
    }

    #[test]
    fn a_small_batch_waits_for_units_arriving_within_the_delay() {
        let (tx, rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            for _ in 0..2 {
                std::thread::sleep(Duration::from_millis(5));
                tx.send(unit()).expect("writer listens");
            }
            tx
        });
        // The delay is far longer than the sender needs: the batch is done once it holds three.
        assert_eq!(filled(&rx, 3, Duration::from_secs(30)), 3);
        drop(sender.join());
    }

    #[test]
    fn only_units_arriving_close_together_wait_for_company() {
        let b = batching(16, Duration::from_millis(1));
        assert_eq!(
            b.for_gap(Duration::from_micros(200)).commit_delay,
            b.commit_delay
        );
        assert_eq!(
            b.for_gap(Duration::from_millis(5)).commit_delay,
            Duration::ZERO
        );
    }

    #[test]
    fn without_a_delay_or_once_big_enough_the_batch_is_what_is_queued() {
        let (tx, rx) = mpsc::channel();
        for _ in 0..3 {
            tx.send(unit()).expect("queued");
        }
        assert_eq!(
            filled(&rx, 16, Duration::ZERO),
            4,
            "nothing more to wait for"
        );
        for _ in 0..10 {
            tx.send(unit()).expect("queued");
        }
        assert_eq!(
            filled(&rx, 2, Duration::from_secs(30)),
            8,
            "max_batch caps it"
        );
        assert_eq!(
            filled(&rx, 2, Duration::from_secs(30)),
            4,
            "the three left, already enough"
        );
    }
}
