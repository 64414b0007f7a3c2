//! Turns [`Mutation`]s into SQL inside the writer's transaction. Uniqueness rules are checked
//! here, at the single point of serialisation, so concurrent actors cannot both win.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::store::records::{ConversationRecord, ConversationState, ParticipantRecord};
use crate::store::{ConflictKind, Mutation, StoreError};

/// Executes `sql` through the connection's statement cache: the writer runs the same few
/// statements over and over.
fn exec<P: rusqlite::Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Database(format!("encode: {e}")))
}

/// Applies every mutation of one unit, stopping at the first failure.
pub fn apply_unit(conn: &Connection, unit: &[Mutation]) -> Result<(), StoreError> {
    for mutation in unit {
        apply(conn, mutation)?;
    }
    Ok(())
}

fn apply(conn: &Connection, mutation: &Mutation) -> Result<(), StoreError> {
    match mutation {
        Mutation::PutAccount(a) => {
            exec(
                conn,
                "INSERT OR REPLACE INTO accounts (sid, data) VALUES (?1, ?2)",
                params![a.sid.as_str(), json(a)?],
            )?;
        }
        Mutation::PutAccountConfig(c) => {
            exec(
                conn,
                "INSERT OR REPLACE INTO account_configs (account_sid, data) VALUES (?1, ?2)",
                params![c.account_sid.as_str(), json(c)?],
            )?;
        }
        Mutation::PutService(s) => {
            exec(
                conn,
                "INSERT INTO services (sid, account_sid, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(sid) DO UPDATE SET data = excluded.data",
                params![s.sid.as_str(), s.account_sid.as_str(), json(s)?],
            )?;
        }
        Mutation::DeleteService(sid) => {
            let sid = sid.as_str();
            exec(
                conn,
                "DELETE FROM receipts WHERE message_sid IN (SELECT m.sid FROM messages m \
                   JOIN conversations c ON c.sid = m.conversation_sid WHERE c.service_sid = ?1)",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM messages WHERE conversation_sid IN
                   (SELECT sid FROM conversations WHERE service_sid = ?1)",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM conversation_heads WHERE sid IN
                   (SELECT sid FROM conversations WHERE service_sid = ?1)",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM address_bindings WHERE conversation_sid IN
                   (SELECT sid FROM conversations WHERE service_sid = ?1)",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM docs WHERE kind = 'conversation_webhook' AND scope IN
                   (SELECT sid FROM conversations WHERE service_sid = ?1)",
                [sid],
            )?;
            for table in [
                "participants",
                "conversations",
                "users",
                "roles",
                "service_configs",
            ] {
                conn.execute(
                    &format!("DELETE FROM {table} WHERE service_sid = ?1"),
                    [sid],
                )?;
            }
            exec(conn, "DELETE FROM services WHERE sid = ?1", [sid])?;
            // The service's webhook configuration (api::webhook_config).
            exec(
                conn,
                "DELETE FROM docs WHERE sid = 'webhooks:' || ?1",
                [sid],
            )?;
        }
        Mutation::PutServiceConfig(c) => {
            exec(
                conn,
                "INSERT OR REPLACE INTO service_configs (service_sid, data) VALUES (?1, ?2)",
                params![c.service_sid.as_str(), json(c)?],
            )?;
        }
        Mutation::PutRole(r) => {
            exec(
                conn,
                "INSERT INTO roles (sid, service_sid, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(sid) DO UPDATE SET data = excluded.data",
                params![r.sid.as_str(), r.service_sid.as_str(), json(r)?],
            )?;
        }
        Mutation::DeleteRole(sid) => {
            exec(conn, "DELETE FROM roles WHERE sid = ?1", [sid.as_str()])?;
        }
        Mutation::PutUser(u) => {
            let taken: Option<String> = conn
                .query_row(
                    "SELECT sid FROM users WHERE service_sid = ?1 AND identity = ?2",
                    params![u.service_sid.as_str(), u.identity],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some_and(|sid| sid != u.sid.as_str()) {
                return Err(StoreError::Conflict(ConflictKind::UserIdentity));
            }
            exec(
                conn,
                "INSERT INTO users (sid, service_sid, identity, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(sid) DO UPDATE SET identity = excluded.identity, data = excluded.data",
                params![u.sid.as_str(), u.service_sid.as_str(), u.identity, json(u)?],
            )?;
        }
        Mutation::DeleteUser(sid) => {
            exec(conn, "DELETE FROM users WHERE sid = ?1", [sid.as_str()])?;
        }
        Mutation::InsertConversation(c) => {
            check_unique_name(conn, c)?;
            exec(
                conn,
                "INSERT INTO conversations
                   (sid, account_sid, service_sid, unique_name, state, date_created, next_due, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    c.sid.as_str(),
                    c.account_sid.as_str(),
                    c.service_sid.as_str(),
                    c.unique_name,
                    c.state.as_str(),
                    c.date_created,
                    c.timers.next_due(),
                    json(c)?
                ],
            )?;
            exec(
                conn,
                "INSERT INTO conversation_heads (sid, next_index) VALUES (?1, 0)",
                [c.sid.as_str()],
            )?;
        }
        Mutation::UpdateConversation(c) => {
            check_unique_name(conn, c)?;
            // Most updates leave every indexed column as it was: rewriting only the row then
            // touches no index page (setting a column to its own value rewrites its indexes).
            let (data, next_due) = (json(c)?, c.timers.next_due());
            let values = params![
                c.sid.as_str(),
                c.unique_name,
                c.state.as_str(),
                c.date_created,
                next_due,
                data
            ];
            let kept = exec(
                conn,
                "UPDATE conversations SET state = ?3, data = ?6 WHERE sid = ?1
                   AND unique_name IS ?2 AND date_created = ?4 AND next_due IS ?5",
                values,
            )?;
            if kept == 1 {
                return Ok(());
            }
            let changed = exec(
                conn,
                "UPDATE conversations SET unique_name = ?2, state = ?3, date_created = ?4,
                   next_due = ?5, data = ?6 WHERE sid = ?1",
                values,
            )?;
            if changed == 0 {
                return Err(StoreError::Stale);
            }
        }
        Mutation::DeleteConversation(sid) => {
            let sid = sid.as_str();
            exec(
                conn,
                "DELETE FROM receipts WHERE message_sid IN \
                 (SELECT sid FROM messages WHERE conversation_sid = ?1)",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM messages WHERE conversation_sid = ?1",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM address_bindings WHERE conversation_sid = ?1",
                [sid],
            )?;
            exec(
                conn,
                "DELETE FROM participants WHERE conversation_sid = ?1",
                [sid],
            )?;
            exec(conn, "DELETE FROM conversation_heads WHERE sid = ?1", [sid])?;
            exec(conn, "DELETE FROM conversations WHERE sid = ?1", [sid])?;
            // Its scoped webhooks (api::conversation_webhooks).
            exec(
                conn,
                "DELETE FROM docs WHERE kind = 'conversation_webhook' AND scope = ?1",
                [sid],
            )?;
        }
        Mutation::ReleaseBindings(sid) => {
            exec(
                conn,
                "DELETE FROM address_bindings WHERE conversation_sid = ?1",
                [sid.as_str()],
            )?;
        }
        Mutation::InsertParticipant(p) => {
            if let Some(identity) = &p.identity {
                let taken: Option<String> = conn
                    .query_row(
                        "SELECT sid FROM participants WHERE conversation_sid = ?1 AND identity = ?2",
                        params![p.conversation_sid.as_str(), identity],
                        |r| r.get(0),
                    )
                    .optional()?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(ConflictKind::ParticipantIdentity));
                }
            }
            bind_address(conn, p)?;
            exec(
                conn,
                "INSERT INTO participants (sid, conversation_sid, service_sid, identity, address, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    p.sid.as_str(),
                    p.conversation_sid.as_str(),
                    p.service_sid.as_str(),
                    p.identity,
                    binding_address(p),
                    json(p)?
                ],
            )?;
        }
        Mutation::UpdateParticipant(p) => {
            // A read horizon or attributes change: same identity, address and binding, so
            // only the row's data is rewritten and no index page is touched.
            if binding_kept(conn, p)?
                && exec(
                    conn,
                    "UPDATE participants SET data = ?4
                     WHERE sid = ?1 AND identity IS ?2 AND address IS ?3",
                    params![p.sid.as_str(), p.identity, binding_address(p), json(p)?],
                )? == 1
            {
                return Ok(());
            }
            exec(
                conn,
                "DELETE FROM address_bindings WHERE participant_sid = ?1",
                [p.sid.as_str()],
            )?;
            bind_address(conn, p)?;
            exec(
                conn,
                "UPDATE participants SET identity = ?2, address = ?3, data = ?4 WHERE sid = ?1",
                params![p.sid.as_str(), p.identity, binding_address(p), json(p)?],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Conflict(ConflictKind::ParticipantIdentity)
                }
                other => other.into(),
            })?;
        }
        Mutation::DeleteParticipant(sid) => {
            exec(
                conn,
                "DELETE FROM address_bindings WHERE participant_sid = ?1",
                [sid.as_str()],
            )?;
            exec(
                conn,
                "DELETE FROM participants WHERE sid = ?1",
                [sid.as_str()],
            )?;
        }
        Mutation::AppendMessage(m) => {
            let index = m.index as i64;
            if next_message_index(conn, m.conversation_sid.as_str())? != Some(index) {
                return Err(StoreError::Stale);
            }
            exec(
                conn,
                "INSERT INTO messages (sid, conversation_sid, idx, client_id, data) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    m.sid.as_str(),
                    m.conversation_sid.as_str(),
                    index,
                    m.client_message_id.as_deref(),
                    json(m)?
                ],
            )?;
        }
        Mutation::UpdateMessage(m) => {
            exec(
                conn,
                "UPDATE messages SET data = ?3 WHERE conversation_sid = ?1 AND idx = ?2",
                params![m.conversation_sid.as_str(), m.index as i64, json(m)?],
            )?;
        }
        Mutation::DeleteMessage(sid) => {
            // Indexes are never reused: the head remembers the deleted message's successor.
            exec(
                conn,
                "UPDATE conversation_heads SET next_index = max(next_index,
                   (SELECT idx + 1 FROM messages WHERE sid = ?1))
                 WHERE sid = (SELECT conversation_sid FROM messages WHERE sid = ?1)",
                [sid.as_str()],
            )?;
            exec(
                conn,
                "DELETE FROM receipts WHERE message_sid = ?1",
                [sid.as_str()],
            )?;
            exec(conn, "DELETE FROM messages WHERE sid = ?1", [sid.as_str()])?;
        }
        Mutation::PutIdempotency(r) => {
            exec(
                conn,
                "INSERT OR REPLACE INTO idempotency (account_sid, key, date_created, data)
                 VALUES (?1, ?2, ?3, ?4)",
                params![r.account_sid.as_str(), r.key, r.date_created, json(r)?],
            )?;
        }
        Mutation::PutKey(k) => {
            exec(
                conn,
                "INSERT OR REPLACE INTO api_keys (sid, account_sid, data) VALUES (?1, ?2, ?3)",
                params![k.sid.as_str(), k.account_sid.as_str(), json(k)?],
            )?;
        }
        Mutation::PutReceipt(r) => {
            exec(
                conn,
                "INSERT INTO receipts (sid, message_sid, participant_sid, data) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (message_sid, participant_sid) DO UPDATE SET data = excluded.data",
                params![
                    r.sid.as_str(),
                    r.message_sid.as_str(),
                    r.participant_sid.as_str(),
                    json(r)?
                ],
            )?;
        }
        Mutation::PutMedia(m) => {
            exec(
                conn,
                "INSERT INTO media (sid, service_sid, data) VALUES (?1, ?2, ?3)",
                params![m.sid.as_str(), m.service_sid.as_str(), json(m)?],
            )?;
        }
        Mutation::PutDoc(d) => {
            // An update that keeps the document's scope and alternate key rewrites only its
            // data, touching no index page (nor `sqlite_sequence`, which an upsert on this
            // AUTOINCREMENT table does); a new or moved document goes through the upsert.
            let kept = exec(
                conn,
                "UPDATE docs SET data = ?4 WHERE sid = ?1 AND scope = ?2 AND alt IS ?3",
                params![d.sid, d.scope, d.alt, d.data],
            )?;
            if kept == 0 {
                exec(
                    conn,
                    "INSERT INTO docs (sid, kind, scope, alt, data) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(sid) DO UPDATE SET data = excluded.data, alt = excluded.alt,
                       scope = excluded.scope",
                    params![d.sid, d.kind, d.scope, d.alt, d.data],
                )?;
            }
        }
        Mutation::PutOutbox(o) => {
            exec(
                conn,
                "INSERT INTO outbox (id, account_sid, lane, dead, next_attempt_ms, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET dead = excluded.dead,
                   next_attempt_ms = excluded.next_attempt_ms, data = excluded.data",
                params![
                    o.id,
                    o.account_sid.as_str(),
                    o.lane,
                    o.dead,
                    o.next_attempt_ms,
                    json(o)?
                ],
            )?;
        }
        Mutation::UpdateOutbox(o) => {
            exec(
                conn,
                "UPDATE outbox SET dead = ?2, next_attempt_ms = ?3, data = ?4 WHERE id = ?1",
                params![o.id, o.dead, o.next_attempt_ms, json(o)?],
            )?;
        }
        Mutation::DeleteOutbox(id) => {
            exec(conn, "DELETE FROM outbox WHERE id = ?1", [id])?;
        }
        Mutation::DeleteDoc(sid) => {
            exec(conn, "DELETE FROM docs WHERE sid = ?1", [sid])?;
        }
        Mutation::DeleteScope(scope) => {
            exec(
                conn,
                "DELETE FROM docs WHERE scope = ?1 OR sid = ?1",
                [scope],
            )?;
            super::routing_events::delete_workspace(conn, scope)?;
        }
        Mutation::AppendRoutingEvent(e) => super::routing_events::append(conn, e)?,
        Mutation::DeleteKey(sid) => {
            exec(conn, "DELETE FROM api_keys WHERE sid = ?1", [sid.as_str()])?;
        }
        Mutation::PurgeIdempotency(before) => {
            exec(
                conn,
                "DELETE FROM idempotency WHERE date_created < ?1",
                [before],
            )?;
        }
    }
    Ok(())
}

