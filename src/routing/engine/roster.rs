//! Which workers a supervisor's roster must redraw: the workers whose wire shape (activity,
//! attributes, channels, load) changed since the last `statistics` frame. The frame then
//! carries only those workers instead of the whole workspace's — at 2,000 workers the full list
//! is ~1.4 MB, which sent once a second to every supervisor cost more than the messages did.
//!
//! A change that touches every worker's shape at once (an activity or a task channel renamed,
//! created or removed) marks the whole roster. Frames are numbered: a snapshot (the
//! `statistics` command) carries the number of the last frame it already includes, so a client
//! drops any frame at or below it that arrives after the snapshot.

use std::collections::BTreeSet;

use crate::ids::WorkerSid;

/// Workers changed since the last frame, and the number of that frame.
#[derive(Debug, Default)]
pub(super) struct Roster {
    changed: BTreeSet<WorkerSid>,
    all: bool,
    seq: u64,
}

/// What the next frame carries.
#[derive(Debug, PartialEq, Eq)]
pub enum RosterChanges {
    /// Nothing changed.
    None,
    /// These workers (a worker no longer in the engine was removed).
    Some(Vec<WorkerSid>),
    /// Every worker.
    All,
}

impl Roster {
    pub(super) fn note(&mut self, worker: &WorkerSid) {
        if !self.all {
            self.changed.insert(worker.clone());
        }
    }

    pub(super) fn note_all(&mut self) {
        self.all = true;
        self.changed.clear();
    }

    /// Takes the changes for frame `seq + 1` and numbers it so.
    pub(super) fn take(&mut self) -> (u64, RosterChanges) {
        let changes = if std::mem::take(&mut self.all) {
            RosterChanges::All
        } else if self.changed.is_empty() {
            return (self.seq, RosterChanges::None);
        } else {
            RosterChanges::Some(std::mem::take(&mut self.changed).into_iter().collect())
        };
        self.seq += 1;
        (self.seq, changes)
    }

    /// The number of the last frame taken.
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(n: u8) -> WorkerSid {
        format!("WK{:032x}", n).parse().expect("WK")
    }

    #[test]
    fn changes_are_taken_once_and_numbered() {
        let mut r = Roster::default();
        assert_eq!(r.take(), (0, RosterChanges::None));
        r.note(&sid(2));
        r.note(&sid(1));
        r.note(&sid(2));
        assert_eq!(r.take(), (1, RosterChanges::Some(vec![sid(1), sid(2)])));
        assert_eq!(r.take(), (1, RosterChanges::None));
        assert_eq!(r.seq(), 1);
    }

    #[test]
    fn a_change_to_every_worker_wins_over_single_ones() {
        let mut r = Roster::default();
        r.note(&sid(1));
        r.note_all();
        r.note(&sid(3));
        assert_eq!(r.take(), (1, RosterChanges::All));
        r.note(&sid(3));
        assert_eq!(r.take(), (2, RosterChanges::Some(vec![sid(3)])));
    }
}
