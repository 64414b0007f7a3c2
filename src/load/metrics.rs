//! What the simulated clients record while a run goes on: one HDR histogram per measured path
//! (1 µs – 60 s, 3 significant digits; shared behind a mutex, since one per socket would take
//! gigabytes at 10,000 sockets), a per-second timeline of sends, deliveries and their latency,
//! the current step-up stage's own histograms, the steady window's (from the end of the
//! ramp-up to the end of the traffic: no arrivals piling up, no departures all at once), the
//! counters of the report, the integrity counts, and errors and closes by code. Times are µs since the run's clock started.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;

use super::report::{Counts, Integrity, LatencySummary, Second};

/// A measured path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lat {
    /// TCP connect → `hello` answered.
    Connect,
    /// The customer's first contact (`Webchat/Start` sent, or the SMS sent) → the offer shown
    /// to an agent: task created → offer, plus creating the conversation and the task.
    ContactToOffer,
    /// `accept` sent → the agent joined the conversation.
    AcceptToJoined,
    /// A webchat customer's message → the agent.
    CustomerToAgent,
    /// An SMS customer's text → the agent.
    SmsToAgent,
    /// An agent's message → the webchat customer.
    AgentToCustomer,
    /// An agent's message → the SMS customer's phone.
    AgentToSms,
    /// Any message → a monitoring supervisor.
    ToSupervisor,
    /// `send` → its acknowledgement (committed).
    Ack,
    /// `read` sent → the other party sees the read horizon move.
    ReadReceipt,
    /// `typing` sent → the other party sees the indicator.
    Typing,
}

impl Lat {
    /// Every path, in report order.
    pub const ALL: [Lat; 11] = [
        Lat::Connect,
        Lat::ContactToOffer,
        Lat::AcceptToJoined,
        Lat::CustomerToAgent,
        Lat::SmsToAgent,
        Lat::AgentToCustomer,
        Lat::AgentToSms,
        Lat::ToSupervisor,
        Lat::Ack,
        Lat::ReadReceipt,
        Lat::Typing,
    ];

