//! One simulated WebSocket client (a customer, an agent or a supervisor) as one task: connect,
//! `hello` (supervisors then `monitor` their conversations), wait for the start, then send on a
//! schedule (customers), answer every customer message (agents) or only listen (supervisors),
//! recording every frame into the shared metrics until told to stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::metrics::{Lat, Metrics};
use super::stream::{Arrival, Stream};
use super::wire::{self, Incoming};
use super::{Schedule, Shared};

/// Longest a socket may take to connect, say `hello` and set up its monitors.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What a simulated client does.
#[derive(Debug, Clone)]
pub enum Role {
    /// Sends at the configured rate into conversation `i`.
    Customer(usize),
    /// Answers every customer message in conversation `i`.
    Agent(usize),
    /// Monitors these conversations and only listens.
    Supervisor(Vec<usize>),
}

/// One client to simulate.
#[derive(Debug, Clone)]
pub struct Party {
    pub role: Role,
    /// Identity messages from it carry as `author`.
    pub identity: String,
    /// WebSocket URL (with `?token=` where the server wants one).
    pub url: String,
    /// The `hello` frame, id 0.
    pub hello: String,
    /// Print the first `--show-frames` frames it sends and receives (stderr).
    pub trace: bool,
}

/// What a finished task hands back for the loss count.
pub struct Outcome {
    /// Connected and said `hello` successfully.
    pub connected: bool,
    /// (conversation number, what this client saw of it).
    pub streams: Vec<(usize, Stream)>,
    /// Sends never answered.
    pub unanswered: u64,
}

type Ws = WebSocketStream<TcpStream>;

/// Small buffers: 20,000 sockets × tungstenite's 128 KiB default would be 2.5 GiB here.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

/// A reply the set-up phase waits for.
enum Answer {
    Ok(u64),
    Refused(u64, i64),
}

struct Client {
    sh: Arc<Shared>,
    party: Party,
    /// conversation number → position in `streams`.
    watched: HashMap<usize, usize>,
    streams: Vec<(usize, Stream)>,
    /// send id → (stamp µs, conversation number).
    pending: HashMap<u64, (u64, usize)>,
    next_id: u64,
    sends: u64,
    schedule: Option<Schedule>,
    /// Frames left to print when tracing.
    shown: usize,
}

impl Client {
    fn metrics(&self) -> &Metrics {
        &self.sh.metrics
    }

    fn watch(&mut self, conv: usize) {
        self.watched.insert(conv, self.streams.len());
        self.streams.push((conv, Stream::default()));
    }

    fn stream(&mut self, conv: usize) -> Option<&mut Stream> {
        let at = *self.watched.get(&conv)?;
        Some(&mut self.streams[at].1)
    }

    fn trace(&mut self, arrow: &str, frame: &str) {
        if self.party.trace && self.shown < self.sh.show_frames {
            self.shown += 1;
            eprintln!("{} {arrow} {frame}", self.party.identity);
        }
    }

    /// Writes a text frame (traced).
    async fn write(&mut self, ws: &mut Ws, frame: String) -> Result<(), String> {
        self.trace("→", &frame);
        ws.send(Message::text(frame))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    fn in_window(&self, t: u64) -> bool {
        self.schedule
            .is_some_and(|s| t >= s.window_from_us && t < s.send_end_us)
    }

    async fn send(&mut self, ws: &mut Ws, conv: usize, t: u64) -> Result<(), String> {
        let id = self.next_id;
        self.next_id += 1;
        let client_id = format!("{}-{}", self.party.identity, self.sends);
        self.sends += 1;
        let frame = wire::send_frame(id, &self.sh.sids[conv], &self.sh.body, t, &client_id);
        self.pending.insert(id, (t, conv));
        let c = &self.sh.metrics.counters;
        Metrics::add(&c.sent, 1);
        if self.in_window(t) {
            Metrics::add(&c.sent_in_window, 1);
        }
        self.write(ws, frame).await
    }

    /// Handles one text frame; returns the answer to a set-up command, and for agents the
    /// customer message to answer.
    fn on_text(&mut self, text: &str) -> (Option<Answer>, Option<usize>) {
        let now = self.sh.now_us();
        self.trace("←", text);
        let frame: Incoming = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(_) => {
                self.metrics().unparseable(text);
                return (None, None);
            }
        };
        match frame.kind.as_ref() {
            "reply" => (self.on_reply(&frame, now), None),
            "error" => {
                let code = frame.error.as_ref().map_or(0, |e| e.code);
                self.metrics().error(code);
                let id = frame.id.unwrap_or(u64::MAX);
                if self.pending.remove(&id).is_some() {
                    Metrics::add(&self.metrics().counters.send_errors, 1);
                    return (None, None);
                }
                (Some(Answer::Refused(id, code)), None)
            }
            "event" => (None, self.on_event(&frame, now)),
            _ => {
                self.metrics().unparseable(text);
                (None, None)
            }
        }
    }

