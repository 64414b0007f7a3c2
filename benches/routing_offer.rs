//! Benchmark: routing end to end — task created over REST → reservation offered on the
//! worker's WebSocket.
//!
//! Spawns the real `switchboard` binary (release) on 127.0.0.1 with a fresh data directory,
//! then over REST: an API key, a workspace with `--queues` queues (`routing.skills HAS 'sN'`)
//! and one workflow whose filters send `skill == 'sN'` to queue N, and `--workers` Available
//! workers, each with two skills and chat capacity `--capacity`. Every worker opens a socket
//! (a token whose `task_router` grant names its workspace and worker). Then tasks are created
//! open-loop at `--rate` per second for `--duration` (each stamped with its send time in its
//! attributes); each offer (`reservation_created`) is timed against that stamp. With
//! `--accept`, workers accept every offer over the socket and complete it once the accept is
//! answered (the full cycle).
//!
//! Reports: tasks created per second, offers received, offer latency percentiles (task POST
//! sent → offer frame read), REST create latency, errors. Bounded: stops after the duration
//! plus a 10 s drain.
//!
//! Run: `ulimit -n 20000; cargo bench --bench routing_offer -- --workers 5000 --queues 50
//! --rate 2000 --duration 20s`. See docs/benchmarks.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ws_load;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use ws_load::process;

const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";

#[derive(Parser, Debug)]
#[command(
    name = "routing_offer",
    about = "Task created → offer on the worker's socket"
)]
struct Args {
    /// Workers, each with a socket.
    #[arg(long, default_value_t = 1000)]
    workers: usize,
    /// Queues (and skills).
    #[arg(long, default_value_t = 50)]
    queues: usize,
    /// Chat capacity of each worker.
    #[arg(long, default_value_t = 100)]
    capacity: u32,
    /// Tasks created per second.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// How long tasks are created.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    duration: Duration,
    /// Workers accept and complete every offer over the socket.
    #[arg(long)]
    accept: bool,
    /// REST requests in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Extra environment for the server (repeatable `KEY=VALUE`).
    #[arg(long, value_name = "KEY=VALUE")]
    server_env: Vec<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Benchmark-name filters `cargo bench` may pass; ignored.
    #[arg(hide = true)]
    _filters: Vec<String>,
}

struct Rest {
    http: reqwest::Client,
    base: String,
}

impl Rest {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let body = {
            let mut body = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                body.append_pair(k, v);
            }
            body.finish()
        };
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .with_context(|| path.to_string())?;
        let status = r.status();
        let text = r.text().await?;
        ensure!(status.is_success(), "{path}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, form).await
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, &[]).await
    }
}

fn mint(key_sid: &str, secret: &str, identity: &str, workspace: &str, worker: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let claims = json!({
        "jti": format!("{key_sid}-{now}-{identity}"),
        "iss": key_sid,
        "sub": ACCOUNT_SID,
        "exp": now + 3600,
        "nbf": now,
        "grants": {"identity": identity, "chat": {},
                   "task_router": {"role": "agent", "workspace_sid": workspace, "worker_sid": worker}},
    });
    let mut header = Header::new(Algorithm::HS256);
    header.cty = Some("twilio-fpa;v=1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 over JSON claims cannot fail")
}

/// Runs `n` jobs, `concurrency` at a time.
async fn for_each<F, Fut>(n: usize, concurrency: usize, f: F) -> anyhow::Result<Vec<Value>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Value>>,
{
    futures_util::stream::iter((0..n).map(f))
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    process::check_limits(args.workers + 64)?;
    let tmp = tempfile::tempdir()?;
    let mut cmd = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_switchboard")));
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(tmp.path())
        .env("SWITCHBOARD_ACCOUNT_SID", ACCOUNT_SID)
        .env("SWITCHBOARD_AUTH_TOKEN", AUTH_TOKEN)
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .env_remove("RUST_LOG");
    for kv in &args.server_env {
        let (k, v) = kv.split_once('=').context("--server-env KEY=VALUE")?;
        cmd.env(k, v);
    }
    let server = process::spawn(cmd, "switchboard listening on http://")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(run(args, server))
}