    /// Stable key in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Lat::Connect => "connect",
            Lat::ContactToOffer => "contact_to_offer",
            Lat::AcceptToJoined => "accept_to_joined",
            Lat::CustomerToAgent => "customer_to_agent",
            Lat::SmsToAgent => "sms_to_agent",
            Lat::AgentToCustomer => "agent_to_customer",
            Lat::AgentToSms => "agent_to_sms",
            Lat::ToSupervisor => "to_supervisor",
            Lat::Ack => "send_to_ack",
            Lat::ReadReceipt => "read_receipt",
            Lat::Typing => "typing",
        }
    }

    /// What the table shows.
    pub fn label(self) -> &'static str {
        match self {
            Lat::Connect => "connection set-up",
            Lat::ContactToOffer => "contact → offer",
            Lat::AcceptToJoined => "accept → agent joined",
            Lat::CustomerToAgent => "customer → agent",
            Lat::SmsToAgent => "SMS customer → agent",
            Lat::AgentToCustomer => "agent → customer",
            Lat::AgentToSms => "agent → SMS phone",
            Lat::ToSupervisor => "→ supervisor",
            Lat::Ack => "send → ack",
            Lat::ReadReceipt => "read receipt",
            Lat::Typing => "typing indicator",
        }
    }

    /// A message delivered to another party: what the timeline and step-up judge by.
    pub fn is_delivery(self) -> bool {
        matches!(
            self,
            Lat::CustomerToAgent
                | Lat::SmsToAgent
                | Lat::AgentToCustomer
                | Lat::AgentToSms
                | Lat::ToSupervisor
        )
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs – 60 s at 3 significant digits: the bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

macro_rules! counters {
    ($($field:ident),* $(,)?) => {
        /// The report's counts, as atomics the tasks add to.
        #[derive(Debug, Default)]
        pub struct Counters {
            $(
                #[doc = concat!("See `Counts::", stringify!($field), "`.")]
                pub $field: AtomicU64,
            )*
        }

        impl Counters {
            /// The totals now.
            pub fn snapshot(&self) -> Counts {
                Counts { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters!(
    agents,
    agents_connected,
    supervisors,
    monitored,
    customers_started,
    customers_webchat,
    customers_sms,
    customers_served,
    customers_finished,
    customers_abandoned,
    offers,
    accepted,
    rejected,
    offer_timeouts,
    completed,
    messages_sent,
    messages_acked,
    send_errors,
    deliveries,
    typing_sent,
    typing_received,
    reads_sent,
    read_receipts,
    media_sent,
    media_received,
    sms_received,
);

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One second of the timeline being filled.
struct SecondAcc {
    sent: u64,
    deliveries: u64,
    latency: Histogram<u64>,
    conversations: u64,
    server_cpu: Option<f64>,
    server_rss: Option<u64>,
}

/// The current step-up stage's histograms.
struct StageAcc {
    delivery: Histogram<u64>,
    offer: Histogram<u64>,
    acked: u64,
    deliveries: u64,
}

/// The steady window's histograms, one per path, while it is open.
struct SteadyAcc {
    from_us: u64,
    to_us: Option<u64>,
    histograms: Vec<Histogram<u64>>,
}

/// Everything recorded during a run.
pub struct Metrics {
    clock: Instant,
    /// When traffic started (µs on the clock); seconds of the timeline count from it.
    traffic_from: AtomicU64,
    histograms: Mutex<Vec<Histogram<u64>>>,
    timeline: Mutex<Vec<SecondAcc>>,
    stage: Mutex<StageAcc>,
    steady: Mutex<Option<SteadyAcc>>,
    /// The report's counts.
    pub counts: Counters,
    duplicated: AtomicU64,
    out_of_order: AtomicU64,
    gaps: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    closes: Mutex<BTreeMap<String, u64>>,
    /// Conversations live now (customers between start and leaving).
    pub live_conversations: AtomicI64,
    /// Sockets open now.
    pub sockets: AtomicI64,
    peak_conversations: AtomicI64,
    peak_sockets: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Starts the run's clock.
    pub fn new() -> Metrics {
        Metrics {
            clock: Instant::now(),
            traffic_from: AtomicU64::new(0),
            histograms: Mutex::new(Lat::ALL.iter().map(|_| histogram()).collect()),
            timeline: Mutex::new(Vec::new()),
            stage: Mutex::new(StageAcc::new()),
            steady: Mutex::new(None),
            counts: Counters::default(),
            duplicated: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            closes: Mutex::new(BTreeMap::new()),
            live_conversations: AtomicI64::new(0),
            sockets: AtomicI64::new(0),
            peak_conversations: AtomicI64::new(0),
            peak_sockets: AtomicI64::new(0),
        }
    }

    /// µs since the clock started.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Marks the start of the traffic: the timeline's second 0.
    pub fn traffic_started(&self) {
        self.traffic_from.store(self.now_us(), Ordering::Relaxed);
    }

    fn second_of(&self, t_us: u64) -> usize {
        let from = self.traffic_from.load(Ordering::Relaxed);
        (t_us.saturating_sub(from) / 1_000_000) as usize
    }

    fn with_second(&self, t_us: u64, f: impl FnOnce(&mut SecondAcc)) {
        let at = self.second_of(t_us);
        if at > 24 * 3600 {
            return;
        }
        let mut timeline = lock(&self.timeline);
        while timeline.len() <= at {
            timeline.push(SecondAcc::new());
        }
        f(&mut timeline[at]);
    }

    /// Records a latency sample of `lat` observed now, measured from `from_us`.
    pub fn record(&self, lat: Lat, from_us: u64) {
        let now = self.now_us();
        let us = now.saturating_sub(from_us).max(1);
        if let Some(h) = lock(&self.histograms).get_mut(lat as usize) {
            h.saturating_record(us);
        }
        if let Some(steady) = lock(&self.steady).as_mut()
            && steady.to_us.is_none()
            && let Some(h) = steady.histograms.get_mut(lat as usize)
        {
            h.saturating_record(us);
        }
        if lat.is_delivery() {
            self.with_second(now, |s| s.latency.saturating_record(us));
            lock(&self.stage).delivery.saturating_record(us);
        } else if lat == Lat::ContactToOffer {
            lock(&self.stage).offer.saturating_record(us);
        }
    }

    /// Counts a message sent now.
    pub fn sent(&self) {
        bump(&self.counts.messages_sent);
        self.with_second(self.now_us(), |s| s.sent += 1);
    }

    /// Counts an acknowledged send.
    pub fn acked(&self) {
        bump(&self.counts.messages_acked);
        lock(&self.stage).acked += 1;
    }

    /// Counts a message received by any party now.
    pub fn delivered(&self) {
        bump(&self.counts.deliveries);
        lock(&self.stage).deliveries += 1;
        self.with_second(self.now_us(), |s| s.deliveries += 1);
    }

    /// Counts an arrival that was a duplicate, late, or skipped indexes.
    pub fn arrival(&self, arrival: super::stream::Arrival) {
        use super::stream::Arrival;
        let counter = match arrival {
            Arrival::InOrder => return,
            Arrival::Duplicate => &self.duplicated,
            Arrival::Late => &self.out_of_order,
            Arrival::Gap => &self.gaps,
        };
        bump(counter);
    }

    /// Integrity problems seen so far while receiving (lost is counted at the end).
    pub fn problems(&self) -> u64 {
        self.duplicated.load(Ordering::Relaxed)
            + self.out_of_order.load(Ordering::Relaxed)
            + self.gaps.load(Ordering::Relaxed)
    }

    /// The integrity counts, with `lost` from the final check.
    pub fn integrity(&self, lost: u64) -> Integrity {
        Integrity {
            lost,
            duplicated: self.duplicated.load(Ordering::Relaxed),
            out_of_order: self.out_of_order.load(Ordering::Relaxed),
            gaps: self.gaps.load(Ordering::Relaxed),
        }
    }

    /// Counts an error under `key` (a Twilio code, `http 503`, `transport`, …).
    pub fn error(&self, key: impl Into<String>) {
        *lock(&self.errors).entry(key.into()).or_default() += 1;
    }

    /// Counts a socket the server closed (`key`: the close code or `eof`).
    pub fn closed_by_server(&self, key: impl Into<String>) {
        *lock(&self.closes).entry(key.into()).or_default() += 1;
    }

    /// Errors and closes by code.
    pub fn codes(&self) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        (lock(&self.errors).clone(), lock(&self.closes).clone())
    }

    /// Moves a gauge by `delta` and keeps its peak.
    pub fn gauge(&self, conversations: bool, delta: i64) {
        let (gauge, peak) = if conversations {
            (&self.live_conversations, &self.peak_conversations)
        } else {
            (&self.sockets, &self.peak_sockets)
        };
        let now = gauge.fetch_add(delta, Ordering::Relaxed) + delta;
        peak.fetch_max(now, Ordering::Relaxed);
    }

    /// Peak conversations and sockets.
    pub fn peaks(&self) -> (u64, u64) {
        let get = |a: &AtomicI64| u64::try_from(a.load(Ordering::Relaxed)).unwrap_or(0);
        (get(&self.peak_conversations), get(&self.peak_sockets))
    }

    /// Live conversations and open sockets now.
    pub fn live(&self) -> (u64, u64) {
        let get = |a: &AtomicI64| u64::try_from(a.load(Ordering::Relaxed)).unwrap_or(0);
        (get(&self.live_conversations), get(&self.sockets))
    }

    /// Notes the state at the end of the current second (called once a second).
    pub fn tick(&self, server_cpu: Option<f64>, server_rss: Option<u64>) {
        let conversations = self.live().0;
        // The second that just ended.
        let now = self.now_us().saturating_sub(500_000);
        self.with_second(now, |s| {
            s.conversations = conversations;
            s.server_cpu = server_cpu;
            s.server_rss = server_rss;
        });
    }

    /// Summaries of every path, in report order.
    pub fn summaries(&self) -> Vec<LatencySummary> {
        summaries(&lock(&self.histograms))
    }

    /// Opens the steady window (once: later calls change nothing).
    pub fn steady_start(&self) {
        let mut steady = lock(&self.steady);
        if steady.is_none() {
            *steady = Some(SteadyAcc {
                from_us: self.now_us(),
                to_us: None,
                histograms: Lat::ALL.iter().map(|_| histogram()).collect(),
            });
        }
    }

    /// Closes the steady window, if open.
    pub fn steady_stop(&self) {
        let now = self.now_us();
        if let Some(steady) = lock(&self.steady).as_mut() {
            steady.to_us.get_or_insert(now);
        }
    }

    /// The steady window: (from s, to s) on the timeline and the summaries of every path; none
    /// when it never opened.
    pub fn steady(&self) -> Option<(f64, f64, Vec<LatencySummary>)> {
        let steady = lock(&self.steady);
        let s = steady.as_ref()?;
        let from = self.traffic_from.load(Ordering::Relaxed);
        let secs = |us: u64| us.saturating_sub(from) as f64 / 1e6;
        let to = s.to_us.unwrap_or_else(|| self.now_us());
        Some((secs(s.from_us), secs(to), summaries(&s.histograms)))
    }

    /// p99 send → receive (all deliveries) so far, in ms.
    pub fn delivery_p99_ms(&self) -> f64 {
        let hs = lock(&self.histograms);
        let mut all = histogram();
        for (lat, h) in Lat::ALL.iter().zip(hs.iter()) {
            if lat.is_delivery() {
                let _ = all.add(h);
            }
        }
        ms(all.value_at_quantile(0.99))
    }

    /// The timeline so far.
    pub fn timeline(&self) -> Vec<Second> {
        lock(&self.timeline)
            .iter()
            .enumerate()
            .map(|(t, s)| Second {
                t: u32::try_from(t).unwrap_or(u32::MAX),
                sent: s.sent,
                deliveries: s.deliveries,
                conversations: s.conversations,
                p50_ms: ms(s.latency.value_at_quantile(0.50)),
                p99_ms: ms(s.latency.value_at_quantile(0.99)),
                server_cpu: s.server_cpu,
                server_rss_bytes: s.server_rss,
            })
            .collect()
    }

    /// Starts a new step-up stage's histograms.
    pub fn stage_reset(&self) {
        *lock(&self.stage) = StageAcc::new();
    }

    /// The current stage: (delivery p99 ms, offer p99 ms if any offer, acked, deliveries).
    pub fn stage_figures(&self) -> (f64, Option<f64>, u64, u64) {
        let s = lock(&self.stage);
        (
            ms(s.delivery.value_at_quantile(0.99)),
            (!s.offer.is_empty()).then(|| ms(s.offer.value_at_quantile(0.99))),
            s.acked,
            s.deliveries,
        )
    }

    /// The latest second's deliveries and p99 (for the progress line).
    pub fn last_second(&self) -> (u64, u64, f64) {
        let timeline = lock(&self.timeline);
        let n = timeline.len();
        // The second before the one being filled.
        match timeline.get(n.saturating_sub(2)) {
            Some(s) => (s.sent, s.deliveries, ms(s.latency.value_at_quantile(0.99))),
            None => (0, 0, 0.0),
        }
    }
}

impl SecondAcc {
    fn new() -> SecondAcc {
        SecondAcc {
            sent: 0,
            deliveries: 0,
            latency: histogram(),
            conversations: 0,
            server_cpu: None,
            server_rss: None,
        }
    }
}

impl StageAcc {
    fn new() -> StageAcc {
        StageAcc {
            delivery: histogram(),
            offer: histogram(),
            acked: 0,
            deliveries: 0,
        }
    }
}

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 100.0).round() / 100.0
}

/// A mutex that a panicking holder poisoned still holds good counts.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn summaries(histograms: &[Histogram<u64>]) -> Vec<LatencySummary> {
    Lat::ALL
        .iter()
        .zip(histograms.iter())
        .map(|(lat, h)| LatencySummary {
            name: lat.name().into(),
            label: lat.label().into(),
            n: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_their_path_the_timeline_and_the_stage() {
        let m = Metrics::new();
        m.traffic_started();
        // A sample from the clock's start, at least 2 ms ago.
        std::thread::sleep(std::time::Duration::from_millis(2));
        m.record(Lat::CustomerToAgent, 0);
        m.record(Lat::Ack, m.now_us());
        m.delivered();
        m.sent();
        let s = m.summaries();
        let c2a = s
            .iter()
            .find(|l| l.name == "customer_to_agent")
            .expect("path");
        assert_eq!(c2a.n, 1);
        assert!(c2a.p99_ms >= 2.0, "{c2a:?}");
        assert_eq!(
            s.iter().find(|l| l.name == "send_to_ack").map(|l| l.n),
            Some(1)
        );
        let timeline = m.timeline();
        assert_eq!((timeline[0].sent, timeline[0].deliveries), (1, 1));
        assert!(m.stage_figures().0 >= 2.0);
        m.stage_reset();
        assert_eq!(m.stage_figures().3, 0);
    }

    #[test]
    fn the_steady_window_keeps_only_what_it_saw_open() {
        let m = Metrics::new();
        m.traffic_started();
        assert!(m.steady().is_none(), "never opened");
        m.record(Lat::CustomerToAgent, 0);
        m.steady_start();
        m.record(Lat::AgentToCustomer, m.now_us());
        m.steady_start();
        m.record(Lat::AgentToCustomer, m.now_us());
        m.steady_stop();
        m.record(Lat::AgentToCustomer, m.now_us());
        let (from, to, s) = m.steady().expect("opened");
        assert!(from <= to);
        let n = |name: &str| s.iter().find(|l| l.name == name).map(|l| l.n);
        assert_eq!(n("customer_to_agent"), Some(0), "before it opened");
        assert_eq!(
            n("agent_to_customer"),
            Some(2),
            "a second start changes nothing"
        );
        assert_eq!(m.summaries().iter().map(|l| l.n).sum::<u64>(), 4);
    }

    #[test]
    fn gauges_keep_their_peak_and_counts_snapshot() {
        let m = Metrics::new();
        m.gauge(true, 3);
        m.gauge(true, -2);
        assert_eq!(m.live().0, 1);
        assert_eq!(m.peaks().0, 3);
        bump(&m.counts.offers);
        assert_eq!(m.counts.snapshot().offers, 1);
        m.arrival(super::super::stream::Arrival::Gap);
        assert_eq!(m.integrity(2).gaps, 1);
        assert_eq!(m.integrity(2).lost, 2);
    }
}
