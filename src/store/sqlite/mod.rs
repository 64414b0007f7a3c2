//! The embedded default store: one SQLite file in WAL mode, one writer thread doing group
//! commit ([`writer`]), and a small pool of read-only connections used from blocking tasks so
//! reads never wait for the writer and never block an async worker.

mod apply;
mod checkpoint;
mod outbox;
mod reads;
mod routing_events;
mod schema;
mod writer;

use std::path::Path;
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::config::{StoreSettings, Synchronous};
use crate::store::{Commit, Mutation, StoreError, WriteLog};
use writer::WriterHandle;

/// Busy handler of the writer and the checkpointer: retry every 100 µs, then every ms, for up
/// to ~5 s. SQLite's own (`busy_timeout`) sleeps in growing steps of up to 100 ms, so a lock
/// held for 34 ms cost the writer 53 (measured on the WAL rewind: every acknowledgement waits
/// for it).
fn retry_soon(attempt: i32) -> bool {
    let pause = if attempt < 20 {
        Duration::from_micros(100)
    } else {
        Duration::from_millis(1)
    };
    std::thread::sleep(pause);
    attempt < 5_000
}

/// The SQLite-backed [`crate::store::Store`].
pub struct SqliteStore {
    writer: WriterHandle,
    readers: Pool<SqliteConnectionManager>,
    _checkpointer: checkpoint::Checkpointer,
}

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "switchboard.db";

/// Page cache of the writer connection, KiB (SQLite's default is 2 MiB).
const WRITER_CACHE_KIB: u32 = 8 * 1024;

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/switchboard.db`, migrates it and starts the writer.
    pub fn open(data_dir: &Path, settings: &StoreSettings) -> Result<SqliteStore, StoreError> {
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        conn.busy_handler(Some(retry_soon))?;
        // Takes effect only while the file is new (in WAL mode SQLite keeps the size it has).
        conn.pragma_update(None, "page_size", settings.page_size)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match settings.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // Each unit runs in a savepoint, whose statement journal would otherwise be a temporary
        // file written page by page with a system call each.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        schema::migrate(&mut conn)?;
        // Checkpoints run on their own thread (see `checkpoint`), never inside a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let rewind = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpointer = checkpoint::Checkpointer::spawn(&path, rewind.clone())?;
        conn.set_prepared_statement_cache_capacity(64);
        // A bigger page cache saves re-reading pages from the OS, but SQLite scans the whole
        // cache's hash table at the end of every write transaction: at 64 MiB that scan took
        // 10 % of the server's CPU under load, more than the re-reads it saved.
        conn.pragma_update(None, "cache_size", -(WRITER_CACHE_KIB as i64))?;

        let manager = SqliteConnectionManager::file(&path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                c.busy_timeout(Duration::from_secs(5))?;
                c.pragma_update(None, "query_only", "ON")
            });
        let readers = Pool::builder()
            .max_size(settings.readers)
            .build(manager)
            .map_err(|e| StoreError::Database(format!("reader pool: {e}")))?;
        let writer = WriterHandle::spawn(conn, writer::Batching::from(settings), rewind)
            .map_err(|e| StoreError::Database(format!("writer thread: {e}")))?;
        Ok(SqliteStore {
            writer,
            readers,
            _checkpointer: checkpointer,
        })
    }

    /// Runs `f` on a pooled read connection in a blocking task.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool
                .get()
                .map_err(|e| StoreError::Database(format!("reader pool: {e}")))?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Database(format!("read task: {e}")))?
    }
}

impl WriteLog for SqliteStore {
    fn submit(&self, unit: Vec<Mutation>) -> Commit {
        self.writer.submit(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn page_size(dir: &Path) -> u32 {
        let conn = Connection::open(dir.join(DB_FILE)).expect("db");
        conn.query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size")
    }

    #[test]
    fn a_new_database_gets_the_configured_page_size_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut settings = Settings::default().store;
        settings.page_size = 8192;
        drop(SqliteStore::open(dir.path(), &settings).expect("new"));
        assert_eq!(page_size(dir.path()), 8192);
        settings.page_size = 2048;
        drop(SqliteStore::open(dir.path(), &settings).expect("existing"));
        assert_eq!(page_size(dir.path()), 8192);
        let fresh = tempfile::tempdir().expect("tmp");
        drop(SqliteStore::open(fresh.path(), &Settings::default().store).expect("default"));
        assert_eq!(page_size(fresh.path()), 2048);
    }
}
