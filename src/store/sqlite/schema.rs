//! Embedded schema migrations, applied in order at start-up and tracked in `PRAGMA
//! user_version`. Append new migrations; never edit a released one.
//!
//! Each table keeps the full record as JSON in `data` plus the columns that queries filter,
//! sort or enforce uniqueness on.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the Conversations foundation.
    r#"
    CREATE TABLE accounts (
        sid TEXT PRIMARY KEY,
        data TEXT NOT NULL
    );
    CREATE TABLE account_configs (
        account_sid TEXT PRIMARY KEY,
        data TEXT NOT NULL
    );
    CREATE TABLE services (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX services_account ON services(account_sid, seq);
    CREATE TABLE service_configs (
        service_sid TEXT PRIMARY KEY,
        data TEXT NOT NULL
    );
    CREATE TABLE roles (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        service_sid TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX roles_service ON roles(service_sid, seq);
    CREATE TABLE users (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        service_sid TEXT NOT NULL,
        identity TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (service_sid, identity)
    );
    CREATE TABLE conversations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL,
        service_sid TEXT NOT NULL,
        unique_name TEXT,
        state TEXT NOT NULL,
        date_created INTEGER NOT NULL,
        next_due INTEGER,
        next_index INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL,
        UNIQUE (service_sid, unique_name)
    );
    CREATE INDEX conversations_service ON conversations(service_sid, seq);
    CREATE INDEX conversations_created ON conversations(service_sid, date_created);
    CREATE INDEX conversations_due ON conversations(next_due) WHERE next_due IS NOT NULL;
    CREATE TABLE participants (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        conversation_sid TEXT NOT NULL,
        service_sid TEXT NOT NULL,
        identity TEXT,
        address TEXT,
        data TEXT NOT NULL,
        UNIQUE (conversation_sid, identity)
    );
    CREATE INDEX participants_conversation ON participants(conversation_sid, seq);
    CREATE INDEX participants_identity ON participants(service_sid, identity);
    CREATE INDEX participants_address ON participants(service_sid, address);
    -- One open conversation per (address, proxy address) pair and account, so inbound messages
    -- route unambiguously. Rows go away when the participant leaves or the conversation closes.
    CREATE TABLE address_bindings (
        account_sid TEXT NOT NULL,
        address TEXT NOT NULL,
        proxy_address TEXT NOT NULL,
        conversation_sid TEXT NOT NULL,
        participant_sid TEXT NOT NULL UNIQUE,
        PRIMARY KEY (account_sid, address, proxy_address)
    );
    CREATE INDEX address_bindings_conversation ON address_bindings(conversation_sid);
    CREATE TABLE messages (
        sid TEXT PRIMARY KEY,
        conversation_sid TEXT NOT NULL,
        idx INTEGER NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (conversation_sid, idx)
    );
    CREATE TABLE idempotency (
        account_sid TEXT NOT NULL,
        key TEXT NOT NULL,
        date_created INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (account_sid, key)
    );
    CREATE INDEX idempotency_created ON idempotency(date_created);
    "#,
    // 2: API keys (access-token signing and REST auth).
    r#"
    CREATE TABLE api_keys (
        sid TEXT PRIMARY KEY,
        account_sid TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX api_keys_account ON api_keys(account_sid);
    "#,
    // 3: WebSocket sends carry a client message id; one message per (conversation, id).
    r#"
    ALTER TABLE messages ADD COLUMN client_id TEXT;
    CREATE UNIQUE INDEX messages_client_id ON messages(conversation_sid, client_id)
        WHERE client_id IS NOT NULL;
    "#,
    // 4: uploaded media (the bytes are content-addressed files beside the database).
    r#"
    CREATE TABLE media (
        sid TEXT PRIMARY KEY,
        service_sid TEXT NOT NULL,
        data TEXT NOT NULL
    );
    "#,
    // 5: delivery receipts, one per (message, recipient).
    r#"
    CREATE TABLE receipts (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        message_sid TEXT NOT NULL,
        participant_sid TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (message_sid, participant_sid)
    );
    "#,
    // 6: fewer pages written per message (each commit rewrites every page it touched).
    // Messages are clustered by (conversation, index), so a conversation's new messages share
    // a leaf instead of touching a table page plus two index pages; message SIDs are
    // time-ordered, so the SID index grows at its right edge. A conversation's next index
    // moves to a narrow table whose pages stay hot. Retried WebSocket sends are recognised by
    // the conversation actor (which reloads its recent client ids from here), so the client id
    // no longer needs an index of its own.
    r#"
    CREATE TABLE conversation_heads (
        sid TEXT PRIMARY KEY,
        next_index INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO conversation_heads (sid, next_index) SELECT sid, next_index FROM conversations;
    CREATE TABLE messages_clustered (
        conversation_sid TEXT NOT NULL,
        idx INTEGER NOT NULL,
        sid TEXT NOT NULL UNIQUE,
        client_id TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (conversation_sid, idx)
    ) WITHOUT ROWID;
    INSERT INTO messages_clustered (conversation_sid, idx, sid, client_id, data)
        SELECT conversation_sid, idx, sid, client_id, data FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_clustered RENAME TO messages;
    "#,
    // 7: routing (TaskRouter) and Flex interactions as JSON documents, and TaskRouter events.
    r#"
    CREATE TABLE docs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        scope TEXT NOT NULL,
        alt TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX docs_scope ON docs(scope, kind, seq);
    CREATE INDEX docs_kind ON docs(kind, seq);
    CREATE INDEX docs_alt ON docs(alt) WHERE alt IS NOT NULL;
    CREATE TABLE routing_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sid TEXT NOT NULL UNIQUE,
        workspace_sid TEXT NOT NULL,
        event_type TEXT NOT NULL,
        date_ms INTEGER NOT NULL,
        task_sid TEXT,
        worker_sid TEXT,
        reservation_sid TEXT,
        queue_sid TEXT,
        workflow_sid TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX routing_events_workspace ON routing_events(workspace_sid, seq);
    "#,
    // 8: the outbox of deliveries (webhooks, channel sends), written with the change that
    // caused them; dead letters stay until replayed.
    r#"
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        account_sid TEXT NOT NULL,
        lane TEXT,
        dead INTEGER NOT NULL,
        next_attempt_ms INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(next_attempt_ms, seq) WHERE dead = 0;
    CREATE INDEX outbox_lane ON outbox(lane, seq) WHERE dead = 0 AND lane IS NOT NULL;
    CREATE INDEX outbox_dead ON outbox(account_sid, seq) WHERE dead = 1;
    "#,
    // 9: the long texts TaskRouter events repeat (task and worker attributes), stored once per
    // workspace and referred to by hash.
    r#"
    CREATE TABLE routing_texts (
        seq INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        workspace_sid TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX routing_texts_workspace ON routing_texts(workspace_sid);
    ALTER TABLE routing_events ADD COLUMN task_attributes_ref BLOB;
    ALTER TABLE routing_events ADD COLUMN worker_attributes_ref BLOB;
    "#,
];

/// Brings the database schema up to date.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 6 reshapes the messages table: data written under version 5 must survive,
    /// with each conversation's next index.
    #[test]
    fn messages_written_before_the_clustered_layout_survive_it() {
        let mut conn = Connection::open_in_memory().expect("db");
        for sql in &MIGRATIONS[..5] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 5)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO conversations (sid, account_sid, service_sid, state, date_created, \
             next_index, data) VALUES ('CH1', 'AC1', 'IS1', 'active', 0, 3, '{}');
             INSERT INTO messages (sid, conversation_sid, idx, client_id, data) VALUES
               ('IM0', 'CH1', 0, 'alice:a', 'm0'), ('IM2', 'CH1', 2, NULL, 'm2');",
        )
        .expect("old rows");
        migrate(&mut conn).expect("migrated");
        let next: i64 = conn
            .query_row(
                "SELECT next_index FROM conversation_heads WHERE sid = 'CH1'",
                [],
                |r| r.get(0),
            )
            .expect("head");
        assert_eq!(next, 3, "a deleted last index is still never reused");
        let rows: Vec<(i64, String, Option<String>)> = conn
            .prepare("SELECT idx, sid, client_id FROM messages WHERE conversation_sid = 'CH1' ORDER BY idx")
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("read");
        assert_eq!(
            rows,
            vec![
                (0, "IM0".to_owned(), Some("alice:a".to_owned())),
                (2, "IM2".to_owned(), None)
            ]
        );
    }
}
