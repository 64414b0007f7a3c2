//! The WebSocket load shared by `ws_fanout` (against Switchboard) and `ws_bare` (against a bare
//! room broadcaster), so that their figures measure the same thing.
//!
//! Traffic: `--conversations` N conversations, each with one customer socket and one agent
//! socket, plus `--supervisors` S sockets that each `monitor` `--per-supervisor` M conversations
//! (supervisor s takes conversations s·M … s·M+M-1, modulo N). Every customer sends `--rate`
//! messages per second (open loop, the customers' phases spread evenly over one period), each
//! stamped with the time it is written in `attributes` (`{"t": µs since the bench started}`;
//! how late that was against the schedule is recorded as the send lag); every agent answers
//! each customer message it receives at once, stamped the same way. Traffic runs for `--warmup` + `--duration`; then the sockets stay open up to
//! `--drain` until every delivery the acknowledged messages owe has arrived.
//!
//! Measured (only for messages stamped inside the `--duration` window): send → delivery at the
//! agent (customer messages), at the customer (agent replies), at the supervisors (all
//! messages), back at the sender (its own message as an event, where the server echoes), and
//! send → answer to the `send`. Over the whole run: per receiver and conversation the indexes
//! must arrive strictly increasing with no gap (duplicates, late and gap arrivals are counted),
//! and at the end every index up to the highest known must have arrived (else it is lost).
//! Also: `error` frames by code, how sockets ended early, the server's RSS per connection
//! (before connecting vs. all connected and idle) and CPU time of the server and of the load.

#![allow(dead_code)] // each bench uses most, not all, of this module

pub mod metrics;
pub mod party;
pub mod process;
pub mod report;
/// Order and loss per receiver: shared with `switchboard load`.
pub use switchboard::load::stream;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::ensure;
use tokio::sync::{Semaphore, watch};

use metrics::Metrics;
use party::{Party, Role};
use stream::Missing;

/// The load's options, shared by both benches.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadArgs {
    /// Conversations; each gets a customer socket and an agent socket.
    #[arg(long, default_value_t = 1000)]
    pub conversations: usize,
    /// Supervisor sockets.
    #[arg(long, default_value_t = 0)]
    pub supervisors: usize,
    /// Conversations each supervisor monitors.
    #[arg(long, default_value_t = 100)]
    pub per_supervisor: usize,
    /// Messages per second each customer sends (0: connect only, e.g. to measure memory).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Measured sending time (e.g. `30s`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub duration: Duration,
    /// Sending time before the measured window (recorded for loss and order, not latency).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Longest wait after sending stops for the deliveries still owed.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub drain: Duration,
    /// Idle time after all sockets are connected, before memory is read and traffic starts.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub settle: Duration,
    /// Bytes of each message body.
    #[arg(long, default_value_t = 32)]
    pub body_bytes: usize,
    /// Tokio worker threads of the load generator (the server shares the same cores).
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Print the first N frames sent and received by customer-0, agent-0 and supervisor-0.
    #[arg(long, default_value_t = 0)]
    pub show_frames: usize,
    /// Sockets connecting (TCP + WebSocket handshake + hello) at once.
    #[arg(long, default_value_t = 64)]
    pub connect_concurrency: usize,
}

impl LoadArgs {
    pub fn sockets(&self) -> usize {
        2 * self.conversations + self.supervisors
    }

    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            self.conversations >= 1,
            "--conversations must be at least 1"
        );
        ensure!(
            self.supervisors == 0 || self.per_supervisor >= 1,
            "--per-supervisor must be at least 1"
        );
        ensure!(
            self.rate >= 0.0 && self.rate.is_finite(),
            "--rate must be a number ≥ 0"
        );
        ensure!(!self.duration.is_zero(), "--duration must be positive");
        process::check_limits(self.sockets())
    }

    /// Conversations supervisor `s` monitors.
    pub fn monitored(&self, s: usize) -> Vec<usize> {
        let n = self.conversations;
        (0..self.per_supervisor.min(n))
            .map(|j| (s * self.per_supervisor + j) % n)
            .collect()
    }

    /// Whole-run budget: set-up, load and drain, with room to spare.
    pub fn budget(&self) -> Duration {
        self.warmup + self.duration + self.drain + self.settle + Duration::from_secs(900)
    }

    /// A multi-thread runtime with `--client-threads` workers.
    pub fn runtime(&self) -> anyhow::Result<tokio::runtime::Runtime> {
        Ok(tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.client_threads.max(1))
            .enable_all()
            .build()?)
    }
}

