//! A blocking WebSocket test client (tokio-tungstenite on its own small runtime) that speaks
//! docs/protocol.md as a real client does, plus token minting with a real API key.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use switchboard::gateway::token::{ChatGrant, Grants, TaskRouterGrant, mint};
use switchboard::store::records::{KeyRecord, now};

use crate::harness::{ACCOUNT, TestServer};

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(10);

/// An API key made over REST, for minting tokens.
pub struct Minter {
    key: KeyRecord,
}

impl Minter {
    /// Creates an API key on `server`.
    pub fn new(server: &TestServer) -> Minter {
        let created = server
            .post(
                &format!("/api/2010-04-01/Accounts/{ACCOUNT}/Keys.json"),
                &[("FriendlyName", "tests")],
            )
            .expect(201);
        Minter {
            key: KeyRecord {
                sid: created["sid"].as_str().expect("sid").parse().expect("SK"),
                account_sid: ACCOUNT.parse().expect("AC"),
                friendly_name: "tests".into(),
                secret: created["secret"].as_str().expect("secret").into(),
                date_created: 0,
                date_updated: 0,
            },
        }
    }

    /// A token for `identity`: `role` `None` is a guest (chat grant only).
    pub fn token(&self, identity: &str, role: Option<&str>) -> String {
        self.token_with(identity, role, now(), 3600)
    }

    /// A token valid from `nbf` for `ttl` seconds.
    pub fn token_with(&self, identity: &str, role: Option<&str>, nbf: i64, ttl: i64) -> String {
        let grants = Grants {
            identity: None,
            chat: Some(ChatGrant::default()),
            task_router: role.map(|r| TaskRouterGrant {
                role: Some(r.into()),
                ..Default::default()
            }),
        };
        mint(&self.key, identity, grants, nbf, ttl)
    }

    /// A token whose `task_router` grant names a workspace and (agents) a worker.
    pub fn worker_token(
        &self,
        identity: &str,
        role: &str,
        workspace: &str,
        worker: Option<&str>,
    ) -> String {
        let grants = Grants {
            identity: None,
            chat: Some(ChatGrant::default()),
            task_router: Some(TaskRouterGrant {
                role: Some(role.into()),
                workspace_sid: Some(workspace.into()),
                worker_sid: worker.map(str::to_owned),
            }),
        };
        mint(&self.key, identity, grants, now(), 3600)
    }

    /// The key's secret (to forge a token signed with something else).
    pub fn key(&self) -> &KeyRecord {
        &self.key
    }
}

/// How a socket ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub code: Option<u16>,
    pub reason: String,
}

/// One client connection.
pub struct Ws {
    rt: tokio::runtime::Runtime,
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events read while waiting for something else.
    pending: VecDeque<Value>,
}

impl Ws {
    /// Opens `/v1/ws` (with `?token=` when given).
    pub fn open(server: &TestServer, token: Option<&str>) -> Ws {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let origin = server.origin.replace("http://", "ws://");
        let url = match token {
            Some(t) => format!("{origin}/v1/ws?token={t}"),
            None => format!("{origin}/v1/ws"),
        };
        let (stream, _) = rt
            .block_on(tokio_tungstenite::connect_async(url))
            .expect("websocket upgrade");
        Ws {
            rt,
            stream,
            next_id: 1,
            pending: VecDeque::new(),
        }
    }

    /// Opens a socket with `token` in the URL and completes `hello`; returns the session.
    pub fn session(server: &TestServer, token: &str) -> (Ws, Value) {
        Ws::resume(server, token, json!({}))
    }

    /// Like [`session`](Self::session) with a resume map.
    pub fn resume(server: &TestServer, token: &str, resume: Value) -> (Ws, Value) {
        let mut ws = Ws::open(server, Some(token));
        let session = ws.ok("hello", json!({ "protocol": 1, "resume": resume }));
        (ws, session)
    }

