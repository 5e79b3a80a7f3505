use super::*;

#[test]
fn joining_audits_before_sending_and_confirms_with_server_time_and_latency() {
    let mut app = live_with(false, "a-01");
    let effects = press(&mut app, [key('m')]);
    assert_eq!(effects.len(), 2);
    let Effect::Audit {
        record: requested,
        hold_frame: true,
    } = &effects[0]
    else {
        panic!("the audit record comes first, and frames wait for it: {effects:?}")
    };
    assert_eq!(requested.kind, RecordKind::JoinRequested);
    assert_eq!(requested.mode, Some(Mode::Silent));
    assert_eq!(requested.agent_id.as_deref(), Some("a-01"));
    assert_eq!(
        effects[1],
        Effect::Send {
            message: ClientMessage::Monitor {
                req: "r-1".into(),
                call_id: "c-9".into(),
                mode: Mode::Silent,
                announce: false,
            },
            unrecorded: Unrecorded::Refuse,
        }
    );
    assert_eq!(app.joining("c-9"), Some(Mode::Silent));
    assert!(!app.is_on_call() && !app.mic_allowed());

    // The event first, 40 ms after the key: the screen shows the leg now,
    // so the record is written now, its latency from the key to the event.
    let mine = Leg {
        mode: Some(Mode::Silent),
        ..fixture::my_leg()
    };
    let seq = next_seq(&app);
    let event = ServerMessage::LegJoined(LegJoined {
        seq,
        call_id: "c-9".into(),
        leg: mine,
    });
    let effects = app.update(Input::Feed(FeedEvent::Message(event)), NOW.plus_millis(40));
    assert!(app.is_on_call());
    assert!(!app.mic_allowed(), "silent never opens the microphone");
    let [joined] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(joined.kind, RecordKind::Joined);
    assert_eq!(joined.server_at, Some(ago(130)));
    assert_eq!(joined.latency_ms, Some(40));
    assert_eq!(joined.leg_id.as_deref(), Some("l-31"));
    assert_eq!(joined.reason, None);
    assert_eq!(app.joining("c-9"), None);
    // The reply after it changes nothing.
    let effects = reply(&mut app, "r-1", joined_reply(), 45);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(app.is_on_call());
}

#[test]
fn a_reply_before_the_event_also_confirms_the_join() {
    let mut app = live_with(false, "a-01");
    press(&mut app, [key('w')]);
    assert!(reply(&mut app, "r-1", joined_reply(), 25).is_empty());
    let effects = leg_joined(&mut app, "c-9", fixture::my_leg());
    assert_eq!(kinds(&effects), [RecordKind::Joined]);
    assert_eq!(audits(&effects)[0].latency_ms, Some(25));
    assert!(app.mic_allowed());
}

#[test]
fn a_refused_join_is_audited_and_explained() {
    let mut app = live_with(false, "a-02");
    press(&mut app, [key('b')]);
    let effects = reply(&mut app, "r-1", refused(ErrorCode::Forbidden), 30);
    let [failed] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(failed.kind, RecordKind::JoinFailed);
    assert_eq!(failed.reason.as_deref(), Some("forbidden"));
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Error);
    assert_notice(&app, "outside your teams");
    assert_eq!(app.joining("c-10"), None);
}

#[test]
fn a_mode_key_on_my_call_switches_mode_without_leaving() {
    let mut app = live_with(true, "a-01");
    let effects = press(&mut app, [key('b')]);
    assert_eq!(
        effects,
        [Effect::Send {
            message: ClientMessage::SetMode {
                req: "r-1".into(),
                leg_id: "l-31".into(),
                mode: Mode::Barge
            },
            unrecorded: Unrecorded::Refuse,
        }]
    );
    assert!(app.mic_allowed(), "whisper to barge keeps talking");
    let seq = next_seq(&app);
    let event = ServerMessage::LegChanged(LegChanged {
        seq,
        call_id: "c-9".into(),
        leg_id: "l-31".into(),
        mode: Mode::Barge,
        at: ago(2),
    });
    // The event before the reply: recorded at once.
    let effects = app.update(Input::Feed(FeedEvent::Message(event)), NOW.plus_millis(15));
    let [changed] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(changed.kind, RecordKind::ModeChanged);
    assert_eq!(changed.mode, Some(Mode::Barge));
    assert_eq!(changed.server_at, Some(ago(2)));
    assert_eq!(changed.latency_ms, Some(15));
    assert!(reply(&mut app, "r-1", ok_reply(), 16).is_empty());
    assert_eq!(app.my_leg_on("c-9").unwrap().status, LegStatus::On);

    // Switching to silent closes the microphone at once.
    let effects = press(&mut app, [key('m')]);
    assert!(matches!(
        sends(&effects)[..],
        [ClientMessage::SetMode {
            mode: Mode::Silent,
            ..
        }]
    ));
    assert!(!app.mic_allowed());
    // The same mode again sends nothing.
    assert!(press(&mut app, [key('m')]).is_empty());
}

