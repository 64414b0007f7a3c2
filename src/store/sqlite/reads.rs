//! Read queries of the SQLite store, one `impl` per aggregate trait. Rows are decoded from the
//! `data` JSON column; pages fetch one extra row to learn whether another page follows.

use async_trait::async_trait;
use rusqlite::types::ToSql;
use rusqlite::{Connection, OptionalExtension, params};
use serde::de::DeserializeOwned;

use super::SqliteStore;
use crate::ids::{AccountSid, ConversationSid, MessageSid, RoleSid, ServiceSid, has_sid_shape};
use crate::store::records::*;
use crate::store::{
    AccountStore, ConversationFilter, ConversationStore, DocStore, IdempotencyStore, MediaStore,
    MessageRange, MessageStore, Page, PageRequest, ParticipantKey, RoutingEventFilter, StoreError,
};

pub(super) fn decode<T: DeserializeOwned>(data: &str) -> Result<T, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Database(format!("decode: {e}")))
}

fn one<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
) -> Result<Option<T>, StoreError> {
    let data: Option<String> = conn.query_row(sql, args, |r| r.get(0)).optional()?;
    data.as_deref().map(decode).transpose()
}

/// Runs a query whose first column is `data`, appending `LIMIT/OFFSET` for `page`.
/// How many client message ids an actor reloads to recognise retried sends.
const RECENT_CLIENT_IDS: i64 = 1024;

