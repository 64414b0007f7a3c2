//! What a load run reports: the counts, the integrity checks (lost, duplicated, out-of-order
//! and gap deliveries: each must be zero), latency percentiles per measured path, throughput,
//! the server's CPU and memory, a per-second timeline and, in step-up mode, each stage and the
//! capacity found. Serialised as the JSON report; `table` renders the closing table. Plain
//! data: nothing here measures anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The whole report of one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// The server's base URL.
    pub target: String,
    /// When the traffic started (RFC 3339, UTC).
    pub started_at: String,
    /// Seconds from the first customer to the end of the drain.
    pub elapsed_s: f64,
    /// The scenario as run (after CLI overrides).
    pub config: serde_json::Value,
    /// How many of each thing happened.
    pub counts: Counts,
    /// Deliveries that broke the protocol's promise; every field must be zero.
    pub integrity: Integrity,
    /// `error` frames and failed REST calls, by Twilio code (or HTTP status / `transport`).
    pub errors: BTreeMap<String, u64>,
    /// Sockets the server closed before the run ended them, by close code (or `eof`).
    pub closes: BTreeMap<String, u64>,
    /// One line per measured path, in a fixed order.
    pub latencies: Vec<LatencySummary>,
    /// The same over the steady window only: from the end of the ramp-up to the end of the
    /// traffic (none in step-up mode, or when the ramp-up filled the whole run).
    pub steady: Option<Steady>,
    /// Rates over the traffic phase.
    pub throughput: Throughput,
    /// The server process's CPU and memory (when its PID was given).
    pub server: Option<ServerUsage>,
    /// One entry per second of traffic.
    pub timeline: Vec<Second>,
    /// Step-up mode's stages and the capacity found.
    pub step_up: Option<StepUp>,
    /// Whether the run passed (integrity all zero, no unexpected errors, traffic flowed).
    pub passed: bool,
    /// Why it did not, one sentence each.
    pub failures: Vec<String>,
}

/// Totals over the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Simulated agents (workers).
    pub agents: u64,
    /// Agents whose socket connected and said `hello`.
    pub agents_connected: u64,
    /// Supervisor sockets.
    pub supervisors: u64,
    /// Conversations supervisors monitored.
    pub monitored: u64,
    /// Customers that started a conversation (webchat + SMS).
    pub customers_started: u64,
    /// …of which over webchat.
    pub customers_webchat: u64,
    /// …of which over SMS (the simulator provider).
    pub customers_sms: u64,
    /// Customers an agent joined.
    pub customers_served: u64,
    /// Chats an agent ended (closing the interaction's channel), including those of customers
    /// who had left before being served.
    pub customers_finished: u64,
    /// Customers who gave up waiting for an agent.
    pub customers_abandoned: u64,
    /// Reservations offered to agents.
    pub offers: u64,
    /// Offers accepted.
    pub accepted: u64,
    /// Offers rejected.
    pub rejected: u64,
    /// Offers left to time out.
    pub offer_timeouts: u64,
    /// Tasks completed by agents.
    pub completed: u64,
    /// Messages sent (WebSocket `send` and simulator texts).
    pub messages_sent: u64,
    /// Sends the server acknowledged.
    pub messages_acked: u64,
    /// Sends the server refused.
    pub send_errors: u64,
    /// Messages received by any party (WebSocket `message_added`, SMS on the phone).
    pub deliveries: u64,
    /// Typing signals sent.
    pub typing_sent: u64,
    /// Typing indicators received by the other party.
    pub typing_received: u64,
    /// Read horizons moved.
    pub reads_sent: u64,
    /// Read horizons seen by the other party.
    pub read_receipts: u64,
    /// Attachments sent.
    pub media_sent: u64,
    /// Messages with attachments received.
    pub media_received: u64,
    /// Agent replies that reached an SMS customer's phone.
    pub sms_received: u64,
}

/// The protocol's promise, checked per receiver and conversation.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Integrity {
    /// Messages a receiver should have had by the end and never got.
    pub lost: u64,
    /// Messages a receiver got twice.
    pub duplicated: u64,
    /// Messages that arrived after a higher index.
    pub out_of_order: u64,
    /// Arrivals that skipped unseen indexes (filled later or lost).
    pub gaps: u64,
}

