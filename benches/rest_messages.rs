//! Benchmark: acknowledged, durable message creation over the REST API.
//!
//! Spawns the real `switchboard` binary on 127.0.0.1 with a fresh data directory, creates
//! `--conversations` conversations, then runs `--clients` concurrent keep-alive HTTP clients
//! that post messages round-robin over them (`POST /conversations/v1/Conversations/{CH}/Messages`,
//! `Body=...`). A 201 is only sent once the message's SQLite group-commit batch has committed
//! (with `--synchronous full`, once that batch's WAL append was fsynced), so every counted
//! message is durable. Latency is send → 201 received, recorded only for requests that
//! complete inside the measured window (after `--warmup`). At the end a few sampled
//! conversations are listed back and their indexes checked to be 0..n-1 without gaps, with n
//! equal to the number of 201s the clients received for them.
//!
//! With `--webhook`, an `onMessageAdded` post-event webhook points at a local sink and every
//! request carries `X-Twilio-Webhook-Enabled: true`: each message then also writes an outbox
//! job in its transaction, which the dispatcher sends; the run reports how long the sink took
//! to receive every acknowledged message's webhook.
//!
//! Run: `cargo bench --bench rest_messages -- --conversations 1000 --clients 64 --synchronous full`
//! See docs/benchmarks.md for the method and results.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "bench-auth-token-0123456789";
/// Most error answers printed in full; the rest are only counted.
const MAX_PRINTED_ERRORS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Sync {
    Full,
    Normal,
}

impl Sync {
    fn as_str(self) -> &'static str {
        match self {
            Sync::Full => "full",
            Sync::Normal => "normal",
        }
    }
}

#[derive(Parser, Debug)]
#[command(name = "rest_messages", about = "Durable message creation over REST")]
struct Args {
    /// Conversations the messages are spread over (round-robin).
    #[arg(long, default_value_t = 1000)]
    conversations: usize,
    /// Concurrent keep-alive HTTP clients (one connection each, one request in flight each).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measured duration in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up duration in seconds (load runs, nothing is recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// SQLite synchronous mode of the server's store.
    #[arg(long, value_enum, default_value_t = Sync::Full)]
    synchronous: Sync,
    /// Server HTTP worker threads (0: the server's default, one per core).
    #[arg(long, default_value_t = 0)]
    server_workers: usize,
    /// Tokio worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Bytes of each message body.
    #[arg(long, default_value_t = 64)]
    body_bytes: usize,
    /// Conversations whose messages are listed back and checked at the end.
    #[arg(long, default_value_t = 5)]
    verify_sample: usize,
    /// Directory in which the temporary data directory is created (default: the system temp dir).
    #[arg(long)]
    tmp_in: Option<PathBuf>,
    /// Server binary (default: the one cargo built for this bench).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Fire an `onMessageAdded` webhook for every message, to a local sink.
    #[arg(long)]
    webhook: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Benchmark-name filters `cargo bench` may pass; ignored.
    #[arg(hide = true)]
    _filters: Vec<String>,
}

/// The server process; killed when dropped (also on error paths and panics).
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_server(args: &Args, data_dir: &std::path::Path) -> anyhow::Result<Server> {
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_switchboard")));
    let mut cmd = Command::new(&bin);
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .env("SWITCHBOARD_ACCOUNT_SID", ACCOUNT_SID)
        .env("SWITCHBOARD_AUTH_TOKEN", AUTH_TOKEN)
        .env("SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND", "0")
        .env("SWITCHBOARD__STORE__SYNCHRONOUS", args.synchronous.as_str())
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if args.server_workers > 0 {
        cmd.env(
            "SWITCHBOARD__SERVER__WORKERS",
            args.server_workers.to_string(),
        );
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = child.stdout.take().context("server stdout")?;
    // Read stdout on a thread (so the wait is bounded) and keep draining it afterwards.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut server = Server {
        child,
        base: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(line) => line,
            Err(_) => bail!("server did not print its listening address within 60 s"),
        };
        if let Some(rest) = line.strip_prefix("switchboard listening on http://") {
            let addr: std::net::SocketAddr = rest.trim().parse().context("listening address")?;
            ensure!(
                addr.ip() == std::net::Ipv4Addr::LOCALHOST,
                "server listens on {addr}, not 127.0.0.1"
            );
            server.base = format!("http://127.0.0.1:{}", addr.port());
            break;
        }
    }
    Ok(server)
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "/healthz not OK within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn http_client(pool: usize) -> anyhow::Result<reqwest::Client> {
    switchboard::webhooks::install_tls_provider();
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(pool)
        .pool_idle_timeout(Duration::from_secs(300))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn create_conversations(
    client: &reqwest::Client,
    base: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{base}/conversations/v1/Conversations");
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        tasks.spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(made);
                }
                let r = client
                    .post(&url)
                    .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form(&[("FriendlyName", &format!("bench {i}"))]))
                    .send()
                    .await?;
                let status = r.status();
                let text = r.text().await?;
                ensure!(status == 201, "creating conversation {i}: {status} {text}");
                let v: serde_json::Value = serde_json::from_str(&text)?;
                let sid = v["sid"].as_str().context("conversation sid")?.to_owned();
                made.push((i, sid));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(made) = tasks.join_next().await {
        all.extend(made??);
    }
    all.sort();
    Ok(all.into_iter().map(|(_, sid)| sid).collect())
}

