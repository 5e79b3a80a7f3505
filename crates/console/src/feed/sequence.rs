//! Which state events reach the app: only contiguous ones, resuming over
//! gaps. Pure: the connection loop feeds it and sends what it says.

use floorwalk_protocol::ClientMessage;
use std::time::{Duration, Instant};

/// How long a re-subscribe may go unanswered before the next gap asks again.
const RESYNC_RETRY: Duration = Duration::from_secs(3);

/// The session and the last `seq` forwarded to the app; it outlives
/// connections, so a reconnect can resume.
#[derive(Debug, Default)]
pub(super) struct Sequencer {
    session: Option<String>,
    /// `None` until a snapshot of the current session was forwarded.
    last: Option<u64>,
    /// When the last re-subscribe was sent, while its answer is awaited.
    resync_since: Option<Instant>,
}

/// What to do with a snapshot or state event.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Give it to the app.
    Forward,
    /// Already forwarded (`seq` at or below the last): drop it.
    Duplicate,
    /// Events are missing: drop it and send this `subscribe`.
    Resubscribe(ClientMessage),
    /// Events are missing and a re-subscribe is on its way: drop it.
    Awaiting,
}

impl Sequencer {
    /// The `subscribe` to answer `hello` with, and whether it resumes the
    /// session. The previous session and seq are sent even when the session
    /// changed: the contract says the server then answers with a snapshot.
    pub fn on_hello(&mut self, session: &str) -> (ClientMessage, bool) {
        let subscribe = self.subscribe();
        let same = self.session.as_deref() == Some(session);
        if !same {
            self.session = Some(session.to_owned());
            self.last = None;
        }
        self.resync_since = None;
        (subscribe, same && self.last.is_some())
    }

    /// Decides about a message with `seq` (a snapshot when `snapshot`).
    pub fn on_state(&mut self, seq: u64, snapshot: bool, now: Instant) -> Verdict {
        if snapshot {
            // A snapshot replaces everything, whatever came before.
            self.last = Some(seq);
            self.resync_since = None;
            return Verdict::Forward;
        }
        match self.last {
            Some(last) if seq <= last => Verdict::Duplicate,
            Some(last) if seq == last + 1 => {
                self.last = Some(seq);
                self.resync_since = None;
                Verdict::Forward
            }
            // A gap, or events before any snapshot.
            _ => match self.resync_since {
                Some(since) if now.saturating_duration_since(since) < RESYNC_RETRY => {
                    Verdict::Awaiting
                }
                _ => {
                    self.resync_since = Some(now);
                    Verdict::Resubscribe(self.subscribe())
                }
            },
        }
    }

    /// Resume from the last forwarded event, or start fresh without a base.
    fn subscribe(&self) -> ClientMessage {
        match self.last {
            Some(last_seq) => ClientMessage::Subscribe {
                session: self.session.clone(),
                last_seq: Some(last_seq),
            },
            None => ClientMessage::Subscribe {
                session: None,
                last_seq: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subscribe(session: Option<&str>, last_seq: Option<u64>) -> ClientMessage {
        ClientMessage::Subscribe {
            session: session.map(str::to_owned),
            last_seq,
        }
    }

    #[test]
    fn fresh_then_resume_then_new_session() {
        let mut seq = Sequencer::default();
        let now = Instant::now();
        assert_eq!(seq.on_hello("s-1"), (subscribe(None, None), false));
        assert_eq!(seq.on_state(10, true, now), Verdict::Forward);
        assert_eq!(seq.on_state(11, false, now), Verdict::Forward);
        // Reconnect to the same session: resume.
        assert_eq!(
            seq.on_hello("s-1"),
            (subscribe(Some("s-1"), Some(11)), true)
        );
        assert_eq!(seq.on_state(12, false, now), Verdict::Forward);
        // The server lost the stream: old values are sent, a snapshot follows.
        assert_eq!(
            seq.on_hello("s-2"),
            (subscribe(Some("s-1"), Some(12)), false)
        );
        assert_eq!(seq.on_state(3, true, now), Verdict::Forward);
        assert_eq!(seq.on_state(4, false, now), Verdict::Forward);
        assert_eq!(seq.on_hello("s-2"), (subscribe(Some("s-2"), Some(4)), true));
    }

    /// A sequencer of session `s` whose snapshot was at `snapshot`.
    fn after_snapshot(snapshot: u64, now: Instant) -> Sequencer {
        let mut seq = Sequencer::default();
        seq.on_hello("s");
        assert_eq!(seq.on_state(snapshot, true, now), Verdict::Forward);
        seq
    }

    #[test]
    fn duplicates_are_dropped() {
        let now = Instant::now();
        let mut seq = after_snapshot(5, now);
        assert_eq!(seq.on_state(5, false, now), Verdict::Duplicate);
        assert_eq!(seq.on_state(2, false, now), Verdict::Duplicate);
        assert_eq!(seq.on_state(6, false, now), Verdict::Forward);
        assert_eq!(seq.on_state(6, false, now), Verdict::Duplicate);
    }

    #[test]
    fn a_gap_resubscribes_once_then_waits_for_the_replay() {
        let now = Instant::now();
        let mut seq = after_snapshot(1, now);
        assert_eq!(
            seq.on_state(3, false, now),
            Verdict::Resubscribe(subscribe(Some("s"), Some(1)))
        );
        assert_eq!(seq.on_state(4, false, now), Verdict::Awaiting);
        // The replay arrives.
        assert_eq!(seq.on_state(2, false, now), Verdict::Forward);
        assert_eq!(seq.on_state(3, false, now), Verdict::Forward);
        assert_eq!(seq.on_state(4, false, now), Verdict::Forward);
        // A later gap asks again at once.
        assert_eq!(
            seq.on_state(9, false, now),
            Verdict::Resubscribe(subscribe(Some("s"), Some(4)))
        );
        // An unanswered re-subscribe is repeated after a while, not per event.
        let later = now + RESYNC_RETRY;
        assert_eq!(
            seq.on_state(10, false, later),
            Verdict::Resubscribe(subscribe(Some("s"), Some(4)))
        );
    }

    #[test]
    fn events_before_any_snapshot_ask_for_one() {
        let mut seq = Sequencer::default();
        let now = Instant::now();
        seq.on_hello("s");
        assert_eq!(
            seq.on_state(7, false, now),
            Verdict::Resubscribe(subscribe(None, None))
        );
        assert_eq!(seq.on_state(8, false, now), Verdict::Awaiting);
        assert_eq!(seq.on_state(8, true, now), Verdict::Forward);
        assert_eq!(seq.on_state(9, false, now), Verdict::Forward);
    }

    proptest! {
        /// Whatever order, repeats and holes the server sends, what is
        /// forwarded after the snapshot rises by exactly one each time.
        #[test]
        fn forwarded_events_are_contiguous(events in proptest::collection::vec(1u64..40, 0..200)) {
            let now = Instant::now();
            let mut seq = after_snapshot(0, now);
            let mut last = 0;
            for event in events {
                if seq.on_state(event, false, now) == Verdict::Forward {
                    prop_assert_eq!(event, last + 1);
                    last = event;
                }
            }
        }
    }
}
