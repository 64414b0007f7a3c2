//! `switchboard load`: a whole contact center simulated against a running server, over the
//! same paths real clients take, to measure what it holds.
//!
//! ```text
//! setup (REST) ── API key, queue, workflow, workers load-agent-N, chat address, SMS number
//! agents ──────── one WebSocket each: Available → offers → accept / reject / let time out →
//!                 greet, read, type, reply → end the chat (Interactions REST) → wrap up → complete
//! customers ───── arrive at a rate up to a population: webchat (Webchat/Start + WebSocket:
//!                 typing, messages, attachments, reads) or SMS (simulator texts + its SSE feed)
//! supervisors ─── monitor the conversations as they start, anonymously
//! orchestrator ── ramp-up or step-up, a progress line each second, drain, report, clean-up
//! ```
//!
//! Every message body carries a stamp (`wire::body`), so each receiver measures send →
//! receive on the load tester's own clock; every receiver tracks the indexes it got per
//! conversation (`stream`), so lost, duplicated, out-of-order and gap deliveries are counted
//! and must all be zero. The run is bounded: arrivals stop after the duration (or the last
//! step-up stage), the drain has a limit, and every wait has a timeout. It only talks to the
//! server it is given; the CLI refuses anything but an `http://` base URL.

pub mod agent;
pub mod chart;
pub mod cli;
pub mod customer;
pub mod metrics;
pub mod procfs;
pub mod report;
pub mod rest;
pub mod scenario;
pub mod setup;
pub mod sms;
pub mod socket;
pub mod stepup;
pub mod stream;
pub mod supervisor;
pub mod wire;

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use dashmap::DashMap;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use metrics::Metrics;
use report::{Report, ServerUsage, Throughput};
use rest::Rest;
use scenario::Scenario;
use setup::Plan;
use stream::Stream;

/// Where the run goes.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`.
    pub base: String,
    /// `AC…`
    pub account: String,
    /// The account's auth token.
    pub auth_token: String,
    /// The server's process id, for its CPU and memory (same machine only).
    pub server_pid: Option<u32>,
    /// Remove the workers, queue, workflow and addresses afterwards.
    pub cleanup: bool,
    /// Print a progress line every second (stderr).
    pub progress: bool,
}

/// Where the run is; every party watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Customers arrive and chat.
    Running,
    /// No more arrivals; each customer's next message (at its usual time, so departures spread
    /// over one interval as arrivals did) is its last, then it waits for the agent to end.
    Ending,
    /// Agents end whatever chats are left and complete their tasks.
    Closing,
    /// Everyone hands in what it saw and closes its socket.
    Done,
}

/// What one receiver saw of one conversation, handed in at the end.
#[derive(Debug)]
pub struct Received {
    /// `CH…`
    pub conversation: String,
    /// The indexes it got (for an SMS phone: the agent's reply numbers).
    pub stream: Stream,
    /// It listened until the conversation ended (or the run did); one that left early is
    /// owed only the indexes below the last it got.
    pub stayed: bool,
    /// An SMS phone's stream (judged against the agent's acknowledged replies).
    pub sms: bool,
    /// Which kind of receiver it was, for the report's warnings.
    pub who: &'static str,
}

/// Supervisors with room for more conversations.
#[derive(Debug, Default)]
pub struct SupervisorPool {
    slots: Mutex<Vec<(mpsc::UnboundedSender<String>, usize)>>,
}

impl SupervisorPool {
    /// A supervisor ready to monitor `room` conversations; returns its number.
    pub fn register(&self, tx: mpsc::UnboundedSender<String>, room: usize) -> usize {
        let mut slots = lock(&self.slots);
        slots.push((tx, room));
        slots.len() - 1
    }

    /// Hands `conversation` to the supervisor with the most room, if any has room.
    pub fn assign(&self, conversation: &str) {
        let mut slots = lock(&self.slots);
        if let Some(slot) = slots.iter_mut().filter(|s| s.1 > 0).max_by_key(|s| s.1)
            && slot.0.send(conversation.to_owned()).is_ok()
        {
            slot.1 -= 1;
        }
    }

    /// Supervisor `i` has room for one more.
    pub fn release(&self, i: usize) {
        if let Some(slot) = lock(&self.slots).get_mut(i) {
            slot.1 += 1;
        }
    }
}