/// What one client task observed.
struct ClientResult {
    hist: Histogram<u64>,
    measured_ok: u64,
    errors: u64,
}

struct Shared {
    sids: Vec<String>,
    urls: Vec<String>,
    /// 201s per conversation over the whole run (warm-up included), for verification.
    acked: Vec<AtomicU64>,
    next: AtomicU64,
    error_count: AtomicUsize,
    body: String,
    webhook: bool,
}

/// A minimal HTTP/1.1 endpoint on 127.0.0.1 that answers 200 to every request (keep-alive)
/// and counts them.
async fn webhook_sink(count: Arc<AtomicU64>) -> anyhow::Result<String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut stream = tokio::io::BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if stream.get_mut().write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(url)
}

async fn client_loop(
    client: reqwest::Client,
    shared: Arc<Shared>,
    measure_from: Instant,
    measure_to: Instant,
) -> ClientResult {
    // 1 µs .. 60 s, 3 significant digits.
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let (mut measured_ok, mut errors) = (0u64, 0u64);
    let form = form(&[("Body", &shared.body)]);
    while Instant::now() < measure_to {
        let i = (shared.next.fetch_add(1, Ordering::Relaxed) % shared.sids.len() as u64) as usize;
        let sent = Instant::now();
        let mut request = client
            .post(&shared.urls[i])
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if shared.webhook {
            request = request.header("X-Twilio-Webhook-Enabled", "true");
        }
        let answer = request.body(form.clone()).send().await;
        let outcome = match answer {
            Ok(r) => {
                let status = r.status();
                // Read the whole body so the connection is reused.
                match r.bytes().await {
                    Ok(_) if status == 201 => Ok(()),
                    Ok(bytes) => Err(format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                    )),
                    Err(e) => Err(format!("{status}, reading body: {e}")),
                }
            }
            Err(e) => Err(format!("transport: {e}")),
        };
        let done = Instant::now();
        let measured = done >= measure_from && done <= measure_to;
        match outcome {
            Ok(()) => {
                shared.acked[i].fetch_add(1, Ordering::Relaxed);
                if measured {
                    measured_ok += 1;
                    let us = done.duration_since(sent).as_micros() as u64;
                    hist.saturating_record(us.max(1));
                }
            }
            Err(e) => {
                if measured {
                    errors += 1;
                }
                if shared.error_count.fetch_add(1, Ordering::Relaxed) < MAX_PRINTED_ERRORS {
                    eprintln!("error (conversation {}): {e}", shared.sids[i]);
                }
            }
        }
    }
    ClientResult {
        hist,
        measured_ok,
        errors,
    }
}

/// Lists every message of `sid` (following `meta.next_page_url`) and returns the indexes.
async fn list_indexes(client: &reqwest::Client, base: &str, sid: &str) -> anyhow::Result<Vec<u64>> {
    let mut url = format!("{base}/conversations/v1/Conversations/{sid}/Messages?PageSize=1000");
    let mut indexes = Vec::new();
    for _page in 0..100_000 {
        ensure!(
            url.starts_with(&format!("{base}/")),
            "next_page_url {url} leaves the server under test"
        );
        let r = client
            .get(&url)
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .send()
            .await?;
        let status = r.status();
        let text = r.text().await?;
        ensure!(status == 200, "listing {sid}: {status} {text}");
        let v: serde_json::Value = serde_json::from_str(&text)?;
        for m in v["messages"].as_array().context("messages array")? {
            indexes.push(m["index"].as_u64().context("message index")?);
        }
        match v["meta"]["next_page_url"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return Ok(indexes),
        }
    }
    bail!("too many pages listing {sid}")
}