impl Integrity {
    /// All four are zero.
    pub fn clean(&self) -> bool {
        *self == Integrity::default()
    }
}

/// Percentiles of one measured path, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Stable key (`customer_to_agent`, …).
    pub name: String,
    /// What a person reads in the table.
    pub label: String,
    /// Samples.
    pub n: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
}

/// Latencies over the steady window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Steady {
    /// Where the window starts on the timeline (s).
    pub from_s: f64,
    /// Where it ends (s).
    pub to_s: f64,
    /// One line per measured path, in the order of the whole run's.
    pub latencies: Vec<LatencySummary>,
}

/// Rates over the traffic phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// Messages acknowledged per second.
    pub messages_per_s: f64,
    /// Deliveries (received messages) per second.
    pub deliveries_per_s: f64,
    /// Most conversations live at once.
    pub peak_conversations: u64,
    /// Most sockets open at once.
    pub peak_sockets: u64,
}

/// The server's use of the machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerUsage {
    /// Its process id.
    pub pid: u32,
    /// Average cores on a CPU during the traffic.
    pub cpu_cores: f64,
    /// Resident memory before the load's sockets connected.
    pub rss_before_bytes: u64,
    /// Most resident memory seen.
    pub rss_peak_bytes: u64,
    /// `(peak − before) / peak sockets`.
    pub bytes_per_connection: u64,
}

/// One second of traffic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the traffic started.
    pub t: u32,
    /// Messages sent in this second.
    pub sent: u64,
    /// Deliveries in this second.
    pub deliveries: u64,
    /// Conversations live at its end.
    pub conversations: u64,
    /// Median send → receive of the deliveries in it (ms; 0 when none).
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// Server cores on a CPU in it (when its PID was given).
    pub server_cpu: Option<f64>,
    /// Server RSS at its end (when its PID was given).
    pub server_rss_bytes: Option<u64>,
}

/// Step-up mode: load raised stage by stage until p99 crossed the limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepUp {
    /// The p99 send → receive limit (ms).
    pub p99_limit_ms: f64,
    /// Each stage run, in order.
    pub stages: Vec<Stage>,
    /// Concurrent conversations of the last stage that held, if any did.
    pub capacity_conversations: Option<u64>,
    /// Sockets open in that stage.
    pub capacity_sockets: Option<u64>,
    /// Server memory per connection at that stage (when its PID was given).
    pub bytes_per_connection: Option<u64>,
}

/// One stage of a step-up run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stage {
    /// Concurrent customers aimed at.
    pub target_conversations: u64,
    /// Conversations live at the stage's end.
    pub conversations: u64,
    /// Sockets open at its end.
    pub sockets: u64,
    /// Messages acknowledged per second in it.
    pub messages_per_s: f64,
    /// Deliveries per second in it.
    pub deliveries_per_s: f64,
    /// p99 send → receive in it (ms).
    pub p99_ms: f64,
    /// p99 contact → offer in it (ms); none when no task was created in the stage.
    pub offer_p99_ms: Option<f64>,
    /// Integrity problems that appeared in it.
    pub integrity_problems: u64,
    /// Server RSS at its end.
    pub server_rss_bytes: Option<u64>,
    /// p99 stayed under the limit and nothing broke.
    pub held: bool,
}