pub fn customer(i: usize) -> String {
    format!("customer-{i}")
}

pub fn agent(i: usize) -> String {
    format!("agent-{i}")
}

pub fn supervisor(s: usize) -> String {
    format!("supervisor-{s}")
}

/// When traffic runs, in µs since the bench's origin (and `start` as an instant).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub start: Instant,
    pub window_from_us: u64,
    pub send_end_us: u64,
}

/// What every socket task shares.
pub struct Shared {
    pub addr: SocketAddr,
    pub sids: Vec<String>,
    pub index_of: HashMap<String, usize>,
    /// The server delivers a sender's own messages to it as events too (Switchboard: yes).
    pub echo_own: bool,
    pub body: String,
    /// `--show-frames`
    pub show_frames: usize,
    /// Between two messages of one customer; `None` at rate 0.
    pub period: Option<Duration>,
    origin: Instant,
    /// Per conversation, highest index known + 1 (0: none yet).
    max_index: Vec<AtomicU64>,
    /// Per conversation, supervisors whose `monitor` succeeded.
    pub supervisors_of: Vec<AtomicU64>,
    pub metrics: Metrics,
    pub connect_gate: Semaphore,
    pub ready: AtomicUsize,
    failed: AtomicUsize,
    failures: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    pub fn now_us(&self) -> u64 {
        self.us_since_origin(Instant::now())
    }

    pub fn us_since_origin(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.origin).as_micros() as u64
    }

    pub fn saw_index(&self, conv: usize, index: u64) {
        self.max_index[conv].fetch_max(index + 1, Ordering::Relaxed);
    }

    /// Deliveries one message of `conv` owes: the other party, the monitoring supervisors and,
    /// where the server echoes, the sender.
    pub fn receivers(&self, conv: usize) -> u64 {
        1 + self.supervisors_of[conv].load(Ordering::Relaxed) + u64::from(self.echo_own)
    }

    pub fn setup_failed(&self, why: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        *f.entry(why).or_default() += 1;
    }
}

/// What a bench hands to [`run`].
pub struct Plan {
    /// Bench name, first word of the summary line.
    pub name: &'static str,
    /// Where the server listens (every socket connects here; loopback only).
    pub addr: SocketAddr,
    /// Conversation SIDs (room names for the bare server), N of them.
    pub sids: Vec<String>,
    /// Customers 0..N, agents 0..N, then supervisors.
    pub parties: Vec<Party>,
    pub echo_own: bool,
    /// The server's pid, for memory and CPU (absent with `--url`).
    pub server_pid: Option<u32>,
}

/// Builds the parties: `url(identity, role)` and `hello(identity, role)` give each its URL and
/// `hello` frame.
pub fn parties(
    args: &LoadArgs,
    url: impl Fn(&str, &Role) -> String,
    hello: impl Fn(&str, &Role) -> String,
) -> Vec<Party> {
    let n = args.conversations;
    let roles = (0..n)
        .map(|i| (customer(i), Role::Customer(i)))
        .chain((0..n).map(|i| (agent(i), Role::Agent(i))))
        .chain((0..args.supervisors).map(|s| (supervisor(s), Role::Supervisor(args.monitored(s)))));
    roles
        .map(|(identity, role)| Party {
            url: url(&identity, &role),
            hello: hello(&identity, &role),
            trace: matches!(identity.as_str(), "customer-0" | "agent-0" | "supervisor-0"),
            identity,
            role,
        })
        .collect()
}