async fn verify(
    client: &reqwest::Client,
    base: &str,
    shared: &Shared,
    sample: usize,
    clean: bool,
) -> anyhow::Result<String> {
    let n = shared.sids.len();
    let mut picks: Vec<usize> = (0..sample.min(n))
        .map(|k| k * n / sample.min(n).max(1))
        .collect();
    picks.push(n - 1);
    picks.sort_unstable();
    picks.dedup();
    let mut total = 0usize;
    for &i in &picks {
        let sid = &shared.sids[i];
        let indexes = list_indexes(client, base, sid).await?;
        for (expected, &got) in indexes.iter().enumerate() {
            ensure!(
                got == expected as u64,
                "conversation {sid}: position {expected} holds index {got} (gap or duplicate)"
            );
        }
        let acked = shared.acked[i].load(Ordering::Relaxed) as usize;
        // A request that failed in transport may still have committed, so only a clean run
        // must match exactly; an acknowledged message must always be there.
        ensure!(
            indexes.len() >= acked && (!clean || indexes.len() == acked),
            "conversation {sid}: {} messages stored, {acked} acknowledged",
            indexes.len()
        );
        total += indexes.len();
    }
    Ok(format!(
        "verified {} conversations, {total} messages: indexes 0..n-1 gap-free, n = acknowledged",
        picks.len()
    ))
}

/// Scheduler statistics of every thread of process `pid` (`/proc/PID/task/*/schedstat`),
/// summed per thread group: (nanoseconds on CPU, nanoseconds runnable but waiting for a CPU).
fn thread_sched(pid: &str) -> BTreeMap<&'static str, (u64, u64)> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let sched = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let mut fields = sched
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0));
        let (run, wait) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
        let comm = comm.trim();
        let group = if comm.starts_with("actix-rt|system") || comm.starts_with("actix-server w") {
            "http-workers"
        } else if comm == "sqlite-writer" {
            "sqlite-writer"
        } else if comm.starts_with("tokio-r") || comm.starts_with("r2d2") {
            "blocking-pool"
        } else {
            "other"
        };
        let e = out.entry(group).or_insert((0, 0));
        e.0 += run;
        e.1 += wait;
    }
    out
}

/// `cores busy / cores waiting for a CPU` per thread group over `secs`.
fn sched_delta(
    before: &BTreeMap<&'static str, (u64, u64)>,
    after: &BTreeMap<&'static str, (u64, u64)>,
    secs: f64,
) -> (f64, String) {
    let mut total = 0.0;
    let mut parts = Vec::new();
    for (group, (run1, wait1)) in after {
        let (run0, wait0) = before.get(group).copied().unwrap_or((0, 0));
        let run = run1.saturating_sub(run0) as f64 / 1e9 / secs;
        let wait = wait1.saturating_sub(wait0) as f64 / 1e9 / secs;
        total += run;
        if run >= 0.005 || wait >= 0.005 {
            parts.push(format!("{group}={run:.2}/{wait:.2}"));
        }
    }
    (total, parts.join(" "))
}

