//! WAL checkpoints on their own thread. SQLite's automatic checkpoint runs inside the committing
//! writer and stalls every acknowledgement behind a database-file fsync (measured: p99 up by
//! 30–45 %, see docs/benchmarks.md). Here the writer never checkpoints; this thread copies the
//! WAL back into the database every few milliseconds without blocking anyone (`PASSIVE`), and
//! only when the WAL keeps growing anyway forces a `RESTART` so it cannot grow without bound.
//! Checkpoints move committed data between files: durability is unchanged.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use crate::store::StoreError;

/// How often a passive checkpoint runs.
const INTERVAL: Duration = Duration::from_millis(100);
/// WAL frames (pages) left un-checkpointed that trigger a blocking `RESTART` (~256 MiB).
const FORCE_AFTER_FRAMES: i64 = 64 * 1024;

/// Stops the checkpoint thread when dropped.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts checkpointing the WAL of the database at `path`.
    pub fn spawn(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, flag))
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

fn run(conn: Connection, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(INTERVAL);
        match checkpoint(&conn, "PASSIVE") {
            Ok((frames, done)) if frames - done > FORCE_AFTER_FRAMES => {
                if let Err(e) = checkpoint(&conn, "RESTART") {
                    tracing::warn!(error = %e, "forced WAL checkpoint failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}