impl Report {
    /// The closing table: counts, integrity, latencies, throughput, server, verdict.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let c = &self.counts;
        let i = &self.integrity;
        let _ = writeln!(
            out,
            "switchboard load: scenario {} against {} ({:.1} s)",
            self.scenario, self.target, self.elapsed_s
        );
        let _ = writeln!(
            out,
            "  agents {}/{} connected, supervisors {} ({} conversations monitored)",
            c.agents_connected, c.agents, c.supervisors, c.monitored
        );
        let _ = writeln!(
            out,
            "  customers {} ({} webchat, {} sms): {} served, {} finished, {} abandoned",
            c.customers_started,
            c.customers_webchat,
            c.customers_sms,
            c.customers_served,
            c.customers_finished,
            c.customers_abandoned
        );
        let _ = writeln!(
            out,
            "  offers {}: {} accepted, {} rejected, {} timed out; {} tasks completed",
            c.offers, c.accepted, c.rejected, c.offer_timeouts, c.completed
        );
        let _ = writeln!(
            out,
            "  messages {} sent, {} acknowledged, {} refused; {} deliveries ({} to SMS phones); \
             typing {}→{}; reads {}→{}; attachments {}→{}",
            c.messages_sent,
            c.messages_acked,
            c.send_errors,
            c.deliveries,
            c.sms_received,
            c.typing_sent,
            c.typing_received,
            c.reads_sent,
            c.read_receipts,
            c.media_sent,
            c.media_received
        );
        let _ = writeln!(
            out,
            "  integrity: lost {}, duplicated {}, out of order {}, gaps {}",
            i.lost, i.duplicated, i.out_of_order, i.gaps
        );
        let _ = writeln!(
            out,
            "  {:<28} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency ms", "n", "p50", "p90", "p99", "p99.9", "max"
        );
        latency_rows(&mut out, &self.latencies);
        if let Some(steady) = &self.steady {
            let _ = writeln!(
                out,
                "  {:<28} (s {:.0}–{:.0}: after the ramp-up, before the end)",
                "steady state", steady.from_s, steady.to_s
            );
            latency_rows(&mut out, &steady.latencies);
        }
        let t = &self.throughput;
        let _ = writeln!(
            out,
            "  throughput: {:.0} messages/s, {:.0} deliveries/s; peak {} conversations, {} sockets",
            t.messages_per_s, t.deliveries_per_s, t.peak_conversations, t.peak_sockets
        );
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "  server pid {}: {:.2} cores; RSS {:.1} → {:.1} MiB peak, {:.1} KiB per connection",
                s.pid,
                s.cpu_cores,
                mib(s.rss_before_bytes),
                mib(s.rss_peak_bytes),
                s.bytes_per_connection as f64 / 1024.0
            );
        }
        let errors = join_counts(&self.errors);
        let closes = join_counts(&self.closes);
        let _ = writeln!(
            out,
            "  errors by code: {errors}; sockets closed by the server: {closes}"
        );
        if let Some(step) = &self.step_up {
            let _ = writeln!(
                out,
                "  step-up (p99 limit {:.0} ms): {:>6} {:>6} {:>7} {:>9} {:>9} {:>9}  held",
                step.p99_limit_ms, "target", "live", "sockets", "msg/s", "p99", "offer p99"
            );
            for s in &step.stages {
                let _ = writeln!(
                    out,
                    "  {:>30} {:>6} {:>6} {:>7} {:>9.0} {:>9.2} {:>9}  {}",
                    "",
                    s.target_conversations,
                    s.conversations,
                    s.sockets,
                    s.messages_per_s,
                    s.p99_ms,
                    s.offer_p99_ms.map_or("—".to_owned(), |o| format!("{o:.2}")),
                    if s.held { "yes" } else { "no" }
                );
            }
            match (step.capacity_conversations, step.capacity_sockets) {
                (Some(conv), Some(sockets)) => {
                    let per = step
                        .bytes_per_connection
                        .map(|b| {
                            format!(
                                ", {:.1} KiB server memory per connection",
                                b as f64 / 1024.0
                            )
                        })
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  capacity: {conv} concurrent conversations ({sockets} sockets) held p99 under {:.0} ms{per}",
                        step.p99_limit_ms
                    );
                }
                _ => {
                    let _ = writeln!(out, "  capacity: not even the first stage held");
                }
            }
        }
        if self.passed {
            let _ = writeln!(out, "  PASSED");
        } else {
            let _ = writeln!(out, "  FAILED: {}", self.failures.join("; "));
        }
        out
    }
}

fn latency_rows(out: &mut String, latencies: &[LatencySummary]) {
    for l in latencies {
        let _ = writeln!(
            out,
            "  {:<28} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            l.label, l.n, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
        );
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn join_counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
