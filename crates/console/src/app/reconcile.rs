//! After a crash: the legs the journal left open (joined, never left) are
//! checked against the server's first snapshot, and the journal says what
//! became of each. A leg the server still has is shown again and stays open
//! in the journal (`reconciled`, `still_live`), so its normal `left` closes
//! it later; a leg the server no longer has is closed (`reconciled`,
//! `unknown_after_crash`): when and why it ended nobody recorded.

use super::commands::shout;
use super::{Action, App, Effect, Severity};
use crate::audit::{OpenLeg, RecordKind, STILL_LIVE, UNKNOWN_AFTER_CRASH};
use floorwalk_protocol::{Mode, Role, Timestamp};

impl App {
    /// Hands the app the legs its journal left open (from
    /// [`crate::audit::recover`]), before the feed connects. They are
    /// checked once, against the first snapshot after the server said who
    /// the supervisor is; other supervisors' legs are left alone.
    pub fn reconcile_after_crash(&mut self, legs: Vec<OpenLeg>) {
        self.unreconciled = legs;
    }

    pub(super) fn reconcile_journal(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(me) = self.me.as_ref().map(|me| me.id.clone()) else {
            return Vec::new();
        };
        let legs = std::mem::take(&mut self.unreconciled);
        let mut effects = Vec::new();
        let mut still = Vec::new();
        let mut gone = Vec::new();
        for open in legs.into_iter().filter(|leg| leg.supervisor == me) {
            let on_server = self
                .floor
                .calls
                .get(&open.call_id)
                .and_then(|call| call.leg(&open.leg_id))
                .filter(|leg| leg.role == Role::Supervisor && leg.user_id.as_deref() == Some(&me))
                .map(|leg| (leg.mode.unwrap_or(Mode::Silent), leg.track, leg.joined_at));
            let mut record = self.record(RecordKind::Reconciled, &open.call_id, now);
            record.leg_id = Some(open.leg_id.clone());
            match on_server {
                Some((mode, track, joined_at)) => {
                    let (agent_id, agent_name) =
                        self.adopt_leg(&open.call_id, &open.leg_id, mode, track, joined_at);
                    if still.is_empty() {
                        // The call pane shows it, with its leave key.
                        self.selected = Some(agent_id.clone());
                    }
                    record.agent_id = Some(agent_id);
                    record.agent_name = Some(agent_name.clone());
                    // No `server_at`: the record tells what the console
                    // found now, not when the leg joined.
                    record.mode = Some(mode);
                    record.reason = Some(STILL_LIVE.to_owned());
                    still.push(format!(
                        "{} ({agent_name}) in {}",
                        open.call_id,
                        shout(mode)
                    ));
                }
                None => {
                    record.agent_id = open.agent_id;
                    record.agent_name = open.agent_name;
                    record.mode = open.mode;
                    record.reason = Some(UNKNOWN_AFTER_CRASH.to_owned());
                    gone.push(open.call_id);
                }
            }
            effects.push(Effect::audit(record));
        }
        if !still.is_empty() {
            let leave = self.key_label(Action::Disconnect);
            let text = format!(
                "Still on {} from before the console stopped: press {leave} to leave.",
                still.join(", ")
            );
            self.notify(Severity::Warn, text, now);
        } else if !gone.is_empty() {
            let text = format!(
                "Your leg on {} ended while the console was down; the journal marks it so.",
                gone.join(", ")
            );
            self.notify(Severity::Info, text, now);
        }
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixture::{self, NOW};
    use crate::app::{Input, LegStatus};
    use crate::audit::Record;
    use crate::feed::FeedEvent;
    use floorwalk_protocol::ServerMessage;

    fn open(supervisor: &str, call_id: &str, leg_id: &str, mode: Mode) -> OpenLeg {
        OpenLeg {
            supervisor: supervisor.into(),
            call_id: call_id.into(),
            leg_id: leg_id.into(),
            agent_id: Some("a-x".into()),
            agent_name: Some("From The Journal".into()),
            mode: Some(mode),
        }
    }

    /// Connects like the runtime after a crash: the journal's open legs
    /// first, then hello and the first snapshot (with my whisper leg l-31
    /// on c-9 when `with_my_leg`).
    fn restart(legs: Vec<OpenLeg>, with_my_leg: bool) -> (App, Vec<Record>) {
        let mut app = App::new(fixture::settings());
        app.reconcile_after_crash(legs);
        let mut records = Vec::new();
        for input in [
            Input::Feed(FeedEvent::Connected {
                hello: fixture::hello(fixture::me()),
                resumed: false,
            }),
            Input::Feed(FeedEvent::Message(ServerMessage::Snapshot(
                fixture::snapshot(with_my_leg),
            ))),
        ] {
            for effect in app.update(input, NOW) {
                if let Effect::Audit { record, .. } = effect {
                    records.push(record);
                }
            }
        }
        (app, records)
    }

    fn of_kind(records: &[Record], kind: RecordKind) -> Vec<&Record> {
        records.iter().filter(|r| r.kind == kind).collect()
    }

    #[test]
    fn a_leg_the_server_still_has_is_shown_and_stays_open() {
        let (app, records) = restart(vec![open("sup-1", "c-9", "l-31", Mode::Silent)], true);
        let leg = app.my_leg_on("c-9").expect("shown again");
        assert_eq!(app.selected_agent(), Some("a-01"), "its call in the pane");
        assert_eq!(app.pane_call().map(|c| c.id.as_str()), Some("c-9"));
        assert_eq!((leg.mode, leg.status), (Mode::Whisper, LegStatus::On));
        assert!(app.mic_allowed(), "whisper, as the server has it");
        let [reconciled] = of_kind(&records, RecordKind::Reconciled)[..] else {
            panic!("{records:?}")
        };
        assert_eq!(reconciled.reason.as_deref(), Some(STILL_LIVE));
        assert_eq!(reconciled.leg_id.as_deref(), Some("l-31"));
        assert_eq!(reconciled.mode, Some(Mode::Whisper));
        assert_eq!(reconciled.agent_name.as_deref(), Some("Alex Kim"));
        assert_eq!(reconciled.server_at, None);
        assert!(
            of_kind(&records, RecordKind::Joined).is_empty(),
            "not a second join: {records:?}"
        );
        let notice = app.notice(NOW).unwrap();
        assert_eq!(notice.severity, Severity::Warn);
        assert!(
            notice.text.contains("Still on c-9 (Alex Kim) in WHISPER"),
            "{}",
            notice.text
        );
    }

    #[test]
    fn a_leg_the_server_no_longer_has_is_closed_as_unknown() {
        let (app, records) = restart(vec![open("sup-1", "c-4", "l-7", Mode::Barge)], false);
        assert!(!app.is_on_call());
        let [reconciled] = of_kind(&records, RecordKind::Reconciled)[..] else {
            panic!("{records:?}")
        };
        assert_eq!(reconciled.reason.as_deref(), Some(UNKNOWN_AFTER_CRASH));
        assert_eq!(reconciled.server_at, None, "when it ended is unknown");
        assert_eq!(reconciled.mode, Some(Mode::Barge));
        assert_eq!(reconciled.agent_name.as_deref(), Some("From The Journal"));
        assert!(app.notice(NOW).unwrap().text.contains("c-4"));
    }

    #[test]
    fn other_supervisors_legs_are_left_alone_and_it_happens_once() {
        let legs = vec![
            open("sup-2", "c-4", "l-7", Mode::Silent),
            open("sup-1", "c-9", "l-31", Mode::Whisper),
        ];
        let (mut app, records) = restart(legs, true);
        let reconciled = of_kind(&records, RecordKind::Reconciled);
        assert_eq!(reconciled.len(), 1, "{records:?}");
        assert_eq!(reconciled[0].supervisor, "sup-1");
        // A reconnect's snapshot checks nothing again.
        let again = app.update(
            Input::Feed(FeedEvent::Message(ServerMessage::Snapshot(
                fixture::snapshot(true),
            ))),
            NOW,
        );
        assert!(again.is_empty(), "{again:?}");
    }
}
