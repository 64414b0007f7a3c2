//! TaskRouter events in SQLite: one `routing_events` row per event, and the long texts that
//! repeat from event to event — a task's attributes (every event of a task and its
//! reservations carries them, ~800 bytes in a Flex chat, unchanged for most of its life) and a
//! worker's — kept once per workspace in `routing_texts`, keyed by a hash of the workspace and
//! the text. An event row refers to them by that hash; reading it puts them back, so the
//! record read is the record written. Rows written before the texts moved keep them inline.

use std::collections::BTreeMap;

use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde::ser::SerializeMap;
use sha2::{Digest, Sha256};

use super::reads::decode;
use crate::store::records::RoutingEventRecord;
use crate::store::{Page, PageRequest, RoutingEventFilter, StoreError};

/// The `event_data` keys kept in `routing_texts`, in the order of their reference columns.
const SHARED: [&str; 2] = ["task_attributes", "worker_attributes"];

/// Shorter texts stay inline: a reference would save nothing.
const MIN_SHARED_BYTES: usize = 64;

/// The reference of `text` in `workspace`: the first 16 bytes of SHA-256 over both.
fn text_ref(workspace: &str, text: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(workspace.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

fn shared(key: &str, value: &str) -> bool {
    value.len() >= MIN_SHARED_BYTES && SHARED.contains(&key)
}

/// An event's data without the texts kept apart.
struct Inline<'a>(&'a BTreeMap<String, String>);

impl Serialize for Inline<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.0.iter().filter(|(k, v)| !shared(k, v)) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The `data` column: a [`RoutingEventRecord`] whose `data` lacks the shared texts.
#[derive(Serialize)]
struct Stored<'a> {
    sid: &'a str,
    account_sid: &'a str,
    workspace_sid: &'a str,
    event_type: &'a str,
    resource_type: &'a str,
    resource_sid: &'a str,
    description: &'a str,
    date_ms: i64,
    data: Inline<'a>,
}

/// Appends `e` (inside the writer's transaction), storing each shared text once.
pub(super) fn append(conn: &Connection, e: &RoutingEventRecord) -> Result<(), StoreError> {
    let mut refs: [Option<[u8; 16]>; 2] = [None, None];
    for (slot, key) in refs.iter_mut().zip(SHARED) {
        let Some(text) = e.data.get(key).filter(|t| shared(key, t)) else {
            continue;
        };
        let hash = text_ref(&e.workspace_sid, text);
        conn.prepare_cached(
            "INSERT INTO routing_texts (hash, workspace_sid, text) VALUES (?1, ?2, ?3)
             ON CONFLICT(hash) DO NOTHING",
        )?
        .execute(params![&hash[..], e.workspace_sid, text])?;
        *slot = Some(hash);
    }
    let stored = Stored {
        sid: &e.sid,
        account_sid: &e.account_sid,
        workspace_sid: &e.workspace_sid,
        event_type: &e.event_type,
        resource_type: &e.resource_type,
        resource_sid: &e.resource_sid,
        description: &e.description,
        date_ms: e.date_ms,
        data: Inline(&e.data),
    };
    let data = serde_json::to_string(&stored)
        .map_err(|err| StoreError::Database(format!("encode: {err}")))?;
    let get = |k: &str| e.data.get(k);
    let [task_ref, worker_ref] = refs;
    conn.prepare_cached(
        "INSERT INTO routing_events (sid, workspace_sid, event_type, date_ms, task_sid,
           worker_sid, reservation_sid, queue_sid, workflow_sid, task_attributes_ref,
           worker_attributes_ref, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        e.sid,
        e.workspace_sid,
        e.event_type,
        e.date_ms,
        get("task_sid"),
        get("worker_sid"),
        get("reservation_sid"),
        get("task_queue_sid"),
        get("workflow_sid"),
        task_ref.as_ref().map(|h| &h[..]),
        worker_ref.as_ref().map(|h| &h[..]),
        data
    ])?;
    Ok(())
}

/// Deletes a workspace's events and their texts (inside the writer's transaction).
pub(super) fn delete_workspace(conn: &Connection, workspace: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM routing_events WHERE workspace_sid = ?1")?
        .execute([workspace])?;
    conn.prepare_cached("DELETE FROM routing_texts WHERE workspace_sid = ?1")?
        .execute([workspace])?;
    Ok(())
}

/// Events with their shared texts joined back.
const SELECT: &str = "SELECT e.data, t.text, w.text FROM routing_events e
    LEFT JOIN routing_texts t ON t.hash = e.task_attributes_ref
    LEFT JOIN routing_texts w ON w.hash = e.worker_attributes_ref
    WHERE e.workspace_sid = ?";

type RawRow = (String, Option<String>, Option<String>);

fn raw(r: &Row) -> rusqlite::Result<RawRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn record((data, task, worker): RawRow) -> Result<RoutingEventRecord, StoreError> {
    let mut e: RoutingEventRecord = decode(&data)?;
    for (key, text) in SHARED.into_iter().zip([task, worker]) {
        if let Some(text) = text {
            e.data.insert(key.to_owned(), text);
        }
    }
    Ok(e)
}

