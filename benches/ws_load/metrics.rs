//! What the socket tasks record while the load runs: latency histograms (HDR, 1 µs – 60 s,
//! 3 significant digits, one per kind of delivery, shared behind a mutex because one histogram
//! per socket would take gigabytes at 20,000 sockets), counters, and error frames and close
//! codes by code.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;

/// Which latency a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lat {
    /// A customer's message delivered to the agent.
    CustomerToAgent,
    /// An agent's reply delivered to the customer.
    AgentToCustomer,
    /// Any message delivered to a monitoring supervisor.
    ToSupervisor,
    /// A sender's own message delivered back to it as an event.
    OwnEcho,
    /// `send` → its `reply` (for Switchboard: the store committed the message).
    Ack,
    /// How late the load generator wrote a customer's message after its scheduled time.
    SendLag,
}

impl Lat {
    pub const ALL: [Lat; 6] = [
        Lat::CustomerToAgent,
        Lat::AgentToCustomer,
        Lat::ToSupervisor,
        Lat::OwnEcho,
        Lat::Ack,
        Lat::SendLag,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Lat::CustomerToAgent => "customer→agent",
            Lat::AgentToCustomer => "agent→customer",
            Lat::ToSupervisor => "→supervisor",
            Lat::OwnEcho => "own echo",
            Lat::Ack => "send→ack",
            Lat::SendLag => "send lag",
        }
    }
}

/// Counters, each a plain total over the whole run unless its name says otherwise.
#[derive(Debug, Default)]
pub struct Counters {
    /// `send` commands written.
    pub sent: AtomicU64,
    /// `send`s answered with a `reply`.
    pub acked: AtomicU64,
    /// `send`s answered with an `error`.
    pub send_errors: AtomicU64,
    /// Sends written inside the measured window.
    pub sent_in_window: AtomicU64,
    /// Answers (`reply`) received inside the measured window.
    pub acked_in_window: AtomicU64,
    /// `message_added` deliveries (duplicates included).
    pub deliveries: AtomicU64,
    /// Deliveries received inside the measured window.
    pub deliveries_in_window: AtomicU64,
    /// Deliveries not seen before by that receiver (what `expected` is compared with).
    pub unique_deliveries: AtomicU64,
    /// Deliveries the acknowledged messages owe (receivers per conversation, summed).
    pub expected: AtomicU64,
    /// Order and uniqueness violations, see [`super::stream::Arrival`].
    pub duplicates: AtomicU64,
    pub late: AtomicU64,
    pub gaps: AtomicU64,
    /// Frames that were not JSON of the expected shape.
    pub unparseable: AtomicU64,
    /// `message_added` events without a usable index, or for a conversation the receiver does
    /// not watch, or without a `t` stamp.
    pub unexpected: AtomicU64,
}

/// Everything the socket tasks record.
pub struct Metrics {
    hists: [Mutex<Histogram<u64>>; 6],
    pub counters: Counters,
    errors: Mutex<BTreeMap<i64, u64>>,
    closes: Mutex<BTreeMap<String, u64>>,
    events: Mutex<BTreeMap<String, u64>>,
    /// First few unparseable frames, printed at the end.
    samples: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking socket task must not hide everyone else's figures.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            hists: std::array::from_fn(|_| Mutex::new(new_histogram())),
            counters: Counters::default(),
            errors: Mutex::default(),
            closes: Mutex::default(),
            events: Mutex::default(),
            samples: Mutex::default(),
        }
    }

    fn slot(kind: Lat) -> usize {
        Lat::ALL.iter().position(|k| *k == kind).unwrap_or(0)
    }

    pub fn record(&self, kind: Lat, micros: u64) {
        lock(&self.hists[Self::slot(kind)]).saturating_record(micros.max(1));
    }

    pub fn histogram(&self, kind: Lat) -> Histogram<u64> {
        lock(&self.hists[Self::slot(kind)]).clone()
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// An `error` frame, by its code.
    pub fn error(&self, code: i64) {
        *lock(&self.errors).entry(code).or_default() += 1;
    }

    /// How a socket ended before the bench closed it (`4001`, `eof`, `io: …`).
    pub fn close(&self, how: String) {
        *lock(&self.closes).entry(how).or_default() += 1;
    }

    /// An event other than `message_added`.
    pub fn event(&self, name: &str) {
        let mut events = lock(&self.events);
        match events.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                events.insert(name.to_owned(), 1);
            }
        }
    }

    pub fn unparseable(&self, frame: &str) {
        Self::add(&self.counters.unparseable, 1);
        let mut samples = lock(&self.samples);
        if samples.len() < 5 {
            samples.push(frame.chars().take(300).collect());
        }
    }

    pub fn errors(&self) -> BTreeMap<i64, u64> {
        lock(&self.errors).clone()
    }

    pub fn closes(&self) -> BTreeMap<String, u64> {
        lock(&self.closes).clone()
    }

    pub fn events(&self) -> BTreeMap<String, u64> {
        lock(&self.events).clone()
    }

    pub fn samples(&self) -> Vec<String> {
        lock(&self.samples).clone()
    }
}

/// `k=v, k=v` or `none`.
pub fn tally<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
