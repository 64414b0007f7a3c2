//! Tests of the writer's SQL: what each mutation leaves behind, and how many pages it writes.

use crate::config::Settings;
use crate::conversations::drafts::{ConversationDraft, ParticipantDraft, Scope};
use crate::conversations::state::{new_conversation, new_participant};
use crate::ids::{AccountSid, ConversationSid, MessageSid, ServiceSid};
use crate::store::records::{
    ConversationRecord, DocRecord, MessageRecord, MessagingBinding, ParticipantRecord,
};
use crate::store::sqlite::SqliteStore;
use crate::store::{DocStore, Mutation, StoreError, WriteLog};

fn hook_doc(sid: &str, conversation: &ConversationSid) -> Mutation {
    Mutation::PutDoc(DocRecord {
        sid: sid.into(),
        kind: "conversation_webhook".into(),
        scope: conversation.to_string(),
        alt: None,
        data: "{}".into(),
    })
}

#[tokio::test]
async fn a_deleted_conversation_takes_its_scoped_webhooks_along() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path(), &Settings::default().store).expect("open");
    let gone = ConversationSid::generate();
    let kept = ConversationSid::generate();
    store
        .submit(vec![hook_doc("WH1", &gone), hook_doc("WH2", &kept)])
        .await
        .expect("stored");
    store
        .submit(vec![Mutation::DeleteConversation(gone.clone())])
        .await
        .expect("deleted");
    assert!(store.docs_in(gone.as_str()).await.expect("read").is_empty());
    assert_eq!(store.docs_in(kept.as_str()).await.expect("read").len(), 1);
}

/// A WAL database with one SMS conversation, its participant and a document.
fn seeded(dir: &std::path::Path) -> (rusqlite::Connection, ConversationRecord, ParticipantRecord) {
    let mut conn = rusqlite::Connection::open(dir.join("t.db")).expect("db");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .expect("no checkpoints");
    super::super::schema::migrate(&mut conn).expect("schema");
    let scope = Scope::internal(AccountSid::generate(), ServiceSid::generate());
    let conversation = new_conversation(&scope, ConversationDraft::default(), 1);
    let binding = MessagingBinding {
        kind: "sms".into(),
        address: Some("+15550001".into()),
        proxy_address: Some("+15550002".into()),
        projected_address: None,
    };
    let participant = new_participant(
        &conversation,
        ParticipantDraft {
            binding: Some(binding),
            ..Default::default()
        },
        1,
    );
    let unit = [
        Mutation::InsertConversation(conversation.clone()),
        Mutation::InsertParticipant(participant.clone()),
        doc("WT1", "WS1", None, "{}"),
    ];
    commit(&conn, &unit);
    (conn, conversation, participant)
}

fn doc(sid: &str, scope: &str, alt: Option<&str>, data: &str) -> Mutation {
    Mutation::PutDoc(DocRecord {
        sid: sid.into(),
        kind: "task".into(),
        scope: scope.into(),
        alt: alt.map(str::to_owned),
        data: data.into(),
    })
}

fn commit(conn: &rusqlite::Connection, unit: &[Mutation]) {
    conn.execute_batch("BEGIN").expect("begin");
    super::apply_unit(conn, unit).expect("applied");
    conn.execute_batch("COMMIT").expect("commit");
}

/// Pages one committed unit writes to the WAL.
fn pages_written(conn: &rusqlite::Connection, unit: &[Mutation]) -> u32 {
    let frames = |c: &rusqlite::Connection| -> u32 {
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .expect("wal size")
    };
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("reset the WAL");
    let before = frames(conn);
    commit(conn, unit);
    frames(conn) - before
}

fn message(c: &ConversationRecord, index: u64) -> MessageRecord {
    MessageRecord {
        sid: MessageSid::generate_ordered(),
        account_sid: c.account_sid.clone(),
        service_sid: c.service_sid.clone(),
        conversation_sid: c.sid.clone(),
        index,
        author: "ana".into(),
        body: Some(format!("m{index}")),
        subject: None,
        attributes: "{}".into(),
        participant_sid: None,
        media: None,
        content_sid: None,
        delivery: None,
        client_message_id: None,
        date_created: 1,
        date_updated: 1,
    }
}

