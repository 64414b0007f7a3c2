//! The single SQLite writer: one OS thread that owns the write connection, drains every queued
//! unit (up to `max_batch`), applies each inside its own savepoint, commits the batch once and
//! only then answers each unit. Many units share one fsync ("group commit"); one bad unit is
//! rolled back alone without failing its neighbours.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::apply::apply_unit;
use crate::store::{Commit, Mutation, StoreError};
use crate::telemetry::metrics as telemetry;

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
        max_batch: usize,
        rewind: Arc<AtomicBool>,
    ) -> std::io::Result<WriterHandle> {
        let (tx, rx) = mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch, rewind))?;
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

fn run(
    mut conn: Connection,
    rx: mpsc::Receiver<Pending>,
    max_batch: usize,
    rewind: Arc<AtomicBool>,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    let mut outcomes: Vec<Result<(), StoreError>> = Vec::with_capacity(max_batch);
    // Blocks until the first unit arrives; ends when every handle is dropped.
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        outcomes.clear();
        let started = std::time::Instant::now();
        let committed = commit_batch(&mut conn, &batch, &mut outcomes);
        metrics::histogram!(telemetry::BATCH_UNITS).record(batch.len() as f64);
        metrics::histogram!(telemetry::COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
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
        // Between batches, after the answers went out: the writer holds no transaction, so
        // the RESTART cannot be starved by it. The passive checkpoints already copied nearly
        // every frame, so this is short.
        if rewind.swap(false, Ordering::Relaxed) {
            let started = std::time::Instant::now();
            match conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())) {
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
