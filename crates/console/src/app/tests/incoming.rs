use super::*;

#[test]
fn connecting_records_each_call_seen_once() {
    let (mut app, effects) = live_app(false);
    assert!(sends(&effects).is_empty());
    let seen: Vec<&str> = audits(&effects)
        .iter()
        .map(|r| {
            assert_eq!(r.kind, RecordKind::CallSeen);
            assert_eq!(r.supervisor, "sup-1");
            r.call_id.as_str()
        })
        .collect();
    assert_eq!(seen, ["c-10", "c-11", "c-12", "c-13", "c-14", "c-9"]);
    let c9 = audits(&effects)
        .into_iter()
        .find(|r| r.call_id == "c-9")
        .unwrap();
    assert_eq!(c9.agent_name.as_deref(), Some("Alex Kim"));
    // The same snapshot again (a reconnect) records nothing new.
    let again = message(&mut app, ServerMessage::Snapshot(fixture::snapshot(false)));
    assert!(again.is_empty(), "{again:?}");
    assert!(!app.is_on_call());
}

#[test]
fn a_call_ending_under_me_records_the_end_and_my_leaving() {
    let (mut app, _) = live_app(true);
    let effects = call_ended(&mut app, "c-9", ago(3), CallEndReason::CustomerHangup);
    assert_eq!(kinds(&effects), [RecordKind::CallEnded, RecordKind::Left]);
    let records = audits(&effects);
    assert_eq!(records[0].reason.as_deref(), Some("customer_hangup"));
    assert_eq!(records[0].server_at, Some(ago(3)));
    assert_eq!(records[1].reason.as_deref(), Some("call_ended"));
    assert_eq!(records[1].leg_id.as_deref(), Some("l-31"));
    assert!(!app.is_on_call() && !app.mic_allowed());
    assert_notice(&app, "customer hung up");
    assert_eq!(app.flash("a-01", NOW), Some(FlashKind::Ended));
    assert_eq!(app.flash("a-01", NOW.plus_millis(FLASH_MS)), None);
}

#[test]
fn new_calls_are_seen_once_and_flash() {
    let (mut app, _) = live_app(false);
    let mut call = app.floor().calls["c-14"].clone();
    call.id = "c-20".into();
    call.agent_id = "a-03".into();
    let seq = next_seq(&app);
    let effects = message(
        &mut app,
        ServerMessage::CallStarted(CallEvent {
            seq,
            call: call.clone(),
        }),
    );
    assert_eq!(kinds(&effects), [RecordKind::CallSeen]);
    assert_eq!(app.flash("a-03", NOW), Some(FlashKind::Started));
    let seq = next_seq(&app);
    let effects = message(
        &mut app,
        ServerMessage::CallUpdated(CallEvent { seq, call }),
    );
    assert!(effects.is_empty());
    assert_eq!(app.flash("a-03", NOW), Some(FlashKind::Changed));
}

#[test]
fn server_time_drives_the_clock_offset() {
    let mut app = App::new(fixture::settings());
    let local = NOW.plus_millis(-5000);
    app.update(
        Input::Feed(FeedEvent::Connected {
            hello: fixture::hello(fixture::me()),
            resumed: false,
        }),
        local,
    );
    assert_eq!(app.server_now(local), NOW);
    assert_eq!(app.server_now(local.plus_millis(10)), NOW.plus_millis(10));
}

#[test]
fn a_join_whose_call_is_gone_after_a_reconnect_fails_cleanly() {
    let mut app = live_with(false, "a-01");
    press(&mut app, [key('m')]);
    let mut snapshot = fixture::snapshot(false);
    snapshot.seq = 2000;
    snapshot.calls.retain(|c| c.id != "c-9");
    let effects = message(&mut app, ServerMessage::Snapshot(snapshot));
    assert_eq!(
        kinds(&effects),
        [RecordKind::CallEnded, RecordKind::JoinFailed]
    );
    assert_eq!(app.joining("c-9"), None);
    // Nothing is left blocking the next join.
    select(&mut app, "a-02");
    assert_eq!(sends(&press(&mut app, [key('m')])).len(), 1);
}

#[test]
fn connection_errors_are_told_once() {
    let mut app = App::new(fixture::settings());
    let refused = |attempt| connecting(attempt, Duration::from_secs(1), "connection refused");
    app.update(refused(1), NOW);
    assert_eq!(notice_text(&app), "Cannot connect: connection refused");
    app.update(code(KeyCode::Esc), NOW);
    app.update(refused(2), NOW);
    assert_eq!(app.notice(NOW), None, "the same error is not repeated");
}

#[test]
fn a_protocol_error_is_one_sentence_that_says_the_console_carries_on() {
    let (mut app, _) = live_app(false);
    let event = FeedEvent::ProtocolError("ignored a message that came before hello".into());
    let effects = app.update(Input::Feed(event), NOW);
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(
        notice_text(&app),
        "Ignored a message that came before hello; carrying on."
    );
}
