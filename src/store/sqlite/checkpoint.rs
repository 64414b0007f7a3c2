//! WAL checkpoints on their own thread. SQLite's automatic checkpoint runs inside the committing
//! writer and stalls every acknowledgement behind a database-file fsync (measured: p99 up by
//! 30–45 %, see docs/benchmarks.md). Here the writer never checkpoints; this thread copies the
//! WAL back into the database every few milliseconds without blocking anyone (`PASSIVE`).
//! Under a steady stream of commits a passive checkpoint never finds the WAL fully copied at
//! the moment a writer starts, so SQLite never rewinds it: the file grows without bound and
//! every frame written extends it (measured: a 3.4 GB WAL after 40 s of WebSocket load, with
//! the writer thread spending its time zeroing new pages). So once the WAL passes
//! [`RESTART_AFTER_FRAMES`] this thread asks the writer to run a `RESTART` checkpoint between
//! two batches (the writer itself, because a checkpoint from here would be starved of the
//! write lock by back-to-back commits). The passive runs have already copied nearly every
//! frame, so the rewind is short, and later commits reuse the file from its start.
//! Checkpoints move committed data between files: durability is unchanged.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use crate::store::StoreError;

/// How often a passive checkpoint runs.
const INTERVAL: Duration = Duration::from_millis(100);
/// WAL size in frames (pages) beyond which the WAL is rewound with a `RESTART` (~256 MiB).
/// Each rewind holds every commit for ~50 ms on this machine's disk (measured: at 2,000 busy
/// conversations the WAL takes ~8,000 frames a second, so at 32 MiB that was a stall every
/// second). Readers do not pay for a long WAL: they skip the frames already checkpointed.
const RESTART_AFTER_FRAMES: i64 = 64 * 1024;

/// Stops the checkpoint thread when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts checkpointing the WAL of the database at `path`; sets `rewind` when the
    /// writer should rewind the WAL.
    pub fn spawn(path: &Path, rewind: Arc<AtomicBool>) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_handler(Some(super::retry_soon))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, flag, rewind))
            .map_err(|e| StoreError::Database(format!("checkpoint thread: {e}")))?;
        Ok(Checkpointer { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

fn run(conn: Connection, stop: Arc<AtomicBool>, rewind: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(INTERVAL);
        let result = checkpoint(&conn, "PASSIVE");
        if let Ok((frames, backfilled)) = result {
            tracing::trace!(frames, backfilled, "passive checkpoint");
        }
        match result {
            Ok((frames, _)) if frames > RESTART_AFTER_FRAMES => {
                rewind.store(true, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}