pub(super) fn page<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
    page: PageRequest,
) -> Result<Page<T>, StoreError> {
    let sql = format!(
        "{sql} LIMIT {} OFFSET {}",
        u64::from(page.size) + 1,
        page.offset()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0))?;
    let mut items = Vec::with_capacity(page.size as usize);
    for row in rows {
        items.push(decode(&row?)?);
    }
    let has_more = items.len() > page.size as usize;
    items.truncate(page.size as usize);
    Ok(Page { items, has_more })
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT data FROM api_keys")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| decode(&r?)).collect()
        })
        .await
    }

    async fn key(&self, sid: &crate::ids::KeySid) -> Result<Option<KeyRecord>, StoreError> {
        let sid = sid.clone();
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM api_keys WHERE sid = ?1",
                &[&sid.as_str()],
            )
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare("SELECT data FROM accounts")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| decode(&r?)).collect()
        })
        .await
    }

    async fn account_config(
        &self,
        account: &AccountSid,
    ) -> Result<Option<AccountConfigRecord>, StoreError> {
        let account = account.clone();
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM account_configs WHERE account_sid = ?1",
                &[&account.as_str()],
            )
        })
        .await
    }

    async fn service(
        &self,
        account: &AccountSid,
        sid: &ServiceSid,
    ) -> Result<Option<ServiceRecord>, StoreError> {
        let (account, sid) = (account.clone(), sid.clone());
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM services WHERE sid = ?1 AND account_sid = ?2",
                &[&sid.as_str(), &account.as_str()],
            )
        })
        .await
    }

    async fn services(
        &self,
        account: &AccountSid,
        p: PageRequest,
    ) -> Result<Page<ServiceRecord>, StoreError> {
        let account = account.clone();
        self.read(move |c| {
            page(
                c,
                "SELECT data FROM services WHERE account_sid = ?1 ORDER BY seq",
                &[&account.as_str()],
                p,
            )
        })
        .await
    }

    async fn service_config(
        &self,
        service: &ServiceSid,
    ) -> Result<Option<ServiceConfigRecord>, StoreError> {
        let service = service.clone();
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM service_configs WHERE service_sid = ?1",
                &[&service.as_str()],
            )
        })
        .await
    }

    async fn role(
        &self,
        service: &ServiceSid,
        sid: &RoleSid,
    ) -> Result<Option<RoleRecord>, StoreError> {
        let (service, sid) = (service.clone(), sid.clone());
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM roles WHERE sid = ?1 AND service_sid = ?2",
                &[&sid.as_str(), &service.as_str()],
            )
        })
        .await
    }

    async fn roles(
        &self,
        service: &ServiceSid,
        p: PageRequest,
    ) -> Result<Page<RoleRecord>, StoreError> {
        let service = service.clone();
        self.read(move |c| {
            page(
                c,
                "SELECT data FROM roles WHERE service_sid = ?1 ORDER BY seq",
                &[&service.as_str()],
                p,
            )
        })
        .await
    }

    async fn user(
        &self,
        service: &ServiceSid,
        key: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let (service, key) = (service.clone(), key.to_owned());
        self.read(move |c| {
            let column = if has_sid_shape("US", &key) {
                "sid"
            } else {
                "identity"
            };
            one(
                c,
                &format!("SELECT data FROM users WHERE {column} = ?1 AND service_sid = ?2"),
                &[&key, &service.as_str()],
            )
        })
        .await
    }

    async fn users(
        &self,
        service: &ServiceSid,
        p: PageRequest,
    ) -> Result<Page<UserRecord>, StoreError> {
        let service = service.clone();
        self.read(move |c| {
            page(
                c,
                "SELECT data FROM users WHERE service_sid = ?1 ORDER BY seq",
                &[&service.as_str()],
                p,
            )
        })
        .await
    }
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn conversation(
        &self,
        service: &ServiceSid,
        key: &str,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        let (service, key) = (service.clone(), key.to_owned());
        self.read(move |c| {
            let column = if has_sid_shape("CH", &key) {
                "sid"
            } else {
                "unique_name"
            };
            one(
                c,
                &format!("SELECT data FROM conversations WHERE {column} = ?1 AND service_sid = ?2"),
                &[&key, &service.as_str()],
            )
        })
        .await
    }

    async fn conversations(
        &self,
        service: &ServiceSid,
        filter: &ConversationFilter,
        p: PageRequest,
    ) -> Result<Page<ConversationRecord>, StoreError> {
        let (service, filter) = (service.clone(), filter.clone());
        self.read(move |c| {
            let mut sql = String::from(
                "SELECT data FROM conversations WHERE service_sid = ?1 AND (?2 IS NULL OR state = ?2)
                 AND (?3 IS NULL OR date_created >= ?3) AND (?4 IS NULL OR date_created <= ?4)",
            );
            let state = filter.state.map(|s| s.as_str());
            // Twilio sorts by creation date, newest first, when a date filter is given.
            if filter.start.is_some() || filter.end.is_some() {
                sql.push_str(" ORDER BY date_created DESC, seq DESC");
            } else {
                sql.push_str(" ORDER BY seq");
            }
            page(c, &sql, params![service.as_str(), state, filter.start, filter.end], p)
        })
        .await
    }

    async fn load_conversation(
        &self,
        sid: &ConversationSid,
    ) -> Result<Option<LoadedConversation>, StoreError> {
        let sid = sid.clone();
        self.read(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM conversations WHERE sid = ?1",
                    [sid.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(data) = data else {
                return Ok(None);
            };
            let next_index = super::apply::next_message_index(c, sid.as_str())?.unwrap_or(0);
            let mut stmt = c.prepare_cached(
                "SELECT data FROM participants WHERE conversation_sid = ?1 ORDER BY seq",
            )?;
            let participants = stmt
                .query_map([sid.as_str()], |r| r.get::<_, String>(0))?
                .map(|r| decode(&r?))
                .collect::<Result<Vec<ParticipantRecord>, StoreError>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT client_id, sid FROM messages \
                 WHERE conversation_sid = ?1 AND client_id IS NOT NULL \
                 ORDER BY idx DESC LIMIT ?2",
            )?;
            let recent_client_ids = stmt
                .query_map(params![sid.as_str(), RECENT_CLIENT_IDS], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .filter_map(|row| match row {
                    Ok((id, sid)) => sid.parse().ok().map(|sid| Ok((id, sid))),
                    Err(e) => Some(Err(e)),
                })
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(LoadedConversation {
                record: decode(&data)?,
                next_index: next_index as u64,
                participants,
                recent_client_ids,
            }))
        })
        .await
    }

    async fn pending_timers(&self) -> Result<Vec<(ConversationSid, Timestamp)>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT sid, next_due FROM conversations WHERE next_due IS NOT NULL")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (sid, due) = row?;
                if let Ok(sid) = sid.parse() {
                    out.push((sid, due));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn participant(
        &self,
        conversation: &ConversationSid,
        key: &str,
    ) -> Result<Option<ParticipantRecord>, StoreError> {
        let (conversation, key) = (conversation.clone(), key.to_owned());
        self.read(move |c| {
            let column = if has_sid_shape("MB", &key) {
                "sid"
            } else {
                "identity"
            };
            one(
                c,
                &format!(
                    "SELECT data FROM participants WHERE {column} = ?1 AND conversation_sid = ?2"
                ),
                &[&key, &conversation.as_str()],
            )
        })
        .await
    }

    async fn binding_conversation(
        &self,
        account: &AccountSid,
        address: &str,
        proxy_address: &str,
    ) -> Result<Option<ConversationSid>, StoreError> {
        let (account, address, proxy) = (
            account.clone(),
            address.to_owned(),
            proxy_address.to_owned(),
        );
        self.read(move |c| {
            let sid: Option<String> = c
                .query_row(
                    "SELECT conversation_sid FROM address_bindings
                     WHERE account_sid = ?1 AND address = ?2 AND proxy_address = ?3",
                    params![account.as_str(), address, proxy],
                    |r| r.get(0),
                )
                .optional()?;
            sid.map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Database(format!("bad conversation sid {s}")))
            })
            .transpose()
        })
        .await
    }

    async fn participants(
        &self,
        conversation: &ConversationSid,
        p: PageRequest,
    ) -> Result<Page<ParticipantRecord>, StoreError> {
        let conversation = conversation.clone();
        self.read(move |c| {
            page(
                c,
                "SELECT data FROM participants WHERE conversation_sid = ?1 ORDER BY seq",
                &[&conversation.as_str()],
                p,
            )
        })
        .await
    }

    async fn participant_conversations(
        &self,
        service: &ServiceSid,
        key: &ParticipantKey,
        p: PageRequest,
    ) -> Result<Page<(ParticipantRecord, ConversationRecord)>, StoreError> {
        let (service, key) = (service.clone(), key.clone());
        self.read(move |c| {
            let (column, value) = match &key {
                ParticipantKey::Identity(v) => ("identity", v.clone()),
                ParticipantKey::Address(v) => ("address", v.clone()),
            };
            let sql = format!(
                "SELECT p.data, c.data FROM participants p JOIN conversations c ON c.sid = p.conversation_sid
                 WHERE p.service_sid = ?1 AND p.{column} = ?2 ORDER BY p.seq LIMIT {} OFFSET {}",
                u64::from(p.size) + 1,
                p.offset()
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![service.as_str(), value], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut items = Vec::new();
            for row in rows {
                let (pd, cd) = row?;
                items.push((decode(&pd)?, decode(&cd)?));
            }
            let has_more = items.len() > p.size as usize;
            items.truncate(p.size as usize);
            Ok(Page { items, has_more })
        })
        .await
    }
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn message(
        &self,
        conversation: &ConversationSid,
        key: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let (conversation, key) = (conversation.clone(), key.to_owned());
        self.read(move |c| {
            if let Ok(index) = key.parse::<i64>() {
                one(
                    c,
                    "SELECT data FROM messages WHERE conversation_sid = ?1 AND idx = ?2",
                    &[&conversation.as_str(), &index],
                )
            } else {
                one(
                    c,
                    "SELECT data FROM messages WHERE sid = ?1 AND conversation_sid = ?2",
                    &[&key, &conversation.as_str()],
                )
            }
        })
        .await
    }

    async fn count_messages_after(
        &self,
        conversation: &ConversationSid,
        index: u64,
    ) -> Result<u64, StoreError> {
        let conversation = conversation.clone();
        self.read(move |c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM messages WHERE conversation_sid = ?1 AND idx > ?2",
                params![conversation.as_str(), index as i64],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn messages(
        &self,
        conversation: &ConversationSid,
        descending: bool,
        p: PageRequest,
    ) -> Result<Page<MessageRecord>, StoreError> {
        let conversation = conversation.clone();
        self.read(move |c| {
            let sql = if descending {
                "SELECT data FROM messages WHERE conversation_sid = ?1 ORDER BY idx DESC"
            } else {
                "SELECT data FROM messages WHERE conversation_sid = ?1 ORDER BY idx"
            };
            page(c, sql, &[&conversation.as_str()], p)
        })
        .await
    }

    async fn message_range(
        &self,
        conversation: &ConversationSid,
        range: MessageRange,
        limit: u32,
    ) -> Result<Page<MessageRecord>, StoreError> {
        let conversation = conversation.clone();
        let first = PageRequest {
            page: 0,
            size: limit,
        };
        self.read(move |c| {
            let sid = conversation.as_str();
            match range {
                MessageRange::After(after) => {
                    let after = after.map_or(-1, |i| i as i64);
                    page(
                        c,
                        "SELECT data FROM messages WHERE conversation_sid = ?1 AND idx > ?2 \
                         ORDER BY idx",
                        &[&sid, &after],
                        first,
                    )
                }
                MessageRange::Before(before) => {
                    let before = before.map_or(i64::MAX, |i| i as i64);
                    let mut page: Page<MessageRecord> = page(
                        c,
                        "SELECT data FROM messages WHERE conversation_sid = ?1 AND idx < ?2 \
                         ORDER BY idx DESC",
                        &[&sid, &before],
                        first,
                    )?;
                    page.items.reverse();
                    Ok(page)
                }
            }
        })
        .await
    }

    async fn receipts(
        &self,
        message: &MessageSid,
        p: PageRequest,
    ) -> Result<Page<crate::store::delivery::ReceiptRecord>, StoreError> {
        let message = message.clone();
        self.read(move |c| {
            page(
                c,
                "SELECT data FROM receipts WHERE message_sid = ?1 ORDER BY seq",
                &[&message.as_str()],
                p,
            )
        })
        .await
    }

    async fn receipt(
        &self,
        message: &MessageSid,
        key: &str,
    ) -> Result<Option<crate::store::delivery::ReceiptRecord>, StoreError> {
        let (message, key) = (message.clone(), key.to_owned());
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM receipts WHERE message_sid = ?1 \
                 AND (sid = ?2 OR participant_sid = ?2)",
                &[&message.as_str(), &key],
            )
        })
        .await
    }

    async fn last_message_index(
        &self,
        conversation: &ConversationSid,
    ) -> Result<Option<u64>, StoreError> {
        let conversation = conversation.clone();
        self.read(move |c| {
            let max: Option<i64> = c.query_row(
                "SELECT MAX(idx) FROM messages WHERE conversation_sid = ?1",
                [conversation.as_str()],
                |r| r.get(0),
            )?;
            Ok(max.map(|i| i as u64))
        })
        .await
    }
}