    fn on_reply(&mut self, frame: &Incoming, now: u64) -> Option<Answer> {
        let id = frame.id?;
        let Some((t, conv)) = self.pending.remove(&id) else {
            return Some(Answer::Ok(id));
        };
        let c = &self.sh.metrics.counters;
        Metrics::add(&c.acked, 1);
        if self.in_window(now) {
            Metrics::add(&c.acked_in_window, 1);
        }
        if self.in_window(t) {
            self.sh.metrics.record(Lat::Ack, now.saturating_sub(t));
        }
        let index = frame
            .result
            .as_ref()
            .and_then(|r| r.message.as_ref())
            .and_then(|m| m.index);
        let Some(index) = index else {
            Metrics::add(&c.unexpected, 1);
            return None;
        };
        self.sh.saw_index(conv, index);
        Metrics::add(&c.expected, self.sh.receivers(conv));
        if let Some(stream) = self.stream(conv) {
            stream.own(index);
        }
        None
    }

    /// Returns the conversation to answer in when an agent received a customer message.
    fn on_event(&mut self, frame: &Incoming, now: u64) -> Option<usize> {
        let name = frame.event.as_deref().unwrap_or("");
        if name != "message_added" {
            self.metrics().event(name);
            return None;
        }
        let sh = self.sh.clone();
        let c = &sh.metrics.counters;
        let conv = frame
            .conversation_sid
            .as_deref()
            .and_then(|sid| sh.index_of.get(sid).copied());
        let data = frame.data.as_ref();
        let (Some(conv), Some(index)) = (conv, data.and_then(|d| d.index)) else {
            Metrics::add(&c.unexpected, 1);
            return None;
        };
        let author = data.and_then(|d| d.author.as_deref()).unwrap_or("");
        let t = data
            .and_then(|d| d.attributes.as_deref())
            .and_then(wire::stamp_of);
        let echo_own = sh.echo_own;
        let Some(stream) = self.stream(conv) else {
            Metrics::add(&c.unexpected, 1);
            return None;
        };
        let arrival = stream.deliver(index, echo_own);
        Metrics::add(&c.deliveries, 1);
        if self.in_window(now) {
            Metrics::add(&c.deliveries_in_window, 1);
        }
        match arrival {
            Arrival::Duplicate => {
                Metrics::add(&c.duplicates, 1);
                return None;
            }
            Arrival::Late => Metrics::add(&c.late, 1),
            Arrival::Gap => Metrics::add(&c.gaps, 1),
            Arrival::InOrder => {}
        }
        Metrics::add(&c.unique_deliveries, 1);
        sh.saw_index(conv, index);
        let own = author == self.party.identity;
        match t {
            Some(t) if self.in_window(t) => {
                let kind = match (&self.party.role, own) {
                    (_, true) => Lat::OwnEcho,
                    (Role::Agent(_), false) => Lat::CustomerToAgent,
                    (Role::Customer(_), false) => Lat::AgentToCustomer,
                    (Role::Supervisor(_), false) => Lat::ToSupervisor,
                };
                sh.metrics.record(kind, now.saturating_sub(t));
            }
            Some(_) => {}
            None => Metrics::add(&c.unexpected, 1),
        }
        let from_customer = author.starts_with("customer-");
        matches!(self.party.role, Role::Agent(_) if from_customer).then_some(conv)
    }
}