async fn run(args: Args, server: process::ServerProcess) -> anyhow::Result<()> {
    let base = format!("http://{}", server.addr);
    let rest = Arc::new(Rest {
        http: {
            switchboard::webhooks::install_tls_provider();
            reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()?
        },
        base: base.clone(),
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while rest.get("/taskrouter/v1/Workspaces").await.is_err() {
        ensure!(Instant::now() < deadline, "server not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = rest
        .post(
            &format!("/api/2010-04-01/Accounts/{ACCOUNT_SID}/Keys.json"),
            &[("FriendlyName", "bench")],
        )
        .await?;
    let (key_sid, secret) = (
        key["sid"].as_str().context("key")?.to_owned(),
        key["secret"].as_str().context("secret")?.to_owned(),
    );
    let setup = Instant::now();
    let ws = rest
        .post("/taskrouter/v1/Workspaces", &[("FriendlyName", "bench")])
        .await?;
    let ws_sid = ws["sid"].as_str().context("workspace")?.to_owned();
    let wp = format!("/taskrouter/v1/Workspaces/{ws_sid}");
    let activities = rest
        .get(&format!("{wp}/Activities?FriendlyName=Available"))
        .await?;
    let available = activities["activities"][0]["sid"]
        .as_str()
        .context("Available")?
        .to_owned();
    let queues = for_each(args.queues, args.concurrency, |i| {
        let (rest, wp) = (rest.clone(), wp.clone());
        async move {
            rest.post(
                &format!("{wp}/TaskQueues"),
                &[
                    ("FriendlyName", &format!("q{i}")),
                    ("TargetWorkers", &format!("routing.skills HAS 's{i}'")),
                ],
            )
            .await
        }
    })
    .await?;
    let filters: Vec<Value> = queues
        .iter()
        .enumerate()
        .map(|(i, q)| json!({"expression": format!("skill == 's{i}'"), "targets": [{"queue": q["sid"]}]}))
        .collect();
    let config = json!({"task_routing": {"filters": filters}}).to_string();
    let wf = rest
        .post(
            &format!("{wp}/Workflows"),
            &[
                ("FriendlyName", "bench"),
                ("Configuration", &config),
                ("TaskReservationTimeout", "3600"),
            ],
        )
        .await?;
    let wf_sid = wf["sid"].as_str().context("workflow")?.to_owned();
    let capacity = args.capacity.to_string();
    let workers = for_each(args.workers, args.concurrency, |i| {
        let (rest, wp, available, capacity) = (rest.clone(), wp.clone(), available.clone(), capacity.clone());
        let queues = args.queues;
        async move {
            let attrs = json!({"routing": {"skills": [format!("s{}", i % queues), format!("s{}", (i + 7) % queues)]}});
            let w = rest
                .post(
                    &format!("{wp}/Workers"),
                    &[("FriendlyName", &format!("agent{i}")), ("Attributes", &attrs.to_string()), ("ActivitySid", &available)],
                )
                .await?;
            let sid = w["sid"].as_str().context("worker")?.to_owned();
            rest.post(&format!("{wp}/Workers/{sid}/Channels/chat"), &[("Capacity", &capacity)]).await?;
            Ok(json!(sid))
        }
    })
    .await?;
    eprintln!(
        "set-up: {} queues, {} workers in {:.1?}",
        args.queues,
        workers.len(),
        setup.elapsed()
    );

    // Sockets.
    let started = Instant::now();
    let offers = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let received = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let connect = Instant::now();
    let mut sockets = Vec::with_capacity(workers.len());
    for (i, w) in workers.iter().enumerate() {
        let worker = w.as_str().context("sid")?.to_owned();
        let token = mint(&key_sid, &secret, &format!("agent{i}"), &ws_sid, &worker);
        let url = format!("ws://{}/v1/ws?token={token}", server.addr);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await?;
        socket
            .send(Message::text(
                json!({"type": "hello", "id": 0, "protocol": 1}).to_string(),
            ))
            .await?;
        loop {
            let frame = socket.next().await.context("hello answer")??;
            if let Message::Text(t) = frame {
                let v: Value = serde_json::from_str(&t)?;
                ensure!(v["type"] == "reply", "hello failed: {v}");
                break;
            }
        }
        sockets.push(socket);
    }
    eprintln!(
        "{} sockets connected in {:.1?}",
        sockets.len(),
        connect.elapsed()
    );
    let accept = args.accept;
    for socket in sockets {
        let (offers, received, errors) = (offers.clone(), received.clone(), errors.clone());
        tokio::spawn(async move {
            let (mut tx, mut rx) = socket.split();
            let mut id = 1u64;
            // Accepts in flight: command id → reservation, completed once the accept is answered.
            let mut accepting: std::collections::HashMap<u64, Value> = Default::default();
            while let Some(Ok(frame)) = rx.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if v["type"] == "error" {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if v["type"] == "reply" {
                    if let Some(reservation) = v["id"].as_u64().and_then(|i| accepting.remove(&i)) {
                        id += 1;
                        let frame =
                            json!({"type": "complete", "id": id, "reservation_sid": reservation});
                        if tx.send(Message::text(frame.to_string())).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
                if v["event"] != "reservation_created" {
                    continue;
                }
                let r = &v["data"]["reservation"];
                if let Some(t) = r["task"]["attributes"]["t"].as_u64() {
                    let now = started.elapsed().as_micros() as u64;
                    offers
                        .lock()
                        .await
                        .saturating_record(now.saturating_sub(t).max(1));
                    received.fetch_add(1, Ordering::Relaxed);
                }
                if accept {
                    id += 1;
                    accepting.insert(id, r["sid"].clone());
                    let frame = json!({"type": "accept", "id": id, "reservation_sid": r["sid"]});
                    if tx.send(Message::text(frame.to_string())).await.is_err() {
                        return;
                    }
                }
            }
        });
    }

    // Open-loop task creation.
    let total = (args.rate * args.duration.as_secs_f64()).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let limit = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let creates = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let failed = Arc::new(AtomicU64::new(0));
    let load = Instant::now();
    let mut handles = Vec::with_capacity(total);
    for n in 0..total {
        let due = load + interval * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let permit = limit.clone().acquire_owned().await?;
        let (rest, wp, wf_sid, creates, failed) = (
            rest.clone(),
            wp.clone(),
            wf_sid.clone(),
            creates.clone(),
            failed.clone(),
        );
        let skill = n % args.queues;
        handles.push(tokio::spawn(async move {
            let t = started.elapsed().as_micros() as u64;
            let attrs = json!({"skill": format!("s{skill}"), "t": t}).to_string();
            let sent = Instant::now();
            let r = rest
                .post(
                    &format!("{wp}/Tasks"),
                    &[
                        ("WorkflowSid", &wf_sid),
                        ("Attributes", &attrs),
                        ("TaskChannel", "chat"),
                    ],
                )
                .await;
            match r {
                Ok(_) => creates
                    .lock()
                    .await
                    .saturating_record(sent.elapsed().as_micros().max(1) as u64),
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
    let load_secs = load.elapsed().as_secs_f64();
    let drain = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < total as u64
        && Instant::now() < drain
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offers = offers.lock().await;
    let creates = creates.lock().await;
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "routing_offer: {} workers, {} queues, capacity {}, accept {}",
        args.workers, args.queues, args.capacity, args.accept
    );
    println!(
        "tasks: {total} sent in {load_secs:.1}s ({:.0}/s), {} failed; offers received: {}",
        total as f64 / load_secs,
        failed.load(Ordering::Relaxed),
        received.load(Ordering::Relaxed)
    );
    println!(
        "offer latency ms (POST sent → offer read): p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        ms(&offers, 0.5),
        ms(&offers, 0.9),
        ms(&offers, 0.99),
        ms(&offers, 0.999),
        offers.max() as f64 / 1000.0
    );
    println!(
        "REST create latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(&creates, 0.5),
        ms(&creates, 0.9),
        ms(&creates, 0.99),
        creates.max() as f64 / 1000.0
    );
    println!("error frames: {}", errors.load(Ordering::Relaxed));
    if let Some(rss) = process::rss_bytes(&server.pid().to_string()) {
        println!("server RSS: {:.1} MiB", rss as f64 / 1048576.0);
    }
    Ok(())
}