/// A page of `workspace`'s events matching `filter`, newest first.
pub(super) fn list(
    conn: &Connection,
    workspace: String,
    filter: &RoutingEventFilter,
    req: PageRequest,
) -> Result<Page<RoutingEventRecord>, StoreError> {
    let mut sql = String::from(SELECT);
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(workspace)];
    let columns = [
        ("event_type", &filter.event_type),
        ("task_sid", &filter.task_sid),
        ("worker_sid", &filter.worker_sid),
        ("reservation_sid", &filter.reservation_sid),
        ("queue_sid", &filter.queue_sid),
        ("workflow_sid", &filter.workflow_sid),
    ];
    for (column, value) in columns {
        if let Some(v) = value {
            sql.push_str(&format!(" AND e.{column} = ?"));
            args.push(Box::new(v.clone()));
        }
    }
    if let Some(start) = filter.start_ms {
        sql.push_str(" AND e.date_ms >= ?");
        args.push(Box::new(start));
    }
    if let Some(end) = filter.end_ms {
        sql.push_str(" AND e.date_ms <= ?");
        args.push(Box::new(end));
    }
    sql.push_str(&format!(
        " ORDER BY e.seq DESC LIMIT {} OFFSET {}",
        u64::from(req.size) + 1,
        req.offset()
    ));
    let refs: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(refs.as_slice(), raw)?;
    let mut items = Vec::with_capacity(req.size as usize);
    for row in rows {
        items.push(record(row?)?);
    }
    let has_more = items.len() > req.size as usize;
    items.truncate(req.size as usize);
    Ok(Page { items, has_more })
}

/// One event of `workspace`.
pub(super) fn one(
    conn: &Connection,
    workspace: &str,
    sid: &str,
) -> Result<Option<RoutingEventRecord>, StoreError> {
    let sql = format!("{SELECT} AND e.sid = ?");
    conn.prepare_cached(&sql)?
        .query_row(params![workspace, sid], raw)
        .optional()?
        .map(record)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sid: &str, workspace: &str, attributes: &str) -> RoutingEventRecord {
        let mut data = BTreeMap::new();
        data.insert("task_sid".into(), "WT1".into());
        data.insert("task_attributes".into(), attributes.into());
        data.insert("worker_attributes".into(), "{}".into());
        RoutingEventRecord {
            sid: sid.into(),
            account_sid: "AC1".into(),
            workspace_sid: workspace.into(),
            event_type: "task.updated".into(),
            resource_type: "task".into(),
            resource_sid: "WT1".into(),
            description: "Task WT1: task.updated".into(),
            date_ms: 1,
            data,
        }
    }

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().expect("db");
        super::super::schema::migrate(&mut conn).expect("schema");
        conn
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn a_repeated_text_is_stored_once_per_workspace_and_read_back_whole() {
        let conn = db();
        let long = format!(
            r#"{{"conversationSid":"CH1","notes":"{}"}}"#,
            "x".repeat(200)
        );
        let events = [
            event("EV1", "WS1", &long),
            event("EV2", "WS1", &long),
            event("EV3", "WS1", r#"{"short":1}"#),
            event("EV4", "WS2", &long),
        ];
        for e in &events {
            append(&conn, e).expect("append");
        }
        // One text for WS1's two events, one for WS2's; short texts stay inline.
        assert_eq!(count(&conn, "SELECT count(*) FROM routing_texts"), 2);
        let inline: String = conn
            .query_row(
                "SELECT data FROM routing_events WHERE sid = 'EV1'",
                [],
                |r| r.get(0),
            )
            .expect("row");
        assert!(!inline.contains("notes"), "{inline}");
        for e in &events {
            let read = one(&conn, &e.workspace_sid, &e.sid).expect("read");
            assert_eq!(read.as_ref(), Some(e));
        }
        let page = list(
            &conn,
            "WS1".into(),
            &RoutingEventFilter::default(),
            PageRequest { size: 10, page: 0 },
        )
        .expect("list");
        assert_eq!(
            page.items,
            [&events[2], &events[1], &events[0]].map(Clone::clone)
        );

        // A workspace's texts go with it; another's stay.
        delete_workspace(&conn, "WS1").expect("delete");
        assert_eq!(count(&conn, "SELECT count(*) FROM routing_texts"), 1);
        assert_eq!(
            one(&conn, "WS2", "EV4").expect("read").as_ref(),
            Some(&events[3])
        );
    }

    #[test]
    fn rows_written_with_the_texts_inline_read_as_before() {
        let conn = db();
        let e = event("EV1", "WS1", &format!(r#"{{"n":"{}"}}"#, "y".repeat(100)));
        let whole = serde_json::to_string(&e).expect("json");
        conn.execute(
            "INSERT INTO routing_events (sid, workspace_sid, event_type, date_ms, data)
             VALUES ('EV1', 'WS1', 'task.updated', 1, ?1)",
            [whole],
        )
        .expect("old row");
        assert_eq!(one(&conn, "WS1", "EV1").expect("read"), Some(e));
    }
}