/// What every simulated party shares.
pub struct Run {
    /// The scenario.
    pub scenario: Scenario,
    /// REST access.
    pub rest: Rest,
    /// The server's objects.
    pub plan: Plan,
    /// `ws://host:port/v1/ws`.
    pub ws_url: String,
    /// What is recorded.
    pub metrics: Metrics,
    /// The phase.
    pub phase: watch::Receiver<Phase>,
    /// Customer name or phone → µs when it made contact (contact → offer).
    pub contacts: DashMap<String, u64>,
    /// (conversation, reader) → (index, µs) of its latest `read` (read receipt latency).
    pub reads: DashMap<(String, String), (u64, u64)>,
    /// (conversation, typer) → µs of its latest `typing`.
    pub typing: DashMap<(String, String), u64>,
    /// Conversation → highest index known to exist.
    pub highest: DashMap<String, u64>,
    /// SMS conversation → agent replies acknowledged (what the phone must receive).
    pub sms_replies: DashMap<String, u64>,
    /// Conversations that closed.
    pub closed: DashMap<String, ()>,
    /// Supervisors and their room.
    pub supervisors: SupervisorPool,
    /// Sockets connecting at once.
    pub connecting: Semaphore,
    /// Chats agents hold now.
    pub open_chats: std::sync::atomic::AtomicI64,
}

impl Run {
    /// Notes that `index` exists in `conversation`.
    pub fn saw(&self, conversation: &str, index: u64) {
        let mut entry = self.highest.entry(conversation.to_owned()).or_insert(index);
        if *entry < index {
            *entry = index;
        }
    }

    /// `reader` moved its read horizon to `index` in `conversation` now.
    pub fn read_sent(&self, conversation: &str, reader: &str, index: u64) {
        let now = self.metrics.now_us();
        self.reads
            .insert((conversation.to_owned(), reader.to_owned()), (index, now));
        metrics::bump(&self.metrics.counts.reads_sent);
    }

    /// Another party saw `reader`'s horizon at `horizon`: a read receipt, when it covers the
    /// latest `read`.
    pub fn horizon_seen(&self, conversation: &str, reader: String, horizon: Option<i64>) {
        let Some(horizon) = horizon.and_then(|h| u64::try_from(h).ok()) else {
            return;
        };
        let key = (conversation.to_owned(), reader);
        if let Some((_, (_, at))) = self.reads.remove_if(&key, |_, mark| horizon >= mark.0) {
            metrics::bump(&self.metrics.counts.read_receipts);
            self.metrics.record(metrics::Lat::ReadReceipt, at);
        }
    }

    /// `typer` signalled typing in `conversation` now.
    pub fn typing_sent(&self, conversation: &str, typer: &str) {
        let now = self.metrics.now_us();
        self.typing
            .insert((conversation.to_owned(), typer.to_owned()), now);
        metrics::bump(&self.metrics.counts.typing_sent);
    }