#[test]
fn disconnect_stops_the_microphone_at_once_and_never_ends_the_call() {
    let mut app = live_with(true, "a-01");
    let effects = press(&mut app, [key('d')]);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectRequested]);
    assert!(effects[0].holds_frame(), "audit before send");
    // A leave goes out even if the journal cannot write its record.
    assert_eq!(
        effects[1],
        Effect::Send {
            message: ClientMessage::Disconnect {
                req: "r-1".into(),
                leg_id: "l-31".into()
            },
            unrecorded: Unrecorded::SendAnyway,
        }
    );
    assert!(!app.mic_allowed(), "no audio after the key");
    assert!(app.is_on_call(), "still shown until the server confirms");
    assert_eq!(app.my_leg_on("c-9").unwrap().status, LegStatus::Leaving);

    // The second press sends nothing more.
    assert!(press(&mut app, [key('d')]).is_empty());
    assert_notice(&app, "Already leaving");

    // The reply confirms: the indicator goes, the record waits for leg_left.
    assert!(reply(&mut app, "r-1", ok_reply(), 20).is_empty());
    assert!(!app.is_on_call());
    assert!(app.floor().calls["c-9"].leg("l-31").is_some());
    assert!(!app.awaiting_leave());
    let effects = leg_left(&mut app, "c-9", "l-31", LegLeftReason::Disconnected);
    let [left] = audits(&effects)[..] else {
        panic!("{effects:?}")
    };
    assert_eq!(left.kind, RecordKind::Left);
    assert_eq!(left.reason.as_deref(), Some("disconnected"));
    assert_eq!(left.server_at, Some(ago(1)));
    assert_eq!(left.latency_ms, Some(20));
    assert_eq!(left.mode, Some(Mode::Whisper));
    assert!(app.floor().calls.contains_key("c-9"), "the call goes on");
    assert_notice(&app, "The call goes on");
}

#[test]
fn a_failed_disconnect_is_loud_and_the_leg_stays() {
    let mut app = live_with(true, "a-01");
    press(&mut app, [key('d')]);
    let effects = reply(&mut app, "r-1", refused(ErrorCode::NotYourLeg), 20);
    assert_eq!(kinds(&effects), [RecordKind::DisconnectFailed]);
    let notice = app.notice(NOW).unwrap();
    assert_eq!(notice.severity, Severity::Error);
    assert!(notice.text.contains("COULD NOT LEAVE"), "{}", notice.text);
    assert!(
        notice
            .text
            .contains("That leg isn't yours: you can only leave your own leg.")
    );
    assert_eq!(app.my_leg_on("c-9").unwrap().status, LegStatus::On);
    // A later, lesser notice does not push the error aside.
    press(&mut app, [key('s')]);
    assert_eq!(app.notice(NOW).unwrap().severity, Severity::Error);
    // Pressing d again tries again.
    assert_eq!(sends(&press(&mut app, [key('d')])).len(), 1);
}

#[test]
fn leaving_when_on_no_call_says_so() {
    let (mut app, _) = live_app(false);
    assert!(press(&mut app, [key('d')]).is_empty());
    assert_notice(&app, "not on any call");
}

#[test]
fn leave_drops_my_leg_even_when_another_call_is_selected() {
    let mut app = live_with(true, "a-02");
    let effects = press(&mut app, [key('d')]);
    assert!(
        matches!(sends(&effects)[..], [ClientMessage::Disconnect { leg_id, .. }] if leg_id == "l-31")
    );
}

#[test]
fn joining_a_second_call_is_refused_with_a_way_out() {
    let mut app = live_with(true, "a-02");
    assert!(press(&mut app, [key('m')]).is_empty());
    assert_eq!(
        notice_text(&app),
        "You are on call c-9 (Alex Kim): press d to leave it first."
    );
}

#[test]
fn offline_commands_send_nothing_and_say_why() {
    let (mut app, _) = live_app(true);
    let lost = connecting(1, Duration::from_secs(2), "connection reset");
    app.update(lost, NOW);
    select(&mut app, "a-02");
    assert!(press(&mut app, [key('w')]).is_empty());
    assert_eq!(
        notice_text(&app),
        "Not connected: nothing was sent. Try again when the console is live."
    );
    assert!(press(&mut app, [key('d')]).is_empty());
}

#[test]
fn reply_for_an_unknown_request_is_ignored() {
    let (mut app, _) = live_app(false);
    assert!(reply(&mut app, "r-99", ok_reply(), 1).is_empty());
}

#[test]
fn requests_are_unique() {
    let mut app = live_with(false, "a-01");
    let mut reqs = Vec::new();
    for _ in 0..3 {
        let effects = press(&mut app, [key('m')]);
        if let [ClientMessage::Monitor { req, .. }] = &sends(&effects)[..] {
            reqs.push(req.clone());
        }
        reply(
            &mut app,
            reqs.last().unwrap(),
            refused(ErrorCode::Unavailable),
            5,
        );
    }
    assert_eq!(reqs, ["r-1", "r-2", "r-3"]);
}

#[test]
fn leaving_while_joining_leaves_the_moment_the_leg_appears() {
    let mut app = live_with(false, "a-01");
    press(&mut app, [key('w')]);
    assert!(press(&mut app, [key('d')]).is_empty());
    assert_notice(&app, "as soon as");
    assert!(app.awaiting_leave());
    reply(&mut app, "r-1", joined_reply(), 30);
    let effects = leg_joined(&mut app, "c-9", fixture::my_leg());
    assert_eq!(
        kinds(&effects),
        [RecordKind::Joined, RecordKind::DisconnectRequested]
    );
    assert!(
        matches!(effects.last(), Some(Effect::Send { message: ClientMessage::Disconnect { leg_id, .. }, .. }) if leg_id == "l-31")
    );
    assert!(!app.mic_allowed(), "the microphone never opens");
    assert!(!effects.iter().any(is_end_call));
}
