//! Benchmark reference: the same WebSocket load as `ws_fanout`, against a bare room broadcaster
//! instead of Switchboard, to show what the WebSocket layer alone costs on this machine.
//!
//! The broadcaster (`--serve`, which the load mode spawns as a child process so that server and
//! load generator are separate processes exactly as with `ws_fanout`) is tokio-tungstenite with
//! no storage, no auth and no routing: one room per conversation; a socket joins rooms with
//! `hello {identity, join: [room]}` or `monitor {conversation_sid: room}`; a `send` gets the
//! room's next index (0, 1, …), is broadcast as a `message_added` event to the room's *other*
//! members, and is answered to the sender with `reply {message: {index}}`. Each socket has a
//! bounded outbound queue of 1024 frames, like Switchboard's; a frame that finds it full is
//! dropped (and shows up as lost). It speaks the subset of Switchboard's protocol the load
//! uses, so the load code (`ws_load/`) is shared; its events are smaller than Switchboard's
//! (index, author, body, attributes, client_message_id only) and it does not echo a sender's
//! own message back.
//!
//! Run: `ulimit -n 20000; cargo bench --bench ws_bare -- --conversations 9900 --supervisors 10
//! --per-supervisor 100 --duration 30s --rate 1`. See docs/benchmarks.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ws_load;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use clap::Parser;
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use ws_load::party::Role;
use ws_load::{LoadArgs, Plan, process};

/// Frames queued for one socket before further frames are dropped.
const OUTBOUND_QUEUE: usize = 1024;

#[derive(Parser, Debug)]
#[command(
    name = "ws_bare",
    about = "WebSocket fan-out load against a bare room broadcaster"
)]
struct Args {
    #[command(flatten)]
    load: LoadArgs,
    /// Run only the broadcaster (what the load mode spawns).
    #[arg(long)]
    serve: bool,
    /// Address the broadcaster listens on (`--serve`).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Tokio worker threads of the broadcaster (Switchboard's default: one per core, 2 here).
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Leave Nagle's algorithm on for accepted sockets (no `TCP_NODELAY`), as actix-web does
    /// unless told otherwise, to show what it does to latency.
    #[arg(long)]
    server_nagle: bool,
    /// Load a running broadcaster at this loopback address (`127.0.0.1:PORT`) instead.
    #[arg(long)]
    url: Option<SocketAddr>,
    /// Pid of the broadcaster given with `--url`, for its memory and CPU.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Benchmark-name filters `cargo bench` may pass; ignored.
    #[arg(hide = true)]
    _filters: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve {
        return serve(args.listen, args.server_threads, !args.server_nagle);
    }
    args.load.check()?;
    let rt = args.load.runtime()?;
    let budget = args.load.budget();
    rt.block_on(async {
        tokio::select! {
            outcome = tokio::time::timeout(budget, load(&args)) => match outcome {
                Ok(result) => result,
                Err(_) => bail!("benchmark exceeded its time budget of {budget:?}"),
            },
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

async fn load(args: &Args) -> anyhow::Result<()> {
    // Dropped at the end of this function (or on error, time-out, Ctrl-C): kills the child.
    let (server, addr, pid) = match args.url {
        Some(addr) => (None, addr, args.server_pid),
        None => {
            let exe = std::env::current_exe().context("own executable")?;
            let mut cmd = Command::new(exe);
            cmd.arg("--serve")
                .arg("--listen")
                .arg("127.0.0.1:0")
                .arg("--server-threads")
                .arg(args.server_threads.to_string());
            if args.server_nagle {
                cmd.arg("--server-nagle");
            }
            let server = process::spawn(cmd, "ws_bare listening on ws://")?;
            let (addr, pid) = (server.addr, server.pid());
            (Some(server), addr, Some(pid))
        }
    };
    let sids: Vec<String> = (0..args.load.conversations)
        .map(|i| format!("room-{i}"))
        .collect();
    let url = format!("ws://{addr}/");
    let parties = ws_load::parties(
        &args.load,
        |_, _| url.clone(),
        |identity, role| {
            let join: Vec<&str> = match role {
                Role::Customer(i) | Role::Agent(i) => vec![sids[*i].as_str()],
                Role::Supervisor(_) => Vec::new(),
            };
            json!({"type": "hello", "id": 0, "protocol": 1, "identity": identity, "join": join})
                .to_string()
        },
    );
    let plan = Plan {
        name: "ws_bare",
        addr,
        sids,
        parties,
        echo_own: false,
        server_pid: pid,
    };
    let result = ws_load::run(&args.load, plan).await;
    drop(server);
    result
}

// ---- The broadcaster ----

/// One room: the next index and the members' outbound queues.
#[derive(Default)]
struct Room {
    next: u64,
    members: Vec<(u64, mpsc::Sender<Message>)>,
}

#[derive(Default)]
struct Hub {
    rooms: DashMap<String, Room>,
    next_conn: AtomicU64,
}

/// The command fields the broadcaster reads.
#[derive(Deserialize)]
struct Request<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, borrow)]
    identity: Option<Cow<'a, str>>,
    #[serde(default)]
    join: Vec<String>,
    #[serde(default, borrow)]
    conversation_sid: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    attributes: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    client_message_id: Option<Cow<'a, str>>,
}

fn serve(listen: SocketAddr, threads: usize, nodelay: bool) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(listen).await?;
        println!("ws_bare listening on ws://{}", listener.local_addr()?);
        let hub = Arc::new(Hub::default());
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: keep serving the others.
                Err(e) => {
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            tokio::spawn(connection(hub.clone(), tcp, nodelay));
        }
    })
}