/// Runs one client from connect to stop.
pub async fn run(
    sh: Arc<Shared>,
    party: Party,
    mut start: watch::Receiver<Option<Schedule>>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut client = Client {
        sh: sh.clone(),
        party,
        watched: HashMap::new(),
        streams: Vec::new(),
        pending: HashMap::new(),
        next_id: 1,
        sends: 0,
        schedule: None,
        shown: 0,
    };
    let setup = {
        let permit = sh.connect_gate.acquire().await;
        let r = tokio::time::timeout(SETUP_TIMEOUT, set_up(&mut client)).await;
        drop(permit);
        r.unwrap_or_else(|_| Err("set-up timed out".into()))
    };
    let mut ws = match setup {
        Ok(ws) => ws,
        Err(why) => {
            sh.setup_failed(why);
            return Outcome {
                connected: false,
                streams: Vec::new(),
                unanswered: 0,
            };
        }
    };
    sh.ready.fetch_add(1, Ordering::Relaxed);

    let mut ticks: Option<tokio::time::Interval> = None;
    let ended = loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break None,
            changed = start.changed(), if client.schedule.is_none() => {
                if changed.is_err() {
                    break None;
                }
                client.schedule = *start.borrow();
                if let (Some(s), Role::Customer(i)) = (client.schedule, &client.party.role)
                    && let Some(period) = sh.period
                {
                    // Spread the customers evenly over one period.
                    let offset = period.mul_f64(*i as f64 / sh.sids.len() as f64);
                    let mut iv = tokio::time::interval_at((s.start + offset).into(), period);
                    // Open loop: a late tick is sent at once (the lag is recorded).
                    iv.set_missed_tick_behavior(MissedTickBehavior::Burst);
                    ticks = Some(iv);
                }
            }
            due = async { ticks.as_mut().expect("enabled only with an interval").tick().await },
                if ticks.is_some() =>
            {
                let due = sh.us_since_origin(due.into_std());
                let conv = match client.party.role {
                    Role::Customer(i) => i,
                    _ => unreachable!("only customers tick"),
                };
                if client.schedule.is_some_and(|s| due >= s.send_end_us) {
                    ticks = None;
                } else {
                    // Stamped with the actual send time; the timer's lateness (≈ 1 ms
                    // resolution, more when the load generator falls behind) is its own figure.
                    let now = sh.now_us();
                    if client.in_window(due) {
                        sh.metrics.record(Lat::SendLag, now.saturating_sub(due));
                    }
                    if let Err(e) = client.send(&mut ws, conv, now).await {
                        break Some(e);
                    }
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if let (_, Some(conv)) = client.on_text(text.as_str()) {
                        let now = sh.now_us();
                        if let Err(e) = client.send(&mut ws, conv, now).await {
                            break Some(e);
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break Some(frame.map_or("close without code".into(), |f| {
                        format!("close {}", u16::from(f.code))
                    }));
                }
                Some(Ok(Message::Binary(_))) => client.metrics().unparseable("<binary frame>"),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(format!("read: {e}")),
                None => break Some("eof".into()),
            },
        }
    };
    match ended {
        Some(how) => sh.metrics.close(how),
        None => {
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        }
    }
    Outcome {
        connected: true,
        unanswered: client.pending.len() as u64,
        streams: client.streams,
    }
}

/// Connects, says `hello` and (supervisors) monitors; the socket is returned once every
/// answer arrived.
async fn set_up(client: &mut Client) -> Result<Ws, String> {
    let sh = client.sh.clone();
    let tcp = TcpStream::connect(sh.addr)
        .await
        .map_err(|e| format!("tcp connect: {}", e.kind()))?;
    let _ = tcp.set_nodelay(true);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        client.party.url.as_str(),
        tcp,
        Some(socket_config()),
    )
    .await
    .map_err(|e| format!("handshake: {e}"))?;
    client.write(&mut ws, client.party.hello.clone()).await?;
    await_answers(client, &mut ws, &[0]).await?;
    match client.party.role.clone() {
        Role::Customer(i) | Role::Agent(i) => client.watch(i),
        Role::Supervisor(convs) => {
            let ids: Vec<u64> = (1..=convs.len() as u64).collect();
            for (&id, &conv) in ids.iter().zip(&convs) {
                client
                    .write(&mut ws, wire::monitor_frame(id, &sh.sids[conv]))
                    .await?;
            }
            client.next_id = convs.len() as u64 + 1;
            let ok = await_answers(client, &mut ws, &ids).await?;
            for (id, conv) in ids.iter().zip(convs) {
                if ok.contains(id) {
                    client.watch(conv);
                    sh.supervisors_of[conv].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    Ok(ws)
}

/// Reads until every id in `ids` was answered; returns those answered with a `reply`. A refused
/// `hello` (id 0) fails the set-up.
async fn await_answers(client: &mut Client, ws: &mut Ws, ids: &[u64]) -> Result<Vec<u64>, String> {
    let mut ok = Vec::new();
    let mut left = ids.len();
    let started = Instant::now();
    while left > 0 {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Err(frame.map_or("closed during set-up".into(), |f| {
                    format!("close {} during set-up: {}", u16::from(f.code), f.reason)
                }));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read during set-up: {e}")),
            None => return Err("eof during set-up".into()),
        };
        match client.on_text(text.as_str()).0 {
            Some(Answer::Ok(id)) if ids.contains(&id) => {
                ok.push(id);
                left -= 1;
            }
            Some(Answer::Refused(0, code)) => return Err(format!("hello refused: {code}")),
            Some(Answer::Refused(id, _)) if ids.contains(&id) => left -= 1,
            _ => {}
        }
        if started.elapsed() > SETUP_TIMEOUT {
            return Err("set-up answers timed out".into());
        }
    }
    Ok(ok)
}