#[test]
fn a_message_writes_one_page_and_indexes_are_never_reused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (conn, c, _) = seeded(dir.path());
    let append = |index: u64| {
        conn.execute_batch("BEGIN").expect("begin");
        let done = super::apply_unit(&conn, &[Mutation::AppendMessage(message(&c, index))]);
        conn.execute_batch("COMMIT").expect("commit");
        done
    };
    append(0).expect("first");
    // The message's page and its SID index's: the head is not rewritten.
    assert_eq!(
        pages_written(&conn, &[Mutation::AppendMessage(message(&c, 1))]),
        2
    );
    let last = message(&c, 2);
    commit(&conn, &[Mutation::AppendMessage(last.clone())]);
    assert!(matches!(append(2), Err(StoreError::Stale)), "index taken");
    assert!(matches!(append(4), Err(StoreError::Stale)), "a gap");

    // Deleting the last message does not hand its index out again, after a restart too.
    commit(&conn, &[Mutation::DeleteMessage(last.sid)]);
    assert_eq!(
        super::next_message_index(&conn, c.sid.as_str()).expect("next"),
        Some(3)
    );
    assert!(
        matches!(append(2), Err(StoreError::Stale)),
        "index of a deleted message"
    );
    append(3).expect("the next index");
    assert_eq!(
        super::next_message_index(&conn, c.sid.as_str()).expect("next"),
        Some(4)
    );
    assert_eq!(
        super::next_message_index(&conn, "CHnone").expect("next"),
        None
    );
}

#[test]
fn updates_that_keep_the_indexed_columns_rewrite_only_the_row() {
    let dir = tempfile::tempdir().expect("tmp");
    let (conn, conversation, participant) = seeded(dir.path());
    let column =
        |sql: &str| -> Option<String> { conn.query_row(sql, [], |r| r.get(0)).expect("row") };

    // A read horizon: the participant's page and nothing else (its binding, identity and
    // address indexes stay as they are).
    let mut read = participant.clone();
    read.last_read_message_index = Some(3);
    assert_eq!(
        pages_written(&conn, &[Mutation::UpdateParticipant(read.clone())]),
        1
    );
    let stored: String = column("SELECT data FROM participants").expect("data");
    assert!(stored.contains("\"last_read_message_index\":3"), "{stored}");

    // New attributes of the conversation: its row's page only.
    let mut renamed_conversation = conversation;
    renamed_conversation.attributes = "{\"vip\":true}".into();
    assert_eq!(
        pages_written(&conn, &[Mutation::UpdateConversation(renamed_conversation)]),
        1
    );
    let stored: String = column("SELECT data FROM conversations").expect("data");
    assert!(stored.contains("vip"), "{stored}");

    // A document's new data in the same scope: its page only.
    assert_eq!(
        pages_written(&conn, &[doc("WT1", "WS1", None, "{\"v\":2}")]),
        1
    );
    assert_eq!(
        column("SELECT data FROM docs").as_deref(),
        Some("{\"v\":2}")
    );

    // Changes to indexed columns still reach the indexes.
    let moved = doc("WT1", "WS2", Some("CH1"), "{\"v\":3}");
    assert!(pages_written(&conn, &[moved]) > 1);
    assert_eq!(column("SELECT scope FROM docs").as_deref(), Some("WS2"));
    assert_eq!(column("SELECT alt FROM docs").as_deref(), Some("CH1"));
    let mut renamed = read;
    renamed.identity = Some("ana".into());
    commit(&conn, &[Mutation::UpdateParticipant(renamed.clone())]);
    assert_eq!(
        column("SELECT identity FROM participants").as_deref(),
        Some("ana")
    );
    assert_eq!(
        column("SELECT participant_sid FROM address_bindings").as_deref(),
        Some(renamed.sid.as_str())
    );
    // A binding dropped from the record is released.
    let mut unbound = renamed;
    unbound.messaging_binding = None;
    commit(&conn, &[Mutation::UpdateParticipant(unbound)]);
    let bindings: i64 = conn
        .query_row("SELECT count(*) FROM address_bindings", [], |r| r.get(0))
        .expect("count");
    assert_eq!(bindings, 0);
}
