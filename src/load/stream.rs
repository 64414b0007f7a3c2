//! What one receiver saw of one conversation: which message indexes arrived, in what order, and
//! which were its own. The protocol promises every session each message of a conversation it
//! may see exactly once, in index order, with no gap (no message is deleted in this bench), so
//! any arrival that is not `last + 1` is counted, and at the end every index up to the highest
//! the run knows of must have arrived. A receiver that joined a conversation late starts
//! after the history it was told of (`Stream::after`). Shared by `switchboard load` and the
//! WebSocket benches.

/// A growable bit set over message indexes.
#[derive(Debug, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn get(&self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        self.0.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    fn set(&mut self, i: u64) {
        let (w, b) = ((i / 64) as usize, i % 64);
        if self.0.len() <= w {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << b;
    }
}

/// How a delivered index relates to what the receiver had seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// `last + 1` (or the first, or only own messages skipped where the server does not echo them).
    InOrder,
    /// Higher than `last + 1` with unseen indexes in between.
    Gap,
    /// Lower than the highest index already delivered, and not seen before.
    Late,
    /// Seen before.
    Duplicate,
}

/// One receiver's view of one conversation.
#[derive(Debug, Default)]
pub struct Stream {
    /// Indexes delivered as `message_added` events.
    seen: Bits,
    /// Indexes of messages this receiver sent (from the answers to its `send`s).
    own: Bits,
    /// Highest index delivered so far.
    last: Option<u64>,
}

/// Indexes that never arrived.
#[derive(Debug, Default, Clone, Copy)]
pub struct Missing {
    /// Other parties' messages.
    pub others: u64,
    /// The receiver's own messages (only counted where the server echoes them).
    pub own: u64,
}

impl Stream {
    /// A receiver for which indexes up to `last` are history (not delivered live).
    pub fn after(last: Option<u64>) -> Stream {
        let mut stream = Stream::default();
        if let Some(last) = last {
            for i in 0..=last {
                stream.seen.set(i);
            }
            stream.last = Some(last);
        }
        stream
    }

    /// The highest index delivered (or told of as history).
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Records that the receiver's own `send` created message `index`.
    pub fn own(&mut self, index: u64) {
        self.own.set(index);
    }

    /// Records a delivery. With `echo_own` the receiver must also get its own messages as
    /// events; without, its own messages (known from the `send` answers, which a bare
    /// broadcaster queues before any later event) fill the gaps.
    pub fn deliver(&mut self, index: u64, echo_own: bool) -> Arrival {
        if self.seen.get(index) {
            return Arrival::Duplicate;
        }
        self.seen.set(index);
        let from = match self.last {
            Some(last) if index < last => return Arrival::Late,
            Some(last) => last + 1,
            None => 0,
        };
        self.last = Some(index);
        let skipped = (from..index).any(|i| !self.seen.get(i) && (echo_own || !self.own.get(i)));
        if skipped {
            Arrival::Gap
        } else {
            Arrival::InOrder
        }
    }

    /// Indexes `0..=max` that never arrived.
    pub fn missing(&self, max: Option<u64>, echo_own: bool) -> Missing {
        let mut m = Missing::default();
        let Some(max) = max else { return m };
        for i in 0..=max {
            if self.seen.get(i) {
                continue;
            }
            match (self.own.get(i), echo_own) {
                (true, true) => m.own += 1,
                (true, false) => {}
                (false, _) => m.others += 1,
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::{Arrival, Stream};

    #[test]
    fn in_order_duplicates_late_and_gaps_are_told_apart() {
        let mut s = Stream::default();
        assert_eq!(s.deliver(0, true), Arrival::InOrder);
        assert_eq!(s.deliver(1, true), Arrival::InOrder);
        assert_eq!(s.deliver(1, true), Arrival::Duplicate);
        assert_eq!(s.deliver(3, true), Arrival::Gap);
        assert_eq!(s.deliver(2, true), Arrival::Late);
        assert_eq!(s.missing(Some(4), true).others, 1);
    }

    #[test]
    fn history_is_not_expected_live() {
        let mut s = Stream::after(Some(2));
        assert_eq!(s.deliver(3, true), Arrival::InOrder);
        assert_eq!(s.deliver(1, true), Arrival::Duplicate);
        assert_eq!(s.missing(Some(3), true).others, 0);
        assert_eq!(Stream::after(None).last(), None);
    }

    #[test]
    fn own_messages_fill_gaps_where_the_server_does_not_echo() {
        let mut s = Stream::default();
        s.own(0);
        assert_eq!(s.deliver(1, false), Arrival::InOrder);
        assert_eq!(s.missing(Some(1), false).own, 0);
        assert_eq!(s.missing(Some(1), true).own, 1);
    }
}
