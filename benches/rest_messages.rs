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
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(pool)
        .pool_idle_timeout(Duration::from_secs(300))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?)
}

async fn create_conversations(
    client: &reqwest::Client,
    base: &str,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{base}/conversations/v1/Conversations");
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.clamp(1, n.max(1)) {
        let (client, url, next) = (client.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(made);
                }
                let r = client
                    .post(&url)
                    .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
                    .form(&[("FriendlyName", format!("bench {i}"))])
                    .send()
                    .await?;
                let status = r.status();
                let text = r.text().await?;
                ensure!(status == 201, "creating conversation {i}: {status} {text}");
                let v: serde_json::Value = serde_json::from_str(&text)?;
                let sid = v["sid"].as_str().context("conversation sid")?.to_owned();
                made.push((i, sid));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
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
    printed_errors: AtomicUsize,
    body: String,
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
    let form = format!("Body={}", shared.body);
    while Instant::now() < measure_to {
        let i = (shared.next.fetch_add(1, Ordering::Relaxed) % shared.sids.len() as u64) as usize;
        let sent = Instant::now();
        let answer = client
            .post(&shared.urls[i])
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.clone())
            .send()
            .await;
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
                if shared.printed_errors.fetch_add(1, Ordering::Relaxed) < MAX_PRINTED_ERRORS {
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
    let mut picks: Vec<usize> = (0..sample.min(n)).map(|k| k * n / sample.min(n).max(1)).collect();
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

/// CPU time (user+system, in clock ticks) of every thread of `pid`, grouped by thread name.
fn thread_cpu(pid: u32) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        // Fields after "comm)": state(3) ... utime(14) stime(15).
        let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
        let ticks = rest.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
            + rest.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        // Group numbered threads ("actix-rt|system:0|arbiter:1" etc.) loosely by name.
        *out.entry(name).or_insert(0) += ticks;
    }
    out
}

fn proc_ticks(path: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return 0;
    };
    let Some(close) = stat.rfind(')') else {
        return 0;
    };
    let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
    rest.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + rest.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn io_write_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("write_bytes: ").map(|v| v.trim().parse().ok()))
        })
        .flatten()
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.conversations >= 1, "--conversations must be at least 1");
    ensure!(args.clients >= 1, "--clients must be at least 1");
    ensure!(args.seconds > 0.0 && args.warmup >= 0.0, "bad durations");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    // Bound the whole run: set-up, load, verification.
    let budget = Duration::from_secs_f64(args.warmup + args.seconds + 300.0);
    rt.block_on(async {
        match tokio::time::timeout(budget, run(args)).await {
            Ok(result) => result,
            Err(_) => bail!("benchmark exceeded its time budget of {budget:?}"),
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

    let t = Instant::now();
    let sids = create_conversations(&setup, &base, args.conversations, args.clients.min(64)).await?;
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
        printed_errors: AtomicUsize::new(0),
        body: "x".repeat(args.body_bytes),
    });

    // One client (hence one keep-alive connection) per task.
    let clients: Vec<reqwest::Client> = (0..args.clients)
        .map(|_| http_client(1))
        .collect::<anyhow::Result<_>>()?;
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let measure_to = measure_from + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(client_loop(c, shared.clone(), measure_from, measure_to)))
        .collect();

    // CPU and disk-write accounting over the measured window.
    tokio::time::sleep_until(measure_from.into()).await;
    let (srv0, own0, io0) = (
        thread_cpu(pid),
        proc_ticks("/proc/self/stat"),
        io_write_bytes(pid),
    );
    tokio::time::sleep_until(measure_to.into()).await;
    let (srv1, own1, io1) = (
        thread_cpu(pid),
        proc_ticks("/proc/self/stat"),
        io_write_bytes(pid),
    );

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors) = (0u64, 0u64);
    for t in tasks {
        let r = t.await?;
        hist.add(&r.hist)?;
        ok += r.measured_ok;
        errors += r.errors;
    }
    let total_errors = shared.printed_errors.load(Ordering::Relaxed);

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

    // Where the CPU went during the measured window (clock ticks are 1/100 s on Linux).
    let hz = 100.0;
    let secs = args.seconds;
    let mut by_group: BTreeMap<String, f64> = BTreeMap::new();
    for (name, t1) in &srv1 {
        let t0 = srv0.get(name).copied().unwrap_or(0);
        let group = if name.starts_with("actix-rt|system") || name.starts_with("actix-server w") {
            "http-workers".to_owned()
        } else if name.starts_with("tokio-runtime-w") || name.starts_with("tokio-rt") {
            "blocking-pool".to_owned()
        } else {
            name.clone()
        };
        *by_group.entry(group).or_insert(0.0) += (t1 - t0) as f64 / hz / secs;
    }
    let server_total: f64 = by_group.values().sum();
    let groups: Vec<String> = by_group
        .iter()
        .filter(|(_, v)| **v >= 0.005)
        .map(|(k, v)| format!("{k}={v:.2}"))
        .collect();
    println!(
        "  cpu (cores busy): server={server_total:.2} [{}] load-generator={:.2}; server disk writes {:.1} MB/s ({:.0} B/msg)",
        groups.join(" "),
        (own1 - own0) as f64 / hz / secs,
        (io1 - io0) as f64 / secs / 1e6,
        if ok > 0 { (io1 - io0) as f64 / ok as f64 } else { 0.0 },
    );

    let check = verify(&setup, &base, &shared, args.verify_sample, total_errors == 0).await?;
    println!("  {check}");
    drop(server);
    Ok(())
}