    /// Another party saw `typer`'s indicator.
    pub fn typing_seen(&self, conversation: &str, typer: String) {
        if let Some((_, at)) = self.typing.remove(&(conversation.to_owned(), typer)) {
            metrics::bump(&self.metrics.counts.typing_received);
            self.metrics.record(metrics::Lat::Typing, at);
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }
}

/// Runs the scenario against the target and reports.
pub async fn run(scenario: Scenario, target: Target) -> anyhow::Result<Report> {
    scenario.check()?;
    let base = target.base.trim_end_matches('/').to_owned();
    ensure!(
        base.starts_with("http://"),
        "the server URL must be http://HOST:PORT, not {base}"
    );
    procfs::check_limits(scenario.max_sockets())?;
    let ws_url = format!("ws://{}/v1/ws", &base["http://".len()..]);
    let rest = Rest::new(&base, &target.account, &target.auth_token)?;
    let mut sampler = match target.server_pid {
        Some(pid) => Some(procfs::Sampler::new(pid)?),
        None => None,
    };
    let rss_before = sampler.as_ref().and_then(procfs::Sampler::rss);
    let plan = setup::prepare(&rest, &scenario)
        .await
        .context("setting up the contact center")?;
    let (phase_tx, phase) = watch::channel(Phase::Running);
    let run = Arc::new(Run {
        connecting: Semaphore::new(scenario.connect_concurrency),
        scenario,
        rest,
        plan,
        ws_url,
        metrics: Metrics::new(),
        phase,
        contacts: DashMap::new(),
        reads: DashMap::new(),
        typing: DashMap::new(),
        highest: DashMap::new(),
        sms_replies: DashMap::new(),
        closed: DashMap::new(),
        supervisors: SupervisorPool::default(),
        open_chats: std::sync::atomic::AtomicI64::new(0),
    });
    let outcome = traffic(&run, &phase_tx, sampler.as_mut(), rss_before, &target).await;
    // Whatever happened, the run's key goes (its tokens with it), and clean-up if asked.
    let _ = phase_tx.send(Phase::Done);
    if let Ok((received, ..)) = &outcome {
        let mut open: Vec<String> = received
            .iter()
            .map(|r| r.conversation.clone())
            .filter(|c| !run.closed.contains_key(c))
            .collect();
        open.sort();
        open.dedup();
        if let Err(e) = setup::settle(&run.rest, &run.scenario, &run.plan, open).await {
            run.metrics.error("settle");
            tracing::warn!(error = %e, "ending what the customers left behind failed");
        }
    }
    if let Err(e) = setup::drop_key(&run.rest, &run.plan).await {
        run.metrics.error(e.key);
    }
    if target.cleanup {
        setup::cleanup(&run.rest, &run.scenario, &run.plan)
            .await
            .context("cleaning up")?;
    }
    let (received, step_up, elapsed, started_at) = outcome?;

    let lost = lost(&run, &received);
    let m = &run.metrics;
    let counts = m.counts.snapshot();
    let integrity = m.integrity(lost);
    let (errors, closes) = m.codes();
    let (peak_conversations, peak_sockets) = m.peaks();
    let secs = elapsed.as_secs_f64().max(0.001);
    let server = sampler.as_ref().map(|s| ServerUsage {
        pid: target.server_pid.unwrap_or_default(),
        cpu_cores: s.average_cores(),
        rss_before_bytes: rss_before.unwrap_or_default(),
        rss_peak_bytes: s.rss_peak,
        bytes_per_connection: s
            .rss_peak
            .saturating_sub(rss_before.unwrap_or_default())
            .checked_div(peak_sockets)
            .unwrap_or(0),
    });
    let mut failures = Vec::new();
    if !integrity.clean() {
        failures.push(format!(
            "integrity: {} lost, {} duplicated, {} out of order, {} gaps",
            integrity.lost, integrity.duplicated, integrity.out_of_order, integrity.gaps
        ));
    }
    if counts.agents_connected < counts.agents {
        failures.push(format!(
            "{} of {} agents did not connect",
            counts.agents - counts.agents_connected,
            counts.agents
        ));
    }
    if counts.customers_served == 0 {
        failures.push("no customer was served".into());
    }
    if counts.send_errors > 0 {
        failures.push(format!("{} sends were refused", counts.send_errors));
    }
    let report = Report {
        scenario: run.scenario.name.clone(),
        target: base,
        started_at,
        elapsed_s: (secs * 10.0).round() / 10.0,
        config: serde_json::to_value(&run.scenario).unwrap_or_default(),
        throughput: Throughput {
            messages_per_s: counts.messages_acked as f64 / secs,
            deliveries_per_s: counts.deliveries as f64 / secs,
            peak_conversations,
            peak_sockets,
        },
        counts,
        integrity,
        errors,
        closes,
        latencies: m.summaries(),
        steady: m.steady().map(|(from_s, to_s, latencies)| report::Steady {
            from_s: (from_s * 10.0).round() / 10.0,
            to_s: (to_s * 10.0).round() / 10.0,
            latencies,
        }),
        server,
        timeline: m.timeline(),
        step_up,
        passed: failures.is_empty(),
        failures,
    };
    Ok(report)
}

type Outcome = (Vec<Received>, Option<report::StepUp>, Duration, String);

/// Agents, supervisors, customers, drain: everything between set-up and the report.
async fn traffic(
    run: &Arc<Run>,
    phase_tx: &watch::Sender<Phase>,
    mut sampler: Option<&mut procfs::Sampler>,
    rss_before: Option<u64>,
    target: &Target,
) -> anyhow::Result<Outcome> {
    let s = &run.scenario;
    let mut parties: JoinSet<Vec<Received>> = JoinSet::new();
    for i in 0..s.agents.count {
        parties.spawn(agent::run(run.clone(), i));
    }
    for i in 0..s.supervisors.count {
        parties.spawn(supervisor::run(run.clone(), i));
    }
    // Everyone connected (or failed) before the first customer.
    let ready = Instant::now();
    let c = &run.metrics.counts;
    let expected = (s.agents.count + s.supervisors.count) as u64;
    while c
        .agents_connected
        .load(std::sync::atomic::Ordering::Relaxed)
        + c.supervisors.load(std::sync::atomic::Ordering::Relaxed)
        < expected
        && ready.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let traffic_start = Instant::now();
    run.metrics.traffic_started();
    if let Some(s) = sampler.as_deref_mut() {
        s.restart_average();
    }
    let mut customers: JoinSet<Vec<Received>> = JoinSet::new();
    let mut finished = Vec::new();
    let mut ticker = Ticker::new(run, target.progress);
    let step_up = if s.step_up.enabled {
        Some(
            stepup::drive(
                run,
                &mut customers,
                &mut ticker,
                sampler.as_deref_mut(),
                rss_before,
            )
            .await,
        )
    } else {
        let mut arrivals = Arrivals::new(run);
        while traffic_start.elapsed() < s.duration {
            let t = traffic_start.elapsed().as_secs_f64();
            let ramp = s.ramp_up.as_secs_f64();
            let share = if ramp > 0.0 { (t / ramp).min(1.0) } else { 1.0 };
            let population = (s.customers.concurrent as f64 * share).ceil() as u64;
            arrivals.admit(&mut customers, population);
            if share >= 1.0 {
                run.metrics.steady_start();
            }
            ticker.tick(sampler.as_deref_mut());
            tokio::time::sleep(Duration::from_millis(20)).await;
            reap(run, &mut customers, &mut finished);
        }
        None
    };

    // Drain: customers finish (last message, agent ends the chat), within the limit.
    run.metrics.steady_stop();
    let _ = phase_tx.send(Phase::Ending);
    let drain_until = Instant::now() + s.drain;
    while run.metrics.live().0 > 0 && Instant::now() < drain_until {
        ticker.tick(sampler.as_deref_mut());
        tokio::time::sleep(Duration::from_millis(50)).await;
        reap(run, &mut customers, &mut finished);
    }
    let _ = phase_tx.send(Phase::Closing);
    let close_until =
        Instant::now() + Duration::from_secs(10).min(s.drain.max(Duration::from_secs(2)));
    while run.open_chats.load(std::sync::atomic::Ordering::Relaxed) > 0
        && Instant::now() < close_until
    {
        ticker.tick(sampler.as_deref_mut());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = traffic_start.elapsed();
    let _ = phase_tx.send(Phase::Done);

    let mut received = finished;
    for set in [&mut customers, &mut parties] {
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => received.extend(r),
                Err(e) => {
                    run.metrics.error("load task panicked");
                    tracing::error!(error = %e, "a simulated client failed");
                }
            }
        }
    }
    Ok((received, step_up, elapsed, started_at))
}