/// Runs the load of `plan` and prints the report.
pub async fn run(args: &LoadArgs, plan: Plan) -> anyhow::Result<()> {
    ensure!(
        plan.addr.ip().is_loopback(),
        "only a loopback server may be loaded"
    );
    let n = plan.sids.len();
    let sh = Arc::new(Shared {
        addr: plan.addr,
        index_of: plan
            .sids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect(),
        sids: plan.sids,
        echo_own: plan.echo_own,
        body: "x".repeat(args.body_bytes),
        show_frames: args.show_frames,
        period: (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate)),
        origin: Instant::now(),
        max_index: (0..n).map(|_| AtomicU64::new(0)).collect(),
        supervisors_of: (0..n).map(|_| AtomicU64::new(0)).collect(),
        metrics: Metrics::new(),
        connect_gate: Semaphore::new(args.connect_concurrency.max(1)),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        failures: Mutex::default(),
    });
    let pid = plan.server_pid.map(|p| p.to_string());
    let rss_before = pid.as_deref().and_then(process::rss_bytes);
    let own_rss_before = process::rss_bytes("self");

    // Connect everyone (bounded concurrency inside the tasks).
    let total = plan.parties.len();
    let (start_tx, start_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let connect_began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for p in plan.parties {
        tasks.spawn(party::run(sh.clone(), p, start_rx.clone(), stop_rx.clone()));
    }
    let mut last_note = Instant::now();
    loop {
        let (ready, failed) = (
            sh.ready.load(Ordering::Relaxed),
            sh.failed.load(Ordering::Relaxed),
        );
        if ready + failed >= total {
            break;
        }
        if last_note.elapsed() >= Duration::from_secs(5) {
            eprintln!("connecting: {ready}/{total} ready, {failed} failed");
            last_note = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_secs = connect_began.elapsed().as_secs_f64();
    let connected = sh.ready.load(Ordering::Relaxed);
    let failed = sh.failed.load(Ordering::Relaxed);
    eprintln!("connected {connected}/{total} sockets in {connect_secs:.1} s ({failed} failed)");

    tokio::time::sleep(args.settle).await;
    let rss_after = pid.as_deref().and_then(process::rss_bytes);
    let own_rss_after = process::rss_bytes("self");

    // Traffic.
    let start = Instant::now() + Duration::from_millis(100);
    let window_from = start + args.warmup;
    let send_end = window_from + args.duration;
    let schedule = Schedule {
        start,
        window_from_us: sh.us_since_origin(window_from),
        send_end_us: sh.us_since_origin(send_end),
    };
    start_tx.send_replace(Some(schedule));
    tokio::time::sleep_until(window_from.into()).await;
    let cpu0 = (pid.as_deref().map(process::cpu_ns), process::cpu_ns("self"));
    tokio::time::sleep_until(send_end.into()).await;
    let cpu1 = (pid.as_deref().map(process::cpu_ns), process::cpu_ns("self"));
    let c = &sh.metrics.counters;
    let drain_until = Instant::now() + args.drain;
    while Instant::now() < drain_until {
        let settled = Metrics::get(&c.unique_deliveries) >= Metrics::get(&c.expected)
            && Metrics::get(&c.sent) == Metrics::get(&c.acked) + Metrics::get(&c.send_errors);
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained_secs = (Instant::now() - send_end).as_secs_f64();
    stop_tx.send_replace(true);

    let mut missing = Missing::default();
    let mut unanswered = 0;
    while let Some(outcome) = tasks.join_next().await {
        let outcome = outcome?;
        if !outcome.connected {
            continue;
        }
        unanswered += outcome.unanswered;
        for (conv, stream) in &outcome.streams {
            let max = sh.max_index[*conv].load(Ordering::Relaxed).checked_sub(1);
            let m = stream.missing(max, sh.echo_own);
            missing.others += m.others;
            missing.own += m.own;
        }
    }

    let failures = sh
        .failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    report::print(
        args,
        &sh.metrics,
        &report::Observed {
            name: plan.name,
            conversations: n,
            sockets: total,
            connected,
            failed,
            failures,
            connect_secs,
            server_rss: (rss_before, rss_after),
            own_rss: (own_rss_before, own_rss_after),
            drained_secs,
            unanswered,
            missing,
            server_cpu: cpu0.0.zip(cpu1.0),
            own_cpu: (cpu0.1, cpu1.1),
        },
    );
    Ok(())
}
