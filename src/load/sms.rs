//! One simulated SMS customer, through the simulator provider exactly as a phone would reach
//! a real number: it opens its phone's live feed (`GET /simulator/v1/Stream`, Server-Sent
//! Events), texts the load's number (`POST /simulator/v1/Messages`: the provider's inbound
//! path, which creates the conversation and its task), waits for the agent's greeting, then
//! texts one interval apart. Every agent reply must reach the phone once, in order: the
//! replies are numbered by the agent, and the phone checks the numbers.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::metrics::{Lat, bump};
use super::rest::{Auth, text};
use super::stream::Stream;
use super::wire;
use super::{Phase, Received, Run};

/// A message on the phone, as the feed carries it.
#[derive(Debug, Deserialize)]
struct PhoneMessage {
    direction: String,
    body: Option<String>,
}

/// The phone number of SMS customer `n` (unique per run).
fn phone(run: &Run, n: usize) -> String {
    let tag: u64 = run
        .plan
        .key_sid
        .bytes()
        .rev()
        .take(4)
        .fold(0, |acc, b| acc * 31 + u64::from(b))
        % 90;
    format!("+1555{:02}{:05}", tag + 10, n % 100_000)
}

/// Runs SMS customer `n`; returns what its phone saw.
pub async fn run(run: Arc<Run>, n: usize) -> Vec<Received> {
    let result = text_chat(run.clone(), n).await;
    run.metrics.gauge(true, -1);
    result
}

async fn text_chat(run: Arc<Run>, n: usize) -> Vec<Received> {
    let m = &run.metrics;
    bump(&m.counts.customers_started);
    bump(&m.counts.customers_sms);
    let phone = phone(&run, n);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let feed = match open_feed(&run, &phone, tx).await {
        Ok(f) => f,
        Err(key) => {
            m.error(key);
            return Vec::new();
        }
    };
    let s = run.scenario.customers.clone();
    let at = m.now_us();
    run.contacts.insert(phone.clone(), at);
    let Some(conversation) = text_message(&run, &phone, 0, false, at).await else {
        run.contacts.remove(&phone);
        feed.abort();
        return Vec::new();
    };
    run.supervisors.assign(&conversation);

    let mut stream = Stream::default();
    let mut served = false;
    let mut next = 1u32;
    let mut finished = false;
    let mut due = Instant::now() + s.patience;
    let mut phase = run.phase.clone();
    loop {
        tokio::select! {
            message = rx.recv() => {
                let Some(message) = message else { break };
                let Some((stamp, seq, _)) = message.body.as_deref().and_then(wire::stamp) else { continue };
                m.record(Lat::AgentToSms, stamp);
                m.delivered();
                bump(&m.counts.sms_received);
                m.arrival(stream.deliver(seq, true));
                if !served {
                    served = true;
                    bump(&m.counts.customers_served);
                    due = Instant::now() + s.message_interval.mul_f64(rand::random_range(0.0..1.0));
                }
                if finished && run.closed.contains_key(&conversation) && owed(&run, &conversation, &stream) == 0 {
                    break;
                }
            }
            () = tokio::time::sleep_until(due) => {
                if !served {
                    bump(&m.counts.customers_abandoned);
                    break;
                }
                if finished {
                    // The agent's last replies should be here by now.
                    break;
                }
                let last = next >= s.messages || run.phase() >= Phase::Ending;
                let at = m.now_us();
                if text_message(&run, &phone, u64::from(next), last, at).await.is_none() {
                    break;
                }
                next += 1;
                if last {
                    finished = true;
                    due = Instant::now() + s.patience;
                } else {
                    due = Instant::now() + s.message_interval;
                }
            }
            changed = phase.changed() => {
                if changed.is_err() { break; }
                let now = *phase.borrow();
                if now == Phase::Done || (now >= Phase::Ending && !served) {
                    break;
                }
            }
            () = tokio::time::sleep(Duration::from_millis(200)), if finished => {
                if run.closed.contains_key(&conversation) && owed(&run, &conversation, &stream) == 0 {
                    break;
                }
            }
        }
    }
    feed.abort();
    // A phone that left before its chat ended promises only what it had seen.
    let stayed = finished && run.closed.contains_key(&conversation);
    vec![Received {
        conversation,
        stream,
        stayed,
        sms: true,
        who: "SMS phone",
    }]
}

/// Agent replies acknowledged for the conversation that the phone has not had yet.
fn owed(run: &Run, conversation: &str, stream: &Stream) -> u64 {
    let acked = run.sms_replies.get(conversation).map_or(0, |n| *n);
    let got = stream.last().map_or(0, |l| l + 1);
    acked.saturating_sub(got)
}

/// Texts the load's number; returns the conversation it landed in.
async fn text_message(run: &Run, phone: &str, seq: u64, last: bool, at: u64) -> Option<String> {
    let m = &run.metrics;
    let body = wire::body(at, seq, run.scenario.customers.body_bytes, last);
    m.sent();
    let sent = run
        .rest
        .post(
            "/simulator/v1/Messages",
            Auth::Account,
            &[
                ("From", phone.to_owned()),
                ("To", run.plan.sms_number.clone()),
                ("Body", body),
            ],
        )
        .await;
    match sent {
        Ok(v) => {
            m.record(Lat::Ack, at);
            m.acked();
            let conversation = text(&v, "conversation_sid");
            if let Some(index) = v["message_index"].as_u64() {
                run.saw(&conversation, index);
            }
            Some(conversation)
        }
        Err(e) => {
            m.error(e.key);
            bump(&m.counts.send_errors);
            None
        }
    }
}

/// Opens the phone's feed; its messages from the agent arrive on `tx` until aborted.
async fn open_feed(
    run: &Run,
    phone: &str,
    tx: mpsc::UnboundedSender<PhoneMessage>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let encoded: String = form_urlencoded::byte_serialize(phone.as_bytes()).collect();
    let url = format!("{}/simulator/v1/Stream?Phone={encoded}", run.rest.base);
    let mut res = run
        .rest
        .http()
        .get(url)
        .basic_auth(&run.rest.account, Some(run.rest.auth_token()))
        .timeout(Duration::from_secs(24 * 3600))
        .send()
        .await
        .map_err(|_| "sms feed".to_owned())?;
    if !res.status().is_success() {
        return Err(format!("http {}", res.status().as_u16()));
    }
    Ok(tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                for line in event.lines() {
                    let Some(data) = line.strip_prefix("data: ") else {
                        continue;
                    };
                    if let Ok(message) = serde_json::from_str::<PhoneMessage>(data)
                        && message.direction == "outbound"
                        && tx.send(message).is_err()
                    {
                        return;
                    }
                }
            }
        }
    }))
}
