//! Conversation state timers. One task keeps every pending deadline (loaded from the store at
//! start-up, updated by actors as timers change) and, when one is due, asks the conversation's
//! actor to apply it. The actor re-checks the stored deadline, so stale or duplicate wake-ups
//! are harmless.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::ids::ConversationSid;
use crate::store::records::{Timestamp, now};

/// Parses an ISO-8601 duration (`PT1M`, `P1DT2H`, `PT30S`) into whole seconds.
pub fn iso_duration_secs(text: &str) -> Option<i64> {
    let d = iso8601::duration(text).ok()?;
    let std: Duration = d.into();
    i64::try_from(std.as_secs()).ok()
}

/// Handle actors use to (re)schedule their next deadline.
#[derive(Clone)]
pub struct TimerHandle {
    tx: mpsc::UnboundedSender<(ConversationSid, Timestamp)>,
}

impl TimerHandle {
    /// Wakes the conversation's actor at `due` (Unix seconds).
    pub fn schedule(&self, sid: ConversationSid, due: Timestamp) {
        let _ = self.tx.send((sid, due));
    }
}

/// The receiving half, consumed by [`run`].
pub struct TimerQueue {
    rx: mpsc::UnboundedReceiver<(ConversationSid, Timestamp)>,
}

/// Creates a connected handle and queue.
pub fn channel() -> (TimerHandle, TimerQueue) {
    let (tx, rx) = mpsc::unbounded_channel();
    (TimerHandle { tx }, TimerQueue { rx })
}

/// Runs until every handle is dropped, calling `fire` for each conversation whose deadline
/// passed.
pub async fn run(mut queue: TimerQueue, fire: impl Fn(ConversationSid) + Send + 'static) {
    let mut by_due: BTreeSet<(Timestamp, ConversationSid)> = BTreeSet::new();
    let mut due_of: HashMap<ConversationSid, Timestamp> = HashMap::new();
    loop {
        let wait = match by_due.first() {
            Some((due, _)) => Duration::from_secs((*due - now()).max(0) as u64),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            msg = queue.rx.recv() => {
                let Some((sid, due)) = msg else { return };
                if let Some(old) = due_of.insert(sid.clone(), due) {
                    by_due.remove(&(old, sid.clone()));
                }
                by_due.insert((due, sid));
            }
            _ = tokio::time::sleep(wait) => {
                let t = now();
                while let Some((due, _)) = by_due.first() {
                    if *due > t {
                        break;
                    }
                    if let Some((_, sid)) = by_due.pop_first() {
                        due_of.remove(&sid);
                        fire(sid);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_twilio_timer_durations() {
        assert_eq!(iso_duration_secs("PT1M"), Some(60));
        assert_eq!(iso_duration_secs("PT10M"), Some(600));
        assert_eq!(iso_duration_secs("P1DT1S"), Some(86_401));
        assert_eq!(iso_duration_secs("PT2S"), Some(2));
        assert_eq!(iso_duration_secs("ten minutes"), None);
    }
}
