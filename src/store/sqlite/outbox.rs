//! Outbox reads of the SQLite store: due jobs (respecting lanes), an account's pending jobs
//! or dead letters, one job.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::reads::{decode, page};
use crate::ids::AccountSid;
use crate::store::outbox::{Millis, OutboxRecord};
use crate::store::{OutboxStore, Page, PageRequest, StoreError};

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn due_jobs(&self, now_ms: Millis, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT data FROM outbox o
                 WHERE dead = 0 AND next_attempt_ms <= ?1
                   AND (lane IS NULL OR NOT EXISTS (
                     SELECT 1 FROM outbox p
                     WHERE p.lane = o.lane AND p.dead = 0 AND p.seq < o.seq))
                 ORDER BY next_attempt_ms, seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now_ms, limit], |r| r.get::<_, String>(0))?;
            rows.map(|data| decode(&data?)).collect()
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT MIN(next_attempt_ms) FROM outbox WHERE dead = 0",
                [],
                |r| r.get::<_, Option<Millis>>(0),
            )
            .optional()?
            .flatten())
        })
        .await
    }

    async fn outbox_jobs(
        &self,
        account: &AccountSid,
        dead: bool,
        p: PageRequest,
    ) -> Result<Page<OutboxRecord>, StoreError> {
        let account = account.clone();
        self.read(move |c| {
            page(
                c,
                "SELECT data FROM outbox WHERE account_sid = ?1 AND dead = ?2 ORDER BY seq",
                &[&account.as_str(), &dead],
                p,
            )
        })
        .await
    }

    async fn outbox_job(
        &self,
        account: &AccountSid,
        id: &str,
    ) -> Result<Option<OutboxRecord>, StoreError> {
        let (account, id) = (account.clone(), id.to_owned());
        self.read(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM outbox WHERE account_sid = ?1 AND id = ?2",
                    params![account.as_str(), id],
                    |r| r.get(0),
                )
                .optional()?;
            data.as_deref().map(decode).transpose()
        })
        .await
    }
}