fn check_unique_name(conn: &Connection, c: &ConversationRecord) -> Result<(), StoreError> {
    let Some(name) = &c.unique_name else {
        return Ok(());
    };
    let taken: Option<String> = conn
        .query_row(
            "SELECT sid FROM conversations WHERE service_sid = ?1 AND unique_name = ?2",
            params![c.service_sid.as_str(), name],
            |r| r.get(0),
        )
        .optional()?;
    match taken {
        Some(sid) if sid != c.sid.as_str() => Err(StoreError::Conflict(ConflictKind::UniqueName)),
        _ => Ok(()),
    }
}

/// The address column indexed for `ParticipantConversations?Address=`.
/// The index the conversation's next message gets (None if there is no such conversation):
/// one past its last message, or past the last one deleted if that came later. Appending a
/// message writes only the message: the head (`conversation_heads`) changes when a message
/// is deleted, so each message costs one page fewer than when the head counted every one.
pub(super) fn next_message_index(
    conn: &Connection,
    conversation: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT max(h.next_index, coalesce((SELECT max(m.idx) + 1 FROM messages m
               WHERE m.conversation_sid = h.sid), 0))
             FROM conversation_heads h WHERE h.sid = ?1",
        )?
        .query_row([conversation], |r| r.get(0))
        .optional()?)
}