fn io_write_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("write_bytes: ")
                    .map(|v| v.trim().parse().ok())
            })
        })
        .flatten()
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.conversations >= 1,
        "--conversations must be at least 1"
    );
    ensure!(args.clients >= 1, "--clients must be at least 1");
    ensure!(args.seconds > 0.0 && args.warmup >= 0.0, "bad durations");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    // Bound the whole run: set-up, load, verification.
    let budget = Duration::from_secs_f64(args.warmup + args.seconds + 300.0);
    // Dropping `run` (time-out, Ctrl-C) drops the server handle, which kills the server.
    rt.block_on(async {
        tokio::select! {
            outcome = tokio::time::timeout(budget, run(args)) => match outcome {
                Ok(result) => result,
                Err(_) => bail!("benchmark exceeded its time budget of {budget:?}"),
            },
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let parent = args.tmp_in.clone().unwrap_or_else(std::env::temp_dir);
    let data_dir = tempfile::Builder::new()
        .prefix("switchboard-bench-")
        .tempdir_in(&parent)?;
    let server = spawn_server(&args, data_dir.path())?;
    let base = server.base.clone();
    let pid = server.child.id();
    let setup = http_client(args.clients)?;
    wait_healthy(&setup, &base).await?;

    let delivered = Arc::new(AtomicU64::new(0));
    if args.webhook {
        let sink = webhook_sink(delivered.clone()).await?;
        let answer = setup
            .post(format!("{base}/conversations/v1/Configuration/Webhooks"))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("PostWebhookUrl", &sink),
                ("Filters", "onMessageAdded"),
            ]))
            .send()
            .await?;
        ensure!(
            answer.status() == 200,
            "configuring the webhook: {}",
            answer.status()
        );
    }

    let t = Instant::now();
    let sids =
        create_conversations(&setup, &base, args.conversations, args.clients.min(64)).await?;
    eprintln!(
        "created {} conversations in {:.2} s",
        sids.len(),
        t.elapsed().as_secs_f64()
    );

    let shared = Arc::new(Shared {
        urls: sids
            .iter()
            .map(|s| format!("{base}/conversations/v1/Conversations/{s}/Messages"))
            .collect(),
        acked: sids.iter().map(|_| AtomicU64::new(0)).collect(),
        sids,
        next: AtomicU64::new(0),
        error_count: AtomicUsize::new(0),
        body: "x".repeat(args.body_bytes),
        webhook: args.webhook,
    });

    // One client (hence one keep-alive connection) per task.
    let clients: Vec<reqwest::Client> = (0..args.clients)
        .map(|_| http_client(1))
        .collect::<anyhow::Result<_>>()?;
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let measure_to = measure_from + Duration::from_secs_f64(args.seconds);
    // A JoinSet aborts its tasks when dropped (time-out, Ctrl-C, error).
    let mut tasks = tokio::task::JoinSet::new();
    for c in clients {
        tasks.spawn(client_loop(c, shared.clone(), measure_from, measure_to));
    }

    // CPU and disk-write accounting over the measured window.
    tokio::time::sleep_until(measure_from.into()).await;
    let pid_s = pid.to_string();
    let (srv0, own0, io0) = (
        thread_sched(&pid_s),
        thread_sched("self"),
        io_write_bytes(pid),
    );
    tokio::time::sleep_until(measure_to.into()).await;
    let (srv1, own1, io1) = (
        thread_sched(&pid_s),
        thread_sched("self"),
        io_write_bytes(pid),
    );

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors) = (0u64, 0u64);
    while let Some(r) = tasks.join_next().await {
        let r = r?;
        hist.add(&r.hist)?;
        ok += r.measured_ok;
        errors += r.errors;
    }
    let total_errors = shared.error_count.load(Ordering::Relaxed);
    if total_errors as u64 > errors {
        eprintln!("{total_errors} errors in total, warm-up and window edges included");
    }

    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "rest_messages: conversations={} clients={} synchronous={} acknowledged={} throughput={:.0} msg/s p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms errors={}",
        args.conversations,
        args.clients,
        args.synchronous.as_str(),
        ok,
        ok as f64 / args.seconds,
        ms(0.50),
        ms(0.90),
        ms(0.99),
        hist.max() as f64 / 1000.0,
        errors,
    );

    // Where the CPU went during the measured window: per thread group, cores on CPU / cores
    // runnable but waiting for a CPU (from /proc/*/task/*/schedstat).
    let secs = args.seconds;
    let (server_cpu, server_parts) = sched_delta(&srv0, &srv1, secs);
    let (own_cpu, _) = sched_delta(&own0, &own1, secs);
    let own_wait: f64 = own1
        .iter()
        .map(|(g, (_, w1))| w1.saturating_sub(own0.get(g).map_or(0, |x| x.1)) as f64 / 1e9 / secs)
        .sum();
    let written = io1.saturating_sub(io0) as f64;
    println!(
        "  cpu (cores on-cpu/runqueue-wait): server={server_cpu:.2} [{server_parts}] load-generator={own_cpu:.2}/{own_wait:.2}; server disk writes {:.1} MB/s ({:.0} B/msg)",
        written / secs / 1e6,
        if ok > 0 { written / ok as f64 } else { 0.0 },
    );

    let check = verify(
        &setup,
        &base,
        &shared,
        args.verify_sample,
        total_errors == 0,
    )
    .await?;
    println!("  {check}");
    if args.webhook {
        // Every acknowledged message (warm-up included) has one webhook to deliver.
        let expected: u64 = shared.acked.iter().map(|a| a.load(Ordering::Relaxed)).sum();
        let at_end = delivered.load(Ordering::Relaxed);
        let drain = Instant::now();
        while delivered.load(Ordering::Relaxed) < expected
            && drain.elapsed() < Duration::from_secs(120)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let got = delivered.load(Ordering::Relaxed);
        println!(
            "  webhooks: expected={expected} delivered-during-run={at_end} delivered={got} backlog-drained-in={:.2}s",
            drain.elapsed().as_secs_f64()
        );
        ensure!(got >= expected, "{} webhooks never arrived", expected - got);
    }
    drop(server);
    Ok(())
}