    /// Sends raw text.
    pub fn send_text(&mut self, text: &str) {
        self.rt
            .block_on(self.stream.send(Message::text(text.to_owned())))
            .expect("frame sent");
    }

    /// The next frame (JSON), or how the socket closed.
    pub fn next(&mut self, within: Duration) -> Result<Value, Closed> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let stream = &mut self.stream;
            let frame = self
                .rt
                .block_on(async { tokio::time::timeout(left, stream.next()).await })
                .map_err(|_| Closed {
                    code: None,
                    reason: "timed out".into(),
                })?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(&text).expect("server frames are JSON"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Closed {
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    });
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    return Err(Closed {
                        code: None,
                        reason: e.to_string(),
                    });
                }
                None => {
                    return Err(Closed {
                        code: None,
                        reason: "stream ended".into(),
                    });
                }
            }
        }
    }

    /// Sends a command and returns its answer frame (`reply` or `error`); events that arrive
    /// meanwhile are kept for [`event`](Self::event).
    pub fn request(&mut self, kind: &str, fields: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut frame = fields;
        frame["type"] = json!(kind);
        frame["id"] = json!(id);
        self.send_text(&frame.to_string());
        loop {
            let frame = self
                .next(WAIT)
                .unwrap_or_else(|c| panic!("no answer to {kind}: {c:?}"));
            if frame["type"] == "event" {
                self.pending.push_back(frame);
                continue;
            }
            assert_eq!(frame["id"], json!(id), "answers come for the command sent");
            return frame;
        }
    }

    /// A command that must succeed: its `result`.
    #[track_caller]
    pub fn ok(&mut self, kind: &str, fields: Value) -> Value {
        let answer = self.request(kind, fields);
        assert_eq!(answer["type"], "reply", "{kind} failed: {answer}");
        answer["result"].clone()
    }

    /// A command that must fail: its `error` object.
    #[track_caller]
    pub fn err(&mut self, kind: &str, fields: Value) -> Value {
        let answer = self.request(kind, fields);
        assert_eq!(answer["type"], "error", "{kind} should fail: {answer}");
        answer["error"].clone()
    }

    /// The next event (of any name).
    #[track_caller]
    pub fn any_event(&mut self) -> Value {
        if let Some(e) = self.pending.pop_front() {
            return e;
        }
        let frame = self
            .next(WAIT)
            .unwrap_or_else(|c| panic!("no event: {c:?}"));
        assert_eq!(frame["type"], "event", "unexpected frame {frame}");
        frame
    }

    /// The next event named `name`, skipping (and dropping) others.
    #[track_caller]
    pub fn event(&mut self, name: &str) -> Value {
        loop {
            let e = self.any_event();
            if e["event"] == name {
                return e;
            }
        }
    }

    /// Every `message_added` index received within `quiet` of silence.
    pub fn drain_message_indexes(&mut self, quiet: Duration) -> Vec<u64> {
        let mut out = Vec::new();
        let mut take = |e: &Value| {
            if e["event"] == "message_added" {
                out.push(e["data"]["index"].as_u64().expect("index"));
            }
        };
        while let Some(e) = self.pending.pop_front() {
            take(&e);
        }
        while let Ok(e) = self.next(quiet) {
            take(&e);
        }
        out
    }

    /// Asserts nothing arrives within `quiet` (no event leaked).
    #[track_caller]
    pub fn assert_silent(&mut self, quiet: Duration) {
        assert!(self.pending.is_empty(), "unexpected {:?}", self.pending);
        if let Ok(frame) = self.next(quiet) {
            panic!("unexpected frame {frame}");
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    #[track_caller]
    pub fn closed(&mut self) -> Closed {
        loop {
            match self.next(WAIT) {
                Ok(_) => continue,
                Err(c) => {
                    assert_ne!(c.reason, "timed out", "socket was not closed");
                    return c;
                }
            }
        }
    }

    /// Stops reading and drops the TCP connection without a close handshake.
    pub fn drop_connection(self) {
        drop(self);
    }
}