/// Collects finished customers' results without waiting (keeps the set small).
fn reap(run: &Run, customers: &mut JoinSet<Vec<Received>>, finished: &mut Vec<Received>) {
    while let Some(joined) = customers.try_join_next() {
        match joined {
            Ok(r) => finished.extend(r),
            Err(e) => {
                run.metrics.error("load task panicked");
                tracing::error!(error = %e, "a simulated customer failed");
            }
        }
    }
}

/// Admits new customers: at most `arrival_rate` per second, up to a population.
pub struct Arrivals {
    run: Arc<Run>,
    allowance: f64,
    last: Instant,
    next: usize,
}

impl Arrivals {
    /// Starts with no allowance.
    pub fn new(run: &Arc<Run>) -> Arrivals {
        Arrivals {
            run: run.clone(),
            allowance: 0.0,
            last: Instant::now(),
            next: 0,
        }
    }

    /// Spawns customers while fewer than `population` are live and the rate allows.
    pub fn admit(&mut self, set: &mut JoinSet<Vec<Received>>, population: u64) {
        let rate = self.run.scenario.customers.arrival_rate;
        let now = Instant::now();
        self.allowance = (self.allowance + rate * now.duration_since(self.last).as_secs_f64())
            .min(rate.max(1.0));
        self.last = now;
        while self.allowance >= 1.0 && self.run.metrics.live().0 < population {
            self.allowance -= 1.0;
            let n = self.next;
            self.next += 1;
            self.run.metrics.gauge(true, 1);
            if rand::random_bool(self.run.scenario.customers.sms_ratio) {
                set.spawn(sms::run(self.run.clone(), n));
            } else {
                set.spawn(customer::run(self.run.clone(), n));
            }
        }
    }
}

/// Once a second: the timeline's server figures and the progress line.
pub struct Ticker {
    run: Arc<Run>,
    next: Instant,
    started: Instant,
    progress: bool,
}

