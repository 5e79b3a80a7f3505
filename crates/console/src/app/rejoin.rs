//! The rejoin rule (`[compliance]`): which calls I was on and when I left
//! them, and whether joining one of them again is a rejoin that needs the
//! monitoring notice. Pure: the app tells it when my legs leave and calls
//! end, and asks it before every join. At start it also learns from the
//! journal which calls I left before the console (re)started.

use crate::audit::LeftCall;
use crate::config::{RejoinAnnouncement, RejoinRule};
use floorwalk_protocol::{Mode, Timestamp};
use std::collections::HashMap;

/// What joining a call now is, under its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// A call I have not been on (in this console's run).
    First,
    /// Back within the grace window: the same monitoring goes on.
    Continuing,
    /// A rejoin; `announce` when the rule covers the mode.
    Rejoin { announce: bool },
}

/// When I last left each call that is still going.
#[derive(Debug, Default)]
pub struct Rejoins {
    left: HashMap<String, Timestamp>,
    /// The journal's leaves of before this start, anyone's, until the
    /// server says who I am.
    earlier: Vec<LeftCall>,
}

impl Rejoins {
    /// The calls the journal saw left before this start.
    pub fn recall(&mut self, earlier: Vec<LeftCall>) {
        self.earlier = earlier;
    }

    /// Keeps the journal's leaves that are `me`'s, of calls still `live`
    /// (a leave of this run is newer and stays).
    pub fn adopt_earlier(&mut self, me: &str, live: impl Fn(&str) -> bool) {
        for call in std::mem::take(&mut self.earlier) {
            if call.supervisor == me && live(&call.call_id) {
                self.left.entry(call.call_id).or_insert(call.at);
            }
        }
    }

    /// One of my legs left `call_id` at `at`.
    pub fn left(&mut self, call_id: &str, at: Timestamp) {
        self.left.insert(call_id.to_owned(), at);
    }

    /// When I last left `call_id`, while it goes on.
    pub fn left_at(&self, call_id: &str) -> Option<Timestamp> {
        self.left.get(call_id).copied()
    }

    /// The call is over: nobody rejoins it.
    pub fn ended(&mut self, call_id: &str) {
        self.left.remove(call_id);
    }

    /// Joining `call_id` in `mode` at `now`, under `rule`.
    pub fn assess(&self, call_id: &str, mode: Mode, rule: RejoinRule, now: Timestamp) -> JoinKind {
        let Some(left) = self.left.get(call_id) else {
            return JoinKind::First;
        };
        let away_ms = now.millis_since(*left);
        if away_ms < i64::try_from(rule.grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX) {
            return JoinKind::Continuing;
        }
        let announce = match rule.announcement {
            RejoinAnnouncement::Never => false,
            RejoinAnnouncement::Barge => mode == Mode::Barge,
            RejoinAnnouncement::Always => true,
        };
        JoinKind::Rejoin { announce }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(announcement: RejoinAnnouncement, grace_secs: u64) -> RejoinRule {
        RejoinRule {
            announcement,
            grace_secs,
        }
    }

    #[test]
    fn only_a_call_left_before_is_a_rejoin_and_the_rule_says_which_modes_announce() {
        let mut rejoins = Rejoins::default();
        let t = Timestamp::from_millis;
        let barge = rule(RejoinAnnouncement::Barge, 0);
        assert_eq!(
            rejoins.assess("c-1", Mode::Barge, barge, t(0)),
            JoinKind::First
        );
        rejoins.left("c-1", t(1_000));
        let kind = |rejoins: &Rejoins, mode, rule| rejoins.assess("c-1", mode, rule, t(2_000));
        assert_eq!(
            kind(&rejoins, Mode::Barge, barge),
            JoinKind::Rejoin { announce: true }
        );
        assert_eq!(
            kind(&rejoins, Mode::Whisper, barge),
            JoinKind::Rejoin { announce: false }
        );
        let always = rule(RejoinAnnouncement::Always, 0);
        assert_eq!(
            kind(&rejoins, Mode::Silent, always),
            JoinKind::Rejoin { announce: true }
        );
        let never = rule(RejoinAnnouncement::Never, 0);
        assert_eq!(
            kind(&rejoins, Mode::Barge, never),
            JoinKind::Rejoin { announce: false }
        );
        assert_eq!(
            rejoins.assess("c-2", Mode::Barge, always, t(2_000)),
            JoinKind::First
        );
        rejoins.ended("c-1");
        assert_eq!(kind(&rejoins, Mode::Barge, always), JoinKind::First);
    }

    #[test]
    fn calls_left_before_a_restart_count_if_they_are_mine_and_still_going() {
        let t = Timestamp::from_millis;
        let left = |supervisor: &str, call: &str, at| LeftCall {
            supervisor: supervisor.into(),
            call_id: call.into(),
            at: t(at),
        };
        let mut rejoins = Rejoins::default();
        rejoins.recall(vec![
            left("sup-1", "c-1", 1_000),
            left("sup-2", "c-2", 1_000),
            left("sup-1", "c-3", 1_000),
        ]);
        let always = rule(RejoinAnnouncement::Always, 0);
        assert_eq!(
            rejoins.assess("c-1", Mode::Silent, always, t(5_000)),
            JoinKind::First
        );
        rejoins.adopt_earlier("sup-1", |call| call != "c-3");
        let kind = |rejoins: &Rejoins, call| rejoins.assess(call, Mode::Silent, always, t(5_000));
        assert_eq!(kind(&rejoins, "c-1"), JoinKind::Rejoin { announce: true });
        assert_eq!(
            kind(&rejoins, "c-2"),
            JoinKind::First,
            "another supervisor's"
        );
        assert_eq!(kind(&rejoins, "c-3"), JoinKind::First, "the call is over");
    }

    #[test]
    fn within_the_grace_window_a_rejoin_continues_the_monitoring() {
        let mut rejoins = Rejoins::default();
        let t = Timestamp::from_millis;
        let graced = rule(RejoinAnnouncement::Always, 30);
        rejoins.left("c-1", t(10_000));
        let at = |rejoins: &Rejoins, ms| rejoins.assess("c-1", Mode::Silent, graced, t(ms));
        assert_eq!(at(&rejoins, 39_999), JoinKind::Continuing);
        assert_eq!(at(&rejoins, 40_000), JoinKind::Rejoin { announce: true });
        // The last leave counts.
        rejoins.left("c-1", t(50_000));
        assert_eq!(at(&rejoins, 60_000), JoinKind::Continuing);
    }
}
