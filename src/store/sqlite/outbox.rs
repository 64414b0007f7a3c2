//! Outbox reads of the SQLite store: due jobs (respecting lanes), an account's pending jobs
//! or dead letters, one job.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use super::reads::{decode, page};
use crate::ids::AccountSid;
use crate::store::outbox::{Millis, OutboxRecord};
use crate::store::{OutboxStore, Page, PageRequest, StoreError};

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn due_jobs(
        &self,
        now_ms: Millis,
        limit: u32,
        skip: Arc<HashSet<String>>,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, data FROM outbox o
                 WHERE dead = 0 AND next_attempt_ms <= ?1
                   AND (lane IS NULL OR NOT EXISTS (
                     SELECT 1 FROM outbox p
                     WHERE p.lane = o.lane AND p.dead = 0 AND p.seq < o.seq))
                 ORDER BY next_attempt_ms, seq LIMIT ?2",
            )?;
            let mut rows = stmt.query(params![now_ms, limit])?;
            let mut jobs = Vec::new();
            while let Some(row) = rows.next()? {
                // Columns are read on demand: a skipped job's data is never copied or decoded.
                if !skip.contains(&row.get::<_, String>(0)?) {
                    jobs.push(decode(&row.get::<_, String>(1)?)?);
                }
            }
            Ok(jobs)
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT MIN(next_attempt_ms) FROM outbox o
                 WHERE dead = 0
                   AND (lane IS NULL OR NOT EXISTS (
                     SELECT 1 FROM outbox p
                     WHERE p.lane = o.lane AND p.dead = 0 AND p.seq < o.seq))",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::store::outbox::{OutboxJob, WebhookJob};
    use crate::store::{Mutation, WriteLog};

    fn none() -> Arc<HashSet<String>> {
        Arc::default()
    }

    fn job(account: &AccountSid, lane: Option<&str>, due: Millis) -> OutboxRecord {
        let mut record = OutboxRecord::new(
            account.clone(),
            lane.map(str::to_owned),
            OutboxJob::Webhook(WebhookJob {
                url: "http://127.0.0.1:9/hook".into(),
                method: "POST".into(),
                params: vec![],
                event: "onMessageAdded".into(),
            }),
            due,
        );
        record.next_attempt_ms = due;
        record
    }

    #[tokio::test]
    async fn a_lane_waits_behind_its_oldest_pending_job() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path(), &Settings::default().store).expect("store");
        let account = AccountSid::generate();
        let now = 1_000_000;
        let first = job(&account, Some("lane"), now + 5_000); // backing off
        let second = job(&account, Some("lane"), now); // due, but behind `first`
        let free = job(&account, None, now + 9_000);
        store
            .submit(vec![
                Mutation::PutOutbox(first.clone()),
                Mutation::PutOutbox(second.clone()),
                Mutation::PutOutbox(free.clone()),
            ])
            .await
            .expect("committed");
        assert!(
            store
                .due_jobs(now, 10, none())
                .await
                .expect("due")
                .is_empty()
        );
        // The blocked job does not count as due: no busy loop on it.
        assert_eq!(store.next_due().await.expect("next"), Some(now + 5_000));
        // Once the first is done, the second is next in its lane.
        store
            .submit(vec![Mutation::DeleteOutbox(first.id.clone())])
            .await
            .expect("committed");
        let due = store.due_jobs(now, 10, none()).await.expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, second.id);
        // A dead letter neither blocks its lane nor counts as due, and is listed as dead.
        let mut parked = second.clone();
        parked.dead = true;
        store
            .submit(vec![Mutation::UpdateOutbox(parked)])
            .await
            .expect("committed");
        assert_eq!(store.next_due().await.expect("next"), Some(now + 9_000));
        let page = PageRequest { page: 0, size: 10 };
        let dead = store.outbox_jobs(&account, true, page).await.expect("dead");
        assert_eq!(dead.items.len(), 1);
        let pending = store
            .outbox_jobs(&account, false, page)
            .await
            .expect("pending");
        assert_eq!(pending.items[0].id, free.id);
        // An update never resurrects a deleted job.
        store
            .submit(vec![
                Mutation::DeleteOutbox(free.id.clone()),
                Mutation::UpdateOutbox(free.clone()),
            ])
            .await
            .expect("committed");
        assert!(
            store
                .outbox_job(&account, &free.id)
                .await
                .expect("read")
                .is_none()
        );
    }

    #[tokio::test]
    async fn jobs_being_attempted_are_skipped_but_count_toward_the_limit() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path(), &Settings::default().store).expect("store");
        let account = AccountSid::generate();
        let now = 1_000_000;
        let jobs: Vec<_> = (0..3).map(|i| job(&account, None, now - 3 + i)).collect();
        let unit = jobs.iter().cloned().map(Mutation::PutOutbox).collect();
        store.submit(unit).await.expect("committed");
        let ids = |due: Vec<OutboxRecord>| due.into_iter().map(|j| j.id).collect::<Vec<_>>();

        let busy = Arc::new(HashSet::from([jobs[0].id.clone()]));
        let due = store.due_jobs(now, 10, busy.clone()).await.expect("due");
        assert_eq!(ids(due), [jobs[1].id.clone(), jobs[2].id.clone()]);
        // The limit counts the skipped: the caller asks for as many more as it skips.
        let due = store.due_jobs(now, 2, busy).await.expect("due");
        assert_eq!(ids(due), [jobs[1].id.clone()]);
    }
}