impl Ticker {
    fn new(run: &Arc<Run>, progress: bool) -> Ticker {
        Ticker {
            run: run.clone(),
            next: Instant::now() + Duration::from_secs(1),
            started: Instant::now(),
            progress,
        }
    }

    /// Does the second's work when a second has passed.
    pub fn tick(&mut self, sampler: Option<&mut procfs::Sampler>) {
        if Instant::now() < self.next {
            return;
        }
        self.next += Duration::from_secs(1);
        let (cpu, rss) = sampler.map(procfs::Sampler::sample).unwrap_or((None, None));
        let m = &self.run.metrics;
        m.tick(cpu, rss);
        if self.progress {
            let c = m.counts.snapshot();
            let (live, sockets) = m.live();
            let (sent, deliveries, p99) = m.last_second();
            let server = match (cpu, rss) {
                (Some(cpu), Some(rss)) => format!(" | server {cpu:.2} cores {} MiB", rss >> 20),
                _ => String::new(),
            };
            eprintln!(
                "[{:>4}s] {:?} conversations {live} sockets {sockets} | customers {} served {} | \
                 {sent} sent/s {deliveries} deliveries/s p99 {p99:.1} ms | offers {} accepted {} | \
                 problems {}{server}",
                self.started.elapsed().as_secs(),
                self.run.phase(),
                c.customers_started,
                c.customers_served,
                c.offers,
                c.accepted,
                m.problems(),
            );
        }
    }
}

/// Messages receivers should have had by the end and never got.
fn lost(run: &Run, received: &[Received]) -> u64 {
    count_lost(
        received,
        |c| run.highest.get(c).map(|h| *h),
        |c| run.sms_replies.get(c).map(|n| *n),
    )
}

/// The final check: a receiver that stayed is owed every index up to the highest its
/// conversation reached (an SMS phone: every reply the agent had acknowledged); one that left
/// early, every index below the last it got.
fn count_lost(
    received: &[Received],
    highest: impl Fn(&str) -> Option<u64>,
    sms_replies: impl Fn(&str) -> Option<u64>,
) -> u64 {
    let mut lost = 0;
    for r in received {
        let max = match (r.stayed, r.sms) {
            (false, _) => r.stream.last(),
            (true, true) => sms_replies(&r.conversation).and_then(|n| n.checked_sub(1)),
            (true, false) => highest(&r.conversation),
        };
        let missing = r.stream.missing(max, true);
        if missing.others + missing.own > 0 {
            tracing::warn!(
                conversation = %r.conversation,
                receiver = r.who,
                expected_up_to = ?max,
                last_received = ?r.stream.last(),
                missing = missing.others + missing.own,
                "a receiver never got some messages"
            );
        }
        lost += missing.others + missing.own;
    }
    lost
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::{Received, Stream, count_lost};

    fn got(indexes: &[u64]) -> Stream {
        let mut s = Stream::default();
        for &i in indexes {
            s.deliver(i, true);
        }
        s
    }

    fn received(stream: Stream, stayed: bool, sms: bool) -> Received {
        Received {
            conversation: "CH1".into(),
            stream,
            stayed,
            sms,
            who: "test",
        }
    }

    #[test]
    fn receivers_that_stayed_are_owed_everything_and_early_leavers_only_what_came_before() {
        let highest = |_: &str| Some(4);
        let replies = |_: &str| Some(3);
        // Stayed, got 0..=4: nothing lost; missing 3 and 4: two lost.
        assert_eq!(
            count_lost(
                &[received(got(&[0, 1, 2, 3, 4]), true, false)],
                highest,
                replies
            ),
            0
        );
        assert_eq!(
            count_lost(&[received(got(&[0, 1, 2]), true, false)], highest, replies),
            2
        );
        // Left early after 0..=2: owed nothing more; a hole below its last still counts.
        assert_eq!(
            count_lost(&[received(got(&[0, 1, 2]), false, false)], highest, replies),
            0
        );
        assert_eq!(
            count_lost(&[received(got(&[0, 2]), false, false)], highest, replies),
            1
        );
        // Left before anything came: owed nothing.
        assert_eq!(
            count_lost(&[received(got(&[]), false, true)], highest, replies),
            0
        );
        // A phone that stayed is owed every acknowledged reply (0..=2).
        assert_eq!(
            count_lost(&[received(got(&[0, 1]), true, true)], highest, replies),
            1
        );
        assert_eq!(
            count_lost(&[received(got(&[0, 1, 2]), true, true)], highest, replies),
            0
        );
    }
}
