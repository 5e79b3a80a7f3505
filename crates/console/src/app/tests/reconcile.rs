use super::*;
use crate::audit::{OpenLeg, STILL_LIVE, UNKNOWN_AFTER_CRASH};

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
