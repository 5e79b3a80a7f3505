//! One supervisor's event stream: its session id, its `seq` counter and the
//! replay window that lets a console resume after a reconnect.
//!
//! A stream holds only the events of the supervisor's teams (the hub decides
//! which those are), numbered by
//! exactly 1 each. The window keeps every event of the last five minutes and
//! never fewer than the last 10,000, up to a hard cap of 100,000 so that a
//! very large floor cannot eat the machine: past the cap a snapshot is the
//! cheaper way back anyway. (At 10,000 agents a stream of every team sees
//! about 900 events a second, so there the cap holds about two minutes.)
//! The events themselves are shared between streams.

use super::wire::WireEvent;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of the past a stream keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Events younger than this are kept (up to `max_events`).
    pub min_age: Duration,
    /// At least this many of the latest events are kept, however old.
    pub min_events: usize,
    /// Never more than this many events.
    pub max_events: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            min_age: Duration::from_secs(5 * 60),
            min_events: 10_000,
            max_events: 100_000,
        }
    }
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    event: Arc<WireEvent>,
}

/// What a `subscribe` gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// The missed events, rendered, oldest first (empty when nothing was missed).
    Replay(Vec<String>),
    /// The stream cannot resume from there: send a snapshot at `last_seq`.
    Snapshot,
}

/// A supervisor's stream.
#[derive(Debug)]
pub struct Stream {
    session: String,
    retention: Retention,
    last_seq: u64,
    window: VecDeque<Entry>,
}

impl Stream {
    pub fn new(session: String, retention: Retention) -> Self {
        Self {
            session,
            retention,
            last_seq: 0,
            window: VecDeque::new(),
        }
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    /// The `seq` of the latest event (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Appends an event and returns its `seq`.
    pub fn push(&mut self, event: Arc<WireEvent>, now: Instant) -> u64 {
        self.last_seq += 1;
        self.window.push_back(Entry { at: now, event });
        self.prune(now);
        self.last_seq
    }

    fn prune(&mut self, now: Instant) {
        let Retention {
            min_age,
            min_events,
            max_events,
        } = self.retention;
        while let Some(front) = self.window.front() {
            let too_many = self.window.len() > max_events;
            let old = self.window.len() > min_events && now.duration_since(front.at) > min_age;
            if !(too_many || old) {
                break;
            }
            self.window.pop_front();
        }
    }

    /// The `seq` of the oldest event still held.
    fn first_seq(&self) -> u64 {
        self.last_seq + 1 - self.window.len() as u64
    }

    /// How a console that last applied `last_seq` of `session` catches up.
    pub fn resume(&self, session: Option<&str>, last_seq: Option<u64>) -> Resume {
        let (Some(session), Some(last_seq)) = (session, last_seq) else {
            return Resume::Snapshot;
        };
        if session != self.session || last_seq > self.last_seq || last_seq + 1 < self.first_seq() {
            return Resume::Snapshot;
        }
        let skip = usize::try_from(last_seq + 1 - self.first_seq()).unwrap_or(usize::MAX);
        Resume::Replay(
            self.window
                .iter()
                .zip(self.first_seq()..)
                .skip(skip)
                .map(|(entry, seq)| entry.event.render(seq))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floorwalk_protocol::{CallEndReason, CallEnded, ServerMessage, Timestamp};

    fn event(n: i64) -> Arc<WireEvent> {
        let message = ServerMessage::CallEnded(CallEnded {
            seq: 0,
            call_id: format!("c-{n}"),
            at: Timestamp::from_millis(n),
            reason: CallEndReason::AgentHangup,
        });
        Arc::new(WireEvent::new(&message).unwrap())
    }

    fn stream(retention: Retention) -> Stream {
        Stream::new("s-1".into(), retention)
    }

    fn seqs(resume: Resume) -> Vec<u64> {
        match resume {
            Resume::Replay(texts) => texts
                .iter()
                .map(|t| {
                    serde_json::from_str::<serde_json::Value>(t).unwrap()["seq"]
                        .as_u64()
                        .unwrap()
                })
                .collect(),
            Resume::Snapshot => panic!("expected a replay"),
        }
    }

    #[test]
    fn seq_rises_by_one_and_resume_replays_only_the_missed_events() {
        let mut s = stream(Retention::default());
        let now = Instant::now();
        for n in 1..=5 {
            assert_eq!(s.push(event(n), now), n as u64);
        }
        assert_eq!(seqs(s.resume(Some("s-1"), Some(2))), [3, 4, 5]);
        assert_eq!(seqs(s.resume(Some("s-1"), Some(5))), Vec::<u64>::new());
        assert_eq!(seqs(s.resume(Some("s-1"), Some(0))), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn fresh_stale_or_impossible_positions_get_a_snapshot() {
        let mut s = stream(Retention::default());
        s.push(event(1), Instant::now());
        assert_eq!(s.resume(None, None), Resume::Snapshot);
        assert_eq!(s.resume(Some("s-old"), Some(1)), Resume::Snapshot);
        assert_eq!(s.resume(Some("s-1"), None), Resume::Snapshot);
        assert_eq!(
            s.resume(Some("s-1"), Some(2)),
            Resume::Snapshot,
            "from the future"
        );
    }

    #[test]
    fn window_keeps_the_minimum_count_then_drops_by_age_and_cap() {
        let retention = Retention {
            min_age: Duration::from_secs(60),
            min_events: 3,
            max_events: 6,
        };
        let mut s = stream(retention);
        let start = Instant::now();
        for n in 1..=5 {
            s.push(event(n), start);
        }
        // Young events stay, beyond the minimum count.
        assert_eq!(seqs(s.resume(Some("s-1"), Some(0))).len(), 5);
        // Once old, only the minimum count stays.
        let later = start + Duration::from_secs(120);
        s.push(event(6), later);
        assert_eq!(seqs(s.resume(Some("s-1"), Some(3))), [4, 5, 6]);
        assert_eq!(s.resume(Some("s-1"), Some(2)), Resume::Snapshot);
        // The cap holds even for young events.
        for n in 7..=20 {
            s.push(event(n), later);
        }
        assert_eq!(
            seqs(s.resume(Some("s-1"), Some(14))),
            [15, 16, 17, 18, 19, 20]
        );
        assert_eq!(s.resume(Some("s-1"), Some(13)), Resume::Snapshot);
    }
}
