//! The report a run prints: one summary line, then connection and memory figures, counts,
//! the latency table, order and loss, error frames and close codes, and CPU.

use std::collections::BTreeMap;

use super::LoadArgs;
use super::metrics::{Lat, Metrics, tally};
use super::stream::Missing;

/// What the run observed besides the shared [`Metrics`].
pub struct Observed {
    /// Bench name, first word of the summary line.
    pub name: &'static str,
    pub conversations: usize,
    pub sockets: usize,
    /// Sockets that connected and said `hello`.
    pub connected: usize,
    pub failed: usize,
    /// Set-up failures by reason.
    pub failures: BTreeMap<String, u64>,
    pub connect_secs: f64,
    /// Server `VmRSS` before connecting and with every socket connected and idle.
    pub server_rss: (Option<u64>, Option<u64>),
    /// The load generator's, at the same moments.
    pub own_rss: (Option<u64>, Option<u64>),
    pub drained_secs: f64,
    /// Sends never answered.
    pub unanswered: u64,
    pub missing: Missing,
    /// (on-CPU ns, runnable-waiting ns) at the start and end of the window.
    pub server_cpu: Option<((u64, u64), (u64, u64))>,
    pub own_cpu: ((u64, u64), (u64, u64)),
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints the report to stdout.
pub fn print(args: &LoadArgs, metrics: &Metrics, o: &Observed) {
    let secs = args.duration.as_secs_f64();
    println!(
        "{}: conversations={} supervisors={}x{} sockets={} rate={}/s duration={:?} body={}B",
        o.name,
        o.conversations,
        args.supervisors,
        args.per_supervisor.min(o.conversations),
        o.sockets,
        args.rate,
        args.duration,
        args.body_bytes,
    );
    let per_conn = match o.server_rss {
        (Some(b), Some(a)) if o.connected > 0 => format!(
            "server RSS {:.1} MiB → {:.1} MiB idle = {:.1} KiB per connection",
            mib(b),
            mib(a),
            a.saturating_sub(b) as f64 / 1024.0 / o.connected as f64
        ),
        _ => "server RSS unknown (no server pid)".into(),
    };
    let own = match o.own_rss {
        (Some(b), Some(a)) => format!("; load generator RSS {:.1} → {:.1} MiB", mib(b), mib(a)),
        _ => String::new(),
    };
    println!(
        "  connect: {}/{} sockets in {:.1} s, {} failed; {per_conn}{own}",
        o.connected, o.sockets, o.connect_secs, o.failed
    );
    if o.failed > 0 {
        println!("  set-up failures: {}", tally(&o.failures));
    }
    let c = &metrics.counters;
    let (sent, acked, send_errors) = (
        Metrics::get(&c.sent),
        Metrics::get(&c.acked),
        Metrics::get(&c.send_errors),
    );
    println!(
        "  sent {sent} ({:.0}/s in window), answered {acked} ok ({:.0}/s in window) + {send_errors} error, {} unanswered at the end; deliveries {} ({:.0}/s in window); drain {:.1} s",
        Metrics::get(&c.sent_in_window) as f64 / secs,
        Metrics::get(&c.acked_in_window) as f64 / secs,
        o.unanswered,
        Metrics::get(&c.deliveries),
        Metrics::get(&c.deliveries_in_window) as f64 / secs,
        o.drained_secs,
    );
    println!(
        "  {:<15} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "latency ms", "n", "p50", "p90", "p99", "p99.9", "max"
    );
    for kind in Lat::ALL {
        let h = metrics.histogram(kind);
        if h.is_empty() {
            println!("  {:<15} {:>9}", kind.label(), 0);
            continue;
        }
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "  {:<15} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            kind.label(),
            h.len(),
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0
        );
    }
    println!(
        "  not delivered by the end (lost) {} (+ {} own echoes), duplicated {}, late {}, gaps {}; unparseable frames {}, unexpected events {}",
        o.missing.others,
        o.missing.own,
        Metrics::get(&c.duplicates),
        Metrics::get(&c.late),
        Metrics::get(&c.gaps),
        Metrics::get(&c.unparseable),
        Metrics::get(&c.unexpected),
    );
    println!(
        "  error frames by code: {}; sockets ended early: {}; other events: {}",
        tally(&metrics.errors()),
        tally(&metrics.closes()),
        tally(&metrics.events()),
    );
    for sample in metrics.samples() {
        println!("  unparseable: {sample}");
    }
    let cores = |a: (u64, u64), b: (u64, u64)| {
        format!(
            "{:.2}/{:.2}",
            b.0.saturating_sub(a.0) as f64 / 1e9 / secs,
            b.1.saturating_sub(a.1) as f64 / 1e9 / secs
        )
    };
    let server_cpu = o.server_cpu.map_or("?".into(), |(a, b)| cores(a, b));
    println!(
        "  cpu in window (cores on-cpu/runqueue-wait): server {server_cpu}, load generator {}",
        cores(o.own_cpu.0, o.own_cpu.1)
    );
}
