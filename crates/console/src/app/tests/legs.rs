use super::*;

#[test]
fn a_leg_of_mine_in_the_first_snapshot_is_recorded_as_joined() {
    let (app, effects) = live_app(true);
    let joined = audits(&effects)
        .into_iter()
        .find(|r| r.kind == RecordKind::Joined)
        .unwrap();
    assert_eq!(joined.leg_id.as_deref(), Some("l-31"));
    assert_eq!(joined.server_at, Some(ago(130)));
    assert_eq!(joined.latency_ms, None);
    assert!(app.is_on_call());
    assert!(app.mic_allowed(), "whisper may talk");
    assert_eq!(app.talk_leg().unwrap().track, 31);
}

#[test]
fn a_lease_expiry_is_recorded_and_explained() {
    let (mut app, _) = live_app(true);
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::LeaseExpired);
    let [left] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(left.reason.as_deref(), Some("lease_expired"));
    assert_eq!(left.latency_ms, None);
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Warn);
    assert_notice(&app, "out of touch");
}

#[test]
fn quitting_while_joining_waits_for_the_leg_to_leave_it() {
    let mut app = live_with(false, "a-01");
    press(&mut app, [key('m')]);
    assert!(
        press(&mut app, [key('q')]).is_empty(),
        "no leg to leave yet"
    );
    assert!(app.quitting());
    assert!(
        app.awaiting_leave(),
        "the join in flight is still to be left"
    );
    let effects = leg_joined(
        &mut app,
        "c-9",
        Leg {
            mode: Some(Mode::Silent),
            ..fixture::my_leg()
        },
    );
    assert_eq!(sends(&effects).len(), 1);
    reply(&mut app, "r-1", joined_reply(), 30);
    assert!(app.awaiting_leave(), "the disconnect is unanswered");
    reply(&mut app, "r-2", ok_reply(), 30);
    assert!(!app.awaiting_leave());
}

#[test]
fn quitting_waits_until_a_leave_is_confirmed_and_recorded_in_either_order() {
    // The reply first, then the server's leg_left.
    let (mut app, _) = live_app(true);
    press(&mut app, [key('d')]);
    assert!(!app.leaves_settled());
    assert!(reply(&mut app, "r-1", ok_reply(), 5).is_empty());
    assert!(!app.is_on_call());
    assert!(!app.leaves_settled(), "the left record is still to come");
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(kinds(&effects), [RecordKind::Left]);
    assert!(app.leaves_settled());

    // The leg_left first: the left record goes with it, and the reply
    // after it changes nothing.
    let (mut app, _) = live_app(true);
    press(&mut app, [key('d')]);
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(kinds(&effects), [RecordKind::Left]);
    assert!(!app.is_on_call());
    assert!(app.leaves_settled());
    assert!(reply(&mut app, "r-1", ok_reply(), 5).is_empty());
    assert!(app.leaves_settled());

    // A failed leave leaves me on the call: quitting waits out its budget.
    let (mut app, _) = live_app(true);
    press(&mut app, [key('d')]);
    reply(&mut app, "r-1", Err(CommandFailure::Offline), 5);
    assert!(app.is_on_call());
    assert!(!app.leaves_settled(), "still on the call");
}

#[test]
fn a_timed_out_disconnect_whose_leg_left_anyway_is_recorded_as_left() {
    let mut app = live_with(true, "a-01");
    press(&mut app, [key('d')]);
    assert!(app.awaiting_leave());
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    assert_eq!(kinds(&effects), [RecordKind::Left]);
    assert!(!app.awaiting_leave(), "the leave is done");
    let effects = reply(
        &mut app,
        "r-1",
        Err(CommandFailure::Timeout(Duration::from_secs(5))),
        5000,
    );
    assert!(effects.is_empty(), "the state is the truth: {effects:?}");
    assert_eq!(app.notice(NOW).map(|n| n.severity), Some(Severity::Info));
}