fn binding_address(p: &ParticipantRecord) -> Option<&str> {
    p.messaging_binding
        .as_ref()
        .and_then(|b| b.address.as_deref())
}

/// Whether the participant's address binding is already what [`bind_address`] would make of
/// it: held exactly as recorded while its conversation is open, or absent when it has none.
fn binding_kept(conn: &Connection, p: &ParticipantRecord) -> Result<bool, StoreError> {
    let held: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT account_sid, address, proxy_address FROM address_bindings
             WHERE participant_sid = ?1",
        )?
        .query_row([p.sid.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let wanted = p
        .messaging_binding
        .as_ref()
        .and_then(|b| Some((b.address.as_deref()?, b.proxy_address.as_deref()?)));
    let Some((address, proxy)) = wanted else {
        return Ok(held.is_none());
    };
    let Some((account, held_address, held_proxy)) = held else {
        return Ok(false);
    };
    if (account.as_str(), held_address.as_str(), held_proxy.as_str())
        != (p.account_sid.as_str(), address, proxy)
    {
        return Ok(false);
    }
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM conversations WHERE sid = ?1")?
        .query_row([p.conversation_sid.as_str()], |r| r.get(0))
        .optional()?;
    Ok(state.as_deref() != Some(ConversationState::Closed.as_str()))
}

/// Claims the participant's (address, proxy) pair unless its conversation is closed.
fn bind_address(conn: &Connection, p: &ParticipantRecord) -> Result<(), StoreError> {
    let Some(binding) = &p.messaging_binding else {
        return Ok(());
    };
    let (Some(address), Some(proxy)) = (&binding.address, &binding.proxy_address) else {
        return Ok(());
    };
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM conversations WHERE sid = ?1",
            [p.conversation_sid.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    if state.as_deref() == Some(ConversationState::Closed.as_str()) {
        return Ok(());
    }
    let holder: Option<String> = conn
        .query_row(
            "SELECT conversation_sid FROM address_bindings
             WHERE account_sid = ?1 AND address = ?2 AND proxy_address = ?3",
            params![p.account_sid.as_str(), address, proxy],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(conversation) = holder {
        return Err(StoreError::Conflict(ConflictKind::AddressPair(
            conversation,
        )));
    }
    exec(
        conn,
        "INSERT INTO address_bindings (account_sid, address, proxy_address, conversation_sid, participant_sid)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![p.account_sid.as_str(), address, proxy, p.conversation_sid.as_str(), p.sid.as_str()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