#[async_trait]
impl MediaStore for SqliteStore {
    async fn media(
        &self,
        service: &ServiceSid,
        sid: &crate::ids::MediaSid,
    ) -> Result<Option<MediaRecord>, StoreError> {
        let (service, sid) = (service.clone(), sid.clone());
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM media WHERE sid = ?1 AND service_sid = ?2",
                &[&sid.as_str(), &service.as_str()],
            )
        })
        .await
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn idempotency(
        &self,
        account: &AccountSid,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let (account, key) = (account.clone(), key.to_owned());
        self.read(move |c| {
            one(
                c,
                "SELECT data FROM idempotency WHERE account_sid = ?1 AND key = ?2",
                &[&account.as_str(), &key],
            )
        })
        .await
    }
}

fn doc_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocRecord> {
    Ok(DocRecord {
        sid: r.get(0)?,
        kind: r.get(1)?,
        scope: r.get(2)?,
        alt: r.get(3)?,
        data: r.get(4)?,
    })
}

#[async_trait]
impl DocStore for SqliteStore {
    async fn docs_in(&self, scope: &str) -> Result<Vec<(String, String)>, StoreError> {
        let scope = scope.to_owned();
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT kind, data FROM docs WHERE scope = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([scope], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn docs_of_kind(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let kind = kind.to_owned();
        self.read(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT scope, data FROM docs WHERE kind = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn doc(&self, sid: &str) -> Result<Option<DocRecord>, StoreError> {
        let sid = sid.to_owned();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT sid, kind, scope, alt, data FROM docs WHERE sid = ?1",
                [sid],
                doc_row,
            )
            .optional()?)
        })
        .await
    }

    async fn docs_by_alt(&self, alt: &str) -> Result<Vec<DocRecord>, StoreError> {
        let alt = alt.to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT sid, kind, scope, alt, data FROM docs WHERE alt = ?1 ORDER BY seq",
            )?;
            let rows = stmt.query_map([alt], doc_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn routing_events(
        &self,
        workspace: &str,
        filter: &RoutingEventFilter,
        req: PageRequest,
    ) -> Result<Page<RoutingEventRecord>, StoreError> {
        let workspace = workspace.to_owned();
        let filter = filter.clone();
        self.read(move |c| super::routing_events::list(c, workspace, &filter, req))
            .await
    }

    async fn routing_event(
        &self,
        workspace: &str,
        sid: &str,
    ) -> Result<Option<RoutingEventRecord>, StoreError> {
        let (workspace, sid) = (workspace.to_owned(), sid.to_owned());
        self.read(move |c| super::routing_events::one(c, &workspace, &sid))
            .await
    }
}