async fn connection(hub: Arc<Hub>, tcp: TcpStream, nodelay: bool) {
    if nodelay {
        let _ = tcp.set_nodelay(true);
    }
    let Ok(ws) =
        tokio_tungstenite::accept_async_with_config(tcp, Some(ws_load::party::socket_config()))
            .await
    else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(OUTBOUND_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            // Write whatever is queued, then flush once.
            if sink.feed(m).await.is_err() {
                return;
            }
            while let Ok(m) = rx.try_recv() {
                if sink.feed(m).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let conn = hub.next_conn.fetch_add(1, Ordering::Relaxed);
    let mut identity = String::new();
    let mut joined: Vec<String> = Vec::new();
    while let Some(Ok(msg)) = stream.next().await {
        match msg {
            Message::Text(text) => {
                handle(&hub, conn, &tx, &mut identity, &mut joined, text.as_str());
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    for room in joined {
        if let Some(mut r) = hub.rooms.get_mut(&room) {
            r.members.retain(|(c, _)| *c != conn);
        }
    }
    drop(tx);
    let _ = writer.await;
}

fn join(hub: &Hub, room: &str, conn: u64, tx: &mpsc::Sender<Message>, joined: &mut Vec<String>) {
    hub.rooms
        .entry(room.to_owned())
        .or_default()
        .members
        .push((conn, tx.clone()));
    joined.push(room.to_owned());
}

fn handle(
    hub: &Hub,
    conn: u64,
    tx: &mpsc::Sender<Message>,
    identity: &mut String,
    joined: &mut Vec<String>,
    text: &str,
) {
    let answer = |v: serde_json::Value| {
        let _ = tx.try_send(Message::text(v.to_string()));
    };
    let Ok(cmd) = serde_json::from_str::<Request>(text) else {
        answer(json!({"type": "error", "id": null, "error": {"code": 20001, "status": 400}}));
        return;
    };
    let id = cmd.id;
    match (cmd.kind.as_ref(), cmd.conversation_sid.as_deref()) {
        ("hello", _) => {
            *identity = cmd.identity.as_deref().unwrap_or_default().to_owned();
            for room in &cmd.join {
                join(hub, room, conn, tx, joined);
            }
            answer(
                json!({"type": "reply", "id": id, "result": {"session": {"identity": identity}}}),
            );
        }
        ("monitor", Some(room)) => {
            join(hub, room, conn, tx, joined);
            answer(json!({"type": "reply", "id": id, "result": {"conversation": {"sid": room}}}));
        }
        ("send", Some(room)) => {
            let Some(mut r) = hub.rooms.get_mut(room) else {
                answer(json!({"type": "error", "id": id, "error": {"code": 20404, "status": 404}}));
                return;
            };
            let index = r.next;
            r.next += 1;
            let event = Message::text(
                json!({
                    "type": "event",
                    "event": "message_added",
                    "conversation_sid": room,
                    "data": {
                        "index": index,
                        "author": identity,
                        "body": cmd.body,
                        "attributes": cmd.attributes,
                        "client_message_id": cmd.client_message_id,
                    },
                })
                .to_string(),
            );
            for (member, queue) in &r.members {
                if *member != conn {
                    // A full queue drops the frame: the receiver sees a gap.
                    let _ = queue.try_send(event.clone());
                }
            }
            // Queued while the room is held, so the answer precedes any later event of the room.
            answer(json!({"type": "reply", "id": id, "result": {"message": {"index": index}}}));
        }
        _ => answer(json!({"type": "error", "id": id, "error": {"code": 20001, "status": 400}})),
    }
}
